"""Author pages (/authors/<slug>), per-author feeds, bylines, sitemap entries and JSON-LD Person."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

import feedparser
import pytest
import xmlschema
from lxml import etree

from blogapp import content
from blogapp import create_app
from blogapp.posts.fields import author_key
from blogapp.posts.fields import parse_tags
from blogapp.posts.fields import slugify
from blogapp.posts.fields import suffixed_slug
from blogapp.posts.fields import tag_key
from tests.conftest import SITE_URL
from tests.conftest import post_text
from tests.htmlutil import Page
from tests.servers import Server

XSD = Path(__file__).parent / "data" / "sitemap.xsd"
JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def by(name: str, picture: str | None = None) -> str:
    """An ``author:`` front-matter value."""
    return json.dumps({"name": name, "picture": picture} if picture else {"name": name}, ensure_ascii=False)


def write_authors(write) -> None:
    """Maya Chen's five posts (two spellings: case and spacing), Grace's two, one by a name of
    punctuation only."""
    for day in range(1, 4):
        write(f"maya-{day}.md", post_text(f"Maya {day}", date=f"2021-01-0{day}", author=by("Maya Chen")))
    write("maya-4.md", post_text("Maya 4", date="2021-01-04", author=by("maya  CHEN", "/assets/blog/authors/ada.png")))
    write("maya-5.md", post_text("Maya 5", date="2021-01-05", author=by("Maya Chen")))  # newest
    write("grace-1.md", post_text("Grace 1", date="2020-06-01", author=by("Grace Hopper")))
    write("grace-2.md", post_text("Grace 2", date="2020-06-02", author='"Grace Hopper"'))
    write("dots.md", post_text("Dots", date="2020-05-01", author=by("...")))
    write("li.md", post_text("Li", date="2020-04-01", author=by("李明")))


def get(client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.data)


def card_slugs(page: Page) -> list[str]:
    return re.findall(r'<h3 class="card-title"><a href="/posts/([^"]+)">', page.html)


def bylines(page: Page) -> list[str]:
    """The inside of every byline's name."""
    return re.findall(r'<span class="author-name">(.*?)</span>\n', page.html)


# --- the slug --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Maya Chen", "maya-chen"),
        ("  maya   CHEN ", "maya-chen"),
        ("Maya Chén", "maya-chen"),
        ("O'Brien, Seán", "o-brien-sean"),
        ("李明", "李明"),
        ("Ünal_Öz", "unal-oz"),
        ("...", ""),
        ("", ""),
        ("a/b\\c", "a-b-c"),
        # Marks go only where a Latin letter is left; other letters keep theirs (issue 20).
        ("がく", "がく"),
        ("かく", "かく"),
        ("Йога", "йога"),
        ("ﬁsh Ｆｕｌｌ", "fish-full"),
        ("Mayа Chen".replace("а", "\u0430"), "mayа-chen".replace("а", "\u0430")),  # a Cyrillic а
        ("Mayé".replace("é", "e\u0301"), "maye"),  # NFD
    ],
)
def test_author_slug(name, slug):
    assert slugify(name) == slug


def test_author_slug_of_a_huge_name_is_bounded():
    assert slugify("x" * 100_000) == "x" * 80
    assert slugify("é-" * 100_000).strip("-e") == ""


# --- NFC, and names that must stay apart (issue 20, item 11) ---------------------------------

LONG = "Professor " + "Emeritus " * 8  # 82 slug characters before the name that tells them apart
APART = {
    # file: (date, name) -- the first of each pair is older, so it keeps the plain slug
    "ga.md": ("2021-01-01", "がく"),
    "ka.md": ("2021-02-01", "かく"),
    "chen.md": ("2021-01-01", "Maya Chen"),
    "chen-accent.md": ("2021-03-01", "Maya Chén"),
    "long-1.md": ("2021-01-01", LONG + "Ada Lovelace"),
    "long-2.md": ("2021-04-01", LONG + "Ada Byron"),
    "jose-nfc.md": ("2021-01-01", "José Núñez"),
    "jose-nfd.md": ("2021-05-01", unicodedata.normalize("NFD", "JOSÉ  núñez")),
}


def _apart_slugs(config, posts_dir, names: dict[str, str]) -> dict[str, str]:
    """``{author name: slug}`` after writing APART under the given file names."""
    for old in posts_dir.glob("*.md"):
        old.unlink()
    for name, (date, author) in APART.items():
        (posts_dir / names[name]).write_text(post_text(name, date=date, author=by(author)), encoding="utf-8")
    app = create_app(config)
    with app.test_request_context():
        return {author.name: slug for slug, (author, _) in content.get_authors().items()}


def test_names_that_differ_by_more_than_case_and_spacing_are_different_authors(config, posts_dir):
    """Voicing marks were dropped (がく was かく), accents too (Maya Chén was Maya Chen), and a
    slug's first 80 characters decided who was who: each pair was one author."""
    slugs = _apart_slugs(config, posts_dir, {name: name for name in APART})
    long_slug = slugify(LONG + "Ada Lovelace")
    assert len(long_slug) == 80 and slugify(LONG + "Ada Byron") == long_slug
    assert slugs == {
        "がく": "がく",
        "かく": "かく",
        "Maya Chen": "maya-chen",
        "Maya Chén": suffixed_slug("maya-chen", author_key("Maya Chén")),
        LONG.strip() + " Ada Lovelace": long_slug,
        LONG.strip() + " Ada Byron": suffixed_slug(long_slug, author_key(LONG + "Ada Byron")),
        "JOSÉ núñez": "jose-nunez",  # NFC and NFD, case and spacing: one author (newest spelling)
    }
    assert re.fullmatch(r"maya-chen-[0-9a-f]{6}", slugs["Maya Chén"])
    assert all(len(slug) <= 80 for slug in slugs.values())
    client = create_app(config).test_client()
    for name, slug in slugs.items():
        page = get(client, f"/authors/{slug}")
        assert page.texts("h1") == [name]
        files = sorted(f for f, (_, author) in APART.items() if author_key(author) == author_key(name))
        assert sorted(card_slugs(page)) == [f[:-3] for f in files]
        byline = get(client, f"/posts/{files[0][:-3]}").part('<div class="post-byline">', "</time>")
        assert [a["href"] for a in byline.find_all("a")] == [quote(f"/authors/{slug}")]
        feed = feedparser.parse(client.get(f"/authors/{slug}/feed.xml").data)
        assert sorted(e.title for e in feed.entries) == files


def test_which_author_gets_the_suffix_does_not_depend_on_file_names(config, posts_dir):
    """The oldest first post keeps the plain slug; the suffix is the name's hash. Reversing the
    order the files sort in (and so are read in) changes nothing."""
    plain = _apart_slugs(config, posts_dir, {name: name for name in APART})
    reversed_names = {name: f"{i:02d}-{name}" for i, name in enumerate(reversed(APART))}
    assert _apart_slugs(config, posts_dir, reversed_names) == plain


def test_nfc_and_nfd_spellings_of_a_tag_are_one_tag(client, write_post):
    nfc, nfd = "Café Crème", unicodedata.normalize("NFD", "café  crème")
    assert nfc != nfd
    write_post("tag-nfc.md", post_text("Tag NFC", date="2024-05-01", tags=json.dumps([nfc], ensure_ascii=False)))
    write_post("tag-nfd.md", post_text("Tag NFD", date="2024-05-02", tags=json.dumps([nfd, nfc], ensure_ascii=False)))
    matching = [name for name, _ in content_tags(client) if tag_key(name) == tag_key(nfc)]
    assert len(matching) == 1 and unicodedata.is_normalized("NFC", matching[0]), matching
    for url in (f"/tags/{quote(nfc)}", f"/tags/{quote(nfd)}"):
        response = client.get(url, follow_redirects=True)
        assert response.status_code == 200
        assert sorted(card_slugs(Page(response.data))) == ["tag-nfc", "tag-nfd"], url
    assert parse_tags([nfd, nfc, "CAFÉ crème"]) == (unicodedata.normalize("NFC", "café crème"),)


def content_tags(client) -> list[tuple[str, int]]:
    with client.application.test_request_context():
        return [(name, len(posts)) for name, posts in content.get_tags().values()]


# --- the page ------------------------------------------------------------------------------


@pytest.fixture
def authored(config, write_post):
    write_authors(write_post)
    return create_app({**config, "BLOG_POSTS_PER_PAGE": 2})


def test_author_page_lists_their_posts_newest_first_paginated(authored):
    client = authored.test_client()
    first = get(client, "/authors/maya-chen")
    assert first.texts("h1") == ["Maya Chen"]  # the newest post's spelling
    assert card_slugs(first) == ["maya-5", "maya-4"]
    assert first.link("canonical") == "http://localhost/authors/maya-chen"
    assert first.link("next") == "/authors/maya-chen/page/2"
    second = get(client, "/authors/maya-chen/page/2")
    assert card_slugs(second) == ["maya-3", "maya-2"]
    assert second.link("prev") == "/authors/maya-chen"
    assert second.link("canonical") == "http://localhost/authors/maya-chen/page/2"
    assert card_slugs(get(client, "/authors/maya-chen/page/3")) == ["maya-1"]
    assert "5 posts" in first.html


def test_author_page_shows_the_picture_any_of_their_posts_gives(authored):
    page = get(authored.test_client(), "/authors/maya-chen")
    header = page.part('<header class="author-header">', "</header>")
    assert header.find_all("img")[0]["src"] == "/assets/blog/authors/ada.png"
    grace = get(authored.test_client(), "/authors/grace-hopper").part('<header class="author-header">', "</header>")
    assert not grace.find_all("img") and grace.texts("span") == ["GH"]  # initials


@pytest.mark.parametrize(
    "url",
    [
        "/authors/nobody-here",
        "/authors/maya-chen/page/4",
        "/authors/maya-chen/page/0",
        "/authors/maya-chen/page/-1",
        "/authors/maya-chen/page/x",
        "/authors/..",
        "/authors/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/authors/%00",
        "/authors/" + "m" * 3000,
        "/authors/...",  # the punctuation-only author has no page
        "/authors/",
        "/authors/nobody-here/feed.xml",
        "/authors/nobody-here/atom.xml",
        "/authors/nobody-here/feed.json",
        "/authors/draft-author",
    ],
)
def test_unknown_authors_and_pages_are_404(authored, write_post, url):
    write_post("drafted.md", post_text("Drafted", author=by("Draft Author"), draft="true"))
    assert authored.test_client().get(url).status_code == 404


def test_spellings_of_one_name_are_one_author_and_page_1_redirects(authored):
    client = authored.test_client()
    assert get(client, "/authors/maya-chen").link("canonical") == "http://localhost/authors/maya-chen"
    for spelled in ("/authors/Maya-Chén", "/authors/Maya-Chen/page/1", "/authors/MAYA-CHEN"):
        response = client.get(spelled)  # one URL per page: other spellings redirect
        assert response.status_code == 301 and response.headers["Location"] == "/authors/maya-chen", spelled
    response = client.get("/authors/Maya-Chen/page/2")
    assert response.status_code == 301 and response.headers["Location"] == "/authors/maya-chen/page/2"
    response = client.get("/authors/Maya-Chen/atom.xml")
    assert response.status_code == 301 and response.headers["Location"] == "/authors/maya-chen/atom.xml"
    with authored.test_request_context():
        assert set(content.get_authors()) >= {"maya-chen", "grace-hopper", "李明"}
        assert "" not in content.get_authors()
        assert len(content.get_author("MAYA CHEN")[1]) == 5


def test_non_latin_name_has_a_page(authored):
    page = get(authored.test_client(), "/authors/%E6%9D%8E%E6%98%8E")
    assert page.texts("h1") == ["李明"] and card_slugs(page) == ["li"]


def test_bylines_link_to_the_author_page(authored):
    client = authored.test_client()
    seen = []  # (an author page has no bylines: its own post stands in)
    for url in ("/", "/page/2", "/page/3", "/posts/maya-4", "/posts/dots", "/posts/grace-2"):
        for inside in bylines(get(client, url)):
            if inside == "...":
                seen.append(inside)  # no letter or digit: no page to link to
                continue
            link = Page(inside).find_all("a")
            assert len(link) == 1 and link[0]["rel"] == "author", inside
            assert client.get(link[0]["href"]).status_code == 200
            seen.append(link[0]["href"])
    assert {"...", "/authors/maya-chen", "/authors/grace-hopper"} <= set(seen)
    post = get(client, "/posts/maya-4")
    hrefs = [a["href"] for a in post.part('<div class="post-byline">', "</time>").find_all("a")]
    assert hrefs == ["/authors/maya-chen"]


def test_json_ld_person_with_the_page_url(authored):
    client = authored.test_client()
    page = client.get("/authors/maya-chen").get_data(as_text=True)
    data = json.loads(JSON_LD.findall(page)[0])
    assert data["@type"] == "ProfilePage" and data["url"] == "http://localhost/authors/maya-chen"
    assert data["mainEntity"] == {
        "@type": "Person",
        "name": "Maya Chen",
        "url": "http://localhost/authors/maya-chen",
        "image": "http://localhost/assets/blog/authors/ada.png",
    }
    posting = json.loads(JSON_LD.findall(client.get("/posts/grace-1").get_data(as_text=True))[0])
    assert posting["author"] == {
        "@type": "Person",
        "name": "Grace Hopper",
        "url": "http://localhost/authors/grace-hopper",
    }


def test_hostile_names_stay_escaped(config, write_post):
    name = '</script><script>alert(1)</script> "&" <b>'
    write_post("evil.md", post_text("Evil", author=by(name)))
    client = create_app(config).test_client()
    slug = slugify(name)
    assert slug == "script-script-alert-1-script-b"
    response = client.get(f"/authors/{slug}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<script>alert(1)" not in html
    assert json.loads(JSON_LD.findall(html)[0])["mainEntity"]["name"] == name
    for feed in ("feed.xml", "atom.xml", "feed.json"):
        assert client.get(f"/authors/{slug}/{feed}").status_code == 200


# --- sitemap --------------------------------------------------------------------------------


def test_sitemap_lists_every_author_page_and_is_valid(make_site_app, write_post):
    write_authors(write_post)
    app = make_site_app()
    body = app.test_client().get("/sitemap.xml").data
    assert list(xmlschema.XMLSchema(str(XSD)).iter_errors(etree.fromstring(body))) == []
    locs = re.findall(rb"<loc>([^<]+)</loc>", body)
    authors = [loc.decode() for loc in locs if b"/authors/" in loc]
    assert f"{SITE_URL}/authors/maya-chen" in authors
    assert f"{SITE_URL}/authors/%E6%9D%8E%E6%98%8E" in authors
    assert len(authors) == len(set(authors)) == 6  # Maya, Grace, Li and the fixtures' three
    assert f"{SITE_URL}/authors/draft-author" not in authors


# --- through gunicorn: routes, feeds, autodiscovery -------------------------------------------


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("authors")
    posts = tmp / "posts"
    posts.mkdir()

    def write(name: str, text: str) -> None:
        (posts / name).write_text(text, encoding="utf-8")

    write_authors(write)
    srv = Server(tmp, posts=posts, env={"FLASK_BLOG_POSTS_PER_PAGE": "2", "FLASK_BLOG_SITE_URL": SITE_URL}, workers=1)
    try:
        yield srv
    finally:
        srv.stop()


def test_gunicorn_serves_author_pages_and_404s(server):
    status, body = server.get("/authors/maya-chen")
    assert status == 200 and b"Maya Chen" in body
    assert server.get("/authors/maya-chen/page/3")[0] == 200
    assert server.get("/authors/maya-chen/page/4")[0] == 404
    assert server.get("/authors/no-such-person")[0] == 404
    assert server.get_with_headers("/authors/maya-chen/page/1")[0] == 301


def test_gunicorn_author_feeds_are_discoverable_and_hold_only_their_posts(server):
    page = Page(server.get("/authors/maya-chen")[1])
    links = {link["type"]: link["href"] for link in page.find_all("link", rel="alternate")}
    feeds = {kind: href for kind, href in links.items() if "/authors/" in href}
    assert feeds == {
        "application/rss+xml": f"{SITE_URL}/authors/maya-chen/feed.xml",
        "application/atom+xml": f"{SITE_URL}/authors/maya-chen/atom.xml",
        "application/feed+json": f"{SITE_URL}/authors/maya-chen/feed.json",
    }
    for kind, href in feeds.items():
        status, headers = server.get_with_headers(href.removeprefix(SITE_URL))
        assert status == 200 and headers["Content-Type"] == f"{kind}; charset=utf-8"
    for name in ("feed.xml", "atom.xml"):
        parsed = feedparser.parse(server.get(f"/authors/maya-chen/{name}")[1])
        assert not parsed.bozo
        assert parsed.feed.title == "AURA Digital Labs: Maya Chen"
        assert parsed.feed.link == f"{SITE_URL}/authors/maya-chen"
        assert [e.title for e in parsed.entries] == ["Maya 5", "Maya 4", "Maya 3", "Maya 2", "Maya 1"]
        assert {e.author for e in parsed.entries} == {"Maya Chen", "maya CHEN"}
    feed = json.loads(server.get("/authors/grace-hopper/feed.json")[1])
    assert feed["feed_url"] == f"{SITE_URL}/authors/grace-hopper/feed.json"
    assert feed["home_page_url"] == f"{SITE_URL}/authors/grace-hopper"
    assert feed["authors"] == [{"name": "Grace Hopper"}]
    assert [item["title"] for item in feed["items"]] == ["Grace 2", "Grace 1"]
