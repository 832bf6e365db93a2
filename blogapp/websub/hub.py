"""Talking to a hub: one bounded ``hub.mode=publish`` request, and its retries."""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode
from urllib.parse import urlsplit

logger = logging.getLogger("blogapp.websub")

#: Seconds for connecting, and for each read of a hub's answer.
TIMEOUT = 5.0
#: Bytes of a hub's answer read (for the log), however long the body it sends.
MAX_ANSWER = 1024
#: Retries stop when the next one would start this many seconds after the first try.
RETRY_FOR = 120.0
#: Pause before the first retry, doubled each time, at most MAX_PAUSE.
FIRST_PAUSE = 1.0
MAX_PAUSE = 30.0


def send(hub: str, url: str, timeout: float = TIMEOUT) -> tuple[int, str]:
    """POST ``hub.mode=publish&hub.url=<url>`` to ``hub``: (status, first bytes of the answer).

    :raise OSError, http.client.HTTPException: when the hub cannot be reached or answers badly.
    """
    parts = urlsplit(hub)
    connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = connection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = urlencode({"hub.mode": "publish", "hub.url": url})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "aura-blog-websub"}
        conn.request("POST", target, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.read(MAX_ANSWER).decode("utf-8", "replace")
    finally:
        conn.close()


def publish(
    hub: str,
    url: str,
    *,
    retry_for: float = RETRY_FOR,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Tell ``hub`` that ``url`` changed; retry a hub that is down, slow or answers 5xx or 429,
    with backoff, for at most ``retry_for`` seconds. True when the hub took it (2xx)."""
    started = time.monotonic()
    pause, slept = FIRST_PAUSE, 0.0
    for attempt in range(1, 100):
        began = time.monotonic()
        try:
            status, answer = send(hub, url)
        except (OSError, http.client.HTTPException) as exc:
            status, answer = 0, f"{type(exc).__name__}: {exc}"
        took = time.monotonic() - began
        if 200 <= status < 300:
            logger.info("websub: published %s to %s: %d in %.2f s (try %d)", url, hub, status, took, attempt)
            return True
        final = 400 <= status < 500 and status != 429  # the hub refuses it: asking again will not help
        if final or max(time.monotonic() - started, slept) + pause > retry_for:
            logger.error(
                "websub: gave up publishing %s to %s after %d tries in %.0f s: %s %s",
                *(url, hub, attempt, time.monotonic() - started, status or "", answer[:200].strip()),
            )
            return False
        logger.warning(
            "websub: %s answered %s for %s (%.2f s); retrying in %.0f s",
            *(hub, status or answer, url, took, pause),
        )
        sleep(pause)
        slept += pause
        pause = min(pause * 2, MAX_PAUSE)
    return False


def public_etag(url: str, timeout: float = TIMEOUT) -> str | None:
    """The ETag the public URL serves now (identity encoding; the body is not read)."""
    parts = urlsplit(url)
    connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = connection(parts.hostname, parts.port, timeout=timeout)
    try:
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn.request("GET", target, headers={"Accept-Encoding": "identity", "User-Agent": "aura-blog-websub"})
        response = conn.getresponse()
        return response.getheader("ETag") if response.status == 200 else None
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


def silent_hubs(app: Any) -> list[tuple[str, str]]:
    """(hub, reason) for each hub in BLOG_WEBSUB_HUBS that gives no HTTP answer to a GET within
    TIMEOUT (any status counts as an answer: hubs answer GETs in their own ways)."""
    silent = []
    for hub in app.config["BLOG_WEBSUB_HUBS"]:
        parts = urlsplit(hub)
        connection = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = connection(parts.hostname, parts.port, timeout=TIMEOUT)
        try:
            conn.request("GET", (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
            conn.getresponse().read(MAX_ANSWER)
        except (OSError, http.client.HTTPException) as exc:
            silent.append((hub, f"{type(exc).__name__}: {exc}"))
        finally:
            conn.close()
    return silent
