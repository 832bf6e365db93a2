"""The blog's benchmark: one command, every figure and ratio from one run.

    .venv/bin/python bench/run.py [--duration 5] [--connections 16] [--sizes 62,1000,10000] [--quick]

1. Throughput (bench/throughput.py): the blog under gunicorn exactly as deployed (``gunicorn
   wsgi:app`` from the repository root, so gunicorn.conf.py applies; only ``--bind`` is changed)
   against a bare Flask route sending the same bytes under the same settings (bench/bare_app.py),
   with wrk.
2. Edge (bench/edge.py, with bench/nginx.py): a warm post page through deploy/nginx.conf's
   cache against the same nginx serving the same bytes as a file, what reaches gunicorn meanwhile, and how soon an
   edit, a new post, a deletion and a scheduled post show through nginx under load.
3. Scale (bench/scale.py): for each N, N synthetic posts (bench/make_posts.py): in-process
   markdown render time, start-up, first listing on each worker, warm listing throughput,
   per-worker RSS and the cost of change detection (bench/change_detection.py: rescans every
   second versus never).
4. Images (bench/images.py): the image bytes Chromium downloads for the home page (desktop and
   phone) and a post page (phone) of a site with large photo-like covers, against a replay of
   next/image on the same files; and the time to make one 2,400-px source's variants.

This file reads the command line, runs the parts and prints the report (bench/report.py).
Load goes to 127.0.0.1 only; every server is stopped by its own PID. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

# bench.* and blogapp, however this file is started (``python bench/run.py`` puts bench/ first).
if str(Path(__file__).resolve().parent.parent) not in sys.path:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.edge import EdgeResult
from bench.edge import edge
from bench.images import ImageResult
from bench.images import image_bench
from bench.images import image_report
from bench.load import DISTURBED_PCT
from bench.load import WRK
from bench.report import first_line
from bench.report import machine
from bench.report import report
from bench.scale import ScaleResult
from bench.scale import in_process
from bench.scale import scale_one
from bench.server import GUNICORN
from bench.server import ROOT
from bench.server import BenchError
from bench.server import log
from bench.throughput import Scenario
from bench.throughput import throughput


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
    parser.add_argument(
        "--edge-rounds",
        type=int,
        help="interleaved rounds of the edge against nginx's static file (default 7; --quick 1): "
        "its ratio is the one figure with a target, and the two sides drift together on a shared host",
    )
    parser.add_argument("--render-sample", type=int, default=200, help="posts whose render is timed (default 200)")
    parser.add_argument("--only", choices=("throughput", "edge", "scale", "images"), help="run one part only")
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
    args.edge_rounds = args.edge_rounds or (1 if q else 7)
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
    pictures: ImageResult | None = None
    edged: EdgeResult | None = None
    try:
        if args.only in (None, "throughput"):
            scenarios = throughput(args, tmp)
        if args.only in (None, "edge"):
            edged = edge(args, tmp)
        if args.only in (None, "scale"):
            smallest = min(args.sizes)
            scale = [scale_one(n, args, tmp, reference_n=smallest if n != smallest else None) for n in args.sizes]
        if args.only in (None, "images"):
            pictures = image_bench(tmp)
    except BenchError as err:
        log(f"FAILED: {err}")
        return 1
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    head = first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    if not info["code"].startswith(head):
        info["code"] += f"; HEAD moved to {head} during the run: servers started late ran newer code"
    info["load average"] += " at start; " + " ".join(Path("/proc/loadavg").read_text().split()[:3]) + " at end"
    info["run"] = f"{dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {time.perf_counter() - began:.0f} s"
    print(report(args, info, scenarios, scale) + ("\n".join(image_report(pictures)) if pictures else ""))
    if edged is not None:
        print("\n".join(edged.lines()))
    if args.json:
        data = {
            "machine": info,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "throughput": [asdict(s) for s in scenarios],
            "scale": [asdict(r) for r in scale],
            "images": asdict(pictures) if pictures else None,
            "edge": asdict(edged) if edged is not None else None,
        }
        args.json.write_text(json.dumps(data, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
