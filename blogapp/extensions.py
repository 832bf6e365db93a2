"""Extension objects, created unbound; create_app() binds them."""

from __future__ import annotations

from flask_caching import Cache

#: The page cache's shared backend (flask-caching: CACHE_TYPE, CACHE_REDIS_URL, ...). PageCache
#: (pagecache.py) stores whole responses in it when it is shared (Redis); an in-process one
#: (SimpleCache, NullCache) is left unused. CACHE_TYPE is always set in config.DEFAULTS.
cache = Cache()
