"""Who publishes, and "once per (feed URL, ETag)": in Redis when the page cache is shared
(every worker on every host sees one leader and one claim), else in a folder on this host
(BLOG_STATE_DIR/websub: a lock file held by one worker, a claim file per change)."""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import uuid
from pathlib import Path
from typing import Any
from typing import Protocol

logger = logging.getLogger("blogapp.websub")

#: A feed's last ETag is kept this long after it was last claimed.
CLAIM_SECONDS = 365 * 24 * 3600
#: A Redis leader that stops renewing (its worker died) is replaced after this long.
LEADER_MS = 3000

#: What ``claim`` found: the feed's first ETag seen (nobody can have subscribed to a feed that
#: did not exist, and turning WebSub on is no change), the ETag it already had, or a new one.
NEW, SAME, CHANGED = "new", "same", "changed"


def claim_name(url: str) -> str:
    return hashlib.blake2b(url.encode(), digest_size=16).hexdigest()


class Claims(Protocol):
    def lead(self) -> bool:
        """True while this process is the one that publishes (taken if free)."""

    def claim(self, url: str, etag: str) -> str:
        """Record ``etag`` as ``url``'s, atomically: CHANGED for the one caller that moves
        the feed to it (that caller publishes), SAME when it already was, NEW for a feed
        never seen."""

    def known(self, scope: str) -> str | None:
        """The fingerprint last remembered for a feed scope (``topics.fingerprint``)."""

    def remember(self, scope: str, fingerprint: str) -> None:
        """Note that the scope's feeds, as ``fingerprint`` makes them, have been claimed."""


class FileClaims:
    """One host: ``flock`` on ``leader.lock`` (the kernel lets go when the holder dies; only
    the holder claims) and a file per feed URL holding its last ETag."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._lock_fd: int | None = None
        self._warned = False

    def lead(self) -> bool:
        if self._lock_fd is not None:
            return True
        try:
            (self.folder / "feeds").mkdir(parents=True, exist_ok=True)
            fd = os.open(self.folder / "leader.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            if not self._warned:  # once, not every look
                logger.warning("websub: cannot use %s, not publishing: %s", self.folder, exc)
            self._warned = True
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._lock_fd = fd
        return True

    def claim(self, url: str, etag: str) -> str:
        path = self.folder / "feeds" / claim_name(url)
        try:
            last = path.read_text()
        except FileNotFoundError:
            last = None
        if last == etag:
            return SAME
        path.parent.mkdir(parents=True, exist_ok=True)
        spare = path.with_name(path.name + f".{os.getpid()}")
        spare.write_text(etag)
        os.replace(spare, path)
        return NEW if last is None else CHANGED

    def known(self, scope: str) -> str | None:
        try:
            return (self.folder / "scopes" / scope).read_text()
        except OSError:
            return None

    def remember(self, scope: str, fingerprint: str) -> None:
        path = self.folder / "scopes" / scope
        path.parent.mkdir(parents=True, exist_ok=True)
        spare = path.with_name(path.name + f".{os.getpid()}")
        spare.write_text(fingerprint)
        os.replace(spare, path)


_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0"
_CLAIM = """local last = redis.call('get', KEYS[1])
redis.call('set', KEYS[1], ARGV[1], 'EX', ARGV[2])
if last == ARGV[1] then return 0 end
if last then return 2 end
return 1"""
_ANSWERS = {0: SAME, 1: NEW, 2: CHANGED}


class RedisClaims:
    """Every worker of every host sharing the page cache's Redis: one leader key (renewed by
    its holder, taken by another when it expires) and each feed's last ETag, compared and set
    in one step (a Lua script), so two hosts never both publish one change."""

    def __init__(self, client: Any, prefix: str) -> None:
        self.client = client
        self.prefix = prefix + "websub:"
        self.token = uuid.uuid4().hex
        self._failing = False

    def lead(self) -> bool:
        key = self.prefix + "leader"
        try:
            held = self.client.eval(_RENEW, 1, key, self.token, LEADER_MS) == 1
            held = held or bool(self.client.set(key, self.token, nx=True, px=LEADER_MS))
        except Exception as exc:  # Redis away: nobody publishes from here until it is back
            if not self._failing:
                logger.warning("websub: Redis is not answering (%s); not publishing until it does", exc)
            self._failing = True
            return False
        self._failing = False
        return held

    def claim(self, url: str, etag: str) -> str:
        key = self.prefix + "feed:" + claim_name(url)
        return _ANSWERS[int(self.client.eval(_CLAIM, 1, key, etag, CLAIM_SECONDS))]

    def known(self, scope: str) -> str | None:
        value = self.client.get(self.prefix + "scope:" + scope)
        return value.decode() if isinstance(value, bytes) else value

    def remember(self, scope: str, fingerprint: str) -> None:
        self.client.set(self.prefix + "scope:" + scope, fingerprint, ex=CLAIM_SECONDS)
