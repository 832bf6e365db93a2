"""``flask --app blogapp images``: make every image variant the pages link, before a deploy.

Each visible post's page links its cover (the "cover" widths every listing also uses), its
author's picture, its body images, its share image and its related posts' covers; the
variants named there are requested through the app itself, so they are made and stored
exactly as a reader's first request would (BLOG_IMAGE_CACHE_DIR).
"""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import urlsplit

from flask import Flask

from .. import content
from ..images.pictures import PREFIX

#: A variant URL in srcset or og:image, the mount prefix (``/blog``) kept, the host dropped.
_VARIANT = re.compile(r"""(?:https?://[^/\s"']+)?((?:/[^/\s"',]+)*""" + re.escape(PREFIX) + r"""[^\s"',]+)""")


def make_all_variants(app: Flask) -> tuple[int, list[str]]:
    """Request every variant linked from a visible post's page; return how many were made
    or found, and the URLs that did not answer 200."""
    site = urlsplit(app.config["BLOG_SITE_URL"] or "http://localhost")
    prefix = site.path.rstrip("/")
    base_url = f"{site.scheme}://{site.netloc}{prefix}/"
    client = app.test_client()
    with app.app_context():
        slugs = [post.slug for post in content.get_posts()]
    urls: dict[str, None] = {}
    for slug in slugs:
        with client.get(f"/posts/{slug}", base_url=base_url) as page:
            text = unescape(page.get_data(as_text=True))
        for url in _VARIANT.findall(text):
            urls[url[len(prefix) :]] = None
    failed = []
    for url in urls:
        with client.get(url, base_url=base_url) as response:
            if response.status_code != 200:
                failed.append(f"{url}: {response.status_code}")
    return len(urls) - len(failed), failed
