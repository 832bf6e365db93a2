"""Author pages: ``/authors/<slug>``, an author's posts, paginated like the home page."""

from __future__ import annotations

import math
from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import url_for
from werkzeug.wrappers import Response

from ... import content
from ...pagecache.middleware import cacheable
from ...posts.fields import Author
from ...posts.fields import slugify
from ..templating import absolute_url
from .common import author_json_ld
from .common import author_picture
from .common import html_page
from .common import json_for_script
from .common import post_images
from .common import post_texts
from .common import to_canonical

bp = Blueprint("authors", __name__)


@bp.route("/authors/<slug>")
@bp.route("/authors/<slug>/page/<int:page>")
@cacheable
def author(slug: str, page: int = 1) -> Response:
    """One author's posts, newest first, BLOG_POSTS_PER_PAGE a page, with their name and picture.

    The slug is matched as names are (``fields.slugify``), so ``/authors/Maya-Chen``
    finds ``maya-chen`` and is redirected there (301): one URL per page.
    """
    found = content.get_author(slug)
    if found is None:
        abort(404, f"No author {slug!r}.")
    person, posts = found
    slug = content.author_slug_of(person)
    to_canonical(slug=slug)
    per_page = current_app.config["BLOG_POSTS_PER_PAGE"]
    pages = max(1, math.ceil(len(posts) / per_page))
    if page < 1 or page > pages:
        abort(404, f"There is no page {page}.")
    chunk = posts[(page - 1) * per_page : page * per_page]
    canonical = absolute_url("authors.author", slug=slug, **({"page": page} if page > 1 else {}))
    return html_page(
        "pages/author.html",
        author=person,
        avatar=author_picture(person),
        count=len(posts),
        posts=chunk,
        images=post_images(chunk),
        texts=post_texts(chunk),
        page=page,
        pages=pages,
        slug=slug,
        prev_url=_page_url(slug, page - 1) if page > 1 else None,
        next_url=_page_url(slug, page + 1) if page < pages else None,
        canonical=canonical,
        json_ld=json_for_script(_profile_page(person, canonical)),
    )


@bp.route("/authors/<slug>/page/1")
def first_page(slug: str) -> Response:
    """``/authors/<slug>/page/1`` is the author page itself: one URL per listing."""
    return redirect(url_for("authors.author", slug=slugify(slug) or slug), code=301)


def _page_url(slug: str, page: int) -> str:
    return url_for("authors.author", slug=slug, **({"page": page} if page > 1 else {}))


def _profile_page(person: Author, canonical: str) -> dict[str, Any]:
    """schema.org ProfilePage whose main entity is the author (a Person, with the page's URL)."""
    return {
        "@context": "https://schema.org",
        "@type": "ProfilePage",
        "url": canonical,
        "mainEntity": author_json_ld(person),
    }
