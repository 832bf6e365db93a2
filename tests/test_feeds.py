"""Feeds: RSS 2.0 (/feed.xml), Atom 1.0 (/atom.xml) and JSON Feed 1.1 (/feed.json), site-wide and per tag.

Every format is read twice: raw (lxml / json, to see exactly what was sent) and, for the XML
ones, through feedparser as a feed reader would. The golden-file tests at the end pin the whole
output over the fixture posts; regenerate them with

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_feeds.py -k golden
"""

from __future__ import annotations

import calendar
import datetime as dt
import email.utils
import html
import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from urllib.parse import urljoin

import feedparser
import pytest
from flask import url_for
from lxml import etree
from werkzeug.http import http_date

from blogapp import content
from blogapp import create_app
from blogapp.pagecache import entry as cacheentry
from blogapp.text import documents
from blogapp.text.markup import render_markdown

from .conftest import DATA
from .conftest import HIDDEN_SLUGS
from .conftest import SITE_URL
from .conftest import post_text
from .support import wait_for

EXPECTED = Path(__file__).parent / "expected"
FORMATS = ("rss", "atom", "json")
PATHS = {"rss": "feed.xml", "atom": "atom.xml", "json": "feed.json"}
TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
#: Namespace and spec URIs that appear in every feed and are not links of ours.
SPEC_URIS = ("http://www.w3.org/", "http://purl.org/", "https://jsonfeed.org/", "http://www.rssboard.org/")
#: Titles and slugs of fixture posts that must never reach a feed (draft, preview, future,
#: invalid, or not a post file at all).
HIDDEN_TITLES = (
    "A Draft",
    "A Preview",
    "From The Future",
    "Date Not A Date",
    "Excerpt With Unescaped Quotes",
    "Inside Subfolder",
    "Backup",
    "Not Markdown",
)
NEWEST = "microseconds-no-offset"  # fixture dated 2024-12-24T11:32:48.268521 (UTC), the newest visible post


# --------------------------------------------------------------------------- reading feeds


@dataclass
class Entry:
    id: str
    link: str
    title: str
    summary: str
    content: str
    published_raw: str
    published: dt.datetime
    updated_raw: str | None
    author: str
    tags: list[str]
    image: str | None
    enclosure: dict[str, str] | None = None
    guid_is_permalink: str | None = None


@dataclass
class Feed:
    fmt: str
    body: bytes
    title: str
    description: str
    home: str
    self_url: str
    language: str
    updated_raw: str | None
    entries: list[Entry] = field(default_factory=list)
    parsed: feedparser.FeedParserDict | None = None


def parse_rfc822(value: str) -> dt.datetime:
    parsed = email.utils.parsedate_to_datetime(value)
    assert parsed.tzinfo is not None, value
    return parsed


def parse_rfc3339(value: str) -> dt.datetime:
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", value), value
    return dt.datetime.fromisoformat(value)


def read(client, url: str, **kwargs) -> Feed:
    """GET a feed and read it in whatever format it is, checking it parses."""
    response = client.get(url, **kwargs)
    assert response.status_code == 200, (url, response.status_code)
    return parse_feed(url, response.data)


def parse_feed(url: str, body: bytes) -> Feed:
    """The feed served at ``url`` read from its bytes, checking it parses."""
    if url.endswith(".json"):
        return _read_json(body)
    root = etree.fromstring(body)  # well-formed XML or an exception
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    feed = _read_rss(root, body) if root.tag == "rss" else _read_atom(root, body)
    feed.parsed = parsed
    _check_reader_view(feed)
    return feed


def _text(element, path: str) -> str | None:
    found = element.find(path, NS)
    return None if found is None else (found.text or "")


def _read_rss(root, body: bytes) -> Feed:
    assert root.get("version") == "2.0"
    channel = root.find("channel")
    self_link = channel.find("atom:link[@rel='self']", NS)
    feed = Feed(
        fmt="rss",
        body=body,
        title=_text(channel, "title"),
        description=_text(channel, "description"),
        home=_text(channel, "link"),
        self_url=self_link.get("href") if self_link is not None else "",
        language=_text(channel, "language"),
        updated_raw=_text(channel, "lastBuildDate"),
    )
    for item in channel.findall("item"):
        guid = item.find("guid")
        enclosure = item.find("enclosure")
        feed.entries.append(
            Entry(
                id=guid.text,
                guid_is_permalink=guid.get("isPermaLink"),
                link=_text(item, "link"),
                title=_text(item, "title"),
                summary=_text(item, "description"),
                content=_text(item, "content:encoded"),
                published_raw=_text(item, "pubDate"),
                published=parse_rfc822(_text(item, "pubDate")),
                updated_raw=None,
                author=_text(item, "dc:creator"),
                tags=[c.text for c in item.findall("category")],
                image=enclosure.get("url") if enclosure is not None else None,
                enclosure=dict(enclosure.attrib) if enclosure is not None else None,
            )
        )
    return feed


def _read_atom(root, body: bytes) -> Feed:
    assert root.tag == f"{{{NS['atom']}}}feed"

    def link(element, rel):
        found = element.find(f"atom:link[@rel='{rel}']", NS)
        return None if found is None else found

    feed = Feed(
        fmt="atom",
        body=body,
        title=_text(root, "atom:title"),
        description=_text(root, "atom:subtitle"),
        home=link(root, "alternate").get("href"),
        self_url=link(root, "self").get("href"),
        language=root.get("{http://www.w3.org/XML/1998/namespace}lang"),
        updated_raw=_text(root, "atom:updated"),
    )
    for item in root.findall("atom:entry", NS):
        enclosure = link(item, "enclosure")
        content_el = item.find("atom:content", NS)
        assert content_el.get("type") == "html"
        feed.entries.append(
            Entry(
                id=_text(item, "atom:id"),
                link=link(item, "alternate").get("href"),
                title=_text(item, "atom:title"),
                summary=_text(item, "atom:summary"),
                content=content_el.text,
                published_raw=_text(item, "atom:published"),
                published=parse_rfc3339(_text(item, "atom:published")),
                updated_raw=_text(item, "atom:updated"),
                author=_text(item, "atom:author/atom:name"),
                tags=[c.get("term") for c in item.findall("atom:category", NS)],
                image=enclosure.get("href") if enclosure is not None else None,
                enclosure=dict(enclosure.attrib) if enclosure is not None else None,
            )
        )
    return feed


def _read_json(body: bytes) -> Feed:
    data = json.loads(body.decode("utf-8"))
    assert data["version"] == "https://jsonfeed.org/version/1.1"
    assert isinstance(data["items"], list)
    assert data["authors"] and all(a["name"] for a in data["authors"])
    feed = Feed(
        fmt="json",
        body=body,
        title=data["title"],
        description=data["description"],
        home=data["home_page_url"],
        self_url=data["feed_url"],
        language=data["language"],
        updated_raw=None,  # JSON Feed has no feed-level date
    )
    for item in data["items"]:
        for key in ("id", "url", "title", "content_html", "summary", "date_published"):
            assert isinstance(item[key], str), key
        feed.entries.append(
            Entry(
                id=item["id"],
                link=item["url"],
                title=item["title"],
                summary=item["summary"],
                content=item["content_html"],
                published_raw=item["date_published"],
                published=parse_rfc3339(item["date_published"]),
                updated_raw=item.get("date_modified"),
                author=item["authors"][0]["name"],
                tags=item.get("tags", []),
                image=item.get("image"),
            )
        )
    return feed


def _check_reader_view(feed: Feed) -> None:
    """feedparser (what most readers use) must see the same entries, links and dates."""
    parsed = feed.parsed
    assert parsed.version == ("rss20" if feed.fmt == "rss" else "atom10")
    assert parsed.feed.title == feed.title
    assert parsed.feed.link == feed.home
    assert len(parsed.entries) == len(feed.entries)
    for seen, entry in zip(parsed.entries, feed.entries, strict=True):
        assert seen.id == entry.id
        assert seen.link == entry.link
        assert seen.title == entry.title
        assert seen.published_parsed is not None
        assert calendar.timegm(seen.published_parsed) == int(entry.published.timestamp())
        assert seen.summary == entry.summary or html.unescape(seen.summary) == entry.summary


def visible(app, tag: str | None = None) -> list:
    """The app's own list of visible posts (optionally with ``tag``), newest first."""
    with app.test_request_context():
        posts = content.get_posts()
    if tag is not None:
        posts = [p for p in posts if tag.casefold() in (t.casefold() for t in p.tags)]
    return posts


def permalink(app, slug: str, base: str = SITE_URL) -> str:
    with app.test_request_context():
        return base + url_for("pages.post", slug=slug)


def urls_in(body: bytes) -> list[str]:
    """Every http(s) URL in a feed body, namespace URIs aside (HTML in XML is escaped once)."""
    text = html.unescape(body.decode("utf-8"))
    found = re.findall(r"""https?://[^\s"'<>\\]+""", text)
    return [u for u in found if not u.startswith(SPEC_URIS)]


def attr_urls(fragment: str) -> list[str]:
    return [html.unescape(v) for v in re.findall(r'\s(?:href|src)="([^"]*)"', fragment)]


def blank_attrs(fragment: str) -> str:
    """HTML with every href/src value blanked, to compare markup that only differs in URLs."""
    return re.sub(r'(\s(?:href|src)=)"[^"]*"', r'\1""', fragment).replace(" />", ">").replace("/>", ">")


def feed_urls(fmt: str, tag: str | None = None) -> str:
    return f"/tags/{tag}/{PATHS[fmt]}" if tag else f"/{PATHS[fmt]}"


# --------------------------------------------------------------------------- entries


@pytest.mark.parametrize("fmt", FORMATS)
def test_entries_are_the_visible_posts_newest_first(site_app, site_client, fmt):
    feed = read(site_client, feed_urls(fmt))
    posts = visible(site_app)
    assert len(posts) == 18  # the fixture set, hidden and invalid posts left out
    assert [e.link for e in feed.entries] == [permalink(site_app, p.slug) for p in posts]
    assert [e.title for e in feed.entries] == [p.title for p in posts]
    assert [e.id for e in feed.entries] == [e.link for e in feed.entries]  # default id: the permalink
    if fmt == "rss":
        assert {e.guid_is_permalink for e in feed.entries} == {"true"}


@pytest.mark.parametrize("fmt", FORMATS)
def test_entries_carry_excerpt_author_tags_and_dates(site_app, site_client, fmt):
    feed = read(site_client, feed_urls(fmt))
    for entry, post in zip(feed.entries, visible(site_app), strict=True):
        with site_app.app_context():
            assert entry.summary == content.summary(post).excerpt
        assert entry.author == post.author.name
        assert entry.tags == list(post.tags)
        assert entry.published == (post.date.replace(microsecond=0) if fmt == "rss" else post.date)
    by_title = {e.title: e for e in feed.entries}
    assert by_title["Hello World"].summary == "A first post with bold words."  # markdown made plain
    assert by_title["Hello World"].author == "Ada Lovelace"
    assert by_title["Plain Name Author"].author == "Grace Hopper"
    assert by_title["Tags As String"].tags == ["python", "Web Dev"]
    assert by_title["Missing Cover"].author == "Nobody"
    assert by_title["UTF-8 BOM"].author == "AURA Digital Labs"  # the site author as fallback


@pytest.mark.parametrize("fmt", FORMATS)
def test_dates_keep_their_time_zone(site_client, fmt):
    """Published dates in RFC 822 (RSS) or RFC 3339 (Atom, JSON), with the post's own offset."""
    by_title = {e.title: e for e in read(site_client, feed_urls(fmt)).entries}
    plain = by_title["Plain Name Author"]  # date: 2023-05-01T12:00:00+02:00
    assert plain.published == dt.datetime(2023, 5, 1, 10, 0, tzinfo=dt.UTC)
    assert plain.published.utcoffset() == dt.timedelta(hours=2)
    expected = {
        "rss": "Mon, 01 May 2023 12:00:00 +0200",
        "atom": "2023-05-01T12:00:00+02:00",
        "json": "2023-05-01T12:00:00+02:00",
    }
    assert plain.published_raw == expected[fmt]
    # A date-time without offset is in BLOG_TIMEZONE (UTC here), and says so.
    newest = by_title["Microseconds No Offset"]
    assert newest.published == dt.datetime(2024, 12, 24, 11, 32, 48, 268521 if fmt != "rss" else 0, tzinfo=dt.UTC)
    assert newest.published_raw.endswith("+0000" if fmt == "rss" else "+00:00")


def test_dates_follow_blog_timezone_for_naive_dates(make_site_app):
    client = make_site_app(BLOG_TIMEZONE="America/New_York").test_client()
    entry = next(e for e in read(client, "/atom.xml").entries if e.title == "Microseconds No Offset")
    assert entry.published_raw == "2024-12-24T11:32:48.268521-05:00"
    rss = next(e for e in read(client, "/feed.xml").entries if e.title == "Microseconds No Offset")
    assert rss.published_raw == "Tue, 24 Dec 2024 11:32:48 -0500"


@pytest.mark.parametrize("fmt", FORMATS)
def test_content_is_the_full_post_html_with_absolute_urls(site_app, site_client, fmt):
    feed = read(site_client, feed_urls(fmt))
    for entry, post in zip(feed.entries, visible(site_app), strict=True):
        body = content.get_store(site_app).body(post)
        shown = re.sub(r"^<img [^>]*>\n", "", entry.content)  # the cover opens it (test_feed_covers.py)
        assert blank_attrs(shown) == blank_attrs(str(render_markdown(body))), post.slug
        for url in attr_urls(entry.content):
            assert url.startswith(SITE_URL + "/") or url.startswith(("https://", "http://", "mailto:")), url
    hello = next(e for e in feed.entries if e.title == "Hello World")
    assert f'href="{SITE_URL}/posts/tags-as-list"' in hello.content
    assert f'src="{SITE_URL}/assets/blog/cover.png"' in hello.content
    assert "Hello body text" in hello.content


def test_a_post_is_rendered_once_for_every_feed_that_lists_it(config, write_post, monkeypatch):
    """A post's feed HTML is the same in the site's feeds and its tags' (three formats each):
    it is rendered once, and again only when its file changes (a new Post)."""
    rendered: list[str] = []
    real = documents.render_body
    monkeypatch.setattr(documents, "render_body", lambda text, **kw: rendered.append(text) or real(text, **kw))
    write_post("shared.md", post_text("Shared", body="Shared body text.", tags="[python, flask]"))
    client = create_app({**config, "BLOG_SITE_URL": SITE_URL}).test_client()
    urls = [feed_urls(fmt, tag) for fmt in FORMATS for tag in (None, "python", "flask")]
    for url in urls:
        assert "Shared body text." in client.get(url).get_data(as_text=True), url
    assert sum("Shared body text." in text for text in rendered) == 1
    write_post("shared.md", post_text("Shared", body="Edited body text.", tags="[python, flask]"))
    for url in urls:
        shown = client.get(url).get_data(as_text=True)
        assert "Edited body text." in shown and "Shared body text." not in shown, url
    assert sum("Edited body text." in text for text in rendered) == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_relative_urls_in_content_become_absolute(config, write_post, fmt):
    """Root-relative paths go on BLOG_SITE_URL (prefix kept once); others resolve on the post URL."""
    body = (
        "![root](/assets/blog/cover.png) ![rel](img.png) [frag](#fn1) [up](../posts/hello-world) "
        "[other](https://other.test/x?a=1&b=2) [mail](mailto:ada@example.com) [proto](//cdn.test/x.js)\n\n"
        "A note.[^1]\n\n[^1]: The footnote.\n"
    )
    write_post("urls.md", post_text("Urls", body=body))
    client = create_app({**config, "BLOG_SITE_URL": "https://example.com/blog"}).test_client()
    feed = read(client, feed_urls(fmt), base_url="http://evil.test/blog/")
    entry = next(e for e in feed.entries if e.title == "Urls")
    page = "https://example.com/blog/posts/urls"
    urls = attr_urls(entry.content)
    assert "https://example.com/blog/assets/blog/cover.png" in urls
    assert "https://example.com/blog/posts/img.png" in urls  # img.png, resolved as a browser would
    assert page + "#fn1" in urls
    assert "https://example.com/blog/posts/hello-world" in urls
    assert "https://other.test/x?a=1&b=2" in urls
    assert "mailto:ada@example.com" in urls
    footnote_links = [u for u in urls if "#" in u and not u.endswith("#fn1")]
    assert footnote_links and all(u.startswith(page + "#") for u in footnote_links)
    for url in urls:
        assert url.startswith(("https://", "mailto:")), url
        assert "evil.test" not in url and "/blog/blog" not in url


@pytest.mark.parametrize("fmt", FORMATS)
def test_id_override_is_kept_when_the_post_is_renamed(make_site_app, posts_dir, write_post, fmt):
    stable = "tag:blog.example.com,2024:first-post"
    write_post("first-name.md", post_text("Renamed", id=f'"{stable}"', updated='"2024-06-01T08:00:00+02:00"'))
    client = make_site_app().test_client()
    before = next(e for e in read(client, feed_urls(fmt)).entries if e.title == "Renamed")
    assert before.id == stable
    assert before.link == f"{SITE_URL}/posts/first-name"
    if fmt == "rss":
        assert before.guid_is_permalink == "false"

    (posts_dir / "first-name.md").rename(posts_dir / "second-name.md")
    restarted = make_site_app().test_client()
    after = next(e for e in read(restarted, feed_urls(fmt)).entries if e.title == "Renamed")
    assert after.id == stable
    assert after.link == f"{SITE_URL}/posts/second-name"


#: Run by ``python -c``: GET each URL of argv[2:] from a new app over the JSON configuration
#: in argv[1]; print {url: body} as JSON.
SERVE_ONCE = """
import json, sys
from blogapp import create_app
client = create_app(json.loads(sys.argv[1])).test_client()
bodies = {}
for url in sys.argv[2:]:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    bodies[url] = response.get_data(as_text=True)
print(json.dumps(bodies))
"""


def ids_from_a_new_process(config: dict, urls: list[str], hash_seed: str) -> dict[str, list[str]]:
    """The entry ids of the feeds at ``urls`` as a new Python process with PYTHONHASHSEED=``hash_seed`` serves them."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env["PYTHONHASHSEED"] = hash_seed
    cmd = [sys.executable, "-c", SERVE_ONCE, json.dumps({**config, "BLOG_SITE_URL": SITE_URL}), *urls]
    out = subprocess.run(cmd, cwd=DATA.parent.parent, env=env, capture_output=True, check=True, timeout=120)
    bodies = json.loads(out.stdout)
    return {url: [e.id for e in parse_feed(url, bodies[url].encode()).entries] for url in urls}


def test_ids_are_stable_across_restarts(config):
    """Two processes with different string hashes (as two starts of the server have) give the
    same ids in every format: an id built from ``hash()`` or a set's order would differ here."""
    urls = [feed_urls(fmt) for fmt in FORMATS]
    first = ids_from_a_new_process(config, urls, "1")
    for url in urls:
        assert len(first[url]) == 18 and all(first[url]), url
    assert ids_from_a_new_process(config, urls, "2") == first


@pytest.mark.parametrize("field_name", ["updated", "lastModified"])
def test_updated_date_appears_in_atom_and_json(make_site_app, write_post, field_name):
    write_post(
        "edited.md", post_text("Edited", date="2024-05-01T10:00:00Z", **{field_name: '"2025-01-02T03:04:05+01:00"'})
    )
    client = make_site_app().test_client()
    atom = next(e for e in read(client, "/atom.xml").entries if e.title == "Edited")
    assert atom.published_raw == "2024-05-01T10:00:00+00:00"
    assert atom.updated_raw == "2025-01-02T03:04:05+01:00"
    seen = next(e for e in read(client, "/atom.xml").parsed.entries if e.title == "Edited")
    assert seen.updated_parsed[:6] == (2025, 1, 2, 2, 4, 5)  # feedparser reads it, in UTC
    item = next(e for e in read(client, "/feed.json").entries if e.title == "Edited")
    assert item.updated_raw == "2025-01-02T03:04:05+01:00"
    # Without one, Atom's required <updated> falls back to the published date.
    hello = next(e for e in read(client, "/atom.xml").entries if e.title == "Hello World")
    assert hello.updated_raw == hello.published_raw == "2024-03-01T09:00:00+00:00"


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_cover_image_is_an_enclosure(site_client, fmt):
    entries = {e.title: e for e in read(site_client, feed_urls(fmt)).entries}
    size = (DATA / "public" / "assets" / "blog" / "cover.png").stat().st_size
    enclosure = entries["Hello World"].enclosure
    url_key = "url" if fmt == "rss" else "href"
    assert enclosure[url_key] == f"{SITE_URL}/assets/blog/cover.png"
    assert enclosure["type"] == "image/png"
    assert enclosure["length"] == str(size)
    if fmt == "atom":
        assert enclosure["rel"] == "enclosure"
    assert entries["Missing Cover"].enclosure is None  # its cover file does not exist
    assert entries["Tags As List"].enclosure is None
    parsed = read(site_client, feed_urls(fmt)).parsed
    hello = next(e for e in parsed.entries if e.title == "Hello World")
    assert [x["href"] for x in hello.enclosures] == [f"{SITE_URL}/assets/blog/cover.png"]


def test_cover_image_is_the_json_image(site_client):
    items = {e.title: e for e in read(site_client, "/feed.json").entries}
    assert items["Hello World"].image == f"{SITE_URL}/assets/blog/cover.png"
    for item in items.values():
        assert item.image is None or item.image.startswith(SITE_URL + "/")


def test_enclosure_describes_the_cover_even_with_an_og_image(make_site_app, write_post):
    """Enclosure URL, length and type all come from the same file."""
    write_post(
        "both-images.md",
        post_text("Both", coverImage="/assets/blog/cover.png", ogImage="{url: /assets/blog/authors/ada.png}"),
    )
    client = make_site_app().test_client()
    size = (DATA / "public" / "assets" / "blog" / "cover.png").stat().st_size
    for fmt, key in (("rss", "url"), ("atom", "href")):
        entry = next(e for e in read(client, feed_urls(fmt)).entries if e.title == "Both")
        assert entry.enclosure[key] == f"{SITE_URL}/assets/blog/cover.png"
        assert entry.enclosure["length"] == str(size)


# --------------------------------------------------------------------------- feed level


@pytest.mark.parametrize("fmt", FORMATS)
def test_feed_metadata(site_app, site_client, fmt):
    feed = read(site_client, feed_urls(fmt))
    assert feed.title == site_app.config["BLOG_TITLE"]
    assert feed.description == site_app.config["BLOG_DESCRIPTION"]
    assert feed.home == SITE_URL + "/"
    assert feed.self_url == f"{SITE_URL}/{PATHS[fmt]}"
    assert feed.language == "en"
    if feed.parsed is not None:
        assert feed.parsed.feed.link == SITE_URL + "/"
        self_links = [link.href for link in feed.parsed.feed.links if link.rel == "self"]
        assert self_links == [f"{SITE_URL}/{PATHS[fmt]}"]


@pytest.mark.parametrize("fmt", ["rss", "atom"])
def test_feed_updated_is_the_newest_entry_date(site_app, site_client, fmt):
    response = site_client.get(feed_urls(fmt))
    feed = read(site_client, feed_urls(fmt))
    newest = max((p.updated or p.date) for p in visible(site_app))
    assert newest == dt.datetime(2024, 12, 24, 11, 32, 48, 268521, tzinfo=dt.UTC)
    parse = parse_rfc822 if fmt == "rss" else parse_rfc3339
    assert parse(feed.updated_raw).replace(microsecond=0) == newest.replace(microsecond=0)
    # The Last-Modified header is not this date: an older post added or a body edited without
    # `updated:` changes the feed but not its newest entry date (tests/test_last_modified.py).
    modified = response.headers.get("Last-Modified")
    if modified is None:  # answered within the second the build was first served
        assert response.headers["ETag"].endswith(cacheentry.PROVISIONAL + '"')
        dated = lambda: site_client.get(feed_urls(fmt)).headers.get("Last-Modified")  # noqa: E731
        modified = wait_for(dated, timeout=3, what="a Last-Modified once the second has passed")
    assert parse_rfc822(modified) > newest


def test_feed_updated_counts_an_updated_field(make_site_app, write_post):
    write_post("edited.md", post_text("Edited", date="2024-05-01T10:00:00Z", updated='"2025-03-01T00:00:00Z"'))
    client = make_site_app().test_client()
    assert read(client, "/atom.xml").updated_raw == "2025-03-01T00:00:00+00:00"
    assert read(client, "/feed.xml").updated_raw == "Sat, 01 Mar 2025 00:00:00 +0000"


def test_feed_is_the_same_at_another_time(make_site_app):
    """No request or build time leaks into a feed: a restarted app in a later second answers the same bytes."""
    first = {fmt: make_site_app().test_client().get(feed_urls(fmt)) for fmt in FORMATS}
    second = int(time.time())
    wait_for(lambda: int(time.time()) > second, timeout=2, what="the next second")
    for fmt in FORMATS:
        again = make_site_app().test_client().get(feed_urls(fmt))
        assert again.data == first[fmt].data
        # The first answer may have gone out within its Last-Modified second, under the
        # provisional form of the same tag (blogapp/pagecache/entry.py).
        provisional = cacheentry.PROVISIONAL + '"'
        assert again.headers["ETag"].replace(provisional, '"') == first[fmt].headers["ETag"].replace(provisional, '"')


@pytest.mark.parametrize("fmt", FORMATS)
def test_feed_limit(make_site_app, fmt):
    app = make_site_app(BLOG_FEED_LIMIT=3)
    client = app.test_client()
    newest = [permalink(app, p.slug) for p in visible(app)[:3]]
    assert [e.link for e in read(client, feed_urls(fmt)).entries] == newest
    python = [permalink(app, p.slug) for p in visible(app, "python")[:3]]
    assert [e.link for e in read(client, feed_urls(fmt, "python")).entries] == python
    assert len(visible(app, "python")) == 3
    app = make_site_app(BLOG_FEED_LIMIT=2)
    assert len(read(app.test_client(), feed_urls(fmt, "python")).entries) == 2


@pytest.mark.parametrize("fmt", FORMATS)
def test_hidden_and_invalid_posts_never_appear(client, fmt):
    for url in (feed_urls(fmt), feed_urls(fmt, "python")):
        feed = read(client, url)
        text = feed.body.decode("utf-8")
        for title in HIDDEN_TITLES:
            assert title not in text
        links = [e.link for e in feed.entries]
        for slug in HIDDEN_SLUGS:
            assert f"http://localhost/posts/{slug}" not in links


# --------------------------------------------------------------------------- hostile text


HOSTILE_TITLE = r"Fish & <chips> ]]> 🎉 שלום مرحبا ctl\x01\x0b\x1f end"
HOSTILE_BODY = (
    "Body: Fish & chips, a < b, x ]]> y, <![CDATA[ z ]]>, 🎉, שלום עולם, مرحبا بالعالم, ctl\x01\x0b\x1f\x7f end.\n"
)


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("where", ["site", "tag"])
def test_hostile_text_keeps_every_feed_well_formed(make_site_app, write_post, fmt, where):
    write_post(
        "hostile.md",
        post_text(HOSTILE_TITLE, body=HOSTILE_BODY, tags='["R&D <x>"]', excerpt='"Ex & a < b ]]> שלום\\x01"'),
    )
    client = make_site_app().test_client()
    url = feed_urls(fmt) if where == "site" else "/tags/R%26D%20%3Cx%3E/" + PATHS[fmt]
    feed = read(client, url)  # lxml + feedparser (not bozo) for XML, json for JSON
    entry = next(e for e in feed.entries if "Fish" in e.title)
    assert entry.title.startswith("Fish & <chips> ]]> 🎉 שלום مرحبا ctl")
    assert entry.title.endswith("end")
    assert entry.summary.startswith("Ex & a < b ]]> שלום")
    assert entry.tags == ["R&D <x>"]
    text = html.unescape(re.sub(r"<[^>]+>", "", entry.content))
    assert "Fish & chips, a < b, x ]]> y" in text
    assert "🎉, שלום עולם, مرحبا بالعالم, ctl" in text
    if fmt != "json":
        # XML 1.0 cannot carry these control characters at all, not even as &#1;
        raw = feed.body.decode("utf-8")
        assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f]", raw)
        refs = [int(n[1:], 16) if n[:1] in "xX" else int(n) for n in re.findall(r"&#([xX][0-9a-fA-F]+|\d+);", raw)]
        assert all(ref in (0x9, 0xA, 0xD) or ref >= 0x20 for ref in refs)
        assert entry.title == "Fish & <chips> ]]> 🎉 שלום مرحبا ctl end"
        seen = next(e for e in feed.parsed.entries if "Fish" in e.title)
        assert "שלום עולם" in seen.content[0].value
    if where == "tag":
        assert [e.title for e in feed.entries] == [entry.title]
        assert "R&D <x>" in feed.title


# --------------------------------------------------------------------------- conditional GET


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("tag", [None, "python"])
def test_conditional_get(site_client, fmt, tag):
    url = feed_urls(fmt, tag)
    first = site_client.get(url)
    assert first.status_code == 200 and first.data
    etag = first.headers["ETag"]
    fetched = dt.datetime.now(dt.UTC)

    def status(**headers):
        response = site_client.get(url, headers=headers)
        if response.status_code == 304:
            assert response.data == b""
        else:
            assert response.data == first.data
        return response.status_code

    assert status(**{"If-None-Match": etag}) == 304
    assert status(**{"If-None-Match": f"W/{etag}"}) == 304
    assert status(**{"If-None-Match": '"stale"'}) == 200
    # A date before the feed's Last-Modified (the newest change to the files) gets it whole.
    assert status(**{"If-Modified-Since": http_date(fetched - dt.timedelta(days=1))}) == 200
    # If-None-Match wins over If-Modified-Since (RFC 9110 13.1.3).
    assert status(**{"If-None-Match": '"stale"', "If-Modified-Since": http_date(fetched)}) == 200
    assert status(**{"If-None-Match": etag, "If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}) == 304
    # A 304 never poisons the cache: a plain GET still gets the whole feed.
    assert status() == 200


@pytest.mark.parametrize("fmt", FORMATS)
def test_etag_changes_with_content(site_client, write_post, fmt):
    before = site_client.get(feed_urls(fmt))
    write_post("brand-new.md", post_text("Brand New", date="2025-01-01T00:00:00Z"))
    after = site_client.get(feed_urls(fmt), headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200
    assert after.headers["ETag"] != before.headers["ETag"]
    assert b"Brand New" in after.data


# --------------------------------------------------------------------------- per tag


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("tag", ["python", "PYTHON", "odd names", "Web Dev", "windows"])
def test_tag_feed_holds_only_that_tags_posts(site_app, site_client, fmt, tag):
    with site_app.test_request_context():
        name = content.get_tag(tag)[0]
    if tag != name:  # another spelling: a 301 to the one URL of the tag's feed
        response = site_client.get(feed_urls(fmt, tag))
        assert (response.status_code, response.headers["Location"]) == (301, feed_urls(fmt, name).replace(" ", "%20"))
    feed = read(site_client, feed_urls(fmt, name))
    posts = visible(site_app, tag)
    assert posts
    assert [e.link for e in feed.entries] == [permalink(site_app, p.slug) for p in posts]
    for entry in feed.entries:
        assert tag.casefold() in [t.casefold() for t in entry.tags]
    with site_app.test_request_context():
        assert feed.home == SITE_URL + url_for("pages.tag", tag=name)
        assert feed.self_url == SITE_URL + url_for(f"feeds.tag_{'json' if fmt == 'json' else fmt}", tag=name)
    assert name in feed.title


@pytest.mark.parametrize("fmt", FORMATS)
def test_tag_feed_content_type_and_conditional(site_client, fmt):
    response = site_client.get(feed_urls(fmt, "flask"))
    assert response.headers["Content-Type"] == TYPES[fmt]
    again = site_client.get(feed_urls(fmt, "flask"), headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("tag", ["no-such-tag", "draft", "caf%C3%A9"])
def test_unknown_tag_feed_is_404(client, fmt, tag):
    assert client.get(f"/tags/{tag}/{PATHS[fmt]}").status_code == 404


# --------------------------------------------------------------------------- HTTP details


@pytest.mark.parametrize("fmt", FORMATS)
def test_content_types(client, fmt):
    response = client.get(feed_urls(fmt))
    assert response.headers["Content-Type"] == TYPES[fmt]
    assert response.headers["ETag"]


@pytest.mark.parametrize("fmt", FORMATS)
def test_site_url_wins_over_the_request_host_and_prefix(config, fmt):
    """BLOG_SITE_URL is the only base, whatever Host and SCRIPT_NAME a request names."""
    app = create_app({**config, "BLOG_SITE_URL": "https://example.com/blog"})
    for base_url in ("http://evil.test/blog/", "http://evil.test/", "https://localhost:8443/other/"):
        feed = read(app.test_client(), feed_urls(fmt), base_url=base_url)
        urls = urls_in(feed.body)
        assert urls
        for url in urls:
            assert url.startswith("https://example.com/blog/"), (base_url, url)
            assert "/blog/blog" not in url
        assert feed.self_url == f"https://example.com/blog/{PATHS[fmt]}"
        assert feed.home == "https://example.com/blog/"
        assert feed.entries[0].link == f"https://example.com/blog/posts/{NEWEST}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_without_site_url_the_request_scheme_and_host_are_used(client, fmt):
    feed = read(client, feed_urls(fmt), base_url="https://reader.test:8443/")
    for url in urls_in(feed.body):
        assert url.startswith("https://reader.test:8443/"), url
    assert feed.self_url == f"https://reader.test:8443/{PATHS[fmt]}"
    assert feed.entries[0].link == f"https://reader.test:8443/posts/{NEWEST}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_mounted_under_a_prefix_every_url_carries_it(client, fmt):
    feed = read(client, feed_urls(fmt, "python"), base_url="http://localhost/blog/")
    urls = urls_in(feed.body)
    assert urls
    for url in urls:
        assert url.startswith("http://localhost/blog/"), url
        assert "/blog/blog" not in url
    assert feed.home == "http://localhost/blog/tags/python"
    assert feed.self_url == f"http://localhost/blog/tags/python/{PATHS[fmt]}"
    hello = next(e for e in feed.entries if e.title == "Hello World")
    assert 'src="http://localhost/blog/assets/blog/cover.png"' in hello.content
    assert 'href="http://localhost/blog/posts/tags-as-list"' in hello.content


def test_forged_host_is_not_cached_for_other_visitors(client):
    """Without BLOG_SITE_URL, each host gets its own feed (no cache poisoning)."""
    assert b"evil.test" in client.get("/feed.xml", base_url="http://evil.test/").data
    assert b"evil.test" not in client.get("/feed.xml").data


def test_empty_blog_still_serves_valid_feeds(make_site_app, posts_dir):
    for path in posts_dir.glob("*.md"):
        path.unlink()
    client = make_site_app().test_client()
    for fmt in FORMATS:
        assert read(client, feed_urls(fmt)).entries == []


def test_relative_url_helper_matches_browsers():
    """The expectation used above for ``img.png`` is the browser's resolution on the post URL."""
    assert urljoin("https://example.com/blog/posts/urls", "img.png") == "https://example.com/blog/posts/img.png"


# --------------------------------------------------------------------------- golden files

GOLDEN = {"rss.xml": "/feed.xml", "atom.xml": "/atom.xml", "feed.json": "/feed.json", "sitemap.xml": "/sitemap.xml"}


@pytest.mark.parametrize("name", GOLDEN)
def test_golden(make_site_app, name):
    """Whole output over tests/data/posts with BLOG_SITE_URL=https://blog.example.com, byte for byte.

    After an intended change to the feeds, the sitemap or the fixture posts, rewrite the files with

        UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_feeds.py -k golden

    and review the diff of tests/expected/ before committing it.
    """
    body = make_site_app().test_client().get(GOLDEN[name]).data
    assert make_site_app().test_client().get(GOLDEN[name]).data == body, "output is not deterministic"
    path = EXPECTED / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        EXPECTED.mkdir(exist_ok=True)
        path.write_bytes(body)
        pytest.skip(f"wrote {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path}")
    assert path.exists(), (
        f"missing {path}; run UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_feeds.py -k golden"
    )
    expected = path.read_bytes()
    if body != expected:
        assert body.decode("utf-8") == expected.decode("utf-8")  # readable diff first
    assert body == expected
