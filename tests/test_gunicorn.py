"""The blog as operators run it: real gunicorn, several workers, HTTP over loopback."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import DATA
from .conftest import post_text

ROOT = Path(__file__).parent.parent
WORKERS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn master started from the repository root with gunicorn.conf.py."""

    def __init__(self, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.posts = tmp_path / "posts"
        shutil.copytree(DATA / "posts", self.posts)
        shutil.copytree(DATA / "public", tmp_path / "public")
        self.port = free_port()
        self.prefix = (env or {}).get("SCRIPT_NAME", "")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        environ.update(
            FLASK_BLOG_POSTS_DIR=str(self.posts),
            FLASK_BLOG_PUBLIC_DIR=str(tmp_path / "public"),
            **(env or {}),
        )
        self.log = open(tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "wsgi:app",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(WORKERS),
            ],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        self.wait_ready()

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.proc.returncode}")
            with contextlib.suppress(OSError):
                if self.get(self.prefix + "/healthz")[0] == 200 and len(self.worker_pids()) == WORKERS:
                    return
            time.sleep(0.1)
        raise RuntimeError("gunicorn did not become ready")

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = self.connect()
        try:
            conn.request("GET", path, headers=headers or {})
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def raw(self, request: bytes) -> int:
        """Send raw bytes; return the HTTP status of the answer."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(request)
            data = b""
            while b"\r\n" not in data:
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        return int(data.split(b" ", 2)[1])

    def per_worker(self, path: str) -> tuple[int, bytes]:
        """(worker pid, body of ``path``) read over one keep-alive connection, so one worker."""
        conn = self.connect()
        try:
            conn.request("GET", "/healthz")
            health = conn.getresponse()
            pid = json.loads(health.read())["pid"]
            conn.request("GET", path)
            return pid, conn.getresponse().read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture
def server(tmp_path):
    srv = Server(tmp_path)
    yield srv
    srv.stop()


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


def test_additions_and_deletions_reach_every_worker(server):
    status, _ = server.get("/posts/added")
    assert status == 404
    (server.posts / "added.md").write_text(post_text("Added"))
    time.sleep(1.2)  # one BLOG_RELOAD_INTERVAL
    assert all(server.get("/posts/added")[0] == 200 for _ in range(12))
    (server.posts / "added.md").unlink()
    time.sleep(1.2)
    assert all(server.get("/posts/added")[0] == 404 for _ in range(12))


def test_serves_pages_assets_and_errors(server):
    assert server.get("/")[0] == 200
    assert server.get("/posts/hello-world")[0] == 200
    status, body = server.get("/assets/blog/cover.png")
    assert status == 200 and body.startswith(b"\x89PNG")
    assert server.get("/static/css/site.css")[0] == 200
    assert server.get("/nope")[0] == 404


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
def test_raw_hostile_requests_are_4xx(server, target):
    status = server.raw(b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert 400 <= status < 500, (target, status)


def test_mounted_under_a_prefix(tmp_path):
    srv = Server(tmp_path, env={"SCRIPT_NAME": "/blog"})
    try:
        status, body = srv.get("/blog/")
        assert status == 200
        assert b'href="/blog/posts/' in body
        assert b'href="/blog/static/css/site.css' in body
        assert b'href="/posts/' not in body
        assert srv.get("/blog/posts/hello-world")[0] == 200
        assert srv.get("/blog/assets/blog/cover.png")[0] == 200
    finally:
        srv.stop()
