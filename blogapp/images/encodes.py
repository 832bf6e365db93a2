"""One encode per variant at a time, and none for clients that have left (per worker process).

Requests for a variant that is being made wait for that encode instead of starting their own
(``Encodes.run``, keyed by the variant's name): 30 readers of a new page cost one encode, not
30. Under gevent, encodes also wait their turn here for one of offload.MAX_THREADS slots (so the
thread pool's own queue stays empty); when a slot comes, an encode whose readers have all
disconnected meanwhile is dropped (``Dropped``) instead of started. Whether a reader is still
there is asked of its socket (``client_gone``): a readable socket with nothing to read means the
peer closed it.

Waiting here is cooperative under gevent (the standard library's locks, events and semaphores
are gevent's once gunicorn.conf.py has patched it) and blocks only the calling thread elsewhere.
"""

from __future__ import annotations

import os
import select
import socket
import threading
from collections.abc import Callable
from typing import Any
from typing import Generic
from typing import TypeVar

from .. import offload

T = TypeVar("T")


class Dropped(Exception):
    """Every client waiting for this encode left before it started: it was not made."""


class _Flight(Generic[T]):
    """One encode in progress: who waits for it, and its outcome once done."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.clients: list[Callable[[], bool]] = []
        self.result: T | None = None
        self.error: BaseException | None = None


class Encodes:
    """Encodes by key: shared by concurrent callers, queued for a slot, dropped when unwanted."""

    def __init__(self, slots: int = offload.MAX_THREADS) -> None:
        self.width = slots
        self._flights: dict[str, _Flight[Any]] = {}
        self._lock = threading.Lock()  # held for dict updates only, never across a wait
        self._slots: dict[int, threading.Semaphore] = {}  # {pid: slots}: a forked worker makes its own

    def run(self, key: str, make: Callable[[], T], gone: Callable[[], bool] = lambda: False) -> T:
        """``make()``, or the result of the call already running for ``key`` (its exception
        raised again here); ``gone`` tells whether this caller's client has left.

        :raise Dropped: every caller waiting for ``key`` had gone when its turn came.
        """
        with self._lock:
            flight = self._flights.get(key)
            leader = flight is None
            if flight is None:
                flight = self._flights[key] = _Flight()
            flight.clients.append(gone)
        if not leader:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.result  # type: ignore[return-value]
        try:
            flight.result = self._start(flight, make)
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with self._lock:
                del self._flights[key]
            flight.done.set()
        return flight.result

    def waiting(self) -> int:
        """How many keys are being made or queued now."""
        return len(self._flights)

    def _start(self, flight: _Flight[T], make: Callable[[], T]) -> T:
        if not offload.gevent_active():
            return make()  # the test client, `flask images`, sync workers: no queue to skip
        slots = self._slots.get(os.getpid())
        if slots is None:
            slots = self._slots[os.getpid()] = threading.Semaphore(self.width)
        with slots:
            if all(gone() for gone in list(flight.clients)):
                raise Dropped
            return make()


def client_gone(sock: socket.socket | None) -> Callable[[], bool]:
    """A check of whether the peer of ``sock`` (gunicorn's ``environ["gunicorn.socket"]``)
    has closed the connection; always False without a socket."""

    def gone() -> bool:
        if sock is None:
            return False
        try:
            readable, _, _ = select.select([sock], [], [], 0)
            return bool(readable) and sock.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):  # reset, or closed on our side
            return True

    return gone
