"""Take the README's screenshots: home and a post, light and dark, desktop and phone.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000 docs/

Uses Playwright with Debian's Chromium (/usr/bin/chromium, or $BLOG_CHROMIUM); first screen
of each page, as a reader sees it on arrival.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

PAGES = {"home": "/", "post": "/posts/production-rag-with-postgres-and-pgvector"}
DEVICES = {"desktop": ({"width": 1280, "height": 800}, False), "phone": ({"width": 390, "height": 844}, True)}


def main(base: str, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    chromium = os.environ.get("BLOG_CHROMIUM", "/usr/bin/chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        for device, (viewport, mobile) in DEVICES.items():
            for scheme in ("light", "dark"):
                context = browser.new_context(
                    viewport=viewport, is_mobile=mobile, color_scheme=scheme, device_scale_factor=1
                )
                page = context.new_page()
                for name, path in PAGES.items():
                    page.goto(base.rstrip("/") + path, wait_until="networkidle")
                    target = out / f"{name}-{scheme}-{device}.png"
                    page.screenshot(path=str(target))
                    print(target)
                context.close()
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
