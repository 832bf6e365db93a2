"""Hostile content at render time: a post big enough to hold a worker's event loop for seconds
(issue 20, item 12). Real gunicorn with one gevent worker, so every request shares its loop."""

from __future__ import annotations

import http.client
import shutil
import string
import threading
import time

import pytest

from tests.conftest import DATA
from tests.conftest import post_text
from tests.servers import Server

#: Its system tests hold time bounds: the timed lane (tests/conftest.py).
pytestmark = pytest.mark.timed

#: The issue's post: 2 MiB of 233,000 distinct words (here ~1.9 MB, under BLOG_MAX_POST_BYTES).
BIG_WORDS = 233_000


def big_body(count: int = BIG_WORDS) -> str:
    """``count`` distinct words of letters (``baaaa``, ``baaab``, ...), 100 to a paragraph."""
    letters = string.ascii_lowercase

    def word(i: int) -> str:
        out = ""
        for _ in range(4):
            i, rest = divmod(i, 26)
            out = letters[rest] + out
        return letters[1 + i] + out

    words = [word(i) for i in range(count)]
    return "\n\n".join(" ".join(words[i : i + 100]) for i in range(0, count, 100))


def _timed_get(port: int, path: str) -> tuple[int, float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    started = time.monotonic()
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status, time.monotonic() - started
    finally:
        conn.close()


def test_a_big_post_renders_while_the_worker_answers_other_requests(tmp_path):
    """The old code rendered a 2 MiB post of distinct words on the event loop (~3 s), and
    /healthz on that worker waited for all of it. Now big bodies are rendered, summarised and
    weighed for related posts in the offload pool, so /healthz is answered meanwhile: each one
    within a quarter of the render's time, and several of them while it runs."""
    posts = tmp_path / "posts"
    shutil.copytree(DATA / "posts", posts)
    (posts / "big.md").write_text(post_text("Big", date="2020-01-01T10:00:00Z", body=big_body()), encoding="utf-8")
    server = Server(tmp_path, posts=posts, workers=1)
    try:
        assert _timed_get(server.port, "/search?q=warm")[0] == 200  # the search index, built once

        page: dict[str, float] = {}

        def render() -> None:
            page["status"], page["seconds"] = _timed_get(server.port, "/posts/big")

        renderer = threading.Thread(target=render)
        renderer.start()
        waits, during = [], 0  # /healthz sent while the page was being made; answered meanwhile
        while renderer.is_alive():
            status, seconds = _timed_get(server.port, "/healthz")
            assert status == 200
            waits.append(seconds)
            during += renderer.is_alive()
            time.sleep(0.02)
        renderer.join()
        assert page["status"] == 200
        assert page["seconds"] > 0.5, page  # a render that long is worth the test
        assert during >= 3, (waits, page)  # the old code: one at most (the next waits it out)
        assert max(waits) < page["seconds"] / 4, (waits, page)
    finally:
        server.stop()
