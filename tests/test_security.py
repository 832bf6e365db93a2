"""Hostile requests get a clear 4xx, never a 500, and never a file from outside the content folders."""

from __future__ import annotations

import os

import pytest

from blogapp.pagecache.middleware import PageCache
from tests.conftest import post_text

SECRET = "TOP-SECRET-MARKER"

TRAVERSALS = [
    "/posts/../../etc/passwd",
    "/posts/..%2F..%2Fetc%2Fpasswd",
    "/posts/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/posts/%252e%252e%252fsecret",
    "/posts/..\\..\\secret.txt",
    "/posts/..%5C..%5Csecret.txt",
    "/assets/../../secret.txt",
    "/assets/..%2F..%2Fsecret.txt",
    "/%2e%2e/secret.txt",
    "/%252e%252e%252fsecret.txt",
    "/..%5Csecret.txt",
    "/assets\\..\\..\\secret.txt",
    "/static/../secret.txt",
    "/static/..%2Fsecret.txt",
    "//etc/passwd",
    "/etc/passwd",
    "/posts/%00",
    "/posts/hello-world%00.md",
    "/assets/blog/cover.png%00.txt",
    "/%00",
    "/posts/" + "a" * 5000,
    "/tags/" + "%00" * 10,
    "/tags/../../secret.txt",
    "/posts/hello-world/../../secret.txt",
    "/.git/config",
    "/assets/.hidden",
]


@pytest.fixture
def secret(tmp_path):
    """A file beside the posts and public folders that must never be served."""
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    return path


@pytest.mark.parametrize("url", TRAVERSALS)
def test_traversal_and_junk_paths_are_4xx(client, secret, url):
    with client.get(url) as response:
        assert 400 <= response.status_code < 500, (url, response.status_code)
        assert SECRET.encode() not in response.data


def test_symlink_in_public_dir_pointing_outside_is_not_served(client, public_dir, secret):
    os.symlink(secret, public_dir / "leak.txt")
    os.symlink(secret.parent, public_dir / "leakdir")
    for url in ("/leak.txt", "/leakdir/secret.txt"):
        with client.get(url) as response:
            assert response.status_code == 404
            assert SECRET.encode() not in response.data


def test_symlink_inside_public_dir_is_served(client, public_dir):
    os.symlink(public_dir / "assets" / "blog" / "cover.png", public_dir / "alias.png")
    with client.get("/alias.png") as response:
        assert response.status_code == 200


def test_symlinked_post_pointing_outside_is_not_a_post(client, posts_dir, tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text(post_text("Outside", body=SECRET))
    os.symlink(outside, posts_dir / "outside.md")
    assert client.get("/posts/outside").status_code == 404
    assert SECRET.encode() not in client.get("/").data


def test_hidden_files_in_public_dir_are_not_served(client, public_dir):
    (public_dir / ".env").write_text(SECRET)
    (public_dir / "assets" / ".hidden").write_text(SECRET)
    for url in ("/.env", "/assets/.hidden", "/%2eenv"):
        with client.get(url) as response:
            assert response.status_code == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "PROPFIND"])
def test_unknown_methods_are_405_or_501_never_500(client, method):
    for url in ("/", "/posts/hello-world", "/assets/blog/cover.png"):
        response = client.open(url, method=method)
        assert response.status_code in (405, 501), (method, url, response.status_code)


def test_forged_host_never_reaches_other_visitors(client):
    forged = client.get("/posts/hello-world", headers={"Host": "evil.example"})
    assert b"evil.example" in forged.data  # unset BLOG_SITE_URL: the request's own host...
    honest = client.get("/posts/hello-world", headers={"Host": "blog.example.org"})
    assert b"evil.example" not in honest.data  # ...but never cached for anyone else
    assert b"blog.example.org" in honest.data


def test_host_header_with_markup_is_rejected_or_escaped(client):
    response = client.get("/", headers={"Host": 'evil.example"><script>alert(1)</script>'})
    assert response.status_code < 500
    assert b"<script>alert(1)</script>" not in response.data


def test_trusted_hosts_setting_rejects_other_hosts(config):
    from blogapp import create_app

    client = create_app({**config, "TRUSTED_HOSTS": ["blog.example.org"]}).test_client()
    assert client.get("/", headers={"Host": "blog.example.org"}).status_code == 200
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400


def page_cache(app) -> PageCache:
    """The PageCache among the app's WSGI layers (each holds the next as .app or .wsgi_app)."""
    layer = app.wsgi_app
    while not isinstance(layer, PageCache):
        layer = getattr(layer, "app", None) or layer.wsgi_app
    return layer


def test_a_flood_of_made_up_hosts_is_remembered_within_bounds(config):
    from blogapp import create_app

    app = create_app({**config, "TRUSTED_HOSTS": ["blog.example.org"]})
    client = app.test_client()
    for i in range(200):
        assert client.get("/", headers={"Host": f"evil{i}.example"}).status_code == 400
        assert client.get("/", headers={"Host": "blog.example.org"}).status_code == 200
    cache = page_cache(app)
    assert len(cache._hosts) <= 64  # the page cache's memo of hosts it has checked
    assert client.get("/", headers={"Host": "evil1.example"}).status_code == 400  # still refused


def test_query_strings_do_not_break_or_split_pages(client):
    assert client.get("/?page=%00&x=" + "y" * 5000).status_code == 200
    assert client.get("/posts/hello-world?utm_source=%ff%fe").status_code == 200


def test_answers_given_before_flask_carry_the_security_headers_once(config):
    """SecurityHeaders is the outermost layer: a 400 from PrefixGuard (a forwarded prefix that
    is not a path) gets them as a page does, and a page-cache hit gets each exactly once."""
    from blogapp import create_app

    client = create_app({**config, "BLOG_PROXY_COUNT": 1}).test_client()
    refused = client.get("/", headers={"X-Forwarded-Prefix": "//evil.example"})
    assert refused.status_code == 400
    for response in (refused, client.get("/"), client.get("/")):
        names = [name.lower() for name, _ in response.headers]
        for name in ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"):
            assert names.count(name) == 1, (response.status_code, name)
