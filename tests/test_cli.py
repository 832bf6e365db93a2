"""``flask --app blogapp check``: one ``path: reason`` line per invalid post, exit 1 if any."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from .conftest import post_text

INVALID = {
    "date-not-a-date.md",
    "empty.md",
    "excerpt-with-unescaped-quotes.md",
    "front-matter-is-a-list.md",
    "no-title.md",
    "not-utf8.md",
}


def test_check_names_every_invalid_post(runner, posts_dir):
    result = runner.invoke(args=["check"])
    assert result.exit_code == 1
    lines = result.stdout.strip().splitlines()
    named = {Path(line.split(":", 1)[0]).name for line in lines}
    assert named == INVALID
    assert f"{posts_dir / 'excerpt-with-unescaped-quotes.md'}:3: front matter is not valid YAML" in result.stdout
    assert f"{posts_dir / 'no-title.md'}: missing required field 'title'" in result.stdout


def test_check_passes_on_good_posts(runner, posts_dir):
    for name in INVALID:
        (posts_dir / name).unlink()
    result = runner.invoke(args=["check"])
    assert result.exit_code == 0
    assert result.stdout == ""


def test_check_reports_duplicate_slugs(runner, posts_dir, write_post):
    write_post("another.md", post_text("Another", slug="hello-world"))
    result = runner.invoke(args=["check"])
    assert "another.md: slug 'hello-world' is already used by" in result.stdout


def test_check_command_line_on_the_bundled_content():
    """The real command, as an author runs it, over content/posts."""
    root = Path(__file__).parent.parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blogapp", "check"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "invalid" in result.stderr
