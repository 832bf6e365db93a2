"""Fingerprinted URLs for the blog's own static files (``/static/css/site.3f9a0c1d2e.css``).

A fingerprinted URL names one version of a file forever, so it can be cached by browsers and
CDNs as ``immutable`` for a year; editing the file changes its URL. PageCache serves these
URLs from memory, precompressed. This is done here rather than with whitenoise because
whitenoise's fingerprinting is Django's collectstatic step (a build that writes hashed copies);
the blog has a handful of static files and no build step. Which names are files of the folder
is publicfiles' rule, as for every other file route.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path

from ..files.paths import is_canonical
from ..files.paths import resolve_inside

_FINGERPRINTED = re.compile(r"^(?P<stem>.+)\.(?P<hash>[0-9a-f]{10})(?P<ext>\.[A-Za-z0-9]+)$")


class StaticAssets:
    """Content hashes of files under one folder, re-read when a file's mtime or size changes."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder).resolve()
        self._memo: dict[str, tuple[tuple[int, int], str]] = {}
        self._lock = threading.Lock()

    def _path(self, filename: str) -> Path | None:
        real = resolve_inside(self.folder, filename)
        return None if real is None else Path(real)

    def digest(self, filename: str) -> str | None:
        """The file's 10-hex-digit fingerprint, or None if it is not a file in the folder."""
        path = self._path(filename)
        if path is None:
            return None
        st = path.stat()
        key = (st.st_mtime_ns, st.st_size)
        cached = self._memo.get(filename)
        if cached is None or cached[0] != key:
            digest = hashlib.blake2b(path.read_bytes(), digest_size=5).hexdigest()
            with self._lock:
                self._memo[filename] = cached = (key, digest)
        return cached[1]

    def fingerprinted(self, filename: str) -> str:
        """``css/site.css`` -> ``css/site.<hash>.css`` (unchanged if the file is missing)."""
        digest = self.digest(filename)
        if digest is None:
            return filename
        stem, ext = os.path.splitext(filename)
        return f"{stem}.{digest}{ext}"

    def resolve(self, name: str) -> Path | None:
        """The file a fingerprinted name stands for, if the fingerprint is current and the
        name is spelled the one way ``fingerprinted()`` spells it: no ``.``, ``..`` or empty
        segments, no hidden files, no backslashes (each spelling would otherwise be another
        URL for the same file)."""
        if not is_canonical(name):
            return None
        match = _FINGERPRINTED.match(name)
        if match is None:
            return None
        filename = match["stem"] + match["ext"]
        if self.digest(filename) != match["hash"]:
            return None
        return self._path(filename)
