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

from flask import abort
from flask import current_app
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from markupsafe import Markup
from werkzeug.wrappers import Response

from ... import content
from ... import public
from ...images import pictures
from ...posts.fields import Author
from ...posts.fields import slugify
from ...posts.post import Post
from ...text.summary import Summary
from ..templating import absolute_path
from ..templating import absolute_url


def to_canonical(**spelled: str) -> None:
    """Redirect (301) to this very route with ``spelled`` in place of what the request spelled
    another way: ``/tags/PYTHON`` to ``/tags/python``, ``/authors/Maya-Chen`` to
    ``/authors/maya-chen``. One URL per page for readers, feed readers and search engines, and
    one cache entry: the spellings of a tag (2^n letter cases) cannot each cost a render.

    :raise HTTPException: carrying the 301, unless the request already spells every value so.
    """
    args = request.view_args or {}
    if any(args.get(name) != value for name, value in spelled.items()):
        abort(redirect(url_for(request.endpoint or "", **{**args, **spelled}), code=301))


def html_page(template: str, **context: Any) -> Response:
    """Render ``template``. No Last-Modified here: a page changes in ways no post date tracks
    (neighbours, related posts, covers); the page cache sends the site's (lastmodified.py).
    Templates get the image ``sizes`` of each slot as ``image_sizes``."""
    return make_response(render_template(template, image_sizes=pictures.SIZES, **context))


@dataclass(frozen=True)
class PostImages:
    """The images a page shows for one post."""

    cover: str  #: the cover's URL, or the generated placeholder's
    avatar: str | None  #: the author's picture URL, or None (the page shows initials)
    #: ``(type, srcset)`` of the cover's and the picture's variants (empty: the file alone)
    cover_sources: tuple[tuple[str, str], ...] = ()
    avatar_sources: tuple[tuple[str, str], ...] = ()


def post_images(posts: Iterable[Post | None]) -> dict[str, PostImages]:
    """``{slug: PostImages}`` for the posts a page shows (None entries skipped)."""
    found = {}
    for post in posts:
        if post is not None:
            cover, avatar = cover_picture(post), avatar_picture(post)
            found[post.slug] = PostImages(
                cover.src, avatar.src if avatar else None, cover.sources, avatar.sources if avatar else ()
            )
    return found


def cover_picture(post: Post) -> pictures.Picture:
    """The post's cover and its variants, or the generated placeholder when it has none or
    the file is missing."""
    cover = post.cover_image
    if cover and public.exists(cover):
        return pictures.picture(cover, "cover")
    return pictures.Picture(url_for("pages.cover", slug=post.slug))


def post_texts(posts: Iterable[Post | None]) -> dict[str, Summary]:
    """``{slug: Summary}`` (excerpt, words, minutes) for the posts a page shows."""
    return {post.slug: content.summary(post) for post in posts if post is not None}


def avatar_picture(post: Post) -> pictures.Picture | None:
    """The post's author's picture and its variants, or None when it is missing."""
    return author_picture(post.author)


def author_picture(author: Author) -> pictures.Picture | None:
    """An author's picture and its variants, or None when it is missing (pages show initials)."""
    picture = author.picture
    return pictures.picture(picture, "avatar") if picture and public.exists(picture) else None


def share_image_url(post: Post) -> str:
    """Absolute Open Graph image: the 1200-wide JPEG/PNG variant of ogImage, else of the
    cover (the file itself when it has none, e.g. SVG or remote), else the generated PNG
    card (social sites do not accept SVG)."""
    for candidate in (post.og_image, post.cover_image):
        if candidate and public.exists(candidate):
            return absolute_path(pictures.share_variant(candidate) or candidate)
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
    slug = content.author_slug_of(author)
    is_site = bool(slug) and slugify(author.name) == slugify(current_app.config["BLOG_TITLE"])
    data: dict[str, Any] = {"@type": "Organization" if is_site else "Person", "name": author.name}
    if slug:
        data["url"] = absolute_url("authors.author", slug=slug)
    if author.picture and public.exists(author.picture):
        data["image"] = absolute_path(author.picture)
    return data
