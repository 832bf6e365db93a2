"""Issue 23, item 8: the README's migration section lists the steps in the order a site owner
takes them: check, fix, images, serve, the robots line."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).parent.parent / "README.md"


def migration_steps() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Moving a blog-starter site over", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\d+\. \*\*(.+?)\*\*(.*(?:\n {3}.*)*)", section, re.M)


def test_the_steps_are_in_order():
    assert [name for name, _ in migration_steps()] == ["Check", "Fix", "Images", "Serve", "Robots"]


def test_each_step_says_what_to_run_or_write():
    steps = dict(migration_steps())
    assert "flask --app blogapp check" in steps["Check"]
    assert "flask --app blogapp images" in steps["Images"]
    assert "gunicorn wsgi:app" in steps["Serve"]
    assert re.search(r"`Sitemap: https://\S+/blog/sitemap\.xml`", steps["Robots"])
    assert "robots.txt" in steps["Robots"]
