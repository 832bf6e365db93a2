"""One post file -> a Post: read with a size limit, decoded, parsed; and its body on demand.

Loading keeps the front matter only; ``read_body`` reads the body again when a page needs it.
``Loader`` is picklable, so the store's forked helpers receive it as an argument.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import time
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from .fields import EncodingError
from .fields import PostError
from .fields import TooLargeError
from .fields import nfc
from .post import Post
from .post import extract_body
from .post import parse_post
from .references import references

StatKey = tuple[int, int, int]
#: What loading one file gives: content digest, Post or PostError, public files it uses.
Loaded = tuple[str, "Post | PostError"]


@dataclass(frozen=True)
class Loader:
    """How to turn one post file into a Post: the settings parsing needs, picklable so
    forked helpers receive it as an argument."""

    max_bytes: int
    timezone: ZoneInfo
    default_author: str

    def load(self, path: str, size: int) -> Loaded:
        """(content digest, Post or the reason it is invalid) for one file; a Post carries the
        public files it uses."""
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
            post = parse_post(
                text,
                path,
                slug=nfc(os.path.basename(path)[:-3]),
                timezone=self.timezone,
                default_author=self.default_author,
            )
            return digest, dataclasses.replace(post, public_files=references(post, text))
        except PostError as err:
            return digest, err
        except OSError as exc:
            return digest, PostError(path, f"cannot read: {exc.strerror or exc}")


def load_chunk(loader: Loader, items: list[tuple[str, StatKey]]) -> list[Loaded]:
    """Load some files (in a forked helper, or in the parent)."""
    loaded = []
    for i, (path, key) in enumerate(items):
        if i % 64 == 63:
            # Under gevent, greenlets that are ready get a turn; requests wait for the look
            # anyway (they need the store's lock), and a timer here would cost every start-up.
            time.sleep(0)
        loaded.append(loader.load(path, key[1]))
    return loaded


def _read_at_most(path: str, size: int, limit: int) -> bytes:
    """The file's bytes, at most ``limit + 1`` of them (so "too large" shows), read with
    ``size`` (its length when stat'ed) as the first guess.

    Cheaper than ``open(path, "rb").read(limit + 1)``, which allocates ``limit`` bytes for
    every file.
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


def read_file_text(path: str, limit: int) -> str:
    """A post file's whole text as it is now; "" if it has gone or has grown past ``limit``
    bytes since it was loaded (the next look reports it), so no more than that is ever read."""
    try:
        data = _read_at_most(path, os.stat(path).st_size, limit)
    except OSError:
        return ""
    return "" if len(data) > limit else data.decode("utf-8-sig", errors="replace")


def read_body(path: str, title: str, limit: int) -> str:
    """Read a post's body from disk, without a heading repeating ``title`` ("" if the file
    has gone or grown past ``limit`` bytes: the next rescan drops or reports it)."""
    return extract_body(read_file_text(path, limit), title)
