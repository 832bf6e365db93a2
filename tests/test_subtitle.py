"""Issue 23, item 2: a leading heading that repeats the title plus a subtitle ("## ROS C++
Programming for Robotics: A Deep Dive") is shown as the subtitle under the h1, not as an h2;
feeds, the meta description and the table of contents follow; ``check --strict`` names it."""

from __future__ import annotations

import re
from html import unescape

import feedparser
import pytest

from blogapp.text.subtitle import split_subtitle
from tests.conftest import post_text

TITLE = "ROS C++ Programming for Robotics"
PROSE = " ".join(["Robots move when their nodes talk to each other over topics."] * 130)
BODY = (
    f"## {TITLE}: A Deep Dive\n\n{PROSE}\n\n## Nodes\n\nText.\n\n## Topics\n\nText.\n\n"
    "### Publishers\n\nText.\n\n## Services\n\nText."
)


@pytest.mark.parametrize(
    ("body", "subtitle", "rest"),
    [
        (f"# {TITLE}: A Deep Dive\n\nText.", "A Deep Dive", "Text."),
        ("## ros c++ programming for robotics — A Deep Dive\n\nText.", "A Deep Dive", "Text."),
        (f"\n\n### **{TITLE}**:A Deep Dive ###\n\nText.", "A Deep Dive", "Text."),
        (f"{TITLE} | A Deep Dive\n========\n\nText.", "A Deep Dive", "Text."),
        (f"## {TITLE}\n\nText.", "", "Text."),  # the title alone: dropped, no subtitle
        ("## Programming for Robotics: A Deep Dive\n\nText.", "", None),  # another heading: kept
        (f"## {TITLE} in Depth\n\nText.", "", None),  # no separator: a heading of its own
        (f"Intro.\n\n## {TITLE}: A Deep Dive", "", None),  # not the first block
    ],
)
def test_split_subtitle(body, subtitle, rest):
    parts = split_subtitle(body, TITLE)
    assert parts.subtitle == subtitle
    assert parts.body == (body if rest is None else rest)


def test_a_hostile_first_line_is_bounded():
    body = "#" * 200_000 + " x\n" + " " * 100_000
    assert split_subtitle(body, "x").body == body


@pytest.fixture
def deep_dive(write_post):
    write_post("ros-cpp.md", post_text(TITLE, date="2026-06-02T00:00:00Z", body=BODY))


def test_the_page_shows_the_subtitle_under_the_h1(client, deep_dive):
    html = client.get("/posts/ros-cpp").get_data(as_text=True)
    assert '<h1 class="post-title">ROS C++ Programming for Robotics</h1>' in html
    assert '<p class="post-subtitle">A Deep Dive</p>' in html
    headings = [unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<h[2-6][^>]*>(.*?)</h[2-6]>", html)]
    assert not any(TITLE in h for h in headings)
    assert '<h2 id="nodes">Nodes</h2>' in html


def test_the_table_of_contents_and_meta_description_leave_it_out(client, deep_dive):
    html = client.get("/posts/ros-cpp").get_data(as_text=True)
    toc = re.search(r'<nav class="toc".*?</nav>', html, re.S)[0]
    assert "Nodes" in toc and "Publishers" in toc and "Deep Dive" not in toc
    description = unescape(re.search(r'<meta name="description" content="([^"]*)"', html)[1])
    assert description.startswith("Robots move when")


@pytest.mark.parametrize("path", ["/feed.xml", "/atom.xml"])
def test_feeds_open_with_the_subtitle_not_the_title_again(client, deep_dive, path):
    entry = feedparser.parse(client.get(path).data).entries[0]
    html = entry.content[0].value
    assert html.startswith("<p><strong>A Deep Dive</strong></p>")
    assert TITLE not in html
    assert not entry.summary.startswith(TITLE)


def test_json_feed_opens_with_the_subtitle(client, deep_dive):
    item = client.get("/feed.json").get_json()["items"][0]
    assert item["content_html"].startswith("<p><strong>A Deep Dive</strong></p>")


def test_check_strict_still_names_the_post(runner, deep_dive):
    result = runner.invoke(args=["check", "--strict"])
    assert "ros-cpp.md: warning: the body starts with a heading that repeats the title" in result.stdout


def test_the_bundled_ros_post_shows_its_subtitle(tmp_path):
    """content/posts has a post that opens with "## <title>: <subtitle>", as moved-over
    generator posts do: the README's screenshots and the browser tests show it."""
    from pathlib import Path

    from blogapp import create_app

    root = Path(__file__).parent.parent
    app = create_app(
        {
            "TESTING": True,
            "BLOG_POSTS_DIR": str(root / "content" / "posts"),
            "BLOG_PUBLIC_DIR": str(root / "static"),
            "BLOG_STATE_DIR": str(tmp_path / "state"),
            "BLOG_IMAGE_CACHE_DIR": str(tmp_path / "images"),
            "CACHE_TYPE": "SimpleCache",
        }
    )
    html = app.test_client().get("/posts/publishing-from-a-ros-2-node").get_data(as_text=True)
    assert '<p class="post-subtitle">A First rclpy Publisher</p>' in html
    assert "/static/js/code." in html
