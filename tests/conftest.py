"""Shared fixtures: an app over a temporary copy of tests/data, its clients and helpers."""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask import template_rendered
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner

from blogapp import create_app

DATA = Path(__file__).parent / "data"
SITE_URL = "https://blog.example.com"
#: Slugs of fixture files that must never be listed: drafts, future, invalid and ignored files.
HIDDEN_SLUGS = (
    "draft",
    "preview",
    "future",
    "date-not-a-date",
    "no-title",
    "empty",
    "not-utf8",
    "front-matter-is-a-list",
    "excerpt-with-unescaped-quotes",
    "inside",
    "backup",
    "notes",
)


@pytest.fixture
def posts_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/data/posts."""
    target = tmp_path / "posts"
    shutil.copytree(DATA / "posts", target, symlinks=True)
    return target


@pytest.fixture
def public_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/data/public."""
    target = tmp_path / "public"
    shutil.copytree(DATA / "public", target)
    return target


@pytest.fixture
def config(posts_dir: Path, public_dir: Path) -> dict:
    """The test configuration; tests may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "BLOG_POSTS_DIR": str(posts_dir),
        "BLOG_PUBLIC_DIR": str(public_dir),
        "BLOG_IMAGE_CACHE_DIR": str(public_dir.parent / "image-cache"),
        "BLOG_STATE_DIR": str(public_dir.parent / "state"),
        "BLOG_SITE_URL": "",
        "BLOG_RELOAD_INTERVAL": 0,
        "CACHE_TYPE": "SimpleCache",
    }


@pytest.fixture
def app(config: dict) -> Flask:
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def write_post(posts_dir: Path) -> Callable[..., Path]:
    """Write (or overwrite) a post file and make sure its mtime moves, as an editor would."""

    def write(name: str, text: str | bytes) -> Path:
        path = posts_dir / name
        existed = path.exists()
        old = path.stat().st_mtime_ns if existed else 0
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        if existed and path.stat().st_mtime_ns == old:
            os.utime(path, ns=(time.time_ns(), old + 1_000_000))
        return path

    return write


@contextlib.contextmanager
def count_renders(app: Flask) -> Iterator[list[str]]:
    """Record the name of every template ``app`` renders inside the block."""
    rendered: list[str] = []

    def record(sender, template, context, **extra):
        rendered.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield rendered
    finally:
        template_rendered.disconnect(record, app)


def post_text(title: str, date: str = "2024-05-01T10:00:00Z", body: str = "Body.", **fields: str) -> str:
    """Front matter + body for a quick post."""
    extra = "".join(f"{key}: {value}\n" for key, value in fields.items())
    return f'---\ntitle: "{title}"\ndate: "{date}"\n{extra}---\n{body}\n'
