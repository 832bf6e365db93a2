"""The PNG social card names the site once, also when the site is the post's author."""

from __future__ import annotations

import pytest

from blogapp.images.social import card_footer
from blogapp.images.social import render_card
from tests.conftest import post_text

SITE = "AURA Digital Labs"


@pytest.mark.parametrize("author", [SITE, "aura digital labs", "  AURA   Digital Labs ", "AURA Digital Lábs"])
def test_footer_names_the_site_once_when_it_is_the_author(author):
    assert card_footer(SITE, (author, "May 1, 2024")) == f"{SITE}  ·  May 1, 2024"


def test_footer_names_another_author_and_skips_empty_parts():
    assert card_footer(SITE, ("Maya Chen", "May 1, 2024")) == f"{SITE}  ·  Maya Chen  ·  May 1, 2024"
    assert card_footer(SITE, ("", "May 1, 2024")) == f"{SITE}  ·  May 1, 2024"
    assert card_footer(SITE) == SITE
    # A site name with no letters still shows every part (nothing to compare by).
    assert card_footer("!!!", ("!!!", "May 1, 2024")) == "!!!  ·  !!!  ·  May 1, 2024"


def test_card_of_a_post_by_the_site_shows_the_site_once(client, write_post):
    site = client.application.config["BLOG_TITLE"]
    assert site == SITE
    write_post("by-site.md", post_text("By the site", author=f'"{site.lower()}"'))
    write_post("by-maya.md", post_text("By Maya", author="{name: Maya Chen}"))
    by_site = client.get("/posts/by-site/card.png")
    by_maya = client.get("/posts/by-maya/card.png")
    assert by_site.status_code == by_maya.status_code == 200
    assert by_site.data == render_card("By the site", "by-site", site, byline=("May 1, 2024",))
    assert by_maya.data == render_card("By Maya", "by-maya", site, byline=("Maya Chen", "May 1, 2024"))
