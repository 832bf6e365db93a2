"""The app's public folder (BLOG_PUBLIC_DIR) for a request: lookup, URLs, sending, image hints.

The rules are ``files.paths``'s (no hidden files, nothing outside, regular files only); this
module applies them to the current app's folders. A file is sent from disk as it is read
(gunicorn hands it to ``sendfile``), never loaded whole, with ``ETag``/``Last-Modified``
answered by 304 and ``Range`` by 206. Views call this module and hand templates the results
(URLs, sizes); templates never look at the disk.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from html import unescape
from urllib.parse import unquote
from urllib.parse import urljoin

from flask import abort
from flask import current_app
from flask import request
from flask import send_file
from markupsafe import Markup
from werkzeug.wrappers import Response

from .files.paths import image_size
from .files.paths import is_file_path
from .files.paths import is_remote
from .files.paths import resolve_inside
from .files.paths import strip_query


def send_inside(folder: str | os.PathLike[str], path: str, max_age: int | None) -> Response:
    """Send ``path`` from ``folder`` (404 unless ``resolve_inside`` finds it), streamed and
    conditional."""
    real = resolve_inside(folder, path)
    if real is None:
        abort(404)
    return send_file(real, max_age=max_age, conditional=True)


def static_file(filename: str) -> Response:
    """The view of Flask's ``static`` endpoint (``url_for('static', filename=...)``), under
    the same rules as the public folder. Fingerprinted names are answered earlier, from
    memory, by the page cache; this serves the plain names."""
    app = current_app
    return send_inside(app.static_folder or "", filename, app.get_send_file_max_age(filename))


# -- the public folder (BLOG_PUBLIC_DIR), as the posts name its files ---------------------


def find(url: str | None) -> str | None:
    """The real file under BLOG_PUBLIC_DIR a post's local URL (``/assets/x.jpg?v=2``) names,
    or None (remote, missing, or not allowed)."""
    if not url or not is_file_path(url):
        return None
    return _lookup(strip_query(url))


def _lookup(path: str) -> str | None:
    return resolve_inside(current_app.config["BLOG_PUBLIC_DIR"], path)


def exists(url: str | None) -> bool:
    """True when ``url`` is remote (taken on trust) or names a file under BLOG_PUBLIC_DIR."""
    if not url:
        return False
    return is_remote(url) or find(url) is not None


def public_url(url: str) -> str:
    """The URL a page uses for a post's asset path such as ``/assets/blog/x.jpg`` (the mount
    prefix added); remote and ``data:`` URLs pass through."""
    if is_remote(url) or url.startswith("data:"):
        return url
    return request.script_root + "/" + url.lstrip("/")


def body_image_size(src: str, page_path: str) -> tuple[int, int] | None:
    """Size of the image ``src`` in a post body shown at ``page_path`` (relative ``src`` are
    resolved against it, as the browser does), if it is a readable local image."""
    src = src.strip()
    if not is_file_path(src):
        return None
    real = _lookup(unquote(strip_query(urljoin(page_path, src))))
    return image_size(real) if real else None


# Unambiguous alternatives and no "<" inside a tag: linear time even on broken trusted HTML.
_IMG_TAG = re.compile(r"""<img\b(?P<attrs>(?:[^<>"'/]|/(?!>)|"[^"]*"|'[^']*')*)(?P<end>/?>)""", re.IGNORECASE)
_TAG_ATTR = re.compile(r"""\s([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def add_image_hints(html: Markup, page_path: str, wrap: Callable[[str, dict[str, str]], str] | None = None) -> Markup:
    """Add ``loading="lazy" decoding="async"`` to each ``<img>`` of a post body, and
    ``width``/``height`` when its file is under BLOG_PUBLIC_DIR and readable (read from the
    file's header, cached per file version), so the page does not shift as images load.

    Attributes the author already set are kept. ``page_path`` resolves relative ``src``
    (``img.png`` on ``/posts/x``); remote images get no size (fetching them is not worth it).
    ``wrap(tag, attributes)``, when given, is what each hinted tag becomes (the responsive
    ``<picture>`` of ``images.pictures``): the body is scanned for images once, by this pattern.
    """

    def hint(match: re.Match[str]) -> str:
        attrs = {m[1].lower(): m[2] or m[3] or m[4] or "" for m in _TAG_ATTR.finditer(match["attrs"])}
        extra = []
        if "loading" not in attrs:
            extra.append(' loading="lazy"')
        if "decoding" not in attrs:
            extra.append(' decoding="async"')
        if "width" not in attrs and "height" not in attrs:
            size = body_image_size(unescape(attrs.get("src", "")), page_path)
            if size:
                extra.append(f' width="{size[0]}" height="{size[1]}"')
        tag = "<img" + match["attrs"].rstrip() + "".join(extra) + match["end"]
        return tag if wrap is None else wrap(tag, attrs)

    return Markup(_IMG_TAG.sub(hint, str(html)))
