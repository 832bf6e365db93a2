"""What a page writes for a public image: variant URLs, ``srcset``/``sizes``, ``<picture>``.

A raster image of BLOG_PUBLIC_DIR is shown as ``<picture>``: one typed ``<source>`` per
modern format (AVIF, then WebP) whose ``srcset`` lists the widths of the image's slot (see
pixels.SLOT_WIDTHS), and the ``<img>`` keeping the original file as the fallback. Typed
sources rather than negotiation on ``Accept``: the choice is the browser's, so the same
URLs work from a static export and a CDN caches them without ``Vary``. SVG, remote URLs,
animated GIFs and files too large to resize keep their plain ``<img>``.

Variant URLs name the source and its digest: ``/_img/<source path>/<digest>-<width>.<fmt>``,
so they change when the file does and can be cached for a year.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from html import escape
from html import unescape
from urllib.parse import quote
from urllib.parse import unquote
from urllib.parse import urljoin

from flask import current_app
from flask import request
from markupsafe import Markup

from .. import content
from .. import public
from ..files import paths
from . import pixels

#: URL prefix of every variant (web/views/variants.py serves it).
PREFIX = "/_img/"

#: ``sizes`` for each place an image is drawn, written from static/css/site.css: the
#: gutter is clamp(1rem, 4vw, 2rem), the page at most 72rem; each value is at least the
#: drawn width, never much more.
SIZES = {
    # .hero-cover: 7/12 of the hero from 60rem, else the full column.
    "hero": "(min-width: 72rem) 38rem, (min-width: 60rem) 58vw, calc(100vw - 2rem)",
    # .grid cards: three columns from 64rem, two from 40rem.
    "card": "(min-width: 72rem) 22rem, (min-width: 64rem) 32vw, (min-width: 40rem) 46vw, calc(100vw - 2rem)",
    # .card-half (three columns, the last two or four cards two a row) and .card-solo/.card-lead
    # (across the grid, the cover on the left half).
    "card_wide": "(min-width: 72rem) 34rem, (min-width: 64rem) 48vw, (min-width: 40rem) 46vw, calc(100vw - 2rem)",
    # .post-cover: at most 60rem.
    "post": "(min-width: 64rem) 60rem, calc(100vw - 2rem)",
    # .related-cover: a 7.5rem thumbnail, then three columns of at most 60rem from 48rem.
    "related": "(min-width: 64rem) 20rem, (min-width: 48rem) 30vw, 7.5rem",
    # .avatar: 40px; .author-header .avatar (an author page): 72px.
    "avatar": "40px",
    "profile": "72px",
    # .prose img: the reading column (--measure: 44rem).
    "body": "(min-width: 48rem) 44rem, calc(100vw - 2rem)",
}


@dataclass(frozen=True)
class Picture:
    """An image as a page shows it: the fallback ``src`` and ``(type, srcset)`` per format."""

    src: str
    sources: tuple[tuple[str, str], ...] = ()


def picture(url: str, slot: str) -> Picture:
    """The Picture for a post's image path (``/assets/x.jpg``) drawn in ``slot`` (a key of
    pixels.SLOT_WIDTHS); without sources when the file is not a raster image we resize."""
    found = _source(url)
    if found is None:
        return Picture(public.public_url(url))
    relative, source = found
    widths = source.widths(slot)
    if not widths:
        return Picture(public.public_url(url))
    sources = tuple(
        (pixels.MIME[fmt], ", ".join(f"{variant_url(relative, source, w, fmt)} {w}w" for w in widths))
        for fmt in pixels.MODERN
    )
    return Picture(public.public_url(url), sources)


def share_variant(url: str) -> str | None:
    """The site path of the 1200-wide JPEG (PNG with transparency) share variant of a post's
    image path, or None when it has none (SVG, remote, not resizable)."""
    found = _source(url)
    if found is None or found[1].shareable:
        return None
    relative, source = found
    return variant_path(relative, source, source.og_width, source.og_format)


def resizable_source(url: str) -> tuple[str, pixels.Source] | None:
    """(path inside BLOG_PUBLIC_DIR, probed Source) of a post's local image ``url`` that a
    visible post uses and that can be resized, else None."""
    return _source(url)


def _source(url: str) -> tuple[str, pixels.Source] | None:
    real = public.find(url)
    if real is None or not is_linked(unquote(paths.strip_query(url)), real):
        return None
    source = pixels.probe(real)
    if source is None or not source.resizable:
        return None
    root = str(current_app.config["BLOG_PUBLIC_DIR"])
    return real[len(root) + 1 :], source


#: (linked paths, the real files they name): worked out again when the linked set changes.
_RESOLVED: tuple[frozenset[str], frozenset[str]] | None = None


def is_linked(path: str, real: str) -> bool:
    """True when a visible post uses the public file ``path`` (``assets/x.jpg``, which is the
    file ``real``), by that path or another naming the same file (a symlink): only those get
    variants, so pages offer them only for those (``/_img/`` answers 404 for any other)."""
    global _RESOLVED
    linked = content.get_store().linked_files(content.current_view())
    if posixpath.normpath("/" + path).lstrip("/") in linked:
        return True
    resolved = _RESOLVED
    if resolved is None or resolved[0] is not linked:
        root = current_app.config["BLOG_PUBLIC_DIR"]
        reals = (paths.resolve_inside(root, ref) for ref in linked)
        _RESOLVED = resolved = (linked, frozenset(r for r in reals if r))
    return real in resolved[1]


def variant_path(relative: str, source: pixels.Source, width: int, fmt: str) -> str:
    """``/_img/<relative>/<digest>-<width>.<fmt>``: the site path of one variant."""
    return f"{PREFIX}{quote(relative, safe='/')}/{source.version}-{width}.{fmt}"


def variant_url(relative: str, source: pixels.Source, width: int, fmt: str) -> str:
    """variant_path with the mount prefix: the URL a page links."""
    return request.script_root + variant_path(relative, source, width, fmt)


def body_pictures(html: Markup, page_path: str) -> Markup:
    """A post body with its image hints (public.add_image_hints) and each local raster
    ``<img>`` wrapped in a ``<picture>`` offering its variants at ``SIZES["body"]`` (one
    with its own ``srcset`` is left as the author wrote it): one scan of the body."""

    def wrap(tag: str, attrs: dict[str, str]) -> str:
        if "srcset" in attrs:  # an author's own srcset (trusted HTML) stays
            return tag
        raw = unescape(attrs.get("src", "")).strip()
        if not paths.is_file_path(raw):
            return tag
        shown = picture(unquote(urljoin(page_path, raw)), "body")
        if not shown.sources:
            return tag
        return f"<picture>{source_tags(shown, SIZES['body'])}{tag}</picture>"

    return public.add_image_hints(html, page_path, wrap)


def source_tags(shown: Picture, sizes: str) -> str:
    """The ``<source>`` tags of ``shown`` at ``sizes``."""
    return "".join(
        f'<source type="{kind}" srcset="{escape(srcset)}" sizes="{escape(sizes)}">' for kind, srcset in shown.sources
    )
