"""The site in a real browser: Playwright driving Debian's Chromium against real gunicorn.

Desktop and phone viewports: follow the hero, toggle the theme and keep it across a reload,
search and open a result, reach a 404 and get back home; no console errors, no request to
another origin, no horizontal overflow on the phone.
"""

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
    """gunicorn over a copy of the bundled posts and static files (the real site)."""
    need_browser()
    tmp = tmp_path_factory.mktemp("site")
    posts = tmp / "content-posts"
    shutil.copytree(ROOT / "content" / "posts", posts)
    server = Server(tmp, env={"FLASK_BLOG_PUBLIC_DIR": str(ROOT / "static")}, posts=posts, name="browser")
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="module")
def browser(site):
    with launch_chromium() as chromium:
        yield chromium


@pytest.fixture(params=sorted(VIEWPORTS))
def page(request, browser, site):
    context = browser.new_context(viewport=VIEWPORTS[request.param], is_mobile=request.param == "phone")
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.problems.append(f"console: {m.text}"))
    page.on("pageerror", lambda e: page.problems.append(f"pageerror: {e}"))
    page.on(
        "request",
        lambda r: r.url.startswith((site, "data:")) or page.problems.append(f"other origin: {r.url}"),
    )
    page.on("response", lambda r: r.status >= 400 and r.url != page.url and page.problems.append(f"{r.status} {r.url}"))
    yield page
    problems = page.problems
    context.close()
    assert problems == []


def no_horizontal_overflow(page) -> bool:
    """Nothing sticks out sideways: no page scroll, and every header control fully on screen."""
    if not page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"):
        return False
    width = page.viewport_size["width"]
    for selector in (".theme-toggle", "header input[name=q]", ".site-nav a"):
        for box in (el.bounding_box() for el in page.locator(selector).all()):
            if box is None or box["x"] < 0 or box["x"] + box["width"] > width:
                return False
    return True


def test_follow_the_hero_to_its_post(page, site):
    page.goto(site + "/")
    title = page.locator(".hero-title a").inner_text()
    page.locator(".hero-title a").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title
    assert "/posts/" in page.url
    assert no_horizontal_overflow(page)
    assert page.locator("h1").count() == 1


def test_theme_toggle_persists_across_reload(page, site):
    page.goto(site + "/posts/production-rag-with-postgres-and-pgvector")
    toggle = page.locator(".theme-toggle")
    assert toggle.is_visible()
    background = "getComputedStyle(document.body).backgroundColor"
    before_theme = page.evaluate("document.documentElement.dataset.theme || ''")
    before_bg = page.evaluate(background)
    toggle.click()
    after_theme = page.evaluate("document.documentElement.dataset.theme")
    assert after_theme in ("light", "dark") and after_theme != before_theme
    assert page.evaluate(background) != before_bg
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == after_theme
    assert page.evaluate(background) != before_bg
    toggle.click()
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") != after_theme


def test_search_and_open_a_result(page, site):
    page.goto(site + "/")
    box = page.locator("header input[name=q]")
    box.fill("pgvector")
    box.press("Enter")
    page.wait_for_load_state()
    assert "/search?q=pgvector" in page.url
    first = page.locator("main a[href*='/posts/']").first
    title = first.inner_text()
    first.click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == title


def test_a_404_leads_back_home(page, site):
    response = page.goto(site + "/no/such/page")
    assert response.status == 404
    page.problems.clear()  # the 404 itself is the point here
    page.get_by_role("link", name="Back to the home page").click()
    page.wait_for_load_state()
    assert page.url == site + "/"
    assert page.locator(".hero").count() == 1


def test_bylines_line_up_with_the_text_above_them(page, site):
    """A byline's avatar, picture or initials, starts where the card's title starts: the
    <source>s of an avatar's <picture> take no room (they once pushed it right by two gaps)."""
    for path in ("/",):  # an author page's cards have no byline (tests/test_listings.py)
        page.goto(site + path)
        cards = page.locator(".card").all()
        assert cards
        for card in cards:
            title = card.locator(".card-title").bounding_box()
            avatar = card.locator(".author .avatar").bounding_box()
            assert title is not None and avatar is not None
            assert abs(avatar["x"] - title["x"]) < 1, (path, avatar["x"], title["x"])
