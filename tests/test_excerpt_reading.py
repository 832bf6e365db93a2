"""Issue 23, item 1: listing excerpts never repeat the title (any separator, glued or not, any
case), never show markdown syntax cut mid-way, and an excerpt made from the body starts at its
first paragraph of prose."""

from __future__ import annotations

import re
from html import unescape

import pytest

from blogapp.posts.titles import after_title
from blogapp.text.plaintext import markdown_to_text
from blogapp.text.summary import clean_excerpt
from tests.conftest import post_text


@pytest.mark.parametrize(
    "excerpt",
    [
        "Big News: The tech is here.",  # glued separator: what the issue found on 24 cards
        "Big News : The tech is here.",
        "Big News— The tech is here.",
        "Big News —The tech is here.",
        "Big News|The tech is here.",
        "BIG NEWS - The tech is here.",
        "big news. The tech is here.",
        "Big  News  The tech is here.",
        "**Big News**: The tech is here.",
        "Big News! The tech is here.",
    ],
)
def test_the_title_is_dropped_whatever_separates_it(excerpt):
    assert clean_excerpt(markdown_to_text(excerpt), "Big News") == "The tech is here."


def test_a_title_with_punctuation_of_its_own_is_dropped():
    title = "What's New in Python 3.13? A Tour"
    text = "What's new in Python 3.13? A tour: Python 3.13 brings a new REPL."
    assert clean_excerpt(text, title) == "Python 3.13 brings a new REPL."
    assert clean_excerpt("ROS C++ Programming: Nodes in C++.", "ROS C++ Programming") == "Nodes in C++."


@pytest.mark.parametrize(
    "excerpt",
    [
        "Big Newsroom tales: the tech.",  # the title's last word goes on: another word
        "Big News, and what it means.",  # a comma continues the sentence
        "Big news keeps coming.",  # no separator, lower case: a sentence
    ],
)
def test_a_sentence_that_starts_like_the_title_is_kept(excerpt):
    assert clean_excerpt(excerpt, "Big News") == excerpt


def test_after_title_is_none_without_a_repeat():
    assert after_title("Other words", "Big News") is None
    assert after_title("Big News", "Big News") == ""
    assert after_title("anything", "!!!") is None


@pytest.mark.parametrize(
    ("markdown", "shown"),
    [
        ("Forecasting? **A groundbreaking model", "Forecasting? A groundbreaking model"),
        ("Weather **A bold move", "Weather A bold move"),
        ("Cut ~~strike here", "Cut strike here"),
        ("An *emphasis cut", "An emphasis cut"),
        ("See [the docs](https://exa", "See the docs"),
        ("Math 5 * 3 stays, snake_case stays, `*args` and `__init__` stay", None),
    ],
)
def test_markdown_cut_mid_way_is_not_shown(markdown, shown):
    assert markdown_to_text(markdown) == (shown or markdown.replace("`", ""))


BODY = "## Introduction\n\n![A cover](/x.png)\n\nThe first paragraph of prose.\n\n## Next\n\nMore."


def test_listing_cards_show_the_clean_excerpts(client, write_post):
    write_post("a.md", post_text("Big News", date="2026-06-03T00:00:00Z", excerpt="'Big News: The tech **is here'"))
    write_post("b.md", post_text("From the Body", date="2026-06-02T00:00:00Z", body=BODY))
    write_post("c.md", post_text("Third", date="2026-06-01T00:00:00Z", body="Third body."))
    html = client.get("/").get_data(as_text=True)
    text = unescape(re.sub(r"<[^>]+>", " ", html))
    assert "The tech is here" in text
    assert "Big News: The tech" not in text and "**" not in text
    assert "The first paragraph of prose." in text
    assert "Introduction The first" not in text and "Introduction A cover" not in text
    page = client.get("/posts/b").get_data(as_text=True)
    description = re.search(r'<meta name="description" content="([^"]*)"', page)[1]
    assert unescape(description).startswith("The first paragraph of prose.")


def test_a_body_without_prose_still_has_an_excerpt(client, write_post):
    write_post("code-only.md", post_text("Code Only", date="2026-06-04T00:00:00Z", body="```\nmake all\n```"))
    html = client.get("/").get_data(as_text=True)
    assert "make all" in html
