"""The public-files module: path safety, remote URLs, lookup, URLs; and templates that do no I/O."""

from __future__ import annotations

import builtins
import os

import pytest
from flask import template_rendered

from blogapp import create_app
from blogapp import public
from blogapp.files import paths as publicfiles


@pytest.mark.parametrize(
    ("url", "remote"),
    [
        ("https://cdn.example.com/x.jpg", True),
        ("HTTP://cdn.example.com/x.jpg", True),
        ("//cdn.example.com/x.jpg", True),
        ("ftp://host/x", True),
        ("/assets/x.jpg", False),
        ("assets/x.jpg", False),
        ("/assets/x.jpg?from=https://elsewhere", False),  # "://" later in the value is not a host
        ("data:image/png;base64,AAAA", False),
        ("", False),
    ],
)
def test_is_remote(url, remote):
    assert publicfiles.is_remote(url) is remote


@pytest.mark.parametrize(
    ("url", "expected"),
    [("/a.png", True), ("a.png", True), ("#top", False), ("mailto:a@b.c", False), ("data:x", False), ("//h/a", False)],
)
def test_is_file_path(url, expected):
    assert publicfiles.is_file_path(url) is expected


@pytest.fixture
def folder(tmp_path):
    root = tmp_path / "public"
    (root / "img").mkdir(parents=True)
    (root / "img" / "a.png").write_bytes(b"x")
    (root / ".env").write_text("SECRET=1")
    (root / ".git").mkdir()
    (root / ".git" / "config").write_text("x")
    (tmp_path / "outside.txt").write_text("x")
    (root / "out").symlink_to(tmp_path / "outside.txt")
    (root / "in").symlink_to(root / "img" / "a.png")
    return root


def test_resolve_inside_finds_regular_files_only_inside(folder):
    real = os.path.realpath(folder / "img" / "a.png")
    assert publicfiles.resolve_inside(folder, "img/a.png") == real
    assert publicfiles.resolve_inside(folder, "/img/a.png") == real
    assert publicfiles.resolve_inside(folder, "in") == real  # a symlink staying inside is followed
    for name in ("", "img", "img/missing.png", ".env", ".git/config", "img/../.env", "../outside.txt", "out", "a\0b"):
        assert publicfiles.resolve_inside(folder, name) is None, name


def test_is_inside(folder):
    assert publicfiles.is_inside(folder / "img" / "a.png", folder)
    assert publicfiles.is_inside(folder / "in", folder)
    assert not publicfiles.is_inside(folder / "out", folder)
    assert not publicfiles.is_inside(folder, folder)
    assert not publicfiles.is_inside(str(folder) + "-other/x", folder)  # a prefix is not a parent


def test_lookup_and_urls_under_the_public_folder(app):
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/blog"}):
        assert public.find("/assets/blog/cover.png?v=2#top").endswith("/assets/blog/cover.png")
        assert public.find("https://cdn.example.com/assets/blog/cover.png") is None
        assert public.find("/assets/blog/missing.png") is None
        assert public.find(None) is None
        assert public.exists("/assets/blog/cover.png")
        assert public.exists("https://cdn.example.com/x.png")  # remote: taken on trust
        assert not public.exists("/assets/blog/missing.png")
        assert not public.exists(None)
        assert public.public_url("/assets/blog/cover.png") == "/blog/assets/blog/cover.png"
        assert public.public_url("https://cdn.example.com/x.png") == "https://cdn.example.com/x.png"


def test_body_image_size_resolves_relative_sources_against_the_page(app):
    with app.test_request_context():
        assert public.body_image_size("../assets/blog/cover.png", "/posts/x") is not None
        assert public.body_image_size("/assets/blog/cover.png", "/posts/x") is not None
        assert public.body_image_size("/assets/blog/co%76er.png", "/posts/x") is not None  # %76 is "v"
        assert public.body_image_size("https://cdn.example.com/assets/blog/cover.png", "/posts/x") is None
        assert public.body_image_size("", "/posts/x") is None


@pytest.mark.parametrize("url", ["/", "/posts/hello-world", "/posts/missing-cover", "/tags/python", "/archive"])
def test_templates_read_no_file(config, monkeypatch, url):
    """Rendering a page's template again, from the context its view gave, with every way of
    reading the disk made to fail, gives the same HTML: the views resolved every file. (No look
    at the posts is due meanwhile: the store's own checks read the disk, by design.)"""
    app = create_app({**config, "BLOG_RELOAD_INTERVAL": 3600})
    client = app.test_client()
    captured = []

    def record(sender, template, context, **extra):
        captured.append((template, context))

    with template_rendered.connected_to(record, app):
        response = client.get(url)
    assert response.status_code == 200
    (template, context), *_ = captured

    def refuse(*args, **kwargs):
        raise AssertionError(f"a template touched the disk: {args}")

    with app.test_request_context(url), monkeypatch.context() as patch:
        for name in ("stat", "lstat", "open", "scandir", "listdir"):
            patch.setattr(os, name, refuse)
        patch.setattr(builtins, "open", refuse)
        html = template.render(context)
    assert html == response.get_data(as_text=True)
