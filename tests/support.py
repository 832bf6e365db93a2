"""Helpers shared by test modules (test modules import from here, never from each other).

- ``within``: fail when a block uses more CPU than it should, or hangs;
- ``wait_for``: poll a condition until it holds, with a timeout (instead of a fixed sleep);
- ``FakeMonotonic``: a monotonic clock a test moves by hand (``ContentStore.monotonic``);
- ``merge_bomb``: YAML front matter whose merge keys double at each level;
- ``CHROMIUM``, ``FLAGS``, ``need_browser``: Debian's Chromium, as the browser tests drive it.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from typing import TypeVar

import pytest

T = TypeVar("T")


class Overran(BaseException):
    """Raised by ``within``: a BaseException, so no ``except Exception`` in the code can hide it."""


@contextlib.contextmanager
def within(seconds: float, wall: float | None = None) -> Iterator[None]:
    """Fail (instead of hanging) when the block uses more than ``seconds`` of this process's CPU
    time, or runs longer than ``wall`` seconds (default: ten times ``seconds``, at least 30), in
    the main thread only. The CPU bound measures the work the code does, so it holds however
    many other processes share the cores (a parallel run); the wall bound catches a block that
    hangs without working (a lock, a wait)."""
    wall = max(30.0, 10 * seconds) if wall is None else wall

    def used_cpu(*_args: object) -> None:
        raise Overran(f"used more than {seconds} s of CPU")

    def took(*_args: object) -> None:
        raise Overran(f"took longer than {wall} s")

    previous = signal.signal(signal.SIGPROF, used_cpu), signal.signal(signal.SIGALRM, took)
    signal.setitimer(signal.ITIMER_PROF, seconds)  # counts the process's user + system time
    signal.setitimer(signal.ITIMER_REAL, wall)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGPROF, previous[0])
        signal.signal(signal.SIGALRM, previous[1])


def wait_for(condition: Callable[[], T], timeout: float, what: str = "the condition", every: float = 0.02) -> T:
    """Poll ``condition`` every ``every`` seconds until it returns something truthy, and return
    that; fail the test if it has not after ``timeout`` seconds (checked once more at the end)."""
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"{what} did not hold within {timeout} s")
        time.sleep(every)


def connections_to_every_worker(server: Any, timeout: float = 15) -> dict[int, http.client.HTTPConnection]:
    """One kept-alive connection to each worker of ``server`` (a tests.servers.Server), by pid: a
    connection stays with the worker that accepted it, while new connections go where the
    kernel hands them (unevenly: a worker can go unsampled for seconds). Opens connections
    until every worker has answered /healthz on one, and closes the others."""
    conns: dict[int, http.client.HTTPConnection] = {}
    extra: list[http.client.HTTPConnection] = []
    workers = server.worker_pids()
    deadline = time.monotonic() + timeout
    try:
        while set(conns) != workers:
            assert time.monotonic() < deadline, f"workers {workers - set(conns)} accepted no connection in {timeout} s"
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            conn.request("GET", "/healthz")
            pid = json.loads(conn.getresponse().read())["pid"]
            if pid in conns:
                extra.append(conn)
            else:
                conns[pid] = conn
    finally:
        for conn in extra:
            conn.close()
    return conns


class FakeMonotonic:
    """A monotonic clock that only moves when told (``advance``), for ``ContentStore.monotonic``:
    change-detection tests pass an interval without sleeping through it."""

    def __init__(self) -> None:
        self.now = time.monotonic()  # from the real clock's now: times already taken stay in the past

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def merge_bomb(depth: int = 40) -> str:
    """Front matter lines whose merges double at each level: 2**depth pairs to build."""
    lines = ["a0: &a0 {k: v}"]
    lines += [f"a{n}: &a{n} {{<<: [*a{n - 1}, *a{n - 1}], k{n}: v}}" for n in range(1, depth + 1)]
    return "\n".join(lines)


#: Debian's Chromium (apt-get install chromium), never a downloaded one.
CHROMIUM = os.environ.get("BLOG_CHROMIUM", "/usr/bin/chromium")
FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--mute-audio",
]


def need_browser() -> None:
    """Skip (fail, in CI) unless Playwright and Chromium are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        reason = "playwright is not installed (pip install -r requirements-dev.txt)"
    else:
        if Path(CHROMIUM).exists():
            return
        reason = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"browser tests are required in CI: {reason}")
    pytest.skip(reason)


@contextlib.contextmanager
def launch_chromium() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (never a downloaded browser), closed
    after use. Tests that use it are in the system tier (tests/conftest.py)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()
