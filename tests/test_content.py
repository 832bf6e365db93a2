"""content.py over a temporary copy of tests/data/posts: which files are posts (ignore rules,
symlinks), slugs from file names, lookups and 404s, drafts and future posts, invalid posts and
their reasons, duplicate slugs, and reloading: edits, additions and deletions, identity of
unchanged posts, logging once per change, content_version(), and the reload interval.
"""

from __future__ import annotations

import datetime as dt
import gc
import logging
import os
import sys
import time
import unicodedata
from pathlib import Path

import pytest
from werkzeug.exceptions import NotFound

from blogapp import content
from blogapp import create_app
from blogapp.files.inotify import Watch
from blogapp.posts import loader as postfiles
from blogapp.posts import store as content_store
from blogapp.posts.fields import BadDateError
from blogapp.posts.fields import EmptyPostError
from blogapp.posts.fields import EncodingError
from blogapp.posts.fields import FrontMatterError
from blogapp.posts.fields import MissingFieldError
from blogapp.posts.fields import SlugError
from blogapp.posts.fields import TooLargeError
from blogapp.posts.post import parse_post
from blogapp.text import documents

from .conftest import post_text
from .support import FakeMonotonic
from .support import wait_for

#: Fixtures that are not posts at all: neither served nor reported.
IGNORED = {".#lock.md", ".hidden.md", ".swap.md.swp", "backup.md~", "notes.txt", "subfolder"}
#: Fixtures that are reported as invalid, with the error they give.
INVALID = {
    "date-not-a-date.md": BadDateError,
    "empty.md": EmptyPostError,
    "excerpt-with-unescaped-quotes.md": FrontMatterError,
    "front-matter-is-a-list.md": FrontMatterError,
    "no-title.md": MissingFieldError,
    "not-utf8.md": EncodingError,
}
#: Valid fixtures hidden unless BLOG_SHOW_DRAFTS.
HIDDEN = {"draft", "preview", "future"}


@pytest.fixture
def make_app(config):
    """Build an app with some settings changed from the test configuration."""

    def make(**overrides):
        return create_app({**config, **overrides})

    return make


def slugs() -> set[str]:
    return {post.slug for post in content.get_posts()}


def invalid_names() -> dict[str, type]:
    return {os.path.basename(err.path): type(err) for err in content.invalid_posts()}


# --- which files are posts ------------------------------------------------------------------


def test_every_fixture_file_is_served_reported_or_ignored(make_app, posts_dir):
    app = make_app(BLOG_SHOW_DRAFTS=True)
    with app.app_context():
        served = {os.path.basename(post.source) for post in content.get_posts()}
        reported = set(invalid_names())
    on_disk = {path.name for path in posts_dir.iterdir()}
    assert served | reported | IGNORED == on_disk
    assert not served & reported
    assert not (served | reported) & IGNORED


@pytest.mark.parametrize(
    "name",
    ["notes.txt", "post.markdown", ".secret.md", "post.md~", ".#post.md", ".post.md.swp", "#post.md#", "post.MD"],
)
def test_ignored_names(app, write_post, name):
    write_post(name, post_text("Should Not Show"))
    with app.app_context():
        assert "Should Not Show" not in {post.title for post in content.get_posts()}
        assert name not in invalid_names()


def test_subfolders_are_ignored(app, posts_dir):
    nested = posts_dir / "subfolder" / "nested.md"
    nested.write_text(post_text("Nested"), encoding="utf-8")
    (posts_dir / "folder.md").mkdir()
    with app.app_context():
        titles = {post.title for post in content.get_posts()}
        assert "Nested" not in titles
        assert "Inside Subfolder" not in titles
        assert not {"inside", "nested", "folder"} & slugs()
        assert "folder.md" not in invalid_names()


def test_symlink_outside_the_folder_is_ignored(app, posts_dir, tmp_path):
    outside = tmp_path / "outside.md"
    outside.write_text(post_text("Outside Secret"), encoding="utf-8")
    os.symlink(outside, posts_dir / "escape.md")
    os.symlink("../outside.md", posts_dir / "relative-escape.md")
    os.symlink(posts_dir / "escape.md", posts_dir / "chain.md")
    with app.app_context():
        assert not {"escape", "relative-escape", "chain"} & slugs()
        assert "Outside Secret" not in {post.title for post in content.get_posts()}
        assert not {"escape.md", "relative-escape.md", "chain.md"} & set(invalid_names())
        assert content.get_post("escape") is None


def test_symlink_inside_the_folder_is_a_post(app, posts_dir):
    os.symlink(posts_dir / "hello-world.md", posts_dir / "hello-again.md")
    os.symlink("tags-as-list.md", posts_dir / "relative-alias.md")
    with app.app_context():
        assert content.get_post("hello-again").title == "Hello World"
        assert content.get_post("relative-alias").title == "Tags As List"
        assert content.get_post("hello-world") is not None


def test_dangling_symlink_is_ignored(app, posts_dir):
    os.symlink(posts_dir / "gone.md", posts_dir / "dangling.md")
    with app.app_context():
        assert "dangling" not in slugs()
        assert content.get_post("hello-world") is not None


# --- slugs and lookups -----------------------------------------------------------------------


@pytest.mark.parametrize("slug", ["Upper Case & Spaces", "it's-an-apostrophe", "double--dash", "café-naïve"])
def test_slug_is_the_file_name(app, slug):
    with app.app_context():
        post = content.get_post(slug)
        assert post is not None
        assert post.slug == slug
        assert post.title == f"File {slug}"
        assert content.get_post_or_404(slug) is post


def test_slug_lookup_is_exact(app):
    with app.app_context():
        assert content.get_post("upper case & spaces") is None
        assert content.get_post("Upper-Case-&-Spaces") is None
        assert content.get_post("double-dash") is None
        assert content.get_post("its-an-apostrophe") is None


def test_slug_override(app):
    with app.app_context():
        assert content.get_post("custom-slug").title == "Slug Override"
        assert content.get_post("slug-override") is None


def test_nfd_file_name_matches_nfc_lookup(app, write_post, posts_dir):
    nfd = unicodedata.normalize("NFD", "crème-brûlée")
    write_post(f"{nfd}.md", post_text("Dessert"))
    assert f"{nfd}.md" in os.listdir(posts_dir)
    with app.app_context():
        nfc = unicodedata.normalize("NFC", "crème-brûlée")
        assert nfc != nfd
        assert content.get_post(nfc).title == "Dessert"
        assert content.get_post(nfd).title == "Dessert"
        assert content.get_post(unicodedata.normalize("NFD", "café-naïve")).title == "File café-naïve"


@pytest.mark.parametrize(
    "slug",
    [
        "no-such-post",
        "no-title",
        "empty",
        "not-utf8",
        "draft",
        "preview",
        "future",
        "notes",
        "inside",
        "",
        "../hello-world",
    ],
)
def test_get_post_or_404_aborts(app, slug):
    with app.app_context():
        assert content.get_post(slug) is None
        with pytest.raises(NotFound):
            content.get_post_or_404(slug)


def test_get_posts_newest_first_without_hidden_or_invalid(app):
    with app.app_context():
        posts = content.get_posts()
        dates = [post.date for post in posts]
        assert dates == sorted(dates, reverse=True)
        assert not HIDDEN & slugs()
        assert not {"no-title", "empty", "date-not-a-date"} & slugs()
        assert posts[0].slug == "microseconds-no-offset"


def test_show_drafts_shows_drafts_and_future_posts(make_app):
    app = make_app(BLOG_SHOW_DRAFTS=True)
    with app.app_context():
        assert slugs() >= HIDDEN
        for slug in HIDDEN:
            assert content.get_post_or_404(slug).slug == slug
        assert content.get_posts()[0].slug == "future"
        assert content.get_post("no-title") is None


def test_tags_are_matched_without_case(app):
    with app.app_context():
        name, posts = content.get_tag("PYTHON")
        assert name == "python"
        assert {post.slug for post in posts} == {"hello-world", "tags-as-list", "tags-as-string"}
        assert content.get_tag("no-such-tag") is None
        assert "draft" not in {post.slug for _, tagged in content.get_tags().values() for post in tagged}


# --- invalid posts -------------------------------------------------------------------------


def test_invalid_posts_lists_each_invalid_fixture_with_its_reason(app, posts_dir):
    with app.app_context():
        errors = content.invalid_posts()
    assert {os.path.basename(err.path): type(err) for err in errors} == INVALID
    assert [err.path for err in errors] == sorted(err.path for err in errors)
    for err in errors:
        assert Path(err.path).parent == posts_dir
        assert err.reason
        where = f"{err.path}:{err.line}" if err.line else err.path
        assert str(err) == f"{where}: {err.reason}"
    quotes = next(err for err in errors if err.path.endswith("excerpt-with-unescaped-quotes.md"))
    assert str(quotes).startswith(f"{posts_dir / 'excerpt-with-unescaped-quotes.md'}:3: ")


def test_reading_at_most_the_limit_copes_with_files_that_grew_since_their_stat(tmp_path):
    from blogapp.posts.loader import _read_at_most

    path = tmp_path / "grew.md"
    path.write_bytes(b"x" * 50_000)
    assert len(_read_at_most(str(path), 10, 100_000)) == 50_000  # stat said 10 bytes: read on
    assert len(_read_at_most(str(path), 10, 1_000)) == 1_001  # one past the limit shows "too large"
    assert len(_read_at_most(str(path), 50_000, 1_000_000)) == 50_000


@pytest.mark.skipif((os.cpu_count() or 1) < 2 or not hasattr(os, "fork"), reason="needs two cores and fork")
def test_parallel_first_read_equals_the_serial_one(make_app, monkeypatch):
    """Thousands of files are loaded by forked helpers (and this process); same result."""
    serial = content.get_store(make_app()).snapshot()
    pools = []
    real_pool = content_store.ProcessPoolExecutor

    def counting_pool(*args, **kwargs):
        pools.append(kwargs)
        return real_pool(*args, **kwargs)

    monkeypatch.setattr(content_store, "PARALLEL_MIN", 2)
    monkeypatch.setattr(content_store, "ProcessPoolExecutor", counting_pool)
    monkeypatch.setattr(content_store.threading, "active_count", lambda: 1)  # pytest may run helper threads
    parallel = content.get_store(make_app()).snapshot()
    assert len(pools) == 1
    assert [(p.slug, p.title, p.date, p.tags, p.source) for p in parallel.posts] == [
        (p.slug, p.title, p.date, p.tags, p.source) for p in serial.posts
    ]
    assert [str(e) for e in parallel.errors] == [str(e) for e in serial.errors]
    assert parallel.fingerprint == serial.fingerprint
    store = content.get_store(make_app())
    assert store.body(parallel.posts[0]) == store.body(serial.posts[0])  # bodies still load from the files


def test_too_large_file_is_invalid(make_app, write_post):
    app = make_app(BLOG_MAX_POST_BYTES=2048)
    write_post("big.md", post_text("Big", body="x " * 1100))
    write_post("small.md", post_text("Small", body="x " * 900))
    with app.app_context():
        assert invalid_names()["big.md"] is TooLargeError
        assert "BLOG_MAX_POST_BYTES" in next(e.reason for e in content.invalid_posts() if e.path.endswith("big.md"))
        assert content.get_post("big") is None
        assert content.get_post("small").title == "Small"


def test_non_utf8_file_is_invalid(app, write_post):
    write_post("latin1.md", post_text("Café").encode("latin-1"))
    with app.app_context():
        assert invalid_names()["latin1.md"] is EncodingError
        assert content.get_post("latin1") is None


def test_utf8_bom_is_accepted(app):
    with app.app_context():
        assert content.get_post("utf8-bom").title == "UTF-8 BOM"


def test_bad_file_does_not_affect_the_others(app, write_post):
    with app.app_context():
        before = slugs()
        write_post("broken.md", '---\ntitle: "unclosed\ndate: 2024-01-01\n---\nBody.\n')
        assert slugs() == before
        assert "broken.md" in invalid_names()


def test_two_files_claiming_one_slug(app, write_post):
    write_post("another-hello.md", post_text("Impostor", slug="hello-world"))
    with app.app_context():
        served = content.get_post("hello-world")
        assert served is not None
        assert served.title in ("Hello World", "Impostor")
        loser = "another-hello.md" if served.title == "Hello World" else "hello-world.md"
        errors = [err for err in content.invalid_posts() if isinstance(err, SlugError)]
        assert [os.path.basename(err.path) for err in errors] == [loser]
        assert "hello-world" in errors[0].reason
        assert [post.slug for post in content.get_posts()].count("hello-world") == 1


def test_nfc_and_nfd_names_claim_one_slug(app, write_post):
    write_post(unicodedata.normalize("NFD", "café-naïve") + ".md", post_text("NFD twin"))
    with app.app_context():
        assert content.get_post("café-naïve").title in ("File café-naïve", "NFD twin")
        assert len([err for err in content.invalid_posts() if isinstance(err, SlugError)]) == 1


# --- reloading -------------------------------------------------------------------------------


def test_edits_additions_and_deletions_show_on_the_next_call(app, write_post, posts_dir):
    with app.app_context():
        assert content.get_post("brand-new") is None
        write_post("brand-new.md", post_text("Brand New"))
        assert content.get_post("brand-new").title == "Brand New"
        write_post("brand-new.md", post_text("Brand New, Edited"))
        assert content.get_post("brand-new").title == "Brand New, Edited"
        (posts_dir / "brand-new.md").unlink()
        assert content.get_post("brand-new") is None
        (posts_dir / "hello-world.md").unlink()
        assert "hello-world" not in slugs()


def test_fixing_and_breaking_a_post_moves_it_between_lists(app, write_post):
    with app.app_context():
        write_post("no-title.md", post_text("Now Titled"))
        assert content.get_post("no-title").title == "Now Titled"
        assert "no-title.md" not in invalid_names()
        write_post("hello-world.md", "---\ntitle: Hello World\n---\nNo date.\n")
        assert content.get_post("hello-world") is None
        assert invalid_names()["hello-world.md"] is MissingFieldError


def test_unchanged_posts_keep_their_identity(app, write_post, monkeypatch):
    parsed = []
    real_parse = postfiles.parse_post

    def counting_parse(text, source, *args, **kwargs):
        parsed.append(os.path.basename(source))
        return real_parse(text, source, *args, **kwargs)

    monkeypatch.setattr(postfiles, "parse_post", counting_parse)
    with app.app_context():
        untouched = content.get_post("tags-as-list")
        edited = content.get_post("tags-as-string")
        assert "tags-as-list.md" in parsed
        parsed.clear()
        for _ in range(3):
            content.get_posts()
        assert parsed == []
        write_post("tags-as-string.md", post_text("Tags Edited", tags='"a, b"'))
        assert content.get_post("tags-as-list") is untouched
        reparsed = content.get_post("tags-as-string")
        assert reparsed is not edited
        assert reparsed.title == "Tags Edited"
        assert reparsed.tags == ("a", "b")
        assert parsed == ["tags-as-string.md"]


def test_bad_file_is_logged_once_per_change(app, write_post, caplog):
    caplog.set_level(logging.WARNING, logger="blogapp.content")

    def logged() -> int:
        return sum("broken.md" in record.getMessage() for record in caplog.records)

    with app.app_context():
        write_post("broken.md", "---\ntitle: Broken\n---\nNo date.\n")
        for _ in range(3):
            content.get_posts()
            content.invalid_posts()
            content.content_version()
        assert logged() == 1
        write_post("unrelated.md", post_text("Unrelated"))
        content.get_posts()
        assert logged() == 1
        write_post("broken.md", "---\ntitle: Broken\ndate: someday\n---\nStill broken.\n")
        for _ in range(3):
            content.get_posts()
        assert logged() == 2
        assert "someday" in [r.getMessage() for r in caplog.records if "broken.md" in r.getMessage()][-1]
        write_post("broken.md", post_text("Fixed"))
        content.get_posts()
        assert logged() == 2


def test_content_version(app, write_post, posts_dir):
    with app.app_context():
        first = content.content_version()
        assert content.content_version() == first
        content.get_posts()
        assert content.content_version() == first

        write_post("added.md", post_text("Added"))
        added = content.content_version()
        assert added != first

        write_post("added.md", post_text("Added, Edited"))
        edited = content.content_version()
        assert edited not in (first, added)

        (posts_dir / "added.md").unlink()
        deleted = content.content_version()
        assert deleted not in (added, edited)

        write_post("ignored.txt", "not a post")
        assert content.content_version() == deleted


def test_future_post_appears_when_its_time_comes(app, write_post):
    when = dt.datetime(2031, 5, 1, 12, 0, tzinfo=dt.UTC).timestamp()
    write_post("soon.md", post_text("Soon", date="2031-05-01T12:00:00Z"))
    now = [when - 3600]
    with app.app_context():
        content.get_store().clock = lambda: now[0]  # no sleeping: the test moves time
        assert content.get_post("soon") is None
        before = content.content_version()
        now[0] = when - 0.001
        assert content.get_post("soon") is None
        assert content.content_version() == before
        now[0] = when
        assert content.get_post("soon") is not None
        assert content.content_version() != before
        assert content.get_posts()[0].slug == "soon"
        after = content.content_version()
        assert content.content_version() == after
        now[0] = when - 1  # a clock set back hides it again
        assert content.get_post("soon") is None


def test_changes_show_within_two_seconds_with_a_reload_interval(make_app, write_post):
    app = make_app(BLOG_RELOAD_INTERVAL=1.0)
    with app.app_context():
        assert content.get_post("late") is None
        version = content.content_version()
        write_post("late.md", post_text("Late"))
        wait_for(lambda: content.get_post("late") is not None, 2, "the late post")
        assert content.content_version() != version
        write_post("late.md", post_text("Late, Edited"))
        wait_for(lambda: content.get_post("late").title == "Late, Edited", 2, "the edit")


# --- watching the folder -----------------------------------------------------------------------


def _count_lists(store, monkeypatch):
    calls = []
    real = store._list

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(store, "_list", counting)
    return calls


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux-only")
def test_inotify_is_found_on_linux():
    # Otherwise the tests below skip, and every worker falls back to a stat pass per interval.
    assert Watch.available()


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_watch_skips_the_stat_pass_until_the_folder_changes(app, write_post, monkeypatch):
    store = content.get_store(app)
    store.snapshot()
    calls = _count_lists(store, monkeypatch)
    for _ in range(5):
        store.snapshot()
    assert calls == []  # nothing changed: no look at 30-odd files
    write_post("watched.md", post_text("Watched"))
    assert any(p.slug == "watched" for p in store.snapshot().posts)
    assert len(calls) == 1
    store.snapshot()
    assert len(calls) == 1


def _slugs(store) -> set[str]:
    return {p.slug for p in store.snapshot().posts}


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_a_reported_change_is_seen_by_the_next_request_not_an_interval_later(config, write_post):
    """Behind the edge cache, the blog's part of the 2 s promise: a worker that has just
    checked (and found nothing) still sees a change at its next request, since asking inotify
    costs one read."""
    store = content.get_store(create_app({**config, "BLOG_RELOAD_INTERVAL": 0.5}))
    store.monotonic = clock = FakeMonotonic()
    store.snapshot()  # the first look (and the watch opened)
    clock.advance(0.6)
    store.snapshot()  # a check an interval later: nothing reported, so no look
    write_post("prompt.md", post_text("Prompt"))
    assert "prompt" in _slugs(store)  # not 0.5 s later


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_a_busy_worker_reads_the_watch_a_hundred_times_a_second_not_per_request(config, monkeypatch):
    store = content.get_store(create_app({**config, "BLOG_RELOAD_INTERVAL": 5.0}))
    store.snapshot()
    reads = []
    real = store._watch.changed
    monkeypatch.setattr(store._watch, "changed", lambda: reads.append(1) or real())
    began = time.monotonic()
    for _ in range(20_000):
        store.snapshot()
    elapsed = time.monotonic() - began
    assert 1 <= len(reads) <= elapsed / content_store.ASK_EVERY + 2


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_changes_in_quick_succession_are_each_seen_at_once_when_looks_are_cheap(config, write_post):
    # An author saving twice within a second, or the edge's freshness bench: a look at a few
    # files takes a millisecond or so, so the next may come a few milliseconds later.
    store = content.get_store(create_app({**config, "BLOG_RELOAD_INTERVAL": 5.0}))
    store.monotonic = clock = FakeMonotonic()
    store.snapshot()
    for name in ("one", "two", "three"):
        clock.advance(0.3)
        write_post(f"{name}.md", post_text(name.title()))
        assert name in _slugs(store)


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_a_burst_of_changes_is_looked_at_a_tenth_of_the_time(config, write_post, monkeypatch):
    """A deploy writing thousands of files must not make every request stat every post: the
    next look waits LOOK_SPACING times as long as the last one took."""
    store = content.get_store(create_app({**config, "BLOG_RELOAD_INTERVAL": 5.0}))
    store.monotonic = clock = FakeMonotonic()
    store.snapshot()
    real = store._list

    def slow():
        clock.advance(0.05)  # as a stat pass over many thousands of files
        return real()

    monkeypatch.setattr(store, "_list", slow)
    calls = _count_lists(store, monkeypatch)
    write_post("first.md", post_text("First"))
    assert "first" in _slugs(store)
    write_post("second.md", post_text("Second"))
    for _ in range(5):
        assert "second" not in _slugs(store)  # reported, but the last look began just now
    assert len(calls) == 1
    # The next look may begin LOOK_SPACING times 0.05 s after the last one began (0.05 s ago).
    clock.advance(content_store.LOOK_SPACING * 0.05 - 0.05 - 0.01)
    assert "second" not in _slugs(store)  # not even just before
    clock.advance(0.02)
    assert "second" in _slugs(store)
    assert len(calls) == 2


def test_a_slow_first_read_is_not_followed_by_another_look_at_once(config, monkeypatch):
    """gunicorn forks workers right after the master's first read (seconds at 10,000 posts):
    their first requests must not each begin with a full look at the folder."""
    app = create_app({**config, "BLOG_WATCH": "poll", "BLOG_RELOAD_INTERVAL": 0.5})
    store = content.get_store(app)
    store.monotonic = clock = FakeMonotonic()
    real = store._list

    def slow():
        clock.advance(0.6)  # longer than the interval
        return real()

    monkeypatch.setattr(store, "_list", slow)
    store.snapshot()
    calls = _count_lists(store, monkeypatch)
    store.snapshot()
    assert calls == []  # the next look is an interval after the first read ended
    clock.advance(0.49)
    store.snapshot()
    assert calls == []
    clock.advance(0.02)
    store.snapshot()
    assert len(calls) == 1


def test_poll_mode_looks_every_interval(config, write_post, monkeypatch):
    app = create_app({**config, "BLOG_WATCH": "poll"})
    store = content.get_store(app)
    store.snapshot()
    calls = _count_lists(store, monkeypatch)
    for _ in range(3):
        store.snapshot()
    assert len(calls) == 3


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_a_dropped_watch_closes_its_descriptor(tmp_path):
    import gc

    watch = Watch(str(tmp_path))
    assert watch.changed()  # opens it
    fd = watch.fd
    assert fd >= 0
    del watch
    gc.collect()
    with pytest.raises(OSError):
        os.fstat(fd)


def test_a_big_first_read_pauses_the_garbage_collector_and_restores_it(tmp_path, monkeypatch):
    for i in range(3):
        (tmp_path / f"p{i}.md").write_text(f"---\ntitle: P{i}\ndate: 2024-01-0{i + 1}\n---\nBody {i}\n")
    monkeypatch.setattr(content_store, "BULK_MIN", 2)
    seen = []
    real = content_store.ContentStore._load_many
    monkeypatch.setattr(
        content_store.ContentStore, "_load_many", lambda self, items: seen.append(gc.isenabled()) or real(self, items)
    )
    app = create_app({"TESTING": True, "BLOG_POSTS_DIR": str(tmp_path), "BLOG_GONE_FILE": str(tmp_path / "g")})
    assert len(content.get_store(app).snapshot().posts) == 3
    assert seen == [False] and gc.isenabled()


def test_a_post_page_miss_reads_its_file_once_and_parses_its_markdown_once(app, client, monkeypatch):
    """The page, its summary and the related-posts document share one read of the body (issue
    21): a post page not yet cached, after the listing that summarised it, opens its file once
    and runs the markdown parser once."""
    from markdown_it import MarkdownIt

    assert client.get("/").status_code == 200  # the listing summarises the post
    assert client.get("/posts/tags-as-list").status_code == 200  # builds the search index
    app.extensions["blog_documents"]._bodies.clear()  # nothing kept from the listing
    target = content.get_store(app).posts_dir / "hello-world.md"
    opened, parsed = [], []
    real_open, real_parse = os.open, MarkdownIt.parse

    def counting_open(path, *args, **kwargs):
        opened.append(str(path))
        return real_open(path, *args, **kwargs)

    def counting_parse(md, src, env=None):
        parsed.append(src)
        return real_parse(md, src, env)

    monkeypatch.setattr(os, "open", counting_open)
    monkeypatch.setattr(MarkdownIt, "parse", counting_parse)
    response = client.get("/posts/hello-world")
    monkeypatch.undo()
    assert response.status_code == 200 and response.headers["X-Cache"] == "MISS"
    assert b"related" in response.data.lower()  # related posts were worked out from the body too
    assert opened.count(str(target)) == 1, opened
    body = content.get_store(app).body(content.get_store(app).current_view().by_slug["hello-world"])
    assert parsed.count(body) == 1  # (neighbours never listed before are summarised: their own parses)


def test_a_miss_works_out_the_visible_posts_once(app, client, monkeypatch):
    """The page cache hands the request the Visible its key was made from (content.VIEW_KEY): the
    view function, its templates and image lookups ask for no other."""
    assert client.get("/").status_code == 200
    store = content.get_store(app)
    calls = []
    real = store.current_view
    monkeypatch.setattr(store, "current_view", lambda: calls.append(1) or real())
    response = client.get("/posts/hello-world")
    assert response.status_code == 200 and response.headers["X-Cache"] == "MISS"
    # One for the key, one to check that the posts did not change during the render.
    assert len(calls) == 2


def test_feed_renderings_kept_are_bounded_in_count_and_bytes(monkeypatch):
    """Documents keeps the feeds' HTML of the last FEED_HTML_KEPT posts, within FEED_HTML_BYTES:
    the oldest is made again when asked again; one too large is never kept."""
    bodies = {f"p{i}": f"Body {i}." for i in range(3)} | {"big": "x" * 400}
    posts = {
        slug: parse_post(
            f"---\ntitle: {slug}\ndate: 2024-01-01\n---\n", f"{slug}.md", slug=slug, timezone=dt.UTC, default_author="A"
        )
        for slug in bodies
    }
    monkeypatch.setattr(documents, "FEED_HTML_KEPT", 2)
    monkeypatch.setattr(documents, "FEED_HTML_BYTES", 8 * 100)
    made: list[str] = []
    real = documents.render_body
    monkeypatch.setattr(documents, "render_body", lambda text, **kw: made.append(text) or real(text, **kw))
    docs = documents.Documents(lambda post: bodies[post.slug], trust_html=False)
    for slug in ("p0", "p1", "p0", "p2", "p0", "p1"):
        assert f"Body {slug[1]}." in docs.render(posts[slug], for_page=False).html
    # p0 kept while used; p1 evicted by p2 (two kept), so made twice
    assert made == ["Body 0.", "Body 1.", "Body 2.", "Body 1."]
    docs.render(posts["big"], for_page=False)
    docs.render(posts["big"], for_page=False)
    assert made.count("x" * 400) == 2  # over FEED_HTML_BYTES // 8: never kept


@pytest.mark.skipif(not Watch.available(), reason="inotify is Linux-only")
def test_a_closed_store_gives_its_watches_back_and_still_sees_changes(config, write_post):
    """ContentStore.close returns its inotify instances at once (limited per user); the store
    then looks at the files as polling does, so a change is still seen."""
    config["BLOG_RELOAD_INTERVAL"] = 0
    app = create_app(config)
    store = content.get_store(app)
    store.snapshot()
    store.snapshot()  # the public files' watch opens once the posts say which files they use
    watches = [w for w in (store._watch, store._public.watch) if w is not None]
    assert watches and all(w.working for w in watches)
    fds = [w.fd for w in watches]
    store.close()
    assert not any(w.working for w in watches)
    for fd in fds:
        with pytest.raises(OSError):
            os.fstat(fd)
    write_post("after-close.md", post_text("After Close"))
    assert any(post.slug == "after-close" for post in store.snapshot().posts)
