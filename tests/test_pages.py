"""The reader-facing pages: home, pagination, post, tags, API, health and error pages."""

from __future__ import annotations

import json
from urllib.parse import quote
from urllib.parse import unquote
from urllib.parse import urlsplit

import pytest
from flask import url_for

from blogapp import content
from blogapp import create_app
from tests.conftest import post_text
from tests.htmlutil import Page

NEWEST = "microseconds-no-offset"  # fixture dated 2024-12-24, the newest visible post


def post_urls(app) -> list[str]:
    """Every visible post's URL, newest first, as the app itself builds it."""
    with app.test_request_context():
        return [url_for("pages.post", slug=p.slug) for p in content.get_posts()]


def fetch_status(client, url, **kwargs) -> tuple[int, str]:
    """Status and mimetype of a GET, closing the response (file responses hold files open)."""
    with client.get(url, **kwargs) as response:
        return response.status_code, response.mimetype


def get_page(client, url, status=200, **kwargs):
    response = client.get(url, **kwargs)
    assert response.status_code == status, (url, response.status_code)
    return Page(response.data)


def test_home_shows_newest_post_as_hero_then_more_stories(client):
    page = get_page(client, "/")
    hero_links = [a["href"] for a in page.find_all("a", **{"class": "hero-cover"})]
    assert hero_links == [f"/posts/{NEWEST}"]
    assert "More stories" in page.texts("h2")
    assert page.texts("title") == ["AURA Digital Labs"]
    assert len(page.texts("h1")) == 1


def test_home_leaves_out_invalid_draft_and_future_posts(client):
    html = client.get("/").data.decode()
    for title in ("A Draft", "A Preview", "From The Future", "Date Not A Date", "Excerpt With Unescaped Quotes"):
        assert title not in html


def test_pagination_links_carry_rel_next_and_prev(config):
    client = create_app({**config, "BLOG_POSTS_PER_PAGE": 4}).test_client()
    first = get_page(client, "/")
    assert first.link("next") == "/page/2"
    assert [a["href"] for a in first.find_all("a", rel="next")] == ["/page/2"]
    assert not first.find_all("a", rel="prev")
    second = get_page(client, "/page/2")
    assert [a["href"] for a in second.find_all("a", rel="prev")] == ["/"]
    assert [a["href"] for a in second.find_all("a", rel="next")] == ["/page/3"]
    assert second.texts("title") == ["Page 2 | AURA Digital Labs"]


def test_every_visible_post_is_listed_exactly_once_across_pages(config):
    client = create_app({**config, "BLOG_POSTS_PER_PAGE": 4}).test_client()
    seen: list[str] = []
    url = "/"
    while url:
        page = get_page(client, url)
        seen += [a["href"] for a in page.find_all("a") if a.get("class") in ("hero-cover", "card-cover")]
        nexts = page.find_all("a", rel="next")
        url = nexts[0]["href"] if nexts else None
    assert seen == post_urls(client.application)


@pytest.mark.parametrize("url", ["/page/0", "/page/-1", "/page/abc", "/page/99", "/page/99999999999999999999999"])
def test_bad_page_numbers_are_404(client, url):
    assert client.get(url).status_code == 404


def test_page_one_redirects_home(client):
    response = client.get("/page/1")
    assert response.status_code == 301
    assert response.headers["Location"] == "/"


def test_post_page(client):
    page = get_page(client, "/posts/hello-world")
    assert page.texts("h1") == ["Hello World"]
    assert page.texts("title") == ["Hello World | AURA Digital Labs"]
    assert page.meta("description") == "A first post with bold words."
    assert page.find_all("time", datetime="2024-03-01T09:00:00+00:00")
    assert "March 1, 2024" in page.texts("time")
    assert "Ada Lovelace" in page.html
    assert page.find_all("img", src="/assets/blog/authors/ada.png")
    assert page.find_all("img", src="/assets/blog/cover.png")
    tag_links = [a["href"] for a in page.find_all("a", rel="tag")]
    assert tag_links == ["/tags/python", "/tags/flask"]
    assert page.meta("og:type") == "article"
    assert page.meta("og:title") == "Hello World"
    assert page.meta("og:image") == "http://localhost/assets/blog/cover.png"
    assert page.meta("twitter:card") == "summary_large_image"
    assert page.meta("article:published_time") == "2024-03-01T09:00:00+00:00"
    assert page.link("canonical") == "http://localhost/posts/hello-world"


def test_post_page_links_older_and_newer_posts(client):
    urls = post_urls(client.application)
    page = get_page(client, urls[1])
    assert [a["href"] for a in page.find_all("a", rel="next")] == [urls[0]]
    assert [a["href"] for a in page.find_all("a", rel="prev")] == [urls[2]]


def test_body_headings_sit_below_the_title(client, write_post):
    write_post("headings.md", post_text("Headings", body="# One\n\n## Two\n\ntext"))
    page = get_page(client, "/posts/headings")
    assert page.texts("h1") == ["Headings"]
    assert page.texts("h2")[:1] == ["One"]
    assert "Two" in page.texts("h3")


@pytest.mark.parametrize(
    "slug", ["Upper Case & Spaces", "it's-an-apostrophe", "double--dash", "café-naïve", "custom-slug"]
)
def test_unusual_slugs_are_kept(client, slug):
    page = get_page(client, "/posts/" + quote(slug))
    assert len(page.texts("h1")) == 1
    canonical = urlsplit(page.link("canonical"))
    assert (canonical.netloc, unquote(canonical.path)) == ("localhost", "/posts/" + slug)


def test_missing_cover_and_avatar_never_show_a_broken_image(client):
    page = get_page(client, "/posts/missing-cover")
    assert "does-not-exist.jpg" not in page.html
    assert "missing.png" not in page.html
    assert page.find_all("span", **{"class": "avatar avatar-initials", "aria-hidden": "true"})
    for src in {img["src"] for img in page.find_all("img")}:
        status, mimetype = fetch_status(client, src)
        assert status == 200, src
        assert mimetype.startswith("image/"), src
    assert page.meta("og:image") == "http://localhost/posts/missing-cover/card.png"


def test_placeholder_cover_is_svg_with_escaped_title(client, write_post):
    write_post("amp.md", post_text("Cats & <Dogs>"))
    response = client.get("/posts/amp/cover.svg")
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    assert b"Cats &amp; &lt;Dogs&gt;" in response.data
    assert client.get("/posts/no-such-post/cover.svg").status_code == 404


def test_every_image_on_home_loads(client):
    page = get_page(client, "/")
    for src in {img["src"] for img in page.find_all("img")}:
        assert fetch_status(client, src)[0] == 200, src


def test_tag_pages(client):
    page = get_page(client, "/tags/python")
    hrefs = [a["href"] for a in page.find_all("a") if a.get("class") == "card-cover"]
    assert hrefs == ["/posts/hello-world", "/posts/tags-as-string", "/posts/tags-as-list"]
    spelled = client.get("/tags/PYTHON")  # one URL per tag page: other spellings redirect
    assert spelled.status_code == 301 and spelled.headers["Location"] == "/tags/python"
    assert client.get("/tags/no-such-tag").status_code == 404
    tags = get_page(client, "/tags")
    assert any(text.startswith("python 3") for text in tags.texts("a"))


def test_api_latest_posts_has_public_fields_only(client):
    response = client.get("/api/latest-posts")
    assert response.status_code == 200
    data = response.get_json()
    assert len(data) == 3
    assert data[0]["slug"] == NEWEST
    for item in data:
        assert set(item) == {"slug", "title", "date", "excerpt", "coverImage", "author", "tags", "url"}
        assert item["url"].startswith("http://localhost/posts/")


def test_api_never_includes_the_body(client, write_post):
    write_post("secret-body.md", post_text("Secret Body", date="2030-01-01T00:00:00Z"))
    write_post("newest.md", post_text("Newest", date="2025-06-01T00:00:00Z", excerpt="Short.", body="BODYMARKER text"))
    data = client.get("/api/latest-posts").get_json()
    assert data[0]["title"] == "Newest"
    assert "BODYMARKER" not in json.dumps(data)
    assert all(item["title"] != "Secret Body" for item in data)


def test_healthz_counts_posts_and_is_not_cached(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    data = response.get_json()
    assert data["status"] == "ok"
    assert data["invalid"] == 6
    assert data["posts"] == len(post_urls(client.application))


def test_unknown_pages_get_a_styled_404(client):
    for url in ("/nope", "/posts/nope", "/posts/date-not-a-date", "/posts/draft", "/posts/future", "/tags/nope"):
        page = get_page(client, url, status=404)
        assert page.find_all("header", **{"class": "site-header"}), url
        assert page.find_all("a", href="/"), url
        assert len(page.texts("h1")) == 1


@pytest.mark.parametrize("url", ["/", "/posts/hello-world", "/tags", "/api/latest-posts", "/healthz"])
def test_other_methods_get_405(client, url):
    for method in ("post", "put", "delete", "patch"):
        assert getattr(client, method)(url).status_code == 405


def test_head_works(client):
    response = client.head("/posts/hello-world")
    assert response.status_code == 200
    assert response.data == b""


def test_mounted_under_a_prefix_every_url_carries_it(client):
    for url in ("/", "/posts/hello-world", "/tags", "/tags/python", "/nope"):
        response = client.get(url, base_url="http://localhost/blog/")
        page = Page(response.data)
        for link in page.urls():
            parts = urlsplit(link)
            if parts.scheme:
                assert parts.path.startswith("/blog/"), (url, link)
            elif link.startswith("/"):
                assert link.startswith("/blog/") or link == "/blog", (url, link)
        # Every page found names itself, under the prefix; the 404 page names none.
        canonical = f"http://localhost/blog{url}" if response.status_code == 200 else None
        assert page.link("canonical") == canonical, (url, response.status_code)


def test_prefix_applies_to_links_inside_post_bodies(client):
    page = get_page(client, "/posts/hello-world", base_url="http://localhost/blog/")
    assert page.find_all("a", href="/blog/posts/tags-as-list")
    assert page.find_all("img", src="/blog/assets/blog/cover.png")
    assert fetch_status(client, "/assets/blog/cover.png", base_url="http://localhost/blog/")[0] == 200


def test_site_url_is_the_only_base_for_absolute_urls(config):
    client = create_app({**config, "BLOG_SITE_URL": "https://example.com/blog"}).test_client()
    page = get_page(client, "/posts/hello-world", base_url="http://evil.test/blog/")
    assert page.link("canonical") == "https://example.com/blog/posts/hello-world"
    assert page.meta("og:image") == "https://example.com/blog/assets/blog/cover.png"
    assert "evil.test" not in page.html
    assert "/blog/blog" not in page.html


def test_invalid_post_does_not_take_the_site_down(client, write_post):
    write_post("broken.md", '---\ntitle: "Broken "quotes""\ndate: 2024-01-01\n---\nBody\n')
    assert client.get("/").status_code == 200
    assert client.get("/posts/broken").status_code == 404
    assert client.get("/posts/hello-world").status_code == 200


def test_every_page_links_the_site_feeds_and_tag_pages_their_own(client):
    for url in ("/", "/posts/hello-world", "/tags"):
        page = get_page(client, url)
        alternates = {(a["type"], a["href"]) for a in page.find_all("link", rel="alternate")}
        assert ("application/rss+xml", "http://localhost/feed.xml") in alternates
        assert ("application/atom+xml", "http://localhost/atom.xml") in alternates
        assert ("application/feed+json", "http://localhost/feed.json") in alternates
    tag_page = get_page(client, "/tags/python")
    hrefs = {a["href"] for a in tag_page.find_all("link", rel="alternate")}
    assert {"http://localhost/tags/python/feed.xml", "http://localhost/tags/python/atom.xml"} <= hrefs
    assert all(a.get("title") for a in tag_page.find_all("link", rel="alternate"))


FORWARDED = {"X-Forwarded-Host": "proxy.example", "X-Forwarded-Proto": "https", "X-Forwarded-Prefix": "/blog"}


def test_forwarded_headers_are_ignored_by_default(client):
    page = get_page(client, "/posts/hello-world", headers=FORWARDED)
    assert page.link("canonical") == "http://localhost/posts/hello-world"
    assert "proxy.example" not in page.html


def test_forwarded_headers_are_used_when_the_operator_trusts_a_proxy(config):
    client = create_app({**config, "BLOG_PROXY_COUNT": 1}).test_client()
    page = get_page(client, "/posts/hello-world", headers=FORWARDED)
    assert page.link("canonical") == "https://proxy.example/blog/posts/hello-world"
    assert page.find_all("a", href="/blog/tags/python")
    feed = client.get("/feed.xml", headers=FORWARDED).data.decode()
    assert "<link>https://proxy.example/blog/</link>" in feed


@pytest.mark.parametrize("url", ["/", "/tags", "/tags/python", "/nope"])
def test_listing_pages_share_the_site_card(client, url):
    response = client.get(url)
    page = Page(response.data)
    assert page.meta("twitter:card") == "summary_large_image"
    image = page.meta("og:image")
    assert image == "http://localhost/static/social-card.png"
    assert fetch_status(client, urlsplit(image).path)[0] == 200
