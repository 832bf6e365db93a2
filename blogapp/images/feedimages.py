"""The cover a feed shows: the 1200-px share variant of a post's image (the file itself when
it needs none), made now if it is not yet, so a feed can give its real length and type.

Feed readers show neither ``<picture>`` nor srcset, and many ignore image enclosures
(newsboat among them): a feed entry opens with this image as a plain ``<img>``, and its
enclosure and JSON Feed ``image`` name the same file, never a multi-megabyte original.
"""

from __future__ import annotations

import mimetypes
import os
from typing import NamedTuple

from flask import current_app

from .. import offload
from .. import public
from . import pictures
from . import pixels


class FeedImage(NamedTuple):
    """One image file as a feed names it."""

    path: str  #: its site path (``/_img/…-1200.jpg`` or the file's own), no mount prefix
    length: int  #: bytes
    mimetype: str
    width: int | None  #: pixels, when known
    height: int | None


def feed_image(url: str | None) -> FeedImage | None:
    """The feed image of a post's local image ``url``, or None when it names no public file."""
    real = public.find(url)
    if not url or real is None:
        return None
    found = pictures.resizable_source(url)
    if found is not None and not found[1].shareable:
        relative, source = found
        width, fmt = source.og_width, source.og_format
        store = current_app.extensions["blog_images"]
        key = f"{source.version}-{width}.{fmt}"  # the variants view's name for it
        try:
            made = offload.run(store.get_or_make, key, lambda: pixels.make_variant(real, width, fmt))
        except pixels.VariantError:
            pass  # the file does not decode: the feed names it as it is
        else:
            length = len(made) if isinstance(made, bytes) else os.path.getsize(made)
            height = max(1, round(source.height * width / source.width))
            path = pictures.variant_path(relative, source, width, fmt)
            return FeedImage(path, length, pixels.MIME[fmt], width, height)
    probed = pixels.probe(real)
    mimetype = mimetypes.guess_type(real)[0] or "application/octet-stream"
    size = (probed.width, probed.height) if probed else (None, None)
    return FeedImage(url, os.path.getsize(real), mimetype, *size)
