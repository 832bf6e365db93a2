"""``flask --app blogapp export DIR``: the whole site as static files for any static host.

Crawls the app through its own test client, starting from the home page, the feeds, the
sitemap, robots.txt and the API, following every same-site link and asset. HTML pages are
written as ``<path>/index.html`` (``/posts/x`` -> ``posts/x/index.html``), which every static
host serves at ``/posts/x/`` and most at ``/posts/x``; everything else keeps its exact path.
"""

from __future__ import annotations

import re
from collections import deque
from html import unescape
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlsplit

from flask import Flask

from .fields import segment_problem
from .publicfiles import is_inside

# src/href, and meta content (og:image, a variant no other tag links).
_LINK = re.compile(r"""(?:href|src|content)=["']([^"']+)["']""")
_SRCSET = re.compile(r"""srcset=["']([^"']+)["']""")
_SEEDS = ["/", "/feed.xml", "/atom.xml", "/feed.json", "/sitemap.xml", "/robots.txt", "/api/latest-posts"]
_LOC = re.compile(r"<loc>([^<]+)</loc>")


def export_site(app: Flask, target: Path) -> list[Path]:
    """Write every reachable page and file under ``target``; return the files written."""
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
            if response.status_code != 200:
                continue
            body = response.get_data()
            mimetype = response.mimetype
        out = _output_path(target, path, mimetype)
        if out is None or out in files:  # never a file twice: the first URL (home, feeds) keeps it
            continue
        files.add(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(body)
        written.append(out)
        if mimetype in ("text/html", "application/xml", "text/plain") or mimetype.endswith("+xml"):
            for link in _links(body.decode("utf-8", errors="replace"), site.netloc, prefix):
                if link not in seen:
                    seen.add(link)
                    queue.append(link)
    with client.get("/__export-not-found__", base_url=base_url) as missing:
        (target / "404.html").write_bytes(missing.get_data())
    written.append(target / "404.html")
    return written


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
    if not is_inside(out, target):
        raise ValueError(f"refusing to write outside {target}: {path}")
    return out
