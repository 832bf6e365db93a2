"""Live preview while writing: under ``flask --app blogapp run --debug`` only, pages load
js/live.js, which listens on ``/_live`` (Server-Sent Events) and reloads the page when the
content version changes (a post saved, added, removed, or made invalid).

The blueprint is registered only in debug (create_app), and even then answers only requests
served by Werkzeug's development server: a debug app under gunicorn has neither the
endpoint nor the script. Each open stream holds one dev-server thread, so streams are
bounded: at most MAX_STREAMS at once (more get 503 and the script retries later), a
heartbeat, a maximum lifetime after which the browser reconnects, and a stream ends as soon
as its client goes.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from collections.abc import Iterator
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import abort
from flask import current_app
from flask import has_request_context
from flask import request
from flask import url_for

from ... import content
from ...posts.store import ContentStore
from ..templating import asset_url

bp = Blueprint("preview", __name__)

#: Seconds between a stream's checks of the content version. With inotify (BLOG_WATCH=auto
#: on Linux) each check asks the store to look this often, however many streams are open (a
#: look without an event costs one read); without, the store looks every
#: BLOG_RELOAD_INTERVAL, as for readers, since each look stats every post file.
CHECK_EVERY = 0.1
#: Seconds between heartbeats (comment lines), which also find clients gone without a FIN.
HEARTBEAT_EVERY = 15.0
#: Seconds a stream stays open; the browser then reconnects (EventSource does on its own).
LIFETIME = 60.0
#: Streams open at once per app (each holds a dev-server thread); more are answered 503.
MAX_STREAMS = 16
#: Milliseconds the browser waits before reconnecting after a stream ends.
RETRY_MS = 500
#: Longest ``v`` (content version) kept from the query string.
MAX_VERSION = 64


def init_app(app: Flask) -> None:
    """Enable the live preview on ``app`` when it runs in debug mode (nothing otherwise)."""
    if app.debug:
        app.extensions["blog_preview"] = threading.BoundedSemaphore(MAX_STREAMS)
        app.register_blueprint(bp)


def served_by_dev_server(environ: dict[str, Any]) -> bool:
    """True when Werkzeug's development server (``flask run``) is answering this request."""
    return str(environ.get("SERVER_SOFTWARE", "")).startswith("Werkzeug/")


@bp.app_context_processor
def live_context() -> dict[str, Any]:
    """``live``: the script and its stream URL (naming the version this page shows)."""
    if not has_request_context() or not served_by_dev_server(request.environ):
        return {}
    return {
        "live": {
            "script": asset_url("js/live.js"),
            "stream": url_for("preview.stream", v=content.content_version()),
        }
    }


@bp.route("/_live")
def stream() -> Response:
    """Server-Sent Events: a ``change`` event (data: the new content version) as soon as it
    differs from ``?v=``, then the end of the stream; heartbeats meanwhile."""
    if not served_by_dev_server(request.environ):
        abort(404)
    slots: threading.BoundedSemaphore = current_app.extensions["blog_preview"]
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    if not slots.acquire(blocking=False):
        headers["Retry-After"] = "5"
        return Response("Too many live previews open.\n", 503, headers, mimetype="text/plain")
    events = _events(content.get_store(), request.args.get("v", "")[:MAX_VERSION], request.environ)
    return Response(_Slot(events, slots.release), headers=headers, mimetype="text/event-stream")


class _Slot:
    """The stream's body: gives its slot back when closed, whether it was started or not
    (a HEAD request, a client gone before the first byte)."""

    def __init__(self, events: Iterator[bytes], release: Callable[[], None]) -> None:
        self._events = events
        self._release: Callable[[], None] | None = release

    def __iter__(self) -> Iterator[bytes]:
        return self._events

    def close(self) -> None:
        self._events.close()  # type: ignore[attr-defined]
        if self._release is not None:
            self._release, release = None, self._release
            release()


def _events(store: ContentStore, seen: str, environ: dict[str, Any]) -> Iterator[bytes]:
    sock = environ.get("werkzeug.socket")
    started = beat = time.monotonic()
    yield f"retry: {RETRY_MS}\n\n".encode()  # sends the headers now: the browser's "open"
    while True:
        version = store.snapshot(max_age=CHECK_EVERY if store.watched else None).view(store.clock()).version
        if version != seen:
            yield f"event: change\ndata: {version}\n\n".encode()
            return
        now = time.monotonic()
        if now - started >= LIFETIME or _client_gone(sock):
            return
        if now - beat >= HEARTBEAT_EVERY:
            beat = now
            yield b": heartbeat\n\n"
        time.sleep(CHECK_EVERY)


def _client_gone(sock: socket.socket | None) -> bool:
    """True when the client has closed its end (a browser that navigated away): the stream
    then ends now instead of at the next heartbeat. Unknown (no socket, TLS) is False."""
    flags = getattr(socket, "MSG_PEEK", 0) | getattr(socket, "MSG_DONTWAIT", 0)
    if sock is None or not getattr(socket, "MSG_DONTWAIT", 0):
        return False
    try:
        return sock.recv(1, flags) == b""
    except (BlockingIOError, InterruptedError):
        return False
    except (ValueError, NotImplementedError):  # an ssl socket takes no flags
        return False
    except OSError:
        return True
