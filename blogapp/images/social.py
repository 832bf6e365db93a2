"""Generated images for posts without their own: the SVG cover placeholder and the PNG card.

A post with no usable cover shows an SVG placeholder: its title on a two-colour gradient
picked from its slug. Social sites (Facebook, LinkedIn, X, Slack, ...) reject SVG for
``og:image``, so a post with no usable ``ogImage`` or cover gets a 1200x630 PNG card drawn
here with Pillow: its title on the same gradient, and the site's name. The font is the one
Pillow ships (``ImageFont.load_default(size=...)``, Aileron), so no system font is needed.
"""

from __future__ import annotations

import colorsys
import hashlib
import io
import textwrap
from collections.abc import Sequence

from markupsafe import escape
from PIL import Image
from PIL import ImageChops
from PIL import ImageDraw
from PIL import ImageFont

from ..posts.fields import slugify
from ..posts.post import xml_safe

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
    footer = card_footer(site_title, byline)
    footer_lines = _wrap(footer[:_MAX_TITLE_CHARS], small, width, limit=1)[:1] or [""]
    draw.text((_MARGIN, footer_top), footer_lines[0], font=small, fill=(232, 234, 240))
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=False, compress_level=6)
    return out.getvalue()


def card_footer(site_title: str, byline: Sequence[str] = ()) -> str:
    """The card's bottom line: "site  ·  author  ·  date", naming the site once.

    A byline part that is the site's name again (a post by the site itself: the same
    ``slugify``, so case, spacing and accents do not matter) is left out.
    """
    site = slugify(site_title)
    parts = [part for part in byline if part and not (site and slugify(part) == site)]
    return "  ·  ".join([site_title, *parts])


# -- the SVG cover placeholder ----------------------------------------------------------

#: The most title characters the placeholder wraps: four lines of 26 show far fewer.
_PLACEHOLDER_CHARS = 4 * 26 * 2


def render_placeholder(title: str, seed: str, site_title: str) -> str:
    """SVG cover art: a two-colour gradient picked from ``seed`` with the title set on it."""
    hue1, hue2 = gradient_hues(seed)
    title, site_title = xml_safe(title), xml_safe(site_title)  # an SVG is XML: no stray control character
    lines = textwrap.wrap(title[:_PLACEHOLDER_CHARS], 26)[:4] or [""]
    top = 315 - (len(lines) - 1) * 38
    text = "".join(f'<tspan x="80" y="{top + i * 76}">{escape(line)}</tspan>' for i, line in enumerate(lines))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1200 630" width="1200" height="630" '
        f'role="img" aria-label="{escape(title)}">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue1} 55% 32%)"/>'
        f'<stop offset="1" stop-color="hsl({hue2} 60% 22%)"/></linearGradient></defs>'
        '<rect width="1200" height="630" fill="url(#g)"/>'
        '<g font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" fill="#fff">'
        f'<text font-size="64" font-weight="700">{text}</text>'
        f'<text x="80" y="560" font-size="28" opacity=".8">{escape(site_title)}</text></g></svg>'
    )
