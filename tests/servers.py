"""Real servers for tests: gunicorn started as the README deploys it, redis-server, a private
nginx running deploy/nginx.conf, and a keep-alive load client."""

from __future__ import annotations

import contextlib
import grp
import gzip
import http.client
import itertools
import json
import math
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import brotli
import pytest

from blogapp.files import paths
from tests.conftest import DATA

ROOT = Path(__file__).parent.parent
WORKERS = 3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def status_of(sock: socket.socket) -> int:
    """The status code of the answer arriving on ``sock`` (reads up to its first line end)."""
    data = b""
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return int(data.split(b" ", 2)[1])


def copy_project(dest: Path) -> Path:
    """The parts of the repository that gunicorn serves from (code, templates, static files,
    the entry point and settings), copied to ``dest``, for tests that change them."""
    for folder in ("blogapp", "templates", "static"):
        shutil.copytree(ROOT / folder, dest / folder, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("wsgi.py", "gunicorn.conf.py", "requirements.txt"):
        shutil.copy2(ROOT / name, dest / name)
    return dest


class Server:
    """A gunicorn master started from the repository root with gunicorn.conf.py."""

    def __init__(
        self,
        tmp_path: Path,
        env: dict[str, str] | None = None,
        posts: Path | None = None,
        name: str = "gunicorn",
        workers: int = WORKERS,
        root: Path = ROOT,
        port: int | None = None,
    ) -> None:
        """Serve a fresh copy of tests/data (or the given shared ``posts`` folder), with the
        code and templates of ``root`` (the repository, or a copy made by ``copy_project``)."""
        self.tmp_path = tmp_path
        self.posts = posts or tmp_path / "posts"
        if posts is None:
            shutil.copytree(DATA / "posts", self.posts)
        if not (tmp_path / "public").exists():
            shutil.copytree(DATA / "public", tmp_path / "public")
        self.port = port or free_port()
        self.prefix = (env or {}).get("SCRIPT_NAME", "")
        environ = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        environ.update(FLASK_BLOG_POSTS_DIR=str(self.posts), FLASK_BLOG_PUBLIC_DIR=str(tmp_path / "public"))
        environ.update(FLASK_BLOG_IMAGE_CACHE_DIR=str(tmp_path / "image-cache"))
        environ.update(FLASK_BLOG_STATE_DIR=str(tmp_path / "state"))
        self.workers = workers
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
                str(workers),
            ],
            cwd=root,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        try:
            self.wait_ready()
        except BaseException:
            self.stop()  # never leave a half-started server behind
            raise

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.proc.returncode}")
            with contextlib.suppress(OSError):
                if self.get(self.prefix + "/healthz")[0] == 200 and len(self.worker_pids()) == self.workers:
                    self._wait_for_dates()
                    return
            time.sleep(0.02)
        raise RuntimeError("gunicorn did not become ready")

    def _wait_for_dates(self) -> None:
        """Wait out the second of the newest change the server started with (the build's first
        serving, the posts' files): within it pages go out undated, under a provisional ETag
        (blogapp/pagecache/lastmodified.py), and tests that count revalidations expect the usual ones."""
        newest = paths.newest_mtime([self.posts, *self.posts.glob("*.md")])
        dates = self.tmp_path / "state" / "build-dates.json"
        with contextlib.suppress(OSError, ValueError):
            newest = max(newest, *json.loads(dates.read_text()).values())
        time.sleep(max(0.0, math.ceil(newest) - time.time() + 0.01))

    def worker_pids(self) -> set[int]:
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        return {int(pid) for pid in children}

    def connect(self) -> http.client.HTTPConnection:
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def get_with_headers(self, path: str) -> tuple[int, dict[str, str]]:
        """Status and response headers of one GET."""
        conn = self.connect()
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            return response.status, dict(response.getheaders())
        finally:
            conn.close()

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
            return status_of(sock)

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

    def on_every_worker(self, path: str, tries: int = 200) -> None:
        """GET ``path`` until every worker has answered it (the kernel spreads new connections
        unevenly: a fixed number of requests may miss one)."""
        pending = self.worker_pids()
        for _ in range(tries):
            pending.discard(self.per_worker(path)[0])
            if not pending:
                return
        raise AssertionError(f"workers {pending} never answered {path}")

    def probe(self, path: str, timeout: float = 30) -> tuple[int, dict, int, bytes]:
        """(worker pid, its /healthz, status and body of ``path``), both read by one worker."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request("GET", self.prefix + "/healthz")
            health = json.loads(conn.getresponse().read())
            conn.request("GET", path)
            response = conn.getresponse()
            return health["pid"], health, response.status, response.read()
        finally:
            conn.close()

    def log_text(self) -> str:
        """What gunicorn has written to stdout and stderr so far."""
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        """Quick shutdown (SIGQUIT: workers exit at once). A test's teardown is not what it
        tests, and a gevent worker notices the graceful SIGTERM only at its next 1 s tick."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
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


@dataclass
class Outcome:
    """One request of a load run: when it started and ended, and its status or error."""

    started: float
    ended: float
    path: str
    status: int | None  # None: failed at the connection level (see ``error``)
    error: str | None = None


class Load:
    """Client threads sending GETs over keep-alive connections until stopped, like browsers.

    Each thread keeps one ``http.client`` connection (reopened after a ``Connection: close``
    answer, or after an error, which is recorded and never retried) and cycles through
    ``paths``. Use as a context manager; ``outcomes`` lists every request, in no set order.
    """

    def __init__(self, port: int, paths: list[str], threads: int = 4, timeout: float = 30) -> None:
        self.port = port
        self.paths = paths
        self.timeout = timeout
        self.outcomes: list[Outcome] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout + 5)

    def _run(self, offset: int) -> None:
        conn: http.client.HTTPConnection | None = None
        for i in itertools.count(offset):
            if self._stop.is_set():
                break
            path = self.paths[i % len(self.paths)]
            started = time.monotonic()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                self.outcomes.append(Outcome(started, time.monotonic(), path, response.status))
            except (OSError, http.client.HTTPException) as exc:
                self.outcomes.append(Outcome(started, time.monotonic(), path, None, type(exc).__name__))
                if conn is not None:
                    conn.close()
                conn = None
        if conn is not None:
            conn.close()

    def server_errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is not None and o.status >= 500]

    def failures(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status is None]


#: The site file operators install (docs/operations.md), rendered by ``render_nginx_site``.
NGINX_SITE = ROOT / "deploy" / "nginx.conf"
NGINX_VARIABLES = ("BLOG_LISTEN", "BLOG_SERVER_NAME", "BLOG_UPSTREAM", "BLOG_ROOT", "BLOG_PREFIX", "BLOG_CACHE_DIR")


def render_nginx_site(**values: str) -> str:
    """deploy/nginx.conf with its placeholders filled as envsubst fills them (``${BLOG_X}`` and
    ``$BLOG_X``), every one of NGINX_VARIABLES given and used, none left over."""
    text = NGINX_SITE.read_text()
    assert set(values) == set(NGINX_VARIABLES), sorted(values)
    for name, value in values.items():
        pattern = re.compile(r"\$(?:\{" + name + r"\}|" + name + r"(?![A-Za-z0-9_]))")
        assert pattern.search(text), f"deploy/nginx.conf no longer uses ${name}"
        text = pattern.sub(value.replace("\\", "\\\\"), text)
    leftover = re.search(r"\$\{?BLOG_\w*", text)
    assert leftover is None, f"deploy/nginx.conf has a placeholder not in NGINX_VARIABLES: {leftover}"
    return text


class Nginx:
    """A private nginx (own prefix, temp folders, logs and pid file under ``tmp_path``,
    ``daemon off``) serving ``site`` (a rendered site file that listens on 127.0.0.1:``port``,
    e.g. a ``free_port()``) inside a minimal main configuration."""

    def __init__(self, tmp_path: Path, site: str, port: int) -> None:
        binary = shutil.which("nginx") or next(
            (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if os.access(p, os.X_OK)), None
        )
        if binary is None:
            if os.environ.get("CI"):
                pytest.fail("nginx is required in CI (apt-get install nginx)")
            pytest.skip("nginx is not installed (apt-get install nginx)")
        self.dir = tmp_path / "nginx"
        self.dir.mkdir()
        self.port = port
        self.site = site
        (self.dir / "blog.conf").write_text(site)
        mime = Path("/etc/nginx/mime.types")
        types = f"include {mime};" if mime.exists() else _MINIMAL_TYPES
        # As root, nginx's workers would drop to "nobody", who cannot enter pytest's 0700
        # temporary folders: run them as ourselves.
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};" if os.getuid() == 0 else ""
        d = self.dir
        (d / "nginx.conf").write_text(
            f"""{user}
daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
    {types}
    default_type application/octet-stream;
    access_log {d}/access.log;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/blog.conf;
}}
"""
        )
        args = [binary, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t rejected the configuration:\n{check.stderr}\n{site}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(d / 'error.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return
            time.sleep(0.05)
        self.proc.kill()
        self.proc.wait()
        raise RuntimeError("nginx did not start listening")

    def request(
        self, path: str, headers: dict[str, str] | None = None, method: str = "GET"
    ) -> http.client.HTTPResponse:
        """One request on a new connection; the response is read (``.data`` holds the body)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            conn.request(method, path, headers=headers or {})
            response = conn.getresponse()
            response.data = response.read()  # type: ignore[attr-defined]
            return response
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # fast shutdown (SIGQUIT waits for idle keep-alives)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


_MINIMAL_TYPES = """types {
        text/html html; text/css css; application/javascript js; image/svg+xml svg;
        image/png png; image/jpeg jpg jpeg; application/json json;
    }"""


# -- gunicorn behind the shipped nginx config (tests/test_nginx.py, tests/test_edge.py) --------

#: The server name the private nginx is rendered with.
NGINX_HOST = "blog.example.test"
#: What a browser sends it.
NGINX_BROWSER = {"Host": NGINX_HOST, "Accept-Encoding": "gzip, deflate, br"}


def _nginx_site(upstream_port: int, listen_port: int, cache_dir: str, prefix: str = "") -> str:
    return render_nginx_site(
        BLOG_LISTEN=f"127.0.0.1:{listen_port}",
        BLOG_SERVER_NAME=NGINX_HOST,
        BLOG_UPSTREAM=f"127.0.0.1:{upstream_port}",
        BLOG_ROOT=str(ROOT),
        BLOG_PREFIX=prefix,
        BLOG_CACHE_DIR=cache_dir,
    )


def start_nginx_stack(tmp_path: Path, prefix: str = "", root: Path = ROOT) -> tuple[Server, Nginx]:
    """gunicorn as deployed (from ``root``) behind a private nginx rendering deploy/nginx.conf
    (cache in tmp_path/cache)."""
    env = {"FLASK_BLOG_PROXY_COUNT": "1"}
    if prefix:
        env["SCRIPT_NAME"] = prefix
    gunicorn = Server(tmp_path, env=env, root=root)
    try:
        port = free_port()
        (tmp_path / "cache").mkdir()
        nginx = Nginx(tmp_path, _nginx_site(gunicorn.port, port, str(tmp_path / "cache"), prefix), port)
    except BaseException:
        gunicorn.stop()
        raise
    return gunicorn, nginx


@contextlib.contextmanager
def nginx_stack(tmp_path: Path, prefix: str = "") -> Iterator[tuple[Server, Nginx]]:
    """``start_nginx_stack``, stopping both when done."""
    gunicorn, nginx = start_nginx_stack(tmp_path, prefix)
    try:
        yield gunicorn, nginx
    finally:
        nginx.stop()
        gunicorn.stop()


def decoded_text(response: http.client.HTTPResponse) -> str:
    """A response's body (``.data``, as Nginx.request keeps it) decoded from br/gzip."""
    encoding = response.getheader("Content-Encoding")
    data = response.data
    if encoding == "br":
        data = brotli.decompress(data)
    elif encoding == "gzip":
        data = gzip.decompress(data)
    return data.decode()
