"""Running blocking work (decoding and encoding images) off a gevent worker's event loop.

Under gunicorn's gevent workers (the standard library monkey-patched), a function given to
``run`` goes to the hub's pool of real OS threads and only the calling greenlet waits: the
worker's other connections, cached pages above all, keep being answered, since Pillow
releases the GIL while it decodes, resizes and encodes. Anywhere else (the Flask test
client, ``flask export``, sync workers) the function simply runs in the caller's thread.

Functions run this way must not log or take patched locks: return results, raise errors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


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
    import gevent

    return gevent.get_hub().threadpool.spawn(fn, *args).get()
