"""``flask --app blogapp images``: make every image variant the pages link, before a deploy.

Each visible post's page links its cover (the "cover" widths every listing also uses), its
author's picture, its body images, its share image and its related posts' covers; the
variants named there are requested through the app itself, so they are made and stored
exactly as a reader's first request would (BLOG_IMAGE_CACHE_DIR).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from urllib.parse import urlsplit

from flask import Flask

from .. import content
from ..images.pictures import PREFIX

#: A variant URL in srcset or og:image, the mount prefix (``/blog``) kept, the host dropped.
_VARIANT = re.compile(r"""(?:https?://[^/\s"']+)?((?:/[^/\s"',]+)*""" + re.escape(PREFIX) + r"""[^\s"',]+)""")


def linked_variants(app: Flask) -> list[str]:
    """Every variant URL (without the mount prefix) a visible post's page links, once each."""
    base_url, prefix = _base(app)
    client = app.test_client()
    with app.app_context():
        slugs = [post.slug for post in content.get_posts()]
    urls: dict[str, None] = {}
    for slug in slugs:
        with client.get(f"/posts/{slug}", base_url=base_url) as page:
            text = unescape(page.get_data(as_text=True))
        for url in _VARIANT.findall(text):
            urls[url[len(prefix) :]] = None
    return list(urls)


def make_variants(app: Flask, urls: list[str]) -> Iterator[tuple[str, int]]:
    """Request each of ``urls`` (from ``linked_variants``) through the app, which makes and
    stores the variant; yield each URL with its status as it is done."""
    base_url, _prefix = _base(app)
    client = app.test_client()
    for url in urls:
        with client.get(url, base_url=base_url) as response:
            status = response.status_code
        yield url, status


def _base(app: Flask) -> tuple[str, str]:
    site = urlsplit(app.config["BLOG_SITE_URL"] or "http://localhost")
    prefix = site.path.rstrip("/")
    return f"{site.scheme}://{site.netloc}{prefix}/", prefix
