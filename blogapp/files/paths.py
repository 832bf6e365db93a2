"""Files under a folder, the public folder above all: path safety, lookup, URLs, image sizes.

Every rule about turning a name into a file lives here. A name is looked up, never trusted:
no hidden file or folder (a segment starting with ``.``, so ``.env`` and ``.git/config`` are
never found), nothing resolving outside the folder (``..``, symlinks pointing out), regular
files only. A file is sent from disk as it is read (gunicorn hands it to ``sendfile``), never
loaded whole, with ``ETag``/``Last-Modified`` answered by 304 and ``Range`` by 206.

Views call this module and hand templates the results (URLs, sizes); templates never look
at the disk.
"""

from __future__ import annotations

import os
import re
import threading
from html import unescape
from urllib.parse import unquote
from urllib.parse import urljoin

from flask import abort
from flask import current_app
from flask import request
from flask import send_file
from markupsafe import Markup
from PIL import Image
from werkzeug.security import safe_join
from werkzeug.wrappers import Response

# A scheme followed by "//", or "//" alone (protocol-relative): a URL on some host.
_REMOTE = re.compile(r"\s*(?:[A-Za-z][A-Za-z0-9+.-]*:)?//")


def is_remote(url: str) -> bool:
    """True for a URL naming its host (``https://cdn/x.jpg``, ``//cdn/x.jpg``): no file here."""
    return _REMOTE.match(url) is not None


def is_file_path(url: str) -> bool:
    """True for a URL that may name a file of this site: not remote, not ``data:``,
    ``mailto:`` or a bare ``#fragment``."""
    return bool(url) and not is_remote(url) and not url.startswith(("data:", "mailto:", "#"))


def strip_query(url: str) -> str:
    """``/x.jpg?v=2#top`` -> ``/x.jpg``."""
    return url.split("?", 1)[0].split("#", 1)[0]


def is_inside(path: str | os.PathLike[str], folder: str | os.PathLike[str]) -> bool:
    """True when ``path``, symlinks followed, is inside ``folder`` (not the folder itself)."""
    return os.path.realpath(path).startswith(os.path.realpath(folder) + os.sep)


def is_canonical(name: str) -> bool:
    """True for a plain relative path: ``css/site.css``, not ``css/./site.css``, ``css//x``,
    ``a/../x``, ``/x``, ``.env`` or ``a\\b``."""
    if not name or "\\" in name or "\0" in name:
        return False
    return all(part and not part.startswith(".") for part in name.split("/"))


def resolve_inside(folder: str | os.PathLike[str], path: str) -> str | None:
    """The real regular file ``path`` names under ``folder``, or None (hidden, outside, missing)."""
    root = os.path.realpath(folder)
    relative = path.lstrip("/")
    if not relative or "\x00" in relative or any(part.startswith(".") for part in relative.split("/")):
        return None
    joined = safe_join(root, relative)
    if joined is None:
        return None
    real = os.path.realpath(joined)
    if not real.startswith(root + os.sep) or not os.path.isfile(real):
        return None
    return real


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


def add_image_hints(html: Markup, page_path: str) -> Markup:
    """Add ``loading="lazy" decoding="async"`` to each ``<img>`` of a post body, and
    ``width``/``height`` when its file is under BLOG_PUBLIC_DIR and readable (read from the
    file's header, cached per file version), so the page does not shift as images load.

    Attributes the author already set are kept. ``page_path`` resolves relative ``src``
    (``img.png`` on ``/posts/x``); remote images get no size (fetching them is not worth it).
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
        return "<img" + match["attrs"].rstrip() + "".join(extra) + match["end"]

    return Markup(_IMG_TAG.sub(hint, str(html)))


# -- image sizes ------------------------------------------------------------------------

_SIZES: dict[tuple[str, int, int], tuple[int, int] | None] = {}
_SIZES_LOCK = threading.Lock()
_SIZES_MAX = 4096
#: EXIF orientations that turn the picture a quarter: browsers show it with sides swapped.
_QUARTER_TURNS = {5, 6, 7, 8}
_SVG_ROOT = re.compile(rb"<svg\b[^>]*>", re.IGNORECASE | re.DOTALL)
_SVG_ATTR = re.compile(rb"""\s(width|height|viewBox)\s*=\s*["']([^"']*)["']""", re.IGNORECASE)
_SVG_LENGTH = re.compile(rb"^\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*$")


def image_size(path: str) -> tuple[int, int] | None:
    """``(width, height)`` of the image file at ``path`` as a browser shows it, or None.

    Reads the header only (Pillow opens lazily), or the root tag of an SVG; cached per
    (path, mtime, size), so an edited image is measured again. None for files that are not
    images, cannot be read, or (SVG) give no size.
    """
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (path, st.st_mtime_ns, st.st_size)
    if key in _SIZES:
        return _SIZES[key]
    size = _svg_size(path) if path.lower().endswith(".svg") else _raster_size(path)
    with _SIZES_LOCK:
        if len(_SIZES) >= _SIZES_MAX:
            _SIZES.clear()
        _SIZES[key] = size
    return size


def _raster_size(path: str) -> tuple[int, int] | None:
    try:
        with Image.open(path) as image:
            width, height = image.size
            # JPEG/WebP/TIFF keep EXIF in the header; other formats would be decoded to find it.
            if image.format in ("JPEG", "MPO", "WEBP", "TIFF") and image.getexif().get(0x0112) in _QUARTER_TURNS:
                width, height = height, width
    except Exception:  # not an image, truncated, too big to trust (DecompressionBombError)...
        return None
    return (width, height) if width > 0 and height > 0 else None


def _svg_size(path: str) -> tuple[int, int] | None:
    """Width and height of an SVG from its root tag: plain or px lengths, else the viewBox."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8192)
    except OSError:
        return None
    root = _SVG_ROOT.search(head)
    if root is None:
        return None
    attrs = {name.lower(): value for name, value in _SVG_ATTR.findall(root.group())}
    width, height = (_SVG_LENGTH.match(attrs.get(k, b"")) for k in (b"width", b"height"))
    if width and height:
        size = round(float(width[1])), round(float(height[1]))
    else:
        box = attrs.get(b"viewbox", b"").replace(b",", b" ").split()
        try:
            size = round(float(box[2])), round(float(box[3]))
        except (IndexError, ValueError):
            return None
    return size if size[0] > 0 and size[1] > 0 else None
