"""Plain text from markdown, per post: the search stripper against markdown-it's token walk.

Why search keeps its own stripper (blogapp/search/words.py) while excerpts and reading time use
the token walk (blogapp/text/plaintext.py): each worker's first search or post page indexes every
visible post (related posts query that index). This prints, for posts made by make_posts.py,
the median time per post of each routine, their ratio, and what that means for one index
build at 10,000 posts.

    .venv/bin/python -m bench.texts [--posts 300] [--rounds 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from collections.abc import Callable

from bench.make_posts import make_post
from bench.report import machine
from blogapp.posts.post import extract_body
from blogapp.search.words import strip_markdown
from blogapp.text.plaintext import EVERYTHING
from blogapp.text.plaintext import markdown_to_text


def per_post_us(fn: Callable[[str], object], bodies: list[str], rounds: int) -> float:
    """Median over ``rounds`` of the mean time per body, in microseconds."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for body in bodies:
            fn(body)
        times.append((time.perf_counter() - started) / len(bodies) * 1e6)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    rng = random.Random(20240601)
    bodies = [extract_body(make_post(i, rng)[1], "") for i in range(args.posts)]
    strip = per_post_us(strip_markdown, bodies, args.rounds)
    walk = per_post_us(lambda body: markdown_to_text(body, EVERYTHING), bodies, args.rounds)
    size = statistics.mean(len(body) for body in bodies)
    print("machine: " + ", ".join(f"{key} {value}" for key, value in machine().items()))
    print(f"{args.posts} posts of {size:,.0f} characters on average, median of {args.rounds} rounds")
    print(f"{'routine':<34}{'µs/post':>10}{'10,000 posts s':>16}")
    for name, us in (("searchtext.strip_markdown", strip), ("plaintext.markdown_to_text", walk)):
        print(f"{name:<34}{us:>10,.0f}{us * 10_000 / 1e6:>16.1f}")
    print(f"token walk / stripper: {walk / strip:.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
