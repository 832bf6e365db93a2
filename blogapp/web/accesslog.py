"""gunicorn's access log, same lines, written without gunicorn's per-request overhead
(``logger_class`` in gunicorn.conf.py).

gunicorn builds a dict of some 60 "atoms" for every request (every request and response
header, every environ key), copies it to escape quotes, and sends it through ``logging``: a
noticeable share of a cached page's whole cost under gunicorn (bench/README.md). With the
default ``access_log_format`` only nine atoms are used; this logger formats just those and
writes the line to gunicorn's own access-log handlers. Anything else (a custom format,
``logconfig``, syslog, handlers we did not make, HTTP basic auth) takes gunicorn's path.
tests/test_accesslog.py checks that both write the same lines.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger

#: gunicorn's default format ("combined" log format), the only one the fast path writes.
DEFAULT_FORMAT: str = AccessLogFormat.default


class AccessLogger(Logger):
    """A gunicorn Logger whose ``access()`` is cheap for the default format."""

    _second = -1
    _stamp = ""

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        handlers = self.access_log.handlers
        if (
            self.cfg.access_log_format != DEFAULT_FORMAT
            or "HTTP_AUTHORIZATION" in environ
            or not handlers
            or self.access_log.propagate
            or not all(type(h) in (logging.StreamHandler, logging.FileHandler) and not h.filters for h in handlers)
        ):
            super().access(resp, req, environ, request_time)
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        line = '%s - - %s "%s %s %s" %s %s "%s" "%s"\n' % (  # noqa: UP031 - the log's own notation
            _quoted(environ.get("REMOTE_ADDR", "-")),
            self._now(),
            _quoted(environ["REQUEST_METHOD"]),
            _quoted(environ["RAW_URI"]),
            _quoted(environ["SERVER_PROTOCOL"]),
            _quoted(status) if isinstance(status, str) else status,
            "-" if sent is None else sent,
            _quoted(environ.get("HTTP_REFERER", "-")),
            _quoted(environ.get("HTTP_USER_AGENT", "-")),
        )
        for handler in handlers:
            if handler.level > logging.INFO:
                continue
            with handler.lock:  # type: ignore[union-attr]
                stream = handler.stream  # type: ignore[attr-defined]
                stream.write(line)
                stream.flush()

    def _now(self) -> str:
        """``Logger.now()``, formatted once a second."""
        second = int(time.time())
        if second != self._second:
            self._stamp, self._second = self.now(), second
        return self._stamp


def _quoted(value: Any) -> Any:
    """As gunicorn's SafeAtoms: a double quote in a text value is escaped."""
    return value.replace('"', '\\"') if isinstance(value, str) else value
