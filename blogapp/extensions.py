"""Extension objects, created unbound; create_app() binds them."""

from __future__ import annotations

from flask_caching import Cache

#: The page cache's backend (flask-caching: CACHE_TYPE, CACHE_REDIS_URL, ...). PageCache
#: (pagecache.py) stores whole responses in it; CACHE_TYPE is always set in config.DEFAULTS.
cache = Cache()
