"""A private nginx for the edge benchmark: deploy/nginx.conf rendered with its placeholders in
front of our gunicorn, and a second server sending one page's bytes from a file.

Its own prefix, temp folders, pid file and logs under the run's temp folder; ``worker_processes
auto`` and sendfile as Debian ships them; started and stopped by its own PID. Only the inner
server's requests (the edge cache's one way to gunicorn) are logged, so ``upstream_requests()``
counts what reached gunicorn. ``Target`` is what bench/load.py's wrk() needs of a server.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

from bench.server import HOST
from bench.server import ROOT
from bench.server import BenchError
from bench.server import Reply
from bench.server import Server
from bench.server import fetch
from bench.server import free_port

SITE = ROOT / "deploy" / "nginx.conf"
SERVER_NAME = "blog.bench.test"
#: Headers nginx sets itself on both sides; the others of the page are copied to the file's.
_OWN_HEADERS = {"date", "server", "content-length", "connection", "keep-alive", "x-cache-status", "content-type"}


def render_site(values: dict[str, str]) -> str:
    """deploy/nginx.conf with its ``${BLOG_X}`` / ``$BLOG_X`` placeholders filled, as envsubst does."""
    text = SITE.read_text()
    for name, value in values.items():
        text = re.sub(r"\$(?:\{" + name + r"\}|" + name + r"(?![A-Za-z0-9_]))", lambda _m, v=value: v, text)
    leftover = re.search(r"\$\{?BLOG_\w*", text)
    if leftover:
        raise BenchError(f"deploy/nginx.conf has a placeholder the bench does not fill: {leftover[0]}")
    return text


def _quoted(value: str) -> str:
    if "$" in value:
        raise BenchError(f"a header value with a $ cannot be copied into nginx.conf: {value!r}")
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Target:
    """What bench/load.py's wrk() needs of a server: a port and the processes doing the work."""

    def __init__(self, name: str, port: int, nginx: Nginx) -> None:
        self.name = name
        self.port = port
        self.nginx = nginx

    def pids(self) -> list[int]:
        return self.nginx.pids()

    def workers(self) -> list[int]:
        return []  # nginx's workers share one listening socket; no per-worker spread to judge


class Nginx:
    """A private nginx: the rendered site on one port, the page as a file on another."""

    def __init__(self, tmp: Path, upstream_port: int) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not os.access(binary, os.X_OK):
            raise BenchError("nginx not found (apt-get install nginx)")
        self.binary = binary
        self.dir = tmp / "nginx"
        (self.dir / "cache").mkdir(parents=True)
        (self.dir / "files").mkdir()
        self.port = free_port()
        self.static_port = free_port()
        self.upstream_port = upstream_port
        self.upstream_log = self.dir / "upstream.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.name = "nginx"

    def start(self, page: Reply) -> None:
        """Start serving; the file server sends ``page``'s body with its headers."""
        d = self.dir
        (d / "files" / "post").write_bytes(page.body)
        site = render_site(
            {
                "BLOG_LISTEN": f"{HOST}:{self.port}",
                "BLOG_SERVER_NAME": SERVER_NAME,
                "BLOG_UPSTREAM": f"{HOST}:{self.upstream_port}",
                "BLOG_ROOT": str(ROOT),
                "BLOG_PREFIX": "",
                "BLOG_CACHE_DIR": str(d / "cache"),
            }
        )
        # Only the inner server's requests (each one reached gunicorn) are logged: its listen
        # line gains an access_log, so the edge's hits evaluate no log condition at all.
        inner = f"listen unix:{d / 'cache'}/edge.sock;"
        if site.count(inner) != 1:
            raise BenchError("deploy/nginx.conf has no inner server on BLOG_CACHE_DIR/edge.sock")
        site = site.replace(inner, f"{inner}\n    access_log {self.upstream_log} combined;")
        (d / "blog.conf").write_text(site)
        copied = "\n".join(
            f"            add_header {name} {_quoted(value)};"
            for name, value in page.headers
            if name.lower() not in _OWN_HEADERS
        )
        user = f"user {pwd.getpwuid(0).pw_name} {grp.getgrgid(0).gr_name};" if os.getuid() == 0 else ""
        (d / "nginx.conf").write_text(
            f"""{user}
daemon off;
worker_processes auto;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    access_log off;
    include {d}/blog.conf;
    server {{
        listen {HOST}:{self.static_port};
        access_log off;
        location = /post {{
            alias {d}/files/post;
            open_file_cache max=1024 inactive=60s;  # as the edge's location has
            default_type {_quoted(page.header("Content-Type") or "text/html")};
{copied}
        }}
    }}
}}
"""
        )
        args = [self.binary, "-p", str(d), "-c", str(d / "nginx.conf"), "-e", str(d / "error.log")]
        check = subprocess.run([*args, "-t"], capture_output=True, text=True)
        if check.returncode != 0:
            raise BenchError(f"nginx -t rejected the configuration:\n{check.stderr}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        Server.running.append(self)  # type: ignore[arg-type]  # its CPU is ours in bench/load.py
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                if fetch(self.static_port, "/post").status == 200:
                    return
            time.sleep(0.05)
        raise BenchError(f"nginx did not start: {(d / 'error.log').read_text()}")

    def pids(self) -> list[int]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        pid = self.proc.pid
        with contextlib.suppress(OSError):
            return [pid, *(int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split())]
        return [pid]

    def upstream_requests(self) -> int:
        with contextlib.suppress(OSError):
            return self.upstream_log.read_bytes().count(b"\n")
        return 0

    def stop(self) -> None:
        if self in Server.running:
            Server.running.remove(self)  # type: ignore[arg-type]
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
