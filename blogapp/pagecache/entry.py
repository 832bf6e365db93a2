"""Stored pages for the page cache: what one holds, where a worker keeps them, how one answers.

An ``Entry`` holds a page's body in each encoding (compressed once, when it is stored) and a
strong ETag; ``LocalEntries`` keeps a worker's most recent ones within a byte budget;
``serve`` picks the encoding the request accepts, answers 304 when the request already holds
that representation, and otherwise sends the ready-made header list and body. Security
headers are not part of an entry: SecurityHeaders (security.py), outermost, adds them to
every answer, whichever layer gives it.

An entry keeps no Last-Modified: the page cache sends the site's (lastmodified.py: the newest
change to the post files, the public files they use, publication and the build), which is not
a property of one body. A view's own is dropped.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Hashable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import brotli
from werkzeug.datastructures import Headers
from werkzeug.http import parse_accept_header
from werkzeug.http import parse_etags
from werkzeug.http import quote_etag

from .lastmodified import unmodified_since

#: Response header a cacheable view sets; the page cache removes it before sending.
CACHEABLE_HEADER = "X-Blog-Cache"
#: Types worth compressing.
_COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/atom+xml")
_COMPRESSIBLE += ("application/json", "application/feed+json", "image/svg+xml", "application/javascript")
#: Smaller bodies fit in a packet or two either way.
_MIN_COMPRESS = 512
#: Headers of the view's answer an entry does not keep: the page cache sets its own.
_NOT_KEPT = frozenset({"content-length", "etag", "last-modified", "cache-control", "vary", CACHEABLE_HEADER.lower()})
#: Added to the ETag of an answer sent without Last-Modified because the second of the newest
#: change is still running: once it has passed, a cache revalidating with that tag gets the
#: whole answer again, now with its date (a 304 would leave a shared cache's copy undated).
PROVISIONAL = ".p"
#: A rough per-entry cost besides the bodies (headers, objects), for the byte budget.
_OVERHEAD = 512


@dataclass
class Entry:
    """One stored page: the bodies in each encoding and the headers to send with them."""

    headers: list[tuple[str, str]]
    identity: bytes
    gzip: bytes | None
    br: bytes | None
    etag: str

    @property
    def size(self) -> int:
        return len(self.identity) + len(self.gzip or b"") + len(self.br or b"") + _OVERHEAD

    def __getstate__(self) -> dict[str, Any]:
        # What a backend stores: not this process's ready-made answers (see answers()).
        return {k: v for k, v in self.__dict__.items() if k != "_answers"}

    def answers(self) -> dict[str, Answer]:
        """The body and headers for each encoding, made on first use in each process, so a
        hit only adds Cache-Control and X-Cache."""
        made = self.__dict__.get("_answers")
        if made is None:
            made = self.__dict__["_answers"] = {
                encoding: Answer.build(self, encoding, body)
                for encoding, body in (("identity", self.identity), ("gzip", self.gzip), ("br", self.br))
                if body is not None
            }
        return made


@dataclass(frozen=True)
class Answer:
    """One encoding of an entry, ready to send: 200 and 304 header lists, the body, and the
    opaque tag of this representation (``If-None-Match`` must name exactly this one)."""

    body: bytes
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]
    etag: str

    #: The same bytes under a provisional tag, sent while the Last-Modified second is running.
    provisional: Answer | None = None

    @classmethod
    def build(cls, entry: Entry, encoding: str, body: bytes, *, suffix: str = "") -> Answer:
        headers = list(entry.headers)
        etag = (entry.etag if encoding == "identity" else f"{entry.etag}-{encoding}") + suffix
        headers.append(("ETag", quote_etag(etag)))
        if entry.gzip is not None:
            headers.append(("Vary", "Accept-Encoding"))
        if encoding != "identity":
            headers.append(("Content-Encoding", encoding))
        not_modified = [h for h in headers if h[0] != "Content-Type"]
        provisional = None if suffix else cls.build(entry, encoding, body, suffix=PROVISIONAL)
        return cls(body, [*headers, ("Content-Length", str(len(body)))], not_modified, etag, provisional)


class LocalEntries:
    """This process's most recently used entries, unpickled, within a byte budget.

    In front of the shared backend: a hit here costs a dict lookup instead of unpickling a
    page with its compressed copies or a Redis round trip. Keys carry the content version,
    so an entry here is never stale; it only ages out.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._entries: OrderedDict[Hashable, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            # No lock: OrderedDict's methods are C, atomic under the GIL; a put() that drops
            # this key meanwhile makes move_to_end raise, and the entry is still good.
            try:  # noqa: SIM105 - contextlib.suppress costs more than the lookup on this path
                self._entries.move_to_end(key)
            except KeyError:
                pass
        return entry

    def put(self, key: Hashable, entry: Entry) -> None:
        size = entry.size
        if size > self.budget // 4:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            self.used += size - (old.size if old else 0)
            self._entries[key] = entry
            while self.used > self.budget and self._entries:
                _, dropped = self._entries.popitem(last=False)
                self.used -= dropped.size


def build_entry(headers: Headers, body: bytes, *, quality: int = 5) -> Entry:
    """Compress once and fingerprint; called on a cache miss.

    Brotli quality 5 comes close to quality 11's size at a small fraction of its time, which
    a miss waits for (and a large sitemap would wait long); static files, compressed once
    per process, get ``quality=11``. A Last-Modified from the view is dropped (see above).
    """
    content_type = headers.get("Content-Type", "")
    squeeze = len(body) >= _MIN_COMPRESS and content_type.startswith(_COMPRESSIBLE)
    return Entry(
        headers=[(k, v) for k, v in headers.items() if k.lower() not in _NOT_KEPT],
        identity=body,
        gzip=gzip.compress(body, compresslevel=6, mtime=0) if squeeze else None,
        br=brotli.compress(body, quality=quality) if squeeze else None,
        etag=hashlib.blake2b(body, digest_size=12).hexdigest(),
    )


@functools.lru_cache(maxsize=256)
def choose_encoding(accept: str) -> str:
    """'br', 'gzip' or 'identity' for an Accept-Encoding value: of br and gzip, the one the
    client rates higher (q=0 refuses; br on a tie), else identity.

    Memoized: clients send a handful of distinct values, and a hit must not parse one.
    """
    best = parse_accept_header(accept).best_match(("br", "gzip", "x-gzip"), "identity")
    return "gzip" if best == "x-gzip" else best


def serve(
    entry: Entry,
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    tail: list[tuple[str, str]],
    modified: int | None = None,
    *,
    provisional: bool = False,
) -> Iterable[bytes]:
    """Answer from ``entry``: 304 when If-None-Match names the chosen representation, or,
    without If-None-Match, when If-Modified-Since is at or after ``modified`` (the whole
    second of the Last-Modified in ``tail``; None: no date, If-Modified-Since is ignored);
    else 200 (headers only for HEAD). ``tail``: the headers that depend on the request
    (Cache-Control, X-Cache, Last-Modified). ``provisional``: the date is not sendable yet;
    the answer goes out under its provisional tag (PROVISIONAL)."""
    encoding = "identity" if entry.gzip is None else choose_encoding(environ.get("HTTP_ACCEPT_ENCODING", ""))
    answer = entry.answers()[encoding]
    if provisional and answer.provisional is not None:
        answer = answer.provisional
    # Werkzeug's parse_etags, not is_resource_modified: a hit without a conditional header
    # should not pay for parsing any. Weak comparison (RFC 9110 13.1.2): a W/ prefix is
    # ignored, the opaque tag must be this representation's own. If-None-Match, when sent,
    # decides alone (RFC 9110 13.2.2); If-Range has no body range to apply to here.
    match = environ.get("HTTP_IF_NONE_MATCH")
    if match is not None:
        fresh = parse_etags(match).contains_weak(answer.etag)
    else:
        since = environ.get("HTTP_IF_MODIFIED_SINCE")
        fresh = since is not None and modified is not None and unmodified_since(since, modified)
    if fresh:
        start_response("304 Not Modified", answer.not_modified + tail)
        return []
    start_response("200 OK", answer.headers + tail)
    return [] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]
