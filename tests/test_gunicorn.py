"""The blog as operators run it: real gunicorn, several workers, HTTP over loopback."""

from __future__ import annotations

import http.client
import time

import pytest

from .conftest import post_text
from .servers import Server
from .support import connections_to_every_worker


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One gunicorn for the tests that only read from it (they change no file)."""
    srv = Server(tmp_path_factory.mktemp("shared"))
    yield srv
    srv.stop()


@pytest.mark.timed
def test_every_worker_sees_an_edit_within_two_seconds(server):
    path = server.posts / "live.md"
    path.write_text(post_text("Live", body="OLD-TEXT"))
    pids = server.worker_pids()
    # Warm every worker's page cache with the old text.
    seen: set[int] = set()
    deadline = time.monotonic() + 20
    while seen != pids and time.monotonic() < deadline:
        pid, body = server.per_worker("/posts/live")
        if b"OLD-TEXT" in body:
            seen.add(pid)
    assert seen == pids, "could not reach every worker"

    path.write_text(post_text("Live", body="NEW-TEXT"))
    edited = time.monotonic()
    fresh: dict[int, float] = {}
    while len(fresh) < len(pids) and time.monotonic() < edited + 10:
        pid, body = server.per_worker("/posts/live")
        if b"NEW-TEXT" in body:
            fresh.setdefault(pid, time.monotonic() - edited)
    assert set(fresh) == pids
    slowest = max(fresh.values())
    assert slowest <= 2.0, f"slowest worker saw the edit after {slowest:.2f}s"


def _every_worker_answers(
    conns: dict[int, http.client.HTTPConnection], path: str, status: int, changed_at: float, within: float = 1.2
) -> None:
    """Ask each worker (on its own kept-alive connection in ``conns``) for ``path`` until it
    answers ``status``; none may answer otherwise once ``within`` s (one BLOG_RELOAD_INTERVAL
    and a margin) have passed since the change."""
    pending = set(conns)
    late: list[tuple[int, int, float]] = []
    while pending and time.monotonic() < changed_at + 10:
        for pid in sorted(pending):
            started = time.monotonic()
            conns[pid].request("GET", path)
            response = conns[pid].getresponse()
            response.read()
            if response.status == status:
                pending.discard(pid)
            elif started - changed_at > within:
                late.append((pid, response.status, started - changed_at))
        time.sleep(0.01)
    assert not pending, (f"workers {pending} never answered {path} with {status}", late[-5:])
    assert not late, late


@pytest.mark.timed
def test_additions_and_deletions_reach_every_worker(server):
    status, _ = server.get("/posts/added")
    assert status == 404
    conns = connections_to_every_worker(server)
    try:
        (server.posts / "added.md").write_text(post_text("Added"))
        _every_worker_answers(conns, "/posts/added", 200, time.monotonic())
        (server.posts / "added.md").unlink()
        _every_worker_answers(conns, "/posts/added", 404, time.monotonic())
    finally:
        for conn in conns.values():
            conn.close()


def test_serves_pages_assets_and_errors(shared_server):
    assert shared_server.get("/")[0] == 200
    assert shared_server.get("/posts/hello-world")[0] == 200
    status, body = shared_server.get("/assets/blog/cover.png")
    assert status == 200 and body.startswith(b"\x89PNG")
    assert shared_server.get("/static/css/site.css")[0] == 200
    assert shared_server.get("/nope")[0] == 404


@pytest.mark.parametrize(
    "target",
    [
        b"/posts/../../../../etc/passwd",
        b"/../../../../etc/passwd",
        b"/assets/../../../../etc/passwd",
        b"/assets/..%2f..%2f..%2f..%2fetc%2fpasswd",
        b"/assets/%252e%252e%252f%252e%252e%252fetc%252fpasswd",
        b"/assets\\..\\..\\..\\etc\\passwd",
        b"/posts/%00",
        b"/static/..%2f..%2fwsgi.py",
        b"/posts/" + b"x" * 3000,
        b"/page/-1",
    ],
)
def test_raw_hostile_requests_are_4xx(shared_server, target):
    status = shared_server.raw(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert 400 <= status < 500, (target, status)


def test_mounted_under_a_prefix(tmp_path):
    srv = Server(tmp_path, env={"SCRIPT_NAME": "/blog"})
    try:
        status, body = srv.get("/blog/")
        assert status == 200
        assert b'href="/blog/posts/' in body
        assert b'href="/blog/static/css/site.' in body
        assert b'href="/posts/' not in body
        assert srv.get("/blog/posts/hello-world")[0] == 200
        assert srv.get("/blog/assets/blog/cover.png")[0] == 200
    finally:
        srv.stop()


def test_access_log_lines_reach_stdout(shared_server):
    """gunicorn.conf.py's access logger writes the combined log format, one line a request."""
    conn = shared_server.connect()
    conn.request(
        "GET", "/posts/hello-world?from=test", headers={"User-Agent": 'probe "x"', "Referer": "http://r.example/"}
    )
    conn.getresponse().read()
    conn.close()
    deadline = time.monotonic() + 5
    wanted = '"GET /posts/hello-world?from=test HTTP/1.1" 200 '
    while time.monotonic() < deadline:
        log = shared_server.log_text()
        if wanted in log:
            break
        time.sleep(0.05)
    line = next(line for line in shared_server.log_text().splitlines() if wanted in line)
    assert line.startswith("127.0.0.1 - - [")
    assert line.endswith('"http://r.example/" "probe \\"x\\""')
