"""Moved and removed posts, the author's preview of an invalid post, and security headers."""

from __future__ import annotations

import pytest

from blogapp import create_app
from tests.conftest import post_text


@pytest.fixture
def gone_file(tmp_path):
    return tmp_path / "gone.txt"


@pytest.fixture
def app(config, gone_file):
    return create_app({**config, "BLOG_GONE_FILE": str(gone_file)})


def test_aliases_answer_old_urls_with_a_real_301(client, write_post):
    write_post("new-name.md", post_text("New Name", aliases="[old-name, /2019/01/old-style.html, /blog/x/]"))
    for old in ("/posts/old-name", "/2019/01/old-style.html", "/blog/x", "/blog/x/"):
        response = client.get(old)
        assert response.status_code == 301, old
        assert response.headers["Location"] == "/posts/new-name"
    assert client.get("/posts/new-name").status_code == 200


def test_alias_redirect_carries_the_mount_prefix(client, write_post):
    write_post("moved.md", post_text("Moved", aliases="was-here"))
    response = client.get("/posts/was-here", base_url="http://localhost/blog/")
    assert response.headers["Location"] == "/blog/posts/moved"


def test_an_alias_never_hides_a_live_post(client, write_post):
    write_post("thief.md", post_text("Thief", aliases="hello-world"))
    response = client.get("/posts/hello-world")
    assert response.status_code == 200
    assert b"Hello World" in response.data


def test_aliases_of_hidden_posts_do_not_redirect(client, write_post):
    write_post("secret.md", post_text("Secret", draft="true", aliases="leak"))
    assert client.get("/posts/leak").status_code == 404


def test_removed_posts_answer_410(client, gone_file):
    assert client.get("/posts/removed-thing").status_code == 404
    gone_file.write_text("# removed on purpose\nremoved-thing\n/old/page.html  # with a comment\n")
    response = client.get("/posts/removed-thing")
    assert response.status_code == 410
    assert b"removed" in response.data
    assert client.get("/old/page.html").status_code == 410
    assert client.get("/posts/still-missing").status_code == 404


def test_invalid_post_preview_in_debug_only(config, gone_file, write_post):
    write_post("broken.md", '---\ntitle: "Broken "quotes""\ndate: 2024-01-01\n---\nBody\n')
    quiet = create_app({**config, "BLOG_GONE_FILE": str(gone_file)}).test_client()
    assert quiet.get("/posts/broken").status_code == 404
    assert b"not valid YAML" not in quiet.get("/posts/broken").data
    debug_app = create_app({**config, "BLOG_GONE_FILE": str(gone_file), "DEBUG": True})
    response = debug_app.test_client().get("/posts/broken")
    assert response.status_code == 422
    text = response.data.decode()
    assert "broken.md" in text and "front matter is not valid YAML" in text
    assert "<dt>Line</dt><dd>2</dd>" in text


SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Frame-Options": "DENY",
}


@pytest.mark.parametrize("url", ["/", "/posts/hello-world", "/feed.xml", "/healthz", "/nope", "/assets/blog/cover.png"])
def test_security_headers_on_every_response(client, url):
    for _ in range(2):  # a cache miss, then a hit served before Flask
        with client.get(url) as response:
            for name, value in SECURITY.items():
                assert response.headers[name] == value, (url, name)
            csp = response.headers["Content-Security-Policy"]
            assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
            assert "frame-ancestors 'none'" in csp
            assert "script-src 'self'" in csp
            assert "camera=()" in response.headers["Permissions-Policy"]
            assert "Strict-Transport-Security" not in response.headers


def test_security_headers_on_static_files_and_304s_once_each(client):
    """Cache hits, fingerprinted static files and 304s carry the same headers, never twice."""
    import re

    css = re.search(r'href="(/static/css/site\.[0-9a-f]{10}\.css)"', client.get("/").get_data(as_text=True))[1]
    page = client.get("/posts/hello-world")
    answers = [
        client.get(css),
        client.get(css, headers={"Accept-Encoding": "br"}),
        client.get("/posts/hello-world", headers={"If-None-Match": page.headers["ETag"]}),
        client.get("/posts/hello-world", headers={"Accept-Encoding": "gzip"}),
    ]
    assert [a.status_code for a in answers] == [200, 200, 304, 200]
    for answer in answers:
        names = [name.lower() for name, _ in answer.headers]
        for name in [*SECURITY, "Content-Security-Policy", "Permissions-Policy"]:
            assert names.count(name.lower()) == 1, (answer, name)
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_hsts_only_for_an_https_site(config):
    https = create_app({**config, "BLOG_SITE_URL": "https://blog.example.com"}).test_client()
    assert https.get("/").headers["Strict-Transport-Security"].startswith("max-age=")
    assert https.get("/").headers["X-Cache"] == "LOCAL"
    assert https.get("/").headers["Strict-Transport-Security"].startswith("max-age=")  # on hits too
    plain = create_app({**config, "BLOG_SITE_URL": "http://blog.example.com"}).test_client()
    assert "Strict-Transport-Security" not in plain.get("/").headers


def test_pages_need_no_inline_script(client):
    """What the CSP forbids must not be on the pages: inline scripts or event handlers."""
    import re

    for url in ("/", "/posts/hello-world", "/tags"):
        html = client.get(url).data.decode()
        for script in re.findall(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
            attrs, body = script
            assert "src=" in attrs or "application/ld+json" in attrs, (url, attrs)
            assert "src=" not in attrs or not body.strip()
        assert not re.search(r"\son[a-z]+=", html), url
