"""What the HTML and feed views share: the page response, the image URLs and texts of posts.

Whether a post's cover or author picture can be shown depends on the public folder, and its
excerpt and reading time on its body, so the views resolve them here (through publicfiles and
the content store) and hand templates finished values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask import make_response
from flask import render_template
from flask import url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from .. import content
from .. import publicfiles
from ..fields import Author
from ..fields import author_slug
from ..posts import Post
from ..summary import Summary
from ..templating import absolute_path
from ..templating import absolute_url


def html_page(template: str, **context: Any) -> Response:
    """Render ``template``. No Last-Modified: a page changes in ways no post date tracks
    (neighbours, related posts, covers), so the ETag validates."""
    return make_response(render_template(template, **context))


@dataclass(frozen=True)
class PostImages:
    """The images a page shows for one post."""

    cover: str  #: the cover's URL, or the generated placeholder's
    avatar: str | None  #: the author's picture URL, or None (the page shows initials)


def post_images(posts: Iterable[Post | None]) -> dict[str, PostImages]:
    """``{slug: PostImages}`` for the posts a page shows (None entries skipped)."""
    return {post.slug: PostImages(cover_url(post), avatar_url(post)) for post in posts if post is not None}


def post_texts(posts: Iterable[Post | None]) -> dict[str, Summary]:
    """``{slug: Summary}`` (excerpt, words, minutes) for the posts a page shows."""
    return {post.slug: content.summary(post) for post in posts if post is not None}


def cover_url(post: Post) -> str:
    """The post's cover, or its generated placeholder when it has none or the file is missing."""
    cover = post.cover_image
    if cover and publicfiles.exists(cover):
        return publicfiles.public_url(cover)
    return url_for("pages.cover", slug=post.slug)


def avatar_url(post: Post) -> str | None:
    """The author's picture URL, or None when it is missing."""
    picture = post.author.picture
    return publicfiles.public_url(picture) if picture and publicfiles.exists(picture) else None


def share_image_url(post: Post) -> str:
    """Absolute Open Graph image: ogImage, else the cover, else the generated PNG card
    (social sites do not accept SVG)."""
    for candidate in (post.og_image, post.cover_image):
        if candidate and publicfiles.exists(candidate):
            return absolute_path(candidate)
    return absolute_url("pages.card", slug=post.slug)


#: Characters escaped in JSON inside <script>: "</script>", "<!--" and HTML entities cannot
#: form, and U+2028/9 cannot end a line for older JavaScript parsers.
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"})


def json_for_script(data: Any) -> Markup:
    """JSON that is safe as the content of ``<script type="application/ld+json">``."""
    return Markup(json.dumps(data, ensure_ascii=False, separators=(",", ":")).translate(_SCRIPT_SAFE))


def author_json_ld(author: Author) -> dict[str, Any]:
    """schema.org Person for an author, with their page's absolute URL (and picture).

    The site writing as itself (the author's name is BLOG_TITLE, matched as names are) is an
    Organization instead.
    """
    is_site = bool(author.slug) and author.slug == author_slug(current_app.config["BLOG_TITLE"])
    data: dict[str, Any] = {"@type": "Organization" if is_site else "Person", "name": author.name}
    if author.slug:
        data["url"] = absolute_url("authors.author", slug=author.slug)
    if author.picture and publicfiles.exists(author.picture):
        data["image"] = absolute_path(author.picture)
    return data
