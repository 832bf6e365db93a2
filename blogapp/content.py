"""The only module that reads BLOG_POSTS_DIR: scanning, the parsed-post memo and the index.

Each worker keeps ``{path: (stat key, content digest, Post | PostError, public files used)}``
and checks the folder at most every BLOG_RELOAD_INTERVAL seconds (with inotify, a stat pass
only when the kernel reported a change, or every FULL_LOOK_EVERY seconds), so an edit shows
within about a second everywhere and an unchanged file is never parsed again.
``content_version()`` fingerprints what is visible (the posts, and the state of the public
files they use: publicwatch.py), and the response cache keys on it.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask import abort
from flask import current_app

from .markup import render_markdown
from .posts import EncodingError
from .posts import Post
from .posts import PostError
from .posts import SlugError
from .posts import TooLargeError
from .posts import extract_body
from .posts import normalize_slug
from .posts import parse_post
from .publicfiles import is_inside
from .publicwatch import PublicFiles
from .publicwatch import references
from .watch import FULL_LOOK_EVERY
from .watch import Watch

logger = logging.getLogger("blogapp.content")

StatKey = tuple[int, int, int]
#: What loading one file gives: content digest, Post or PostError, public files it uses.
Loaded = tuple[str, "Post | PostError", tuple[str, ...]]
#: Below this many files to parse, forking helpers costs more than it saves.
PARALLEL_MIN = 2000


def is_post_file(name: str) -> bool:
    """True for ``*.md`` names that are not hidden files or editor leftovers."""
    return name.endswith(".md") and not name.startswith((".", "#", "~")) and len(name) > 3


@dataclass
class Snapshot:
    """Everything known about the folder at one moment; replaced whole, never edited."""

    fingerprint: str
    posts: list[Post]  # valid posts, newest first, hidden ones included
    errors: list[PostError]
    show_hidden: bool
    public: str = ""  # PublicFiles.fingerprint: the public files the posts use
    _publish_times: list[float] = field(default_factory=list)  # of the non-draft posts, ascending
    _views: dict[int, View] = field(default_factory=dict)

    def view(self, now: float) -> View:
        """The posts visible at ``now`` (POSIX seconds); computed once per publication boundary."""
        passed = bisect.bisect_right(self._publish_times, now)
        view = self._views.get(passed)
        if view is None:
            view = self._views[passed] = View.build(self, now, passed)
        return view


@dataclass
class View:
    version: str
    posts: list[Post]
    by_slug: dict[str, Post]
    next_publication: float | None  # POSIX seconds

    @functools.cached_property
    def tags(self) -> dict[str, tuple[str, list[Post]]]:
        """``{casefolded tag: (display name, posts newest first)}``, most used first."""
        found: dict[str, tuple[str, list[Post]]] = {}
        for post in self.posts:
            for tag in post.tags:
                found.setdefault(tag.casefold(), (tag, []))[1].append(post)
        return dict(sorted(found.items(), key=lambda item: (-len(item[1][1]), item[0])))

    @functools.cached_property
    def aliases(self) -> dict[str, Post]:
        """``{old path: post}`` from the posts' ``aliases:`` (a path, or an old slug)."""
        found: dict[str, Post] = {}
        live = {f"/posts/{p.slug}" for p in self.posts}
        for post in self.posts:
            for alias in alias_paths(post.meta.get("aliases")):
                if alias not in live:  # a live post's own URL always wins
                    found.setdefault(alias, post)
        return found

    @classmethod
    def build(cls, snap: Snapshot, now: float, passed: int) -> View:
        if snap.show_hidden:
            posts = list(snap.posts)
        else:
            posts = [p for p in snap.posts if not p.draft and p.timestamp <= now]
        times = snap._publish_times
        return cls(
            version=f"{snap.fingerprint}.{snap.public}.{passed}",
            posts=posts,
            by_slug={p.slug: p for p in posts},
            next_publication=times[passed] if passed < len(times) else None,
        )


class ContentStore:
    """Per-app, per-process state: the memo and the current snapshot."""

    def __init__(self, app: Flask) -> None:
        cfg = app.config
        self.posts_dir: Path = cfg["BLOG_POSTS_DIR"]
        self.max_bytes: int = cfg["BLOG_MAX_POST_BYTES"]
        self.interval: float = cfg["BLOG_RELOAD_INTERVAL"]
        self.show_hidden: bool = cfg["BLOG_SHOW_DRAFTS"]
        self.timezone = ZoneInfo(cfg["BLOG_TIMEZONE"])
        self.default_author: str = cfg["BLOG_AUTHOR"]
        self.render: Callable = functools.partial(render_markdown, trust_html=cfg["BLOG_TRUST_HTML"])
        # {path: (stat key, content digest, Post or PostError, public files it uses)}
        self._memo: dict[str, tuple[StatKey, str, Post | PostError, tuple[str, ...]]] = {}
        self._stats: dict[str, StatKey] = {}
        self.gone_file: Path = cfg["BLOG_GONE_FILE"]
        self._gone: tuple[tuple[int, int] | None, frozenset[str]] = (None, frozenset())
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._looked = -float("inf")
        self._watch = Watch(str(self.posts_dir)) if cfg["BLOG_WATCH"] == "auto" and Watch.available() else None
        self._public = PublicFiles(str(cfg["BLOG_PUBLIC_DIR"]), watch=cfg["BLOG_WATCH"] == "auto")
        self._snapshot: Snapshot | None = None

    def snapshot(self) -> Snapshot:
        """The current snapshot, rescanning the folder if the interval has passed.

        With a watch (BLOG_WATCH=auto on Linux), the look is skipped unless the kernel
        reported an event in the folder, or FULL_LOOK_EVERY seconds have passed.
        """
        now = time.monotonic()
        if self._snapshot is None or now - self._checked >= self.interval:
            with self._lock:
                if self._snapshot is None or now - self._checked >= self.interval:
                    started = time.monotonic()  # the look starts now, however long it takes
                    first = self._snapshot is None
                    if self._needs_look(started):
                        self._snapshot = self._rescan(self._snapshot)
                        self._looked = started
                    public = self._public.current(started)
                    if public != self._snapshot.public:
                        # A cover or image the posts use was added, removed or replaced.
                        self._snapshot = dataclasses.replace(self._snapshot, public=public, _views={})
                    # After the first read (seconds at 10,000 posts, in gunicorn's master) the
                    # next check is an interval after it ends: workers forked right after it
                    # then answer at once instead of each starting with a full look. What
                    # changes meanwhile is seen at that check (a new watch always looks).
                    self._checked = time.monotonic() if first else started
        return self._snapshot

    def _needs_look(self, now: float) -> bool:
        if self._watch is None:
            return True
        # Always drain, so one event means one look; the first call opens the watch before
        # the first look, so nothing written during that look is missed.
        changed = self._watch.changed()
        return changed or self._snapshot is None or now - self._looked >= FULL_LOOK_EVERY

    def gone(self) -> frozenset[str]:
        """Paths listed in BLOG_GONE_FILE, re-read when the file changes."""
        try:
            st = os.stat(self.gone_file)
            key = (st.st_mtime_ns, st.st_size)
        except OSError:
            return frozenset()
        if self._gone[0] != key:
            with open(self.gone_file, encoding="utf-8", errors="replace") as fh:
                self._gone = (key, frozenset(alias_paths([line.split("#", 1)[0] for line in fh])))
        return self._gone[1]

    def current_view(self) -> View:
        """The posts visible now (cheap: at most a stat pass once per interval)."""
        return self.snapshot().view(time.time())

    def _rescan(self, old: Snapshot | None) -> Snapshot:
        stats = self._list()
        if old is not None and stats == self._stats:
            return old  # the common case: one stat pass, nothing else
        memo = {path: self._memo[path] for path, key in stats.items() if self._memo.get(path, (None,))[0] == key}
        changed = [(path, key) for path, key in stats.items() if path not in memo]
        for (path, key), loaded in zip(changed, self._load_many(changed), strict=True):
            memo[path] = (key, *loaded)
            if isinstance(loaded[1], PostError):
                logger.warning("invalid post %s", loaded[1])
        self._memo, self._stats = memo, stats
        self._public.use(ref for *_, refs in memo.values() for ref in refs)
        # The version hashes names and contents, not times: hosts with their own copies of
        # the same posts agree on it, and so share a Redis cache.
        listing = sorted((os.path.basename(path), digest) for path, (_, digest, *_) in memo.items())
        fingerprint = hashlib.blake2b(repr(listing).encode(), digest_size=8).hexdigest()
        return self._index(fingerprint, [item for _, _, item, _ in memo.values()])

    def _load_many(self, items: list[tuple[str, StatKey]]) -> list[Loaded]:
        """Load files, on every core when there are many and it is safe to fork.

        Loading 10,000 posts takes ~1 s on one core. At start-up (gunicorn's master preloads
        the app, see wsgi.py) there is one thread, so forked helpers can share the work.
        Never forks from a threaded worker, where another thread could hold a lock.
        """
        cores = os.cpu_count() or 1
        if len(items) < PARALLEL_MIN or cores < 2 or threading.active_count() > 1 or not hasattr(os, "fork"):
            return [self._load(path, key[1]) for path, key in items]
        chunks = [items[i::cores] for i in range(cores)]
        context = multiprocessing.get_context("fork")
        global _forking_store
        _forking_store = self  # the forked helpers inherit it; only file names travel to them
        try:
            # This process loads the first share itself: one helper fewer to start, and one
            # share fewer to pickle back (~0.3 s less at 10,000 posts on 2 cores).
            with ProcessPoolExecutor(max_workers=cores - 1, mp_context=context) as pool:
                helpers = [pool.submit(_load_chunk, chunk) for chunk in chunks[1:]]
                parts = [_load_chunk(chunks[0])] + [helper.result() for helper in helpers]
        finally:
            _forking_store = None
        results: list[Loaded] = [None] * len(items)  # type: ignore[list-item]
        for i, part in enumerate(parts):
            results[i::cores] = part
        return results

    def _list(self) -> dict[str, StatKey]:
        """Stat every candidate post file; the only directory scan."""
        root = str(self.posts_dir)
        found: dict[str, StatKey] = {}
        try:
            entries = list(os.scandir(root))
        except OSError as exc:
            logger.error("cannot read BLOG_POSTS_DIR %s: %s", root, exc)
            return found
        for entry in entries:
            if not is_post_file(entry.name):
                continue
            try:
                if entry.is_symlink() and not is_inside(entry.path, root):
                    continue
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue
            found[entry.path] = (st.st_mtime_ns, st.st_size, st.st_ino)
        return found

    def _load(self, path: str, size: int) -> Loaded:
        """(content digest, Post or the reason it is invalid, public files it uses) for one file."""
        digest = f"size:{size}"
        try:
            if size > self.max_bytes:
                raise TooLargeError(path, f"file is {size} bytes, over BLOG_MAX_POST_BYTES ({self.max_bytes})")
            data = _read_at_most(path, size, self.max_bytes)
            digest = hashlib.blake2b(data, digest_size=8).hexdigest()
            if len(data) > self.max_bytes:
                raise TooLargeError(path, f"file is over BLOG_MAX_POST_BYTES ({self.max_bytes})")
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                raise EncodingError(path, f"not UTF-8 (byte {exc.start})") from None
            # Keep the front matter only; the body is read again when it is rendered.
            body = _BodyFromFile(path)
            post = parse_post(
                text,
                path,
                self.render,
                slug=normalize_slug(os.path.basename(path)[:-3]),
                timezone=self.timezone,
                default_author=self.default_author,
                load_body=body,
            )
            body.title = post.title  # known once parsed: the body drops a heading repeating it
            return digest, post, references(post, text)
        except PostError as err:
            return digest, err, ()
        except OSError as exc:
            return digest, PostError(path, f"cannot read: {exc.strerror or exc}"), ()

    def _index(self, fingerprint: str, loaded: list[Post | PostError]) -> Snapshot:
        errors = [item for item in loaded if isinstance(item, PostError)]
        claims: dict[str, list[Post]] = {}
        for item in loaded:
            if isinstance(item, Post):
                claims.setdefault(item.slug, []).append(item)
        posts: list[Post] = []
        for group in claims.values():
            if len(group) > 1:
                # A file named after the slug keeps it over a `slug:` override that claims it too.
                group.sort(key=_claim_order)
                for post in group[1:]:
                    err = SlugError(post.source, f"slug {post.slug!r} is already used by {group[0].source}")
                    logger.warning("invalid post %s", err)
                    errors.append(err)
            posts.append(group[0])
        # Timestamps, not datetimes: comparing datetimes in assorted zones converts both
        # on every comparison, which made these two sorts ~0.3 s at 10,000 posts.
        posts.sort(key=lambda p: (p.timestamp, p.slug), reverse=True)
        times = sorted(p.timestamp for p in posts if not p.draft)
        errors.sort(key=lambda e: e.path)
        return Snapshot(fingerprint, posts, errors, self.show_hidden, _publish_times=times)


_forking_store: ContentStore | None = None


def _load_chunk(items: list[tuple[str, StatKey]]) -> list[Loaded]:
    """Load some files with the store set before forking (in a forked helper, or the parent)."""
    assert _forking_store is not None
    loaded = []
    for i, (path, key) in enumerate(items):
        if i % 64 == 63:
            time.sleep(0)  # let other greenlets run (gevent): the pool's reader drains helpers' pipes
        loaded.append(_forking_store._load(path, key[1]))
    return loaded


def alias_paths(value: Any) -> list[str]:
    """Normalise ``aliases:`` (a string or a list): ``old-slug`` means ``/posts/old-slug``."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    paths = []
    for item in items:
        if not isinstance(item, str | int) or not str(item).strip():
            continue
        text = normalize_slug(str(item).strip())
        path = text if text.startswith("/") else f"/posts/{text}"
        paths.append(path.rstrip("/") or "/")
    return paths


def read_text(post: Post) -> str:
    """The post file's whole text as it is now ("" if it has gone)."""
    return _read_file(post.source)


def _read_at_most(path: str, size: int, limit: int) -> bytes:
    """The file's bytes, at most ``limit + 1`` of them (so "too large" shows), read with
    ``size`` (its length when stat'ed) as the first guess.

    Five times cheaper than ``open(path, "rb").read(limit + 1)``, which allocates ``limit``
    bytes for every file: that was a sixth of the time to load 10,000 posts.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        parts, total, want = [], 0, min(size, limit) + 1
        while total <= limit:
            chunk = os.read(fd, want)
            if not chunk:
                break
            parts.append(chunk)
            total += len(chunk)
            want = min(limit + 1 - total, 1 << 16)  # the file grew since its stat
        return b"".join(parts)
    finally:
        os.close(fd)


def _read_file(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return fh.read().decode("utf-8-sig", errors="replace")
    except OSError:
        return ""


def get_store() -> ContentStore:
    """This app's ContentStore (for tools that need hidden posts too, like ``check``)."""
    return current_app.extensions["blog_content"]


class _BodyFromFile:
    """``Post.load_body`` of a loaded post: its body, read from the file when needed."""

    __slots__ = ("path", "title")

    def __init__(self, path: str) -> None:
        self.path, self.title = path, ""

    def __call__(self) -> str:
        return read_body(self.path, self.title)


def read_body(path: str, title: str) -> str:
    """Read a post's body from disk ("" if the file has gone: the next rescan drops it)."""
    return extract_body(_read_file(path), title)


def _claim_order(post: Post) -> tuple[bool, str]:
    return normalize_slug(os.path.basename(post.source)[:-3]) != post.slug, post.source


def init_app(app: Flask) -> None:
    """Attach a ContentStore to ``app``."""
    app.extensions["blog_content"] = ContentStore(app)


def _view() -> View:
    return current_app.extensions["blog_content"].current_view()


def get_posts() -> list[Post]:
    """Visible posts, newest first."""
    return _view().posts


def get_post(slug: str) -> Post | None:
    """The visible post with this slug, or None."""
    return _view().by_slug.get(normalize_slug(slug))


def get_post_or_404(slug: str) -> Post:
    """The visible post with this slug.

    :raise NotFound: when no visible post has it (missing, invalid, draft or future).
    """
    post = get_post(slug)
    if post is None:
        abort(404, f"No post {slug!r}.")
    return post


def get_tag(tag: str) -> tuple[str, list[Post]] | None:
    """``(display name, posts)`` for a tag, matched without regard to case."""
    return _view().tags.get(" ".join(tag.split()).casefold())


def get_tags() -> dict[str, tuple[str, list[Post]]]:
    """Every tag with its posts, most used first."""
    return _view().tags


def alias_target(path: str) -> Post | None:
    """The post an old URL (``aliases:``) now lives at, if any."""
    return _view().aliases.get(normalize_slug(path.rstrip("/") or "/"))


def is_gone(path: str) -> bool:
    """True when BLOG_GONE_FILE lists ``path`` (or, for ``/posts/<slug>``, the slug)."""
    return normalize_slug(path.rstrip("/") or "/") in current_app.extensions["blog_content"].gone()


def invalid_post_at(path: str) -> PostError | None:
    """For ``/posts/<slug>``: the error of an invalid file named ``<slug>.md`` (author preview)."""
    if not path.startswith("/posts/"):
        return None
    slug = normalize_slug(path[len("/posts/") :])
    for error in invalid_posts():
        if normalize_slug(os.path.basename(error.path)[:-3]) == slug:
            return error
    return None


def invalid_posts() -> list[PostError]:
    """Every post file that could not be used, sorted by path."""
    return current_app.extensions["blog_content"].snapshot().errors


def content_version() -> str:
    """A short fingerprint that changes whenever what the site shows changes."""
    return _view().version
