"""Reader-facing HTML: listings, posts, tags, cover placeholders and public assets."""

from __future__ import annotations

import hashlib
import math
import textwrap
from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import send_file
from flask import url_for
from markupsafe import escape
from werkzeug.wrappers import Response

from .. import content
from ..pagecache import cacheable
from ..posts import Post
from ..posts import newest_change
from ..templating import absolute_url
from ..templating import resolve_public_file

bp = Blueprint("pages", __name__)


@bp.route("/")
@bp.route("/page/<int:page>")
@cacheable
def index(page: int = 1) -> Response:
    """Home page: the newest post as hero, then "more stories"; further pages by number."""
    posts = content.get_posts()
    per_page = current_app.config["BLOG_POSTS_PER_PAGE"]
    pages = max(1, math.ceil(len(posts) / per_page))
    if page < 1 or page > pages:
        abort(404, f"There is no page {page}.")
    chunk = posts[(page - 1) * per_page : page * per_page]
    hero = chunk[0] if page == 1 and chunk else None
    return html_page(
        chunk,
        "pages/index.html",
        hero=hero,
        posts=chunk[1:] if hero else chunk,
        page=page,
        pages=pages,
        prev_url=_page_url(page - 1) if page > 1 else None,
        next_url=_page_url(page + 1) if page < pages else None,
        canonical=absolute_url("pages.index", page=page) if page > 1 else absolute_url("pages.index"),
    )


@bp.route("/page/1")
def first_page() -> Response:
    """``/page/1`` is the home page; send readers and crawlers to one URL."""
    return redirect(url_for("pages.index"), code=301)


def html_page(shown: list[Post], template: str, **context: Any) -> Response:
    """Render ``template``; Last-Modified is the newest change among the posts it shows."""
    response = make_response(render_template(template, **context))
    response.last_modified = newest_change(shown)
    return response


def _page_url(page: int) -> str:
    return url_for("pages.index") if page == 1 else url_for("pages.index", page=page)


@bp.route("/posts/<slug>")
@cacheable
def post(slug: str) -> Response:
    """One post, with its older and newer neighbours."""
    found = content.get_post_or_404(slug)
    posts = content.get_posts()
    at = posts.index(found)
    return html_page(
        [found],
        "pages/post.html",
        post=found,
        newer=posts[at - 1] if at > 0 else None,
        older=posts[at + 1] if at + 1 < len(posts) else None,
        canonical=absolute_url("pages.post", slug=found.slug),
    )


@bp.route("/tags")
@cacheable
def tags() -> Response:
    """Every tag with its number of posts."""
    return html_page(
        content.get_posts(), "pages/tags.html", tags=content.get_tags().values(), canonical=absolute_url("pages.tags")
    )


@bp.route("/tags/<tag>")
@cacheable
def tag(tag: str) -> Response:
    """Posts with one tag, newest first."""
    found = content.get_tag(tag)
    if found is None:
        abort(404, f"No posts are tagged {tag!r}.")
    name, posts = found
    return html_page(posts, "pages/tag.html", tag=name, posts=posts, canonical=absolute_url("pages.tag", tag=name))


@bp.route("/posts/<slug>/cover.svg")
@cacheable
def cover(slug: str) -> Response:
    """A generated cover (title on a gradient) for posts without a usable image."""
    found = content.get_post_or_404(slug)
    svg = render_placeholder(found.title, found.slug, current_app.config["BLOG_TITLE"])
    response = Response(svg, mimetype="image/svg+xml")
    response.last_modified = found.modified
    return response


def render_placeholder(title: str, seed: str, site_title: str) -> str:
    """SVG cover art: a two-colour gradient picked from ``seed`` with the title set on it."""
    digest = hashlib.sha256(seed.encode()).digest()
    hue1, hue2 = digest[0] * 360 // 256, (digest[0] * 360 // 256 + 40 + digest[1] % 80) % 360
    lines = textwrap.wrap(title, 26)[:4] or [""]
    top = 315 - (len(lines) - 1) * 38
    text = "".join(f'<tspan x="80" y="{top + i * 76}">{escape(line)}</tspan>' for i, line in enumerate(lines))
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1200 630" width="1200" height="630" '
        f'role="img" aria-label="{escape(title)}">'
        '<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue1} 55% 32%)"/>'
        f'<stop offset="1" stop-color="hsl({hue2} 60% 22%)"/></linearGradient></defs>'
        '<rect width="1200" height="630" fill="url(#g)"/>'
        '<g font-family="system-ui,-apple-system,Segoe UI,Roboto,sans-serif" fill="#fff">'
        f'<text font-size="64" font-weight="700">{text}</text>'
        f'<text x="80" y="560" font-size="28" opacity=".8">{escape(site_title)}</text></g></svg>'
    )


@bp.route("/<path:filename>")
def public_file(filename: str) -> Response:
    """Files from BLOG_PUBLIC_DIR at the site root (``/assets/blog/x.jpg``), as Next.js serves public/."""
    path = resolve_public_file(filename)
    if path is None:
        abort(404)
    return send_file(path, max_age=3600, conditional=True)
