"""Does the front-matter fast path (posts/fastyaml.py) earn its place? (issue 21)

    .venv/bin/python -m bench.frontmatter_cost [--posts 10000] [--rounds 5]

Parses the front matter of N synthetic posts (make_posts.py) and of the bundled posts two ways,
in one process, rounds interleaved: as the blog does (fastyaml for the usual shape, libyaml
under frontmatter.py's bounds otherwise), and with libyaml's CSafeLoader under the same
bounds for every post. Prints the median seconds of each and the difference; the issue's bar
is 0.3 s at 10,000 posts. Start-up parses on every core (the fork pool), so its wall-clock
saving is about this difference divided by the cores.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.make_posts import write_posts  # noqa: E402
from blogapp.posts import fastyaml  # noqa: E402
from blogapp.posts import frontmatter  # noqa: E402
from blogapp.posts import post as post_module  # noqa: E402


def fronts(paths: list[Path]) -> list[str]:
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8-sig")
        found.append(post_module._HANDLER.split(text.lstrip())[0])
    return found


def with_fast_path(texts: list[str]) -> float:
    started = time.perf_counter()
    for front in texts:
        meta = fastyaml.load(front) if len(front) < post_module._FAST_LIMIT else None
        if meta is None:
            frontmatter.load(front, frontmatter.FAST_LOADER)
    return time.perf_counter() - started


def libyaml_only(texts: list[str]) -> float:
    started = time.perf_counter()
    for front in texts:
        frontmatter.load(front, frontmatter.FAST_LOADER)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        texts = fronts(write_posts(args.posts, Path(tmp)))
    bundled = fronts(sorted((ROOT / "content" / "posts").glob("*.md")))
    print(f"frontmatter.FAST_LOADER: {frontmatter.FAST_LOADER.__name__}")
    for name, sample in ((f"{args.posts} synthetic posts", texts), (f"{len(bundled)} bundled posts", bundled)):
        fast, plain = [], []
        for _ in range(args.rounds):
            fast.append(with_fast_path(sample))
            plain.append(libyaml_only(sample))
        f, p = statistics.median(fast), statistics.median(plain)
        print(
            f"{name}: fastyaml path {f:.3f} s, CSafeLoader under the bounds {p:.3f} s, "
            f"difference {p - f:.3f} s ({p / f:.1f}x), {len(sample)} texts, medians of {args.rounds}"
        )


if __name__ == "__main__":
    main()
