"""The report: the machine, the settings and every result as Markdown tables, then the targets.

``report()`` turns the results of bench/throughput.py and bench/scale.py into the text
bench/run.py prints; ``machine()`` describes what they ran on; ``table()`` lays out one table.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import re
import statistics
import subprocess
from pathlib import Path

from bench.load import DISTURBED_PCT
from bench.load import SKEWED
from bench.load import WRK
from bench.scale import ScaleResult
from bench.server import GUNICORN
from bench.server import GUNICORN_ENV
from bench.server import HOST
from bench.server import PYTHON
from bench.server import ROOT
from bench.server import gunicorn_conf
from bench.throughput import Scenario

#: The post count the scale targets are stated at.
TARGET_N = 10_000


def table(headers: list[str], rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        padded = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "| " + " | ".join(padded) + " |"

    rule = "|" + "|".join(("-" * (w + 1) + ":") if i in right else "-" * (w + 2) for i, w in enumerate(widths)) + "|"
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def first_line(cmd: list[str]) -> str:
    """The first line ``cmd`` prints (its output, else its errors), or "unknown"."""
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
        "python": first_line([str(PYTHON), "-c", "import platform; print(platform.python_version())"]),
        "gunicorn": first_line([str(GUNICORN), "--version"]),
        "wrk": re.sub(r"\s+Copyright.*", "", first_line([WRK, "-v"])),
        "code": first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        + f" (+{status.stdout.count(chr(10))} modified tracked files)",
        "load average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }


def gunicorn_settings() -> str:
    conf = gunicorn_conf()
    preload = "preload_app" if conf.get("preload_app") else "no preload"
    per_worker = f"{conf['threads']} threads" if "threads" in conf else f"{conf['worker_connections']} connections"
    return f"{conf['workers']} {conf['worker_class']} workers x {per_worker}, {preload} (gunicorn.conf.py)"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1))]


def median_p95_ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.2f} / {percentile(values, 95) * 1000:.2f}"


def post_miss_ms(inproc: dict) -> str:
    """'first; median / p95' ms of the post page misses (bench/scale.py post_page_misses)."""
    if "post_miss_s" not in inproc:
        return "–"
    return f"{inproc['post_miss_first_s'] * 1000:,.0f}; {median_p95_ms(inproc['post_miss_s'])}"


def report(args: argparse.Namespace, info: dict[str, str], scenarios: list[Scenario], scale: list[ScaleResult]) -> str:
    out = ["", "## Machine", ""]
    out += [f"- {k}: {v}" for k, v in info.items()]
    out += ["", "## Settings", ""]
    out.append(f"- wrk -t{args.threads} -c{args.connections} -d{args.duration:g}s --latency, one URL at a time")
    out.append(f"- servers: {gunicorn_settings()}, bound to {HOST} (access log to /dev/null)")
    kept = {k: os.environ[k] for k in GUNICORN_ENV if k in os.environ}
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
                    median_p95_ms(r.inproc["render_s"]),
                    post_miss_ms(r.inproc),
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
        headers += ["RSS/worker MB", "render median/p95 ms", "post page miss ms: first; then median/p95"]
        headers += ["change-detection cost % (≈ estimate)"]
        out.append(table(headers, rows, set(range(8))))
        out += ["", "Details:", ""]
        headers = ["N", "generate s", "full read s", "parse ms", "check ms; full look ms (≈ CPU)"]
        headers += ["first GET / per worker s"]
        headers += ["worker RSS/PSS MB; master RSS", "post req/s, rescans each 1 s", "post req/s, no rescans"]
        headers += ["other CPU %"]
        out.append(table(headers, diag, set(range(10))))
        out += [
            "",
            "post page miss: GET /posts/<slug> not in the page cache, in-process through the whole app; the first",
            "after start-up (or a change) also builds the search index related posts query, then "
            "other posts' first requests;",
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
