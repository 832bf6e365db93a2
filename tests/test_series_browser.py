"""The series box in a real browser (Chromium through Playwright, gunicorn over the bundled
posts): "Part 2 of 3", the parts in order with the current one marked and set apart, previous
and next that lead to their parts, nothing sticking out on a phone."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from .servers import Server
from .support import launch_chromium
from .support import need_browser

ROOT = Path(__file__).parent.parent
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    need_browser()
    tmp = tmp_path_factory.mktemp("series-site")
    posts = tmp / "content-posts"
    shutil.copytree(ROOT / "content" / "posts", posts)
    server = Server(tmp, env={"FLASK_BLOG_PUBLIC_DIR": str(ROOT / "static")}, posts=posts, name="series-browser")
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.mark.parametrize("viewport", sorted(VIEWPORTS))
def test_the_series_box_in_chromium(site, viewport):
    with launch_chromium() as browser:
        context = browser.new_context(viewport=VIEWPORTS[viewport], is_mobile=viewport == "phone")
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.goto(site + "/posts/ros-2-basics-a-subscriber")
        box = page.locator("nav.series-box")
        assert box.is_visible()
        assert "Part 2 of 3" in box.locator(".series-title").inner_text()
        items = box.locator(".series-parts li")
        assert items.count() == 3
        current = box.locator("[aria-current=page]")
        assert current.count() == 1 and current.inner_text() == "ROS 2 Basics: A Subscriber"
        other = items.nth(0).locator("a")
        weights = [int(a.evaluate("e => getComputedStyle(e).fontWeight")) for a in (current, other)]
        assert weights[0] > weights[1], weights  # the current part is set apart, not only announced
        # Above the body: the reader sees where they are before reading.
        assert box.bounding_box()["y"] < page.locator(".prose").bounding_box()["y"]
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.locator(".series-next").click()
        page.wait_for_url("**/posts/ros-2-basics-launch-files")
        assert "Part 3 of 3" in page.locator(".series-title").inner_text()
        page.locator(".series-title a").click()
        page.wait_for_url("**/series/ros-2-basics")
        assert page.locator(".series-list > li").count() == 3
        assert errors == []
