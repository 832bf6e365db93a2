"""Issue 23, item 6: feeds show covers. Every format's content opens with the cover as an
``<img>`` of its 1200-px variant (absolute URL); the enclosure and JSON Feed ``image`` name
that variant with its real length and type, never the multi-megabyte original."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import feedparser
import pytest
from PIL import Image

from blogapp import create_app
from tests.conftest import DATA
from tests.conftest import post_text
from tests.imagefiles import save_photo
from tests.servers import Server

SITE = "https://blog.example.com"
VARIANT = re.compile(r"/_img/assets/big/cover\.jpg/[0-9a-f]{16}-1200\.jpg$")


@pytest.fixture
def photo_site(config, posts_dir, public_dir, write_post):
    save_photo(public_dir / "assets" / "big" / "cover.jpg", 2400, 1260, "JPEG", quality=90)
    write_post("photo.md", post_text("Photo", "2026-11-01T10:00:00Z", "Body text.", coverImage="/assets/big/cover.jpg"))
    app = create_app({**config, "BLOG_SITE_URL": SITE})
    return app.test_client()


def fetched(client, url: str) -> bytes:
    assert url.startswith(SITE + "/")
    response = client.get(url[len(SITE) :])
    assert response.status_code == 200, url
    data = response.data
    response.close()
    return data


def opening_img(html: str) -> dict[str, str]:
    """The attributes of the ``<img>`` that ``html`` opens with (feedparser reorders them)."""
    tag = re.match(r"\s*<img\b([^>]*)>", html)
    assert tag, html[:200]
    return dict(re.findall(r'(\w+)="([^"]*)"', tag[1]))


def check_cover(client, url: str, length: int | str, mimetype: str) -> None:
    assert VARIANT.search(url), url
    data = fetched(client, url)
    assert int(length) == len(data) and mimetype == "image/jpeg"
    with Image.open(io.BytesIO(data)) as image:
        assert image.width == 1200


@pytest.mark.parametrize("path", ["/feed.xml", "/atom.xml"])
def test_xml_feeds_open_with_the_variant_and_enclose_it(photo_site, path):
    entry = feedparser.parse(photo_site.get(path).data).entries[0]
    assert entry.title == "Photo"
    html = entry.content[0].value
    img = opening_img(html)
    assert (img["alt"], img["width"], img["height"]) == ("", "1200", "630")
    (enclosure,) = entry.enclosures
    assert enclosure.href == img["src"]
    check_cover(photo_site, enclosure.href, enclosure.length, enclosure.type)
    assert '/assets/big/cover.jpg"' not in html  # never the original


def test_json_feed_opens_with_the_variant_and_names_it(photo_site):
    item = photo_site.get("/feed.json").get_json()["items"][0]
    assert item["content_html"].startswith(f'<img src="{item["image"]}" alt="" width="1200" height="630">')
    check_cover(photo_site, item["image"], len(fetched(photo_site, item["image"])), "image/jpeg")


def test_a_small_cover_is_named_as_it_is(client):
    """tests/data's cover.png is 120 px wide: no variant, the file itself, with its size."""
    entry = next(e for e in feedparser.parse(client.get("/feed.xml").data).entries if e.title == "Hello World")
    img = opening_img(entry.content[0].value)
    assert img["src"].endswith("/assets/blog/cover.png") and (img["width"], img["height"]) == ("120", "63")
    assert entry.enclosures[0].href == img["src"]
    assert int(entry.enclosures[0].length) == (DATA / "public" / "assets" / "blog" / "cover.png").stat().st_size


def test_under_a_mount_prefix_over_gunicorn(tmp_path: Path):
    shutil.copytree(DATA / "posts", tmp_path / "posts")
    shutil.copytree(DATA / "public", tmp_path / "public")
    save_photo(tmp_path / "public" / "assets" / "big" / "cover.jpg", 2400, 1260, "JPEG", quality=90)
    text = post_text("Photo", "2026-11-01T10:00:00Z", "Body.", coverImage="/assets/big/cover.jpg")
    (tmp_path / "posts" / "photo.md").write_text(text)
    env = {"SCRIPT_NAME": "/blog", "FLASK_BLOG_SITE_URL": "https://example.org/blog"}
    server = Server(tmp_path, env=env, posts=tmp_path / "posts", name="covers")
    try:
        status, body = server.get("/blog/feed.xml")
        assert status == 200
        entry = feedparser.parse(body).entries[0]
        (enclosure,) = entry.enclosures
        assert enclosure.href.startswith("https://example.org/blog/_img/assets/big/cover.jpg/")
        assert opening_img(entry.content[0].value)["src"] == enclosure.href
        status, data = server.get(enclosure.href[len("https://example.org") :])
        assert status == 200 and len(data) == int(enclosure.length) < 400_000
    finally:
        server.stop()


def test_a_remote_cover_opens_the_entry_without_an_enclosure(client, write_post):
    cover = "https://images.example.net/a/cover.jpg?w=1200&q=80"
    write_post("remote.md", post_text("Remote", "2026-11-02T10:00:00Z", "Body.", coverImage=f'"{cover}"'))
    entry = feedparser.parse(client.get("/feed.xml").data).entries[0]
    assert entry.title == "Remote"
    assert opening_img(entry.content[0].value)["src"] == cover.replace("&", "&amp;")
    assert not entry.get("enclosures")
