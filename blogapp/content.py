"""The request-facing API over this app's ContentStore: visible posts, tags, aliases, errors.

Views, feeds and tools ask here; posts/store.py reads the folder, posts/catalog.py says what the posts add
up to. ``content_version()`` changes whenever what the site shows changes; the response
cache keys on it.
"""

from __future__ import annotations

import os

from flask import Flask
from flask import abort
from flask import current_app
from flask import has_request_context
from flask import request

from .posts.catalog import Series
from .posts.catalog import Visible
from .posts.fields import Author
from .posts.fields import PostError
from .posts.fields import nfc
from .posts.fields import slugify
from .posts.fields import tag_key
from .posts.post import Post
from .posts.store import ContentStore
from .text.documents import Documents
from .text.markup import RenderedBody
from .text.summary import Summary


def init_app(app: Flask) -> None:
    """Attach a ContentStore to ``app``."""
    store = app.extensions["blog_content"] = ContentStore(app.config)
    app.extensions["blog_documents"] = Documents(store.body, trust_html=app.config["BLOG_TRUST_HTML"])
    app.jinja_env.globals["author_slug_of"] = author_slug_of
    app.jinja_env.globals["tags_in_use"] = tags_in_use


def get_store(app: Flask | None = None) -> ContentStore:
    """``app``'s (default: the current app's) ContentStore, for tools that need hidden posts
    too, like ``check``."""
    return (app or current_app).extensions["blog_content"]


#: The WSGI environ key under which the page cache hands a request the Visible its key was made
#: from, so that the page is rendered from the same posts and the view is worked out once.
VIEW_KEY = "blogapp.view"


def current_view() -> Visible:
    """The posts visible now: the Visible the page cache handed this request, else the store's."""
    if has_request_context():
        handed = request.environ.get(VIEW_KEY)
        if handed is not None:
            return handed
    return get_store().current_view()


def get_posts() -> list[Post]:
    """Visible posts, newest first."""
    return current_view().posts


def get_post(slug: str) -> Post | None:
    """The visible post with this slug, or None."""
    return current_view().by_slug.get(nfc(slug))


def get_post_or_404(slug: str) -> Post:
    """The visible post with this slug.

    :raise NotFound: when no visible post has it (missing, invalid, draft or future).
    """
    post = get_post(slug)
    if post is None:
        abort(404, f"No post {slug!r}.")
    return post


def get_tag(tag: str) -> tuple[str, list[Post]] | None:
    """``(display name, posts)`` for a tag, matched as tags are (``fields.tag_key``: NFC, case
    and spacing do not matter)."""
    return current_view().tags.get(tag_key(tag))


def get_tags() -> dict[str, tuple[str, list[Post]]]:
    """Every tag with its posts, most used first."""
    return current_view().tags


def tags_in_use() -> bool:
    """True when a visible post has a tag: the navigation offers "Tags" only then.
    Templates have it as ``tags_in_use``."""
    return bool(current_view().tags)


def get_series(slug: str) -> Series | None:
    """The series whose slug is ``slugify(slug)`` (case, Latin accents and punctuation do not
    matter), with its visible posts in reading order, or None."""
    return current_view().series.get(slugify(slug))


def series_of(post: Post) -> Series | None:
    """The series ``post`` is part of, or None."""
    return current_view().series.get(slugify(post.series)) if post.series else None


def get_all_series() -> dict[str, Series]:
    """Every series shown, by slug."""
    return current_view().series


def get_author(slug: str) -> tuple[Author, list[Post]] | None:
    """``(author, posts newest first)`` for an author page's slug, matched as slugs are made
    (``slugify``: case, Latin accents and punctuation do not matter)."""
    return current_view().authors.get(slugify(slug))


def author_slug_of(author: Author) -> str:
    """The slug of ``author``'s page among the authors shown now ("" when they have none):
    the name's slug, with a suffix when another author's name gives the same one
    (``catalog.Visible.author_slugs``). Templates have it as ``author_slug_of``."""
    return current_view().author_slugs.get(author.key, "")


def get_authors() -> dict[str, tuple[Author, list[Post]]]:
    """Every author with a page, by slug, with their posts."""
    return current_view().authors


def alias_target(path: str) -> Post | None:
    """The post an old URL (``aliases:``) now lives at, if any."""
    return current_view().aliases.get(nfc(path.rstrip("/") or "/"))


def is_gone(path: str) -> bool:
    """True when BLOG_GONE_FILE lists ``path`` (or, for ``/posts/<slug>``, the slug)."""
    return nfc(path.rstrip("/") or "/") in get_store().gone()


def invalid_post_at(path: str) -> PostError | None:
    """For ``/posts/<slug>``: the error of an invalid file named ``<slug>.md`` (author preview)."""
    if not path.startswith("/posts/"):
        return None
    slug = nfc(path[len("/posts/") :])
    for error in invalid_posts():
        if nfc(os.path.basename(error.path)[:-3]) == slug:
            return error
    return None


def invalid_posts() -> list[PostError]:
    """Every post file that could not be used, sorted by path."""
    return get_store().snapshot().errors


def render(post: Post, *, for_page: bool = True) -> RenderedBody:
    """``post``'s body as HTML (its page's, or with ``for_page=False`` the feeds'), with
    BLOG_TRUST_HTML applied."""
    return current_app.extensions["blog_documents"].render(post, for_page=for_page)


def summary(post: Post) -> Summary:
    """What listings, feeds and meta tags say of ``post``: excerpt, words, reading time."""
    return current_app.extensions["blog_documents"].summary(post)


def body(post: Post) -> str:
    """``post``'s markdown body, read from its file once (text.documents)."""
    return current_app.extensions["blog_documents"].body(post)


def read_text(post: Post) -> str:
    """The post file's whole text as it is now ("" if it has gone), for ``check --strict``."""
    return get_store().text(post)


def content_version() -> str:
    """A short fingerprint that changes whenever what the site shows changes."""
    return current_view().version
