"""Many hosts sharing one Redis: pages rendered once serve every host, all agree on what is
current, and Redis going away under traffic costs no request."""

from __future__ import annotations

import http.client
import threading
import time
from collections import Counter

import pytest

from blogapp import create_app

from .conftest import count_renders
from .conftest import post_text
from .servers import Redis
from .servers import Server
from .support import wait_for

#: Its system tests hold time bounds: the timed lane (tests/conftest.py).
pytestmark = pytest.mark.timed


@pytest.fixture
def redis_server(tmp_path):
    server = Redis(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def redis_app(config, redis_server):
    """Build apps ("hosts") on the shared Redis; their connections are closed afterwards."""
    apps = []

    def build():
        app = create_app({**config, "CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_server.url})
        apps.append(app)
        return app

    yield build
    for app in apps:
        for backend in app.extensions["cache"].values():
            backend._write_client.connection_pool.disconnect()


def test_hosts_share_rendered_pages(redis_app, write_post):
    host_a, host_b = redis_app(), redis_app()
    with count_renders(host_a) as rendered_a, count_renders(host_b) as rendered_b:
        first = host_a.test_client().get("/posts/hello-world")
        second = host_b.test_client().get("/posts/hello-world")
    assert first.headers["X-Cache"] == "MISS"
    assert second.headers["X-Cache"] == "HIT"
    assert first.data == second.data
    assert (len(rendered_a), len(rendered_b)) == (1, 0)

    # An edit changes the content version on both hosts: one renders, the other reuses it.
    write_post("hello-world.md", post_text("Hello World", date="2024-03-01T09:00:00Z", body="Edited body."))
    with count_renders(host_a) as rendered_a, count_renders(host_b) as rendered_b:
        b_page = host_b.test_client().get("/posts/hello-world")
        a_page = host_a.test_client().get("/posts/hello-world")
    assert b"Edited body." in b_page.data and b"Edited body." in a_page.data
    assert (b_page.headers["X-Cache"], a_page.headers["X-Cache"]) == ("MISS", "HIT")
    assert (len(rendered_a), len(rendered_b)) == (0, 1)


def _load(servers, paths, stop, results):
    """One client thread: cycle through hosts and paths until ``stop`` is set."""
    i = 0
    conns = {}
    while not stop.is_set():
        server = servers[i % len(servers)]
        path = paths[i % len(paths)]
        i += 1
        started = time.monotonic()  # classify by start: a request in flight at the stop may still hit
        try:
            conn = conns.get(server.port) or http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
            conns[server.port] = conn
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            results.append((started, response.status, response.getheader("X-Cache")))
        except (OSError, http.client.HTTPException) as exc:
            results.append((started, type(exc).__name__, None))
            conns.pop(server.port).close()
    for conn in conns.values():
        conn.close()


def test_redis_stopping_under_traffic_costs_no_request(tmp_path, redis_server):
    # One public URL for both hosts, as behind a load balancer: they then share cache keys.
    env = {
        "FLASK_CACHE_TYPE": "RedisCache",
        "FLASK_CACHE_REDIS_URL": redis_server.url,
        "FLASK_BLOG_SITE_URL": "http://blog.test",
    }
    host_a = Server(tmp_path, env=env, name="host-a")
    host_b = Server(tmp_path, env=env, posts=host_a.posts, name="host-b")
    paths = ["/", "/posts/hello-world", "/feed.xml", "/tags/python", "/sitemap.xml"]
    stop = threading.Event()
    results: list[tuple[float, object, str | None]] = []
    threads = [threading.Thread(target=_load, args=([host_a, host_b], paths, stop, results)) for _ in range(4)]
    fresh = "/tags/python/atom.xml"
    try:
        for thread in threads:
            thread.start()
        wait_for(lambda: len(results) >= 50 and any(hit == "HIT" for _, _, hit in results), 15, "pages from Redis")
        redis_server.stop()  # returns once redis-server has exited
        stopped_at = time.monotonic()
        # Until requests made after the workers' first pause (1 s after a failure) have been
        # answered: they try the stopped Redis again.
        wait_for(lambda: sum(t > stopped_at + 1.2 for t, _, _ in results) >= 20, 15, "requests while Redis is down")
        restarting_at = time.monotonic()  # Redis may answer as soon as it is started
        redis_server.start()
        restarted_at = time.monotonic()
        # Past the one-second pause after a backend failure (the last failure came before
        # Redis answered again, at restarted_at; the workers use the same monotonic clock).
        time.sleep(max(0.0, restarted_at + 1.25 - time.monotonic()))
        _, first = host_a.get_with_headers(fresh)
        _, second = host_b.get_with_headers(fresh)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=20)
        host_a.stop()
        host_b.stop()
    statuses = Counter(status for _, status, _ in results)
    assert set(statuses) == {200}, statuses
    during = [hit for t, _, hit in results if stopped_at + 0.5 < t < restarting_at]
    assert during and "HIT" not in during  # served from memory or rendered, never from Redis
    # Redis is back: a page one host renders now reaches the other through it.
    assert (first.get("X-Cache"), second.get("X-Cache")) == ("MISS", "HIT")
    assert restarted_at < time.monotonic()
    assert len(results) > 200
    assert len(results) > 200
