"""Extension objects, created unbound; create_app() binds them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import current_app
from flask import request
from flask_caching import Cache

from . import content

#: Response cache (flask-caching). CACHE_TYPE is always set in config.DEFAULTS.
cache = Cache()


def page_cache_key(*_args: Any, **_kwargs: Any) -> str:
    """Cache key: mount prefix + path + content version, + scheme/host when they shape URLs.

    With BLOG_SITE_URL set every absolute URL comes from it, so the Host header does not
    matter; without it, each scheme+host gets its own entries, so a forged Host never
    reaches another visitor.
    """
    base = "" if current_app.config["BLOG_SITE_URL"] else request.host_url
    return f"page:{base}|{request.script_root}|{request.path}|{content.content_version()}"


def _cacheable(rv: Any) -> bool:
    status = getattr(rv, "status_code", 200)
    return not isinstance(rv, tuple) and status == 200


def cached_page(view: Callable) -> Callable:
    """Cache a view's whole 200 answer under page_cache_key(); errors are never stored."""
    return cache.cached(make_cache_key=page_cache_key, response_filter=_cacheable)(view)
