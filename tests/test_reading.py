"""Reading aids on the post page: reading time, table of contents, heading permalinks (related
posts: test_related.py), image hints (lazy loading and sizes), JSON-LD BlogPosting and the PNG social card."""

from __future__ import annotations

import io
import json
import re

import pytest
from PIL import Image

from blogapp.files.paths import image_size
from blogapp.text.markup import render_markdown
from blogapp.text.markup import render_markdown_with_toc
from blogapp.text.summary import count_words
from blogapp.web.views.pages import json_for_script
from tests.conftest import post_text
from tests.htmlutil import Page

JSON_LD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def get_page(client, url: str) -> Page:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return Page(response.data)


def words(n: int, word: str = "word") -> str:
    """``n`` words of prose in paragraphs of 100."""
    return "\n\n".join(" ".join([word] * min(100, n - i)) for i in range(0, n, 100))


def json_ld(page: Page) -> dict:
    blocks = JSON_LD.findall(page.html)
    assert len(blocks) == 1
    return json.loads(blocks[0])


# --- reading time ------------------------------------------------------------------------


def reading_time(page: Page) -> str:
    return page.texts("span")[[a.get("class") for a in page.find_all("span")].index("reading-time")]


def test_reading_time_grows_with_the_body(client, write_post):
    write_post("short.md", post_text("Short", body="Just a few words here."))
    write_post("medium.md", post_text("Medium", body=words(230 * 5)))
    write_post("long.md", post_text("Long", body=words(230 * 12 + 50)))
    assert reading_time(get_page(client, "/posts/short")) == "1 min read"
    assert reading_time(get_page(client, "/posts/medium")) == "5 min read"
    assert reading_time(get_page(client, "/posts/long")) == "12 min read"


def test_reading_time_counts_prose_not_code_or_markup():
    code = "```python\n" + "x = 1\n" * 500 + "```\n"
    body = "Hello **world**, it's `code` — see [the docs](https://example.com/a/b).\n\n" + code
    body += "![a picture](/x.png) <span>ok</span>\n\n| a | b |\n|---|---|\n\n[ref]: https://example.com\n"
    # Hello, world, it's, code, see, the, docs | ok | a, b
    assert count_words(body) == 10
    assert count_words("~~~\nunclosed fence runs to the end\n") == 0


def test_reading_time_is_in_the_byline(client, write_post):
    write_post("byline.md", post_text("Byline", body=words(700)))
    page = get_page(client, "/posts/byline")
    byline = page.html[page.html.index('class="post-byline"') : page.html.index('class="post-cover"')]
    assert "3 min read" in byline


# --- table of contents and heading permalinks -------------------------------------------

LONG_BODY = "\n\n".join(
    [
        words(300),
        "## First part",
        words(300),
        "### A detail of `it`",
        words(300),
        "## Second part",
        words(300),
        "#### Too deep for the contents",
        "## Third & last",
        words(300),
    ]
)


def toc_links(page: Page) -> list[str]:
    nav = page.part('<nav class="toc" aria-label="Table of contents">', "</nav>")
    return [a["href"] for a in nav.find_all("a")] if nav else []


def test_long_post_gets_a_table_of_contents_linking_its_headings(client, write_post):
    write_post("long.md", post_text("Long", body=LONG_BODY))
    page = get_page(client, "/posts/long")
    ids = [a["id"] for tag in ("h2", "h3") for a in page.find_all(tag) if a.get("id")]
    links = toc_links(page)
    assert links == ["#first-part", "#a-detail-of-it", "#second-part", "#third--last"]
    assert {link[1:] for link in links} <= set(ids)
    assert "#too-deep-for-the-contents" not in links
    # Placed before the body, h3 nested under its h2.
    assert page.html.index('aria-label="Table of contents"') < page.html.index('class="prose"')
    nav = page.html[page.html.index('class="toc"') :]
    assert re.search(r'href="#first-part">First part</a>\s*<ol>\s*<li><a href="#a-detail-of-it">', nav)


@pytest.mark.parametrize(
    "body",
    [
        "## One\n\nshort\n\n## Two\n\nshort\n\n## Three\n\nshort",  # enough headings, few words
        words(1500) + "\n\n## One\n\n" + words(10) + "\n\n## Two\n\ntext",  # many words, 2 headings
    ],
)
def test_short_or_flat_posts_have_no_table_of_contents(client, write_post, body):
    write_post("short.md", post_text("Short", body=body))
    page = get_page(client, "/posts/short")
    assert 'aria-label="Table of contents"' not in page.html
    assert page.find_all("h2", id="one")


def test_headings_h2_to_h4_get_a_permalink_beside_them(client, write_post):
    write_post("long.md", post_text("Long", body=LONG_BODY + "\n\n##### Smallest\n\ntext"))
    page = get_page(client, "/posts/long")
    anchors = page.find_all("a", **{"class": "heading-anchor"})
    assert [(a["href"], a["aria-label"]) for a in anchors] == [
        ("#first-part", "Link to section: First part"),
        ("#a-detail-of-it", "Link to section: A detail of it"),
        ("#second-part", "Link to section: Second part"),
        ("#too-deep-for-the-contents", "Link to section: Too deep for the contents"),
        ("#third--last", "Link to section: Third & last"),
    ]
    # Beside the heading, not inside it: the heading's own name stays its text.
    assert page.texts("h2")[:3] == ["First part", "Second part", "Third & last"]
    assert re.search(r'<h2 id="first-part">First part</h2><a class="heading-anchor" href="#first-part"', page.html)
    assert not page.find_all("a", href="#smallest")


def test_permalinks_survive_sanitizing_but_stay_out_of_feeds_and_excerpts(client, write_post):
    rendered = render_markdown_with_toc("# Title <b>bold</b>\n\ntext\n\n> ## Quoted\n")
    assert 'aria-label="Link to section: Title bold"' in rendered.html
    # A heading quoted in a blockquote is not a section of the post.
    assert [(h.level, h.id, h.text) for h in rendered.headings] == [(2, "title-bold", "Title bold")]
    assert "heading-anchor" not in render_markdown("# Title\n\ntext")
    write_post("feedme.md", post_text("Feed me", date="2025-01-01T00:00:00Z", body="## Partition\n\ntext"))
    feed = client.get("/feed.xml").data
    assert b"Partition" in feed
    assert b"heading-anchor" not in feed


def test_page_aligns_table_cells_with_classes_not_inline_styles(client, write_post):
    write_post("table.md", post_text("Table", body="| a | b |\n|:--|--:|\n| 1 | 2 |"))
    page = get_page(client, "/posts/table")
    assert page.find_all("td", **{"class": "align-right"})
    assert "style=" not in page.html
    assert 'style="text-align:right"' in render_markdown("| a | b |\n|:--|--:|\n| 1 | 2 |")


# --- images in the body -------------------------------------------------------------------


def test_body_images_load_lazily_with_their_real_size(client, write_post, public_dir):
    Image.new("RGB", (640, 360), "teal").save(public_dir / "assets" / "blog" / "pic.png")
    body = (
        "![A picture](/assets/blog/pic.png)\n\n![Gone](/assets/blog/missing.png)\n\n"
        "![Far](https://example.com/x.png)\n\n![Near](../assets/blog/pic.png?v=2)\n\n"
        '<img src="/assets/blog/pic.png" alt="sized" width="10" loading="eager">'
    )
    write_post("pics.md", post_text("Pictures", body=body))
    page = get_page(client, "/posts/pics")
    images = {img["alt"]: img for img in page.find_all("img") if img.get("alt")}
    assert images["A picture"] == {
        "src": "/assets/blog/pic.png",
        "alt": "A picture",
        "loading": "lazy",
        "decoding": "async",
        "width": "640",
        "height": "360",
    }
    for alt in ("Gone", "Far"):
        assert images[alt]["loading"] == "lazy" and images[alt]["decoding"] == "async"
        assert "width" not in images[alt] and "height" not in images[alt]
    assert (images["Near"]["width"], images["Near"]["height"]) == ("640", "360")
    # What the author set stays.
    assert images["sized"]["loading"] == "eager" and images["sized"]["width"] == "10"
    assert "height" not in images["sized"]


def test_image_size_is_read_again_when_the_file_changes(tmp_path):
    path = tmp_path / "x.png"
    Image.new("RGB", (30, 20)).save(path)
    assert image_size(str(path)) == (30, 20)
    Image.new("RGB", (50, 10)).save(path)
    assert image_size(str(path)) == (50, 10)
    (tmp_path / "d.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 150"></svg>')
    assert image_size(str(tmp_path / "d.svg")) == (300, 150)
    (tmp_path / "not.png").write_text("not an image")
    assert image_size(str(tmp_path / "not.png")) is None
    assert image_size(str(tmp_path / "missing.png")) is None


# --- JSON-LD ------------------------------------------------------------------------------


def test_json_ld_blog_posting_has_the_fields_search_engines_want(client):
    page = get_page(client, "/posts/hello-world")
    data = json_ld(page)
    assert data["@context"] == "https://schema.org"
    assert data["@type"] == "BlogPosting"
    assert data["headline"] == "Hello World"
    assert data["description"] == page.meta("description")
    assert data["datePublished"] == "2024-03-01T09:00:00+00:00"
    assert data["dateModified"]
    assert data["author"]["@type"] == "Person" and data["author"]["name"] == "Ada Lovelace"
    assert data["author"]["url"] == "http://localhost/authors/ada-lovelace"
    assert data["image"] == "http://localhost/assets/blog/cover.png"
    assert data["publisher"]["@type"] == "Organization"
    assert data["publisher"]["name"] == "AURA Digital Labs"
    assert data["publisher"]["logo"]["url"] == "http://localhost/static/favicon.svg"
    assert data["mainEntityOfPage"]["@id"] == page.link("canonical") == "http://localhost/posts/hello-world"
    assert data["keywords"] == ["python", "flask"]


def test_json_ld_cannot_be_broken_out_of(client, write_post):
    title = "</script><script>alert(1)</script> & <!--"
    write_post("evil.md", post_text(title, body="Text."))
    page = get_page(client, "/posts/evil")
    assert "<script>alert(1)" not in page.html
    script = JSON_LD.findall(page.html)[0]
    assert "<" not in script and ">" not in script and "&" not in script
    data = json_ld(page)
    assert data["headline"] == title
    # The site's own name as author is an organisation.
    assert data["author"] == {
        "@type": "Organization",
        "name": "AURA Digital Labs",
        "url": "http://localhost/authors/aura-digital-labs",
    }
    assert data["image"] == "http://localhost/posts/evil/card.png"


def test_json_for_script_escapes_what_html_or_old_javascript_would_read():
    text = "</script><!--&\u2028\u2029é"
    out = json_for_script({"t": text})
    assert out == '{"t":"\\u003c/script\\u003e\\u003c!--\\u0026\\u2028\\u2029é"}'
    assert json.loads(out) == {"t": text}


# --- social card ----------------------------------------------------------------------------


def test_card_is_a_1200_by_630_png(client, write_post):
    write_post("carded.md", post_text("A card for a post with a rather long title that wraps onto lines"))
    response = client.get("/posts/carded/card.png")
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.headers["ETag"]
    with Image.open(io.BytesIO(response.data)) as image:
        assert image.format == "PNG"
        assert image.size == (1200, 630)
        assert len(image.convert("RGB").getcolors(1_000_000)) > 10  # a gradient and text, not a blank
    # Cached whole, like every other page.
    assert client.get("/posts/carded/card.png").headers["X-Cache"] == "LOCAL"


def test_og_image_is_the_png_card_when_the_post_has_no_cover(client, write_post):
    write_post("bare.md", post_text("Bare"))
    page = get_page(client, "/posts/bare")
    assert page.meta("og:image") == "http://localhost/posts/bare/card.png"
    assert page.meta("twitter:image") == "http://localhost/posts/bare/card.png"


def test_on_page_cover_stays_the_svg_placeholder(client, write_post):
    write_post("bare.md", post_text("Bare"))
    page = get_page(client, "/posts/bare")
    assert page.find_all("img", src="/posts/bare/cover.svg")
    assert json_ld(page)["image"] == "http://localhost/posts/bare/card.png"


@pytest.mark.parametrize("url", ["/posts/no-such-post", "/posts/no-such-post/card.png", "/posts/draft/card.png"])
def test_unknown_slugs_are_404(client, url):
    assert client.get(url).status_code == 404
