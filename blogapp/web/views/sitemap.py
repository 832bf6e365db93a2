"""For crawlers: /sitemap.xml (sitemaps.org 0.9) and /robots.txt."""

from __future__ import annotations

import datetime as dt

from flask import Blueprint
from flask import render_template
from werkzeug.wrappers import Response

from ... import content
from ...pagecache.middleware import cacheable
from ...posts.post import newest_change
from ..templating import absolute_url

bp = Blueprint("sitemap", __name__)


@cacheable
def sitemap() -> Response:
    """Home, every listed post, every tag, author and series page, each with an honest lastmod."""
    posts = content.get_posts()
    urls = [(absolute_url("pages.index"), newest_change(posts))] if posts else [(absolute_url("pages.index"), None)]
    urls += [(absolute_url("pages.post", slug=p.slug), p.modified) for p in posts]
    urls += [
        (absolute_url("pages.tag", tag=name), newest_change(tagged)) for name, tagged in content.get_tags().values()
    ]
    urls += [
        (absolute_url("authors.author", slug=slug), newest_change(by))
        for slug, (_, by) in content.get_authors().items()
    ]
    urls += [
        (absolute_url("pages.series", series=slug), newest_change(found.posts))
        for slug, found in content.get_all_series().items()
    ]
    body = render_template("sitemap/sitemap.xml", urls=urls, utc=dt.UTC)
    return Response(body, content_type="application/xml; charset=utf-8")


@cacheable
def robots() -> Response:
    """Allow everything and name the sitemap's absolute URL."""
    body = f"User-agent: *\nAllow: /\n\nSitemap: {absolute_url('sitemap.sitemap')}\n"
    return Response(body, content_type="text/plain; charset=utf-8")


bp.add_url_rule("/sitemap.xml", "sitemap", sitemap)
bp.add_url_rule("/robots.txt", "robots", robots)
