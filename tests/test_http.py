"""HTTP semantics of every cacheable answer: ETag (no Last-Modified), 304s, Cache-Control, Vary,
gzip/brotli compressed once per cached entry, fingerprinted immutable static files, and
scheduled posts appearing on time."""

from __future__ import annotations

import datetime as dt
import gzip
import os
import re
import time

import brotli
import pytest

from blogapp import content
from blogapp import create_app
from blogapp.pagecache import entry as cacheentry
from tests.conftest import post_text

CACHEABLE = [
    ("/", "text/html"),
    ("/page/2", "text/html"),
    ("/posts/hello-world", "text/html"),
    ("/tags", "text/html"),
    ("/tags/python", "text/html"),
    ("/posts/missing-cover/cover.svg", "image/svg+xml"),
    ("/feed.xml", "application/rss+xml"),
    ("/atom.xml", "application/atom+xml"),
    ("/feed.json", "application/feed+json"),
    ("/tags/python/feed.xml", "application/rss+xml"),
    ("/sitemap.xml", "application/xml"),
    ("/robots.txt", "text/plain"),
    ("/api/latest-posts", "application/json"),
]


@pytest.fixture
def app(config):
    return create_app({**config, "BLOG_POSTS_PER_PAGE": 5})


@pytest.mark.parametrize(("url", "mimetype"), CACHEABLE)
def test_validators_and_cache_control(client, url, mimetype):
    response = client.get(url)
    assert response.status_code == 200
    assert response.mimetype == mimetype
    etag, weak = response.get_etag()
    assert etag and not weak
    # Last-Modified, once its second has passed: tests/test_last_modified.py.
    cache_control = response.headers["Cache-Control"]
    assert re.fullmatch(r"public, max-age=\d+, stale-while-revalidate=\d+", cache_control)


@pytest.mark.parametrize(("url", "mimetype"), CACHEABLE)
def test_conditional_requests_get_304_without_body(client, url, mimetype):
    first = client.get(url)
    by_etag = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert by_etag.status_code == 304
    assert by_etag.data == b""
    # A date before the last change, or no date at all, gets the whole answer.
    for since in ("Mon, 01 Jan 2001 00:00:00 GMT", "junk"):
        dated = client.get(url, headers={"If-Modified-Since": since})
        assert dated.status_code == 200 and dated.data == first.data
    other = client.get(url, headers={"If-None-Match": '"not-it"'})
    assert other.status_code == 200


def test_a_post_date_never_stands_for_a_page(client, write_post):
    """A client that sends the post's date as If-Modified-Since gets the page anyway: the page's
    Last-Modified is when its file (and the folder) last changed, never the date it names."""
    path = write_post("dated.md", post_text("Dated", date="2024-05-01T10:00:00Z"))
    written = int(time.time()) - 2  # a finished second, so the answer is dated (not provisional)
    for changed in (path, path.parent):
        os.utime(changed, (written, written))
    response = client.get("/posts/dated", headers={"If-Modified-Since": "Wed, 01 May 2024 10:00:00 GMT"})
    assert response.status_code == 200 and b"Dated" in response.data
    assert response.last_modified is not None
    assert response.last_modified.timestamp() >= written


@pytest.mark.parametrize("updated", [None, '"2025-01-01T00:00:00Z"'])
def test_an_edit_changes_the_etag(client, write_post, updated):
    write_post("edited.md", post_text("Edited", body="one"))
    before = client.get("/posts/edited")
    fields = {"updated": updated} if updated else {}
    write_post("edited.md", post_text("Edited", body="two", **fields))
    after = client.get("/posts/edited", headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and b"two" in after.data
    assert after.headers["ETag"] != before.headers["ETag"]


@pytest.mark.parametrize(
    ("accept", "encoding"),
    [
        ("gzip, deflate, br", "br"),
        ("br;q=0, gzip", "gzip"),
        ("gzip", "gzip"),
        ("identity", None),
        ("", None),
        ("*", "br"),
        ("gzip;q=0, br;q=0", None),
        ("gzip;q=1, br;q=0.5", "gzip"),  # the client's preference counts, not ours
        ("x-gzip", "gzip"),
        ("*;q=0.5, br;q=0", "gzip"),  # br refused by name, gzip accepted through *
        ("BR", "br"),
    ],
)
def test_compression_follows_accept_encoding(client, accept, encoding):
    plain = client.get("/posts/hello-world").data
    response = client.get("/posts/hello-world", headers={"Accept-Encoding": accept})
    assert response.headers.get("Content-Encoding") == encoding
    assert response.headers["Vary"] == "Accept-Encoding"
    assert int(response.headers["Content-Length"]) == len(response.data)
    body = response.data
    if encoding == "br":
        body = brotli.decompress(body)
    elif encoding == "gzip":
        body = gzip.decompress(body)
    assert body == plain


def test_each_encoding_has_its_own_strong_etag_and_all_revalidate(client):
    encodings = ("br", "gzip", "")
    tags = {enc: client.get("/", headers={"Accept-Encoding": enc}).headers["ETag"] for enc in encodings}
    assert len(set(tags.values())) == 3
    for enc, tag in tags.items():
        for asked in encodings:  # a 304 only for the representation the request selects
            status = client.get("/", headers={"Accept-Encoding": asked, "If-None-Match": tag}).status_code
            assert status == (304 if asked == enc else 200), (enc, asked)


def test_compression_happens_once_per_cached_entry(client, monkeypatch):
    calls = []
    real = cacheentry.brotli.compress

    def counting(data, **kwargs):
        calls.append(len(data))
        return real(data, **kwargs)

    monkeypatch.setattr(cacheentry.brotli, "compress", counting)
    for _ in range(5):
        assert client.get("/feed.xml", headers={"Accept-Encoding": "br"}).status_code == 200
    assert len(calls) == 1


def test_cache_hits_are_marked(client):
    assert client.get("/tags").headers["X-Cache"] == "MISS"
    assert client.get("/tags").headers["X-Cache"] == "LOCAL"
    assert client.head("/tags").headers["X-Cache"] == "LOCAL"


def test_head_gets_headers_without_body(client):
    response = client.head("/feed.xml", headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200
    assert response.data == b""
    assert int(response.headers["Content-Length"]) > 0


def test_health_and_errors_are_not_cacheable(client):
    assert client.get("/healthz").headers["Cache-Control"] == "no-store"
    missing = client.get("/nope")
    assert missing.status_code == 404
    assert "ETag" not in missing.headers and "X-Cache" not in missing.headers


def test_static_files_are_fingerprinted_and_immutable(client):
    html = client.get("/").data.decode()
    css = re.search(r'href="(/static/css/site\.[0-9a-f]{10}\.css)"', html)[1]
    js = re.search(r'src="(/static/js/theme\.[0-9a-f]{10}\.js)"', html)[1]
    for url in (css, js):
        response = client.get(url, headers={"Accept-Encoding": "br"})
        assert response.status_code == 200
        assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        assert response.headers["Content-Encoding"] == "br"
        revalidated = client.get(url, headers={"Accept-Encoding": "br", "If-None-Match": response.headers["ETag"]})
        assert revalidated.status_code == 304
    assert client.get("/static/css/site.0000000000.css").status_code == 404
    plain = client.get("/static/css/site.css")
    assert plain.status_code == 200
    assert "immutable" not in plain.headers.get("Cache-Control", "")
    plain.close()


def test_scheduled_post_appears_on_time_without_restart(client, write_post):
    soon = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC).timestamp()
    write_post("scheduled.md", post_text("Scheduled Post", date="2031-05-01T12:00:00Z"))
    now = [soon - 3]
    content.get_store(client.application).clock = lambda: now[0]  # no sleeping: the test moves time
    first = client.get("/")
    assert b"Scheduled Post" not in first.data
    max_age = int(re.search(r"max-age=(\d+)", first.headers["Cache-Control"])[1])
    assert max_age == 3  # no cache in front may keep the page past the publication time
    assert client.get("/posts/scheduled").status_code == 404
    now[0] = soon - 0.5
    assert b"Scheduled Post" not in client.get("/").data
    now[0] = soon
    assert b"Scheduled Post" in client.get("/").data
    assert client.get("/posts/scheduled").status_code == 200
    assert b"Scheduled Post" in client.get("/feed.xml").data
    assert b"/posts/scheduled" in client.get("/sitemap.xml").data


@pytest.mark.parametrize(
    "where",
    [{"CACHE_REDIS_URL": "redis://127.0.0.1:9/0"}, {"CACHE_REDIS_HOST": "127.0.0.1", "CACHE_REDIS_PORT": 9}],
)
def test_unreachable_cache_backend_still_serves(config, caplog, where):
    """A Redis that is not there (nothing listens on the port): pages render uncached, at
    once, however the backend is configured (redis-py's own retries would hold a request
    for seconds)."""
    pytest.importorskip("redis")
    app = create_app({**config, "CACHE_TYPE": "RedisCache", **where})
    client = app.test_client()
    for _ in range(3):
        started = time.monotonic()
        response = client.get("/posts/hello-world")
        assert time.monotonic() - started < 2.0
        assert response.status_code == 200
        assert response.headers["ETag"]
    assert "page cache get failed" in caplog.text


def test_home_page_weighs_under_60_kb_compressed(client):
    """HTML, CSS, JS and icon of the home page, as a brotli-accepting browser receives them."""
    headers = {"Accept-Encoding": "br"}
    home = client.get("/", headers=headers)
    html = brotli.decompress(home.data).decode()
    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', html)
    assert any(a.endswith(".css") for a in assets) and any(a.endswith(".js") for a in assets)
    total = len(home.data) + sum(len(client.get(a, headers=headers).data) for a in set(assets))
    assert total < 60 * 1024, total


def test_local_entries_are_the_embedded_cache(config):
    """A second request is served from the worker's memory. The in-process SimpleCache
    backend holds no second copy (a shared backend such as Redis does: test_redis.py), so
    with BLOG_LOCAL_CACHE_BYTES=0 every request renders; either way the same bytes."""
    layered = create_app(config).test_client()
    bare = create_app({**config, "BLOG_LOCAL_CACHE_BYTES": 0}).test_client()
    for client, second in ((layered, "LOCAL"), (bare, "MISS")):
        first = client.get("/posts/hello-world")
        again = client.get("/posts/hello-world")
        assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("MISS", second)
        assert first.data == again.data


def test_local_entries_stay_within_their_byte_budget():
    entries = cacheentry.LocalEntries(budget=10_000)
    entry = cacheentry.Entry([], b"x" * 1500, None, None, "e")
    for i in range(20):
        entries.put(f"k{i}", entry)
    assert entries.used <= 10_000
    assert entries.get("k19") is entry and entries.get("k0") is None
    entries.put("huge", cacheentry.Entry([], b"x" * 5000, None, None, "e"))
    assert entries.get("huge") is None  # over a quarter of the budget: not kept
