"""Hostile input against the page cache and static files (issue 10, items 3, 4, 6, 11, 15, 16
and 18): junk query strings, spellings of static URLs, instances sharing one Redis, stale
304s, untrusted hosts on cache hits, ETags of another encoding, public files added after
start. HTTP behaviour is checked on a real gunicorn (tests/servers.py) where practical."""

from __future__ import annotations

import datetime as dt
import http.client
import random
import re
import shutil
import time
from pathlib import Path

import pytest
from werkzeug.http import http_date

from blogapp import create_app
from blogapp.files import watched as publicwatch
from blogapp.files.inotify import Watch
from blogapp.files.watched import PublicFiles
from blogapp.pagecache import entry as cacheentry
from blogapp.pagecache import key as cachekey
from blogapp.pagecache import middleware as pagecache
from blogapp.pagecache.middleware import cacheable
from blogapp.posts.fields import Author
from blogapp.posts.post import Post
from blogapp.posts.references import references
from blogapp.search import fulltext as fts
from blogapp.web.assets import is_canonical
from tests.conftest import DATA
from tests.conftest import count_renders
from tests.conftest import post_text
from tests.servers import WORKERS
from tests.servers import Redis
from tests.servers import Server

JUNK = ["utm_source=twitter&utm_medium=social", "fbclid=IwAR0abc", "z=1", "z=2&z=3", "a[]=1&%ff=%00", "="]


def request(server: Server, path: str, headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
    """One GET on a new connection; the body is read into ``.data``."""
    conn = server.connect()
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        response.data = response.read()  # type: ignore[attr-defined]
        return response
    finally:
        conn.close()


def rss_kib(pids: set[int]) -> int:
    """Resident memory of these processes together, in KiB."""
    total = 0
    for pid in pids:
        status = Path(f"/proc/{pid}/status").read_text()
        total += int(re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)[1])
    return total


def page_cache(app) -> pagecache.PageCache:
    """The PageCache among the app's WSGI layers (each holds the next as .app or .wsgi_app)."""
    layer = app.wsgi_app
    while not isinstance(layer, pagecache.PageCache):
        layer = getattr(layer, "app", None) or layer.wsgi_app
    return layer


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A gunicorn that tests here only read from."""
    srv = Server(tmp_path_factory.mktemp("hostile-cache"))
    yield srv
    srv.stop()


# -- 3. query strings a view does not read ------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/feed.xml", "/posts/hello-world", "/tags/python", "/sitemap.xml"])
def test_junk_query_strings_are_the_canonical_page(app, client, path):
    with count_renders(app) as rendered:
        canonical = client.get(path)
        variants = [client.get(f"{path}?{junk}") for junk in JUNK]
    assert canonical.headers["X-Cache"] == "MISS"
    for response in variants:
        assert response.status_code == 200
        assert response.headers["X-Cache"] == "LOCAL"
        assert response.data == canonical.data
    assert len(rendered) <= 1  # feeds and the sitemap render no template


@pytest.mark.parametrize("kind", ["page", "feed"])
def test_spellings_of_a_tag_or_author_cost_one_render(app, client, kind):
    """A tag has 2^n letter cases (and spacings); each must not be a page to render and keep:
    every spelling but the tag's own is a 301 to it."""
    tail = "" if kind == "page" else "/feed.xml"
    spellings = ["python", "PYTHON", "Python", "pYtHoN", "python%20", "%20PyThOn"]
    with count_renders(app) as rendered:
        answers = [client.get(f"/tags/{spelled}{tail}") for spelled in spellings]
    assert answers[0].status_code == 200
    assert [(a.status_code, a.headers["Location"]) for a in answers[1:]] == [(301, f"/tags/python{tail}")] * 5
    assert rendered == (["pages/tag.html"] if kind == "page" else [])
    assert [a.status_code for a in (client.get(f"/tags/{s}{tail}") for s in spellings[1:])] == [301] * 5


def test_search_keys_on_q_and_page_only_in_any_order(app, client, write_post):
    for i in range(fts.PER_PAGE + 2):  # two pages of results
        write_post(f"needle-{i}.md", post_text(f"Needle {i}", body="haystack needle"))
    with count_renders(app) as rendered:
        first = client.get("/search?q=needle&page=2")
        same = [
            client.get("/search?page=2&q=needle"),
            client.get("/search?q=needle&page=2&utm_source=x"),
            client.get("/search?page=2&q=needle&q=other&page=3"),  # the first value counts, as in request.args
            client.get("/search?fbclid=1&page=2&q=needle"),
        ]
        other = client.get("/search?q=other")
    assert first.status_code == 200 and b"Needle" in first.data
    assert [r.headers["X-Cache"] for r in same] == ["LOCAL"] * 4
    assert all(r.data == first.data for r in same)
    assert other.headers["X-Cache"] == "MISS"
    assert rendered.count("pages/search.html") == 2


def test_a_cacheable_view_sees_only_the_parameters_it_declares(config):
    from flask import request

    app = create_app(config)
    seen = []

    @cacheable(query=("keep",))
    def echo():
        seen.append(dict(request.args))
        return "echo"

    app.add_url_rule("/echo", "echo", echo)
    client = app.test_client()
    assert client.get("/echo?drop=1&keep=a&keep=b&utm_source=x").data == b"echo"
    assert seen == [{"keep": "a"}]
    assert client.get("/echo?keep=a").headers["X-Cache"] == "LOCAL"
    # Routes that are not cacheable get the query string untouched.
    assert client.get("/healthz?x=1").status_code == 200


def test_the_in_process_backend_keeps_no_second_copy(app, client):
    """SimpleCache (the default) would hold a pickled copy of every page in each worker,
    limited by entry count; the byte-bounded LocalEntries is the embedded cache instead."""
    for url in ("/", "/feed.xml", "/posts/hello-world", "/tags/python"):
        client.get(url)
    backend = page_cache(app).backend
    assert len(backend._cache) == 0
    assert page_cache(app)._local.used > 0


def test_junk_queries_do_not_grow_a_worker_and_are_hits(tmp_path):
    """250 x /feed.xml?z=N used to render and store 250 feeds (119 MB in one worker)."""
    posts = tmp_path / "posts"
    shutil.copytree(DATA / "posts", posts)
    rng = random.Random(10)
    words = [f"w{rng.randrange(10**9):x}" for _ in range(30_000)]  # compresses poorly
    (posts / "big.md").write_text(post_text("Big", date="2025-01-01T00:00:00Z", body=" ".join(words)))
    srv = Server(tmp_path, posts=posts)
    try:
        for _ in range(4 * WORKERS):  # the canonical feed in (very likely) every worker
            assert request(srv, "/feed.xml").status == 200
        pids = srv.worker_pids()
        before = rss_kib(pids)
        caches = [request(srv, f"/feed.xml?z={i}&utm_source=x{i}").getheader("X-Cache") for i in range(150)]
        grown = rss_kib(pids) - before
    finally:
        srv.stop()
    assert caches.count("MISS") <= WORKERS, caches
    assert set(caches) <= {"LOCAL", "MISS"}
    assert grown < 25 * 1024, f"workers grew by {grown} KiB"


def test_junk_queries_add_no_redis_keys(tmp_path):
    redis_lib = pytest.importorskip("redis")
    redis_server = Redis(tmp_path)
    srv = None
    try:
        srv = Server(tmp_path, env={"FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": redis_server.url})
        paths = ["/", "/feed.xml", "/posts/hello-world", "/tags/python"]
        for path in paths:
            assert request(srv, path).status == 200
        keys = redis_lib.Redis(port=redis_server.port)
        baseline = keys.dbsize()
        assert baseline == len(paths)
        for i in range(40):
            for path in paths:
                assert request(srv, f"{path}?z={i}&fbclid={i}").status == 200
            assert request(srv, f"/search?q=word{i}").status == 200  # kept in worker memory only
        assert keys.dbsize() == baseline
        keys.close()
    finally:
        if srv is not None:
            srv.stop()
        redis_server.stop()


def test_answers_of_no_cacheable_view_cost_no_redis_lookup(tmp_path):
    redis_lib = pytest.importorskip("redis")
    redis_server = Redis(tmp_path)
    srv = None
    try:
        srv = Server(tmp_path, env={"FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": redis_server.url})
        stats = redis_lib.Redis(port=redis_server.port)
        before = stats.info("stats")["keyspace_misses"] + stats.info("stats")["keyspace_hits"]
        for i in range(20):
            assert request(srv, f"/no-such-page-{i}").status == 404
            assert request(srv, "/healthz").status == 200
        after = stats.info("stats")["keyspace_misses"] + stats.info("stats")["keyspace_hits"]
        assert after == before
        assert request(srv, "/posts/hello-world").status == 200  # a cacheable page still asks
        assert stats.info("stats")["keyspace_misses"] + stats.info("stats")["keyspace_hits"] > after
        stats.close()
    finally:
        if srv is not None:
            srv.stop()
        redis_server.stop()


def test_canonical_query_normalises_order_duplicates_and_encoding():
    kept = frozenset({"q", "page"})
    assert cachekey.canonical_query("page=2&q=a+b&x=1&q=c", kept) == "page=2&q=a%20b"
    assert cachekey.canonical_query("q=a%20b&page=2", kept) == "page=2&q=a%20b"
    assert cachekey.canonical_query("utm_source=x", kept) == ""
    assert cachekey.canonical_query("q=&page=&q=a", kept) == ""  # the first counts; blank is absent
    assert cachekey.canonical_query("q=%ff%00caf\u00c3\u00a9", kept) == "q=%25FF%00caf%C3%A9"
    assert cachekey.canonical_query("anything", frozenset()) == ""


# -- issue 20, item 4: one URL per page ---------------------------------------------------------

#: Spellings of /posts/hello-world that Werkzeug routes to the post, each with the 301 it gets.
EXTRA_SLASHES = {
    "//posts/hello-world": "/posts/hello-world",
    "///posts/hello-world": "/posts/hello-world",
    "/%2Fposts/hello-world": "/posts/hello-world",  # decoded by gunicorn to //posts/...
    "//posts/hello-world?utm_source=x&q=%C3%A9": "/posts/hello-world?utm_source=x&q=%C3%A9",
    "//evil.example/x": "/evil.example/x",  # never //evil.example: another site
    "//": "/",
}
#: Page numbers spelled another way than url_for spells them: each is a 301 to it.
NUMBERS = {"/page/02": "/page/2", "/page/0002": "/page/2", "/page/%D9%A2": "/page/2"}


def test_extra_leading_slashes_and_odd_numbers_are_a_301_to_the_one_url(server):
    for spelled, location in {**EXTRA_SLASHES, **NUMBERS}.items():
        response = request(server, spelled)
        assert (response.status, response.getheader("Location")) == (301, location), spelled
        assert response.getheader("X-Cache") is None, spelled  # neither rendered nor kept
        assert response.getheader("Content-Security-Policy"), spelled  # the site's headers
    # A percent-encoded spelling is decoded by gunicorn: the page's own entry, from memory.
    server.on_every_worker("/posts/hello-world")
    assert request(server, "/posts/%68ello-world").getheader("X-Cache") == "LOCAL"


def test_extra_leading_slashes_keep_the_mount_prefix(tmp_path):
    srv = Server(tmp_path, env={"SCRIPT_NAME": "/blog"}, workers=1)
    try:
        for spelled, location in {**EXTRA_SLASHES, **NUMBERS}.items():
            response = request(srv, "/blog" + spelled)
            assert (response.status, response.getheader("Location")) == (301, "/blog" + location), spelled
    finally:
        srv.stop()


def test_spellings_of_a_page_cost_one_render_and_one_entry(app, client):
    with count_renders(app) as rendered:
        canonical = client.get("/posts/hello-world")
        # The test client would read //posts/... as a host name: give PATH_INFO as a server does.
        spelled = [
            client.get("/", environ_overrides={"PATH_INFO": "/" * n + "posts/hello-world"}) for n in range(2, 40)
        ]
        numbers = [client.get(path) for path in ("/page/2", "/page/02", "/page/002", "/page/\u0662")]
    assert canonical.headers["X-Cache"] == "MISS"
    assert {(r.status_code, r.headers["Location"]) for r in spelled} == {(301, "/posts/hello-world")}
    assert [r.status_code for r in numbers] == [200, 301, 301, 301]
    assert rendered == ["pages/post.html", "pages/index.html"]
    assert len(page_cache(app)._local._entries) == 2


def test_spellings_of_a_page_add_no_redis_keys(tmp_path):
    redis_lib = pytest.importorskip("redis")
    redis_server = Redis(tmp_path)
    srv = None
    try:
        srv = Server(tmp_path, env={"FLASK_CACHE_TYPE": "RedisCache", "FLASK_CACHE_REDIS_URL": redis_server.url})
        for path in ("/posts/hello-world", "/page/2", "/feed.xml"):
            assert request(srv, path).status == 200
        keys = redis_lib.Redis(port=redis_server.port)
        assert keys.dbsize() == 3
        for n in range(2, 102):  # 100 spellings of each: one key each still
            assert request(srv, "/" * n + "posts/hello-world").status == 301
            assert request(srv, "/" * n + "feed.xml").status == 301
            assert request(srv, "/page/" + "0" * n + "2").status == 301
        assert request(srv, "/posts/%68ello-world").status == 200
        assert keys.dbsize() == 3
        keys.close()
    finally:
        if srv is not None:
            srv.stop()
        redis_server.stop()


# -- 4. spellings of fingerprinted static URLs ----------------------------------------------------


def _css_url(html: str) -> str:
    return re.search(r'href="(/static/css/site\.[0-9a-f]{10}\.css)"', html)[1]


def test_static_url_variants_are_not_served(server):
    css = _css_url(request(server, "/").data.decode())
    assert request(server, css).status == 200
    variants = [
        css.replace("/css/", "/css/./"),
        css.replace("/css/", "/css/r123/../"),
        css.replace("/static/", "/static//"),
        css.replace("/css/", "/css//"),
        css.replace("/css/", "/css/%2e/"),
        css.replace("/static/", "/static/./"),
    ]
    for url in variants:
        response = request(server, url)
        if response.status in (301, 308):  # one redirect, to the canonical name
            assert response.getheader("Location").endswith(css), url
        else:
            assert response.status == 404, url


def test_static_variants_add_nothing_to_memory(app, client, monkeypatch):
    css = _css_url(client.get("/").data.decode())
    calls = []
    real = cacheentry.brotli.compress
    monkeypatch.setattr(cacheentry.brotli, "compress", lambda data, **kw: calls.append(1) or real(data, **kw))
    for i in range(300):
        assert client.get(css.replace("/css/", f"/css/r{i}/../")).status_code == 404
        assert client.get(css.replace("/css/", "/css/" + "./" * (i % 7 + 1))).status_code == 404
    assert client.get(css).status_code == 200
    cache = page_cache(app)
    assert list(cache._static) == [css[len("/static/") :]]
    assert len(calls) == 1
    assert all(is_canonical(name) for name in app.extensions["blog_assets"]._memo)


# -- 6. two instances, one Redis ------------------------------------------------------------------


@pytest.fixture
def redis_server(tmp_path):
    pytest.importorskip("redis")
    server = Redis(tmp_path)
    yield server
    server.stop()


def _disconnect(*apps):
    for app in apps:
        for backend in app.extensions["cache"].values():
            backend._write_client.connection_pool.disconnect()


def test_preview_and_production_never_share_pages(config, redis_server, write_post):
    write_post("raw.md", post_text("Raw", body='<p>x</p><script>alert("raw")</script>'))
    shared = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_server.url, "CACHE_KEY_PREFIX": "blog:"}
    preview = create_app(
        {**config, **shared, "BLOG_SHOW_DRAFTS": True, "BLOG_TRUST_HTML": True, "BLOG_SITE_URL": "https://staging.test"}
    )
    production = create_app({**config, **shared, "BLOG_SITE_URL": "https://blog.test"})
    try:
        urls = ["/", "/posts/raw", "/feed.xml", "/sitemap.xml", "/tags/python", "/api/latest-posts"]
        for url in urls:
            assert preview.test_client().get(url).status_code == 200
        for url in urls:
            response = production.test_client().get(url)
            assert response.headers["X-Cache"] == "MISS", url
            assert b"staging.test" not in response.data, url
            assert b'alert("raw")' not in response.data and b"A Draft" not in response.data, url
        assert production.test_client().get("/posts/draft").status_code == 404
    finally:
        _disconnect(preview, production)


def test_hosts_with_their_own_folders_still_share(config, redis_server, tmp_path):
    """Folder paths and tuning are not part of the key: hosts with their own copies of the
    same posts and files share one Redis."""
    other = tmp_path / "other-host"
    shutil.copytree(DATA / "posts", other / "posts")
    shutil.copytree(DATA / "public", other / "public")
    shared = {"CACHE_TYPE": "RedisCache", "CACHE_REDIS_URL": redis_server.url}
    host_a = create_app({**config, **shared})
    host_b = create_app(
        {
            **config,
            **shared,
            "BLOG_POSTS_DIR": str(other / "posts"),
            "BLOG_PUBLIC_DIR": str(other / "public"),
            "BLOG_RELOAD_INTERVAL": 0.5,
            "BLOG_LOCAL_CACHE_BYTES": 1 << 20,
            "BLOG_WATCH": "poll",
        }
    )
    try:
        assert host_a.test_client().get("/posts/hello-world").headers["X-Cache"] == "MISS"
        assert host_b.test_client().get("/posts/hello-world").headers["X-Cache"] == "HIT"
    finally:
        _disconnect(host_a, host_b)


def test_the_build_version_follows_settings_and_code(tmp_path):
    root = tmp_path / "release"
    (root / "blogapp").mkdir(parents=True)
    (root / "templates").mkdir()
    (root / "static" / "css").mkdir(parents=True)
    (root / "blogapp" / "x.py").write_text("x = 1\n")
    (root / "templates" / "base.html").write_text("<html>")
    (root / "static" / "css" / "site.css").write_text("body{}")
    (root / "static" / "photo.jpg").write_bytes(b"\xff\xd8 one")
    (root / "requirements.txt").write_text("flask==3.1.3\n")
    base = {"BLOG_TITLE": "T", "BLOG_SHOW_DRAFTS": False, "BLOG_POSTS_DIR": Path("/a"), "SECRET_KEY": "s"}

    def version(config=base):
        cachekey.code_digest.cache_clear()
        return cachekey.build_version(config, root)

    first = version()
    assert version({**base, "BLOG_POSTS_DIR": Path("/b"), "SECRET_KEY": "t", "CACHE_REDIS_URL": "x"}) == first
    assert version({**base, "BLOG_SHOW_DRAFTS": True}) != first
    assert version({**base, "BLOG_TRUST_HTML": True}) != first
    assert version({**base, "BLOG_SITE_URL": "https://staging.test"}) != first
    (root / "static" / "photo.jpg").write_bytes(b"\xff\xd8 two")  # an image is content, not code
    assert version() == first
    for changed in ("templates/base.html", "blogapp/x.py", "static/css/site.css", "requirements.txt"):
        (root / changed).write_text((root / changed).read_text() + " ")
        assert version() != first, changed
        first = version()


# -- 11. no stale 304 ----------------------------------------------------------------------------


def _wait_for_change(srv: Server, url: str, etag: str, timeout: float = 15) -> http.client.HTTPResponse:
    """The answer for ``url`` once every worker asked in turn sends something new."""
    deadline = time.monotonic() + timeout
    fresh = 0
    while time.monotonic() < deadline:
        response = request(srv, url, {"If-None-Match": etag})
        fresh = fresh + 1 if response.status == 200 else 0
        if fresh >= 2 * WORKERS:
            return response
        time.sleep(0.1)
    raise AssertionError(f"{url} did not change")


@pytest.mark.parametrize(
    "change",
    ["older post added", "body edited without updated:"],
)
def test_if_modified_since_never_hides_a_change(tmp_path, change):
    srv = Server(tmp_path)
    try:
        # Pages that show the change: the home page lists the older post; hello-world's
        # excerpt is its own, so the body edit shows in the feed (full text) and the post.
        urls = ["/", "/feed.xml"] if change == "older post added" else ["/feed.xml", "/posts/hello-world"]
        before = {url: request(srv, url) for url in urls}
        fetched = http_date(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
        if change == "older post added":  # dated below the newest post, so the newest date stays
            (srv.posts / "older.md").write_text(post_text("Older Addition", date="2024-06-01T00:00:00Z"))
        else:
            path = srv.posts / "hello-world.md"
            path.write_text(path.read_text().replace("Hello body text", "Edited body text"))
        written = time.monotonic()
        for url in urls:
            first = before[url]
            changed = _wait_for_change(srv, url, first.getheader("ETag"))
            assert changed.data != first.data
            # What a client that cached the old answer sends: its Last-Modified, or (when none
            # was given) the time it fetched it.
            since = first.getheader("Last-Modified") or fetched
            # Every worker has seen the change 2 s after it (the spec's bound); until then one
            # that has not may still answer the old page, which is no stale 304.
            time.sleep(max(0.0, written + 2.5 - time.monotonic()))
            for _ in range(2 * WORKERS):
                again = request(srv, url, {"If-Modified-Since": since})
                assert again.status == 200, url
                assert again.data == changed.data
    finally:
        srv.stop()


def test_if_none_match_decides_over_if_modified_since(server):
    first = request(server, "/feed.xml")
    etag = first.getheader("ETag")
    future = http_date(dt.datetime.now(dt.UTC) + dt.timedelta(days=1))
    assert request(server, "/feed.xml", {"If-None-Match": '"old"', "If-Modified-Since": future}).status == 200
    ancient = "Mon, 01 Jan 2001 00:00:00 GMT"
    assert request(server, "/feed.xml", {"If-None-Match": etag, "If-Modified-Since": ancient}).status == 304


# -- 15. untrusted hosts, hit or miss ------------------------------------------------------------


@pytest.mark.parametrize("trusted", [True, False])
def test_hits_and_misses_answer_untrusted_hosts_alike(tmp_path, trusted):
    env = {"FLASK_BLOG_SITE_URL": "http://blog.test"}
    if trusted:
        env["FLASK_TRUSTED_HOSTS"] = '["blog.test", "127.0.0.1"]'  # the second for Server's /healthz
    srv = Server(tmp_path, env=env)
    try:
        bad_hosts = ["a..b", "x" * 64 + ".example"] + (["evil.example", "blog.test.evil.example"] if trusted else [])
        good = {"Host": "blog.test"}
        miss = {host: request(srv, "/tags", {"Host": host}).status for host in bad_hosts}
        for _ in range(2 * WORKERS):
            assert request(srv, "/tags", good).status == 200
        srv.on_every_worker("/tags")  # so the checks below meet a cached page in any worker
        hit = {host: request(srv, "/tags", {"Host": host}).status for host in bad_hosts}
        assert miss == hit == dict.fromkeys(bad_hosts, 400)
        assert request(srv, "/tags", good).getheader("X-Cache") in ("LOCAL", "HIT")
    finally:
        srv.stop()


# -- 16. a 304 only for the representation being selected -----------------------------------------


def test_if_none_match_must_name_the_selected_encoding(server):
    br = request(server, "/", {"Accept-Encoding": "br"})
    gz = request(server, "/", {"Accept-Encoding": "gzip"})
    br_tag, gz_tag = br.getheader("ETag"), gz.getheader("ETag")
    assert br_tag.endswith('-br"') and gz_tag.endswith('-gzip"')
    base = br_tag.strip('"')[: -len("-br")]

    def status(accept: str, match: str) -> int:
        return request(server, "/", {"Accept-Encoding": accept, "If-None-Match": match}).status

    assert status("gzip", br_tag) == 200
    assert status("gzip", f'"{base}-anything"') == 200
    assert status("gzip", f'"{base}"') == 200
    assert status("identity", gz_tag) == 200
    assert status("br", f'"{base}-br-x"') == 200
    assert status("gzip", gz_tag) == 304
    assert status("gzip", f"W/{gz_tag}") == 304  # weak comparison, as RFC 9110 says for If-None-Match
    assert status("gzip", f'"other", {gz_tag}') == 304
    assert status("gzip", "*") == 304
    assert status("identity", f'"{base}"') == 304
    assert request(server, "/", {"Accept-Encoding": "gzip", "If-None-Match": gz_tag}).getheader("ETag") == gz_tag


# -- 18. public files the pages show ---------------------------------------------------------------


def test_a_cover_added_after_start_reaches_every_worker(tmp_path):
    srv = Server(tmp_path)
    cover = tmp_path / "public" / "assets" / "blog" / "does-not-exist.jpg"  # missing-cover.md's
    shows_file = b'src="/assets/blog/does-not-exist.jpg"'
    try:
        pids = srv.worker_pids()

        def every_worker(shown: bool, timeout: float) -> set[int]:
            """Pids whose latest answers (two in a row) show the cover file, or not."""
            good: dict[int, int] = dict.fromkeys(pids, 0)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and min(good.values()) < 2:
                pid, body = srv.per_worker("/posts/missing-cover")
                good[pid] = good[pid] + 1 if (shows_file in body) == shown else 0
            return {pid for pid, count in good.items() if count >= 2}

        assert every_worker(shown=False, timeout=20) == pids  # every worker has cached the placeholder
        shutil.copy(tmp_path / "public" / "assets" / "blog" / "cover.png", cover)
        assert every_worker(shown=True, timeout=10) == pids
        cover.unlink()
        assert every_worker(shown=False, timeout=10) == pids
    finally:
        srv.stop()


def test_a_body_image_replaced_or_added_in_a_new_folder_changes_the_page(app, client, public_dir, write_post):
    write_post(
        "pictures.md",
        post_text("Pictures", body="![a](/assets/blog/cover.png)\n\n![b](/assets/new/later.png)\n"),
    )
    first = client.get("/posts/pictures").data
    assert b"later.png" in first and b'width="' in first
    (public_dir / "assets" / "new").mkdir()  # a folder that did not exist, then a file in it
    shutil.copy(public_dir / "assets" / "blog" / "cover.png", public_dir / "assets" / "new" / "later.png")
    added = client.get("/posts/pictures").data
    assert added.count(b'width="') == first.count(b'width="') + 1
    (public_dir / "assets" / "blog" / "cover.png").write_bytes(b"not an image any more")
    replaced = client.get("/posts/pictures").data
    assert replaced.count(b'width="') == added.count(b'width="') - 1


def _post(**fields) -> Post:
    values = {
        "slug": "a-post",
        "title": "T",
        "date": dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        "updated": None,
        "author": Author("A", "/assets/authors/a.png"),
        "tags": (),
        "category": None,
        "cover_image": "/assets/blog/cover.jpg?v=2",
        "og_image": "https://cdn.example/og.png",
        "draft": False,
        "source": "a-post.md",
    }
    return Post(**{**values, **fields})


def test_references_are_what_the_pages_resolve():
    text = "\n".join(
        [
            "![x](/assets/one.png) and ![y](two%20words.png 'title') and [doc](/files/a.pdf#p2)",
            '<img alt="" src="/assets/raw.png"> <img src=../up.png>',
            "[ref]: /assets/ref.png",
            "![remote](https://example.com/x.png) ![proto](//cdn.example/x.png) ![d](data:image/png;base64,AA)",
            "[mail](mailto:a@b.c) [anchor](#top)",
        ]
    )
    refs = references(_post(), text)
    assert refs[:2] == ("assets/blog/cover.jpg", "assets/authors/a.png")
    assert {"assets/one.png", "posts/two%20words.png", "posts/two words.png", "files/a.pdf"} <= set(refs)
    assert {"assets/raw.png", "up.png", "assets/ref.png"} <= set(refs)
    assert not any("example" in ref or "data" in ref or "mail" in ref for ref in refs)


def test_references_take_linear_time_on_hostile_text():
    """Each pattern starts at a literal and repeats one bounded class: no backtracking blowup
    (finishes in well under a second where a backtracking pattern would take minutes)."""
    hostile = [
        "](" * 200_000,
        "[" * 300_000,
        "](" + " " * 300_000,
        "src=" * 100_000,
        "src=" + " " * 300_000,
        "\n".join(["[" + "a" * 998] * 2000),
        "\n".join(["   [" + "]" * 500 + ":"] * 2000),
    ]
    started = time.monotonic()
    for text in hostile:
        references(_post(), text)
    assert time.monotonic() - started < 5
    assert len(references(_post(), "\n".join(f"![x](/i/{n}.png)" for n in range(1000)))) == 100


def _public_files(root: Path, monkeypatch, watch: bool = True) -> tuple[PublicFiles, list[int]]:
    """PublicFiles over ``root`` using two files in two folders; counts its looks."""
    files = PublicFiles(str(root), watch=watch)
    looks: list[int] = []
    real = files._digest
    monkeypatch.setattr(files, "_digest", lambda: looks.append(1) or real())
    files.use(["a/one.png", "b/two.png"])
    return files, looks


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_public_files_are_looked_at_only_when_their_folders_report_a_change(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    files, looks = _public_files(tmp_path, monkeypatch)
    first = files.current(time.monotonic())
    for _ in range(3):
        assert files.current(time.monotonic()) == first
    idle = len(looks)
    for _ in range(3):
        files.current(time.monotonic())
    assert len(looks) == idle  # nothing changed: no stat of any file
    (tmp_path / "a" / "one.png").write_bytes(b"x")
    assert files.current(time.monotonic()) != first
    (tmp_path / "b").mkdir()  # a folder that was missing: its parent was watched
    files.current(time.monotonic())
    (tmp_path / "b" / "two.png").write_bytes(b"y")
    second = files.fingerprint
    deadline = time.monotonic() + 5
    while files.current(time.monotonic()) == second and time.monotonic() < deadline:
        time.sleep(0.01)
    assert files.fingerprint != second


@pytest.mark.parametrize("how", ["BLOG_WATCH=poll", "too many folders"])
def test_public_files_are_polled_without_a_watch(tmp_path, monkeypatch, how):
    monkeypatch.setattr(publicwatch, "MAX_WATCHED_FOLDERS", 0 if how == "too many folders" else 16384)
    files, looks = _public_files(tmp_path, monkeypatch, watch=how != "BLOG_WATCH=poll")
    first = files.current(time.monotonic())
    files.current(time.monotonic())
    count = len(looks)
    files.current(time.monotonic())
    assert len(looks) == count + 1  # every interval
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.png").write_bytes(b"x")
    assert files.current(time.monotonic()) != first
