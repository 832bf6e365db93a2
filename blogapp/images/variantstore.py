"""The bounded on-disk store of image variants (BLOG_IMAGE_CACHE_DIR, BLOG_IMAGE_CACHE_BYTES).

One file per variant, named by the caller (source digest, width, format), written to a
temporary name and renamed into place, so no reader ever sees half a file; a file that is
empty or lacks its format's end is a miss, deleted and made again. Parallel first requests
for one variant (threads or worker processes) take a lock stripe (``flock``), so one makes
it and the others find it. The folder's total is kept under BLOG_IMAGE_CACHE_BYTES by
deleting the least recently used files (a hit refreshes a file's mtime, at most once a
minute). When the folder cannot be used (read-only, not a folder, disk full), variants are
made in memory and ``problem`` says why: the reader still gets the image.

The store deletes only what it wrote: files named as variants (``<digest>-<width>.<fmt>``)
or as its own temporary files, in a folder holding its MARKER file. It writes the marker
when it makes the folder, or finds it empty (or holding only such files); a folder holding
anything else and no marker is refused (``claim`` raises, ``create_app`` stops), and never
written to or deleted from, so a misconfigured BLOG_IMAGE_CACHE_DIR cannot eat a user's files.

Methods here block on disk and on the encoder: callers run them off the event loop
(``offload.run``).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from ..config import ConfigError

#: Lock stripes: parallel makers of one name share one, unrelated names rarely do.
LOCK_STRIPES = 64
#: A hit refreshes the file's mtime (its "last used" time) when it is older than this.
TOUCH_AFTER = 60.0
#: Temporary files left by a killed worker are removed after this many seconds.
STALE_TEMP = 3600.0
_LOCKS = ".locks"
_TEMP_PREFIX = ".tmp-"
#: The file saying "this folder is the blog's image cache": written when the store makes the
#: folder (or adopts an empty one); without it nothing in the folder is ever deleted.
MARKER = ".blog-image-cache"
_MARKER_TEXT = (
    "This folder is the blog's image cache (BLOG_IMAGE_CACHE_DIR). The blog deletes files\n"
    "named like <digest>-<width>.<fmt> here to keep it under BLOG_IMAGE_CACHE_BYTES.\n"
)
#: A variant's name, and a temporary file's (``.tmp-<variant name>.<random>``): the only
#: files the store ever deletes.
VARIANT_NAME = re.compile(r"[0-9a-f]{16}-[1-9][0-9]{0,4}\.(?:avif|webp|jpg|png)")
_TEMP_NAME = re.compile(r"\.tmp-[0-9a-f]{16}-[1-9][0-9]{0,4}\.(?:avif|webp|jpg|png)\.[A-Za-z0-9_]{8}")


class ForeignFolderError(OSError):
    """The cache folder holds files the store did not write, and no marker: it is not used."""


class VariantStore:
    """Variant files in one folder, bounded in bytes, least recently used evicted first."""

    def __init__(self, folder: str | os.PathLike[str], max_bytes: int) -> None:
        self.folder = Path(folder)
        self.max_bytes = max_bytes
        #: Why the folder could not be used the last time it was tried (None: it could).
        self.problem: str | None = None
        self._claimed = False

    def claim(self) -> bool:
        """Make sure the folder is this store's: make it with its marker, or adopt an empty
        one (or one holding only variant files); True when it is. A folder that does not exist
        and cannot be made is False (variants are then made in memory).

        :raise ForeignFolderError: the folder holds other files and no marker.
        """
        if self._claimed:
            return True
        marker = self.folder / MARKER
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            if not marker.is_file():
                foreign = sorted(name for name in os.listdir(self.folder) if not _is_own(name))
                if foreign:
                    raise ForeignFolderError(
                        f"BLOG_IMAGE_CACHE_DIR {self.folder} holds files the blog did not make "
                        f"({', '.join(foreign[:3])}{', ...' if len(foreign) > 3 else ''}) and no {MARKER} "
                        "marker; the image cache deletes files in its folder, so it will not use this one. "
                        "Point BLOG_IMAGE_CACHE_DIR at a new or empty folder."
                    )
                marker.write_text(_MARKER_TEXT)
        except ForeignFolderError:
            raise
        except OSError as exc:
            self.problem = f"{self.folder}: {exc.strerror or exc}"
            return False
        self._claimed = True
        return True

    def lookup(self, name: str) -> str | None:
        """The path of a whole stored ``name``, or None (missing, empty, truncated)."""
        path = self.folder / name
        try:
            with open(path, "rb") as fh:
                st = os.fstat(fh.fileno())
                whole = is_complete(fh, name.rsplit(".", 1)[-1], st.st_size)
        except OSError:
            return None
        if not whole:
            if self._claimed and VARIANT_NAME.fullmatch(name):
                _unlink(path)
            return None
        if time.time() - st.st_mtime > TOUCH_AFTER:
            with contextlib.suppress(OSError):  # a read-only folder still serves what it has
                os.utime(path)
        return str(path)

    def get_or_make(self, name: str, make: Callable[[], bytes]) -> str | bytes:
        """The stored file's path, making and storing it first if needed; the bytes alone
        when the folder cannot be used or the variant is larger than the whole store.

        ``make``'s exceptions pass through, nothing stored.
        """
        found = self.lookup(name)
        if found:
            return found
        try:
            if not self.claim():
                return make()
            lock = self._lock(name)
        except ForeignFolderError as exc:
            self.problem = str(exc)
            return make()
        except OSError as exc:
            self._claimed = False  # the folder may have gone: claim it again next time
            self.problem = f"{self.folder}: {exc.strerror or exc}"
            return make()
        try:
            found = self.lookup(name)
            if found:
                return found
            data = make()
            return self._put(name, data) or data
        finally:
            os.close(lock)

    def _lock(self, name: str) -> int:
        locks = self.folder / _LOCKS
        locks.mkdir(exist_ok=True)
        fd = os.open(locks / str(zlib.crc32(name.encode()) % LOCK_STRIPES), os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return fd

    def _put(self, name: str, data: bytes) -> str | None:
        if len(data) > self.max_bytes:
            return None
        path = self.folder / name
        try:
            fd, temp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{name}.", dir=self.folder)
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                os.chmod(temp, 0o644)
                os.replace(temp, path)
            except BaseException:
                _unlink(Path(temp))
                raise
        except OSError as exc:
            self.problem = f"{self.folder}: {exc.strerror or exc}"
            return None
        self.problem = None
        self.evict()
        return str(path)

    def usage(self) -> tuple[int, list[tuple[float, int, str]]]:
        """Total bytes of the stored variants, and ``(mtime, bytes, name)`` of each: files
        named as variants, in a folder holding the marker (no other file is counted, or ever
        deleted). Removes the store's own temporary files older than STALE_TEMP."""
        entries = []
        now = time.time()
        if not (self.folder / MARKER).is_file():
            return 0, []
        try:
            with os.scandir(self.folder) as it:
                for entry in it:
                    if not entry.is_file(follow_symlinks=False):
                        continue
                    if _TEMP_NAME.fullmatch(entry.name):
                        if now - entry.stat(follow_symlinks=False).st_mtime > STALE_TEMP:
                            _unlink(Path(entry.path))
                        continue
                    if not VARIANT_NAME.fullmatch(entry.name):
                        continue
                    st = entry.stat(follow_symlinks=False)
                    entries.append((st.st_mtime, st.st_size, entry.name))
        except OSError:
            return 0, []
        return sum(e[1] for e in entries), entries

    def evict(self) -> int:
        """Delete least recently used variants until the total fits BLOG_IMAGE_CACHE_BYTES;
        return how many were deleted."""
        total, entries = self.usage()
        deleted = 0
        for _mtime, size, name in sorted(entries):
            if total <= self.max_bytes:
                break
            _unlink(self.folder / name)
            total -= size
            deleted += 1
        return deleted


def is_complete(fh: object, fmt: str, size: int) -> bool:
    """True when the open variant file ``fh`` of ``size`` bytes is whole: not empty, and its
    format's end marker (JPEG, PNG), length field (WebP) or box sizes (AVIF) agree."""
    if size < 16:
        return False
    head = _read_at(fh, 0, 16)
    tail = _read_at(fh, size - 12, 12)
    if fmt == "webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP" and int.from_bytes(head[4:8], "little") + 8 == size
    if fmt == "jpg":
        return head[:2] == b"\xff\xd8" and tail.endswith(b"\xff\xd9")
    if fmt == "png":
        return head[:8] == b"\x89PNG\r\n\x1a\n" and tail == b"\x00\x00\x00\x00IEND\xaeB`\x82"
    if fmt == "avif" and head[4:8] == b"ftyp":
        return _boxes_fill(fh, size)
    return False


def _boxes_fill(fh: object, size: int) -> bool:
    """True when the top-level ISO-BMFF boxes of ``fh`` add up to exactly ``size`` bytes."""
    offset = 0
    for _ in range(64):
        if offset == size:
            return True
        header = _read_at(fh, offset, 16)
        if len(header) < 8:
            return False
        length = int.from_bytes(header[:4], "big")
        if length == 1 and len(header) == 16:
            length = int.from_bytes(header[8:16], "big")
        elif length == 0:
            return True  # the last box runs to the end of the file
        if length < 8:
            return False
        offset += length
    return False


def _read_at(fh: object, offset: int, count: int) -> bytes:
    fh.seek(offset)  # type: ignore[attr-defined]
    return fh.read(count)  # type: ignore[attr-defined]


#: Temporary files of the store before it had a marker (``.tmp-`` and 8 random letters):
#: a folder holding them may be adopted, but they are never deleted.
_OLD_TEMP_NAME = re.compile(r"\.tmp-[a-z0-9_]{8}")


def _is_own(name: str) -> bool:
    """True for a name the store itself writes (or wrote) in its folder."""
    return name in (MARKER, _LOCKS) or any(p.fullmatch(name) for p in (VARIANT_NAME, _TEMP_NAME, _OLD_TEMP_NAME))


def _unlink(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink()


def init_app(app: Flask) -> None:
    """Create the app's store (``app.extensions["blog_images"]``) and claim its folder.

    :raise ConfigError: the folder holds files the blog did not make and no marker.
    """
    config = app.config
    store = VariantStore(config["BLOG_IMAGE_CACHE_DIR"], config["BLOG_IMAGE_CACHE_BYTES"])
    try:
        if store.folder.exists():  # else made (with its marker) on first use
            store.claim()  # an unusable folder (read-only) is not an error: variants are made in memory
    except ForeignFolderError as exc:
        raise ConfigError(str(exc)) from None
    app.extensions["blog_images"] = store
