"""Whole-response cache in front of Flask.

A cache hit is answered here, before routing and the request context: the stored entry
already holds the body compressed with gzip and brotli (done once, when it was stored) and a
strong ETag per encoding, so a hit costs a key lookup and a header list. Views opt in with
``@cacheable``; everything else (errors, /healthz, redirects) passes through untouched.

Each worker keeps its most recently used entries in memory, within BLOG_LOCAL_CACHE_BYTES
(LocalEntries). Behind that, a *shared* flask-caching backend (``CACHE_TYPE``: Redis for many
hosts) is read and written; an in-process one (SimpleCache, the default) is not used, since
it would only hold a second copy of the same pages in the same process, limited by entry
count rather than bytes. Keys carry the build (settings and code, see cachekey.py) and the
content version (posts and the public files they use), so an edit changes every key on every
worker and host without an invalidation step. When the backend fails, requests are rendered
uncached and the backend is retried after a short pause.

No Last-Modified is sent: a listing, a feed or even a post page (which shows its neighbours
and related posts) changes in ways no date in the posts tracks, so an honest date cannot be
given; If-Modified-Since is therefore ignored (RFC 9110 13.1.3) and the ETag validates.
"""

from __future__ import annotations

import contextlib
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
from cachelib import SimpleCache
from flask import Flask
from flask import make_response
from flask_caching.backends import NullCache
from werkzeug.datastructures import Headers
from werkzeug.http import parse_etags
from werkzeug.http import quote_etag
from werkzeug.wsgi import get_host

from .cachekey import QueryRules
from .cachekey import build_version
from .cachekey import canonical_query
from .config import ROOT
from .security import SECURITY_NAMES

logger = logging.getLogger("blogapp.pagecache")

#: Response header a cacheable view sets; the middleware removes it before sending.
MARK = "X-Blog-Cache"
#: Types worth compressing.
_COMPRESSIBLE = ("text/", "application/xml", "application/rss+xml", "application/atom+xml")
_COMPRESSIBLE += ("application/json", "application/feed+json", "image/svg+xml", "application/javascript")
_MIN_COMPRESS = 512
_RETRY_AFTER_FAILURE = 1.0
#: MARK's value for answers kept in this worker only, never in the shared backend.
LOCAL_ONLY = "local"
#: Bumped whenever Entry changes shape (keys of shared Redis caches outlive a deploy).
ENTRY_FORMAT = 3
#: Fingerprinted static files never change under their URL.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Most fingerprinted static files kept compressed in memory (a handful exist).
STATIC_KEPT = 64


def cacheable(view: Callable[..., Any] | None = None, *, query: Iterable[str] = (), shared: bool = True) -> Any:
    """Mark a view's 200 answers as cacheable whole by PageCache: ``@cacheable`` or
    ``@cacheable(query=("q", "page"), shared=False)``.

    ``query``: the only query parameters the view may read. The page cache keys on them and
    hands the view nothing else (an unlisted parameter never reaches ``request.args``), so
    ``?utm_source=x`` or ``?z=123`` is answered with the canonical page, from the same entry.
    ``shared=False``: answers stay in the worker's memory and never go to the shared backend
    (for views whose URLs are unbounded, like search, whose every query is a new page).
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        mark = "1" if shared else LOCAL_ONLY

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200:
                response.headers[MARK] = mark
            return response

        wrapper.cache_query = frozenset(query)  # type: ignore[attr-defined]
        wrapper.cache_shared = shared  # type: ignore[attr-defined]
        return wrapper

    return decorate if view is None else decorate(view)


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
    """One encoding of an entry, ready to send: 200 and 304 header lists, the body, and the
    opaque tag of this representation (``If-None-Match`` must name exactly this one)."""

    body: bytes
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]
    etag: str

    @classmethod
    def build(cls, entry: Entry, encoding: str, body: bytes, extra: list[tuple[str, str]]) -> Answer:
        headers = [*entry.headers, *extra]
        etag = entry.etag if encoding == "identity" else f"{entry.etag}-{encoding}"
        headers.append(("ETag", quote_etag(etag)))
        if entry.gzip is not None:
            headers.append(("Vary", "Accept-Encoding"))
        if encoding != "identity":
            headers.append(("Content-Encoding", encoding))
        not_modified = [h for h in headers if h[0] != "Content-Type"]
        return cls(body, [*headers, ("Content-Length", str(len(body)))], not_modified, etag)


def build_entry(headers: Headers, body: bytes, *, quality: int = 5) -> Entry:
    """Compress once and fingerprint; called on a cache miss.

    Brotli quality 5 compresses a 30 KB page in ~1 ms to within ~10 % of quality 11, which
    takes ~40 ms (and seconds for a 10,000-post sitemap); static files, compressed once per
    process, get ``quality=11``. Security headers are not stored: each process adds its own.
    A Last-Modified from the view is dropped (see the module's docstring).
    """
    content_type = headers.get("Content-Type", "")
    squeeze = len(body) >= _MIN_COMPRESS and content_type.startswith(_COMPRESSIBLE)
    dropped = {"content-length", "etag", "last-modified", "cache-control", "vary", MARK.lower(), *SECURITY_NAMES}
    kept = [(k, v) for k, v in headers.items() if k.lower() not in dropped]
    return Entry(
        headers=kept,
        identity=body,
        gzip=gzip.compress(body, compresslevel=6, mtime=0) if squeeze else None,
        br=brotli.compress(body, quality=quality) if squeeze else None,
        etag=hashlib.blake2b(body, digest_size=12).hexdigest(),
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
    """WSGI middleware serving cacheable pages from memory and flask-caching's backend."""

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
        self.build = build_version(app.config, ROOT)
        self.queries = QueryRules(app)
        # An in-process backend would hold a second, count-limited copy of what LocalEntries
        # already keeps within its byte budget: only a shared backend (Redis) is used.
        self.use_backend = not isinstance(self.backend, SimpleCache | NullCache)
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
        host = self._host(environ)
        if host is None:
            return self.wsgi_app(environ, start_response)  # untrusted or malformed Host: Flask's 400
        path = environ.get("PATH_INFO", "")
        if path.startswith("/static/"):
            entry = self._static_entry(path[len("/static/") :])
            if entry is not None:
                return self._serve(entry, environ, start_response, IMMUTABLE, None)
        shared = self.use_backend
        query = environ.get("QUERY_STRING", "")
        if query:
            route = self.queries.route(path)
            if route is None:
                return self.wsgi_app(environ, start_response)  # no cacheable view there: untouched
            query = canonical_query(query, route[0])
            shared = shared and route[1]
        view = self.store.current_view()
        # ENTRY_FORMAT: entries pickled by an older release are never read back as Entry.
        key = f"page{ENTRY_FORMAT}:{self.build}:{'' if self.site_url else host}"
        key += f"|{environ.get('SCRIPT_NAME', '')}|{path}|{query}|{view.version}"
        hit = "LOCAL"
        entry = self._local.get(key)
        if entry is None:
            hit = "HIT"
            entry = self._get(key) if shared else None
            if entry is None:
                status, headers, result = self._render(environ, query)
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
                if shared and headers[MARK] != LOCAL_ONLY:
                    self._set(key, entry)
            self._local.put(key, entry)
        upcoming = view.next_publication
        cache_control = self._default_cache_control if upcoming is None else self._cache_control(upcoming)
        return self._serve(entry, environ, start_response, cache_control, hit)

    # -- hosts and backend ------------------------------------------------------------

    def _host(self, environ: dict[str, Any]) -> str | None:
        """``scheme://host`` of the request, or None where Flask would answer 400 (a Host
        outside TRUSTED_HOSTS, or not a valid name); remembered for the few combinations of
        Host header and server a site sees. Checked on hits and misses alike, with or
        without BLOG_SITE_URL, so a cached page never answers a Host that Flask refuses."""
        seen = (
            environ["wsgi.url_scheme"],
            environ.get("HTTP_HOST", ""),
            environ["SERVER_NAME"],
            environ["SERVER_PORT"],
        )
        host = self._hosts.get(seen, "")
        if host == "":
            try:
                # The checks Flask makes before routing: TRUSTED_HOSTS, then a valid name.
                self.app.create_url_adapter(self.app.request_class(environ))
                host = seen[0] + "://" + get_host(environ, self.trusted_hosts)
            except Exception:
                host = None
            if len(self._hosts) >= 64:
                self._hosts.clear()  # a flood of made-up Host headers cannot grow this
            self._hosts[seen] = host
        return host

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

    def _render(self, environ: dict[str, Any], query: str) -> tuple[str, Headers, Iterable[bytes]]:
        """Run Flask for this request (HEAD as GET, so that a cacheable body is stored; with
        only the query parameters its view declares): status, headers and the body iterable,
        not read yet (a file is then streamed, and answers its conditional headers)."""
        status_headers: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            status_headers[:] = [status, headers]
            return lambda data: None

        # HEAD as GET so the body is stored; the canonical query, so the page is the one
        # every variant of this URL is answered with.
        result = self.wsgi_app(dict(environ, REQUEST_METHOD="GET", QUERY_STRING=query), capture)
        status, headers = status_headers
        return status, Headers(headers), result

    # -- hit or fresh entry: answer ----------------------------------------------------

    def _static_entry(self, name: str) -> Entry | None:
        """A fingerprinted static file, read and compressed once per process. Only the
        canonical name is served (StaticAssets.resolve): ``css/./site.<hash>.css`` and other
        spellings are left to Flask, which answers 404, and never add an entry here."""
        entry = self._static.get(name)
        if entry is None:
            path = self.assets.resolve(name)
            if path is None:
                return None
            mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if mimetype.startswith("text/") or mimetype == "application/javascript":
                mimetype += "; charset=utf-8"
            entry = build_entry(Headers({"Content-Type": mimetype}), path.read_bytes(), quality=11)
            if len(self._static) >= STATIC_KEPT:
                self._static.clear()  # old fingerprints of files edited in place
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
        # Only If-None-Match: no Last-Modified is sent, so If-Modified-Since has nothing to
        # compare with (RFC 9110 13.1.3). The tag must be this representation's own (weak
        # comparison: a W/ prefix is ignored, the opaque tag must be equal).
        match = environ.get("HTTP_IF_NONE_MATCH")
        if match is not None and parse_etags(match).contains_weak(answer.etag):
            start_response("304 Not Modified", answer.not_modified + tail)
            return []
        start_response("200 OK", answer.headers + tail)
        return [] if environ.get("REQUEST_METHOD") == "HEAD" else [answer.body]

    def _cache_control(self, upcoming: float | None) -> str:
        """``upcoming``: when the next scheduled post appears (POSIX seconds), if any."""
        max_age = self.max_age
        if upcoming is not None:
            max_age = max(0, min(max_age, int(upcoming - self.store.clock())))
        return f"public, max-age={max_age}, stale-while-revalidate={self.stale}"
