"""WebSub publishing end to end (issue 24): real gunicorn (3 gevent workers), a real hub and a
subscriber's callback on loopback (tests/websubhub.py), Redis shared by two gunicorns.

A change to the posts reaches the subscriber within 5 s, exactly once, with no request to
the blog needed; a start that changes nothing publishes nothing; a hub that does not answer
never slows a page."""

from __future__ import annotations

import datetime as dt
import http.client
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import post_text
from tests.servers import Redis
from tests.servers import Server
from tests.servers import free_port
from tests.websubhub import Hub
from tests.websubhub import SilentHub
from tests.websubhub import Subscriber

#: The issue's bound: saved file to the subscriber's callback.
WITHIN = 5.0


@pytest.fixture
def hub() -> Iterator[Hub]:
    hub = Hub()
    yield hub
    hub.stop()


@pytest.fixture
def subscriber() -> Iterator[Subscriber]:
    subscriber = Subscriber()
    yield subscriber
    subscriber.stop()


def start(tmp_path: Path, hub_url: str, port: int | None = None, site: str | None = None, **kw) -> Server:
    """gunicorn with WebSub on, once its publisher has made its first look (so a change made
    after this is a change)."""
    port = port or free_port()
    env = {"FLASK_BLOG_WEBSUB_HUBS": hub_url, "FLASK_BLOG_SITE_URL": site or f"http://127.0.0.1:{port}"}
    env.update(kw.pop("env", {}))
    server = Server(tmp_path, env=env, port=port, **kw)
    deadline = time.monotonic() + 30
    while "websub: looked at" not in server.log_text():
        assert time.monotonic() < deadline, server.log_text()[-2000:]
        time.sleep(0.05)
    return server


def published(hub: Hub, topic: str, since: float = 0.0) -> int:
    return len([1 for at, url in hub.publishes if url == topic and at >= since])


def test_new_post_then_deletion_reach_the_subscriber_once_within_5s(
    tmp_path: Path, hub: Hub, subscriber: Subscriber
) -> None:
    server = start(tmp_path, hub.url)
    try:
        site = f"http://127.0.0.1:{server.port}"
        feed, tag_feed = site + "/feed.xml", site + "/tags/python/atom.xml"
        hub.subscribe(subscriber.url, feed)
        hub.subscribe(subscriber.url + "?tag", tag_feed)
        assert hub.publishes == []  # turning WebSub on is no change: nothing was published

        saved = time.monotonic()
        (server.posts / "websub-news.md").write_text(
            post_text("WebSub arrives", date="2030-01-01T00:00:00Z", tags="[python]").replace(
                "2030-01-01", "2025-01-01"
            )
        )
        got = subscriber.wait_for(feed, b"WebSub arrives", saved, timeout=WITHIN)
        got_tag = subscriber.wait_for(tag_feed, b"WebSub arrives", saved, timeout=WITHIN)
        assert got.at - saved < WITHIN and got_tag.at - saved < WITHIN
        time.sleep(3)  # any second ping would have come by now
        assert published(hub, feed, saved) == 1
        assert published(hub, tag_feed, saved) == 1
        assert len([d for d in subscriber.to(feed) if d.at >= saved]) == 1
        assert b"WebSub arrives" in got.body and got.content_type.startswith("application/rss+xml")

        deleted = time.monotonic()
        (server.posts / "websub-news.md").unlink()
        gone = subscriber.wait_for(feed, b"<rss", deleted, timeout=WITHIN)
        assert b"WebSub arrives" not in gone.body
        subscriber.wait_for(tag_feed, b"<feed", deleted, timeout=WITHIN)
        time.sleep(2)
        assert published(hub, feed, deleted) == 1
        assert "websub: published" in server.log_text()
    finally:
        server.stop()

    # A restart that changes nothing publishes nothing.
    before = len(hub.publishes)
    again = start(tmp_path / "again", hub.url, port=server.port, posts=server.posts)
    try:
        time.sleep(2)
        assert len(hub.publishes) == before, hub.publishes[before:]
    finally:
        again.stop()


def test_a_scheduled_post_is_published_when_its_time_comes(tmp_path: Path, hub: Hub, subscriber: Subscriber) -> None:
    server = start(tmp_path, hub.url)
    try:
        feed = f"http://127.0.0.1:{server.port}/feed.json"
        hub.subscribe(subscriber.url, feed)
        live = time.time() + 4
        when = dt.datetime.fromtimestamp(live, dt.UTC).isoformat(timespec="seconds")
        live = dt.datetime.fromisoformat(when).timestamp()
        (server.posts / "scheduled.md").write_text(post_text("Scheduled for later", date=when))
        time.sleep(max(0.0, live - time.time() - 0.5))
        assert published(hub, feed) == 0  # saved, not yet due: the feed did not change
        # No request to the blog from here on: the publisher notices the time by itself.
        got = subscriber.wait_for(feed, b"Scheduled for later", 0, timeout=live - time.time() + WITHIN)
        assert got.at - time.monotonic() + time.time() - live < WITHIN
        time.sleep(2)
        assert published(hub, feed) == 1
    finally:
        server.stop()


def test_two_gunicorns_sharing_redis_publish_once(tmp_path: Path, hub: Hub, subscriber: Subscriber) -> None:
    redis = Redis(tmp_path)
    posts = tmp_path / "posts"
    import shutil

    from tests.conftest import DATA

    shutil.copytree(DATA / "posts", posts)
    port = free_port()
    site = f"http://127.0.0.1:{port}"  # both hosts serve one public site (here: the first one)
    env = {"FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": redis.url}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start(tmp_path / "a", hub.url, port=port, site=site, posts=posts, env=env, name="a")
    second = None
    try:
        second = Server(
            tmp_path / "b",
            env={"FLASK_BLOG_WEBSUB_HUBS": hub.url, "FLASK_BLOG_SITE_URL": site, **env},
            posts=posts,
            name="b",
        )
        time.sleep(1.5)
        feed = site + "/feed.xml"
        hub.subscribe(subscriber.url, feed)
        assert hub.publishes == []
        saved = time.monotonic()
        (posts / "shared.md").write_text(post_text("Seen by two hosts", date="2025-02-02T00:00:00Z"))
        got = subscriber.wait_for(feed, b"Seen by two hosts", saved, timeout=WITHIN)
        assert got.at - saved < WITHIN
        time.sleep(3)
        assert published(hub, feed, saved) == 1
        assert len([d for d in subscriber.to(feed) if d.at >= saved]) == 1
        logs = first.log_text() + second.log_text()
        assert logs.count(f"websub: {feed} changed") == 1
    finally:
        if second is not None:
            second.stop()
        first.stop()
        redis.stop()


@pytest.mark.timed  # pages within 0.5 s
def test_a_hub_that_never_answers_does_not_slow_pages(tmp_path: Path) -> None:
    silent = SilentHub()
    server = start(tmp_path, silent.url)
    try:
        (server.posts / "slow-hub.md").write_text(post_text("Nobody hears", date="2025-03-03T00:00:00Z"))
        deadline = time.monotonic() + 8
        slowest = 0.0
        while time.monotonic() < deadline:
            for path in ("/", "/feed.xml", "/posts/slow-hub"):
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                began = time.monotonic()
                conn.request("GET", path)
                conn.getresponse().read()
                slowest = max(slowest, time.monotonic() - began)
                conn.close()
            time.sleep(0.05)
        assert silent.requests >= 1  # the publisher did try, and is waiting on the hub
        assert slowest < 0.5, slowest
        assert "changed (ETag" in server.log_text()
    finally:
        server.stop()
        silent.stop()


def test_through_the_nginx_edge_the_hub_fetches_the_new_feed(tmp_path: Path, hub: Hub, subscriber: Subscriber) -> None:
    """deploy/nginx.conf keeps a copy of each feed up to a second: the ping waits until the
    public URL serves the new ETag, so the hub's fetch, right after it, gets the new entry even
    while readers keep the edge's copy hot."""
    from tests.servers import Load
    from tests.servers import Nginx
    from tests.servers import _nginx_site

    edge_port = free_port()
    site = f"http://127.0.0.1:{edge_port}"
    server = start(tmp_path, hub.url, site=site, env={"FLASK_BLOG_PROXY_COUNT": "1"})
    (tmp_path / "cache").mkdir()
    nginx = Nginx(tmp_path, _nginx_site(server.port, edge_port, str(tmp_path / "cache")), edge_port)
    try:
        feed = site + "/feed.xml"
        hub.subscribe(subscriber.url, feed)
        with Load(edge_port, ["/feed.xml"], threads=2):
            time.sleep(1)
            saved = time.monotonic()
            (server.posts / "edge.md").write_text(post_text("Past the edge", date="2025-04-04T00:00:00Z"))
            got = subscriber.wait_for(feed, b"<rss", saved, timeout=WITHIN)
            assert b"Past the edge" in got.body
            assert got.at - saved < WITHIN
        time.sleep(2)
        assert published(hub, feed, saved) == 1
        assert all(status == 200 for topic, status in hub.fetches if topic == feed)
    finally:
        nginx.stop()
        server.stop()
