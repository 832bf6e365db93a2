"""Files under a folder: path safety, image sizes, modification times. No Flask.

Every rule about turning a name into a file lives here. A name is looked up, never trusted:
no hidden file or folder (a segment starting with ``.``, so ``.env`` and ``.git/config`` are
never found), nothing resolving outside the folder (``..``, symlinks pointing out), regular
files only. ``blogapp.public`` applies these rules to the app's public folder for requests.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable

from PIL import Image
from werkzeug.security import safe_join

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


def newest_mtime(paths: Iterable[str | os.PathLike[str]]) -> float:
    """The newest modification time among ``paths`` that exist (0.0 for none)."""
    newest = 0.0
    for path in paths:
        try:
            newest = max(newest, os.stat(path).st_mtime)
        except (OSError, ValueError):
            continue
    return newest
