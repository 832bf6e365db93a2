"""JSON for machines: the seed site's latest-posts API and the health check."""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint
from flask import jsonify
from werkzeug.wrappers import Response

from ... import content
from ... import public
from ...pagecache.middleware import cacheable
from ...posts.post import Post
from ..templating import absolute_path
from ..templating import absolute_url
from ..templating import iso_date

bp = Blueprint("api", __name__)

LATEST_COUNT = 3


def post_summary(post: Post) -> dict[str, Any]:
    """Public fields of a post, in blog-starter names; never the markdown body."""
    cover, picture = post.cover_image, post.author.picture
    return {
        "slug": post.slug,
        "title": post.title,
        "date": iso_date(post.date),
        "excerpt": content.summary(post).excerpt,
        "coverImage": absolute_path(cover) if cover and public.exists(cover) else None,
        "author": {
            "name": post.author.name,
            "picture": absolute_path(picture) if picture and public.exists(picture) else None,
        },
        "tags": list(post.tags),
        "url": absolute_url("pages.post", slug=post.slug),
    }


@bp.route("/api/latest-posts")
@cacheable
def latest_posts() -> Response:
    """The three newest visible posts."""
    posts = content.get_posts()[:LATEST_COUNT]
    return jsonify([post_summary(p) for p in posts])


@bp.route("/healthz")
def healthz() -> Response:
    """Liveness plus what this worker serves; never cached."""
    response = jsonify(
        status="ok",
        posts=len(content.get_posts()),
        invalid=len(content.invalid_posts()),
        version=content.content_version(),
        pid=os.getpid(),
    )
    response.headers["Cache-Control"] = "no-store"
    return response
