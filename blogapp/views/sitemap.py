"""For crawlers: /sitemap.xml (sitemaps.org 0.9) and /robots.txt."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import render_template
from werkzeug.wrappers import Response

from .. import content
from ..extensions import cached_page
from ..templating import absolute_url
from .feeds import conditional
from .feeds import entry_updated
from .feeds import feed_updated

bp = Blueprint("sitemap", __name__)


@cached_page
def sitemap() -> Response:
    """Home, every listed post and every tag page, each with an honest lastmod."""
    posts = content.get_posts()
    urls = [(absolute_url("pages.index"), feed_updated(posts))] if posts else [(absolute_url("pages.index"), None)]
    urls += [(absolute_url("pages.post", slug=p.slug), entry_updated(p)) for p in posts]
    urls += [
        (absolute_url("pages.tag", tag=name), feed_updated(tagged)) for name, tagged in content.get_tags().values()
    ]
    body = render_template("sitemap/sitemap.xml", urls=urls, utc=dt.UTC)
    response = Response(body, content_type="application/xml; charset=utf-8")
    response.add_etag()
    if posts:
        response.last_modified = feed_updated(posts)
    return response


@cached_page
def robots() -> Response:
    """Allow everything and name the sitemap's absolute URL."""
    body = f"User-agent: *\nAllow: /\n\nSitemap: {absolute_url('sitemap.sitemap')}\n"
    response = Response(body, content_type="text/plain; charset=utf-8")
    response.add_etag()
    return response


bp.add_url_rule("/sitemap.xml", "sitemap", conditional(sitemap))
bp.add_url_rule("/robots.txt", "robots", conditional(robots))
