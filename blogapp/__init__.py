"""The AURA Digital Labs blog: a Flask app serving markdown posts."""

from __future__ import annotations

import os
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from . import content
from . import public
from .cli import commands
from .config import DEFAULTS
from .config import ROOT
from .config import check_config
from .extensions import init_cache
from .images import variantstore
from .pagecache.middleware import PageCache
from .search import fulltext
from .search import related
from .web import errors
from .web import templating
from .web.assets import StaticAssets
from .web.prefix import Mount
from .web.prefix import PrefixGuard
from .web.security import SecurityHeaders
from .web.views import api
from .web.views import authors
from .web.views import discover
from .web.views import feeds
from .web.views import pages
from .web.views import preview
from .web.views import sitemap
from .web.views import variants


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then FLASK_* environment (or ``test_config``), then checks."""
    app = Flask(__name__, template_folder=ROOT / "templates", static_folder=ROOT / "static")
    # Flask's static route, under the public folder's rules (no hidden files, nothing outside).
    app.view_functions["static"] = public.static_file
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_prefixed_env()
        # The mount prefix (``SCRIPT_NAME=/blog gunicorn wsgi:app``), taken out of the
        # environment before gunicorn reads it for each request: gunicorn answers 500 to a
        # path outside it, Mount answers 404.
        app.config["SCRIPT_NAME"] = os.environ.pop("SCRIPT_NAME", "")
    else:
        app.config.from_mapping(test_config)
    check_config(app.config)

    init_cache(app)
    content.init_app(app)
    fulltext.init_app(app)
    related.init_app(app)
    app.extensions["blog_assets"] = StaticAssets(ROOT / "static")
    variantstore.init_app(app)
    templating.init_app(app)
    errors.init_app(app)
    commands.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(sitemap.bp)
    app.register_blueprint(discover.bp)
    app.register_blueprint(authors.bp)
    app.register_blueprint(variants.bp)
    app.register_blueprint(pages.bp)
    preview.init_app(app)  # debug only: the live preview while writing

    # Innermost first: PageCache answers hits before Flask routes the request; PrefixGuard
    # fixes or checks the mount prefix (part of the cache key); ProxyFix rewrites the environ
    # from trusted proxy headers; Mount (with SCRIPT_NAME) serves the app under its prefix and
    # answers 404 outside it; SecurityHeaders, outermost, adds the same headers to every
    # answer, whichever layer gives it (Mount's 404 included).
    site_url = app.config["BLOG_SITE_URL"]
    app.wsgi_app = PageCache(app, app.wsgi_app)  # type: ignore[method-assign]
    if site_url or app.config["BLOG_PROXY_COUNT"]:
        app.wsgi_app = PrefixGuard(app.wsgi_app, site_url)  # type: ignore[method-assign]
    if app.config["BLOG_PROXY_COUNT"]:
        n = app.config["BLOG_PROXY_COUNT"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)  # type: ignore[method-assign]
    if app.config.get("SCRIPT_NAME"):
        app.wsgi_app = Mount(app.wsgi_app, app.config["SCRIPT_NAME"])  # type: ignore[method-assign]
    app.wsgi_app = SecurityHeaders(app.wsgi_app, site_url)  # type: ignore[method-assign]
    return app
