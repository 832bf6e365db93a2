"""Last-Modified on pages and feeds (issue 19): the newest change to anything an answer shows,
never the time of a render; If-Modified-Since alone gets a 304 only when nothing shown has
changed since, and If-None-Match, when sent, decides alone (RFC 9110 13.2.2).

On a real gunicorn and through the shipped nginx edge config, a client that sends only
If-Modified-Since (many feed fetchers and crawlers) gets a 200 with the new bytes after each
kind of change: an edit without ``updated:``, an older-dated post added, a post deleted, a
scheduled post whose time comes, and a template changed across a restart.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from werkzeug.http import http_date

from blogapp import create_app
from blogapp.pagecache import lastmodified
from tests import servers
from tests.conftest import post_text
from tests.servers import NGINX_HOST
from tests.servers import WORKERS
from tests.servers import Nginx
from tests.servers import Server
from tests.servers import copy_project
from tests.servers import start_nginx_stack
from tests.support import wait_for

ANCIENT = "Mon, 01 Jan 2001 00:00:00 GMT"


def _seconds(value: str) -> int:
    return int(email.utils.parsedate_to_datetime(value).timestamp())


# -- the parts ------------------------------------------------------------------------------------


def test_the_date_sent_is_the_change_rounded_up_and_if_modified_since_compares_whole_seconds():
    assert lastmodified.http_seconds(100.0) == 100
    assert lastmodified.http_seconds(100.001) == 101
    assert lastmodified.unmodified_since(http_date(101), 101)
    assert lastmodified.unmodified_since(http_date(102), 101)
    assert not lastmodified.unmodified_since(http_date(100), 101)
    for junk in ("", "yesterday", "Mon, 99 Foo 2001 00:00:00 GMT", "\x00" * 50, "9" * 5000):
        assert not lastmodified.unmodified_since(junk, 0)


A, B = "a" * 16, "b" * 16  # build digests, as pagecache.key.build_version makes them


def test_a_build_is_dated_when_first_served_and_keeps_that_date(tmp_path):
    dates = tmp_path / "state" / "build-dates.json"
    assert lastmodified.first_served(A, dates, now=1000.0) == 1000.0
    assert lastmodified.first_served(A, dates, now=2000.0) == 1000.0  # a restart: same date
    assert lastmodified.first_served(B, dates, now=3000.0) == 3000.0  # new code or settings
    assert json.loads(dates.read_text()) == {A: 1000.0, B: 3000.0}
    for n in range(lastmodified.BUILDS_KEPT + 5):
        lastmodified.first_served(f"{n:016x}", dates, now=4000.0 + n)
    assert len(json.loads(dates.read_text())) == lastmodified.BUILDS_KEPT
    dates.write_text("{not json")  # damaged: every build counts as new, never as older
    assert lastmodified.first_served(A, dates, now=5000.0) == 5000.0
    assert list((tmp_path / "state").iterdir()) == [dates]  # no temporary file left behind


@pytest.mark.parametrize(
    "theirs",
    ['{"title": "my notes"}', "plain text, not JSON", '{"' + "a" * 16 + '": "yesterday"}', "[1, 2]", "x" * 70_000],
)
def test_a_build_dates_file_the_blog_did_not_write_is_left_as_it_is(tmp_path, theirs):
    """BLOG_STATE_DIR may be a folder the operator uses for other things: a build-dates.json
    that is not the blog's shape is never overwritten; the build then counts from now."""
    dates = tmp_path / "build-dates.json"
    dates.write_text(theirs)
    assert lastmodified.first_served(A, dates, now=1234.0) == 1234.0
    assert dates.read_text() == theirs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build-dates.json"]


def test_an_unwritable_state_folder_dates_the_build_now(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert lastmodified.first_served(A, blocker / "build-dates.json", now=1234.0) == 1234.0


# -- the app: one date for every page and feed ---------------------------------------------------


@pytest.fixture
def dated(config):
    app = create_app(config)
    client = app.test_client()
    # The build was first served just now: its second must pass before a date is sent.
    wait_for(lambda: client.get("/").headers.get("Last-Modified"), 3, "a Last-Modified")
    return client


PAGES = ["/", "/posts/hello-world", "/tags", "/archive", "/feed.xml", "/atom.xml", "/feed.json", "/sitemap.xml"]


@pytest.mark.parametrize("url", PAGES)
def test_pages_and_feeds_send_last_modified_and_answer_if_modified_since(dated, url):
    first = dated.get(url)
    assert first.status_code == 200
    modified = first.headers["Last-Modified"]
    assert _seconds(modified) <= time.time()  # never later than the answer's own date
    same = dated.get(url, headers={"If-Modified-Since": modified})
    assert same.status_code == 304 and same.data == b""
    assert same.headers["Last-Modified"] == modified and same.headers["ETag"] == first.headers["ETag"]
    later = http_date(_seconds(modified) + 3600)
    assert dated.get(url, headers={"If-Modified-Since": later}).status_code == 304
    for since in (http_date(_seconds(modified) - 1), ANCIENT, "not a date"):
        response = dated.get(url, headers={"If-Modified-Since": since})
        assert response.status_code == 200 and response.data == first.data
    # If-None-Match decides alone when both are sent (RFC 9110 13.2.2).
    both = {"If-None-Match": '"stale"', "If-Modified-Since": later}
    assert dated.get(url, headers=both).status_code == 200
    both = {"If-None-Match": first.headers["ETag"], "If-Modified-Since": ANCIENT}
    assert dated.get(url, headers=both).status_code == 304


def test_every_page_has_the_sites_one_date(dated):
    assert len({dated.get(url).headers["Last-Modified"] for url in PAGES}) == 1


def test_a_post_date_is_not_the_last_modified(dated, write_post):
    """The newest post is dated 2024; the date is when its file last changed."""
    write_post("dated.md", post_text("Dated", date="2024-05-01T10:00:00Z"))
    modified = wait_for(lambda: dated.get("/posts/dated").headers.get("Last-Modified"), 3, "a Last-Modified")
    assert _seconds(modified) > time.time() - 10
    assert dated.get("/posts/dated", headers={"If-Modified-Since": "Wed, 01 May 2024 10:00:00 GMT"}).status_code == 200


def test_no_date_is_sent_within_the_second_of_a_change(dated, write_post):
    """A change later in the same second would otherwise get the same date and hide behind it."""
    write_post("fresh.md", post_text("Fresh"))
    response = dated.get("/")
    assert b"Fresh" in response.data
    modified = response.headers.get("Last-Modified")
    # Either no date yet, or one whose second has passed (this request came late in it).
    assert modified is None or _seconds(modified) <= time.time()


def test_static_files_keep_their_own_validators(dated):
    page = dated.get("/").data.decode()
    css = page.split('href="/static/css/', 1)[1].split('"', 1)[0]
    response = dated.get("/static/css/" + css)
    assert response.status_code == 200 and "immutable" in response.headers["Cache-Control"]
    assert "Last-Modified" not in response.headers


# -- real gunicorn, and the shipped nginx edge config ---------------------------------------------

CHANGES = ["edited without updated", "older post added", "post deleted", "scheduled post due", "template changed"]
#: Where each change shows.
SHOWN = {
    "edited without updated": ["/posts/hello-world", "/feed.xml"],
    "older post added": ["/", "/feed.xml"],
    "post deleted": ["/", "/feed.xml"],
    "scheduled post due": ["/", "/feed.xml"],
    "template changed": ["/", "/posts/hello-world"],
}


#: Seconds ahead the scheduled post is due, tried in turn: far enough for the server to start
#: and every worker to agree on the dates before it goes live; a loaded machine that takes
#: longer gets the next (the attempt is started again, never judged).
DUE_IN = (4, 12, 30)


class TooLate(Exception):
    """The scheduled post went live before the dates a client holds were taken."""


def _prepare(change: str, posts: Path, due_in: float = DUE_IN[0]) -> float | None:
    """Files written before the server starts; for the scheduled post, when it is due."""
    if change == "post deleted":
        (posts / "doomed.md").write_text(post_text("Doomed Post", date="2025-06-01T00:00:00Z"))
    if change == "scheduled post due":
        due = int(time.time()) + due_in
        iso = dt.datetime.fromtimestamp(due, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        (posts / "due.md").write_text(post_text("Scheduled Post", date=iso))
        return due
    return None


def _attempts(change: str, tmp_path: Path) -> list[tuple[float, Path]]:
    """(seconds ahead the scheduled post is due, a fresh folder) for each attempt."""
    tries = DUE_IN if change == "scheduled post due" else DUE_IN[:1]
    return [(due_in, tmp_path / f"try{n}") for n, due_in in enumerate(tries)]


def _change(change: str, posts: Path, project: Path, due: float | None) -> None:
    if change == "edited without updated":
        path = posts / "hello-world.md"
        path.write_text(path.read_text().replace("Hello body text", "Edited body text"))
    elif change == "older post added":
        (posts / "older.md").write_text(post_text("Older Addition", date="2024-06-01T00:00:00Z"))
    elif change == "post deleted":
        (posts / "doomed.md").unlink()
    elif change == "scheduled post due":
        assert due is not None
        if time.time() >= due:
            raise TooLate
        time.sleep(max(0.0, due - time.time()))
    elif change == "template changed":
        base = project / "templates" / "base.html"
        base.write_text(base.read_text().replace("</body>", "<!-- NEW-TEMPLATE -->\n</body>"))


def _expect(change: str, body: bytes) -> bool:
    """The new bytes show the change."""
    return {
        "edited without updated": b"Edited body text" in body,
        "older post added": b"Older Addition" in body,
        "post deleted": b"Doomed Post" not in body,
        "scheduled post due": b"Scheduled Post" in body,
        "template changed": b"NEW-TEMPLATE" in body,
    }[change]


def _dated_get(get: Callable[..., tuple[int, dict[str, str], bytes]], url: str, **headers: str):
    """A 200 for ``url`` that carries a Last-Modified (its second may still be running)."""
    return wait_for(
        lambda: (lambda r: r if r[0] == 200 and r[1].get("Last-Modified") else None)(get(url, **headers)),
        5,
        f"a dated 200 for {url}",
    )


def _gunicorn_get(server: Server) -> Callable[..., tuple[int, dict[str, str], bytes]]:
    def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        conn = server.connect()
        try:
            conn.request("GET", url, headers=headers)
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    return get


def _nginx_get(nginx: Nginx) -> Callable[..., tuple[int, dict[str, str], bytes]]:
    def get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        response = nginx.request(url, {"Host": NGINX_HOST, **headers})
        return response.status, dict(response.getheaders()), response.data

    return get


def _check(change: str, get: Callable[..., tuple[int, dict[str, str], bytes]], before: dict) -> None:
    """After the change, on every worker: If-Modified-Since with the old date gets a 200 with
    the new bytes and a later date; with the new date, a 304."""
    for url, (old_date, old_body) in before.items():
        wait_for(
            lambda url=url: all(_expect(change, get(url)[2]) for _ in range(2 * WORKERS)), 15, f"{change} at {url}"
        )
        status, headers, body = _dated_get(get, url)
        assert _expect(change, body) and body != old_body
        new_date = headers["Last-Modified"]
        assert _seconds(new_date) > _seconds(old_date), (url, old_date, new_date)
        for _ in range(2 * WORKERS):
            status, headers, again = get(url, **{"If-Modified-Since": old_date})
            assert status == 200, (url, change)
            assert again == body
        for _ in range(2 * WORKERS):
            assert get(url, **{"If-Modified-Since": new_date})[0] == 304, url


def _before(get: Callable[..., tuple[int, dict[str, str], bytes]], change: str) -> dict[str, tuple[str, bytes]]:
    """The date and bytes a client holds for each URL, once every worker agrees on them:
    unchanged, it then gets a 304 every time (a worker that has not yet looked at a file
    written just before would still answer the date before it)."""

    def agreed(url: str) -> tuple[str, bytes] | None:
        _, headers, body = _dated_get(get, url)
        held = headers["Last-Modified"]
        unchanged = all(get(url, **{"If-Modified-Since": held})[0] == 304 for _ in range(2 * WORKERS))
        return (held, body) if unchanged else None

    return {url: wait_for(lambda url=url: agreed(url), 10, f"every worker to agree on {url}") for url in SHOWN[change]}


@pytest.mark.parametrize("change", CHANGES)
def test_only_if_modified_since_sees_every_change_on_gunicorn(tmp_path, change):
    for due_in, folder in _attempts(change, tmp_path):
        folder.mkdir()
        try:
            return _on_gunicorn(folder, change, due_in)
        except TooLate:
            continue
    pytest.fail("the scheduled post went live before the dates were taken, however far ahead it was due")


def _on_gunicorn(tmp_path: Path, change: str, due_in: float) -> None:
    project = copy_project(tmp_path / "project") if change == "template changed" else servers.ROOT
    posts = tmp_path / "posts"
    posts.mkdir()
    for source in (servers.DATA / "posts").glob("*.md"):
        (posts / source.name).write_bytes(source.read_bytes())
    due = _prepare(change, posts, due_in)
    server = Server(tmp_path, posts=posts, root=project)
    restarted: Server | None = None
    try:
        get = _gunicorn_get(server)
        before = _before(get, change)
        _change(change, posts, project, due)
        if change == "template changed":  # templates are read at start: the change is a restart
            server.stop()
            restarted = server = Server(tmp_path, posts=posts, root=project, name="restarted")
            get = _gunicorn_get(server)
        _check(change, get, before)
    finally:
        server.stop()
        if restarted is not None and restarted is not server:
            restarted.stop()


@pytest.mark.parametrize("change", CHANGES)
def test_only_if_modified_since_sees_every_change_through_the_edge(tmp_path, monkeypatch, change):
    for due_in, folder in _attempts(change, tmp_path):
        folder.mkdir()
        try:
            return _through_the_edge(folder, monkeypatch, change, due_in)
        except TooLate:
            continue
    pytest.fail("the scheduled post went live before the dates were taken, however far ahead it was due")


def _through_the_edge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: str, due_in: float) -> None:
    project = copy_project(tmp_path / "project") if change == "template changed" else servers.ROOT
    gunicorn, nginx = start_nginx_stack(tmp_path, root=project)
    try:
        due = _prepare(change, gunicorn.posts, due_in)
        get = _nginx_get(nginx)
        if change == "post deleted":  # written after the start: wait until it shows
            wait_for(lambda: all(b"Doomed Post" in get(url)[2] for url in SHOWN[change]), 5, "the post shown")
        before = _before(get, change)
        _change(change, gunicorn.posts, project, due)
        if change == "template changed":
            gunicorn.stop()  # systemctl restart: stop, then start on the same port
            monkeypatch.setattr(servers, "free_port", lambda: gunicorn.port)
            gunicorn = Server(
                tmp_path, env={"FLASK_BLOG_PROXY_COUNT": "1"}, posts=gunicorn.posts, root=project, name="again"
            )
        _check(change, get, before)
    finally:
        nginx.stop()
        gunicorn.stop()
