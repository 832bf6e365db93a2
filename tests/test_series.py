"""Series (issue 23, item 5): ``series:`` and ``seriesPart:`` in front matter, the series box on
each part, ``/series/<slug>`` with its feeds and sitemap entry, and the table of contents from
4 headings and 600 words."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import feedparser
import pytest
from flask.testing import FlaskClient

from blogapp import create_app
from blogapp.posts.post import parse_post

ROOT = Path(__file__).parent.parent
SITE = "https://blog.example.com"


def part(
    title: str,
    date: str,
    series: str | None = "Robot Basics",
    number: object = None,
    body: str = "",
    draft: bool = False,
) -> str:
    lines = ["---", f'title: "{title}"', f'date: "{date}"'] + (["draft: true"] if draft else [])
    if series is not None:
        lines.append(f'series: "{series}"')
    if number is not None:
        lines.append(f"seriesPart: {number}")
    return "\n".join([*lines, "---", body or f"The body of {title}.", ""])


@pytest.fixture
def series_site(write_post: Callable[..., Path], config: dict) -> FlaskClient:
    """Three parts written out of order: the dates disagree with seriesPart on purpose."""
    write_post("rb-wheels.md", part("Wheels", "2024-05-03T09:00:00Z", number=2))
    write_post("rb-motors.md", part("Motors", "2024-05-01T09:00:00Z", number=3))
    write_post("rb-frame.md", part("Frame", "2024-05-05T09:00:00Z", number=1))
    write_post("rb-draft.md", part("Unfinished", "2024-05-06T09:00:00Z", number=4, draft=True))
    return create_app({**config, "BLOG_SITE_URL": SITE}).test_client()


def box(html: str) -> str:
    found = re.search(r'<nav class="series-box".*?</nav>', html, re.S)
    assert found, "no series box"
    return found[0]


def parts_listed(html: str) -> list[str]:
    return re.findall(r"<li[^>]*><a [^>]*>([^<]+)</a></li>", box(html))


# -- front matter ------------------------------------------------------------------------


def parse(text: str):
    import zoneinfo

    return parse_post(text, "x.md", slug="x", timezone=zoneinfo.ZoneInfo("UTC"), default_author="A")


def test_series_and_part_are_read_from_front_matter():
    post = parse(part("One", "2024-01-01", series="  ROS 2   Basics ", number='"2"'))
    assert post.series == "ROS 2 Basics"
    assert post.series_part == 2.0
    assert post["series"] == "  ROS 2   Basics "  # still in meta, as before the blog knew it


@pytest.mark.parametrize("value", ["[a, b]", "{a: 1}", "true", '"!!!"', '"   "'])
def test_a_series_that_is_no_name_is_left_out(value):
    text = part("One", "2024-01-01", series=None).replace("---\nThe", f"series: {value}\n---\nThe")
    assert parse(text).series is None


@pytest.mark.parametrize("value", ['"two"', ".nan", ".inf", "[1]", "true"])
def test_a_series_part_that_is_no_number_is_noted_and_ignored(value):
    post = parse(part("One", "2024-01-01", number=value))
    assert post.series_part is None
    assert any("seriesPart" in note for note in post.notes)


# -- the series box on a post ----------------------------------------------------------


def test_a_part_shows_part_n_of_n_the_ordered_parts_and_its_neighbours(series_site):
    html = series_site.get("/posts/rb-wheels").get_data(as_text=True)
    shown = box(html)
    assert "Part 2 of 3" in shown
    assert parts_listed(html) == ["Frame", "Wheels", "Motors"]  # seriesPart, not the date; no draft
    assert re.search(r'<li class="current"><a href="/posts/rb-wheels" aria-current="page">Wheels</a>', shown)
    assert shown.count("aria-current") == 1
    assert re.search(r'class="series-prev" href="/posts/rb-frame">← Part 1: Frame<', shown)
    assert re.search(r'class="series-next" href="/posts/rb-motors">Part 3: Motors →<', shown)
    assert 'href="/series/robot-basics"' in shown


def test_a_part_is_part_of_a_series_in_its_json_ld(series_site):
    html = series_site.get("/posts/rb-motors").get_data(as_text=True)
    data = json.loads(re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S)[1])
    assert data["isPartOf"] == {
        "@type": "CreativeWorkSeries",
        "name": "Robot Basics",
        "url": f"{SITE}/series/robot-basics",
    }
    assert data["position"] == 3


def test_the_first_and_last_parts_have_one_neighbour(series_site):
    first = box(series_site.get("/posts/rb-frame").get_data(as_text=True))
    last = box(series_site.get("/posts/rb-motors").get_data(as_text=True))
    assert "Part 1 of 3" in first and "series-prev" not in first and "series-next" in first
    assert "Part 3 of 3" in last and "series-next" not in last and "series-prev" in last


def test_without_series_part_the_date_orders_the_series(write_post, config):
    write_post("b.md", part("Second", "2024-02-02", series="Dated"))
    write_post("a.md", part("First", "2024-01-01", series="dated"))  # another spelling: one series
    write_post("c.md", part("Third", "2024-03-03", series="DATED!"))
    html = create_app(config).test_client().get("/posts/b").get_data(as_text=True)
    assert parts_listed(html) == ["First", "Second", "Third"]
    assert "Part 2 of 3" in box(html)


def test_a_post_in_no_series_has_no_box(series_site):
    html = series_site.get("/posts/tags-as-list").get_data(as_text=True)
    assert 'class="series-box"' not in html


# -- the series page and its feeds -----------------------------------------------------


def test_the_series_page_lists_the_parts_in_order(series_site):
    response = series_site.get("/series/robot-basics")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    titles = re.findall(r'<span class="series-list-part">Part (\d)</span> <a href="/posts/([^"]+)">', html)
    assert titles == [("1", "rb-frame"), ("2", "rb-wheels"), ("3", "rb-motors")]
    assert "Unfinished" not in html
    assert f'<link rel="canonical" href="{SITE}/series/robot-basics">' in html
    for path in ("feed.xml", "atom.xml", "feed.json"):
        assert f'href="{SITE}/series/robot-basics/{path}"' in html


@pytest.mark.parametrize(
    "spelling", ["Robot-Basics", "robot basics", "ROBOT%20BASICS", "r%C3%B3bot-basics", "robot-basics-"]
)
def test_other_spellings_of_the_slug_301_to_the_canonical_one(series_site, spelling):
    for tail in ("", "/feed.xml", "/atom.xml", "/feed.json"):
        response = series_site.get(f"/series/{spelling}{tail}")
        assert response.status_code == 301, (spelling, tail)
        assert response.headers["Location"].endswith(f"/series/robot-basics{tail}")


@pytest.mark.parametrize(
    "path", ["/series/nope", "/series/---", "/series/%00", "/series/" + "a" * 5000, "/series/nope/feed.json"]
)
def test_unknown_or_hostile_series_are_404(series_site, path):
    assert series_site.get(path).status_code == 404


def test_the_series_feeds_carry_its_parts_newest_first(series_site):
    for path in ("/series/robot-basics/feed.xml", "/series/robot-basics/atom.xml"):
        feed = feedparser.parse(series_site.get(path).data)
        assert not feed.bozo, path
        assert "Robot Basics" in feed.feed.title
        assert [e.title for e in feed.entries] == ["Frame", "Wheels", "Motors"]  # by date, newest first
        assert feed.feed.link == f"{SITE}/series/robot-basics"
    data = json.loads(series_site.get("/series/robot-basics/feed.json").data)
    assert data["feed_url"] == f"{SITE}/series/robot-basics/feed.json"
    assert data["home_page_url"] == f"{SITE}/series/robot-basics"
    assert [item["title"] for item in data["items"]] == ["Frame", "Wheels", "Motors"]


def test_the_sitemap_lists_the_series_page(series_site):
    body = series_site.get("/sitemap.xml").get_data(as_text=True)
    assert f"<loc>{SITE}/series/robot-basics</loc>" in body
    assert body.count("/series/") == 2  # robot-basics and the fixture posts' "basics"


def test_a_series_whose_parts_are_all_hidden_has_no_page(write_post, config):
    write_post("d.md", part("Draft", "2024-01-01", series="Secret", draft=True))
    client = create_app(config).test_client()
    assert client.get("/series/secret").status_code == 404
    assert client.get("/series/secret/feed.xml").status_code == 404


# -- table of contents -----------------------------------------------------------------


def long_body(headings: int, words: int) -> str:
    per = words // headings
    return "\n\n".join(f"## Section {n}\n\n" + " ".join(["word"] * per) for n in range(1, headings + 1))


@pytest.mark.parametrize(
    ("headings", "words", "shown"),
    [(4, 640, True), (6, 900, True), (3, 1300, False), (4, 560, False), (5, 1300, True)],
)
def test_a_table_of_contents_from_four_headings_and_600_words(write_post, config, headings, words, shown):
    write_post("toc.md", part("Toc", "2024-01-01", series=None, body=long_body(headings, words)))
    html = create_app(config).test_client().get("/posts/toc").get_data(as_text=True)
    assert ('<nav class="toc"' in html) is shown


# -- the bundled series ----------------------------------------------------------------


@pytest.fixture
def bundled(tmp_path: Path) -> FlaskClient:
    app = create_app(
        {
            "TESTING": True,
            "BLOG_POSTS_DIR": str(ROOT / "content" / "posts"),
            "BLOG_PUBLIC_DIR": str(ROOT / "static"),
            "BLOG_STATE_DIR": str(tmp_path / "state"),
            "BLOG_IMAGE_CACHE_DIR": str(tmp_path / "images"),
            "CACHE_TYPE": "SimpleCache",
        }
    )
    return app.test_client()


def test_the_bundled_ros_2_basics_series(bundled):
    html = bundled.get("/series/ros-2-basics").get_data(as_text=True)
    assert html.count('class="series-list-part"') == 3
    middle = bundled.get("/posts/ros-2-basics-a-subscriber").get_data(as_text=True)
    assert "Part 2 of 3" in box(middle)
    assert parts_listed(middle) == [
        "ROS 2 Basics: A Workspace That Builds",
        "ROS 2 Basics: A Subscriber",
        "ROS 2 Basics: One Launch File for the Whole System",
    ]
    assert bundled.get("/posts/hardening-a-flask-app-for-production").status_code == 200
