"""Real servers for tests: gunicorn started as the README deploys it, and redis-server."""

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

ROOT = Path(__file__).parent.parent
WORKERS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A gunicorn master started from the repository root with gunicorn.conf.py."""

    def __init__(
        self,
        tmp_path: Path,
        env: dict[str, str] | None = None,
        posts: Path | None = None,
        name: str = "gunicorn",
    ) -> None:
        """Serve a fresh copy of tests/data (or the given shared ``posts`` folder)."""
        self.posts = posts or tmp_path / "posts"
        if posts is None:
            shutil.copytree(DATA / "posts", self.posts)
        if not (tmp_path / "public").exists():
            shutil.copytree(DATA / "public", tmp_path / "public")
        self.port = free_port()
        self.prefix = (env or {}).get("SCRIPT_NAME", "")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        environ.update(FLASK_BLOG_POSTS_DIR=str(self.posts), FLASK_BLOG_PUBLIC_DIR=str(tmp_path / "public"))
        environ.update(env or {})
        self.log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115
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


class Redis:
    """A throwaway redis-server on a free loopback port (no persistence)."""

    def __init__(self, tmp_path: Path, port: int | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("redis-server is required in CI (apt-get install redis-server)")
            pytest.skip("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.dir = tmp_path
        self.port = port or free_port()
        self.proc: subprocess.Popen | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
            + ["--dir", str(self.dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
