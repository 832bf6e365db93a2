"""Extension objects, created unbound; create_app() binds them."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_caching import Cache

#: The page cache's shared backend (flask-caching: CACHE_TYPE, CACHE_REDIS_URL, ...). PageCache
#: (pagecache.py) stores whole responses in it when it is shared (Redis); an in-process one
#: (SimpleCache, NullCache) is left unused. CACHE_TYPE is always set in config.DEFAULTS.
cache = Cache()


def init_cache(app: Flask) -> None:
    """Bind ``cache`` to ``app``. A Redis backend without CACHE_OPTIONS gets ``fail_fast_redis()``."""
    if "redis" in str(app.config["CACHE_TYPE"]).lower() and not app.config.get("CACHE_OPTIONS"):
        app.config["CACHE_OPTIONS"] = fail_fast_redis()
    cache.init_app(app)


def fail_fast_redis() -> dict[str, Any]:
    """redis-py options for a cache that must never hold a request up: when Redis is away,
    the page cache renders uncached instead of waiting.

    Short socket timeouts, and an explicit retry policy: one immediate retry on a connection
    error (a connection Redis closed, e.g. by restarting, is replaced and the command sent
    again), none on a timeout. Without it, ``redis.Redis(host=...)`` (CACHE_REDIS_HOST)
    retries ten times with growing pauses, holding each request for seconds.
    """
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.retry import Retry

    return {
        "socket_timeout": 0.25,
        "socket_connect_timeout": 0.25,
        "retry": Retry(NoBackoff(), 1, supported_errors=(RedisConnectionError,)),
    }
