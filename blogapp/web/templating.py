"""Template helpers: date filters, absolute URLs and the site context.

Nothing a template calls reads a file: the URLs of the blog's own static files are found
before rendering (the context processor) and everything about a post's images by the view.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections import OrderedDict
from html import unescape
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from flask import Flask
from flask import current_app
from flask import request
from flask import url_for
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from markupsafe import Markup
from markupsafe import escape

from ..files.paths import is_remote

#: The blog's own static files every page links (base.html), by fingerprinted URL.
SITE_ASSETS = ("css/site.css", "favicon.svg", "js/theme.js", "js/code.js")

_ROOT_URL_ATTR = re.compile(r'(\s(?:src|href)=")(/(?!/))')
_URL_ATTR = re.compile(r'(\s(?:src|href)=")([^"]*)(")')


def display_date(value: dt.datetime) -> str:
    """'December 24, 2024', in the site's time zone."""
    local = value.astimezone(ZoneInfo(current_app.config["BLOG_TIMEZONE"]))
    return f"{local:%B} {local.day}, {local.year}"


def iso_date(value: dt.datetime) -> str:
    """RFC 3339 / ISO 8601 with offset, for ``<time datetime>`` and JSON."""
    return value.isoformat(timespec="seconds")


def site_base() -> str:
    """Absolute URL of the home page without a trailing slash, mount prefix included."""
    configured = current_app.config["BLOG_SITE_URL"]
    if configured:
        return configured
    return request.host_url.rstrip("/") + request.script_root


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for ``endpoint``, based on BLOG_SITE_URL when it is set."""
    path = url_for(endpoint, **values)
    return absolute_path(path[len(request.script_root) :] if path.startswith(request.script_root) else path)


def absolute_path(path: str) -> str:
    """Make a root-relative path of this app (``/posts/x``) absolute; full URLs pass through."""
    if is_remote(path):
        return path
    return site_base() + "/" + path.lstrip("/")


def prefix_root_urls(html: Markup) -> Markup:
    """Give root-relative ``src``/``href`` in post HTML the mount prefix (``/blog``)."""
    prefix = request.script_root
    if not prefix:
        return html
    return Markup(_ROOT_URL_ATTR.sub(lambda m: m.group(1) + prefix + m.group(2), str(html)))


def absolutize_urls(html: str, page_url: str) -> str:
    """Make every ``href``/``src`` in ``html`` absolute (feed readers ignore xml:base).

    Root-relative paths are app paths (``/assets/x.jpg``) and go on the site base; other
    relative ones (``img.png``, ``#fn1``) resolve against ``page_url``.
    """

    def fix(match: re.Match[str]) -> str:
        value = unescape(match.group(2))
        if value.startswith("/") and not is_remote(value):
            value = absolute_path(value)
        else:
            value = urljoin(page_url, value)
        return match.group(1) + str(escape(value)) + match.group(3)

    return _URL_ATTR.sub(fix, html)


def initials(name: str) -> str:
    """'AURA Digital Labs' -> 'AD'."""
    letters = [word[0] for word in name.split() if word[:1].isalnum()]
    return "".join(letters[:2]).upper() or "?"


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per process, shared by every app it makes: Jinja compiles a
    template for each new environment otherwise (~8 ms each; a test suite or ``flask export``
    makes many apps, a worker one). Keyed by the template's name and file (Jinja's bucket key)
    and checked against its source's checksum, so an edited template is compiled again.
    Shared only by apps ``create_app`` makes, whose Jinja environments are configured alike."""

    def __init__(self, kept: int = 512) -> None:
        self.kept = kept
        self._code: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # ignored if the source's checksum differs

    def dump_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            self._code[bucket.key] = bucket.bytecode_to_string()
            self._code.move_to_end(bucket.key)
            while len(self._code) > self.kept:
                self._code.popitem(last=False)


#: The one per process (a forked worker inherits what its master compiled).
COMPILED_TEMPLATES = CompiledTemplates()


def compile_templates(app: Flask) -> int:
    """Load every template of ``app`` now; how many. gunicorn's master calls it (wsgi.py,
    preload_app), so forked workers share the compiled templates instead of each compiling
    them on its first pages (~8 ms a template, in every worker)."""
    names = app.jinja_env.list_templates()
    for name in names:
        app.jinja_env.get_template(name)
    return len(names)


def asset_url(filename: str) -> str:
    """URL of one of the blog's own static files, fingerprinted so it can be cached forever."""
    return url_for("static", filename=current_app.extensions["blog_assets"].fingerprinted(filename))


def init_app(app: Flask) -> None:
    """Register filters, globals, the site context processor and the compiled templates."""
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    app.jinja_env.filters.update(
        display_date=display_date,
        iso_date=iso_date,
        initials=initials,
        prefix_root_urls=prefix_root_urls,
    )
    app.jinja_env.globals.update(absolute_url=absolute_url)

    @app.context_processor
    def site_context() -> dict[str, Any]:
        cfg = current_app.config
        return {
            "site": {
                "title": cfg["BLOG_TITLE"],
                "description": cfg["BLOG_DESCRIPTION"],
                "author": cfg["BLOG_AUTHOR"],
                "language": cfg["BLOG_LANGUAGE"],
            },
            "assets": {name: asset_url(name) for name in SITE_ASSETS},
        }
