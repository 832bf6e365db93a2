"""Whole-response cache in front of Flask: which views opt in, and the middleware serving them.

A cache hit is answered here, before routing and the request context, from a stored Entry
(cacheentry.py: the body already compressed, ready-made header lists), so a hit costs a key
lookup and a header list. Views opt in with ``@cacheable``; everything else (errors,
/healthz, redirects, files) passes through untouched.

Each worker keeps its most recently used entries in memory, within BLOG_LOCAL_CACHE_BYTES
(LocalEntries). Behind that, a *shared* flask-caching backend (``CACHE_TYPE``: Redis for many
hosts, reached through ``cache.cache``, the backend's public get/set) is read and written; an
in-process one (SimpleCache, the default) is not used, since it would only hold a second copy
of the same pages in the same process, limited by entry count rather than bytes. Keys carry
the build (settings and code, see cachekey.py) and the content version (posts and the public
files they use), so an edit changes every key on every worker and host without an
invalidation step. When the backend fails, requests are rendered uncached and the backend is
retried after a short pause (its client reconnects on its own).
"""

from __future__ import annotations

import functools
import logging
import mimetypes
import time
from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote
from urllib.parse import unquote

from cachelib import SimpleCache
from flask import Flask
from flask import make_response
from flask import redirect
from flask import request
from flask import url_for
from flask_caching.backends import NullCache
from werkzeug.datastructures import Headers
from werkzeug.wsgi import get_host

from .. import content
from ..config import ROOT
from ..extensions import cache
from ..files.paths import newest_mtime
from ..posts.catalog import Visible
from . import lastmodified
from .entry import CACHEABLE_HEADER
from .entry import Entry
from .entry import LocalEntries
from .entry import build_entry
from .entry import serve
from .key import QueryRules
from .key import build_version
from .key import canonical_query
from .key import page_files
from .key import page_files_state
from .lastmodified import first_served
from .lastmodified import http_seconds

logger = logging.getLogger("blogapp.pagecache")

#: A failed backend is left alone for this many seconds: requests meanwhile render uncached
#: instead of each waiting for the backend's timeout.
_RETRY_AFTER_FAILURE = 1.0
#: CACHEABLE_HEADER's value for answers kept in this worker only, never in the shared backend.
LOCAL_ONLY = "local"
#: Bumped whenever Entry changes shape (keys of shared Redis caches outlive a deploy).
ENTRY_FORMAT = 3
#: Fingerprinted static files never change under their URL.
IMMUTABLE = "public, max-age=31536000, immutable"
#: Most fingerprinted static files kept compressed in memory (a handful exist).
STATIC_KEPT = 64
#: What a redirect's Location keeps as it is (RFC 3986 pchar, "/"; "?" too in the query, and
#: "%", so the client's own escapes stay); anything else is percent-encoded.
_PATH_SAFE = "/!$&'()*+,;=:@-._~"
_QUERY_SAFE = _PATH_SAFE + "?%"


def cacheable(view: Callable[..., Any] | None = None, *, query: Iterable[str] = (), shared: bool = True) -> Any:
    """Mark a view's 200 answers as cacheable whole by PageCache: ``@cacheable`` or
    ``@cacheable(query=("q", "page"), shared=False)``.

    ``query``: the only query parameters the view may read. The page cache keys on them and
    hands the view nothing else (an unlisted parameter never reaches ``request.args``), so
    ``?utm_source=x`` or ``?z=123`` is answered with the canonical page, from the same entry.
    ``shared=False``: answers stay in the worker's memory and never go to the shared backend
    (for views whose URLs are unbounded, like search, whose every query is a new page).

    A URL that spells the view's arguments another way than ``url_for`` does (``/page/02``,
    or ``/page/\u0662`` whose Arabic-Indic digit Werkzeug's ``int`` reads as 2) is a 301 to the
    view's own URL, never a page of its own: one URL, one render and one entry per page.
    """

    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        mark = "1" if shared else LOCAL_ONLY

        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            own = url_for(request.endpoint or "", **(request.view_args or {}))
            if unquote(own) != request.script_root + request.path:
                query = request.query_string.decode("latin-1")  # the kept parameters (PageCache)
                return redirect(own + "?" + query if query else own, code=301)
            response = make_response(view(*args, **kwargs))
            if response.status_code == 200:
                response.headers[CACHEABLE_HEADER] = mark
            return response

        wrapper.cache_query = frozenset(query)  # type: ignore[attr-defined]
        wrapper.cache_shared = shared  # type: ignore[attr-defined]
        return wrapper

    return decorate if view is None else decorate(view)


class PageCache:
    """WSGI middleware serving cacheable pages from memory and flask-caching's backend."""

    def __init__(self, app: Flask, wsgi_app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        self.store = content.get_store(app)
        self.site_url: str = app.config["BLOG_SITE_URL"]
        self.trusted_hosts = app.config.get("TRUSTED_HOSTS")
        self.max_age: int = app.config["BLOG_HTTP_MAX_AGE"]
        self.stale: int = app.config["BLOG_HTTP_STALE"]
        self.timeout: int = app.config["CACHE_DEFAULT_TIMEOUT"]
        self.build = build_version(app.config, ROOT)
        #: When this build (code and settings) was first served here: Last-Modified's floor.
        self.built = first_served(self.build, app.config["BLOG_STATE_DIR"] / "build-dates.json")
        #: (content version, its Last-Modified second, the tail for each kind of hit, the header)
        self._dated: tuple[str, int, dict[str, list[tuple[str, str]]], tuple[str, str]] = ("", 0, {}, ("", ""))
        #: In debug mode Flask reloads an edited template at the next request: so must pages.
        self.debug: bool = app.debug
        # ENTRY_FORMAT: entries pickled by an older release are never read back as Entry.
        self._key_prefix = f"page{ENTRY_FORMAT}:{self.build}:"
        self.queries = QueryRules(app)
        with app.app_context():
            self.backend = cache.cache
        # An in-process backend would hold a second, count-limited copy of what LocalEntries
        # already keeps within its byte budget: only a shared backend (Redis) is used.
        self.use_backend = not isinstance(self.backend, SimpleCache | NullCache)
        self._down_until = 0.0
        self.assets = app.extensions["blog_assets"]
        self._static: dict[str, Entry] = {}
        self._local = LocalEntries(app.config["BLOG_LOCAL_CACHE_BYTES"])
        self._hosts: dict[tuple[str, ...], str | None] = {}
        # The request-dependent headers of an answer, made once for the usual case.
        default = self._cache_control(None)
        self._tails = {hit: [("Cache-Control", default), ("X-Cache", hit)] for hit in ("LOCAL", "HIT", "MISS")}
        self._static_tail = [("Cache-Control", IMMUTABLE)]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return self.wsgi_app(environ, start_response)
        host = self._host(environ)
        if host is None:
            return self.wsgi_app(environ, start_response)  # untrusted or malformed Host: Flask's 400
        path = environ.get("PATH_INFO", "")
        if path.startswith("//"):
            return _one_leading_slash(environ, start_response)
        if path.startswith("/static/"):
            entry = self._static_entry(path[len("/static/") :])
            if entry is not None:
                return serve(entry, environ, start_response, self._static_tail)
        shared = self.use_backend
        query = environ.get("QUERY_STRING", "")
        if query:
            route = self.queries.route(path)
            if route is None:
                return self.wsgi_app(environ, start_response)  # no cacheable view there: untouched
            query = canonical_query(query, route[0])
            shared = shared and route[1]
        view = self.store.current_view()
        # The host is part of the key only when BLOG_SITE_URL does not fix every URL.
        version = view.version if not self.debug else f"{view.version}.{page_files_state(ROOT)}"
        local_key = ("" if self.site_url else host, environ.get("SCRIPT_NAME", ""), path, query, version)
        hit = "LOCAL"
        entry = self._local.get(local_key)
        if entry is None:
            hit = "HIT"
            key = self._key_prefix + "|".join(map(str, local_key))  # the backend's, as text
            # Only a cacheable view's answer can be in the backend: a file, /healthz or a 404
            # costs no round trip (a query string's route was looked up above).
            shared = shared and (bool(query) or self.queries.route(path) is not None)
            entry = self._get(key) if shared else None
            if entry is None:
                hit = "MISS"
                status, headers, result = self._render(environ, query, view)
                if not status.startswith("200") or CACHEABLE_HEADER not in headers:
                    # Not cacheable (an error, a redirect, /healthz, a file): pass Flask's answer
                    # on as it is, so a file is streamed (never read whole) and may be a 304.
                    start_response(status, list(headers.items()))
                    return _body_unless_head(environ, result)
                entry = build_entry(headers, _collect(result))
                # Kept only if rendered from the posts whose version is in the key: when they
                # changed in between, it belongs to no key (versions hash the files, so the
                # old one comes back when the posts are as they were: a post deleted again
                # would be served from it).
                if self.store.current_view() is view:
                    if shared and headers[CACHEABLE_HEADER] != LOCAL_ONLY:
                        self._set(key, entry)
                    self._local.put(local_key, entry)
            else:
                self._local.put(local_key, entry)
        upcoming = view.next_publication
        seconds = self._last_modified(view, version)
        cache_control = self._tails[hit][0] if upcoming is None else ("Cache-Control", self._cache_control(upcoming))
        if seconds is None:  # the newest change's second is still running: no date yet
            return serve(entry, environ, start_response, [cache_control, ("X-Cache", hit)], provisional=True)
        if upcoming is None:  # the usual case: the tail made once per content version
            return serve(entry, environ, start_response, self._dated[2][hit], seconds)
        return serve(entry, environ, start_response, [cache_control, ("X-Cache", hit), self._dated[3]], seconds)

    def _last_modified(self, view: Visible, version: str) -> int | None:
        """The whole second of the newest change to anything pages show (lastmodified.py), or
        None while that second has not passed yet (a later change must get a later date; the
        answer then goes out under a provisional ETag, see cacheentry.PROVISIONAL)."""
        dated = self._dated
        if dated[0] == version:
            return dated[1]
        newest = max(view.modified, self.built)
        if self.debug:  # an edited template shows at the next request (see page_files_state)
            newest = max(newest, newest_mtime(page_files(ROOT)))
        seconds = http_seconds(newest)
        if seconds > time.time():
            return None
        dated = ("Last-Modified", lastmodified.header(seconds))
        self._dated = (version, seconds, {hit: [*tail, dated] for hit, tail in self._tails.items()}, dated)
        return seconds

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
        # Nothing to reset: redis-py's pool replaces a connection the server closed when it
        # is next taken, so a restarted Redis is used again after the pause.
        self._down_until = time.monotonic() + _RETRY_AFTER_FAILURE
        logger.warning(
            "page cache %s failed (%s: %s); rendering uncached for %.0fs",
            action,
            type(exc).__name__,
            exc,
            _RETRY_AFTER_FAILURE,
        )

    # -- miss: render through Flask ----------------------------------------------------

    def _render(self, environ: dict[str, Any], query: str, view: Visible) -> tuple[str, Headers, Iterable[bytes]]:
        """Run Flask for this request (HEAD as GET, so that a cacheable body is stored; with
        only the query parameters its view declares): status, headers and the body iterable,
        not read yet (a file is then streamed, and answers its conditional headers)."""
        status_headers: list[Any] = []

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            status_headers[:] = [status, headers]
            return lambda data: None

        # HEAD as GET so the body is stored; the canonical query, so the page is the one
        # every variant of this URL is answered with.
        # The view the key was made from goes with the request (content.VIEW_KEY): the page
        # is rendered from exactly the posts it is keyed on, and the view is worked out once.
        inner = dict(environ, REQUEST_METHOD="GET", QUERY_STRING=query)
        inner[content.VIEW_KEY] = view
        result = self.wsgi_app(inner, capture)
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

    def _cache_control(self, upcoming: float | None) -> str:
        """``upcoming``: when the next scheduled post appears (POSIX seconds), if any."""
        max_age = self.max_age
        if upcoming is not None:
            max_age = max(0, min(max_age, int(upcoming - self.store.clock())))
        return f"public, max-age={max_age}, stale-while-revalidate={self.stale}"


def _one_leading_slash(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A 301 from ``//posts/x`` (any number of leading slashes, which Werkzeug routes as one)
    to ``/posts/x``, the mount prefix and the query string kept: otherwise every count of
    slashes would be a render and an entry of its own, here and in Redis. The Location starts
    with exactly one slash (never ``//host``: a protocol-relative URL to another site); what
    the server decoded is percent-encoded again."""
    path = environ.get("SCRIPT_NAME", "") + "/" + environ["PATH_INFO"].lstrip("/")
    location = quote(path.encode("latin-1"), safe=_PATH_SAFE)
    query = environ.get("QUERY_STRING", "")
    if query:
        location += "?" + quote(query.encode("latin-1"), safe=_QUERY_SAFE)
    return redirect(location, code=301)(environ, start_response)


def _collect(result: Iterable[bytes]) -> bytes:
    """The whole body of a WSGI answer, closing it as WSGI requires."""
    try:
        return b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()


def _body_unless_head(environ: dict[str, Any], result: Iterable[bytes]) -> Iterable[bytes]:
    """``result`` to send on, or nothing (closing it) for HEAD, which ran as GET."""
    if environ["REQUEST_METHOD"] != "HEAD":
        return result
    if hasattr(result, "close"):
        result.close()
    return []
