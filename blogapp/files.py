"""Files served from a folder: the public folder at the site root, and the blog's static folder.

One rule for every file route: no hidden file or folder (a segment starting with ``.``, so
``.env`` and ``.git/config`` are never served), nothing resolving outside the folder (``..``,
symlinks pointing out), regular files only. A file is sent from disk as it is read (gunicorn
hands it to ``sendfile``), never loaded whole, with ``ETag``/``Last-Modified`` answered by
304 and ``Range`` by 206.
"""

from __future__ import annotations

import os

from flask import abort
from flask import current_app
from flask import send_file
from werkzeug.security import safe_join
from werkzeug.wrappers import Response


def resolve_inside(folder: str | os.PathLike[str], path: str) -> str | None:
    """The real regular file ``path`` names under ``folder``, or None (hidden, outside, missing)."""
    root = os.path.realpath(folder)
    relative = path.lstrip("/")
    if not relative or "\x00" in relative or any(part.startswith(".") for part in relative.split("/")):
        return None
    joined = safe_join(root, relative)
    if joined is None:
        return None
    real = os.path.realpath(joined)
    if not real.startswith(root + os.sep) or not os.path.isfile(real):
        return None
    return real


def send_inside(folder: str | os.PathLike[str], path: str, max_age: int | None) -> Response:
    """Send ``path`` from ``folder`` (404 unless ``resolve_inside`` finds it), streamed and
    conditional."""
    real = resolve_inside(folder, path)
    if real is None:
        abort(404)
    return send_file(real, max_age=max_age, conditional=True)


def static_file(filename: str) -> Response:
    """The view of Flask's ``static`` endpoint (``url_for('static', filename=...)``), under
    the same rules as the public folder. Fingerprinted names are answered earlier, from
    memory, by the page cache; this serves the plain names."""
    app = current_app
    return send_inside(app.static_folder or "", filename, app.get_send_file_max_age(filename))
