"""The posts folder: files -> posts, and noticing when a file changes (the only reader of it).

Each worker keeps ``{path: (stat key, content digest, Post | PostError)}``
and, without inotify (BLOG_WATCH=poll), looks at the folder (a stat pass) every
BLOG_RELOAD_INTERVAL seconds. With inotify it looks only when the kernel reported a change (or
every FULL_LOOK_EVERY seconds), and since asking costs one read, requests ask (a busy worker
every ASK_EVERY seconds): a change is seen by the next request. During a burst of writes (a
deploy copying thousands of files) looks are spaced LOOK_SPACING times as long as the last one
took (at most an interval), so a worker spends about a tenth of its time looking. An unchanged
file is never parsed again. The snapshot's fingerprint covers the posts and the state of the
public files they use (publicwatch.py), which are checked every interval.
"""

from __future__ import annotations

import gc
import hashlib
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from ..files.inotify import FULL_LOOK_EVERY
from ..files.inotify import Watch
from ..files.paths import is_inside
from ..files.paths import newest_mtime
from ..files.watched import PublicFiles
from .catalog import Snapshot
from .catalog import Visible
from .catalog import alias_paths
from .catalog import build_snapshot
from .fields import PostError
from .loader import Loaded
from .loader import Loader
from .loader import StatKey
from .loader import load_chunk
from .loader import read_body
from .loader import read_file_text
from .post import Post

logger = logging.getLogger("blogapp.content")

#: From this many files to parse, the garbage collector waits until they are read.
BULK_MIN = 500
#: Below this many files to parse, forking helpers costs more than it saves.
PARALLEL_MIN = 2000
#: With inotify, a reported change waits this many times the last look's duration after it.
LOOK_SPACING = 10
#: Seconds between two reads of the watch: a busy worker asks a hundred times a second, not on
#: every request (a read that finds nothing raises, which costs; see bench/README.md), and
#: sees a change 10 ms later.
ASK_EVERY = 0.01


def is_post_file(name: str) -> bool:
    """True for ``*.md`` names that are not hidden files or editor leftovers."""
    return name.endswith(".md") and not name.startswith((".", "#", "~")) and len(name) > 3


class ContentStore:
    """Per-app, per-process state: the memo and the current snapshot."""

    def __init__(self, cfg: Mapping[str, Any]) -> None:
        self.posts_dir: Path = cfg["BLOG_POSTS_DIR"]
        self.interval: float = cfg["BLOG_RELOAD_INTERVAL"]
        self.show_hidden: bool = cfg["BLOG_SHOW_DRAFTS"]
        self.loader = Loader(
            max_bytes=cfg["BLOG_MAX_POST_BYTES"],
            timezone=ZoneInfo(cfg["BLOG_TIMEZONE"]),
            default_author=cfg["BLOG_AUTHOR"],
        )
        # {path: (stat key, content digest, Post or PostError)}; a Post carries its public files
        self._memo: dict[str, tuple[StatKey, str, Post | PostError]] = {}
        self._stats: dict[str, StatKey] = {}
        self.gone_file: Path = cfg["BLOG_GONE_FILE"]
        self._gone: tuple[tuple[int, int] | None, frozenset[str]] = (None, frozenset())
        self._lock = threading.Lock()
        self._checked = -float("inf")
        self._looked = -float("inf")
        self._pending = False  # the watch reported a change not yet looked at
        self._spacing = 0.0  # seconds from the start of a look to the next (LOOK_SPACING)
        self._asked = -float("inf")  # when the watch was last read between checks (ASK_EVERY)
        self._watch = Watch(str(self.posts_dir)) if cfg["BLOG_WATCH"] == "auto" and Watch.available() else None
        self._public = PublicFiles(str(cfg["BLOG_PUBLIC_DIR"]), watch=cfg["BLOG_WATCH"] == "auto")
        self._snapshot: Snapshot | None = None
        self._linked: tuple[Visible, frozenset[str]] | None = None
        #: "Now" for publication times (POSIX seconds); tests set their own to move time.
        self.clock: Callable[[], float] = time.time
        #: The monotonic clock of the checks (intervals, LOOK_SPACING); tests set their own to move time.
        self.monotonic: Callable[[], float] = time.monotonic

    def snapshot(self, max_age: float | None = None) -> Snapshot:
        """The current snapshot, rescanning the folder if the interval (or ``max_age``
        seconds, if shorter: the live preview's check) has passed.

        With a watch (BLOG_WATCH=auto on Linux), the look is skipped unless the kernel
        reported an event in the folder, or FULL_LOOK_EVERY seconds have passed; and a
        reported event is looked at at once, unless the last look began less than
        LOOK_SPACING times its duration ago (or an interval, if shorter).
        """
        now = self.monotonic()
        interval = self.interval if max_age is None else min(max_age, self.interval)
        snapshot = self._snapshot
        if (
            snapshot is not None
            and now - self._checked < interval
            and now - self._asked < ASK_EVERY
            and not self._pending
        ):
            return snapshot  # the usual case, on every request: nothing to ask or look at
        if self._due(now, interval):
            with self._lock:
                if self._due(now, interval):
                    started = self.monotonic()  # the look starts now, however long it takes
                    first = self._snapshot is None
                    if self._needs_look(started):
                        self._snapshot = self._rescan(self._snapshot)
                        self._looked = started
                        if not first:  # the first read parses every file: no measure of a look
                            self._spacing = LOOK_SPACING * (self.monotonic() - started)
                    public = self._public.current(started)
                    if public != self._snapshot.public:
                        # A cover or image the posts use was added, removed or replaced.
                        self._snapshot = self._snapshot.with_public(public, self._public.modified)
                    # After the first read (long with many posts, in gunicorn's master) the
                    # next check is an interval after it ends: workers forked right after it
                    # then answer at once instead of each starting with a full look. What
                    # changes meanwhile is seen at that check (a new watch always looks).
                    self._checked = self.monotonic() if first else started
        return self._snapshot

    def close(self) -> None:
        """Stop watching the posts and public folders (for an app one is done with: tests, a
        tool that makes many apps); the store then looks at its files every interval, as with
        BLOG_WATCH=poll."""
        for watch in (self._watch, self._public.watch):
            if watch is not None:
                watch.close()

    @property
    def watched(self) -> bool:
        """True while inotify reports this folder's changes: a check then costs one read
        (else it stats every post file)."""
        return self._watch is not None and self._watch.working

    def _due(self, now: float, interval: float) -> bool:
        return self._snapshot is None or now - self._checked >= interval or self._reported(now, interval)

    def _reported(self, now: float, interval: float) -> bool:
        """With a working watch: did the kernel report a change that may be looked at now (see
        LOOK_SPACING)? One non-blocking read, made at most every ASK_EVERY seconds."""
        if not self._pending and now - self._asked >= ASK_EVERY:
            self._asked = now
            if self._watch is not None and self._watch.working:
                self._pending = self._watch.changed()
        return self._pending and now - self._looked >= min(interval, self._spacing)

    def _needs_look(self, now: float) -> bool:
        if self._watch is None:
            return True
        # Always drain, so one event means one look; the first call opens the watch before
        # the first look, so nothing written during that look is missed.
        changed = self._watch.changed() or self._pending
        self._pending = False
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

    def current_view(self) -> Visible:
        """The posts visible now (cheap: at most a stat pass once per interval)."""
        return self.snapshot().view(self.clock())

    def linked_files(self, view: Visible) -> frozenset[str]:
        """The paths under BLOG_PUBLIC_DIR (``assets/x.jpg``, as ``references`` finds them)
        that the posts of ``view`` use: covers, share images, authors' pictures, body images
        and links. Only these get image variants. Worked out once per Visible."""
        linked = self._linked
        if linked is None or linked[0] is not view:
            self._linked = linked = (view, frozenset(ref for post in view.posts for ref in post.public_files))
        return linked[1]

    def text(self, post: Post) -> str:
        """``post``'s whole file text as it is now (front matter included)."""
        return read_file_text(post.source, self.loader.max_bytes)

    def body(self, post: Post) -> str:
        """``post``'s markdown body, read from its file now."""
        return read_body(post.source, post.title, self.loader.max_bytes)

    def digest(self, post: Post) -> str:
        """The content digest of the file ``post`` was read from ("" when it is no longer the
        file's post): what its feeds' publisher (websub) compares across restarts and hosts."""
        entry = self._memo.get(post.source)
        return entry[1] if entry is not None and entry[2] is post else ""

    def _rescan(self, old: Snapshot | None) -> Snapshot:
        stats = self._list()
        if old is not None and stats == self._stats:
            return old  # the common case: one stat pass, nothing else
        memo = {path: self._memo[path] for path, key in stats.items() if self._memo.get(path, (None,))[0] == key}
        changed = [(path, key) for path, key in stats.items() if path not in memo]
        for (path, key), loaded in zip(changed, self._load_bulk(changed), strict=True):
            memo[path] = (key, *loaded)
            if isinstance(loaded[1], PostError):
                logger.warning("invalid post %s", loaded[1])
        self._memo, self._stats = memo, stats
        self._public.use(ref for _, _, item in memo.values() if isinstance(item, Post) for ref in item.public_files)
        # The version hashes names and contents, not times: hosts with their own copies of
        # the same posts agree on it, and so share a Redis cache.
        listing = sorted((os.path.basename(path), digest) for path, (_, digest, *_) in memo.items())
        fingerprint = hashlib.blake2b(repr(listing).encode(), digest_size=8).hexdigest()
        # Times only for Last-Modified: the newest file, or the folder's own time (a deletion).
        newest = max((key[0] for key in stats.values()), default=0) / 1e9
        modified = max(newest, newest_mtime([self.posts_dir]))
        return build_snapshot(fingerprint, [item for _, _, item in memo.values()], self.show_hidden, modified)

    def _load_bulk(self, items: list[tuple[str, StatKey]]) -> list[Loaded]:
        """``_load_many`` with the cyclic garbage collector paused for a big read: the posts
        are long-lived, so its passes over them while they are made find nothing to free."""
        if len(items) < BULK_MIN or not gc.isenabled():
            return self._load_many(items)
        gc.disable()
        try:
            return self._load_many(items)
        finally:
            gc.enable()

    def _load_many(self, items: list[tuple[str, StatKey]]) -> list[Loaded]:
        """Load files, on every core when there are many and it is safe to fork.

        At start-up (gunicorn's master preloads the app, see wsgi.py) there is one thread, so
        forked helpers can share the work. Never forks from a threaded worker, where another
        thread could hold a lock.
        """
        cores = os.cpu_count() or 1
        if len(items) < PARALLEL_MIN or cores < 2 or threading.active_count() > 1 or not hasattr(os, "fork"):
            return load_chunk(self.loader, items)
        chunks = [items[i::cores] for i in range(cores)]
        context = multiprocessing.get_context("fork")
        # This process loads the first share itself: one helper fewer to start, and one share
        # fewer to pickle back.
        with ProcessPoolExecutor(max_workers=cores - 1, mp_context=context) as pool:
            helpers = [pool.submit(load_chunk, self.loader, chunk) for chunk in chunks[1:]]
            parts = [load_chunk(self.loader, chunks[0])] + [helper.result() for helper in helpers]
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
