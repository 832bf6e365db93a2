"""Linux inotify on the posts folder (and the folders of the public files posts use): "did
anything change since I last asked?" in one syscall.

A full look stats every post file; with a watch, a worker only looks when
the kernel has reported an event in the folder (create, delete, write, rename, attribute
change), plus a safety look every FULL_LOOK_EVERY seconds. Where inotify is missing (not Linux)
or blind (network file systems), set BLOG_WATCH=poll and every interval stats the folder.

Not watchfiles: its watcher thread escapes the fork check and dies at fork; its call blocks.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import time

IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE = 0x002, 0x004, 0x008
IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE = 0x040, 0x080, 0x100, 0x200
IN_DELETE_SELF, IN_MOVE_SELF = 0x400, 0x800
IN_NONBLOCK, IN_CLOEXEC = 0o4000, 0o2000000
MASK = IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
MASK |= IN_DELETE_SELF | IN_MOVE_SELF
#: Seconds between full looks even when the watch reports nothing.
FULL_LOOK_EVERY = 30.0


class Watch:
    """One inotify descriptor for some folders, owned by one process (made again after fork).

    Not recursive: an event in a subfolder of a watched folder is not reported.
    """

    def __init__(self, *folders: str) -> None:
        self.folders = folders
        self.pid = -1
        self.fd = -1
        self._failed_at = -float("inf")

    def __del__(self) -> None:
        # Apps made and dropped (tests, the CLI) must not pile up inotify instances, which
        # are limited per user (often 128).
        if self.fd >= 0 and self.pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self.fd)

    def close(self) -> None:
        """Give the inotify instance back now (they are limited per user, often 128, and a
        dropped one waits for Python's garbage collector); ``changed()`` then always says
        True, as polling would."""
        if self.fd >= 0 and self.pid == os.getpid():
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd, self.pid, self._failed_at = -1, os.getpid(), float("inf")  # never opened again

    @staticmethod
    def available() -> bool:
        return _libc() is not None

    @property
    def working(self) -> bool:
        """False when this process's watch could not be set up (it then always says "changed")."""
        return self.fd >= 0 and self.pid == os.getpid()

    def retarget(self, folders: tuple[str, ...]) -> None:
        """Watch ``folders`` instead; the next ``changed()`` opens the new watch (and says True)."""
        if folders != self.folders:
            if self.fd >= 0 and self.pid == os.getpid():
                with contextlib.suppress(OSError):
                    os.close(self.fd)
            self.folders, self.pid, self.fd = folders, -1, -1

    def changed(self) -> bool:
        """True when an event arrived since the last call (or the watch is new or broken)."""
        if self.pid != os.getpid():
            return self._open()
        if self.fd < 0:  # could not be set up: say "changed", and try again now and then
            return self._open() if time.monotonic() - self._failed_at >= FULL_LOOK_EVERY else True
        try:
            data = os.read(self.fd, 65536)
        except BlockingIOError:
            return False
        except OSError:
            return self._open()
        while len(data) == 65536:  # drain a burst
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                break
        return True

    def _open(self) -> bool:
        libc = _libc()
        if self.pid == os.getpid() and self.fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self.fd)
        # An inherited descriptor (from gunicorn's preloading master) is shared with the
        # master and every sibling, which would steal each other's events: open our own.
        self.pid = os.getpid()
        self.fd = libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC) if libc else -1
        if self.fd >= 0 and any(libc.inotify_add_watch(self.fd, os.fsencode(f), MASK) < 0 for f in self.folders):
            # A folder gone meanwhile, or the per-user watch limit: no watch, so every call
            # says "changed", as polling would (and the watch is tried again later).
            os.close(self.fd)
            self.fd = -1
        if self.fd < 0:
            self._failed_at = time.monotonic()
        return True  # a new watch knows nothing of the past: look once


_LIBC: ctypes.CDLL | bool | None = False


def _libc() -> ctypes.CDLL | None:
    global _LIBC
    if _LIBC is False:
        try:
            # The interpreter's own symbols include libc's. (ctypes.util.find_library would
            # run `ldconfig -p` in a subprocess, which slows every start-up.)
            lib = ctypes.CDLL(None, use_errno=True)
            _LIBC = lib if hasattr(lib, "inotify_init1") else None
        except OSError:
            _LIBC = None
    return _LIBC  # type: ignore[return-value]
