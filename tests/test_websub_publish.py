"""WebSub publishing, piece by piece (issue 24): which feeds a change touches, once per change
and never on a restart, the hub requests' retries and bounds, ``flask websub publish`` and
``check``'s report of hubs that do not answer. End to end: tests/test_websub_system.py."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from flask import Flask

from blogapp import create_app
from blogapp.websub import hub
from blogapp.websub.claims import CHANGED
from blogapp.websub.claims import NEW
from blogapp.websub.claims import SAME
from blogapp.websub.claims import FileClaims
from blogapp.websub.publisher import Publisher
from tests.conftest import post_text
from tests.servers import free_port
from tests.websubhub import Hub

SITE = "http://127.0.0.1:9"  # nothing listens: nothing here fetches the public URLs


@pytest.fixture
def hub_server() -> Iterator[Hub]:
    server = Hub()
    yield server
    server.stop()


@pytest.fixture
def websub_config(config: dict, hub_server: Hub) -> dict:
    config.update(BLOG_WEBSUB_HUBS=[hub_server.url], BLOG_SITE_URL=SITE)
    return config


def test_a_change_touches_its_feeds_once_and_a_restart_none(websub_config: dict, posts_dir: Path) -> None:
    app = create_app(websub_config)
    publisher = Publisher(app)
    assert publisher.claims.lead()
    assert publisher.changed() == []  # first look: every feed noted, none published
    assert publisher.changed() == []
    (posts_dir / "fresh.md").write_text(post_text("Fresh", date="2025-01-01T00:00:00Z", tags="[python, newtag]"))
    due = [url for url, _ in publisher.changed()]
    feeds = ("feed.xml", "atom.xml", "feed.json")
    assert sorted(due) == sorted(
        [f"{SITE}/{name}" for name in feeds]
        + [f"{SITE}/tags/python/{name}" for name in feeds]
        + [f"{SITE}/authors/aura-digital-labs/{name}" for name in feeds]
    )  # the new tag's feeds are new feeds: nobody can have subscribed to them yet
    assert publisher.changed() == []

    # An edit the feeds do not show (a field they leave out) publishes nothing.
    (posts_dir / "fresh.md").write_text(
        post_text("Fresh", date="2025-01-01T00:00:00Z", tags="[python, newtag]", series="x")
    )
    assert publisher.changed() == []

    # Another process on this host (a restart) with the same state: no change, no ping.
    again = Publisher(create_app(websub_config))
    publisher.claims = FileClaims(Path(app.config["BLOG_STATE_DIR"]) / "websub")  # let go of nothing
    assert again.changed() == []

    # Back to the feed as it was before (a deletion) is a change too.
    (posts_dir / "fresh.md").unlink()
    assert f"{SITE}/feed.xml" in [url for url, _ in publisher.changed()]


def test_a_scheduled_post_changes_the_feeds_when_its_time_comes(websub_config: dict, posts_dir: Path) -> None:
    app = create_app(websub_config)
    store = app.extensions["blog_content"]
    now = time.time()
    store.clock = lambda: now
    publisher = Publisher(app)
    publisher.changed()
    (posts_dir / "later.md").write_text(post_text("Later", date="2030-01-01T00:00:00Z"))
    assert publisher.changed() == []  # saved but not due: the feeds are unchanged
    store.clock = lambda: 1893456000.0 + 1  # 2030-01-01T00:00:01Z, with no request
    assert f"{SITE}/feed.xml" in [url for url, _ in publisher.changed()]


def test_one_leader_per_state_folder(tmp_path: Path) -> None:
    first, second = FileClaims(tmp_path), FileClaims(tmp_path)
    assert first.lead()
    assert not second.lead()  # flock: another open file, as another worker has
    assert first.claim("u", "a") == NEW
    assert first.claim("u", "a") == SAME
    assert first.claim("u", "b") == CHANGED


class _Answers(BaseHTTPRequestHandler):
    """Answers POSTs with the statuses in ``server.statuses``, one per request."""

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        server = self.server
        server.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))  # type: ignore[attr-defined]
        status = server.statuses.pop(0) if server.statuses else 204  # type: ignore[attr-defined]
        self.send_response(status)
        if status == 299:  # an endless answer
            self.send_header("Content-Length", str(10**9))
            self.end_headers()
            for _ in range(100):
                self.wfile.write(b"x" * 65536)
            return
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def answers() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Answers)
    server.statuses, server.bodies = [], []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def url_of(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hub"


def test_a_5xx_hub_is_retried_with_backoff(answers, caplog) -> None:
    answers.statuses[:] = [503, 429, 202]
    pauses: list[float] = []
    with caplog.at_level(logging.INFO, "blogapp.websub"):
        assert hub.publish(url_of(answers), "https://b.example/feed.xml", sleep=pauses.append)
    assert pauses == [1.0, 2.0]
    assert answers.bodies[-1] == b"hub.mode=publish&hub.url=https%3A%2F%2Fb.example%2Ffeed.xml"
    assert "published https://b.example/feed.xml" in caplog.text and "retrying in 1 s" in caplog.text


def test_retries_stop_in_bounded_time(answers, caplog) -> None:
    answers.statuses[:] = [500] * 50
    pauses: list[float] = []
    with caplog.at_level(logging.INFO, "blogapp.websub"):
        assert not hub.publish(url_of(answers), "https://b.example/feed.xml", retry_for=20, sleep=pauses.append)
    assert pauses == [1.0, 2.0, 4.0, 8.0]  # the next pause would end past 20 s
    assert "gave up publishing https://b.example/feed.xml" in caplog.text


def test_a_refusal_is_not_retried(answers) -> None:
    answers.statuses[:] = [400]
    pauses: list[float] = []
    assert not hub.publish(url_of(answers), "https://b.example/feed.xml", sleep=pauses.append)
    assert pauses == []


def test_a_hub_answer_is_never_read_whole(answers) -> None:
    answers.statuses[:] = [299]
    began = time.monotonic()
    status, answer = hub.send(url_of(answers), "https://b.example/feed.xml")
    assert status == 299 and len(answer) == hub.MAX_ANSWER
    assert time.monotonic() - began < 2


def test_a_hub_that_is_down_is_an_error_not_a_hang() -> None:
    with socket.socket() as listener:  # accepts, never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        address = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        began = time.monotonic()
        with pytest.raises(OSError):
            hub.send(address, "https://b.example/feed.xml", timeout=0.5)
        assert time.monotonic() - began < 2


def test_flask_websub_publish(websub_config: dict, hub_server: Hub) -> None:
    runner = create_app(websub_config).test_cli_runner()
    result = runner.invoke(args=["websub", "publish"])
    assert result.exit_code == 0, result.output
    assert sorted(url for _, url in hub_server.publishes) == [
        f"{SITE}/atom.xml",
        f"{SITE}/feed.json",
        f"{SITE}/feed.xml",
    ]
    result = runner.invoke(args=["websub", "publish", "/tags/python/feed.xml", f"{SITE}/authors/ada-lovelace/atom.xml"])
    assert result.exit_code == 0, result.output
    assert f"published {SITE}/tags/python/feed.xml to {hub_server.url}" in result.output
    assert hub_server.publishes[-1][1] == f"{SITE}/authors/ada-lovelace/atom.xml"


@pytest.mark.parametrize("feed", ["/posts/hello-world", "https://evil.example/feed.xml", "/feed.xml/../x", "x" * 5000])
def test_flask_websub_publish_refuses_what_is_no_feed(websub_config: dict, hub_server: Hub, feed: str) -> None:
    result = create_app(websub_config).test_cli_runner().invoke(args=["websub", "publish", feed])
    assert result.exit_code == 2 and "not a feed of this site" in result.output
    assert hub_server.publishes == []


def test_flask_websub_publish_reports_a_hub_that_fails(websub_config: dict) -> None:
    websub_config["BLOG_WEBSUB_HUBS"] = [f"http://127.0.0.1:{free_port()}/"]
    result = create_app(websub_config).test_cli_runner().invoke(args=["websub", "publish", "--retry-for", "0"])
    assert result.exit_code == 1
    assert "FAILED http://127.0.0.1:9/feed.xml" in result.output


def test_check_reports_hubs_that_do_not_answer(websub_config: dict, hub_server: Hub) -> None:
    down = f"http://127.0.0.1:{free_port()}/"
    websub_config["BLOG_WEBSUB_HUBS"] = [hub_server.url, down]
    result = create_app(websub_config).test_cli_runner().invoke(args=["check"])
    assert f"BLOG_WEBSUB_HUBS: {down} does not answer" in result.output
    assert hub_server.url + " does not answer" not in result.output


def test_without_hubs_nothing_starts(app: Flask) -> None:
    from blogapp import websub

    assert websub.start(app) is None


def test_a_restart_renders_no_feed_whose_files_did_not_change(
    websub_config: dict, posts_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from blogapp.websub import topics

    rendered: list[str] = []
    real = topics.local_etag
    monkeypatch.setattr(topics, "local_etag", lambda app, path: rendered.append(path) or real(app, path))
    Publisher(create_app(websub_config)).changed()
    assert "/feed.xml" in rendered  # the first look ever renders every feed once
    rendered.clear()
    restarted = Publisher(create_app(websub_config))
    assert restarted.changed() == [] and rendered == []
    (posts_dir / "hello-world.md").write_text(
        (posts_dir / "hello-world.md").read_text().replace("Hello body text", "Hello new body text")
    )
    assert f"{SITE}/feed.xml" in [url for url, _ in Publisher(create_app(websub_config)).changed()]
    assert "/tags/markdown/feed.xml" not in rendered  # a feed the edited post is not in


def test_a_preview_with_drafts_never_publishes(websub_config: dict) -> None:
    from blogapp import websub

    websub_config["BLOG_SHOW_DRAFTS"] = True
    assert websub.start(create_app(websub_config)) is None
