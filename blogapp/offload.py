"""Running blocking work (decoding and encoding images) off a gevent worker's event loop.

Under gunicorn's gevent workers (the standard library monkey-patched), a function given to
``run`` goes to a small pool of real OS threads (gevent's ThreadPool, made in the worker on
first use, MAX_THREADS wide) and only the calling greenlet waits: the worker's other
connections, cached pages above all, keep being answered, since Pillow releases the GIL while
it decodes, resizes and encodes. The pool's width also bounds the memory and CPU one worker
spends on images at once; further calls queue. Anywhere else (the Flask test client,
``flask export``, sync workers) the function simply runs in the caller's thread.

Functions run this way must not log or take patched locks: return results, raise errors.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from typing import TypeVar

T = TypeVar("T")

#: Threads per worker process making variants at once (each may hold a decoded source).
MAX_THREADS = 2
_pool: dict[int, Any] = {}  # {pid: ThreadPool}: a forked worker makes its own


def gevent_active() -> bool:
    """True when gevent has patched the standard library (gunicorn's gevent worker)."""
    try:
        from gevent import monkey
    except ImportError:  # pragma: no cover - gevent is a dependency
        return False
    return bool(monkey.is_module_patched("threading"))


def run(fn: Callable[..., T], *args: object) -> T:
    """``fn(*args)``, in a real thread when gevent is active; its exception is re-raised here."""
    if not gevent_active():
        return fn(*args)
    pool = _pool.get(os.getpid())
    if pool is None:
        from gevent.threadpool import ThreadPool

        pool = _pool[os.getpid()] = ThreadPool(MAX_THREADS)
    return pool.spawn(fn, *args).get()


#: Texts longer than this (characters) are parsed in the pool, not on the event loop: a post
#: body's markdown render and plain-text summary, a post's words for related posts
#: (text/documents.py, search/related.py). Shorter ones stay on the loop, where a thread's
#: hand-off would cost more than it saves; a big one takes long enough that the worker's
#: other requests (cached pages, /healthz) must go on meanwhile (the measured costs:
#: bench/README.md, "Figures behind the constants"). Never on a cache hit: hits do not render.
BIG_TEXT_CHARS = 64 * 1024
