"""Issue 23, item 3: avatars are visible in both themes. A logo drawn black on a transparent PNG
(as the seed site's AURA avatar is) must stand out from whatever is actually behind it, measured
in Chromium from a screenshot of each avatar on the post page, the home page and the author page."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from tests.servers import Server
from tests.support import CHROMIUM
from tests.support import FLAGS
from tests.support import need_browser

DATA = Path(__file__).parent / "data"
LOGO = "/assets/blog/authors/logo.png"
POST = f"""---
title: "A post by the lab"
date: "2026-01-05T10:00:00Z"
author:
  name: AURA Digital Labs
  picture: {LOGO}
---

Body of the post.
"""
#: Where each page shows the byline's avatar.
PAGES = {"/posts/by-the-lab": "article img.avatar", "/": "img.avatar", "/authors/aura-digital-labs": "img.avatar"}


def black_logo(size: int = 256) -> bytes:
    """A black disc of half the width, centred on a transparent square."""
    from PIL import Image
    from PIL import ImageDraw

    image = Image.new("RGBA", (size, size), (0, 0, 0, 0))
    ImageDraw.Draw(image).ellipse((size // 4, size // 4, 3 * size // 4, 3 * size // 4), fill=(0, 0, 0, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def lab_site(tmp_path_factory):
    need_browser()
    tmp = tmp_path_factory.mktemp("avatars")
    public = tmp / "public-copy"
    shutil.copytree(DATA / "public", public)
    (public / LOGO.lstrip("/")).write_bytes(black_logo())
    posts = tmp / "lab-posts"
    posts.mkdir()
    (posts / "by-the-lab.md").write_text(POST)
    server = Server(tmp, env={"FLASK_BLOG_PUBLIC_DIR": str(public)}, posts=posts, name="avatars", workers=1)
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="module")
def chromium(lab_site):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


def luminance(rgb: tuple[int, ...]) -> float:
    """WCAG relative luminance of an sRGB colour."""
    channels = [c / 255 for c in rgb[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def median_colour(image, points: list[tuple[int, int]]) -> tuple[int, ...]:
    pixels = sorted((image.getpixel(p)[:3] for p in points), key=luminance)
    return pixels[len(pixels) // 2]


def logo_and_backdrop(png: bytes) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The rendered colours of the logo (the disc: within 0.3 of the avatar's radius from its
    centre) and of what shows through around it (the ring from 0.65 to 0.85 of the radius)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    width, height = image.size
    cx, cy, radius = (width - 1) / 2, (height - 1) / 2, min(width, height) / 2
    inner, ring = [], []
    for y in range(height):
        for x in range(width):
            r = ((x - cx) ** 2 + (y - cy) ** 2) ** 0.5 / radius
            if r < 0.3:
                inner.append((x, y))
            elif 0.65 < r < 0.85:
                ring.append((x, y))
    return median_colour(image, inner), median_colour(image, ring)


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_a_black_logo_on_a_transparent_avatar_is_readable(chromium, lab_site, scheme):
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, color_scheme=scheme)
    page = context.new_page()
    try:
        for path, selector in PAGES.items():
            page.goto(lab_site + path)
            avatar = page.locator(selector).first
            avatar.scroll_into_view_if_needed()
            page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=avatar.element_handle())
            logo, backdrop = logo_and_backdrop(avatar.screenshot(animations="disabled"))
            assert luminance(logo) < 0.02, f"{path}: the logo is not drawn black: {logo}"
            ratio = contrast(logo, backdrop)
            assert ratio >= 3, f"{path} in {scheme} mode: logo {logo} on {backdrop}: {ratio:.2f}:1"
    finally:
        context.close()


def test_the_dark_theme_toggle_keeps_the_surface(chromium, lab_site):
    """A reader who picks dark with the toggle (<html data-theme="dark">) on a light system."""
    context = chromium.new_context(viewport={"width": 1200, "height": 900}, color_scheme="light")
    page = context.new_page()
    try:
        page.goto(lab_site + "/posts/by-the-lab")
        page.evaluate("document.documentElement.dataset.theme = 'dark'")
        avatar = page.locator("article img.avatar").first
        page.wait_for_function("el => el.complete && el.naturalWidth > 0", arg=avatar.element_handle())
        logo, backdrop = logo_and_backdrop(avatar.screenshot(animations="disabled"))
        assert contrast(logo, backdrop) >= 3, (logo, backdrop)
    finally:
        context.close()
