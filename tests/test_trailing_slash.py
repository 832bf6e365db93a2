"""Issue 23, item 8 (first bullet): a trailing-slash spelling of any page (Next.js's
``/posts/AppleTrophy/``) 301s to the canonical URL, keeping the mount prefix and the query,
and never to another site."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.conftest import DATA
from tests.conftest import post_text
from tests.servers import Server


@pytest.fixture
def apple(write_post):
    write_post("AppleTrophy.md", post_text("Apple Trophy", date="2026-01-01T00:00:00Z", body="Won."))


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/posts/AppleTrophy/", "/posts/AppleTrophy"),
        ("/posts/AppleTrophy//", "/posts/AppleTrophy"),
        ("/posts/AppleTrophy/?utm_source=x&a=%20b", "/posts/AppleTrophy?utm_source=x&a=%20b"),
        ("/posts/caf%C3%A9-na%C3%AFve/", "/posts/caf%C3%A9-na%C3%AFve"),
        ("/archive/", "/archive"),
        ("/tags/", "/tags"),
        ("/search/?q=hello", "/search?q=hello"),
        ("/feed.xml/", "/feed.xml"),
    ],
)
def test_a_trailing_slash_redirects_to_the_page(client, apple, path, location):
    response = client.get(path)
    assert response.status_code == 301, path
    assert response.headers["Location"] == location
    assert client.get(location).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "/posts/no-such-post/",
        "/assets/blog/nothing.png/",
        "/%2F%2Fevil.example/",  # (a raw "//evil.example/": over gunicorn below)
        "/%5Cevil.example/",
        "/\\evil.example/",
        "/posts/draft/",  # tests/data's draft: not visible, not revealed by a redirect
    ],
)
def test_no_redirect_where_there_is_no_page_nor_to_another_site(client, path):
    response = client.get(path)
    location = response.headers.get("Location")
    if location is None:
        assert response.status_code == 404, path
    else:  # Werkzeug's own slash merging: on this site, never to another
        assert same_site(location), (path, location)


def same_site(location: str) -> bool:
    return location.startswith("/") and not location.startswith(("//", "/\\"))


def test_head_is_redirected_too(client, apple):
    response = client.head("/posts/AppleTrophy/")
    assert response.status_code == 301 and response.headers["Location"] == "/posts/AppleTrophy"


def lowered(status: int, headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    return status, {name.lower(): value for name, value in headers.items()}


def test_under_a_mount_prefix_over_gunicorn(tmp_path: Path):
    shutil.copytree(DATA / "posts", tmp_path / "posts")
    (tmp_path / "posts" / "AppleTrophy.md").write_text(post_text("Apple Trophy", "2026-01-01T00:00:00Z", "Won."))
    server = Server(tmp_path, env={"SCRIPT_NAME": "/blog"}, posts=tmp_path / "posts", name="slash")
    try:
        for path, location in [
            ("/blog/posts/AppleTrophy/", "/blog/posts/AppleTrophy"),
            ("/blog/posts/AppleTrophy/?ref=old", "/blog/posts/AppleTrophy?ref=old"),
            ("/blog/tags/", "/blog/tags"),
        ]:
            status, headers = lowered(*server.get_with_headers(path))
            assert (status, headers.get("location")) == (301, location), path
        for path in ("/blog//evil.example/", "/blog/%2F%2Fevil.example/", "/blog/%5Cevil.example/", "//evil.example/"):
            status, headers = lowered(*server.get_with_headers(path))
            assert status in (301, 308, 404) and same_site(headers.get("location", "/")), (path, headers)
    finally:
        server.stop()


def test_a_raw_double_slash_over_gunicorn_stays_on_the_site(tmp_path: Path):
    server = Server(tmp_path, name="slash-root")
    try:
        for path in (
            "//evil.example/",
            "//evil.example//",
            "///evil.example/",
            "/\\evil.example/",
            "//posts/hello-world/",
        ):
            status, headers = lowered(*server.get_with_headers(path))
            assert status in (301, 308, 404) and same_site(headers.get("location", "/")), (path, headers)
    finally:
        server.stop()
