"""Hostile post files (issue 10): whatever a post file holds, loading, checking, rendering,
indexing, exporting and serving it takes bounded work, and what comes out is well-formed and
never carries a value the author did not mean as a URL, a path or a flag.

Time limits here are generous ceilings ("within 10 s where the old code took minutes or
hours"), not speed measurements: they keep a regression from hanging the suite.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from blogapp.posts import FrontMatterError
from blogapp.posts import parse_post

from .conftest import post_text
from .servers import Server

ROOT = Path(__file__).parent.parent


class Overran(BaseException):
    """Raised by ``within``: a BaseException, so no ``except Exception`` in the code can hide it."""


@contextlib.contextmanager
def within(seconds: float) -> Iterator[None]:
    """Fail (instead of hanging) when the block runs longer than ``seconds`` (main thread only)."""

    def expired(*_args: object) -> None:
        raise Overran(f"took longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def parse(text: str, source: str = "posts/x.md", slug: str = "x"):
    return parse_post(text, source, str, slug=slug, timezone=dt.UTC, default_author="A")


def run_check(posts: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``flask --app blogapp check`` as an author runs it, over ``posts``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["FLASK_BLOG_POSTS_DIR"] = str(posts)
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blogapp", "check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# -- 1. YAML merge-key bomb ------------------------------------------------------------------


def merge_bomb(depth: int = 40) -> str:
    """Front matter lines whose merges double at each level: 2**depth pairs to build."""
    lines = ["a0: &a0 {k: v}"]
    lines += [f"a{n}: &a{n} {{<<: [*a{n - 1}, *a{n - 1}], k{n}: v}}" for n in range(1, depth + 1)]
    return "\n".join(lines)


MERGE_BOMB_POST = f"---\ntitle: Bomb\ndate: 2024-01-01\n{merge_bomb()}\n---\nBody.\n"


def test_a_merge_key_bomb_is_an_invalid_post_at_once():
    assert len(MERGE_BOMB_POST) < 1500
    with within(10), pytest.raises(FrontMatterError) as info:
        parse(MERGE_BOMB_POST, "posts/bomb.md")
    assert str(info.value).startswith("posts/bomb.md:")  # path:line: reason
    assert info.value.line is not None and 4 <= info.value.line <= 44
    assert "merge" in info.value.reason


@pytest.mark.parametrize(
    "front",
    [
        merge_bomb(),
        # The same doubling through a block mapping, and through a single merged alias.
        "a0: &a0 {k: v}\n" + "\n".join(f"a{n}: &a{n}\n  <<: [*a{n - 1}, *a{n - 1}]\n  k{n}: v" for n in range(1, 41)),
        "a0: &a0 [x, x]\n" + "\n".join(f"a{n}: &a{n} {{<<: {{k: [*a{n - 1}, *a{n - 1}]}}}}" for n in range(1, 41)),
        # Aliases as keys of a merged mapping.
        "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b {*a : 1, y: [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]}\n"
        "c: &c {<<: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b], z: [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]}\n"
        "d: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
        # A mapping that merges itself.
        "a: &a {<<: *a}",
    ],
    ids=["flow", "block", "nested-merge", "alias-keys", "self-merge"],
)
def test_merge_keys_and_aliases_are_bounded_in_every_shape(front):
    with within(10), pytest.raises(FrontMatterError):
        parse(f"---\ntitle: T\ndate: 2024-01-01\n{front}\n---\nBody.\n")


def test_modest_merges_and_aliases_still_work():
    text = "---\ntitle: T\ndate: 2024-01-01\nbase: &b {x: 1, y: 2}\nm: {<<: [*b, *b], z: 3}\nl: [*b, *b]\n---\nB\n"
    post = parse(text)
    assert post.meta["m"] == {"x": 1, "y": 2, "z": 3}
    assert post.meta["l"] == [{"x": 1, "y": 2}, {"x": 1, "y": 2}]


def test_check_reports_a_merge_key_bomb_quickly(tmp_path):
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "bomb.md").write_text(MERGE_BOMB_POST)
    (posts / "fine.md").write_text(post_text("Fine"))
    result = run_check(posts)
    assert result.returncode == 1
    assert f"{posts / 'bomb.md'}:" in result.stdout
    assert "1 valid post(s)" in result.stderr


def test_gunicorn_starts_and_serves_the_other_posts_beside_a_merge_key_bomb(tmp_path):
    """The README's deployment preloads every post in the master before it listens."""
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "bomb.md").write_text(MERGE_BOMB_POST)
    (posts / "fine.md").write_text(post_text("Fine post"))
    server = Server(tmp_path, posts=posts)  # waits (30 s at most) until every worker answers
    try:
        status, body = server.get("/posts/fine")
        assert status == 200 and b"Fine post" in body
        assert server.get("/posts/bomb")[0] == 404
        status, body = server.get("/healthz")
        assert status == 200 and b'"invalid":1' in body.replace(b" ", b"")
    finally:
        server.stop()


# -- 9. draft and preview flags ------------------------------------------------------------

HIDDEN_FLAGS = ['"true"', "1", "'yes'", '" TRUE "', "on", '"1"', "yes"]
SHOWN_FLAGS = ['"false"', "0", "'no'", "off", '""', "null"]


@pytest.mark.parametrize("key", ["draft", "preview", "Draft", "PREVIEW"])
@pytest.mark.parametrize("value", HIDDEN_FLAGS)
def test_a_flag_that_means_true_hides_the_post(client, write_post, key, value):
    write_post("flagged.md", post_text("Flagged", **{key: value}))
    assert client.get("/posts/flagged").status_code == 404
    assert b"Flagged" not in client.get("/feed.xml").data
    assert b"flagged" not in client.get("/sitemap.xml").data


@pytest.mark.parametrize("value", SHOWN_FLAGS)
def test_a_flag_that_means_false_shows_the_post(client, write_post, value):
    write_post("shown.md", post_text("Shown", draft=value, Preview=value))
    assert client.get("/posts/shown").status_code == 200


def test_any_hiding_flag_wins_over_one_that_shows(client, write_post):
    write_post("both.md", post_text("Both", draft="false", Draft="true"))
    assert client.get("/posts/both").status_code == 404


@pytest.mark.parametrize("value", ['"maybe"', "2", "[true]", "{x: 1}", '"tru"', "1.0"])
def test_a_flag_that_is_neither_is_an_invalid_post_named_by_check(runner, client, write_post, posts_dir, value):
    write_post("unsure.md", post_text("Unsure", draft=value))
    assert client.get("/posts/unsure").status_code == 404
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    assert f"{posts_dir / 'unsure.md'}: draft must be true or false" in result.stdout
