"""Our gunicorn servers on 127.0.0.1, and plain HTTP requests to them.

``Server`` starts one gunicorn master from the repository root (``wsgi:app`` as deployed, or
``bench.bare_app:app``) on a free port and stops it by its PID; ``fetch``/``probe`` ask it one
thing; ``on_each_worker`` makes every worker answer; ``rss_mb``/``pss_mb`` read its memory.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import runpy
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
GUNICORN = BIN / "gunicorn" if (BIN / "gunicorn").exists() else Path(sys.executable).parent / "gunicorn"
PYTHON = BIN / "python" if (BIN / "python").exists() else Path(sys.executable)
#: The only address load is ever sent to.
HOST = "127.0.0.1"
COMPRESSED = {"Accept-Encoding": "gzip, br"}
#: Environment the blog reads: cleared so every server runs with the defaults plus ours.
_APP_ENV_PREFIXES = ("FLASK_", "SCRIPT_NAME")
#: gunicorn.conf.py knobs: kept (and printed) when set, since they are deployment choices.
GUNICORN_ENV = ("WEB_CONCURRENCY", "GUNICORN_WORKER_CONNECTIONS")


class BenchError(RuntimeError):
    """Something that makes the figures untrustworthy: stop and say so."""


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# -- HTTP to 127.0.0.1 -----------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k.lower() == name.lower()), None)

    @property
    def wire_size(self) -> int:
        """Bytes of this response on the wire (status line, headers, body), as wrk counts them."""
        head = len(f"HTTP/1.1 {self.status} {self.reason}\r\n") + 2
        return head + sum(len(k) + len(v) + 4 for k, v in self.headers) + len(self.body)


def connect(port: int, timeout: float = 120.0) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(HOST, port, timeout=timeout)


def get(conn: http.client.HTTPConnection, path: str, headers: dict[str, str] | None = None) -> Reply:
    conn.request("GET", path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    return Reply(response.status, response.reason, response.getheaders(), body)


def fetch(port: int, path: str, headers: dict[str, str] | None = None) -> Reply:
    conn = connect(port)
    try:
        return get(conn, path, headers)
    finally:
        conn.close()


def probe(port: int, path: str, headers: dict[str, str], status: int, encoding: str | None) -> Reply:
    reply = fetch(port, path, headers)
    if reply.status != status:
        raise BenchError(f"GET {path} {headers}: status {reply.status}, expected {status}")
    if reply.header("Content-Encoding") != encoding:
        raise BenchError(f"GET {path} {headers}: Content-Encoding {reply.header('Content-Encoding')}, want {encoding}")
    return reply


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# -- gunicorn servers ------------------------------------------------------------------------


def server_env(extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_APP_ENV_PREFIXES)}
    env.update(extra)
    return env


def gunicorn_conf() -> dict[str, Any]:
    """gunicorn.conf.py's settings as our servers see them (we pass no --workers)."""
    return runpy.run_path(str(ROOT / "gunicorn.conf.py"))


class Server:
    """One gunicorn master started from the repository root; stopped by its PID."""

    #: Servers now running: their processes' CPU time is ours, the rest of the machine's is not.
    running: list[Server] = []  # noqa: RUF012

    def __init__(
        self,
        name: str,
        app: str,
        tmp: Path,
        *,
        env: dict[str, str] | None = None,
        config_flag: bool = False,
        ready_path: str = "/healthz",
    ) -> None:
        self.name = name
        self.app = app
        self.tmp = tmp
        self.env = server_env(env or {})
        self.config_flag = config_flag
        self.ready_path = ready_path
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = tmp / f"{name}.log"
        self._log: Any = None
        self.startup_s = float("nan")
        self.ready_reply: Reply | None = None

    def command(self) -> list[str]:
        cmd = [str(GUNICORN)]
        if self.config_flag:
            cmd += ["-c", "gunicorn.conf.py"]
        # The control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl): two masters
        # would unlink each other's. It is the management interface only, not the request path.
        return [*cmd, self.app, "--bind", f"{HOST}:{self.port}", "--control-socket", str(self.tmp / f"{self.name}.ctl")]

    def start(self, deadline: float = 180.0) -> float:
        """Launch and wait until ``ready_path`` answers 200; returns the seconds that took."""
        self.port = free_port()
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        started = time.perf_counter()
        self.proc = subprocess.Popen(
            self.command(),
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,  # gunicorn.conf.py sends the access log to stdout
            stderr=self._log,
            start_new_session=True,  # Ctrl-C reaches us; we stop it in order, by PID
        )
        Server.running.append(self)
        while True:
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name}: gunicorn exited with {self.proc.returncode}\n{self.log_tail()}")
            if time.perf_counter() - started > deadline:
                raise BenchError(f"{self.name}: {self.ready_path} not ready after {deadline:.0f}s\n{self.log_tail()}")
            try:
                reply = fetch(self.port, self.ready_path)
            except (ConnectionError, http.client.HTTPException, TimeoutError, OSError):
                time.sleep(0.005)
                continue
            if reply.status == 200:
                self.startup_s = time.perf_counter() - started
                self.ready_reply = reply
                return self.startup_s
            time.sleep(0.005)

    def workers(self) -> list[int]:
        """PIDs of the master's children (its workers)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        pid = self.proc.pid
        try:
            return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            found = []
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    with contextlib.suppress(OSError, IndexError, ValueError):
                        stat = (entry / "stat").read_text()
                        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                            found.append(int(entry.name))
            return found

    def pids(self) -> list[int]:
        return [self.proc.pid, *self.workers()] if self.proc else []

    def wait_booted(self, ready_dir: Path, deadline: float = 120.0) -> None:
        """Wait until every worker has the app (bench/bare_app.py leaves a file named by the PID
        of the process that imported it: each worker's, or the master's with ``preload_app``)."""
        expected = gunicorn_conf()["workers"]
        started = time.perf_counter()
        while self.proc and time.perf_counter() - started < deadline:
            workers = self.workers()
            preloaded = (ready_dir / str(self.proc.pid)).exists()
            if len(workers) >= expected and (preloaded or all((ready_dir / str(p)).exists() for p in workers)):
                return
            time.sleep(0.02)
        raise BenchError(f"{self.name}: not all {expected} workers booted after {deadline:.0f}s\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        """SIGTERM the master (graceful), wait; SIGKILL it and any worker left if it hangs."""
        if self.proc is None:
            return
        workers = self.workers()
        proc, self.proc = self.proc, None
        Server.running.remove(self)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                log(f"{self.name}: master {proc.pid} ignored SIGTERM; killing it")
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            for pid in workers:
                with contextlib.suppress(OSError):
                    if b"gunicorn" in Path(f"/proc/{pid}/cmdline").read_bytes():
                        os.kill(pid, signal.SIGKILL)
        if self._log is not None:
            self._log.close()

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _kb_field(path: str, name: str) -> float:
    """A ``Name:   123 kB`` field of a /proc file, in MB."""
    for line in Path(path).read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
    raise BenchError(f"no {name} in {path}")


def rss_mb(pid: int) -> float:
    """Resident set: every page the process maps, shared ones (forked from the master) included."""
    return _kb_field(f"/proc/{pid}/status", "VmRSS")


def pss_mb(pid: int) -> float:
    """Proportional set: shared pages divided among the processes sharing them."""
    try:
        return _kb_field(f"/proc/{pid}/smaps_rollup", "Pss")
    except OSError:
        return float("nan")


Step = tuple[str, dict[str, str], int]  # path, request headers, expected status


def on_each_worker(server: Server, steps: list[Step], deadline: float = 120.0) -> dict[int, list[float]]:
    """Run ``steps`` on fresh connections until every worker has answered them once.

    Each connection runs the steps (timed), then asks ``/healthz`` on the same keep-alive
    connection which worker it was. Returns ``{worker pid: [seconds per step]}`` for the
    first connection each worker served, i.e. each worker's first answer to the steps.
    Workers still booting are waited for (gunicorn forks them one by one).
    """
    expected = gunicorn_conf()["workers"]
    seen: dict[int, list[float]] = {}
    begun = time.perf_counter()
    while len(seen) < expected:
        if time.perf_counter() - begun > deadline:
            raise BenchError(f"{server.name}: only {len(seen)} of {expected} workers answered in {deadline:.0f}s")
        conn = connect(server.port)
        try:
            times = []
            for path, headers, status in steps:
                started = time.perf_counter()
                reply = get(conn, path, headers)
                times.append(time.perf_counter() - started)
                if reply.status != status:
                    raise BenchError(f"{server.name}: GET {path} answered {reply.status}, expected {status}")
            pid = json.loads(get(conn, "/healthz").body)["pid"]
        finally:
            conn.close()
        if pid in seen:
            time.sleep(0.01)  # let a booting worker reach its accept loop
        seen.setdefault(pid, times)
    return seen
