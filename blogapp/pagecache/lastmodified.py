"""``Last-Modified`` for pages and feeds: the newest change to anything an answer shows.

One date for the whole site, the newest of:

- the **posts**: every post file's modification time (so a post added with an old ``date:``
  or edited without ``updated:`` counts), and the posts folder's own (a deleted file);
- the **public files** the posts use (covers, pictures, images in bodies) and their folders;
- **publication**: the time the newest scheduled post became visible (no file changes then);
- the **build**: the newest modification time of the code, templates and text assets, and the
  time the current settings were first served (``build_dates``), since a setting has no file.

It never comes from the time of a render, so every worker agrees, and so does every host
with the same files (copied with their times, as ``rsync -a`` does) and settings first
served at the same time; otherwise a client that moves between hosts may get a 200 where a
304 would do, never a 304 that hides a change.

HTTP dates have whole seconds: the date sent is the newest change rounded **up**, and sent
only once that second has passed, so a change made later always gets a later date (a second
change within the same second as the first cannot hide behind it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import tempfile
import time
from pathlib import Path

from werkzeug.http import http_date
from werkzeug.http import parse_date

logger = logging.getLogger("blogapp.lastmodified")

#: Builds remembered in the dates file (older ones are forgotten; one coming back is new).
BUILDS_KEPT = 50


def first_served(digest: str, dates_file: Path, now: float | None = None) -> float:
    """When the build ``digest`` (settings and code) was first served here, read from and
    recorded in ``dates_file``. When that file cannot be written, or holds something that is
    not the blog's (it is never overwritten then), ``now``: never too early."""
    now = time.time() if now is None else now
    dates = _read_dates(dates_file)
    if dates is None:
        logger.warning("%s is not the blog's build dates: left as it is; Last-Modified counts from now", dates_file)
        return now
    if digest in dates:
        return dates[digest]
    dates[digest] = now
    kept = dict(sorted(dates.items(), key=lambda item: item[1])[-BUILDS_KEPT:])
    tmp = None
    try:
        dates_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".build-dates-", dir=dates_file.parent)
        with os.fdopen(fd, "w") as fh:
            json.dump(kept, fh)
        os.replace(tmp, dates_file)
    except OSError as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)  # the temporary file this call made, nothing else
        logger.warning("cannot record the build date in %s (%s): Last-Modified counts from now", dates_file, exc)
        return now
    # Another process may have recorded this build first: its date is the one every process uses.
    return (_read_dates(dates_file) or {}).get(digest, now)


#: The dates file never grows past a few KB (BUILDS_KEPT entries); anything larger is not ours.
_DATES_MAX_BYTES = 64 * 1024
_DIGEST = re.compile(r"[0-9a-f]{16}")


def _read_dates(dates_file: Path) -> dict[str, float] | None:
    """``{build digest: first served}``; {} when there is no file; None when the file is not
    one the blog wrote (unreadable as such, another shape, too large)."""
    try:
        with open(dates_file, "rb") as fh:
            raw = fh.read(_DATES_MAX_BYTES + 1)
    except FileNotFoundError:
        return {}
    except OSError:
        return None
    try:
        data = json.loads(raw) if len(raw) <= _DATES_MAX_BYTES else None
    except ValueError:
        return None
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and _DIGEST.fullmatch(k) and isinstance(v, int | float) and math.isfinite(v)
        for k, v in data.items()
    ):
        return None
    return {k: float(v) for k, v in data.items()}


def http_seconds(newest_change: float) -> int:
    """The whole second an answer's ``Last-Modified`` names: the change rounded up."""
    return math.ceil(newest_change)


def header(seconds: int) -> str:
    """``seconds`` as an HTTP date."""
    return http_date(seconds)


def unmodified_since(value: str, seconds: int) -> bool:
    """True when ``If-Modified-Since: value`` holds everything up to ``seconds``: a valid date
    at or after it. An invalid date is ignored (RFC 9110 13.1.3)."""
    since = parse_date(value)
    return since is not None and since.timestamp() >= seconds
