"""deploy/nginx.conf, tested: a private nginx renders it in front of real gunicorn, and the
blog's HTTP promises hold through it -- headers, validators, absolute URLs built from the
client's Host, static files served by nginx itself, and mounting under /blog/.

Needs the ``nginx`` binary (Debian package ``nginx``): skipped without it, failed in CI.
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import subprocess
import time

import pytest

from tests.servers import NGINX_BROWSER
from tests.servers import NGINX_HOST
from tests.servers import NGINX_SITE
from tests.servers import NGINX_VARIABLES
from tests.servers import ROOT
from tests.servers import decoded_text
from tests.servers import nginx_stack
from tests.servers import render_nginx_site

HOST = NGINX_HOST
BROWSER = NGINX_BROWSER
_CANONICAL = re.compile(r'<link rel="canonical" href="([^"]+)"')
_STYLESHEET = re.compile(r'<link rel="stylesheet" href="([^"]+)"')


@pytest.fixture
def stack(tmp_path):
    with nginx_stack(tmp_path) as running:
        yield running


@pytest.fixture
def mounted(tmp_path):
    with nginx_stack(tmp_path, prefix="/blog") as running:
        yield running


def test_pages_come_through_with_the_blogs_headers(stack):
    _, nginx = stack
    first = nginx.request("/posts/hello-world", BROWSER)
    again = nginx.request("/posts/hello-world", BROWSER)
    assert (first.status, again.status) == (200, 200)
    assert first.getheader("X-Cache-Status") == "MISS"
    # nginx's edge cache (tests/test_edge.py); REVALIDATED if the copy's second had ended
    assert again.getheader("X-Cache-Status") in ("HIT", "REVALIDATED")
    for response in (first, again):
        assert response.getheader("Content-Encoding") == "br"  # the blog's own, passed through
        assert response.getheader("ETag", "").endswith('-br"')  # strong: nginx did not recompress
        assert not response.getheader("ETag").startswith("W/")
        assert response.getheader("Cache-Control").startswith("public, max-age=")
        assert "stale-while-revalidate=" in response.getheader("Cache-Control")
        assert "Accept-Encoding" in response.getheader("Vary")
        assert "default-src 'self'" in response.getheader("Content-Security-Policy")
        assert response.getheader("X-Content-Type-Options") == "nosniff"
        assert response.getheader("Last-Modified")  # passed through (tests/test_last_modified.py)
    assert "<h1" in decoded_text(first)
    health = nginx.request("/healthz", {"Host": HOST})
    assert health.status == 200 and health.getheader("Cache-Control") == "no-store"
    assert nginx.request("/posts/no-such-post", {"Host": HOST}).status == 404


def test_only_get_and_head_reach_the_blog(stack):
    """The config's promise (issue 20, item 8): every other method is refused by nginx, in
    every location: the edge cache, /search, static files by fingerprint or not, and the
    fallback to gunicorn for a fingerprint with no file."""
    gunicorn, nginx = stack
    css = _STYLESHEET.search(decoded_text(nginx.request("/", BROWSER)))[1]
    paths = ["/posts/hello-world", "/search?q=hello", "/healthz", css, "/static/css/site.css"]
    paths.append(css.replace("/site.", "/no-such-file."))
    for method in ("POST", "PUT", "DELETE", "PATCH", "PROPFIND", "OPTIONS", "TRACE", "MKCOL"):
        for path in paths:
            response = nginx.request(path, {"Host": HOST, "Content-Length": "0"}, method=method)
            assert response.status in (403, 405), (method, path, response.status)
    for method in ("GET", "HEAD"):
        assert nginx.request("/posts/hello-world", {"Host": HOST}, method=method).status == 200
        assert nginx.request("/search?q=hello", {"Host": HOST}, method=method).status == 200
    time.sleep(0.3)  # gunicorn logs just after answering
    assert set(re.findall(r'"([A-Z]+) \S+ HTTP/1\.[01]"', gunicorn.log_text())) <= {"GET", "HEAD"}


def test_conditional_requests_get_304(stack):
    _, nginx = stack
    page = nginx.request("/feed.xml", BROWSER)
    etag = page.getheader("ETag")
    by_etag = nginx.request("/feed.xml", {**BROWSER, "If-None-Match": etag})
    # nginx compares a date with its copy's Last-Modified exactly (if_modified_since exact):
    # any other date gets the whole answer.
    by_date = nginx.request("/feed.xml", {"Host": HOST, "If-Modified-Since": "Fri, 31 Dec 9999 23:59:59 GMT"})
    assert (by_etag.status, by_etag.data) == (304, b"")
    assert by_date.status == 200 and by_date.data
    assert by_etag.getheader("ETag") == etag
    assert nginx.request("/feed.xml", {**BROWSER, "If-None-Match": '"other"'}).status == 200


def test_absolute_urls_name_the_site_whatever_host_the_client_sent(stack):
    _, nginx = stack
    page = nginx.request("/posts/hello-world", {"Host": f"{HOST}:8080"})
    assert _CANONICAL.search(decoded_text(page))[1] == f"http://{HOST}/posts/hello-world"
    # Headers a client forges are replaced (Host, Proto, For) or dropped (Port, Prefix) by nginx.
    forged = nginx.request(
        "/posts/tags-as-list",
        {
            "Host": "evil.example",
            "X-Forwarded-Host": "evil.example",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-Port": "666",
            "X-Forwarded-Prefix": "/evil",
        },
    )
    assert forged.getheader("X-Cache-Status") == "MISS"  # rendered now, for this request
    assert _CANONICAL.search(decoded_text(forged))[1] == f"http://{HOST}/posts/tags-as-list"
    api = nginx.request("/api/latest-posts", {"Host": "other.example.test"})
    assert all(item["url"].startswith(f"http://{HOST}/posts/") for item in _json(api))


def _json(response) -> list:
    return json.loads(decoded_text(response))


def test_fingerprinted_static_files_are_served_by_nginx(stack):
    gunicorn, nginx = stack
    href = _STYLESHEET.search(decoded_text(nginx.request("/", BROWSER)))[1]
    assert re.fullmatch(r"/static/css/site\.[0-9a-f]{10}\.css", href), href
    response = nginx.request(href, {"Host": HOST})
    assert response.status == 200
    assert response.data == (ROOT / "static" / "css" / "site.css").read_bytes()
    assert response.getheader("Cache-Control") == "public, max-age=31536000, immutable"
    assert response.getheader("Content-Type") == "text/css; charset=utf-8"
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    zipped = nginx.request(href, {"Host": HOST, "Accept-Encoding": "gzip"})
    assert zipped.getheader("Content-Encoding") == "gzip" and "Accept-Encoding" in zipped.getheader("Vary")
    etag = response.getheader("ETag")
    assert nginx.request(href, {"Host": HOST, "If-None-Match": etag}).status == 304

    gunicorn.stop()  # nginx alone now: the file still comes, pages do not
    assert nginx.request(href, {"Host": HOST}).status == 200
    assert nginx.request("/", {"Host": HOST}).status == 502


def test_mounted_under_a_prefix(mounted):
    gunicorn, nginx = mounted
    home = nginx.request("/blog/", BROWSER)
    assert home.status == 200
    html = decoded_text(home)
    assert _CANONICAL.search(html)[1] == f"http://{HOST}/blog/"
    assert 'href="/blog/posts/hello-world"' in html
    post = nginx.request("/blog/posts/hello-world", BROWSER)
    assert _CANONICAL.search(decoded_text(post))[1] == f"http://{HOST}/blog/posts/hello-world"
    spelled = nginx.request("/blog//posts/%68ello-world", BROWSER)  # the same entry (issue 20, item 4)
    assert spelled.status == 200 and spelled.data == post.data
    assert spelled.getheader("X-Cache-Status") in ("HIT", "REVALIDATED")
    bare = nginx.request("/blog", {"Host": HOST})
    assert bare.status == 301 and bare.getheader("Location").endswith("/blog/")
    assert nginx.request("/", {"Host": HOST}).status == 404  # the rest of the site is not ours
    href = _STYLESHEET.search(html)[1]
    assert re.fullmatch(r"/blog/static/css/site\.[0-9a-f]{10}\.css", href), href
    gunicorn.stop()
    static = nginx.request(href, {"Host": HOST})
    assert static.status == 200 and static.getheader("Cache-Control").endswith("immutable")


@pytest.mark.skipif(shutil.which("envsubst") is None, reason="envsubst (gettext-base) is not installed")
def test_the_documented_envsubst_command_renders_the_same(tmp_path):
    values = {
        "BLOG_LISTEN": "80",
        "BLOG_SERVER_NAME": "blog.example.com",
        "BLOG_UPSTREAM": "127.0.0.1:8000",
        "BLOG_ROOT": "/srv/blog",
        "BLOG_PREFIX": "",
        "BLOG_CACHE_DIR": "/var/cache/nginx/blog",
    }
    shell_format = " ".join(f"${name}" for name in NGINX_VARIABLES)
    rendered = subprocess.run(
        ["envsubst", shell_format],
        input=NGINX_SITE.read_text(),
        capture_output=True,
        text=True,
        env=values,
        check=True,
    ).stdout
    assert rendered == render_nginx_site(**values)
    assert "$http_host" in rendered and "$blog_asset" in rendered  # nginx's variables survive


def _search_statuses(nginx, count: int, source: str = "127.0.0.1", start: int = 0) -> list[int]:
    """Statuses of ``count`` different searches sent one after the other from ``source``."""
    statuses = []
    for i in range(start, start + count):
        conn = http.client.HTTPConnection("127.0.0.1", nginx.port, timeout=30, source_address=(source, 0))
        try:
            conn.request("GET", f"/search?q=word{i}", headers={"Host": HOST})
            response = conn.getresponse()
            response.read()
            statuses.append(response.status)
        finally:
            conn.close()
    return statuses


@pytest.mark.timed  # 25 requests well within the 7 s a limit of 2 a second needs
def test_search_is_rate_limited_per_client_and_in_all(stack):
    """/search is never cached, so nginx limits it (issue 20, item 5): 2 a second per client
    address with a burst of 10, 20 a second for everyone with a burst of 40; past it, 429
    from nginx itself. Other pages are not limited."""
    gunicorn, nginx = stack
    statuses = _search_statuses(nginx, 25)
    assert set(statuses) <= {200, 429}
    assert statuses[:10] == [200] * 10  # the burst is answered
    assert statuses.count(429) >= 10, statuses  # 25 in well under the 7 s they would need
    for _ in range(5):
        assert nginx.request("/posts/hello-world", {"Host": HOST}).status == 200
    assert gunicorn.get("/healthz")[0] == 200
    # Other addresses (127.0.0.2-11: loopback) each have a budget, but not past the total's.
    started = time.monotonic()
    others = [s for n in range(2, 12) for s in _search_statuses(nginx, 12, f"127.0.0.{n}", start=100 * n)]
    took = time.monotonic() - started
    assert set(others) <= {200, 429}
    # Each address alone would get 11 or more: 110. The total allows 40 + 20 a second.
    assert others.count(200) <= 41 + 20 * took < 10 * 11, (others.count(200), took)
