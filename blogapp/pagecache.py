"""Whole-response cache in front of Flask.

A cache hit is answered here, before routing and the request context: the stored entry
already holds the body compressed with gzip and brotli (done once, when it was stored), a
strong ETag and Last-Modified, so a hit costs a key lookup and a header list. Views opt in
with ``@cacheable``; everything else (errors, /healthz, redirects) passes through untouched.

The backend is flask-caching's (``CACHE_TYPE``: per-process SimpleCache, or Redis shared by
many hosts). Keys carry the content version, so an edit changes every key on every worker
and host without an invalidation step. When the backend fails, requests are rendered
uncached and the backend is retried after a short pause.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gzip
import hashlib
import logging
import mimetypes
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import brotli
from flask import Flask
from flask import make_response
from werkzeug.datastructures import Headers
from werkzeug.http import http_date
from werkzeug.http import parse_date
from werkzeug.http import quote_etag
from werkzeug.wsgi import get_host

from .security import SECURITY_NAMES

logger = logging.getLogger("blogapp.pagecache")

#: Response header a cacheable view sets; the middleware removes it before sending.
MARK = "X-Blog-Cache"
#: Types worth compressing.
_COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/atom+xml")
_COMPRESSIBLE += ("application/json", "application/feed+json", "image/svg+xml", "application/javascript")
_MIN_COMPRESS = 512
_RETRY_AFTER_FAILURE = 1.0
#: Bumped whenever Entry changes shape (keys of shared Redis caches outlive a deploy).
ENTRY_FORMAT = 2
#: Fingerprinted static files never change under their URL.
IMMUTABLE = "public, max-age=31536000, immutable"


def cacheable(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a view's 200 answers as cacheable whole by PageCache."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        response = make_response(view(*args, **kwargs))
        if response.status_code == 200:
            response.headers[MARK] = "1"
        return response

    return wrapper


@dataclass
class Entry:
    """One stored page: the bodies in each encoding and the headers to send with them."""

    headers: list[tuple[str, str]]
    identity: bytes
    gzip: bytes | None
    br: bytes | None
    etag: str
    last_modified: dt.datetime | None

    @property
    def size(self) -> int:
        return len(self.identity) + len(self.gzip or b"") + len(self.br or b"") + 512

    def __getstate__(self) -> dict[str, Any]:
        # What a backend stores: not this process's ready-made answers (see answers()).
        return {k: v for k, v in self.__dict__.items() if k != "_answers"}

    def answers(self, extra: list[tuple[str, str]]) -> dict[str, Answer]:
        """The body and headers for each encoding, made once per process (a hit then only
        adds Cache-Control and X-Cache); ``extra`` is the site's security headers."""
        made = self.__dict__.get("_answers")
        if made is None:
            made = self.__dict__["_answers"] = {
                encoding: Answer.build(self, encoding, body, extra)
                for encoding, body in (("identity", self.identity), ("gzip", self.gzip), ("br", self.br))
                if body is not None
            }
        return made


@dataclass(frozen=True)
class Answer:
    """One encoding of an entry, ready to send: 200 and 304 header lists, and the body."""

    body: bytes
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]

    @classmethod
    def build(cls, entry: Entry, encoding: str, body: bytes, extra: list[tuple[str, str]]) -> Answer:
        headers = [*entry.headers, *extra]
        headers.append(("ETag", quote_etag(entry.etag if encoding == "identity" else f"{entry.etag}-{encoding}")))
        if entry.last_modified is not None:
            headers.append(("Last-Modified", http_date(entry.last_modified)))
        if entry.gzip is not None:
            headers.append(("Vary", "Accept-Encoding"))
        if encoding != "identity":
            headers.append(("Content-Encoding", encoding))
        not_modified = [h for h in headers if h[0] != "Content-Type"]
        return cls(body, [*headers, ("Content-Length", str(len(body)))], not_modified)


def build_entry(headers: Headers, body: bytes, *, quality: int = 5) -> Entry:
    """Compress once and fingerprint; called on a cache miss.

    Brotli quality 5 compresses a 30 KB page in ~1 ms to within ~10 % of quality 11, which
    takes ~40 ms (and seconds for a 10,000-post sitemap); static files, compressed once per
    process, get ``quality=11``. Security headers are not stored: each process adds its own.
    """
    content_type = headers.get("Content-Type", "")
    squeeze = len(body) >= _MIN_COMPRESS and content_type.startswith(_COMPRESSIBLE)
    dropped = {"content-length", "etag", "last-modified", "cache-control", "vary", MARK.lower(), *SECURITY_NAMES}
    kept = [(k, v) for k, v in headers.items() if k.lower() not in dropped]
    last_modified = parse_date(headers.get("Last-Modified"))
    return Entry(
        headers=kept,
        identity=body,
        gzip=gzip.compress(body, compresslevel=6, mtime=0) if squeeze else None,
        br=brotli.compress(body, quality=quality) if squeeze else None,
        etag=hashlib.blake2b(body, digest_size=12).hexdigest(),
        last_modified=last_modified,
    )


def _collect(result: Iterable[bytes]) -> bytes:
    """The whole body of a WSGI answer, closing it as WSGI requires."""
    try:
        return b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()


@functools.lru_cache(maxsize=256)
def choose_encoding(accept: str, compressed: bool) -> str:
    """'br', 'gzip' or 'identity', by the client's Accept-Encoding (q=0 refuses).

    ``compressed``: whether the entry has gzip and brotli bodies (it has both or neither).
    Cached: clients send a handful of distinct Accept-Encoding values.
    """
    if not compressed:
        return "identity"
    offered: dict[str, float] = {}
    for part in accept.lower().split(","):
        name, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        offered[name.strip()] = q
    star = offered.get("*", 0.0)
    if offered.get("br", star) > 0:
        return "br"
    if offered.get("gzip", offered.get("x-gzip", star)) > 0:
        return "gzip"
    return "identity"


class LocalEntries:
    """This process's most recently used entries, unpickled, within a byte budget.

    In front of the shared backend: a hit here costs a dict lookup instead of unpickling
    ~100 KB (SimpleCache pickles too) or a Redis round trip. Keys carry the content version,
    so an entry here is never stale; it only ages out.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.used = 0
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            # No lock: OrderedDict's methods are C, atomic under the GIL; a put() that drops
            # this key meanwhile makes move_to_end raise, and the entry is still good.
            try:  # noqa: SIM105 - contextlib.suppress costs more than the lookup on this path
                self._entries.move_to_end(key)
            except KeyError:
                pass
        return entry

    def put(self, key: str, entry: Entry) -> None:
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


class PageCache:
    """WSGI middleware serving cacheable pages from flask-caching's backend."""

    def __init__(
        self,
        app: Flask,
        wsgi_app: Callable[..., Iterable[bytes]],
        security_headers: Iterable[tuple[str, str]] = (),
    ) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.store = app.extensions["blog_content"]
        self.site_url: str = app.config["BLOG_SITE_URL"]
        self.trusted_hosts = app.config.get("TRUSTED_HOSTS")
        self.max_age: int = app.config["BLOG_HTTP_MAX_AGE"]
        self.stale: int = app.config["BLOG_HTTP_STALE"]
        self.timeout: int = app.config["CACHE_DEFAULT_TIMEOUT"]
        self.security_headers = list(security_headers)
        self._down_until = 0.0
        self.assets = app.extensions["blog_assets"]
        self._static: dict[str, Entry] = {}
        self._local = LocalEntries(app.config["BLOG_LOCAL_CACHE_BYTES"])
        self._hosts: dict[tuple[str, ...], str | None] = {}
        self._default_cache_control = self._cache_control(None)

    @property
    def backend(self) -> Any:
        return next(iter(self.app.extensions["cache"].values()))

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        path = environ.get("PATH_INFO", "")
        if path.startswith("/static/"):
            entry = self._static_entry(path[len("/static/") :])
            if entry is not None:
                return self._serve(entry, environ, start_response, IMMUTABLE, None)
        view = self.store.current_view()
        key = self._key(environ, view.version)
        if key is None:
            return self.wsgi_app(environ, start_response)
        hit = "LOCAL"
        entry = self._local.get(key)
        if entry is None:
            hit = "HIT"
            entry = self._get(key)
            if entry is None:
                status, headers, result = self._render(environ)
                if not status.startswith("200") or MARK not in headers:
                    # Not cacheable (an error, a redirect, /healthz, a file): pass Flask's answer
                    # on as it is, so a file is streamed (never read whole) and may be a 304.
                    start_response(status, list(headers.items()))
                    if environ["REQUEST_METHOD"] != "HEAD":
                        return result
                    if hasattr(result, "close"):
                        result.close()
                    return []
                body = _collect(result)
                hit = "MISS"
                entry = build_entry(headers, body)
                self._set(key, entry)
            self._local.put(key, entry)
        upcoming = view.next_publication
        cache_control = self._default_cache_control if upcoming is None else self._cache_control(upcoming)
        return self._serve(entry, environ, start_response, cache_control, hit)

    # -- keys and backend -------------------------------------------------------------

    def _key(self, environ: dict[str, Any], version: str) -> str | None:
        host = "" if self.site_url else self._host(environ)
        if host is None:
            return None  # untrusted or malformed Host: let Flask answer it
        path = environ.get("PATH_INFO", "")
        query = environ.get("QUERY_STRING", "")
        # ENTRY_FORMAT: entries pickled by an older release are never read back as Entry.
        return f"page{ENTRY_FORMAT}:{host}|{environ.get('SCRIPT_NAME', '')}|{path}|{query}|{version}"

    def _host(self, environ: dict[str, Any]) -> str | None:
        """``scheme://host`` of the request (None if untrusted or malformed), remembered
        for the few combinations of Host header and server a site sees."""
        seen = (
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST", ""),
            environ["SERVER_NAME"],
            environ["SERVER_PORT"],
        )
        if seen not in self._hosts:
            if len(self._hosts) >= 64:
                self._hosts.clear()  # a flood of made-up Host headers cannot grow this
            try:
                self._hosts[seen] = seen[0] + "://" + get_host(environ, self.trusted_hosts)
            except Exception:
                self._hosts[seen] = None
        return self._hosts[seen]

    def _get(self, key: str) -> Entry | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            entry = self.backend.get(key)
        except Exception as exc:
            self._backend_failed("get", exc)
            return None
        return entry if isinstance(entry, Entry) else None

    def _set(self, key: str, entry: Entry) -> None:
        if time.monotonic() < self._down_until:
            return
        try:
            self.backend.set(key, entry, timeout=self.timeout)
        except Exception as exc:
            self._backend_failed("set", exc)

    def _backend_failed(self, action: str, exc: Exception) -> None:
        self._down_until = time.monotonic() + _RETRY_AFTER_FAILURE
        # Drop pooled Redis connections: after a Redis restart each one would fail once more.
        for client in {getattr(self.backend, "_write_client", None), getattr(self.backend, "_read_client", None)}:
            with contextlib.suppress(Exception):
                client.connection_pool.disconnect()
        logger.warning(
            "page cache %s failed (%s: %s); rendering uncached for %.0fs",
            action,
            type(exc).__name__,
            exc,
            _RETRY_AFTER_FAILURE,
        )

    # -- miss: render through Flask ----------------------------------------------------

    def _render(self, environ: dict[str, Any]) -> tuple[str, Headers, Iterable[bytes]]:
        """Run Flask for this request (HEAD as GET, so that a cacheable body is stored);
        its status, headers and body iterable (not read yet)."""
        status_headers: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            status_headers[:] = [status, headers]
            return lambda data: None

        result = self.wsgi_app(dict(environ, REQUEST_METHOD="GET"), capture)
        status, headers = status_headers
        return status, Headers(headers), result

    # -- hit or fresh entry: answer ----------------------------------------------------

    def _static_entry(self, name: str) -> Entry | None:
        """A fingerprinted static file, read and compressed once per process."""
        entry = self._static.get(name)
        if entry is None:
            path = self.assets.resolve(name)
            if path is None:
                return None
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if mimetype.startswith("text/") or mimetype == "application/javascript":
                mimetype += "; charset=utf-8"
            entry = build_entry(Headers({"Content-Type": mimetype}), path.read_bytes(), quality=11)
            self._static[name] = entry
        return entry

    def _serve(
        self,
        entry: Entry,
        environ: dict[str, Any],
        start_response: Callable[..., Any],
        cache_control: str,
        hit: str | None,
    ) -> Iterable[bytes]:
        answers = entry.answers(self.security_headers)
        encoding = choose_encoding(environ.get("HTTP_ACCEPT_ENCODING", ""), entry.gzip is not None)
        answer = answers[encoding]
        tail = [("Cache-Control", cache_control), ("X-Cache", hit)] if hit else [("Cache-Control", cache_control)]
        if ("HTTP_IF_NONE_MATCH" in environ or "HTTP_IF_MODIFIED_SINCE" in environ) and self._not_modified(
            environ, entry
        ):
            start_response("304 Not Modified", answer.not_modified + tail)
            return []
        start_response("200 OK", answer.headers + tail)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]

    def _not_modified(self, environ: dict[str, Any], entry: Entry) -> bool:
        if_none_match = environ.get("HTTP_IF_NONE_MATCH")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/").strip('"') for t in if_none_match.split(",")]
            return "*" in tags or any(t.split("-", 1)[0] == entry.etag for t in tags)
        since = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE"))
        if since is not None and entry.last_modified is not None:
            return entry.last_modified.replace(microsecond=0) <= since
        return False

    def _cache_control(self, upcoming: float | None) -> str:
        """``upcoming``: when the next scheduled post appears (POSIX seconds), if any."""
        max_age = self.max_age
        if upcoming is not None:
            max_age = max(0, min(max_age, int(upcoming - time.time())))
        return f"public, max-age={max_age}, stale-while-revalidate={self.stale}"
