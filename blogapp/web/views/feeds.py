"""Feeds: RSS 2.0, Atom 1.0 and JSON Feed 1.1, for the whole site, per tag, per author and per series."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from typing import NamedTuple

from feedgen.feed import FeedGenerator
from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from lxml import etree
from markupsafe import Markup
from werkzeug.wrappers import Response

from ... import content
from ...images.feedimages import feed_image
from ...pagecache.middleware import cacheable
from ...posts.fields import xml_safe
from ...posts.post import Post
from ...posts.post import newest_change
from ..templating import absolute_path
from ..templating import absolute_url
from ..templating import absolutize_urls
from ..templating import site_base
from .common import share_image_url
from .common import to_canonical

bp = Blueprint("feeds", __name__)

ATOM_NS = "http://www.w3.org/2005/Atom"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
JSON_TYPE = "application/feed+json; charset=utf-8"


def xml_text(value: str) -> str:
    """Drop characters that XML 1.0 cannot carry (posts.py cleans front matter already; this
    guards whatever else reaches a feed: ids, rendered bodies, settings)."""
    return xml_safe(value)


@dataclass(frozen=True)
class Scope:
    """What one feed covers: the whole site, one tag, one author or one series."""

    kind: str  #: "site", "tag", "author" or "series"
    name: str | None  #: the tag's, author's or series' display name
    url_values: dict[str, str]  #: the feed's and the listing page's URL values
    posts: list[Post]  #: the newest BLOG_FEED_LIMIT of them


#: Feed endpoints by scope and format.
ENDPOINTS = {
    "site": {"rss": "feeds.rss", "atom": "feeds.atom", "json": "feeds.json_feed"},
    "tag": {"rss": "feeds.tag_rss", "atom": "feeds.tag_atom", "json": "feeds.tag_json"},
    "author": {"rss": "feeds.author_rss", "atom": "feeds.author_atom", "json": "feeds.author_json"},
    "series": {"rss": "feeds.series_rss", "atom": "feeds.series_atom", "json": "feeds.series_json"},
}


def _scope(tag: str | None, slug: str | None, series: str | None = None) -> Scope:
    """The site's, one tag's, one author's or one series' newest BLOG_FEED_LIMIT posts.

    :raise NotFound: for an unknown tag, author or series.
    :raise HTTPException: a 301 for a tag, author or series spelled another way
        (``common.to_canonical``).
    """
    limit = current_app.config["BLOG_FEED_LIMIT"]
    if series is not None:
        found_series = content.get_series(series)
        if found_series is None:
            abort(404, f"No series {series!r}.")
        to_canonical(series=found_series.slug)
        newest = sorted(found_series.posts, key=lambda p: (p.timestamp, p.slug), reverse=True)
        return Scope("series", found_series.name, {"series": found_series.slug}, newest[:limit])
    if tag is not None:
        found = content.get_tag(tag)
        if found is None:
            abort(404, f"No posts are tagged {tag!r}.")
        to_canonical(tag=found[0])
        return Scope("tag", found[0], {"tag": found[0]}, found[1][:limit])
    if slug is not None:
        by = content.get_author(slug)
        if by is None:
            abort(404, f"No author {slug!r}.")
        slug = content.author_slug_of(by[0])
        to_canonical(slug=slug)
        return Scope("author", by[0].name, {"slug": slug}, by[1][:limit])
    return Scope("site", None, {}, content.get_posts()[:limit])


def entry_id(post: Post) -> str:
    """Stable id: the front matter's ``id:`` if given (a renamed post keeps it), else the permalink."""
    return xml_text(str(post.meta.get("id") or absolute_url("pages.post", slug=post.slug)))


def entry_html(post: Post) -> str:
    """The post's sanitized HTML with every relative href/src made absolute, opening with its
    cover (the 1200-px variant, ``_cover_file``) and its subtitle (what a leading heading
    repeating the title added), as the page does."""
    rendered = content.render(post, for_page=False)
    html = rendered.html
    if rendered.subtitle:
        html = Markup("<p><strong>{}</strong></p>\n").format(rendered.subtitle) + html
    cover = _cover_file(post)
    if cover:
        size = Markup(' width="{}" height="{}"').format(cover.width, cover.height) if cover.width else ""
        html = Markup('<img src="{}" alt=""{}>\n').format(cover.url, size) + html
    elif post.cover_image and post.cover_image.startswith(("https://", "http://")):
        html = Markup('<img src="{}" alt="">\n').format(post.cover_image) + html  # a remote cover: as it is
    return xml_text(absolutize_urls(str(html), absolute_url("pages.post", slug=post.slug)))


def _feed_meta(scope: Scope, fmt: str) -> dict[str, str]:
    cfg = current_app.config
    site, name = cfg["BLOG_TITLE"], scope.name
    meta = {"title": f"{site}: {name}" if name else site, "author": cfg["BLOG_AUTHOR"]}
    if scope.kind == "tag":
        meta["description"] = f"Posts tagged {name} on {site}."
        meta["home"] = absolute_url("pages.tag", **scope.url_values)
    elif scope.kind == "author":
        meta["description"] = f"Posts by {name} on {site}."
        meta["home"] = absolute_url("authors.author", **scope.url_values)
        meta["author"] = name or meta["author"]
    elif scope.kind == "series":
        meta["description"] = f"The series {name} on {site}."
        meta["home"] = absolute_url("pages.series", **scope.url_values)
    else:
        meta["description"] = cfg["BLOG_DESCRIPTION"]
        meta["home"] = site_base() + "/"
    meta["self"] = absolute_url(ENDPOINTS[scope.kind][fmt], **scope.url_values)
    return meta


def _generator(scope: Scope, fmt: str) -> FeedGenerator:
    meta = _feed_meta(scope, fmt)
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)
    fg.id(meta["home"])
    fg.title(xml_text(meta["title"]))
    fg.description(xml_text(meta["description"]))
    fg.subtitle(xml_text(meta["description"]))
    # feedgen takes the RSS channel <link> from the *last* link: the site's page, not the feed.
    for hub in current_app.config["BLOG_WEBSUB_HUBS"]:  # WebSub discovery (RSS: _add_rss_hubs)
        fg.link(href=hub, rel="hub")
    fg.link(href=meta["self"], rel="self")
    fg.link(href=meta["home"], rel="alternate", type="text/html")
    fg.language(current_app.config["BLOG_LANGUAGE"])
    fg.author({"name": xml_text(meta["author"])})
    fg.generator("AURA blog (feedgen)")
    fg.updated(newest_change(scope.posts))
    fg.lastBuildDate(newest_change(scope.posts))
    for post in scope.posts:
        _add_entry(fg, post)
    return fg


def _add_entry(fg: FeedGenerator, post: Post) -> None:
    link = absolute_url("pages.post", slug=post.slug)
    fe = fg.add_entry(order="append")
    fe.id(entry_id(post))
    fe.guid(entry_id(post), permalink=entry_id(post) == link)
    fe.title(xml_text(post.title))
    fe.link(href=link, rel="alternate", type="text/html")
    excerpt = xml_text(content.summary(post).excerpt)
    fe.summary(excerpt)
    fe.description(excerpt)
    fe.content(entry_html(post), type="html")
    fe.author({"name": xml_text(post.author.name)})
    fe.dc.dc_creator(xml_text(post.author.name))
    fe.published(post.date)
    fe.updated(post.modified)
    for tag in post.tags:
        fe.category(term=xml_text(tag), label=xml_text(tag))
    image = _cover_file(post)
    if image:
        fe.enclosure(url=image.url, length=str(image.length), type=image.mimetype)


class FeedCover(NamedTuple):
    """A post's cover as a feed names it: absolute URL, bytes, type and pixel size."""

    url: str
    length: int
    mimetype: str
    width: int | None
    height: int | None


def _cover_file(post: Post) -> FeedCover | None:
    """The 1200-px variant of the post's local cover (else og image), or the file itself when
    it needs none (``images.feedimages``): for the entry's first ``<img>``, its enclosure and
    JSON Feed ``image``. Worked out once per post and request."""
    known = g.setdefault("feed_covers", {})
    if post not in known:
        found = None
        for candidate in (post.cover_image, post.og_image):
            image = feed_image(candidate)
            if image is not None:
                found = FeedCover(absolute_path(image.path), image.length, image.mimetype, image.width, image.height)
                break
        known[post] = found
    return known[post]


def _respond(body: bytes, mimetype: str, self_url: str) -> Response:
    # No Last-Modified from the entries: an edit without `updated:` or an older post added
    # changes the feed but not the newest date in it. The page cache sends the site's.
    response = Response(body, content_type=mimetype)
    hubs = current_app.config["BLOG_WEBSUB_HUBS"]
    if hubs:  # WebSub §4: discovery in the HTTP header, whatever the format
        links = [f'<{hub}>; rel="hub"' for hub in hubs] + [f'<{self_url}>; rel="self"']
        response.headers["Link"] = ", ".join(links)
    return response


def _add_rss_hubs(xml: bytes) -> bytes:
    """Add ``<atom:link rel="hub">`` per BLOG_WEBSUB_HUBS next to the channel's self link
    (feedgen writes only the self one into RSS)."""
    hubs = current_app.config["BLOG_WEBSUB_HUBS"]
    if not hubs:
        return xml
    root = etree.fromstring(xml)
    channel = root.find("channel")
    self_link = channel.find(f"{{{ATOM_NS}}}link[@rel='self']")
    at = list(channel).index(self_link) + 1
    for offset, hub in enumerate(hubs):
        link = etree.Element(f"{{{ATOM_NS}}}link", href=hub, rel="hub")
        link.tail = self_link.tail
        channel.insert(at + offset, link)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def rss(tag: str | None = None, slug: str | None = None, series: str | None = None) -> Response:
    """RSS 2.0 with the full post in content:encoded."""
    scope = _scope(tag, slug, series)
    fg = _generator(scope, "rss")
    return _respond(_add_rss_hubs(fg.rss_str(pretty=True)), RSS_TYPE, _feed_meta(scope, "rss")["self"])


def atom(tag: str | None = None, slug: str | None = None, series: str | None = None) -> Response:
    """Atom 1.0 with the full post as html content."""
    scope = _scope(tag, slug, series)
    fg = _generator(scope, "atom")
    body = _fix_atom_links(fg.atom_str(pretty=True), scope.posts)
    return _respond(body, ATOM_TYPE, _feed_meta(scope, "atom")["self"])


def _fix_atom_links(xml: bytes, posts: list[Post]) -> bytes:
    """Give entry links their ``rel``, ``type`` and ``length``.

    feedgen 1.0.0 drops them on entries, which would make a cover enclosure a second
    alternate link; entries come out in ``posts`` order, one permalink then the cover.
    """
    root = etree.fromstring(xml)
    for entry, post in zip(root.iterfind(f"{{{ATOM_NS}}}entry"), posts, strict=True):
        links = entry.findall(f"{{{ATOM_NS}}}link")
        links[0].attrib.update({"rel": "alternate", "type": "text/html"})
        cover = _cover_file(post)
        if cover and len(links) > 1:
            links[1].attrib.update({"rel": "enclosure", "type": cover.mimetype, "length": str(cover.length)})
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def json_feed(tag: str | None = None, slug: str | None = None, series: str | None = None) -> Response:
    """JSON Feed 1.1."""
    scope = _scope(tag, slug, series)
    meta = _feed_meta(scope, "json")
    feed = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": meta["title"],
        "home_page_url": meta["home"],
        "feed_url": meta["self"],
        "description": meta["description"],
        "language": current_app.config["BLOG_LANGUAGE"],
        "authors": [{"name": meta["author"]}],
        "items": [_json_item(post) for post in scope.posts],
    }
    if current_app.config["BLOG_WEBSUB_HUBS"]:  # JSON Feed 1.1's WebSub discovery
        feed["hubs"] = [{"type": "WebSub", "url": hub} for hub in current_app.config["BLOG_WEBSUB_HUBS"]]
    body = json.dumps(feed, ensure_ascii=False, indent=2).encode("utf-8")
    return _respond(body, JSON_TYPE, meta["self"])


def _json_item(post: Post) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": entry_id(post),
        "url": absolute_url("pages.post", slug=post.slug),
        "title": post.title,
        "content_html": entry_html(post),
        "summary": content.summary(post).excerpt,
        "image": cover.url if (cover := _cover_file(post)) else share_image_url(post),
        "date_published": post.date.isoformat(),
        "date_modified": post.modified.isoformat(),
        "authors": [{"name": post.author.name}],
        "tags": list(post.tags),
    }
    return item


for _rule, _endpoint, _fn in (
    ("/feed.xml", "rss", rss),
    ("/atom.xml", "atom", atom),
    ("/feed.json", "json_feed", json_feed),
    ("/tags/<tag>/feed.xml", "tag_rss", rss),
    ("/tags/<tag>/atom.xml", "tag_atom", atom),
    ("/tags/<tag>/feed.json", "tag_json", json_feed),
    ("/authors/<slug>/feed.xml", "author_rss", rss),
    ("/authors/<slug>/atom.xml", "author_atom", atom),
    ("/authors/<slug>/feed.json", "author_json", json_feed),
    ("/series/<series>/feed.xml", "series_rss", rss),
    ("/series/<series>/atom.xml", "series_atom", atom),
    ("/series/<series>/feed.json", "series_json", json_feed),
):
    bp.add_url_rule(_rule, _endpoint, cacheable(_fn))
