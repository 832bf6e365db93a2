"""Scale: the blog over N synthetic posts (bench/make_posts.py), for one N at a time.

In a child Python, no HTTP: parse and render time per post, the first full read of the folder
(and change detection's checks, bench/change_detection.py). Under gunicorn as deployed:
start-up until ``/healthz`` answers, each worker's first listing, warm listing req/s (paired
with a server over the smallest N), RSS per worker, and change detection's cost with wrk.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any

from bench import change_detection
from bench.load import Load
from bench.load import wrk
from bench.server import COMPRESSED
from bench.server import PYTHON
from bench.server import ROOT
from bench.server import BenchError
from bench.server import Server
from bench.server import fetch
from bench.server import log
from bench.server import on_each_worker
from bench.server import pss_mb
from bench.server import rss_mb
from bench.server import server_env

#: The entry point, which starts the in-process child as ``run.py --in-process DIR``.
RUN_PY = Path(__file__).resolve().with_name("run.py")


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
        """Change detection's cost measured with wrk (``change_detection.cost``)."""
        return change_detection.cost(self.rescans, self.no_rescans)

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
        """Change detection's cost estimated from the in-process timings (``change_detection.cpu_share``)."""
        return change_detection.cpu_share(self.inproc)


def in_process(posts_dir: Path, sample: int) -> dict[str, Any]:
    """Run in a child Python (``run.py --in-process DIR``): the blog's own code, no HTTP.

    - parse and render each of the first ``sample`` posts (sorted by name), nothing cached;
    - build the app on the folder (BLOG_RELOAD_INTERVAL=0) and time its first full read, then
      unchanged rescans: the work every worker does once per BLOG_RELOAD_INTERVAL, and full
      looks (``change_detection.time_checks``).
    """
    from zoneinfo import ZoneInfo

    from blogapp import content
    from blogapp import create_app
    from blogapp.posts.post import extract_body
    from blogapp.posts.post import parse_post
    from blogapp.text.markup import render_markdown

    # First use builds the renderer and imports the three Pygments lexers: not per post.
    render_markdown("# t\n\n```python\nx = 1\n```\n\n```js\nx\n```\n\n```bash\nx\n```\n\n| a |\n|---|\n| b |\n")
    utc = ZoneInfo("UTC")
    parse, render = [], []
    for path in sorted(posts_dir.glob("*.md"))[:sample]:
        text = path.read_text(encoding="utf-8")
        started = time.perf_counter()
        post = parse_post(text, str(path), slug=path.stem, timezone=utc, default_author="x")
        parse.append(time.perf_counter() - started)
        body = extract_body(text, post.title)
        started = time.perf_counter()
        render_markdown(body)
        render.append(time.perf_counter() - started)

    app = create_app({"BLOG_POSTS_DIR": str(posts_dir), "BLOG_RELOAD_INTERVAL": 0})
    store = content.get_store(app)
    started = time.perf_counter()
    posts = len(store.current_view().posts)
    full_read = time.perf_counter() - started
    checks = change_detection.time_checks(store)
    misses = post_page_misses(app, POST_MISSES)
    return {"parse_s": parse, "render_s": render, "posts": posts, "full_read_s": full_read, **checks, **misses}


#: Post pages timed on a cache miss after the first one.
POST_MISSES = 20


def post_page_misses(app: Any, count: int) -> dict[str, Any]:
    """GET /posts/<slug> on a cache miss, in-process through the whole app (page cache
    included): the first after start-up, which also builds the content version's search index
    that related posts query, then ``count`` other posts spread over the list, each its first
    request (the index built, the related-posts memo filling)."""
    from urllib.parse import quote

    from blogapp import content

    client = app.test_client()
    with app.test_request_context():
        posts = content.get_posts()
        slugs = [p.slug for p in posts[:: max(1, len(posts) // (count + 1))]][: count + 1]
    times = []
    for slug in slugs:
        started = time.perf_counter()
        response = client.get("/posts/" + quote(slug))
        times.append(time.perf_counter() - started)
        if response.status_code != 200 or response.headers.get("X-Cache") != "MISS":
            raise BenchError(f"/posts/{slug}: {response.status_code} {response.headers.get('X-Cache')}")
    return {"post_miss_first_s": times[0], "post_miss_s": times[1:]}


def run_in_process(posts_dir: Path, sample: int) -> dict[str, Any]:
    cmd = [str(PYTHON), str(RUN_PY), "--in-process", str(posts_dir), "--render-sample", str(sample)]
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
        frozen = change_detection.never_rescanning(n, tmp, env)
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
                change_detection.paired_round(r, live, frozen, post_path, args, result.rescans, result.no_rescans)
            log(
                f"scale N={n}: post page {statistics.median(x.rps for x in result.rescans):,.0f} req/s rescanning "
                f"every 1 s, {statistics.median(x.rps for x in result.no_rescans):,.0f} never: "
                f"cost {result.change_cost:.1%}"
            )
            return result
    finally:
        shutil.rmtree(posts_dir, ignore_errors=True)
        shutil.rmtree(reference_dir, ignore_errors=True)
