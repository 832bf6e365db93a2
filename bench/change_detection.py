"""Change detection: what watching the posts folder costs a busy server, at one N.

Measured two ways; bench/scale.py runs both for each N, in the same rounds as its listings:

- with wrk: warm post-page req/s of a server rescanning every BLOG_RELOAD_INTERVAL (the
  default) against one that never rescans, in interleaved rounds; cost = 1 - the median of
  the paired ratios;
- in-process, without HTTP noise: the time of one unchanged check and one full look, from
  which the share of the machine that change detection takes follows.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

from bench.load import Load
from bench.load import wrk
from bench.server import Server
from bench.server import fetch
from bench.server import gunicorn_conf

#: FLASK_BLOG_RELOAD_INTERVAL of the comparison server: it never rescans.
NEVER = "1000000"


def never_rescanning(n: int, tmp: Path, env: dict[str, str]) -> Server:
    """The comparison server: the blog over the same posts, but it never rescans them, nor
    asks inotify (polling, once in 1,000,000 s), so the per-request read counts as a cost."""
    frozen = {**env, "FLASK_BLOG_RELOAD_INTERVAL": NEVER, "FLASK_BLOG_WATCH": "poll"}
    return Server(f"scale-{n}-norescan", "wsgi:app", tmp, env=frozen)


def paired_round(
    r: int,
    live: Server,
    frozen: Server,
    post_path: str,
    args: argparse.Namespace,
    rescans: list[Load],
    no_rescans: list[Load],
) -> None:
    """Round ``r``: wrk on ``post_path`` on both servers, back to back, alternating who goes first."""
    pair = ((live, rescans), (frozen, no_rescans))
    for server, runs in pair if r % 2 == 0 else pair[::-1]:
        runs.append(wrk(server, post_path, args, expect=fetch(server.port, post_path)))


def cost(rescans: list[Load], no_rescans: list[Load]) -> float:
    """1 - req/s rescanning every second / req/s never rescanning: median of the paired rounds."""
    return 1 - statistics.median(a.rps / b.rps for a, b in zip(rescans, no_rescans, strict=True))


def cpu_share(inproc: dict[str, Any]) -> float:
    """CPU share change detection takes: workers x (one check / interval, plus one full
    look / FULL_LOOK_EVERY when inotify watches) / cores."""
    per_second = statistics.median(inproc["rescan_s"]) / inproc["interval_s"]
    if inproc.get("full_look_every_s"):
        per_second += statistics.median(inproc["full_look_s"]) / inproc["full_look_every_s"]
    return gunicorn_conf()["workers"] * per_second / (os.cpu_count() or 1)


def time_checks(store: Any) -> dict[str, Any]:
    """In the child Python, on a content store that has read its folder: time unchanged
    checks (the work every worker does once per BLOG_RELOAD_INTERVAL) and full looks."""
    from blogapp.config import DEFAULTS
    from blogapp.files.inotify import FULL_LOOK_EVERY

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
        "rescan_s": rescans,
        "interval_s": float(DEFAULTS["BLOG_RELOAD_INTERVAL"]),
        "full_look_s": full_looks,
        "full_look_every_s": FULL_LOOK_EVERY if store._watch is not None else None,
    }
