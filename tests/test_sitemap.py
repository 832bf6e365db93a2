"""/sitemap.xml (sitemaps.org 0.9, validated with tests/data/sitemap.xsd) and /robots.txt."""

from __future__ import annotations

import datetime as dt
import urllib.robotparser
from pathlib import Path
from urllib.parse import unquote
from urllib.parse import urlsplit

import pytest
import xmlschema
from flask import url_for
from lxml import etree

from blogapp import content
from blogapp import create_app
from blogapp.pagecache import entry as cacheentry
from tests.conftest import HIDDEN_SLUGS
from tests.conftest import SITE_URL
from tests.conftest import post_text

XSD = Path(__file__).parent / "data" / "sitemap.xsd"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ODD_SLUGS = ("Upper Case & Spaces", "it's-an-apostrophe", "café-naïve", "double--dash")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD))


def fetch(client, **kwargs) -> tuple[bytes, dict[str, str | None]]:
    """The sitemap's raw bytes and ``{loc: lastmod}``, checking it is well-formed and has no duplicates."""
    response = client.get("/sitemap.xml", **kwargs)
    assert response.status_code == 200
    root = etree.fromstring(response.data)
    assert root.tag == f"{SM}urlset"
    entries = [(u.findtext(f"{SM}loc"), u.findtext(f"{SM}lastmod")) for u in root.iter(f"{SM}url")]
    locs = [loc for loc, _ in entries]
    assert len(locs) == len(set(locs)), "duplicate <loc>"
    assert len(locs) <= 50_000
    return response.data, dict(entries)


def assert_valid(schema: xmlschema.XMLSchema, body: bytes) -> None:
    errors = [str(error) for error in schema.iter_errors(etree.fromstring(body))]
    assert errors == []


def expected_urls(app, base: str = SITE_URL) -> dict[str, dt.datetime]:
    """``{absolute URL: honest lastmod}`` for home, every visible post, tag, author and series,
    from the app itself."""
    with app.test_request_context():
        posts = content.get_posts()
        tags = content.get_tags()
        urls = {base + url_for("pages.index"): max(p.updated or p.date for p in posts)}
        urls |= {base + url_for("pages.post", slug=p.slug): p.updated or p.date for p in posts}
        urls |= {
            base + url_for("pages.tag", tag=name): max(p.updated or p.date for p in tagged)
            for name, tagged in tags.values()
        }
        urls |= {
            base + url_for("authors.author", slug=slug): max(p.updated or p.date for p in by)
            for slug, (_, by) in content.get_authors().items()
        }
        urls |= {
            base + url_for("pages.series", series=slug): max(p.updated or p.date for p in found.posts)
            for slug, found in content.get_all_series().items()
        }
    return urls


def as_lastmod(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- validity and content


def test_sitemap_is_valid_against_the_sitemaps_schema(site_app, schema):
    body, _ = fetch(site_app.test_client())
    assert_valid(schema, body)
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')


def test_schema_rejects_what_the_protocol_forbids(schema):
    """The XSD is not a rubber stamp: relative locs, bad dates and wrong order fail."""
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    good = f"<urlset {ns}><url><loc>https://a.test/x</loc><lastmod>2024-01-01T10:00:00+00:00</lastmod></url></urlset>"
    assert schema.is_valid(good)
    for bad in (
        f"<urlset {ns}><url><loc>/relative</loc></url></urlset>",
        f"<urlset {ns}><url><loc>https://a.test/x</loc><lastmod>2024-01-01T10:00:00</lastmod></url></urlset>",
        f"<urlset {ns}><url><loc>https://a.test/x</loc><lastmod>01/02/2024</lastmod></url></urlset>",
        f"<urlset {ns}><url><lastmod>2024-01-01</lastmod><loc>https://a.test/x</loc></url></urlset>",
        f"<urlset {ns}><url><loc>https://a.test/x</loc><priority>2</priority></url></urlset>",
        "<urlset><url><loc>https://a.test/x</loc></url></urlset>",
    ):
        assert not schema.is_valid(bad), bad


def test_sitemap_lists_home_every_visible_post_every_tag_and_every_author(site_app):
    _, entries = fetch(site_app.test_client())
    expected = expected_urls(site_app)
    assert set(entries) == set(expected)
    assert len(entries) == 1 + 18 + 6 + 4 + 1  # home, 18 visible fixture posts, 6 tags, 4 authors, 1 series
    assert f"{SITE_URL}/series/basics" in entries
    assert f"{SITE_URL}/authors/ada-lovelace" in entries
    assert f"{SITE_URL}/" in entries
    assert f"{SITE_URL}/tags/python" in entries
    assert f"{SITE_URL}/tags/odd%20names" in entries
    assert f"{SITE_URL}/posts/custom-slug" in entries  # the slug: override, not the file name
    assert f"{SITE_URL}/posts/slug-override" not in entries


def test_sitemap_leaves_out_drafts_future_and_invalid_posts(site_app):
    body, entries = fetch(site_app.test_client())
    paths = {unquote(urlsplit(loc).path) for loc in entries}
    for slug in HIDDEN_SLUGS:
        assert f"/posts/{slug}" not in paths
    for title in ("A Draft", "From The Future"):
        assert title.encode() not in body


def test_sitemap_lastmod_is_the_posts_own_date(site_app):
    _, entries = fetch(site_app.test_client())
    for url, when in expected_urls(site_app).items():
        assert entries[url] == as_lastmod(when), url
    assert entries[f"{SITE_URL}/posts/plain-name-author"] == "2023-05-01T10:00:00+00:00"  # +02:00 made UTC
    assert entries[f"{SITE_URL}/"] == "2024-12-24T11:32:48+00:00"  # the newest post
    assert entries[f"{SITE_URL}/tags/flask"] == "2024-03-01T09:00:00+00:00"
    now = dt.datetime.now(dt.UTC)
    for lastmod in entries.values():
        assert dt.datetime.fromisoformat(lastmod) < now - dt.timedelta(days=1), "lastmod looks like request time"


def test_sitemap_lastmod_follows_an_updated_field(make_site_app, write_post, schema):
    write_post(
        "edited.md",
        post_text("Edited", date="2024-05-01T10:00:00Z", tags="[edits]", updated='"2025-02-03T04:05:06-03:00"'),
    )
    write_post("modified.md", post_text("Modified", date="2024-05-01T10:00:00Z", lastModified="2024-06-01"))
    client = make_site_app().test_client()
    body, entries = fetch(client)
    assert_valid(schema, body)
    assert entries[f"{SITE_URL}/posts/edited"] == "2025-02-03T07:05:06+00:00"
    assert entries[f"{SITE_URL}/posts/modified"] == "2024-06-01T00:00:00+00:00"
    assert entries[f"{SITE_URL}/tags/edits"] == "2025-02-03T07:05:06+00:00"
    assert entries[f"{SITE_URL}/"] == "2025-02-03T07:05:06+00:00"


def test_sitemap_does_not_change_with_time(make_site_app):
    first = make_site_app().test_client().get("/sitemap.xml")
    again = make_site_app().test_client().get("/sitemap.xml")
    assert again.data == first.data
    # One may have gone out within its Last-Modified second, under the provisional form of the
    # same tag (blogapp/pagecache/entry.py); the date, when sent, is the site's, not the clock's.
    provisional = cacheentry.PROVISIONAL + '"'
    assert again.headers["ETag"].replace(provisional, '"') == first.headers["ETag"].replace(provisional, '"')
    dates = {r.headers.get("Last-Modified") for r in (first, again)} - {None}
    assert len(dates) <= 1


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize("slug", ODD_SLUGS)
def test_odd_slugs_are_escaped_and_round_trip(site_app, slug):
    _, entries = fetch(site_app.test_client())
    matches = [loc for loc in entries if unquote(urlsplit(loc).path) == f"/posts/{slug}"]
    assert len(matches) == 1, slug
    loc = matches[0]
    assert loc.isascii() and " " not in loc
    assert loc.startswith(f"{SITE_URL}/posts/")
    assert site_app.test_client().get(urlsplit(loc).path).status_code == 200  # the URL really answers


def test_raw_xml_escapes_ampersands(site_app):
    body, _ = fetch(site_app.test_client())
    text = body.decode("utf-8")
    assert "/posts/Upper%20Case%20&amp;%20Spaces</loc>" in text
    assert "/posts/caf%C3%A9-na%C3%AFve</loc>" in text
    assert "&%20" not in text  # never a bare &


def test_hostile_slug_keeps_the_sitemap_valid(make_site_app, write_post, schema):
    slug = 'q <a> "b" #1? 100% & ü'
    write_post(f"{slug}.md", post_text("Hostile Slug", tags='["C# & <T>"]'))
    client = make_site_app().test_client()
    body, entries = fetch(client)
    assert_valid(schema, body)
    paths = {unquote(urlsplit(loc).path): loc for loc in entries}
    assert f"/posts/{slug}" in paths
    assert "/tags/C# & <T>" in paths
    for loc in entries:
        assert urlsplit(loc).fragment == "" and urlsplit(loc).query == "", loc
    assert client.get(urlsplit(paths[f"/posts/{slug}"]).path).status_code == 200


# --------------------------------------------------------------------------- HTTP, hosts and prefixes


def test_content_types(client):
    assert client.get("/sitemap.xml").headers["Content-Type"] == "application/xml; charset=utf-8"
    assert client.get("/robots.txt").headers["Content-Type"] == "text/plain; charset=utf-8"


def test_sitemap_conditional_get(client):
    first = client.get("/sitemap.xml")
    again = client.get("/sitemap.xml", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # The site's Last-Modified (tests/test_last_modified.py): an older date gets the sitemap, its
    # own date a 304.
    again = client.get("/sitemap.xml", headers={"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"})
    assert again.status_code == 200 and again.data == first.data
    dated = client.get("/sitemap.xml", headers={"If-Modified-Since": first.headers["Last-Modified"]})
    assert dated.status_code == 304
    assert client.get("/sitemap.xml", headers={"If-None-Match": '"stale"'}).status_code == 200


def test_robots_allows_crawling_and_names_the_sitemap(site_app):
    response = site_app.test_client().get("/robots.txt")
    text = response.get_data(as_text=True)
    lines = text.splitlines()
    assert "User-agent: *" in lines
    assert "Disallow: /" not in lines
    assert f"Sitemap: {SITE_URL}/sitemap.xml" in lines
    parser = urllib.robotparser.RobotFileParser()
    parser.parse(lines)
    assert parser.can_fetch("*", f"{SITE_URL}/posts/hello-world")
    assert parser.can_fetch("Googlebot", f"{SITE_URL}/")
    assert parser.site_maps() == [f"{SITE_URL}/sitemap.xml"]


@pytest.mark.parametrize("base_url", ["http://evil.test/blog/", "http://evil.test/", "https://localhost:8443/"])
def test_site_url_wins_over_host_and_prefix(config, schema, base_url):
    app = create_app({**config, "BLOG_SITE_URL": "https://example.com/blog"})
    client = app.test_client()
    body, entries = fetch(client, base_url=base_url)
    assert_valid(schema, body)
    assert set(entries) == set(expected_urls(app, base="https://example.com/blog"))
    for loc in entries:
        assert loc.startswith("https://example.com/blog/"), loc
        assert "/blog/blog" not in loc
    robots = client.get("/robots.txt", base_url=base_url).get_data(as_text=True)
    assert "Sitemap: https://example.com/blog/sitemap.xml" in robots.splitlines()
    assert "evil.test" not in robots


def test_without_site_url_the_request_host_is_used(client):
    _, entries = fetch(client, base_url="https://reader.test:8443/")
    assert entries
    for loc in entries:
        assert loc.startswith("https://reader.test:8443/"), loc
    assert "https://reader.test:8443/" in entries
    robots = client.get("/robots.txt", base_url="https://reader.test:8443/").get_data(as_text=True)
    assert "Sitemap: https://reader.test:8443/sitemap.xml" in robots.splitlines()


def test_mounted_under_a_prefix_every_url_carries_it(client, schema):
    body, entries = fetch(client, base_url="http://localhost/blog/")
    assert_valid(schema, body)
    assert "http://localhost/blog/" in entries
    assert "http://localhost/blog/posts/hello-world" in entries
    assert "http://localhost/blog/tags/python" in entries
    for loc in entries:
        assert loc.startswith("http://localhost/blog/"), loc
        assert "/blog/blog" not in loc
    robots = client.get("/robots.txt", base_url="http://localhost/blog/").get_data(as_text=True)
    assert "Sitemap: http://localhost/blog/sitemap.xml" in robots.splitlines()


def test_empty_blog_has_a_valid_sitemap_with_the_home_page(make_site_app, posts_dir, schema):
    for path in posts_dir.glob("*.md"):
        path.unlink()
    client = make_site_app().test_client()
    body, entries = fetch(client)
    assert_valid(schema, body)
    assert entries == {f"{SITE_URL}/": None}
