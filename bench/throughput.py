"""Throughput: the blog's cached pages against a bare Flask route sending the same bytes.

The blog runs as deployed (``gunicorn wsgi:app`` from the repository root, so gunicorn.conf.py
applies); the bare route (bench/bare_app.py) answers ``/bare`` with the post page's bytes under
the same settings. Every scenario is loaded with wrk in interleaved, rotated rounds; a
scenario's ratio is its median req/s over the bare route's.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

from bench.load import Load
from bench.load import wrk
from bench.server import COMPRESSED
from bench.server import HOST
from bench.server import BenchError
from bench.server import Server
from bench.server import fetch
from bench.server import log
from bench.server import on_each_worker
from bench.server import probe

POST_PATH = "/posts/production-rag-with-postgres-and-pgvector"


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
        # Within the second of a change (here: the build first served) a page goes out under
        # a provisional ETag and no Last-Modified (blogapp/pagecache/lastmodified.py), which
        # stops validating once the second ends: wait for the dated answer's tag.
        deadline = time.monotonic() + 5
        while not post.header("Last-Modified") and time.monotonic() < deadline:
            time.sleep(0.1)
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
