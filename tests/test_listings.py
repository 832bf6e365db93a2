"""Issue 23, item 7: listings. No orphan card at any width (in Chromium), no byline on an
author's own page, a <title> that never doubles the site's name, one search box on the search
page at every width, and "Tags" in the navigation only when a post has tags."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import post_text
from tests.servers import Server
from tests.support import launch_chromium
from tests.support import need_browser

ROOT = Path(__file__).parent.parent
SITE_NAME = "AURA Digital Labs"  # BLOG_TITLE's default


def write_posts(folder: Path, count: int, author: str = SITE_NAME, **fields: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        date = f"2026-0{1 + i // 28}-{1 + i % 28:02d}T10:00:00Z"
        text = post_text(f"Post number {i}", date, f"Body of post {i}.", author=f'"{author}"', **fields)
        (folder / f"post-{i:02d}.md").write_text(text)


# --- through the test client ------------------------------------------------------------------


def test_no_byline_on_the_authors_own_page(client, posts_dir):
    write_posts(posts_dir, 4, author="Maya Chen")
    html = client.get("/authors/maya-chen").get_data(as_text=True)
    assert html.count('<article class="card') == 4
    assert 'class="author"' not in html.split('<div class="grid">', 1)[1]
    home = client.get("/").get_data(as_text=True)
    assert 'rel="author">Maya Chen</a>' in home  # other listings keep it


def test_the_site_as_author_has_its_name_once_in_the_title(client, posts_dir):
    write_posts(posts_dir, 12)
    for path in ("/authors/aura-digital-labs", "/authors/aura-digital-labs/page/2"):
        html = client.get(path).get_data(as_text=True)
        title = re.search(r"<title>(.*?)</title>", html)[1]
        assert title.count(SITE_NAME) == 1, title
    post = client.get("/posts/post-03").get_data(as_text=True)
    assert re.search(r"<title>(.*?)</title>", post)[1] == f"Post number 3 | {SITE_NAME}"


def test_tags_in_the_navigation_only_when_posts_have_tags(config, tmp_path):
    from blogapp import create_app

    posts_dir = tmp_path / "untagged"
    config = {**config, "BLOG_POSTS_DIR": str(posts_dir)}
    write_posts(posts_dir, 2)
    nav = re.compile(r'<nav class="site-nav".*?</nav>', re.S)
    html = create_app(config).test_client().get("/").get_data(as_text=True)
    assert ">Tags</a>" not in nav.search(html)[0]
    (posts_dir / "tagged.md").write_text(post_text("Tagged", "2026-03-01T10:00:00Z", "B.", tags="[robots]"))
    html = create_app(config).test_client().get("/").get_data(as_text=True)
    assert ">Tags</a>" in nav.search(html)[0]


def test_the_search_page_has_one_search_form(client):
    html = client.get("/search?q=hello").get_data(as_text=True)
    assert html.count('type="search"') == 1 and html.count('role="search"') == 1
    assert client.get("/").get_data(as_text=True).count('role="search"') == 1  # elsewhere: the header's


# --- in Chromium ------------------------------------------------------------------------------

WIDTHS = (390, 800, 1280, 1600)


@pytest.fixture(scope="module")
def listing_site(tmp_path_factory):
    """gunicorn over 17 posts by one author: home pages of 9 and 7 cards, author pages of 10
    and 7, a tag page of 5 and one of 2, and one of a single post."""
    need_browser()
    tmp = tmp_path_factory.mktemp("listings")
    posts = tmp / "posts"
    write_posts(posts, 17, author="Ada Lovelace")
    for i in range(5):
        text = (posts / f"post-{i:02d}.md").read_text().replace("---\nBody", "---\nBody", 1)
        (posts / f"post-{i:02d}.md").write_text(text.replace('author: "Ada', 'tags: [five]\nauthor: "Ada', 1))
    for i in (5, 6):
        text = (posts / f"post-{i:02d}.md").read_text()
        (posts / f"post-{i:02d}.md").write_text(text.replace('author: "Ada', 'tags: [two]\nauthor: "Ada', 1))
    text = (posts / "post-07.md").read_text()
    (posts / "post-07.md").write_text(text.replace('author: "Ada', 'tags: [one]\nauthor: "Ada', 1))
    server = Server(tmp, env={"FLASK_BLOG_PUBLIC_DIR": str(ROOT / "static")}, posts=posts, name="listings")
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="module")
def chromium(listing_site):
    with launch_chromium() as browser:
        yield browser


ROWS = """() => {
  const grid = document.querySelector('.grid');
  const box = grid.getBoundingClientRect();
  const rows = new Map();
  for (const card of grid.children) {
    const r = card.getBoundingClientRect();
    const top = Math.round(r.top);
    if (!rows.has(top)) rows.set(top, []);
    rows.get(top).push({left: r.left, right: r.right});
  }
  return {left: box.left, right: box.right, rows: [...rows.values()]};
}"""

LISTINGS = {
    "/": 9,
    "/page/2": 7,
    "/authors/ada-lovelace": 10,
    "/authors/ada-lovelace/page/2": 7,
    "/tags/five": 5,
    "/tags/two": 2,
    "/tags/one": 1,
}


@pytest.mark.parametrize("width", WIDTHS)
def test_no_orphan_cards_and_no_gaps_at_any_width(chromium, listing_site, width):
    context = chromium.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    try:
        for path, count in LISTINGS.items():
            page.goto(listing_site + path)
            grid = page.evaluate(ROWS)
            rows = grid["rows"]
            assert sum(len(row) for row in rows) == count, path
            sizes = [len(row) for row in rows]
            if len(rows) > 1:
                widest = max(sizes)
                assert not (sizes[-1] == 1 and widest > 1), f"{path} at {width}px: rows of {sizes}"
                assert not (sizes[0] == 1 and sizes[-1] == 1 and widest > 1), f"{path} at {width}px: {sizes}"
            for row in rows:  # every row spans the grid: no hole where a card is missing
                assert abs(row[0]["left"] - grid["left"]) < 2, f"{path} at {width}px"
                assert abs(row[-1]["right"] - grid["right"]) < 2, f"{path} at {width}px: rows of {sizes}"
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_one_search_box_on_the_search_page(chromium, listing_site, width):
    context = chromium.new_context(viewport={"width": width, "height": 900}, is_mobile=width < 500)
    page = context.new_page()
    try:
        page.goto(listing_site + "/search?q=post")
        assert page.locator("input[type=search]:visible").count() == 1
        page.goto(listing_site + "/")
        assert page.locator("input[type=search]:visible").count() == 1
    finally:
        context.close()
