"""Image variants over real gunicorn (gevent workers) and in a real Chromium."""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import post_text
from .imagefiles import save_photo
from .servers import Server
from .support import CHROMIUM
from .support import FLAGS
from .support import need_browser

NEWEST = "2026-11-01T10:00:00Z"


def add_photo_post(tmp_path: Path, width: int = 2400, height: int = 1260, fmt: str = "JPEG") -> None:
    """Make tmp_path hold tests/data plus a newest post whose cover is a large photo."""
    import shutil

    from tests.conftest import DATA

    shutil.copytree(DATA / "posts", tmp_path / "posts")
    shutil.copytree(DATA / "public", tmp_path / "public")
    suffix = "jpg" if fmt == "JPEG" else "png"
    save_photo(tmp_path / "public" / "assets" / "big" / f"cover.{suffix}", width, height, fmt, quality=90)
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


@pytest.mark.timed
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


@pytest.mark.timed
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


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@pytest.mark.timed
def test_an_uncacheable_variant_is_encoded_once_for_concurrent_and_later_requests(tmp_path: Path):
    """BLOG_IMAGE_CACHE_BYTES=0 (nothing fits on disk), one gevent worker: 8 parallel GETs of
    one variant share one encode, and later GETs are answered from memory."""
    add_photo_post(tmp_path, 6000, 4000)
    server = Server(
        tmp_path, posts=tmp_path / "posts", name="no-disk", workers=1, env={"FLASK_BLOG_IMAGE_CACHE_BYTES": "0"}
    )
    try:
        (pid,) = server.worker_pids()
        urls = [u for u in variant_urls(server.get("/")[1].decode()) if "/big/cover.jpg/" in u]
        one = next(u for u in urls if u.endswith("-1920.avif"))
        before = cpu_seconds(pid)
        assert server.get(next(u for u in urls if u.endswith("-1600.avif")))[0] == 200
        single = cpu_seconds(pid) - before  # about one encode
        before = cpu_seconds(pid)
        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: server.get(one), range(8)))
        parallel = cpu_seconds(pid) - before
        assert {status for status, _ in answers} == {200} and len({data for _, data in answers}) == 1
        assert parallel < 2.5 * single, (parallel, single)  # one encode, not eight
        before = cpu_seconds(pid)
        for _ in range(5):
            assert server.get(one) == answers[0]
        later = cpu_seconds(pid) - before
        assert later < single / 2, (later, single)  # from memory, not encoded again
        assert not [p for p in (tmp_path / "image-cache").glob("*-*.*")]  # nothing kept on disk
    finally:
        server.stop()


@pytest.mark.timed
def test_queued_encodes_whose_clients_left_are_dropped(tmp_path: Path):
    """Eight clients ask for eight variants and hang up at once: their encodes, queued behind
    the worker's two encoding threads, are dropped, not made for nobody."""
    add_photo_post(tmp_path, 6000, 4000)
    server = Server(tmp_path, posts=tmp_path / "posts", name="leavers", workers=1)
    try:
        urls = [u for u in variant_urls(server.get("/")[1].decode()) if "/big/cover.jpg/" in u]
        wide = [u for u in urls if re.search(r"-(960|1280|1600|1920)\.(avif|webp)$", u)]
        assert len(wide) == 8
        for url in wide:
            with socket.create_connection(("127.0.0.1", server.port)) as sock:
                sock.sendall(f"GET {url} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
        time.sleep(0.5)  # they reach the worker first
        last = next(u for u in urls if u.endswith("-720.avif"))
        assert server.get(last)[0] == 200  # queued after the eight: they were made or dropped by now
        made = {p.name for p in (tmp_path / "image-cache").glob("*-*.*")} - {last.rsplit("/", 1)[1]}
        assert len(made) <= 2, made  # at most the two that had started (offload.MAX_THREADS)
    finally:
        server.stop()


def test_phone_chromium_picks_a_small_variant(tmp_path: Path):
    need_browser()
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
