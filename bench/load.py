"""wrk against one of our servers, and what else happened on the machine meanwhile.

``wrk()`` runs one bounded wrk load on 127.0.0.1 and returns its ``Load``: req/s, p50/p99,
bytes per answer (checked against a probe), the server's CPU per request, how wrk's
connections fell on the workers, and the CPU other processes took. A run skewed onto one
worker, or disturbed by other processes, is repeated while ``args.repeats_left`` allows.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import resource
import shutil
import subprocess
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from bench.server import HOST
from bench.server import BenchError
from bench.server import Reply
from bench.server import Server
from bench.server import log

WRK = shutil.which("wrk") or "/usr/bin/wrk"
#: A wrk run during which other processes used more than this % of the CPUs is repeated.
DISTURBED_PCT = 10.0
#: A run in which one worker holds this share of wrk's connections (14 of 16) measures one
#: process, not the server: the others have too few connections to keep busy.
SKEWED = 7 / 8

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
