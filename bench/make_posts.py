"""Write N synthetic blog posts of realistic size and markup (deterministic).

    .venv/bin/python bench/make_posts.py 1000 /tmp/posts

Each file is a blog-starter post: YAML front matter (title, date with assorted offsets
spread over several years, an excerpt for about half, a coverImage for some, an author
mapping, tags from a vocabulary of 30 as a list or a comma-separated string) and a 4-8 KB
markdown body with headings, paragraphs, bullet and ordered lists, a fenced code block
(python, js or bash), a table, links, emphasis and sometimes a footnote.

As a module: ``write_posts(n, directory)`` returns the list of paths written. The same
``n`` and ``seed`` always give byte-identical files.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
from pathlib import Path

TAGS = (
    "ai",
    "python",
    "rust",
    "go",
    "javascript",
    "typescript",
    "databases",
    "postgres",
    "infrastructure",
    "kubernetes",
    "security",
    "observability",
    "performance",
    "testing",
    "devops",
    "cloud",
    "llm",
    "machine-learning",
    "data-engineering",
    "frontend",
    "backend",
    "api-design",
    "architecture",
    "career",
    "open-source",
    "tooling",
    "networking",
    "linux",
    "accessibility",
    "product",
)

AUTHORS = (
    ("Maya Chen", "/assets/blog/authors/maya.jpg"),
    ("Daniel Okafor", "/assets/blog/authors/daniel.jpg"),
    ("AURA Digital Labs", "/assets/blog/authors/aura.png"),
    ("Priya Raman", "/assets/blog/authors/priya.jpg"),
)

#: Half of them exist in the bundled static/ folder, half fall back to the generated cover.
COVERS = (
    "/assets/blog/production-rag-with-postgres-and-pgvector/cover.jpg",
    "/assets/blog/zero-downtime-postgres-migrations/cover.jpg",
    "/assets/blog/streaming-llm-responses-to-the-browser/cover.jpg",
    "/assets/blog/hardening-a-flask-app-for-production/cover.jpg",
    "/assets/blog/synthetic/missing-cover-1.jpg",
    "/assets/blog/synthetic/missing-cover-2.jpg",
)

TITLE_START = (
    "Lessons from",
    "A Practical Guide to",
    "What We Learned Shipping",
    "Debugging",
    "Scaling",
    "Rethinking",
    "Notes on",
    "The Hidden Cost of",
    "Getting Started with",
    "Migrating to",
    "Benchmarking",
    "Securing",
)
TITLE_TOPIC = (
    "Connection Pools",
    "Vector Search",
    "Feature Flags",
    "Background Jobs",
    "Structured Logging",
    "Edge Caching",
    "Schema Migrations",
    "Rate Limiting",
    "Embeddings",
    "Async I/O",
    "Container Images",
    "Retry Budgets",
    "Service Meshes",
    "Load Shedding",
    "Static Typing",
    "Prompt Evaluation",
)
TITLE_END = (
    "in Production",
    "at Scale",
    "for Small Teams",
    "Without Downtime",
    "the Boring Way",
    "on a Budget",
    "in 2024",
    "with Postgres",
    "",
)

SUBJECTS = (
    "The team",
    "Our on-call rotation",
    "The first prototype",
    "Every request",
    "The query planner",
    "A single worker",
    "The cache layer",
    "The build pipeline",
    "The new scheduler",
    "Most dashboards",
    "The client library",
    "Each deploy",
)
VERBS = (
    "spent most of its time",
    "quietly depended on",
    "turned out to be limited by",
    "kept running into",
    "was rewritten around",
    "became measurably faster after",
    "failed in interesting ways because of",
    "stopped paging us once we fixed",
    "needed far less memory after",
    "was simpler to reason about with",
)
OBJECTS = (
    "a forgotten index on the events table",
    "the default timeout of the HTTP client",
    "lock contention in the connection pool",
    "an unbounded queue between two services",
    "serialising large JSON documents",
    "DNS lookups on the hot path",
    "a retry loop without jitter",
    "the garbage collector's pause times",
    "a cold cache after every deploy",
    "N+1 queries hidden behind an ORM",
    "TLS handshakes to the metadata service",
    "a cron job nobody remembered writing",
)
TAILS = (
    "which nobody had measured before.",
    "and the graphs made that obvious in hindsight.",
    "so we wrote it down here.",
    "as the load test showed within minutes.",
    "even though the code looked fine in review.",
    "which is cheaper than it sounds.",
    "and the fix was a one-line change.",
    "until traffic doubled in the spring.",
)
LINKS = (
    ("the PostgreSQL documentation", "https://www.postgresql.org/docs/current/"),
    ("the Python docs", "https://docs.python.org/3/"),
    ("MDN", "https://developer.mozilla.org/"),
    ("our earlier post", "/posts/production-rag-with-postgres-and-pgvector"),
    ("the OpenTelemetry spec", "https://opentelemetry.io/docs/specs/"),
    ("RFC 9111", "https://www.rfc-editor.org/rfc/rfc9111"),
)
HEADINGS = (
    "Why it matters",
    "The setup",
    "What we measured",
    "Where the time went",
    "A first attempt",
    "The fix",
    "Trade-offs",
    "Operational notes",
    "Edge cases",
    "Rolling it out",
    "Results",
    "What we would do differently",
    "Further reading",
)

CODE = {
    "python": '''import asyncio
import time


async def fetch_all(client, urls, limit=8):
    """Fetch every URL with at most ``limit`` requests in flight."""
    semaphore = asyncio.Semaphore(limit)

    async def one(url):
        async with semaphore:
            started = time.perf_counter()
            response = await client.get(url, timeout=5.0)
            return url, response.status_code, time.perf_counter() - started

    return await asyncio.gather(*(one(u) for u in urls))
''',
    "js": """export async function* streamLines(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let index;
    while ((index = buffer.indexOf("\\n")) >= 0) {
      yield buffer.slice(0, index);
      buffer = buffer.slice(index + 1);
    }
  }
  if (buffer) yield buffer;
}
""",
    "bash": """#!/usr/bin/env bash
set -euo pipefail

for host in "${HOSTS[@]}"; do
  echo "checking ${host}"
  if ! curl -fsS --max-time 5 "https://${host}/healthz" > /dev/null; then
    echo "unhealthy: ${host}" >&2
    exit 1
  fi
done
psql "$DATABASE_URL" -c 'SELECT count(*) FROM pg_stat_activity;'
""",
}


def _sentence(rng: random.Random) -> str:
    text = f"{rng.choice(SUBJECTS)} {rng.choice(VERBS)} {rng.choice(OBJECTS)}, {rng.choice(TAILS)}"
    roll = rng.random()
    if roll < 0.12:
        words = text.split(" ")
        i = rng.randrange(1, len(words) - 1)
        words[i] = f"*{words[i]}*"
        text = " ".join(words)
    elif roll < 0.22:
        words = text.split(" ")
        i = rng.randrange(1, len(words) - 2)
        words[i] = f"**{words[i]} {words[i + 1]}**"
        del words[i + 1]
        text = " ".join(words)
    elif roll < 0.30:
        label, url = rng.choice(LINKS)
        text = text[:-1] + f"; see [{label}]({url})."
    elif roll < 0.36:
        text = text[:-1] + f", measured with `{rng.choice(('perf', 'py-spy', 'wrk', 'EXPLAIN ANALYZE', 'strace'))}`."
    return text


def _paragraph(rng: random.Random) -> str:
    return " ".join(_sentence(rng) for _ in range(rng.randint(3, 6)))


def _bullets(rng: random.Random) -> str:
    return "\n".join(f"- {_sentence(rng)}" for _ in range(rng.randint(3, 6)))


def _ordered(rng: random.Random) -> str:
    return "\n".join(f"{i}. {_sentence(rng)}" for i in range(1, rng.randint(3, 6) + 1))


def _table(rng: random.Random) -> str:
    rows = ["| setting | before | after | change |", "|---|---:|---:|:---:|"]
    for _ in range(rng.randint(3, 6)):
        before = rng.randint(20, 900)
        after = max(1, int(before * rng.uniform(0.2, 1.1)))
        rows.append(f"| `{rng.choice(OBJECTS).split()[-1]}` | {before} ms | {after} ms | {after / before:.0%} |")
    return "\n".join(rows)


def _code(rng: random.Random) -> str:
    lang = rng.choice(sorted(CODE))
    return f"```{lang}\n{CODE[lang]}```"


def _body(rng: random.Random, target: int, footnote: bool) -> str:
    blocks = [_paragraph(rng), _paragraph(rng)]
    extras = [_bullets, _ordered, _table, _code]
    headings = rng.sample(HEADINGS, len(HEADINGS))
    h = 0
    while sum(len(b) + 2 for b in blocks) < target:
        level = "##" if h == 0 or rng.random() < 0.6 else "###"
        blocks.append(f"{level} {headings[h % len(headings)]}")
        h += 1
        blocks.append(_paragraph(rng))
        if extras:
            blocks.append(extras.pop(rng.randrange(len(extras)))(rng))
        elif rng.random() < 0.4:
            blocks.append(rng.choice((_bullets, _ordered))(rng))
        blocks.append(_paragraph(rng))
    for extra in extras:  # every post gets a list of each kind, a table and a code block
        blocks += [extra(rng), _paragraph(rng)]
    if footnote:
        blocks.insert(1, blocks.pop(1) + "[^1]")
        blocks.append(f"[^1]: {_sentence(rng)}")
    return "\n\n".join(blocks) + "\n"


def _date(rng: random.Random) -> str:
    start = dt.datetime(2019, 1, 1)
    moment = start + dt.timedelta(seconds=rng.randrange(int(6.5 * 365 * 86400)))
    form = rng.random()
    if form < 0.15:
        return moment.date().isoformat()  # bare date
    if form < 0.35:
        return moment.isoformat(timespec="seconds") + "Z"
    if form < 0.55:
        return moment.isoformat(timespec="microseconds")  # naive, with microseconds
    hours = rng.choice((-8, -5, -3, 1, 2, 5.5, 9))
    sign = "-" if hours < 0 else "+"
    hh, mm = int(abs(hours)), int(abs(hours) % 1 * 60)
    return moment.isoformat(timespec="seconds") + f"{sign}{hh:02d}:{mm:02d}"


def _yaml_str(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_post(i: int, rng: random.Random) -> tuple[str, str]:
    """``(file name, text)`` of post number ``i``."""
    end = rng.choice(TITLE_END)
    title = f"{rng.choice(TITLE_START)} {rng.choice(TITLE_TOPIC)} {end}".strip()
    slug = "-".join(title.lower().replace("/", " ").split()) + f"-{i:05d}"
    name, picture = rng.choice(AUTHORS)
    tags = rng.sample(TAGS, rng.randint(1, 4))
    lines = ["---", f"title: {_yaml_str(title)}"]
    if rng.random() < 0.5:
        lines.append(f"excerpt: {_yaml_str(_sentence(rng) + ' ' + _sentence(rng))}")
    cover = rng.choice(COVERS) if rng.random() < 0.4 else None
    if cover:
        lines.append(f"coverImage: {_yaml_str(cover)}")
    lines.append(f"date: {_yaml_str(_date(rng))}")
    lines += ["author:", f"  name: {name}", f"  picture: {picture}"]
    if cover:
        lines += ["ogImage:", f"  url: {_yaml_str(cover)}"]
    if rng.random() < 0.5:
        lines.append(f"tags: [{', '.join(tags)}]")
    else:
        lines.append(f"tags: {_yaml_str(', '.join(tags))}")
    lines.append("---")
    body = _body(rng, rng.randint(2000, 5800), footnote=rng.random() < 0.3)
    return slug + ".md", "\n".join(lines) + "\n\n" + body


def write_posts(n: int, directory: str | os.PathLike[str], seed: int = 20240601) -> list[Path]:
    """Write ``n`` posts into ``directory`` (created if needed); returns their paths."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    paths = []
    for i in range(n):
        name, text = make_post(i, rng)
        path = out / name
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of posts")
    parser.add_argument("directory", help="folder to write them into")
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    paths = write_posts(args.n, args.directory, seed=args.seed)
    total = sum(p.stat().st_size for p in paths)
    print(f"wrote {len(paths)} posts, {total / 1024 / max(1, len(paths)):.1f} KB average, to {args.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
