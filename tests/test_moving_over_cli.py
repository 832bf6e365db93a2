"""Moving a site over: ``check`` says how to fix what breaks, once; ``check --strict`` finds
text pasted from an AI chat; ``images`` shows its progress."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from blogapp import create_app
from blogapp.cli import progress
from blogapp.posts.yamlhints import hint
from tests.conftest import post_text
from tests.support import within

ROOT = Path(__file__).parent.parent
QUOTES = "excerpt-with-unescaped-quotes.md"


def test_check_prints_each_invalid_post_once_with_a_hint(posts_dir: Path, public_dir: Path, tmp_path: Path):
    """The real command, as an author runs it: stdout and stderr (where the log goes) together."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env |= {"FLASK_BLOG_POSTS_DIR": str(posts_dir), "FLASK_BLOG_PUBLIC_DIR": str(public_dir)}
    env |= {"FLASK_BLOG_IMAGE_CACHE_DIR": str(tmp_path / "images"), "FLASK_BLOG_STATE_DIR": str(tmp_path / "state")}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "blogapp", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    everything = result.stdout + result.stderr
    assert everything.count(QUOTES) == 1, everything
    line = next(line for line in result.stdout.splitlines() if QUOTES in line)
    assert line.startswith(f"{posts_dir / QUOTES}:3: front matter is not valid YAML: ")
    assert line.endswith('use single quotes or escape it as \\"')


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('excerpt: "He said "hi" to me"', "use single quotes or escape it"),
        ("excerpt: 'it's mine'", "use double quotes or double it as ''"),
        ("title: Re: the plan", "put the value in quotes"),
        ("\tdate: 2024-01-01", "replace the tab"),
    ],
)
def test_hints_for_common_yaml_mistakes(line: str, expected: str):
    found = hint(["title: x", line], 1)
    assert found and expected in found


@pytest.mark.parametrize(
    "line", ['excerpt: "He said \\"hi\\" to me"', "excerpt: 'it''s mine'", 'title: "Re: the plan"', 'title: "ok" # c']
)
def test_no_hint_for_valid_lines(line: str):
    assert hint([line], 0) is None


def test_a_hint_for_the_line_before_the_one_yaml_stopped_at():
    assert "escape it" in hint(['excerpt: "a "b" c"', "date: 2024-01-01"], 1)


def test_the_hint_for_an_unescaped_quote_in_a_new_post(runner, write_post):
    write_post("quoted.md", '---\ntitle: Quoted\ndate: 2024-01-01\nexcerpt: "He said "hi" to me"\n---\n\nBody.\n')
    line = next(line for line in runner.invoke(args=["check"]).stdout.splitlines() if "quoted.md" in line)
    assert line.endswith('use single quotes or escape it as \\"'), line


def _strict_warnings(runner, name: str) -> list[str]:
    result = runner.invoke(args=["check", "--strict"])
    return [line for line in result.stdout.splitlines() if f"{name}: warning:" in line]


def test_strict_check_names_links_tagged_by_chatgpt(runner, write_post):
    body = (
        "See [the paper](https://example.org/paper?id=4&utm_source=chatgpt.com) and"
        " <https://example.com/?utm_source=chatgpt.com>, not [this](https://example.net/?utm_source=news).\n"
    )
    write_post("pasted.md", post_text("Pasted", body=body))
    warnings = [w for w in _strict_warnings(runner, "pasted.md") if "utm_source=chatgpt.com" in w]
    assert len(warnings) == 2, warnings
    assert any("https://example.org/paper?id=4&utm_source=chatgpt.com " in w for w in warnings)
    assert any("https://example.com/?utm_source=chatgpt.com " in w for w in warnings)


@pytest.mark.parametrize(
    "last",
    [
        "If you want this reshaped into a shorter piece, I can do that too.",
        "Let me know if you\u2019d like a version with code samples!",
        "*Would you like me to add a section on pricing?*",
    ],
)
def test_strict_check_names_an_assistant_offer_at_the_end(runner, write_post, last: str):
    write_post("offer.md", post_text("Offer", body=f"The real text.\n\nThe conclusion.\n\n{last}\n"))
    warnings = [w for w in _strict_warnings(runner, "offer.md") if "assistant" in w]
    assert len(warnings) == 1 and "remove the last paragraph" in warnings[0], warnings


@pytest.mark.parametrize(
    "body",
    [
        "Let me know if you'd like more posts like this.\n\nAnd then the real conclusion.\n",  # not at the end
        "Readers said: let me know if you'd like a follow-up.\n",  # not how the paragraph opens
    ],
)
def test_strict_check_leaves_the_phrases_alone_elsewhere(runner, write_post, body: str):
    write_post("fine.md", post_text("Fine", body=body))
    assert not [w for w in _strict_warnings(runner, "fine.md") if "assistant" in w or "chatgpt" in w]


def _cover_post(public_dir: Path, write_post) -> None:
    from PIL import Image

    cover = public_dir / "assets" / "big" / "cover.jpg"
    cover.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (1600, 840), (40, 120, 200)).save(cover, "JPEG", quality=80)
    write_post("photo.md", post_text("Photo", body="Text.\n", coverImage="/assets/big/cover.jpg"))


def test_images_prints_progress_lines_without_a_terminal(config: dict, public_dir: Path, write_post):
    _cover_post(public_dir, write_post)
    result = create_app(config).test_cli_runner().invoke(args=["images"])
    assert result.exit_code == 0, result.output
    lines = re.findall(r"^image variants: (\d+)/(\d+) \((\d+)%\)$", result.stderr, re.M)
    total = int(re.search(r"(\d+) image variant\(s\) ready", result.stderr)[1])
    assert total > 10 and len(lines) >= 10, result.stderr
    assert lines[-1] == (str(total), str(total), "100")
    assert [int(done) for done, _, _ in lines] == sorted(int(done) for done, _, _ in lines)
    assert "\r" not in result.stderr


def test_images_draws_a_bar_on_a_terminal(config: dict, public_dir: Path, write_post, monkeypatch):
    _cover_post(public_dir, write_post)
    monkeypatch.setattr(progress, "on_terminal", lambda: True)
    monkeypatch.setattr("click._termui_impl.isatty", lambda _stream: True)  # the runner's stderr is no tty
    app: Flask = create_app(config)
    result = app.test_cli_runner().invoke(args=["images"])
    assert result.exit_code == 0, result.output
    total = int(re.search(r"(\d+) image variant\(s\) ready", result.stderr)[1])
    assert "image variants  [" in result.stderr and f"{total}/{total}" in result.stderr, result.stderr
    assert "\r" in result.stderr  # redrawn in place
    assert not re.search(r"^image variants: \d+/", result.stderr, re.M)


def test_strict_check_takes_the_link_without_trailing_punctuation(runner, write_post):
    body = (
        "As https://example.org/a?utm_source=chatgpt.com. says;"
        " https://example.org/b?utm_source=chatgpt.community is fine.\n"
    )
    write_post("plain.md", post_text("Plain", body=body))
    warnings = [w for w in _strict_warnings(runner, "plain.md") if "utm_source=chatgpt.com" in w]
    assert len(warnings) == 1 and "link https://example.org/a?utm_source=chatgpt.com carries" in warnings[0], warnings


def test_strict_check_reads_a_hostile_body_in_linear_time(runner, write_post):
    """A body of "http://" repeated: a pattern for the whole link backtracks quadratically."""
    write_post("hostile.md", post_text("Hostile", body="http://" * 250_000))
    with within(20):  # a hang guard: this pass takes well under a second, the quadratic one minutes
        result = runner.invoke(args=["check", "--strict"])
    named = [line for line in result.stdout.splitlines() if "hostile.md" in line]
    assert named and not [line for line in named if "chatgpt" in line or "warning" not in line], named
