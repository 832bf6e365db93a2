"""Image variants over real gunicorn (gevent workers) and in a real Chromium."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import post_text
from .imagefiles import photo
from .imagefiles import save
from .servers import Server
from .test_browser import CHROMIUM
from .test_browser import FLAGS
from .test_browser import _need_browser

NEWEST = "2026-11-01T10:00:00Z"


def add_photo_post(tmp_path: Path, width: int = 2400, height: int = 1260, fmt: str = "JPEG") -> None:
    """Make tmp_path hold tests/data plus a newest post whose cover is a large photo."""
    import shutil

    from .conftest import DATA

    shutil.copytree(DATA / "posts", tmp_path / "posts")
    shutil.copytree(DATA / "public", tmp_path / "public")
    suffix = "jpg" if fmt == "JPEG" else "png"
    save(photo(width, height), tmp_path / "public" / "assets" / "big" / f"cover.{suffix}", fmt, quality=90)
    text = post_text("Photo", NEWEST, "Body.", coverImage=f"/assets/big/cover.{suffix}")
    (tmp_path / "posts" / "photo.md").write_text(text)


def variant_urls(html: str) -> list[str]:
    return re.findall(r"(/_img/[^\s\"]+) \d+w", html)


@pytest.fixture
def server(tmp_path: Path):
    add_photo_post(tmp_path)
    server = Server(tmp_path, posts=tmp_path / "posts", name="images")
    yield server
    server.stop()


def test_parallel_first_requests_make_one_identical_file(server: Server, tmp_path: Path):
    status, body = server.get("/")
    assert status == 200
    url = next(u for u in variant_urls(body.decode()) if "/big/cover.jpg/" in u and u.endswith("-1920.avif"))
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda _: server.get(url), range(12)))
    assert {status for status, _ in answers} == {200}
    assert len({data for _, data in answers}) == 1
    store = tmp_path / "image-cache"
    name = url.rsplit("/", 1)[1]
    files = [p.name for p in store.iterdir() if p.is_file() and p.name != ".blog-image-cache"]
    assert files == [name]  # one file, no temporary leftovers
    assert (store / name).read_bytes() == answers[0][1]


def test_variant_headers_conditional_and_range(server: Server):
    html = server.get("/")[1].decode()
    url = next(u for u in variant_urls(html) if u.endswith("-720.webp"))
    status, headers = server.get_with_headers(url)
    assert status == 200
    assert headers["Content-Type"] == "image/webp"
    assert headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert "Content-Security-Policy" in headers and headers["X-Content-Type-Options"] == "nosniff"
    assert server.get(url, headers={"If-None-Match": headers["ETag"]})[0] == 304
    status, part = server.get(url, headers={"Range": "bytes=0-9"})
    assert status == 206 and part[:4] == b"RIFF" and len(part) == 10
    assert server.get(url.replace("-720.webp", "-721.webp"))[0] == 404
    assert server.get("/_img/assets/big/cover.jpg/0000000000000000-720.webp")[0] == 404  # a made-up digest


def test_making_a_variant_does_not_stop_cached_pages(tmp_path: Path):
    """One gevent worker: while a large variant is encoded (in the hub's thread pool), a
    cached page on the same worker still answers."""
    add_photo_post(tmp_path, 6000, 4000)
    server = Server(tmp_path, posts=tmp_path / "posts", name="one-worker", workers=1)
    try:
        html = server.get("/")[1].decode()
        assert server.get("/")[0] == 200  # cached now
        url = next(u for u in variant_urls(html) if "/big/cover.jpg/" in u and u.endswith("-1920.avif"))
        done = threading.Event()
        result: list[int] = []

        def make() -> None:
            result.append(server.get(url)[0])
            done.set()

        maker = threading.Thread(target=make)
        maker.start()
        time.sleep(0.3)  # let the variant request reach the worker first
        assert not done.is_set(), "the variant was made too fast to show anything; use a larger source"
        started = time.monotonic()
        status, _ = server.get("/")
        waited = time.monotonic() - started
        assert status == 200
        assert not done.is_set(), f"the cached page waited for the variant ({waited:.2f} s)"
        maker.join(timeout=60)
        assert result == [200]
    finally:
        server.stop()


def test_phone_chromium_picks_a_small_variant(tmp_path: Path):
    _need_browser()
    from playwright.sync_api import sync_playwright

    add_photo_post(tmp_path)
    server = Server(tmp_path, posts=tmp_path / "posts", name="phone")
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
            context = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=3, is_mobile=True)
            page = context.new_page()
            loaded: list[tuple[str, int]] = []
            page.on("requestfinished", lambda r: loaded.append((r.url, r.sizes()["responseBodySize"])))
            page.goto(f"http://127.0.0.1:{server.port}/", wait_until="load")
            hero = page.evaluate("document.querySelector('.hero-cover img').currentSrc")
            browser.close()
    finally:
        server.stop()
    assert "/_img/assets/big/cover.jpg/" in hero and hero.endswith(".avif"), hero
    width = int(re.search(r"-(\d+)\.avif$", hero)[1])
    assert 390 * 3 * 0.8 <= width <= 1280, width  # about the 358 px column at 3x, never the 2400-px file
    assert not any(url.endswith("/assets/big/cover.jpg") for url, _ in loaded)
