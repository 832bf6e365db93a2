"""The mount prefix (``SCRIPT_NAME``, ``/blog``): where it may come from, and what it may be.

- ``Mount``: the prefix the server process was started with (``SCRIPT_NAME=/blog gunicorn
  wsgi:app``). wsgi.py takes it from the environment before gunicorn sees it, because gunicorn
  answers 500 to a request outside it; here such a request is a 404.
- ``PrefixGuard``: with ``BLOG_SITE_URL`` set, its path is the prefix, whatever a proxy header
  says; otherwise a prefix a trusted proxy forwards (``X-Forwarded-Prefix``, applied by
  Werkzeug's ProxyFix) must be a plain path, or the request is a 400: never ``//evil.com``,
  which would make every link, script and redirect point to another site.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.exceptions import BadRequest
from werkzeug.exceptions import NotFound

from ..config import plain_path

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class Mount:
    """Serve the app under ``prefix``: strip it from ``PATH_INFO`` into ``SCRIPT_NAME``;
    any path outside it is answered by ``not_found`` (a plain 404 by default, which
    SecurityHeaders, outside Mount in create_app, gives the site's headers)."""

    def __init__(self, wsgi_app: WSGIApp, prefix: str, not_found: WSGIApp | None = None) -> None:
        prefix = prefix.rstrip("/")
        if not plain_path(prefix):
            raise ValueError(f"SCRIPT_NAME must be a path such as /blog, not {prefix!r}")
        self.wsgi_app = wsgi_app
        self.prefix = prefix
        self.not_found: WSGIApp = not_found or NotFound()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path: str = environ.get("PATH_INFO", "")
        if path != self.prefix and not path.startswith(self.prefix + "/"):
            return self.not_found(environ, start_response)
        environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
        environ["PATH_INFO"] = path[len(self.prefix) :]
        return self.wsgi_app(environ, start_response)


class PrefixGuard:
    """Fix ``SCRIPT_NAME`` to ``site_url``'s path when it is set; else refuse one that is not
    a plain path. Installed inside ProxyFix, outside the page cache (whose keys include it)."""

    def __init__(self, wsgi_app: WSGIApp, site_url: str) -> None:
        self.wsgi_app = wsgi_app
        self.fixed = urlsplit(site_url).path.rstrip("/") if site_url else None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if self.fixed is not None:
            environ["SCRIPT_NAME"] = self.fixed
        elif not plain_path(environ.get("SCRIPT_NAME", "")):
            return BadRequest("The forwarded mount prefix is not a path.")(environ, start_response)
        return self.wsgi_app(environ, start_response)
