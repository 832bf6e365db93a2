"""Hostile clients at the server's edge: slow clients, forged proxy headers, hidden static
files, large public files. Real gunicorn (tests/servers.py) wherever the behaviour is HTTP's."""

from __future__ import annotations

import contextlib
import http.client
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import pytest

from blogapp import create_app
from tests.conftest import DATA
from tests.htmlutil import Page
from tests.servers import Nginx
from tests.servers import Server
from tests.servers import free_port
from tests.servers import render_nginx_site


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One gunicorn for this module's tests that use it: they only read from it."""
    srv = Server(tmp_path_factory.mktemp("server"))
    yield srv
    srv.stop()


def _request(
    port: int, path: str, headers: dict[str, str] | None = None, method: str = "GET", timeout: float = 10
) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in (headers or {}).items():
            conn.putheader(name, value)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


# -- slow clients (item 2) -------------------------------------------------------------------


class SlowClients:
    """``count`` connections that send part of a request head, then one byte a second, until
    closed (at the latest after ``limit`` seconds)."""

    def __init__(self, port: int, count: int, limit: float = 30) -> None:
        self.socks = []
        for _ in range(count):
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            self.socks.append(sock)
        self.limit = limit
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._trickle, daemon=True)
        self._thread.start()

    def _trickle(self) -> None:
        deadline = time.monotonic() + self.limit
        while not self._stop.wait(1.0) and time.monotonic() < deadline:
            for sock in self.socks:
                with contextlib.suppress(OSError):
                    sock.sendall(b"x")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self.socks:
            sock.close()


def test_slow_clients_do_not_starve_anyone(server):
    """40 clients trickling their request heads; every normal request is still answered
    (a 2 s bound each, where the threaded workers of old never answered some of them)."""
    slow = SlowClients(server.port, 40)
    try:
        time.sleep(0.5)  # every slow connection accepted and holding whatever it holds
        outcomes = []
        for i in range(20):
            path = "/healthz" if i % 2 else "/posts/hello-world"
            try:
                outcomes.append((path, _request(server.port, path, timeout=2)[0]))
            except OSError as exc:
                outcomes.append((path, type(exc).__name__))
    finally:
        slow.close()
    assert all(status == 200 for _, status in outcomes), outcomes


def test_a_request_head_trickled_in_is_cut_off(server):
    """A client that never finishes its request head is disconnected (gunicorn.conf.py's
    keepalive bounds the head), instead of being held forever."""
    slow = SlowClients(server.port, 1, limit=20)
    sock = slow.socks[0]
    started = time.monotonic()
    try:
        sock.settimeout(20)
        with contextlib.suppress(ConnectionResetError):
            while sock.recv(4096):  # an error page, then the end of the connection
                pass
        held = time.monotonic() - started
    finally:
        slow.close()
    assert held < 15, f"a trickling client was held {held:.1f}s"


# -- forwarded headers gunicorn must not trust (item 17) ---------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"X-Forwarded-Proto": "https"}, {"X-Forwarded-Ssl": "on"}, {"X-Forwarded-Protocol": "ssl"}],
    ids=["proto", "ssl", "protocol"],
)
def test_forged_scheme_headers_are_ignored_without_a_trusted_proxy(server, headers):
    status, _, body = _request(server.port, "/posts/hello-world", headers)
    assert status == 200
    page = Page(body)
    assert page.link("canonical") == f"http://127.0.0.1:{server.port}/posts/hello-world"
    assert b"https://127.0.0.1" not in body


def test_a_script_name_header_changes_nothing(server):
    status, _, body = _request(server.port, "/posts/hello-world", {"SCRIPT_NAME": "/evil"})
    assert status == 200
    assert b"/evil" not in body
    # A path that starts with the forged value is not under a prefix: it is just unknown.
    status, _, body = _request(server.port, "/evil/posts/hello-world", {"SCRIPT_NAME": "/evil"})
    assert status == 404
    assert b'href="/evil' not in body


def test_a_path_outside_the_mount_prefix_is_a_404(tmp_path):
    srv = Server(tmp_path, env={"SCRIPT_NAME": "/blog"}, workers=1)
    try:
        assert srv.get("/blog/healthz")[0] == 200
        for path in ("/healthz", "/", "/blogx/healthz", "/posts/hello-world"):
            status, headers, _ = _request(srv.port, path)
            assert status == 404, path
            # Outside the prefix is still this site: the same security headers as inside.
            assert "default-src" in headers.get("Content-Security-Policy", ""), path
            assert headers.get("X-Content-Type-Options") == "nosniff", path
        status, _, body = _request(srv.port, "/blog/posts/hello-world", {"SCRIPT_NAME": "/other"})
        assert status == 200
        assert b'href="/blog/posts/' in body and b"/other" not in body
    finally:
        srv.stop()


def test_a_mount_prefix_that_contradicts_the_site_url_stops_start_up(tmp_path):
    try:
        srv = Server(
            tmp_path, env={"SCRIPT_NAME": "/blog", "FLASK_BLOG_SITE_URL": "https://example.com/other"}, workers=1
        )
    except RuntimeError as exc:
        assert "exited" in str(exc)
    else:
        srv.stop()
        pytest.fail("gunicorn started with a SCRIPT_NAME that contradicts BLOG_SITE_URL")
    assert "SCRIPT_NAME is '/blog' but the path of BLOG_SITE_URL is '/other'" in (tmp_path / "gunicorn.log").read_text()


def test_a_mount_prefix_with_its_site_url(tmp_path):
    srv = Server(tmp_path, env={"SCRIPT_NAME": "/blog", "FLASK_BLOG_SITE_URL": "https://example.com/blog"}, workers=1)
    try:
        status, _, body = _request(srv.port, "/blog/posts/hello-world")
        assert status == 200
        assert Page(body).link("canonical") == "https://example.com/blog/posts/hello-world"
        assert b'href="/blog/tags/' in body
    finally:
        srv.stop()


# -- X-Forwarded-Prefix (item 7) ------------------------------------------------------------

HOSTILE_PREFIXES = ["//evil.com", "https://evil.com", "/\\evil.com", "//evil.com/blog", "/a/../..", "/x y"]


@pytest.mark.parametrize("prefix", HOSTILE_PREFIXES)
def test_a_forwarded_prefix_that_is_not_a_path_is_refused(tmp_path, prefix):
    srv = Server(tmp_path, env={"FLASK_BLOG_PROXY_COUNT": "1"}, workers=1)
    try:
        for path in ("/page/1", "/posts/hello-world", "/", "/healthz"):
            status, headers, body = _request(srv.port, path, {"X-Forwarded-Prefix": prefix})
            assert status == 400, (path, status, headers.get("Location"))
            assert "Location" not in headers
            assert b"evil" not in body
    finally:
        srv.stop()


def test_a_plain_forwarded_prefix_still_mounts_the_blog(tmp_path):
    srv = Server(tmp_path, env={"FLASK_BLOG_PROXY_COUNT": "1"}, workers=1)
    try:
        status, headers, _ = _request(srv.port, "/page/1", {"X-Forwarded-Prefix": "/blog"})
        assert status == 301 and headers["Location"] == "/blog/"
        status, _, body = _request(srv.port, "/posts/hello-world", {"X-Forwarded-Prefix": "/blog"})
        assert status == 200
        page = Page(body)
        assert page.link("canonical") == f"http://127.0.0.1:{srv.port}/blog/posts/hello-world"
        assert all(s["src"].startswith("/blog/static/") for s in page.find_all("script") if s.get("src"))
    finally:
        srv.stop()


def test_with_a_site_url_no_header_changes_the_prefix(tmp_path):
    srv = Server(
        tmp_path, env={"FLASK_BLOG_PROXY_COUNT": "1", "FLASK_BLOG_SITE_URL": "https://example.com/blog"}, workers=1
    )
    try:
        for prefix in ("//evil.com", "/other", ""):
            status, headers, _ = _request(srv.port, "/page/1", {"X-Forwarded-Prefix": prefix})
            assert status == 301 and headers["Location"] == "/blog/", prefix
            status, _, body = _request(srv.port, "/posts/hello-world", {"X-Forwarded-Prefix": prefix})
            assert status == 200
            assert b"evil" not in body and b"/other" not in body
            page = Page(body)
            assert page.link("canonical") == "https://example.com/blog/posts/hello-world"
            scripts = [s["src"] for s in page.find_all("script") if s.get("src")]
            styles = [link["href"] for link in page.find_all("link", rel="stylesheet")]
            assert scripts and styles
            assert all(url.startswith("/blog/static/") for url in scripts + styles), scripts + styles
    finally:
        srv.stop()


# -- Flask's static route under the public-file rules (item 8) ----------------------------------


@pytest.fixture
def static_client(config, tmp_path):
    """An app whose static folder holds hidden files and symlinks leading outside it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("SECRET")
    folder = tmp_path / "static"
    (folder / "css").mkdir(parents=True)
    (folder / "css" / "ok.css").write_text("body{}")
    (folder / ".env").write_text("SECRET=1")
    (folder / ".git").mkdir()
    (folder / ".git" / "config").write_text("[core] SECRET")
    (folder / "css" / ".hidden.css").write_text("SECRET")
    (folder / "leak.txt").symlink_to(outside / "secret.txt")
    (folder / "out").symlink_to(outside, target_is_directory=True)
    app = create_app(config)
    app.static_folder = str(folder)
    return app.test_client()


@pytest.mark.parametrize(
    "path",
    [
        "/static/.env",
        "/static/.git/config",
        "/static/css/.hidden.css",
        "/static/leak.txt",
        "/static/out/secret.txt",
        "/static/css/../.env",
        "/static/%2e%2e/outside/secret.txt",
        "/static/css/..%2f..%2foutside%2fsecret.txt",
    ],
)
def test_the_static_route_serves_no_hidden_file_and_nothing_outside(static_client, path):
    with static_client.get(path) as response:
        assert response.status_code == 404, path
        assert b"SECRET" not in response.data


def test_the_static_route_still_serves_its_files(static_client):
    with static_client.get("/static/css/ok.css") as response:  # closed: it holds the open file
        assert response.status_code == 200 and response.data == b"body{}"


def test_static_urls_in_pages_still_work(server):
    status, _, body = _request(server.port, "/posts/hello-world")
    assert status == 200
    page = Page(body)
    urls = [s["src"] for s in page.find_all("script") if s.get("src")]
    urls += [link["href"] for link in page.find_all("link", rel="stylesheet")]
    assert urls
    for url in urls:
        assert _request(server.port, url)[0] == 200, url
    assert _request(server.port, "/static/css/site.css")[0] == 200
    assert _request(server.port, "/static/favicon.svg")[0] == 200


def test_nginx_serves_no_hidden_or_symlinked_static_file(tmp_path):
    """deploy/nginx.conf serves fingerprinted names from disk itself: under the same rules."""
    static = tmp_path / "root" / "static"
    (static / ".git").mkdir(parents=True)
    (static / ".secret.json").write_text('{"SECRET": 1}')
    (static / ".git" / "config.txt").write_text("SECRET")
    (tmp_path / "outside.txt").write_text("SECRET")
    (static / "leak.txt").symlink_to(tmp_path / "outside.txt")
    (static / "ok.txt").write_text("fine")
    gunicorn = Server(tmp_path, env={"FLASK_BLOG_PROXY_COUNT": "1"})
    try:
        port = free_port()
        site = render_nginx_site(
            BLOG_LISTEN=f"127.0.0.1:{port}",
            BLOG_SERVER_NAME="blog.example.test",
            BLOG_UPSTREAM=f"127.0.0.1:{gunicorn.port}",
            BLOG_ROOT=str(tmp_path / "root"),
            BLOG_PREFIX="",
            BLOG_CACHE_DIR=str(tmp_path),
        )
        nginx = Nginx(tmp_path, site, port)
        try:
            host = {"Host": "blog.example.test"}
            ok = nginx.request("/static/ok.0123456789.txt", host)
            assert ok.status == 200 and ok.data == b"fine"  # from nginx: gunicorn has no ok.txt
            for path in (
                "/static/.secret.0123456789.json",
                "/static/.git/config.0123456789.txt",
                "/static/leak.0123456789.txt",
            ):
                response = nginx.request(path, host)
                assert response.status == 404, path
                assert b"SECRET" not in response.data
        finally:
            nginx.stop()
    finally:
        gunicorn.stop()


# -- public files: streamed and conditional (item 10) --------------------------------------------

BIG = 200 * 1024 * 1024


def _peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def big_file_server(tmp_path):
    shutil.copytree(DATA / "public", tmp_path / "public")
    with open(tmp_path / "public" / "big.bin", "wb") as fh:
        fh.truncate(BIG)  # sparse: 200 MB that take no disk
    srv = Server(tmp_path)
    yield srv
    srv.stop()


def test_a_large_public_file_is_streamed_and_head_does_not_read_it(big_file_server):
    srv = big_file_server
    conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
    try:
        conn.request("GET", "/healthz")
        pid = json.loads(conn.getresponse().read())["pid"]  # this connection's worker
        before = _peak_rss_kb(pid)
        conn.request("HEAD", "/big.bin")
        head = conn.getresponse()
        head.read()
        assert head.status == 200 and int(head.getheader("Content-Length")) == BIG
        after_head = _peak_rss_kb(pid)
        conn.request("GET", "/big.bin")
        response = conn.getresponse()
        assert response.status == 200
        received = 0
        while chunk := response.read(1 << 20):
            received += len(chunk)
        after_get = _peak_rss_kb(pid)
    finally:
        conn.close()
    assert received == BIG
    # The old code read the whole file into memory for HEAD and GET alike (+200 MB at least).
    assert (after_head - before) < 32 * 1024, f"HEAD raised the worker's peak by {(after_head - before) // 1024} MB"
    assert (after_get - before) < 32 * 1024, f"GET raised the worker's peak by {(after_get - before) // 1024} MB"


def test_public_files_answer_conditional_and_range_requests(server):
    status, headers, body = _request(server.port, "/assets/blog/cover.png")
    assert status == 200 and body.startswith(b"\x89PNG")
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert "max-age=3600" in headers["Cache-Control"]
    for conditional in ({"If-None-Match": etag}, {"If-Modified-Since": modified}):
        status, headers, body = _request(server.port, "/assets/blog/cover.png", conditional)
        assert status == 304, conditional
        assert body == b"" and headers["ETag"] == etag
    status, _, body = _request(server.port, "/assets/blog/cover.png", {"If-None-Match": '"other"'})
    assert status == 200 and body.startswith(b"\x89PNG")
    status, headers, body = _request(server.port, "/assets/blog/cover.png", {"Range": "bytes=0-3"})
    assert status == 206 and body == b"\x89PNG"
    assert headers["Content-Range"].startswith("bytes 0-3/")


def test_static_files_answer_conditional_requests(server):
    status, headers, _ = _request(server.port, "/static/css/site.css")
    assert status == 200
    status, _, body = _request(server.port, "/static/css/site.css", {"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
