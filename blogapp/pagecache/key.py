"""What a cached page's key is made of, besides its host, path and the content version.

- The **build**: a digest of every setting that can change what a page looks like and of the
  code that renders it (``blogapp/*.py``, templates, the blog's own text assets, pinned
  requirements), computed once when the app is built. Two instances sharing one Redis (a
  preview with ``BLOG_SHOW_DRAFTS`` and production, or two releases during a deploy) never
  read each other's pages, whatever ``CACHE_KEY_PREFIX`` they use; hosts running the same
  release with the same settings (their own folder paths aside) still share.
- The **query**: only the parameters a view declares with ``@cacheable(query=...)``, first
  value of each, sorted and re-encoded. Anything else (``utm_*``, ``fbclid``, ``?z=123``) is
  dropped before the view runs, so every such URL is the canonical page, one entry.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from urllib.parse import quote
from urllib.parse import urlencode

from flask import Flask
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter
from werkzeug.routing import RequestRedirect

#: Settings that never change a page: folder paths (hosts with their own copies of the same
#: posts must share pages), tuning, and secrets. Every CACHE_* key (the backend's own) too.
NOT_OUTPUT = frozenset(
    {
        "BLOG_POSTS_DIR",
        "BLOG_PUBLIC_DIR",
        "BLOG_GONE_FILE",
        "BLOG_STATE_DIR",
        "BLOG_IMAGE_CACHE_DIR",
        "BLOG_IMAGE_CACHE_BYTES",
        "BLOG_RELOAD_INTERVAL",
        "BLOG_WATCH",
        "BLOG_LOCAL_CACHE_BYTES",
        "SECRET_KEY",
        "SECRET_KEY_FALLBACKS",
    }
)
_SECRET_WORDS = ("SECRET", "PASSWORD", "TOKEN", "CREDENTIAL")
#: The blog's own static files that pages name (by fingerprint) or embed: text, not images.
_TEXT_ASSETS = frozenset({".css", ".js", ".mjs", ".svg", ".json", ".webmanifest", ".txt", ".xml", ".html", ".ico"})
#: Paths remembered with the query parameters their route keeps (cleared when full).
_ROUTES_KEPT = 1024


def output_settings(config: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that can shape a page, as plain JSON values (stable across processes)."""
    return {
        key: _plain(value)
        for key, value in config.items()
        if key not in NOT_OUTPUT and not key.startswith("CACHE_") and not any(w in key for w in _SECRET_WORDS)
    }


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted(repr(_plain(v)) for v in value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, os.PathLike | dt.date | dt.time | dt.timedelta | dt.tzinfo):
        return str(value)
    # Anything else would print its memory address: only its type can be compared.
    return f"<{type(value).__module__}.{type(value).__qualname__}>"


def page_files(root: Path) -> list[Path]:
    """Templates and the text assets of static/: what a page is made of besides the code."""
    files = sorted(p for p in root.glob("templates/**/*") if p.is_file())
    return files + sorted(p for p in root.glob("static/**/*") if p.suffix.lower() in _TEXT_ASSETS and p.is_file())


def page_files_state(root: Path) -> str:
    """A digest of the modification times and sizes of the templates and text assets: for
    debug mode (``flask run --debug``), where Flask reloads an edited template at the next
    request and the page cache must too. A few dozen stats; never used in production, where
    the build digest (by content, once) covers them."""
    digest = hashlib.blake2b(digest_size=8)
    for path in page_files(root):
        try:
            st = path.stat()
        except OSError:
            continue
        digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\0".encode())
    return digest.hexdigest()


@functools.lru_cache(maxsize=8)
def code_digest(root: Path) -> str:
    """Digest of what renders pages under ``root``: blogapp's Python files, every template,
    the text assets of static/ (not its images) and requirements.txt; by content, so every
    host running the same release agrees."""
    files = sorted(root.glob("blogapp/**/*.py")) + page_files(root) + [root / "requirements.txt"]
    digest = hashlib.blake2b(digest_size=8)
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            data = b"-"
        digest.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        digest.update(data)
    return digest.hexdigest()


def build_version(config: Mapping[str, Any], root: Path) -> str:
    """The build part of every key: output settings and code, 16 hex digits."""
    settings = json.dumps(output_settings(config), sort_keys=True, separators=(",", ":"))
    return hashlib.blake2b(f"{settings}\0{code_digest(root)}".encode(), digest_size=8).hexdigest()


class QueryRules:
    """Which query parameters each cacheable route keeps, found by matching the path once."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._adapter: MapAdapter | None = None
        self._routes: dict[str, tuple[frozenset[str], bool] | None] = {}
        self._lock = threading.Lock()

    def route(self, path: str) -> tuple[frozenset[str], bool] | None:
        """``(kept parameter names, shared)`` of the cacheable view at ``path`` (PATH_INFO,
        as the server decoded it); None when no cacheable view answers there."""
        try:
            return self._routes[path]
        except KeyError:
            pass
        found = self._match(path)
        with self._lock:
            if len(self._routes) >= _ROUTES_KEPT:
                self._routes.clear()  # a flood of made-up paths cannot grow this
            self._routes[path] = found
        return found

    def _match(self, path: str) -> tuple[frozenset[str], bool] | None:
        if self._adapter is None:
            self._adapter = self.app.url_map.bind("localhost")
        try:
            endpoint, _ = self._adapter.match(path.encode("latin-1").decode("utf-8", "replace"), method="GET")
        except (HTTPException, RequestRedirect, UnicodeError):
            return None
        view = self.app.view_functions.get(endpoint)
        kept = getattr(view, "cache_query", None)
        if kept is None:
            return None
        return kept, getattr(view, "cache_shared", True)


def canonical_query(query: str, kept: frozenset[str]) -> str:
    """The first value of each parameter in ``kept``, sorted by name, percent-encoded; a blank
    first value counts as absent (``?q=&page=`` is the page without parameters, as views read it).

    ``query`` is QUERY_STRING as WSGI gives it (bytes as latin-1); values are read as
    Werkzeug reads ``request.args`` (UTF-8, invalid bytes kept percent-encoded)."""
    if not kept:
        return ""
    text = query.encode("latin-1", "replace").decode("utf-8", "replace")
    first: dict[str, str] = {}
    for name, value in parse_qsl(text, keep_blank_values=True, errors="werkzeug.url_quote"):
        if name in kept and name not in first:
            first[name] = value
    return urlencode(sorted((k, v) for k, v in first.items() if v), quote_via=quote)
