"""``flask --app blogapp export DIR``: the whole site as static files for any static host.

Crawls the app through its own test client, starting from the home page, the feeds, the
sitemap, robots.txt and the API, following every same-site link and asset. HTML pages are
written as ``<path>/index.html`` (``/posts/x`` -> ``posts/x/index.html``), which every static
host serves at ``/posts/x/`` and most at ``/posts/x``; everything else keeps its exact path.

The site is written into a new folder beside the target, which a marker file (MARKER, listing
every file written) makes the export's own, then renamed into place: a failed export leaves
the old one whole. Only a folder with that marker is ever replaced, and only the files it
lists are deleted (exportdir.py checks the target first).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import deque
from html import unescape
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import Flask

from ..files.paths import is_inside
from ..posts.fields import segment_problem
from .exportdir import MARKER
from .exportdir import ExportError
from .exportdir import remove_export
from .exportdir import write_marker

# src/href, and meta content (og:image, a variant no other tag links).
_LINK = re.compile(r"""(?:href|src|content)=["']([^"']+)["']""")
_SRCSET = re.compile(r"""srcset=["']([^"']+)["']""")
_SEEDS = ["/", "/feed.xml", "/atom.xml", "/feed.json", "/sitemap.xml", "/robots.txt", "/api/latest-posts"]
_LOC = re.compile(r"<loc>([^<]+)</loc>")


def export_to(app: Flask, target: Path, replace: bool) -> tuple[int, list[str]]:
    """Export the site into a new folder beside ``target`` (a real path, checked by
    ``exportdir.check_target``), then put it in ``target``'s place; with ``replace``, the
    export there before is removed after the swap. Return the number of files written, and
    the files of the old export left beside it (none unless one appeared meanwhile).

    :raise ExportError: (or OSError) when the export fails; ``target`` is then left as it was.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    mode = _folder_mode(target)
    work = Path(tempfile.mkdtemp(prefix=f".{target.name}.export-", dir=target.parent))
    left: list[str] = []
    try:
        written = export_site(app, work)
        write_marker(work, written)
        os.chmod(work, mode)  # mkdtemp's 0700 would hide the site from the web server
        if replace:
            left = _swap(work, target)
        else:
            os.rename(work, target)  # target is missing or an empty folder: replaced at once
    finally:
        if os.path.lexists(work):
            shutil.rmtree(work)  # ours: made by mkdtemp above, never swapped in
    return len(written), left


def _swap(work: Path, target: Path) -> list[str]:
    """Put ``work`` in place of the earlier export ``target``, then remove that one; return
    what is left of it."""
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
    try:
        os.rename(target, old)  # onto an empty folder: allowed
    except BaseException:
        os.rmdir(old)
        raise
    try:
        os.rename(work, target)
    except BaseException:
        os.rename(old, target)
        raise
    return [str(old / name) for name in remove_export(old)]


def _folder_mode(target: Path) -> int:
    """The permissions the exported folder gets: the old target's, else the umask's."""
    try:
        return target.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o777 & ~umask


def export_site(app: Flask, target: Path) -> list[Path]:
    """Write every reachable page and file under ``target``; return the files written.

    :raise ExportError: when a page answers with a server error (the export would lack it).
    """
    site = urlsplit(app.config["BLOG_SITE_URL"])
    prefix = site.path.rstrip("/")
    client = app.test_client()
    base_url = f"{site.scheme}://{site.netloc}{prefix}/"
    queue, seen, written = deque(_SEEDS), set(_SEEDS), []
    files: set[Path] = set()
    target = target.resolve()
    while queue:
        path = queue.popleft()
        with client.get(path, base_url=base_url) as response:
            if response.status_code >= 500:
                raise ExportError(f"{path} answered {response.status}")
            if response.status_code != 200:
                continue
            body = response.get_data()
            mimetype = response.mimetype
        out = _output_path(target, path, mimetype)
        if out is None or out in files:  # never a file twice: the first URL (home, feeds) keeps it
            continue
        files.add(out)
        write_file(out, body)
        written.append(out)
        if mimetype in ("text/html", "application/xml", "text/plain") or mimetype.endswith("+xml"):
            for link in _links(body.decode("utf-8", errors="replace"), site.netloc, prefix):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    with client.get("/__export-not-found__", base_url=base_url) as missing:
        write_file(target / "404.html", missing.get_data())
    written.append(target / "404.html")
    return written


def write_file(out: Path, body: bytes) -> None:
    """Write one exported file (its folders too)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(body)


def _links(text: str, netloc: str, prefix: str) -> list[str]:
    """Same-site paths (relative to the app) linked from a page, a feed or the sitemap."""
    found = []
    candidates = [item.split()[0] for srcset in _SRCSET.findall(text) for item in srcset.split(",") if item.strip()]
    for raw in _LINK.findall(text) + candidates + _LOC.findall(text) + re.findall(r"Sitemap: (\S+)", text):
        parts = urlsplit(unescape(raw))
        if parts.scheme and (parts.scheme not in ("http", "https") or parts.netloc != netloc):
            continue
        if not parts.path.startswith(prefix + "/") or parts.query:
            continue
        found.append(parts.path[len(prefix) :])
    return found


def _output_path(target: Path, path: str, mimetype: str) -> Path | None:
    """Where ``path`` is written under ``target``; None for a path no file can stand for
    (a "." or ".." segment, a backslash or a control character)."""
    relative = unquote(path).lstrip("/")
    if any(segment and segment_problem(segment) for segment in relative.split("/")):
        return None
    if mimetype == "text/html":
        relative = f"{relative.rstrip('/')}/index.html".lstrip("/")
    out = (target / relative).resolve()
    if not is_inside(out, target) or out == target / MARKER:
        raise ValueError(f"refusing to write outside {target}: {path}")
    return out
