"""The blog's benchmark: one command, every figure and ratio from one run.

    .venv/bin/python bench/run.py [--duration 5] [--connections 16] [--sizes 62,1000,10000] [--quick]

1. Throughput: the blog under gunicorn exactly as deployed (``gunicorn wsgi:app`` from the
   repository root, so gunicorn.conf.py applies; only ``--bind`` is changed) against a bare
   Flask route sending the same bytes under the same settings (bench/bare_app.py), with wrk.
2. Scale: for each N, N synthetic posts (bench/make_posts.py): in-process markdown render
   time, start-up, first listing on each worker, warm listing throughput, per-worker RSS and
   the cost of change detection (rescans every second versus never).

Load goes to 127.0.0.1 only; every server is stopped by its own PID. See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import http.client
import json
import math
import os
import platform
import re
import resource
import runpy
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
GUNICORN = BIN / "gunicorn" if (BIN / "gunicorn").exists() else Path(sys.executable).parent / "gunicorn"
PYTHON = BIN / "python" if (BIN / "python").exists() else Path(sys.executable)
WRK = shutil.which("wrk") or "/usr/bin/wrk"
#: The only address load is ever sent to.
HOST = "127.0.0.1"
POST_PATH = "/posts/production-rag-with-postgres-and-pgvector"
COMPRESSED = {"Accept-Encoding": "gzip, br"}
#: Environment the blog reads: cleared so every server runs with the defaults plus ours.
_APP_ENV_PREFIXES = ("FLASK_", "SCRIPT_NAME")
#: gunicorn.conf.py knobs: kept (and printed) when set, since they are deployment choices.
_GUNICORN_ENV = ("WEB_CONCURRENCY", "GUNICORN_WORKER_CONNECTIONS")
TARGET_N = 10_000
#: A wrk run during which other processes used more than this % of the CPUs is repeated.
DISTURBED_PCT = 10.0

if str(ROOT) not in sys.path:  # bench.make_posts and blogapp, however this file is started
    sys.path.insert(0, str(ROOT))


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


# -- wrk -----------------------------------------------------------------------------------

_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_UNITS_B = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


@dataclass
class Load:
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    seconds: float
    bytes_per_request: float
    other_cpu_pct: float = 0.0  # share of all CPUs used by processes not ours during the run
    conns: list[int] = field(default_factory=list)  # wrk's connections held by each worker, most first
    cpu_us: float = float("nan")  # CPU time of the server's processes per request, in microseconds

    @property
    def busiest(self) -> int:
        return self.conns[0] if self.conns else 0


def _ms(value: str, unit: str) -> float:
    return float(value) * _UNITS_S[unit] * 1000


def parse_wrk(out: str) -> Load:
    """Requests/sec, latency percentiles and volume from ``wrk --latency``; errors raise."""
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if errors and any(int(n) for n in errors.groups()):
        raise BenchError(f"wrk reported socket errors ({errors.group(0)}):\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad and int(bad.group(1)):
        raise BenchError(f"wrk saw {bad.group(1)} responses with status >= 400:\n{out}")
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h), ([\d.]+)([KMGT]?B) read", out)
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p50 = re.search(r"^\s+50%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.M)
    if not (total and rps and p50 and p99):
        raise BenchError(f"cannot parse wrk output:\n{out}")
    requests = int(total.group(1))
    if requests == 0:
        raise BenchError(f"wrk completed no request:\n{out}")
    return Load(
        rps=float(rps.group(1)),
        p50_ms=_ms(*p50.groups()),
        p99_ms=_ms(*p99.groups()),
        requests=requests,
        seconds=_ms(total.group(2), total.group(3)) / 1000,
        bytes_per_request=float(total.group(4)) * _UNITS_B[total.group(5)] / requests,
    )


def wrk(
    server: Server,
    path: str,
    args: argparse.Namespace,
    headers: dict[str, str] | None = None,
    *,
    duration: float | None = None,
    expect: Reply | None = None,
) -> Load:
    """Load ``http://127.0.0.1:port/path`` with wrk; check every answer looked like ``expect``.

    wrk counts only statuses >= 400 as bad, so the average bytes per response is compared
    with the probe's: a 200 in a 304 run, or an identity body in a brotli run, shows there.
    """
    while True:
        load = _wrk_once(server, path, args, headers, duration=duration, expect=expect)
        if load.other_cpu_pct > DISTURBED_PCT:
            why = f"other processes took {load.other_cpu_pct:.0f}% of the CPU"
        elif len(load.conns) > 1 and load.conns[0] >= SKEWED * sum(load.conns):
            why = f"one worker held {load.conns[0]} of {sum(load.conns)} connections"
        else:
            return load
        if args.repeats_left <= 0:
            log(f"  {why} during that run; no repeat left: keeping it")
            return load
        args.repeats_left -= 1
        args.repeated.append(why.split(" took ")[0].split(" held ")[0])
        log(f"  {why} during that run: repeating it")


#: A run in which one worker holds this share of wrk's connections (14 of 16) measures one
#: process, not the server: the others have too few connections to keep busy.
SKEWED = 7 / 8


def _wrk_once(
    server: Server,
    path: str,
    args: argparse.Namespace,
    headers: dict[str, str] | None,
    *,
    duration: float | None,
    expect: Reply | None,
) -> Load:
    seconds = max(1, round(duration or args.duration))
    cmd = [WRK, f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds}s", "--latency", "--timeout", "10s"]
    for name, value in (headers or {}).items():
        cmd += ["-H", f"{name}: {value}"]
    cmd.append(f"http://{HOST}:{server.port}{path}")
    server_pids = set(server.pids())
    before = cpu_sample()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(min(1.0, seconds / 2))
        conns = connections_per_worker(server)
        stdout, stderr = proc.communicate(timeout=seconds + 60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    after = cpu_sample()
    if proc.returncode != 0:
        raise BenchError(f"wrk failed ({proc.returncode}): {stderr}{stdout}")
    load = parse_wrk(stdout)
    load.other_cpu_pct = other_cpu_pct(before, after)
    load.conns = conns
    server_cpu = sum(cpu - before.ours.get(pid, 0.0) for pid, cpu in after.ours.items() if pid in server_pids)
    load.cpu_us = server_cpu / load.requests * 1e6
    if expect is not None:
        ratio = load.bytes_per_request / expect.wire_size
        if not 0.9 <= ratio <= 1.1:
            raise BenchError(
                f"GET {path} {headers or ''}: wrk read {load.bytes_per_request:.0f} bytes per response, "
                f"the probe answer ({expect.status}) is {expect.wire_size}: some answers differed"
            )
    return load


def connections_per_worker(server: Server) -> list[int]:
    """How wrk's connections are spread over the workers (each worker is one Python process:
    a run where one of them holds all connections is a much slower run)."""
    port = f":{server.port:04X}"
    inodes = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if fields[1].endswith(port) and fields[3] == "01":  # local port, ESTABLISHED
                inodes.add(f"socket:[{fields[9]}]")
    counts = []
    for pid in server.workers():
        held = 0
        with contextlib.suppress(OSError):
            for fd in os.scandir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    held += os.readlink(fd.path) in inodes
        counts.append(held)
    return sorted(counts, reverse=True)


_CLK = os.sysconf("SC_CLK_TCK")


@dataclass
class CpuSample:
    wall: float
    machine_busy: float  # seconds of CPU busy (or stolen) on the whole machine
    ours: dict[int, float]  # seconds of CPU per process of our servers
    self_and_children: float  # this process plus reaped children (wrk)


def _proc_cpu(pid: int) -> float:
    with contextlib.suppress(OSError, IndexError, ValueError):
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _CLK  # utime, stime
    return 0.0


def cpu_sample() -> CpuSample:
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuSample(
        wall=time.perf_counter(),
        machine_busy=(user + nice + system + irq + softirq + steal) / _CLK,
        ours={pid: _proc_cpu(pid) for server in Server.running for pid in server.pids()},
        self_and_children=me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime,
    )


def other_cpu_pct(before: CpuSample, after: CpuSample) -> float:
    """Percent of all CPUs that processes other than ours used between the two samples."""
    ours = after.self_and_children - before.self_and_children
    ours += sum(max(0.0, cpu - before.ours.get(pid, 0.0)) for pid, cpu in after.ours.items())
    capacity = (after.wall - before.wall) * (os.cpu_count() or 1)
    return max(0.0, after.machine_busy - before.machine_busy - ours) / capacity * 100


def probe(port: int, path: str, headers: dict[str, str], status: int, encoding: str | None) -> Reply:
    reply = fetch(port, path, headers)
    if reply.status != status:
        raise BenchError(f"GET {path} {headers}: status {reply.status}, expected {status}")
    if reply.header("Content-Encoding") != encoding:
        raise BenchError(f"GET {path} {headers}: Content-Encoding {reply.header('Content-Encoding')}, want {encoding}")
    return reply


# -- 1. throughput ---------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    server: str  # "blog" or "bare"
    path: str
    headers: dict[str, str]
    status: int = 200
    encoding: str | None = None
    target: float | None = None  # minimum x bare
    loads: list[Load] = field(default_factory=list)  # one per round
    ratio: float = float("nan")  # median req/s / the bare route's median req/s

    @property
    def rps(self) -> float:
        return statistics.median(x.rps for x in self.loads)

    @property
    def cpu_us(self) -> float:
        return statistics.median(x.cpu_us for x in self.loads)


def throughput(args: argparse.Namespace, tmp: Path) -> list[Scenario]:
    blog = Server("blog", "wsgi:app", tmp)
    body_file = tmp / "post.html"
    ready_dir = tmp / "bare-ready"
    ready_dir.mkdir()
    bare = Server(
        "bare",
        "bench.bare_app:app",
        tmp,
        env={"BENCH_BODY_FILE": str(body_file), "BENCH_READY_DIR": str(ready_dir)},
        config_flag=True,
        ready_path="/bare",
    )
    with blog, bare:
        log(f"throughput: starting the blog (gunicorn wsgi:app) on {HOST}")
        blog.start()
        post = probe(blog.port, POST_PATH, {}, 200, None)
        etag = post.header("ETag")
        if not etag:
            raise BenchError(f"{POST_PATH} has no ETag")
        body_file.write_bytes(post.body)
        log("throughput: starting the bare route (gunicorn -c gunicorn.conf.py bench.bare_app:app)")
        bare.start()
        bare.wait_booted(ready_dir)
        if fetch(bare.port, "/bare").body != post.body:
            raise BenchError("the bare route does not send the post page's bytes")

        bare_sc = Scenario("bare route (identity)", "bare", "/bare", {})
        scenarios = [
            bare_sc,
            Scenario("post (identity)", "blog", POST_PATH, {}, target=1.2),
            Scenario("post (gzip, br)", "blog", POST_PATH, COMPRESSED, encoding="br", target=1.2),
            Scenario("post 304 (If-None-Match)", "blog", POST_PATH, {"If-None-Match": etag}, 304, target=1.3),
            Scenario("home / (identity)", "blog", "/", {}, target=1.2),
            Scenario("home / (gzip, br)", "blog", "/", COMPRESSED, encoding="br", target=1.2),
            Scenario("/feed.xml (gzip, br)", "blog", "/feed.xml", COMPRESSED, encoding="br", target=1.2),
        ]
        # Warm: every cached path on every worker (an entry holds all encodings); the bare route.
        on_each_worker(blog, [(p, {}, 200) for p in dict.fromkeys(s.path for s in scenarios if s.server == "blog")])
        for _ in range(10):
            fetch(bare.port, "/bare")
        for r in range(args.rounds):
            # Each round runs every scenario once, starting one further along, so a slow
            # stretch of the machine (or an unlucky spread of connections) hits all alike.
            shift = r % len(scenarios)
            for sc in scenarios[shift:] + scenarios[:shift]:
                server = blog if sc.server == "blog" else bare
                expect = probe(server.port, sc.path, sc.headers, sc.status, sc.encoding)
                sc.loads.append(wrk(server, sc.path, args, sc.headers, expect=expect))
                log(f"  round {r + 1}: {sc.name:26} {sc.loads[-1].rps:7,.0f} req/s  p99 {sc.loads[-1].p99_ms:6.2f} ms")
    for sc in scenarios:
        sc.ratio = sc.rps / bare_sc.rps
    return scenarios


# -- 2. scale --------------------------------------------------------------------------------


@dataclass
class ScaleResult:
    n: int
    generation_s: float
    inproc: dict[str, Any]  # from in_process(): parse/render samples, full parse, rescans
    startup_s: float
    first_listing_s: dict[int, float]
    listings: list[Load]  # wrk on / : one before the RSS reading, one more in each later round
    rss_mb: dict[int, float]
    pss_mb: dict[int, float]
    master_rss_mb: float
    rescans: list[Load] = field(default_factory=list)
    no_rescans: list[Load] = field(default_factory=list)
    #: wrk on / of a server over the smallest N, paired with the last listings (larger N only)
    reference_n: int | None = None
    reference_listings: list[Load] = field(default_factory=list)

    @property
    def first_max(self) -> float:
        return max(self.first_listing_s.values())

    @property
    def first_median(self) -> float:
        return statistics.median(self.first_listing_s.values())

    @property
    def change_cost(self) -> float:
        """1 - req/s rescanning every second / req/s never rescanning: median of the paired rounds."""
        return 1 - statistics.median(a.rps / b.rps for a, b in zip(self.rescans, self.no_rescans, strict=True))

    @property
    def loads(self) -> list[Load]:
        return [*self.listings, *self.rescans, *self.no_rescans, *self.reference_listings]

    @property
    def listing_vs_reference(self) -> float | None:
        """Warm listing req/s ÷ the smallest N's, median of the rounds paired in time."""
        if not self.reference_listings:
            return None
        pairs = zip(self.listings[-len(self.reference_listings) :], self.reference_listings, strict=True)
        return statistics.median(a.rps / b.rps for a, b in pairs)

    @property
    def listing_rps(self) -> float:
        return statistics.median(x.rps for x in self.listings)

    @property
    def listing_p99(self) -> float:
        return statistics.median(x.p99_ms for x in self.listings)

    @property
    def rescan_share(self) -> float:
        """CPU share change detection takes: workers x (one check / interval, plus one full
        look / FULL_LOOK_EVERY when inotify watches) / cores."""
        per_second = statistics.median(self.inproc["rescan_s"]) / self.inproc["interval_s"]
        if self.inproc.get("full_look_every_s"):
            per_second += statistics.median(self.inproc["full_look_s"]) / self.inproc["full_look_every_s"]
        return gunicorn_conf()["workers"] * per_second / (os.cpu_count() or 1)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))]


def in_process(posts_dir: Path, sample: int) -> dict[str, Any]:
    """Run in a child Python (``run.py --in-process DIR``): the blog's own code, no HTTP.

    - parse and render each of the first ``sample`` posts (sorted by name), nothing cached;
    - build the app on the folder (BLOG_RELOAD_INTERVAL=0) and time its first full read, then
      unchanged rescans: the work every worker does once per BLOG_RELOAD_INTERVAL.
    """
    from zoneinfo import ZoneInfo

    from blogapp import create_app
    from blogapp.config import DEFAULTS
    from blogapp.markup import render_markdown
    from blogapp.posts import parse_post
    from blogapp.watch import FULL_LOOK_EVERY

    # First use builds the renderer and imports the three Pygments lexers: not per post.
    render_markdown("# t\n\n```python\nx = 1\n```\n\n```js\nx\n```\n\n```bash\nx\n```\n\n| a |\n|---|\n| b |\n")
    utc = ZoneInfo("UTC")
    parse, render = [], []
    for path in sorted(posts_dir.glob("*.md"))[:sample]:
        text = path.read_text(encoding="utf-8")
        started = time.perf_counter()
        post = parse_post(text, str(path), render_markdown, slug=path.stem, timezone=utc, default_author="x")
        parse.append(time.perf_counter() - started)
        body = post.body
        started = time.perf_counter()
        render_markdown(body)
        render.append(time.perf_counter() - started)

    store = create_app({"BLOG_POSTS_DIR": str(posts_dir), "BLOG_RELOAD_INTERVAL": 0}).extensions["blog_content"]
    started = time.perf_counter()
    posts = len(store.current_view().posts)
    full_read = time.perf_counter() - started
    rescans = []
    for _ in range(15):
        started = time.perf_counter()
        store.current_view()
        rescans.append(time.perf_counter() - started)
    # With a watch, a worker still stats every file once per FULL_LOOK_EVERY (a safety look).
    full_looks = []
    for _ in range(5):
        started = time.perf_counter()
        store._rescan(store.snapshot())
        full_looks.append(time.perf_counter() - started)
    return {
        "parse_s": parse,
        "render_s": render,
        "posts": posts,
        "full_read_s": full_read,
        "rescan_s": rescans,
        "interval_s": float(DEFAULTS["BLOG_RELOAD_INTERVAL"]),
        "full_look_s": full_looks,
        "full_look_every_s": FULL_LOOK_EVERY if store._watch is not None else None,
    }


def run_in_process(posts_dir: Path, sample: int) -> dict[str, Any]:
    cmd = [str(PYTHON), str(Path(__file__).resolve()), "--in-process", str(posts_dir), "--render-sample", str(sample)]
    done = subprocess.run(cmd, cwd=ROOT, env=server_env({}), capture_output=True, text=True, timeout=600, check=False)
    if done.returncode != 0:
        raise BenchError(f"in-process timing failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def scale_one(n: int, args: argparse.Namespace, tmp: Path, reference_n: int | None = None) -> ScaleResult:
    """Measure one N; with ``reference_n``, also serve that many posts and compare listings in
    interleaved rounds (the machine's speed drifts over minutes, so runs far apart in time
    cannot tell a 10 % difference)."""
    from bench.make_posts import write_posts

    posts_dir = tmp / f"posts-{n}"
    reference_dir = tmp / f"posts-{n}-reference"
    try:
        started = time.perf_counter()
        paths = sorted(write_posts(n, posts_dir))
        generation = time.perf_counter() - started
        log(f"scale N={n}: generated in {generation:.1f}s (not a result); in-process timing")
        inproc = run_in_process(posts_dir, args.render_sample)
        if inproc["posts"] != n:
            raise BenchError(f"N={n}: the blog sees {inproc['posts']} posts")

        env = {"FLASK_BLOG_POSTS_DIR": str(posts_dir)}
        live = Server(f"scale-{n}-rescan", "wsgi:app", tmp, env=env)
        frozen = Server(f"scale-{n}-norescan", "wsgi:app", tmp, env={**env, "FLASK_BLOG_RELOAD_INTERVAL": "1000000"})
        reference = None
        if reference_n is not None:
            write_posts(reference_n, reference_dir)
            reference_env = {"FLASK_BLOG_POSTS_DIR": str(reference_dir)}
            reference = Server(f"scale-{n}-reference", "wsgi:app", tmp, env=reference_env)
        with live, frozen, reference or contextlib.nullcontext():
            startup = live.start()
            healthz = json.loads(live.ready_reply.body) if live.ready_reply else {}
            if healthz.get("posts") != n or healthz.get("invalid"):
                raise BenchError(f"N={n}: /healthz reports {healthz}")
            log(f"scale N={n}: start-up {startup:.2f}s; first GET / on each worker")
            first = {pid: t[0] for pid, t in on_each_worker(live, [("/", {}, 200)]).items()}
            slugs = [p.stem for p in paths[:3]]
            post_path = f"/posts/{slugs[0]}"
            on_each_worker(
                live,
                [("/", {}, 200), ("/feed.xml", COMPRESSED, 200)] + [(f"/posts/{s}", {}, 200) for s in slugs],
            )
            listed = fetch(live.port, "/")
            listings = [wrk(live, "/", args, duration=args.listing_duration, expect=listed)]
            rss = {pid: rss_mb(pid) for pid in live.workers()}
            pss = {pid: pss_mb(pid) for pid in rss}
            master_rss = rss_mb(live.proc.pid) if live.proc else float("nan")
            log(f"scale N={n}: listing {listings[0].rps:,.0f} req/s; RSS max {max(rss.values()):.0f} MB")

            frozen.start()
            on_each_worker(frozen, [(post_path, {}, 200)])
            if reference is not None:
                reference.start()
                on_each_worker(reference, [("/", {}, 200)])
                reference_listed = fetch(reference.port, "/")
            result = ScaleResult(
                n=n,
                generation_s=generation,
                inproc=inproc,
                startup_s=startup,
                first_listing_s=first,
                listings=listings,
                rss_mb=rss,
                pss_mb=pss,
                master_rss_mb=master_rss,
                reference_n=reference_n,
            )
            for r in range(args.rounds):  # interleaved, alternating who goes first
                if reference is not None:
                    sides = ((live, listed, listings), (reference, reference_listed, result.reference_listings))
                    for server, expect, runs in sides if r % 2 == 0 else sides[::-1]:
                        runs.append(wrk(server, "/", args, duration=args.listing_duration, expect=expect))
                elif r:
                    listings.append(wrk(live, "/", args, duration=args.listing_duration, expect=listed))
                pair = ((live, result.rescans), (frozen, result.no_rescans))
                for server, runs in pair if r % 2 == 0 else pair[::-1]:
                    runs.append(wrk(server, post_path, args, expect=fetch(server.port, post_path)))
            log(
                f"scale N={n}: post page {statistics.median(x.rps for x in result.rescans):,.0f} req/s rescanning "
                f"every 1 s, {statistics.median(x.rps for x in result.no_rescans):,.0f} never: "
                f"cost {result.change_cost:.1%}"
            )
            return result
    finally:
        shutil.rmtree(posts_dir, ignore_errors=True)
        shutil.rmtree(reference_dir, ignore_errors=True)


# -- report ----------------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def _run(cmd: list[str]) -> str:
    with contextlib.suppress(OSError, subprocess.SubprocessError, IndexError):
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=20, check=False)
        return (done.stdout or done.stderr).strip().splitlines()[0]
    return "unknown"


def machine() -> dict[str, str]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("model name", "Hardware")):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    status = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
        capture_output=True,
        text=True,
        check=False,
    )
    return {
        "cpu": cpu,
        "nproc": f"{os.cpu_count()} ({len(os.sched_getaffinity(0))} usable)",
        "ram": mem,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": _run([str(PYTHON), "-c", "import platform; print(platform.python_version())"]),
        "gunicorn": _run([str(GUNICORN), "--version"]),
        "wrk": re.sub(r"\s+Copyright.*", "", _run([WRK, "-v"])),
        "code": _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        + f" (+{status.stdout.count(chr(10))} modified tracked files)",
        "load average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def gunicorn_settings() -> str:
    conf = gunicorn_conf()
    preload = "preload_app" if conf.get("preload_app") else "no preload"
    per_worker = f"{conf['threads']} threads" if "threads" in conf else f"{conf['worker_connections']} connections"
    return f"{conf['workers']} {conf['worker_class']} workers x {per_worker}, {preload} (gunicorn.conf.py)"


def _ms_list(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f} / {percentile(values, 95) * 1000:.2f}"


def report(args: argparse.Namespace, info: dict[str, str], scenarios: list[Scenario], scale: list[ScaleResult]) -> str:
    out = ["", "## Machine", ""]
    out += [f"- {k}: {v}" for k, v in info.items()]
    out += ["", "## Settings", ""]
    out.append(f"- wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency, one URL at a time")
    out.append(f"- servers: {gunicorn_settings()}, bound to {HOST} (access log to /dev/null)")
    kept = {k: os.environ[k] for k in _GUNICORN_ENV if k in os.environ}
    if kept:
        out.append(f"- gunicorn environment in effect: {kept}")
    out.append(f"- throughput: {args.rounds} interleaved round(s) per scenario; figures are medians over rounds")
    out.append(
        f"- up to {args.repeats} wrk runs repeated when one worker held {SKEWED:.0%} of the connections or more, "
        f"or other processes took > {DISTURBED_PCT:g}% of the CPU"
    )
    out.append(
        f"- scale: sizes {','.join(map(str, args.sizes))}; warm listing {args.rounds} x {args.listing_duration:g}s; "
        f"change detection {args.rounds} interleaved round(s) of {args.duration:g}s per setting; "
        f"render timing on the first {args.render_sample} posts"
    )

    targets: list[tuple[str, str, bool | None]] = []
    bare = 0.0
    if scenarios:
        bare = scenarios[0].rps
        rows = []
        for sc in scenarios:
            lo, hi = min(x.rps for x in sc.loads), max(x.rps for x in sc.loads)
            rows.append(
                [
                    sc.name,
                    f"{sc.rps:,.0f}",
                    f"{statistics.median(x.p50_ms for x in sc.loads):.2f}",
                    f"{statistics.median(x.p99_ms for x in sc.loads):.2f}",
                    f"{sc.ratio:.2f}×",
                    f"{sc.cpu_us:,.0f} ({scenarios[0].cpu_us / sc.cpu_us:.2f}×)",
                    f"{lo:,.0f}–{hi:,.0f}",
                    " ".join("/".join(map(str, x.conns)) for x in sc.loads),
                    f"{max(x.other_cpu_pct for x in sc.loads):.0f}",
                ]
            )
            if sc.target:
                targets.append((f"{sc.name} ≥ {sc.target}× bare", f"{sc.ratio:.3f}×", sc.ratio >= sc.target))
        out += ["", "## Throughput (bundled content, warm caches)", ""]
        headers = ["scenario", "req/s", "p50 ms", "p99 ms", "× bare", "server CPU µs/req (× bare)"]
        headers += ["req/s range", "conns per worker", "other CPU %"]
        out.append(table(headers, rows, {1, 2, 3, 4, 5, 6, 7, 8}))
        out.append("")
        out.append("req/s, p50, p99: medians over the rounds; × bare: median req/s ÷ the bare route's median req/s;")
        out.append("server CPU µs/req: CPU time of the server's processes per answer, median over the rounds (× bare:")
        out.append("the bare route's ÷ this one; unlike req/s, hardly moved by how connections land on workers);")
        out.append("req/s range: slowest and fastest round; conns per worker: how wrk's connections were spread over")
        out.append("the workers in each round; other CPU %: most used by processes not ours in a round.")
    if scale:
        rows, diag = [], []
        for r in scale:
            rows.append(
                [
                    f"{r.n:,}",
                    f"{r.startup_s:.2f}",
                    f"{r.first_max:.2f} (med {r.first_median:.2f})",
                    f"{r.listing_rps:,.0f} ({r.listing_p99:.1f})"
                    + (f"; {r.listing_vs_reference:.2f}×" if r.listing_vs_reference is not None else ""),
                    f"{max(r.rss_mb.values()):.0f}",
                    _ms_list(r.inproc["render_s"]),
                    f"{r.change_cost * 100:.1f} (≈{r.rescan_share * 100:.1f})",
                ]
            )
            diag.append(
                [
                    f"{r.n:,}",
                    f"{r.generation_s:.1f}",
                    f"{r.inproc['full_read_s']:.2f}",
                    f"{statistics.median(r.inproc['parse_s']) * 1000:.2f}",
                    f"{statistics.median(r.inproc['rescan_s']) * 1000:.1f}; "
                    f"{statistics.median(r.inproc.get('full_look_s') or [0]) * 1000:.0f} (≈{r.rescan_share:.1%})",
                    " ".join(f"{s:.2f}" for s in sorted(r.first_listing_s.values(), reverse=True)),
                    " ".join(f"{r.rss_mb[p]:.0f}/{r.pss_mb[p]:.0f}" for p in sorted(r.rss_mb, key=r.rss_mb.__getitem__))
                    + f"; {r.master_rss_mb:.0f}",
                    " ".join(f"{x.rps:,.0f}[{x.busiest}]" for x in r.rescans)
                    + f" (p99 {max(x.p99_ms for x in r.rescans):.0f})",
                    " ".join(f"{x.rps:,.0f}[{x.busiest}]" for x in r.no_rescans)
                    + f" (p99 {max(x.p99_ms for x in r.no_rescans):.0f})",
                    f"{max(x.other_cpu_pct for x in r.loads):.0f}",
                ]
            )
        out += ["", "## Scale (synthetic posts; default settings but FLASK_BLOG_POSTS_DIR)", ""]
        headers = ["N", "start-up s", "first listing s (max, median)"]
        headers += ["warm listing req/s (p99 ms); × smallest N, paired"]
        headers += ["RSS/worker MB", "render median/p95 ms", "change-detection cost % (≈ estimate)"]
        out.append(table(headers, rows, set(range(7))))
        out += ["", "Details:", ""]
        headers = ["N", "generate s", "full read s", "parse ms", "check ms; full look ms (≈ CPU)"]
        headers += ["first GET / per worker s"]
        headers += ["worker RSS/PSS MB; master RSS", "post req/s, rescans each 1 s", "post req/s, no rescans"]
        headers += ["other CPU %"]
        out.append(table(headers, diag, set(range(10))))
        out += [
            "",
            "full read: the app's first read of the folder, in-process; parse: median per post;",
            "check: what each busy worker does once per BLOG_RELOAD_INTERVAL when nothing changed (with inotify,",
            "ask the watch; without, stat every file); full look: the stat pass a watching worker still makes",
            "every 30 s; (≈ CPU) is workers × (check ÷ interval + full look ÷ 30 s) ÷ cores: the share of the",
            "machine change detection takes, a noise-free estimate of the cost measured with wrk.",
            "[n]: wrk connections held by the busiest worker.",
        ]

        big = max(scale, key=lambda r: r.n)
        small = min(scale, key=lambda r: r.n)
        at = f"N={big.n:,}" + ("" if big.n == TARGET_N else f" (targets are stated at {TARGET_N:,})")
        # Paired with a server over the smallest N in the same rounds when there is one.
        listing_ratio = big.listing_vs_reference or big.listing_rps / small.listing_rps
        targets += [
            (f"{at}: start-up ≤ 2 s", f"{big.startup_s:.2f} s", big.startup_s <= 2),
            (f"{at}: first listing ≤ 1 s (slowest worker)", f"{big.first_max:.2f} s", big.first_max <= 1),
            (
                f"{at}: warm listing like any cached page (≥ 0.9× the N={small.n} listing, paired rounds)",
                f"{listing_ratio:.2f}×" + (f", {big.listing_rps / bare:.2f}× bare" if bare else ""),
                listing_ratio >= 0.9 if big is not small else None,
            ),
            (f"{at}: RSS per worker ≤ 150 MB", f"{max(big.rss_mb.values()):.0f} MB", max(big.rss_mb.values()) <= 150),
            (f"{at}: change detection ≤ 5 % of throughput (wrk)", f"{big.change_cost:.1%}", big.change_cost <= 0.05),
            (
                f"{at}: change detection ≤ 5 % (estimate: workers × one rescan ÷ cores)",
                f"≈{big.rescan_share:.1%}",
                big.rescan_share <= 0.05,
            ),
        ]
    loads = [x for s in scenarios for x in s.loads] + [x for r in scale for x in r.loads]
    worst = max((x.other_cpu_pct for x in loads), default=0.0)
    if args.repeated:
        why = {
            "one worker": f"one worker held ≥ {SKEWED:.0%} of the connections",
            "other processes": "other processes were busy",
        }
        counts = ", ".join(f"{args.repeated.count(k)} because {v}" for k, v in why.items() if k in args.repeated)
        out += ["", f"{len(args.repeated)} wrk run(s) were repeated: {counts}."]
    if worst > DISTURBED_PCT:
        out += ["", f"WARNING: other processes used up to {worst:.0f}% of the machine's CPU during a measurement;"]
        out.append("figures from this run are disturbed (see the other CPU % columns). Rerun on a quiet machine.")
    if targets:
        out += ["", "## Targets", ""]
        marks = {True: "ok", False: "MISSED", None: "n/a"}
        out.append(table(["target", "measured", ""], [[t, m, marks[ok]] for t, m, ok in targets], {1}))
    out.append("")
    return "\n".join(out)


# -- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, help="seconds per wrk run (default 5; --quick 1)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2: wrk shares the cores)")
    parser.add_argument("--sizes", help="post counts for the scale runs (default 62,1000,10000; --quick 62,1000)")
    parser.add_argument("--listing-duration", type=float, help="seconds of wrk on / per size (default 3; --quick 1)")
    parser.add_argument(
        "--rounds",
        type=int,
        help="interleaved rounds of each throughput scenario, listing and change-detection setting "
        "(default 3; --quick 1)",
    )
    parser.add_argument("--render-sample", type=int, default=200, help="posts whose render is timed (default 200)")
    parser.add_argument("--only", choices=("throughput", "scale"), help="run one part only")
    parser.add_argument(
        "--repeats",
        type=int,
        default=10,
        help=f"wrk runs that may be repeated, when other processes used > {DISTURBED_PCT:g}%% of the CPU or one "
        "worker held 7/8 of the connections or more (default 10)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw figures to this file")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1 s loads, sizes 62,1000")
    parser.add_argument("--in-process", type=Path, help=argparse.SUPPRESS)  # the child run_in_process starts
    args = parser.parse_args(argv)
    q = args.quick
    args.duration = args.duration or (1.0 if q else 5.0)
    args.listing_duration = args.listing_duration or (1.0 if q else 3.0)
    args.rounds = args.rounds or (1 if q else 3)
    args.sizes = [int(s) for s in (args.sizes or ("62,1000" if q else "62,1000,10000")).split(",") if s.strip()]
    if args.threads > args.connections:
        parser.error("--threads may not exceed --connections")
    if args.in_process:
        return args
    args.repeats_left, args.repeated = args.repeats, []
    if not Path(WRK).exists():
        parser.error(f"wrk not found ({WRK}); apt-get install wrk")
    if not GUNICORN.exists():
        parser.error(f"gunicorn not found at {GUNICORN}; run from the project venv")
    return args


def _sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.in_process:
        print(json.dumps(in_process(args.in_process, args.render_sample)))
        return 0
    signal.signal(signal.SIGTERM, _sigterm)
    info = machine()
    began = time.perf_counter()
    log(f"machine: {info['cpu']}, {info['nproc']} CPUs; load average {info['load average']}")
    tmp = Path(tempfile.mkdtemp(prefix="blog-bench-"))
    scenarios: list[Scenario] = []
    scale: list[ScaleResult] = []
    try:
        if args.only in (None, "throughput"):
            scenarios = throughput(args, tmp)
        if args.only in (None, "scale"):
            smallest = min(args.sizes)
            scale = [scale_one(n, args, tmp, reference_n=smallest if n != smallest else None) for n in args.sizes]
    except BenchError as err:
        log(f"FAILED: {err}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    head = _run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if not info["code"].startswith(head):
        info["code"] += f"; HEAD moved to {head} during the run: servers started late ran newer code"
    info["load average"] += " at start; " + " ".join(Path("/proc/loadavg").read_text().split()[:3]) + " at end"
    info["run"] = f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {time.perf_counter() - began:.0f} s"
    print(report(args, info, scenarios, scale))
    if args.json:
        data = {
            "machine": info,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "throughput": [asdict(s) for s in scenarios],
            "scale": [asdict(r) for r in scale],
        }
        args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
