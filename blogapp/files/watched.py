"""Watching the public files the posts use: a fingerprint of their state for the content version.

A page shows a post's cover only if its file exists (else the generated placeholder), the
author's picture (else initials), the width and height of images in the body, the size of a
feed enclosure. So the content version that keys the page cache includes, for every file of
BLOG_PUBLIC_DIR the posts name (``coverImage``, ``ogImage``, ``author.picture``, and paths in
the body: images, links, raw ``src=``), whether it is a file and its size: adding, deleting
or replacing one changes every key on every worker, as an edit to a post does. Sizes, not
times, so hosts with their own copies of the same files agree (and share a Redis cache).

ContentStore asks on every reload interval; the files are looked at only when inotify
reports a change in a folder holding one of them (or every FULL_LOOK_EVERY seconds), or on
every interval without inotify (BLOG_WATCH=poll, or more folders than are worth watching).
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable

from .inotify import FULL_LOOK_EVERY
from .inotify import Watch
from .paths import newest_mtime

#: At most this many paths are taken from one post (its front matter's come first).
#: With more folders than this to watch (each inotify watch takes kernel memory, per worker),
#: or when the kernel refuses more watches, the files are looked at every interval instead.
MAX_WATCHED_FOLDERS = 16384


class PublicFiles:
    """The state of the public files some posts use, as one fingerprint, kept current."""

    def __init__(self, root: str, watch: bool) -> None:
        self.root = os.path.realpath(root)
        self.refs: tuple[str, ...] = ()
        self._watch = Watch() if watch and Watch.available() else None
        self._polling = self._watch is None
        self._aimed = -float("inf")
        #: Newest modification time of the files used and of their folders (Last-Modified).
        self.modified = 0.0
        self.fingerprint = self._digest()

    @property
    def watch(self) -> Watch | None:
        """The inotify watch on the files' folders (None when polling)."""
        return self._watch

    def use(self, refs: Iterable[str]) -> None:
        """The posts now use ``refs``; the next ``current()`` looks at them."""
        refs = tuple(sorted(set(refs)))
        if refs != self.refs:
            self.refs = refs
            self._aimed = -float("inf")

    def current(self, now: float) -> str:
        """The fingerprint, after a look at the files if a watched folder reported a change,
        the refs changed, FULL_LOOK_EVERY seconds passed, or the files are polled."""
        changed = self._watch.changed() if self._watch is not None else True  # always drain
        watching = self._watch is not None and self._watch.working and not self._polling
        full = now - self._aimed >= FULL_LOOK_EVERY
        if self._watch is not None and (full or (changed and watching)):
            self._aimed = now
            self._aim()  # folders may have come or gone
        if changed or full or not watching:
            self.fingerprint = self._digest()
        return self.fingerprint

    def _aim(self) -> None:
        """Watch the folder of each file, or its nearest existing parent inside the public
        folder (a folder created later then shows as an event there)."""
        assert self._watch is not None
        folders: set[str] = set()
        for parent in {os.path.dirname(os.path.join(self.root, ref)) for ref in self.refs}:
            while parent != self.root and not os.path.isdir(parent) and parent.startswith(self.root + os.sep):
                parent = os.path.dirname(parent)
            folders.add(parent)
        self._polling = len(folders) > MAX_WATCHED_FOLDERS or not os.path.isdir(self.root)
        self._watch.retarget(() if self._polling else tuple(sorted(folders)))

    def _digest(self) -> str:
        digest = hashlib.blake2b(digest_size=8)
        newest = 0.0
        for ref in self.refs:
            try:
                st = os.stat(os.path.join(self.root, ref))
                state = f"{st.st_size}" if stat.S_ISREG(st.st_mode) else "-"
                newest = max(newest, st.st_mtime)
            except (OSError, ValueError):
                state = "-"
            digest.update(f"{ref}\0{state}\0".encode(errors="surrogateescape"))
        # A file removed leaves no time of its own: its folder's time says when.
        folders = {os.path.dirname(os.path.join(self.root, ref)) for ref in self.refs}
        self.modified = max(newest, newest_mtime(folders))
        return digest.hexdigest()
