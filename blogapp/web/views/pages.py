"""Reader-facing HTML: listings, posts, tags, cover placeholders and public assets."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import url_for
from werkzeug.wrappers import Response

from ... import content
from ... import public
from ...images import pictures
from ...images.social import render_card
from ...images.social import render_placeholder
from ...pagecache.middleware import cacheable
from ...posts.post import Post
from ...search.related import related_posts
from ...text.markup import Heading
from ...text.summary import Summary
from ..templating import absolute_url
from ..templating import display_date
from ..templating import iso_date
from .common import author_json_ld
from .common import html_page
from .common import json_for_script
from .common import post_images
from .common import post_texts
from .common import share_image_url
from .common import to_canonical

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
        "pages/index.html",
        hero=hero,
        posts=chunk[1:] if hero else chunk,
        images=post_images(chunk),
        texts=post_texts(chunk),
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


def _page_url(page: int) -> str:
    return url_for("pages.index") if page == 1 else url_for("pages.index", page=page)


#: A post gets a table of contents when it has this many h2/h3 headings ...
TOC_MIN_HEADINGS = 4
#: ... and at least this many words of prose (Summary.words: code blocks not counted): a
#: tutorial part of 600-900 words with many headings gets one.
TOC_MIN_WORDS = 600


@bp.route("/posts/<slug>")
@cacheable
def post(slug: str) -> Response:
    """One post: reading time, table of contents, body, related posts, older/newer neighbours.

    Everything here (related posts included) is computed once per content version: the page
    is cached whole by PageCache.
    """
    found = content.get_post_or_404(slug)
    posts = content.get_posts()
    at = posts.index(found)
    newer = posts[at - 1] if at > 0 else None
    older = posts[at + 1] if at + 1 < len(posts) else None
    rendered = content.render(found)
    page_path = "/posts/" + found.slug
    canonical = absolute_url("pages.post", slug=found.slug)
    image = share_image_url(found)
    related = related_posts(found, exclude=(newer, older))
    summary = content.summary(found)
    series = series_box(found)
    return html_page(
        "pages/post.html",
        post=found,
        subtitle=rendered.subtitle,
        body=pictures.body_pictures(rendered.html, page_path),
        toc=table_of_contents(rendered.headings) if summary.words >= TOC_MIN_WORDS else [],
        related=related,
        newer=newer,
        older=older,
        series=series,
        canonical=canonical,
        image=image,
        images=post_images([found, *related]),
        texts=post_texts([found, *related]),
        json_ld=json_for_script(blog_posting(found, canonical, image, summary, series)),
    )


# -- reading aids: series, table of contents -------------------------------


@dataclass(frozen=True)
class SeriesBox:
    """What a post in a series shows: "Part n of N", the parts in order, previous and next."""

    slug: str
    name: str
    part: int  #: from 1
    posts: list[Post]
    previous: Post | None
    next: Post | None


def series_box(post: Post) -> SeriesBox | None:
    """The series box of ``post``, or None when it is in no series (or is not listed in it)."""
    series = content.series_of(post)
    if series is None or post not in series.posts:
        return None
    at = series.posts.index(post)
    return SeriesBox(
        series.slug,
        series.name,
        at + 1,
        series.posts,
        series.posts[at - 1] if at > 0 else None,
        series.posts[at + 1] if at + 1 < len(series.posts) else None,
    )


def table_of_contents(headings: Iterable[Heading]) -> list[tuple[Heading, list[Heading]]]:
    """h2 entries with their h3s nested, or [] when there are fewer than TOC_MIN_HEADINGS.

    An h3 before the first h2 is listed at the top level; h4 and deeper are left out.
    """
    shown = [h for h in headings if h.level in (2, 3)]
    if len(shown) < TOC_MIN_HEADINGS:
        return []
    entries: list[tuple[Heading, list[Heading]]] = []
    for heading in shown:
        if heading.level == 3 and entries and entries[-1][0].level == 2:
            entries[-1][1].append(heading)
        else:
            entries.append((heading, []))
    return entries


# -- structured data -------------------------------------------------------------------------


def blog_posting(
    post: Post, canonical: str, image: str, summary: Summary, series: SeriesBox | None = None
) -> dict[str, Any]:
    """schema.org BlogPosting for search engines (JSON-LD), all URLs absolute; a part of a
    series is ``isPartOf`` a CreativeWorkSeries, at its ``position``."""
    cfg = current_app.config
    site_title = cfg["BLOG_TITLE"]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "BlogPosting",
        "headline": post.title,
        "description": summary.excerpt,
        "datePublished": iso_date(post.date),
        "dateModified": iso_date(post.modified),
        "author": author_json_ld(post.author),
        "image": image,
        "publisher": {
            "@type": "Organization",
            "name": site_title,
            "url": absolute_url("pages.index"),
            "logo": {"@type": "ImageObject", "url": absolute_url("static", filename="favicon.svg")},
        },
        "mainEntityOfPage": {"@type": "WebPage", "@id": canonical},
        "url": canonical,
        "inLanguage": cfg["BLOG_LANGUAGE"],
        "wordCount": summary.words,
    }
    if post.tags:
        data["keywords"] = list(post.tags)
    if post.category:
        data["articleSection"] = post.category
    if series:
        data["isPartOf"] = {
            "@type": "CreativeWorkSeries",
            "name": series.name,
            "url": absolute_url("pages.series", series=series.slug),
        }
        data["position"] = series.part
    return data


@bp.route("/tags")
@cacheable
def tags() -> Response:
    """Every tag with its number of posts."""
    return html_page("pages/tags.html", tags=content.get_tags().values(), canonical=absolute_url("pages.tags"))


@bp.route("/tags/<tag>")
@cacheable
def tag(tag: str) -> Response:
    """Posts with one tag, newest first."""
    found = content.get_tag(tag)
    if found is None:
        abort(404, f"No posts are tagged {tag!r}.")
    name, posts = found
    to_canonical(tag=name)
    return html_page(
        "pages/tag.html",
        tag=name,
        posts=posts,
        images=post_images(posts),
        texts=post_texts(posts),
        canonical=absolute_url("pages.tag", tag=name),
    )


@bp.route("/series/<series>")
@cacheable
def series(series: str) -> Response:
    """One series' posts in reading order, with its feeds."""
    found = content.get_series(series)
    if found is None:
        abort(404, f"No series {series!r}.")
    to_canonical(series=found.slug)
    return html_page(
        "pages/series.html",
        series=found,
        posts=found.posts,
        images=post_images(found.posts),
        texts=post_texts(found.posts),
        canonical=absolute_url("pages.series", series=found.slug),
    )


@bp.route("/posts/<slug>/cover.svg")
@cacheable
def cover(slug: str) -> Response:
    """A generated cover (title on a gradient) for posts without a usable image."""
    found = content.get_post_or_404(slug)
    svg = render_placeholder(found.title, found.slug, current_app.config["BLOG_TITLE"])
    return Response(svg, mimetype="image/svg+xml")


@bp.route("/posts/<slug>/card.png")
@cacheable
def card(slug: str) -> Response:
    """The post's social card: a 1200x630 PNG of its title on its cover's gradient.

    Social sites reject SVG, so this is the ``og:image`` of posts without a usable image.
    """
    found = content.get_post_or_404(slug)
    png = render_card(
        found.title,
        found.slug,
        current_app.config["BLOG_TITLE"],
        byline=(found.author.name, display_date(found.date)),
    )
    return Response(png, mimetype="image/png")


@bp.route("/<path:filename>")
def public_file(filename: str) -> Response:
    """Files from BLOG_PUBLIC_DIR at the site root (``/assets/blog/x.jpg``), as Next.js serves public/."""
    return public.send_inside(current_app.config["BLOG_PUBLIC_DIR"], filename, max_age=3600)
