"""Live preview while writing: ``flask --app blogapp run --debug`` pages reload themselves when
a post is saved; production shapes (debug off, or gunicorn even with FLASK_DEBUG) have no
endpoint and no script.

The browser tests drive Debian's Chromium against a real ``flask run --debug`` subprocess.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from blogapp import content
from blogapp import create_app
from blogapp.web.views import preview
from blogapp.web.views.preview import MAX_STREAMS

from .conftest import post_text
from .servers import Server
from .servers import free_port
from .servers import status_of
from .support import CHROMIUM
from .support import FLAGS
from .support import need_browser

ROOT = Path(__file__).parent.parent
#: What Werkzeug's development server puts in the environ (the test client does not).
DEV_SERVER = {"SERVER_SOFTWARE": "Werkzeug/3"}
LIVE_SCRIPT = re.compile(r'<script src="[^"]*/js/live\.[0-9a-f]{10}\.js" data-stream="([^"]+)" defer></script>')


def save(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` as an editor saves it (the mtime always moves)."""
    old = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text, encoding="utf-8")
    if path.stat().st_mtime_ns == old:
        os.utime(path, ns=(time.time_ns(), old + 1_000_000))


# -- production shapes ---------------------------------------------------------------------


def test_debug_off_has_no_endpoint_and_no_script(client):
    assert client.get("/_live?v=x", environ_base=DEV_SERVER).status_code == 404
    for path in ("/", "/posts/hello-world", "/tags", "/no/such/page"):
        assert "/js/live." not in client.get(path, environ_base=DEV_SERVER).get_data(as_text=True), path


def test_debug_app_off_the_dev_server_has_no_endpoint_and_no_script(config):
    client = create_app({**config, "DEBUG": True}).test_client()
    assert client.get("/_live?v=x").status_code == 404
    assert "/js/live." not in client.get("/").get_data(as_text=True)


def test_gunicorn_even_with_flask_debug_has_no_endpoint_and_no_script(tmp_path):
    server = Server(tmp_path, env={"FLASK_DEBUG": "1"}, workers=1)
    try:
        assert server.get("/_live?v=x")[0] == 404
        assert server.get("/_live")[0] == 404
        for path in ("/", "/posts/hello-world"):
            status, body = server.get(path)
            assert status == 200 and b"/js/live." not in body, path
    finally:
        server.stop()


# -- the app in debug, through the test client ---------------------------------------------


@pytest.fixture
def debug_client(config):
    return create_app({**config, "DEBUG": True}).test_client()


def stream_url(client, path: str = "/") -> str:
    page = client.get(path, environ_base=DEV_SERVER).get_data(as_text=True)
    match = LIVE_SCRIPT.search(page)
    assert match, page[:2000]
    return match.group(1).replace("&amp;", "&")


def open_stream(client, url: str):
    response = client.get(url, environ_base=DEV_SERVER, buffered=False)
    return response, iter(response.response)


def test_debug_pages_load_the_script_with_a_strict_policy(debug_client):
    response = debug_client.get("/", environ_base=DEV_SERVER)
    match = LIVE_SCRIPT.search(response.get_data(as_text=True))
    assert match and match.group(1).startswith("/_live?v=")
    policy = response.headers["Content-Security-Policy"]
    assert "'unsafe-inline'" not in policy and "connect-src 'self'" in policy and "script-src 'self'" in policy
    script = re.search(r'src="([^"]*/js/live\.[0-9a-f]{10}\.js)"', response.get_data(as_text=True)).group(1)
    served = debug_client.get(script)
    assert served.status_code == 200 and b"EventSource" in served.data
    # The author preview of an invalid post (422) and a 404 carry it too, so they come back.
    for path, status in (("/posts/no-title", 422), ("/no/such/page", 404)):
        answer = debug_client.get(path, environ_base=DEV_SERVER)
        assert answer.status_code == status and LIVE_SCRIPT.search(answer.get_data(as_text=True)), path


def test_stream_reports_a_saved_post_and_ends(debug_client, posts_dir):
    url = stream_url(debug_client, "/posts/hello-world")
    response, events = open_stream(debug_client, url)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/event-stream")
    assert response.headers["Cache-Control"] == "no-store"
    assert "X-Cache" not in response.headers  # the page cache let it through
    assert next(events).startswith(b"retry: ")
    save(posts_dir / "hello-world.md", post_text("Hello again"))
    event = next(events).decode()
    assert event.startswith("event: change\ndata: ") and event.endswith("\n\n")
    assert event.split("data: ")[1].strip() != url.split("v=")[1]
    with pytest.raises(StopIteration):
        next(events)
    response.close()
    # The new version is what the next page names, and a stream for it waits.
    assert stream_url(debug_client, "/posts/hello-world") == "/_live?v=" + event.split("data: ")[1].strip()


def test_stream_of_an_old_version_reports_at_once(debug_client):
    for v in ("old", "", "x" * 10_000, "%00%ff<script>", "../../etc/passwd"):
        response, events = open_stream(debug_client, "/_live?v=" + v)
        assert next(events).startswith(b"retry: ")
        assert next(events).startswith(b"event: change\ndata: ")
        response.close()


def test_stream_is_never_cached(debug_client):
    url = stream_url(debug_client)
    for _ in range(3):
        response, events = open_stream(debug_client, url)
        assert "X-Cache" not in response.headers and response.headers["Cache-Control"] == "no-store"
        assert next(events).startswith(b"retry: ")
        response.close()


def test_streams_are_bounded_and_give_their_slot_back(debug_client):
    url = stream_url(debug_client)
    open_ = [open_stream(debug_client, url) for _ in range(MAX_STREAMS)]
    assert all(response.status_code == 200 for response, _ in open_)
    refused = debug_client.get(url, environ_base=DEV_SERVER)
    assert refused.status_code == 503 and refused.headers["Retry-After"]
    assert debug_client.get("/", environ_base=DEV_SERVER).status_code == 200
    for response, _ in open_:
        response.close()
    # Closed streams (started or not, HEAD included) free their slots.
    for _ in range(MAX_STREAMS + 2):
        with debug_client.head(url, environ_base=DEV_SERVER) as head:
            assert head.status_code == 200
    response, _ = open_stream(debug_client, url)
    assert response.status_code == 200
    response.close()


def test_stream_sends_heartbeats_and_ends_after_its_lifetime(debug_client, monkeypatch):
    url = stream_url(debug_client)
    monkeypatch.setattr(preview, "HEARTBEAT_EVERY", 0.0)
    monkeypatch.setattr(preview, "LIFETIME", 1.0)
    response, events = open_stream(debug_client, url)
    assert next(events).startswith(b"retry: ")
    rest = list(events)  # heartbeats, then the end (the browser reconnects with the same v)
    assert rest and set(rest) == {b": heartbeat\n\n"}
    response.close()


def test_the_preview_looks_sooner_than_the_reload_interval(config, posts_dir):
    # Polling (with inotify, readers too see a save at their next request).
    store = content.get_store(create_app({**config, "BLOG_RELOAD_INTERVAL": 3600, "BLOG_WATCH": "poll"}))
    before = store.snapshot().fingerprint
    save(posts_dir / "hello-world.md", post_text("Hello again"))
    assert store.snapshot().fingerprint == before  # readers: once per BLOG_RELOAD_INTERVAL
    assert store.snapshot(max_age=0).fingerprint != before  # the preview's streams: at once


def test_the_preview_forces_looks_only_where_they_are_cheap(config):
    # With inotify a look without an event is one read; polling stats every file, so the
    # streams then keep to BLOG_RELOAD_INTERVAL like every reader.
    watched = content.get_store(create_app({**config, "BLOG_WATCH": "auto"}))
    watched.snapshot()
    assert watched.watched is (sys.platform == "linux")
    polled = content.get_store(create_app({**config, "BLOG_WATCH": "poll"}))
    polled.snapshot()
    assert polled.watched is False


@contextlib.contextmanager
def _touched(path: Path):
    """``path``'s modification time moved a second on, as saving it unchanged would; put back after."""
    st = path.stat()
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    try:
        yield
    finally:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_a_saved_template_shows_at_the_next_request_in_debug(config):
    """Flask reloads an edited template in debug mode; the page cache must not keep serving
    the page rendered from the old one until a post changes."""
    for debug, after in ((True, "MISS"), (False, "LOCAL")):  # production: the build covers it
        client = create_app({**config, "DEBUG": debug}).test_client()
        assert client.get("/").status_code == 200
        assert client.get("/").headers["X-Cache"] == "LOCAL"
        with _touched(ROOT / "templates" / "base.html"):
            assert client.get("/").headers["X-Cache"] == after, debug
        with _touched(ROOT / "static" / "css" / "site.css"):
            assert client.get("/").headers["X-Cache"] == after, debug


def test_stream_only_answers_get(debug_client):
    assert debug_client.post("/_live?v=x", environ_base=DEV_SERVER).status_code == 405


# -- a real `flask --app blogapp run --debug` ----------------------------------------------


class DevServer:
    """``flask --app blogapp run --debug`` (with its reloader) on a free loopback port."""

    def __init__(self, tmp_path: Path, posts: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        environ = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
        environ.update(FLASK_BLOG_POSTS_DIR=str(posts), FLASK_BLOG_PUBLIC_DIR=str(ROOT / "static"))
        self.log = open(tmp_path / "flask-run.log", "wb")  # noqa: SIM115
        flask = [sys.executable, "-m", "flask", "--app", "blogapp", "run", "--debug"]
        # Its own session: the reloader's child is stopped with it, by this process group's id.
        self.proc = subprocess.Popen(
            [*flask, "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=ROOT,
            env=environ,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"flask run exited: {(tmp_path / 'flask-run.log').read_text()}")
            with contextlib.suppress(OSError):
                if self.get("/healthz")[0] == 200:
                    return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError("flask run did not become ready")

    def get(self, path: str) -> tuple[int, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self.log.close()


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("dev")
    posts = tmp / "posts"
    posts.mkdir()
    save(posts / "live.md", post_text("First draft", date="2024-05-01T10:00:00Z", body="Opening words."))
    save(posts / "other.md", post_text("Another post", date="2024-04-01T10:00:00Z"))
    server = DevServer(tmp, posts)
    server.posts = posts  # type: ignore[attr-defined]
    yield server
    server.stop()


def open_raw_stream(port: int, path: str) -> tuple[socket.socket, int]:
    """A stream held open on a raw socket, and the status it was answered with."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
    return sock, status_of(sock)


def test_dev_server_bounds_hostile_streams(dev):
    url = LIVE_SCRIPT.search(dev.get("/")[1].decode()).group(1).replace("&amp;", "&")
    held = [open_raw_stream(dev.port, url) for _ in range(3 * MAX_STREAMS)]
    try:
        statuses = [status for _, status in held]
        assert statuses.count(200) == MAX_STREAMS and statuses.count(503) == 2 * MAX_STREAMS
        # The server still answers pages, and a stream past the limit is refused at once.
        assert dev.get("/")[0] == 200 and dev.get("/posts/live")[0] == 200
        assert dev.get(url)[0] == 503
    finally:
        for sock, _ in held:
            sock.close()
    # Streams whose client went are closed at once (not at the next heartbeat): a new one
    # is accepted within a few checks.
    deadline = time.monotonic() + 5
    while True:
        sock, status = open_raw_stream(dev.port, url)
        sock.close()
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 200


@pytest.fixture(scope="module")
def chromium(dev):
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium, dev):
    context = chromium.new_context()
    page = context.new_page()
    problems: list[str] = []
    # The 422 and 404 answers themselves are logged as failed loads: expected here.
    expected = "Failed to load resource: the server responded with a status of 4"
    page.on("console", lambda m: m.type == "error" and not m.text.startswith(expected) and problems.append(m.text))
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: r.url.startswith(dev.url) or problems.append(f"other origin: {r.url}"))
    yield page
    # Leave the page first: its live stream is a request that never ends, and once, in a
    # whole run beside four lanes, closing the context under it never returned. A reload the
    # stream asked for just before (a save noticed twice) may interrupt the first try.
    from playwright.sync_api import Error as PlaywrightError

    for attempt in range(3):
        try:
            page.goto("about:blank")
            break
        except PlaywrightError as exc:
            if "interrupted by another navigation" not in str(exc) or attempt == 2:
                raise
    context.close()
    assert problems == []  # a CSP refusal of the script or the stream would be reported here


def test_saving_a_post_reloads_its_page(page, dev):
    from playwright.sync_api import expect

    post = dev.posts / "live.md"
    page.goto(dev.url + "/posts/live")
    expect(page.locator("h1")).to_have_text("First draft")
    page.evaluate("window.notReloaded = true")

    save(post, post_text("Second draft", date="2024-05-01T10:00:00Z", body="Opening words."))
    expect(page.locator("h1")).to_have_text("Second draft", timeout=5000)
    assert page.evaluate("window.notReloaded") is None  # the page reloaded itself

    # An invalid save shows the author preview (422: file, line, reason) ...
    save(post, '---\ntitle: "Broken\ndate: 2024-05-01\n---\nBody.\n')
    expect(page.locator(".error-code")).to_have_text("422", timeout=5000)
    problem = page.locator(".problem").inner_text()
    assert "live.md" in problem and "Line" in problem

    # ... and the next valid save, written as editors replace files, brings the page back.
    fresh = dev.posts / ".live.md.swp-new"
    fresh.write_text(post_text("Third draft", date="2024-05-01T10:00:00Z", body="Fixed."), encoding="utf-8")
    os.replace(fresh, post)
    expect(page.locator("h1")).to_have_text("Third draft", timeout=5000)
    assert "/posts/live" in page.url


def test_a_listing_reloads_when_a_post_is_added(page, dev):
    from playwright.sync_api import expect

    page.goto(dev.url + "/")
    expect(page.locator("main")).not_to_contain_text("Brand new post")
    added = dev.posts / "brand-new.md"
    try:
        save(added, post_text("Brand new post", date="2024-06-01T10:00:00Z"))
        expect(page.locator("main")).to_contain_text("Brand new post", timeout=5000)
    finally:
        added.unlink()
    expect(page.locator("main")).not_to_contain_text("Brand new post", timeout=5000)


def test_a_page_for_a_post_not_written_yet_appears_when_saved(page, dev):
    from playwright.sync_api import expect

    response = page.goto(dev.url + "/posts/coming-soon")
    assert response.status == 404
    target = dev.posts / "coming-soon.md"
    try:
        save(target, post_text("Coming soon", date="2024-06-02T10:00:00Z"))
        expect(page.locator("h1")).to_have_text("Coming soon", timeout=5000)
    finally:
        target.unlink()
