"""Finding posts: the archive (every post by year and month) and full-text search."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import request
from flask import url_for
from werkzeug.wrappers import Response

from ... import content
from ...pagecache.middleware import cacheable
from ...posts.post import Post
from ...search import fulltext as fts
from ..templating import absolute_url
from .common import html_page

bp = Blueprint("discover", __name__)

#: Highest ``page`` a search answers: the first 1,000 results (beyond: 404, before the index
#: is asked). Nobody reads further, and each page is a new URL that a crawler or a script
#: could make a worker render.
MAX_SEARCH_PAGE = 50


@dataclass(frozen=True)
class Month:
    id: str  # "2024-12", for the heading's anchor
    name: str  # "December"
    posts: list[Post]


@dataclass(frozen=True)
class Year:
    year: int
    months: list[Month]

    @property
    def count(self) -> int:
        return sum(len(month.posts) for month in self.months)


def group_by_month(posts: list[Post], timezone: ZoneInfo) -> list[Year]:
    """Posts (newest first) grouped by year, then month, in the site's time zone."""

    def local(post: Post) -> dt.datetime:
        return post.date.astimezone(timezone)

    years = []
    for year, in_year in itertools.groupby(posts, key=lambda p: local(p).year):
        months = [
            Month(f"{year}-{month:02d}", f"{dt.date(year, month, 1):%B}", list(in_month))
            for month, in_month in itertools.groupby(in_year, key=lambda p: local(p).month)
        ]
        years.append(Year(year, months))
    return years


@bp.route("/archive")
@cacheable
def archive() -> Response:
    """Every visible post, newest first, under a heading per year and per month."""
    posts = content.get_posts()
    timezone = ZoneInfo(current_app.config["BLOG_TIMEZONE"])
    return html_page(
        "pages/archive.html",
        years=group_by_month(posts, timezone),
        total=len(posts),
        canonical=absolute_url("discover.archive"),
    )


@bp.route("/search")
@cacheable(query=("q", "page"), shared=False)
def search() -> Response:
    """Full-text search, as a plain GET form: ``/search?q=words&page=2``.

    Cached whole like every page (PageCache keys on ``q``, ``page`` and the content version;
    other parameters never reach this view), in each worker's memory only: every query is a
    new URL, so a shared backend would fill with them. The query is cleaned and capped
    before use; whatever it contains is searched for as words, never as FTS5 syntax.
    """
    query = fts.clean_query(request.args.get("q"))
    page = request.args.get("page", 1, type=int)
    if page < 1 or page > MAX_SEARCH_PAGE:
        abort(404, f"There is no page {page}.")
    results = fts.search(query, page) if query else None
    pages = min(results.pages, MAX_SEARCH_PAGE) if results else 0
    if page > max(1, pages):
        abort(404, f"There is no page {page}.")
    return html_page(
        "pages/search.html",
        query=query,
        results=results,
        page=page,
        pages=pages,
        first_number=(page - 1) * fts.PER_PAGE + 1,
        prev_url=_search_url(query, page - 1) if page > 1 else None,
        next_url=_search_url(query, page + 1) if page < pages else None,
        max_query=fts.MAX_QUERY_CHARS,
        max_shown=MAX_SEARCH_PAGE * fts.PER_PAGE,
        canonical=absolute_url("discover.search", **_search_args(query, page)),
    )


def _search_args(query: str, page: int) -> dict[str, str | int]:
    args: dict[str, str | int] = {"q": query} if query else {}
    if page > 1:
        args["page"] = page
    return args


def _search_url(query: str, page: int) -> str:
    return url_for("discover.search", **_search_args(query, page))
