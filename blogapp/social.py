"""Images drawn or measured with Pillow: PNG social cards, and sizes of images in posts.

Social sites (Facebook, LinkedIn, X, Slack, ...) reject SVG for ``og:image``, so a post with
no usable ``ogImage`` or cover gets a 1200x630 PNG card drawn here: its title on the same
two-colour gradient as its SVG placeholder cover, and the site's name. The font is the one
Pillow ships (``ImageFont.load_default(size=...)``, Aileron), so no system font is needed.

``image_size`` reads only an image file's header, once per (path, mtime, size).
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import os
import re
import threading
from collections.abc import Sequence

from PIL import Image
from PIL import ImageChops
from PIL import ImageDraw
from PIL import ImageFont

CARD_SIZE = (1200, 630)
_MARGIN = 80
#: Title sizes tried in turn until the title fits in _MAX_LINES lines.
_TITLE_SIZES = (76, 68, 60, 52)
_MAX_LINES = 4
#: Title characters considered: four lines of the narrowest glyphs at the smallest size hold
#: fewer (about 350), so longer titles end in an ellipsis either way.
_MAX_TITLE_CHARS = 400
_SITE_SIZE = 30


def gradient_hues(seed: str) -> tuple[int, int]:
    """Two hues (degrees) picked from ``seed``: the SVG placeholder's and the card's colours."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue1 = digest[0] * 360 // 256
    return hue1, (hue1 + 40 + digest[1] % 80) % 360


def _hsl(hue: int, saturation: float, lightness: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hls_to_rgb(hue / 360, lightness, saturation)
    return round(red * 255), round(green * 255), round(blue * 255)


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    # Pillow >= 10.1 with FreeType: a scalable built-in font. Without FreeType, a small
    # bitmap font (the card still renders, with small text).
    return ImageFont.load_default(size=size)


def _wrap(
    text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int, limit: int = _MAX_LINES
) -> list[str]:
    """Greedy word wrap by rendered width; a word wider than a line is cut by characters.

    Stops once ``limit + 1`` lines are known (the caller shows ``limit`` and needs only to know
    there are more), and cuts long words at the longest prefix that fits, found by bisection:
    the work is bounded whatever the text (a 3,000-character word is cut in a few dozen
    measurements, not millions).
    """
    lines: list[str] = []
    line = ""
    for word in text.split():
        candidate = f"{line} {word}" if line else word
        if font.getlength(candidate) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        while len(lines) <= limit and len(word) > 1 and font.getlength(word) > width:
            cut = _fitting_prefix(word, font, width)
            lines.append(word[:cut])
            word = word[cut:]
        line = word
        if len(lines) > limit:
            return lines
    if line:
        lines.append(line)
    return lines


def _fitting_prefix(word: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont, width: int) -> int:
    """Length of the longest prefix of ``word`` no wider than ``width`` (at least 1)."""
    low, high = 1, len(word)
    while low < high:
        middle = (low + high + 1) // 2
        if font.getlength(word[:middle]) <= width:
            low = middle
        else:
            high = middle - 1
    return low


def _fit_title(title: str, width: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, list[str], int]:
    """The largest title size whose wrapped lines fit; the last size is cut with an ellipsis."""
    title = title[:_MAX_TITLE_CHARS]
    for size in _TITLE_SIZES:
        font = _font(size)
        lines = _wrap(title, font, width)
        if len(lines) <= _MAX_LINES:
            return font, lines, size
    lines = lines[:_MAX_LINES]
    last = lines[-1]
    while last and font.getlength(last + "…") > width:
        last = last[:-1].rstrip()
    lines[-1] = last + "…"
    return font, lines, size


def _gradient(size: tuple[int, int], start: tuple[int, int, int], end: tuple[int, int, int]) -> Image.Image:
    """A diagonal gradient from ``start`` (top left) to ``end`` (bottom right)."""
    ramp = bytes(range(256))
    across = Image.frombytes("L", (256, 1), ramp).resize(size, Image.Resampling.BILINEAR)
    down = Image.frombytes("L", (1, 256), ramp).resize(size, Image.Resampling.BILINEAR)
    mask = ImageChops.add(across, down, scale=2.0)  # (x/w + y/h) / 2
    return Image.composite(Image.new("RGB", size, end), Image.new("RGB", size, start), mask)


def render_card(title: str, seed: str, site_title: str, byline: Sequence[str] = ()) -> bytes:
    """A 1200x630 PNG: ``title`` wrapped on the gradient picked from ``seed``, ``site_title``
    and the optional ``byline`` parts (author, date) along the bottom."""
    hue1, hue2 = gradient_hues(seed)
    image = _gradient(CARD_SIZE, _hsl(hue1, 0.55, 0.32), _hsl(hue2, 0.60, 0.22))
    draw = ImageDraw.Draw(image)
    width = CARD_SIZE[0] - 2 * _MARGIN
    font, lines, size = _fit_title(" ".join(title.split()) or site_title, width)
    line_height = round(size * 1.18)
    # Centre the title block in the space above the footer line, as the SVG cover does.
    footer_top = CARD_SIZE[1] - _MARGIN - _SITE_SIZE
    top = max(_MARGIN, (footer_top - 24 - len(lines) * line_height) // 2 + 12)
    for i, line in enumerate(lines):
        # A hairline stroke in the fill colour gives the regular-weight built-in font more weight.
        draw.text((_MARGIN, top + i * line_height), line, font=font, fill="white", stroke_width=1, stroke_fill="white")
    draw.rectangle((_MARGIN, footer_top - 28, _MARGIN + 72, footer_top - 22), fill=(255, 255, 255))
    small = _font(_SITE_SIZE)
    footer = "  ·  ".join([site_title, *[part for part in byline if part]])
    footer_lines = _wrap(footer[:_MAX_TITLE_CHARS], small, width, limit=1)[:1] or [""]
    draw.text((_MARGIN, footer_top), footer_lines[0], font=small, fill=(232, 234, 240))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


# -- sizes of images in post bodies ------------------------------------------------------

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
