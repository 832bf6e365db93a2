"""Issue 23, item 4: code that tutorial readers can use, in Chromium over gunicorn. A Copy
button on every code block that works under the site's CSP (static/js/code.js, no inline
script), reached by keyboard and announced; a visible "Scroll →" on a block whose lines run
past its edge; a tab two spaces wide on phones, four elsewhere; heading "#" links placed the
same way on every heading and, on pointer devices, shown on hover or focus only."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import post_text
from tests.servers import Server
from tests.support import launch_chromium
from tests.support import need_browser

ROOT = Path(__file__).parent.parent
LONG = "    node = rclpy.create_node('talker_with_a_rather_long_name', namespace='/robots/arm/left', parameters=[])"
BODY = f"""Some prose before the code.

## Publishing a message from a node that has a long and wrapping heading title

```python
import rclpy

def main():
{LONG}
\treturn node
```

## Short

```
echo short
```

### A third heading

Text.
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    need_browser()
    tmp = tmp_path_factory.mktemp("code")
    posts = tmp / "posts"
    posts.mkdir()
    (posts / "ros.md").write_text(post_text("ROS Publishers", "2026-01-01T00:00:00Z", BODY))
    server = Server(tmp, env={"FLASK_BLOG_PUBLIC_DIR": str(ROOT / "static")}, posts=posts, name="code")
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


@pytest.fixture(scope="module")
def chromium(site):
    with launch_chromium() as browser:
        yield browser


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}


@pytest.fixture(params=["desktop", "phone"])
def page(request, chromium, site):
    options = DESKTOP if request.param == "desktop" else PHONE
    context = chromium.new_context(**options)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
    page = context.new_page()
    page.problems = []  # type: ignore[attr-defined]
    page.on("console", lambda m: m.type == "error" and page.problems.append(m.text))
    page.on("pageerror", lambda e: page.problems.append(str(e)))
    page.kind = request.param  # type: ignore[attr-defined]
    page.goto(site + "/posts/ros")
    yield page
    assert page.problems == []  # a CSP violation is a console error
    context.close()


def test_every_block_has_a_copy_button_that_copies_by_keyboard(page):
    buttons = page.locator(".code-block .code-copy")
    assert buttons.count() == 2 == page.locator(".prose pre").count()
    assert page.get_by_role("button", name="Copy python code").count() == 1
    assert page.get_by_role("button", name="Copy code").count() == 1
    first = page.get_by_role("button", name="Copy python code")
    first.focus()
    page.keyboard.press("Enter")
    settles(lambda: "copied" in page.locator("[role=status]").text_content())
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied == f"import rclpy\n\ndef main():\n{LONG}\n\treturn node"
    assert first.text_content() == "Copied"
    live = page.locator("[role=status]")
    assert live.get_attribute("aria-live") == "polite" and "copied" in live.text_content()
    page.keyboard.press("Tab")  # on to the next focusable thing: the button is in the tab order
    assert page.evaluate("document.activeElement.tagName") in ("A", "BUTTON", "PRE")


def test_the_script_is_a_file_under_the_csp(page, site):
    html = page.content()
    assert "/static/js/code." in html
    response = page.request.get(site + "/posts/ros")
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_a_block_that_scrolls_says_so(page):
    long_block, short_block = page.locator(".code-block").all()
    hint = long_block.locator(".code-scroll-hint")
    assert hint.is_visible() and hint.text_content() == "Scroll →"
    assert not short_block.locator(".code-scroll-hint").is_visible()
    long_block.locator("pre").evaluate("pre => { pre.scrollLeft = pre.scrollWidth; }")
    settles(lambda: "at-end" in long_block.get_attribute("class"))
    assert not hint.is_visible()  # at the end: nothing more to the right


def test_tab_size(page):
    size = page.locator(".prose pre").first.evaluate("pre => getComputedStyle(pre).tabSize")
    assert size == ("2" if page.kind == "phone" else "4")


def test_heading_anchors_sit_the_same_way_on_every_heading(page):
    places = page.evaluate(
        """() => [...document.querySelectorAll('.prose .heading-wrap')].map(wrap => {
            const h = wrap.querySelector('h2, h3, h4'), a = wrap.querySelector('.heading-anchor');
            const lines = h.getClientRects(), first = lines[0], last = lines[lines.length - 1];
            const r = a.getBoundingClientRect();
            return {lines: lines.length, firstLeft: first.left, firstTop: first.top, lastRight: last.right,
                    lastBottom: last.bottom, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
        })"""
    )
    assert len(places) == 3
    if page.kind == "desktop":  # hangs left of the first line
        for p in places:
            assert abs(p["right"] - p["firstLeft"]) < 6 and abs(p["top"] - p["firstTop"]) < 8, p
    else:  # follows the last word, on the last line
        assert places[0]["lines"] > 1  # the long heading wraps on a phone
        for p in places:
            assert 0 <= p["left"] - p["lastRight"] < 16 and abs(p["bottom"] - p["lastBottom"]) < 10, p


def test_heading_anchors_show_on_hover_or_focus_on_pointer_devices(page):
    anchor = page.locator(".heading-anchor").first
    opacity = "el => getComputedStyle(el).opacity"
    if page.kind == "phone":  # no hover on a touch screen: always shown
        assert anchor.evaluate(opacity) == "1"
        return
    assert anchor.evaluate(opacity) == "0"
    page.locator(".prose h2").first.hover()
    settles(lambda: anchor.evaluate(opacity) == "1")
    page.mouse.move(0, 0)
    settles(lambda: anchor.evaluate(opacity) == "0")
    anchor.focus()
    settles(lambda: anchor.evaluate(opacity) == "1")


def settles(check, timeout: float = 3.0) -> None:
    """Wait for ``check()`` (the fade is a .15 s transition). The page's CSP refuses the
    string expressions Playwright's wait_for_function would evaluate."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "never settled"
        time.sleep(0.05)


def luminance(rgb: str) -> float:
    parts = [float(x) for x in rgb[rgb.index("(") + 1 : rgb.index(")")].replace(",", " ").split()[:3]]
    lin = [(c / 255 / 12.92) if c / 255 <= 0.03928 else ((c / 255 + 0.055) / 1.055) ** 2.4 for c in parts]
    return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_tools_are_legible_in_both_themes(chromium, site, scheme):
    context = chromium.new_context(**PHONE, color_scheme=scheme)
    page = context.new_page()
    try:
        page.goto(site + "/posts/ros")
        colours = "el => [getComputedStyle(el).color, getComputedStyle(el).backgroundColor]"
        for selector in (".code-copy", ".code-scroll-hint"):
            text, background = page.locator(selector).first.evaluate(colours)
            assert contrast(text, background) >= 4.5, (scheme, selector, text, background)
    finally:
        context.close()
