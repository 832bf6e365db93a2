"""The feeds (WebSub topics) a Visible makes, their public URLs, and their ETags now."""

from __future__ import annotations

import hashlib
import os
from urllib.parse import urlsplit

from flask import Flask

from ..pagecache.entry import PROVISIONAL
from ..posts.catalog import Visible
from ..posts.post import Post
from ..posts.store import ContentStore

#: Feed endpoints per scope (the feeds view's rules), one per format.
ENDPOINTS = {
    "site": ("feeds.rss", "feeds.atom", "feeds.json_feed"),
    "tag": ("feeds.tag_rss", "feeds.tag_atom", "feeds.tag_json"),
    "author": ("feeds.author_rss", "feeds.author_atom", "feeds.author_json"),
    "series": ("feeds.series_rss", "feeds.series_atom", "feeds.series_json"),
}

#: ("site", ""), ("tag", display name), ("author", slug) or ("series", slug).
Scope = tuple[str, str]


def scopes(view: Visible, limit: int) -> dict[Scope, tuple[Post, ...]]:
    """Every feed scope of ``view`` with the posts its feeds show. A ``Post`` is a new object
    whenever its file changes (the store never parses an unchanged file again), so comparing
    two of these tuples (by identity) tells which feeds may have changed."""
    found: dict[Scope, tuple[Post, ...]] = {("site", ""): tuple(view.posts[:limit])}
    for name, posts in view.tags.values():
        found[("tag", name)] = tuple(posts[:limit])
    for slug, (_, posts) in view.authors.items():
        found[("author", slug)] = tuple(posts[:limit])
    for slug, series in view.series.items():  # newest first, as the series' feeds show them
        newest = sorted(series.posts, key=lambda p: (p.timestamp, p.slug), reverse=True)
        found[("series", slug)] = tuple(newest[:limit])
    return found


def fingerprint(store: ContentStore, posts: tuple[Post, ...], public: str, build: str) -> str:
    """What decides a feed's body, without rendering it: the build (code, templates, output
    settings), the public files the posts use, and each post's file by name and content (so a
    restart, or another host with its own copy of the posts, gets the same one)."""
    digest = hashlib.blake2b(f"{build}\0{public}".encode(), digest_size=12)
    for post in posts:
        digest.update(f"\0{os.path.basename(post.source)}\0{store.digest(post)}".encode())
    return digest.hexdigest()


def scope_id(scope: Scope) -> str:
    return hashlib.blake2b(repr(scope).encode(), digest_size=12).hexdigest()


def paths(app: Flask, scope: Scope) -> list[str]:
    """The app-relative paths of ``scope``'s feeds (``/tags/python/feed.xml``), quoted as the
    feeds view quotes its own self links."""
    kind, value = scope
    names = {"tag": "tag", "author": "slug", "series": "series"}
    values = {names[kind]: value} if kind in names else {}
    adapter = app.url_map.bind("localhost", script_name="/")
    return [adapter.build(endpoint, values) for endpoint in ENDPOINTS[kind]]


def feed_urls(app: Flask, feeds: list[str]) -> list[str]:
    """Public URLs of ``feeds`` (app-relative paths, or public URLs under BLOG_SITE_URL),
    default the site's three; each must be one of the blog's feed routes.

    :raise ValueError: for anything else.
    """
    site = app.config["BLOG_SITE_URL"]
    if not feeds:
        return [public_url(app, path) for path in paths(app, ("site", ""))]
    adapter = app.url_map.bind("localhost", script_name="/")
    feed_endpoints = {endpoint for endpoints in ENDPOINTS.values() for endpoint in endpoints}
    urls = []
    for feed in feeds:
        path = feed[len(site) :] if site and feed.startswith(site + "/") else feed
        try:
            endpoint, _ = adapter.match(path, method="GET")
        except Exception:
            endpoint = None
        if endpoint not in feed_endpoints or len(feed) > 2000:
            raise ValueError(f"not a feed of this site: {feed[:200]!r}")
        urls.append(public_url(app, path))
    return urls


def public_url(app: Flask, path: str) -> str:
    """The feed's public URL: BLOG_SITE_URL (mount prefix included) + ``path``."""
    return app.config["BLOG_SITE_URL"] + path


def local_etag(app: Flask, path: str) -> str | None:
    """The ETag this worker serves for ``path`` now (identity encoding, without the provisional
    suffix), through the whole WSGI stack and the page cache; None when it is no feed (404)."""
    site = urlsplit(app.config["BLOG_SITE_URL"])
    response = app.test_client().get(
        app.config.get("SCRIPT_NAME", "") + path,
        base_url=f"{site.scheme}://{site.netloc}",
        headers={"Accept-Encoding": "identity"},
    )
    etag = response.headers.get("ETag") if response.status_code == 200 else None
    response.close()
    return plain_etag(etag) if etag else None


def plain_etag(value: str) -> str:
    """``"abc.p"`` -> ``abc``: the tag of the body, whatever the second it was sent in."""
    value = value.strip().removeprefix("W/").strip('"')
    return value.removesuffix(PROVISIONAL)
