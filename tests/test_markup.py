"""render_markdown() and markdown_to_text(): the structure of what blog-starter posts contain,
compared with GitHub's cmark-gfm as the CommonMark reference; footnotes, heading ids, code
highlighting, no markdown leaking as text; sanitizing untrusted HTML and trusting it on request.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import cmarkgfm
import pytest
from cmarkgfm.cmark import Options
from markupsafe import Markup

from blogapp.text.markup import render_markdown
from blogapp.text.plaintext import markdown_to_text

VOID = {"br", "hr", "img", "input", "wbr"}


def reference_html(text: str, options: int = 0) -> str:
    """GitHub's rendering (tables, strikethrough, autolinks, tasklists), raw HTML kept."""
    return cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE | options)


class _Structure(HTMLParser):
    """Reduce HTML to ("<tag", attrs...) / ("</tag",) / ("text", words) items."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.items: list[tuple[str, ...]] = []
        self.text: list[str] = []
        self.divs: list[bool] = []  # per open div: is it our table wrapper (skipped)?

    def _tag(self, tag: str) -> str:
        return "del" if tag == "s" else tag  # both renderers' strikethrough

    def _flush(self) -> None:
        words = " ".join("".join(self.text).split())
        if words:
            self.items.append(("text", words))
        self.text = []

    def handle_starttag(self, tag, attrs):
        if tag in ("span", "tbody"):  # Pygments tokens; cmark-gfm omits an empty tbody
            return
        if tag == "div":
            self.divs.append(("class", "table-wrap") in attrs)  # our scrollable table wrapper
            if self.divs[-1]:
                return
        self._flush()
        extra = tuple(f"start={value}" for name, value in attrs if tag == "ol" and name == "start")
        self.items.append((f"<{self._tag(tag)}", *extra))

    def handle_endtag(self, tag):
        if tag in ("span", "tbody") or tag in VOID:
            return
        if tag == "div" and self.divs and self.divs.pop():
            return
        self._flush()
        self.items.append((f"</{self._tag(tag)}",))

    def handle_data(self, data):
        self.text.append(data)

    def close(self):
        super().close()
        self._flush()


def structure(html: str) -> list[tuple[str, ...]]:
    """Structural items, with heading levels made relative (the top level becomes h1).

    We move body headings so the top one is h2 under the title; relative levels are what
    must match the reference.
    """
    parser = _Structure()
    parser.feed(html)
    parser.close()
    levels = [int(item[0][-1]) for item in parser.items if re.fullmatch(r"</?h[1-6]", item[0])]
    top = min(levels, default=1)

    def relative(name: str) -> str:
        match = re.fullmatch(r"(</?)h([1-6])", name)
        return f"{match[1]}h{int(match[2]) - top + 1}" if match else name

    return [(relative(item[0]), *item[1:]) for item in parser.items]


def tags(html: str) -> list[str]:
    return [item[0] for item in structure(html) if item[0] != "text"]


def ours(text: str, **kwargs) -> Markup:
    return render_markdown(text, **kwargs)


# --- structure against cmark-gfm ------------------------------------------------------------

SNIPPETS = {
    "fence-in-ordered-item": "1. Install:\n\n   ```bash\n   pip install flask\n   ```\n\n2. Run it.\n",
    "fence-in-tight-item": "- step\n  ```python\n  print('hi')\n  ```\n- next\n",
    "fence-no-language": "```\nplain <code> & stuff\n```\n",
    "indented-code": "Para.\n\n    indented code\n    more\n",
    "ordered-start-3": "3. three\n4. four\n5. five\n",
    "ordered-start-3-after-paragraph": "Steps:\n\n3. three\n4. four\n",
    "nested-2-space": "- a\n  - b\n    - c\n  - d\n- e\n",
    "nested-ordered-in-bullet": "- a\n  1. one\n  2. two\n- b\n",
    "loose-list": "- a\n\n- b\n",
    "reference-links": "See [the docs][docs] and [Flask][] and [collapsed].\n\n"
    '[docs]: https://example.com/docs "The docs"\n[flask]: https://flask.palletsprojects.com\n'
    "[collapsed]: /posts/other\n",
    "inline-link-and-image": "A [link](/posts/x 'title') and ![alt](/assets/blog/x.png).\n",
    "table-with-alignment": "| left | centre | right |\n|:-----|:------:|------:|\n| a | b | c |\n| d | e | f |\n",
    "table-header-only": "| a | b |\n|---|---|\n",
    "table-inline-markup": "| code | link |\n|---|---|\n| `x` | [y](/y) |\n",
    "strikethrough": "This is ~~gone~~ and ~~also gone~~.\n",
    "autolink-angle": "Go to <https://example.com/a?b=c>.\n",
    "autolink-bare": "Go to https://example.com/path and on.\n",
    "autolink-email": "Mail <hello@example.com>.\n",
    "blockquote": "> Quoted *text*\n> continues\n>\n> > nested\n",
    "hard-break-spaces": "line one  \nline two\n",
    "hard-break-backslash": "line one\\\nline two\n",
    "soft-break": "line one\nline two\n",
    "emphasis-nested": "***both*** and *a **b** c* and **a *b* c**\n",
    "emphasis-intraword-underscore": "snake_case_name and __init__ and _single_\n",
    "emphasis-unbalanced": "**not closed* and *also\n",
    "emphasis-punctuation": '*"quoted"* and **(paren)**\n',
    "inline-code-with-backticks": "Use ``a `tick` here`` please.\n",
    "escaped-markdown": "\\*not emphasis\\* and \\# not heading\n",
    "headings": "# One\n\ntext\n\n## Two\n\n### Three\n\nSetext\n------\n",
    "thematic-break": "a\n\n---\n\nb\n",
    "html-block": "<details>\n<summary>More</summary>\n\nHidden *markdown*.\n\n</details>\n",
    "html-inline": "H<sub>2</sub>O and <kbd>Ctrl</kbd>+<kbd>C</kbd>.\n",
    "entities": "&copy; &amp; &#65; &lt;tag&gt;\n",
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_structure_matches_cmark_gfm(name):
    text = SNIPPETS[name]
    assert structure(ours(text)) == structure(reference_html(text))


@pytest.mark.parametrize("name", ["html-block", "html-inline"])
def test_trusted_html_structure_matches_cmark_gfm(name):
    text = SNIPPETS[name]
    assert structure(ours(text, trust_html=True)) == structure(reference_html(text))


def test_fence_in_list_item_is_a_code_block():
    html = ours(SNIPPETS["fence-in-ordered-item"])
    items = tags(html)
    li = items.index("<li")
    assert items[li : li + 6] == ["<li", "<p", "</p", "<pre", "<code", "</code"]
    assert "```" not in html
    assert "pip install flask" in markdown_to_text(SNIPPETS["fence-in-ordered-item"])


def test_ordered_list_keeps_its_start():
    assert '<ol start="3">' in ours(SNIPPETS["ordered-start-3"])


def test_table_alignment_survives_sanitizing():
    html = ours(SNIPPETS["table-with-alignment"])
    assert 'style="text-align:left"' in html
    assert 'style="text-align:center"' in html
    assert 'style="text-align:right"' in html


def test_structure_helper_sees_differences():
    """The comparison would notice a fence turned into inline code, or a lost start number."""
    assert structure("<p><code>x</code></p>") != structure("<pre><code>x</code></pre>")
    assert structure('<ol start="3"><li>a</li></ol>') != structure("<ol><li>a</li></ol>")
    assert structure("<h2>a</h2><h3>b</h3>") == structure("<h1>a</h1><h2>b</h2>")
    assert structure("<h2>a</h2><h4>b</h4>") != structure("<h1>a</h1><h2>b</h2>")


# --- features beyond the reference -------------------------------------------------------


def test_footnotes():
    text = "A claim.[^1] Another.[^note]\n\n[^1]: The source.\n[^note]: More *detail*.\n"
    html = ours(text)
    refs = re.findall(r'<sup[^>]*><a href="#([^"]+)"[^>]*>', html)
    assert len(refs) == 2
    section = html[html.index("<section") :]
    assert 'class="footnotes"' in section
    for target in refs:
        assert f'id="{target}"' in section
    assert "The source." in section
    assert "<em>detail</em>" in section
    assert "[^" not in html


def test_footnote_structure_matches_cmark_gfm_outside_the_section():
    text = "A claim.[^1]\n\n[^1]: The source.\n"
    reference = reference_html(text, Options.CMARK_OPT_FOOTNOTES)
    assert "<sup" in reference
    body = ours(text).split('<hr class="footnotes-sep"', 1)[0]
    assert tags(body) == tags(reference.split("<section", 1)[0]) == ["<p", "<sup", "<a", "</a", "</sup", "</p"]


def test_headings_get_ids_and_shift_one_level():
    html = ours("# Intro\n\n## Details Here\n\n###### Deepest\n")
    assert re.search(r'<h2 id="intro">Intro</h2>', html)
    assert re.search(r'<h3 id="details-here">Details Here</h3>', html)
    assert "<h6" in html
    assert "<h7" not in html
    assert "<h1" not in html


def test_body_starting_at_h2_keeps_its_levels():
    """No level is skipped under the title: h1 -> h3 fails the Nu checker and axe."""
    html = ours("## Setup\n\ntext\n\n### Details\n")
    assert re.findall(r"<(h\d)", html) == ["h2", "h3"]


def test_tables_and_code_blocks_are_keyboard_scrollable():
    html = ours("| a | b |\n|---|---|\n| 1 | 2 |\n\n```\nplain\n```\n\n    indented\n")
    assert '<div class="table-wrap" tabindex="0" role="region" aria-label="Table">' in html
    assert html.count('<pre tabindex="0"') == 2


def test_footnotes_section_has_a_heading():
    html = ours("A claim.[^1]\n\n[^1]: The source.\n")
    assert '<h2 id="footnotes-title" class="visually-hidden">Footnotes</h2>' in html


def test_duplicate_headings_get_distinct_ids():
    html = ours("# Setup\n\ntext\n\n## Setup\n\nmore\n\n### Setup\n")
    ids = re.findall(r'<h\d id="([^"]+)"', html)
    assert len(ids) == 3
    assert len(set(ids)) == 3


def test_code_is_highlighted_with_pygments_classes():
    html = ours("```python\ndef f():\n    return 1\n```\n")
    assert '<pre tabindex="0" class="highlight" data-lang="python">' in html
    assert '<span class="k">def</span>' in html
    assert '<span class="nf">f</span>' in html


def test_code_language_label_is_normalized():
    assert 'data-lang="python"' in ours("```Python {linenos}\nx = 1\n```\n")


def test_unknown_language_keeps_escaped_text():
    html = ours("```nosuchlang\n<b>bold</b> & more\n```\n")
    assert 'data-lang="nosuchlang"' in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html
    assert "<b>" not in html


def test_code_without_language_is_escaped_and_not_highlighted():
    html = ours("```\n<script>x</script>\n```\n")
    assert "&lt;script&gt;" in html
    assert "<span" not in html


@pytest.mark.parametrize(
    ("text", "leak"),
    [
        ("```python\nx = 1\n```\n", "```"),
        ("~~~\nx\n~~~\n", "~~~"),
        ("Claim.[^1]\n\n[^1]: Note.\n", "[^1]"),
        ("~~gone~~\n", "~~"),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n", "|---"),
        ("| a | b |\n|---|---|\n| 1 | 2 |\n", "| 1"),
        ("[ref][r]\n\n[r]: /x\n", "[r]"),
        ("**bold**\n", "**"),
        ("# Heading\n", "# "),
        ("1. a\n\n   ```\n   code\n   ```\n", "```"),
    ],
)
def test_no_markdown_syntax_leaks(text, leak):
    assert leak not in ours(text)


# --- sanitizing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "banned"),
    [
        ("<script>alert(1)</script>\n\nText.", ["<script", "alert(1)"]),
        ("Inline <script>alert(1)</script> text.", ["<script"]),
        ('<img src="/x.png" onerror="alert(1)">', ["onerror", "alert"]),
        ('<a href="/x" onclick="steal()">x</a>', ["onclick", "steal"]),
        ('<div onmouseover="x()">d</div>', ["onmouseover"]),
        ('<a href="javascript:alert(1)">x</a>', ["javascript", "alert"]),
        ('<a href="JaVaScRiPt:alert(1)">x</a>', ["javascript", "alert"]),
        ('<a href="&#106;avascript:alert(1)">x</a>', ["javascript", "alert", "&#106;"]),
        ('<a href="&#x6A;avascript&#x3A;alert(1)">x</a>', ["javascript", "alert", "&#x6a;"]),
        ('<a href="jav&#x09;ascript:alert(1)">x</a>', ["ascript", "alert"]),
        ('<a href=" javascript:alert(1)">x</a>', ["javascript", "alert"]),
        ("[x](javascript:alert(1))", ['href="javascript']),
        ("[x](JAVASCRIPT:alert(1))", ['href="javascript']),
        ("<JAVASCRIPT:alert(1)>", ['href="javascript']),
        ('<img src="javascript:alert(1)">', ["javascript"]),
        ('<iframe src="https://evil.example/"></iframe>', ["<iframe", "evil.example"]),
        ("<style>body { display: none }</style>", ["<style", "display"]),
        ('<object data="x.swf"></object>', ["<object", "x.swf"]),
        ('<embed src="x.swf">', ["<embed"]),
        ("<svg onload=alert(1)></svg>", ["onload", "<svg"]),
        ('<form action="https://evil.example/"><input name=q></form>', ["<form", "evil.example"]),
        ('<p style="position:fixed">x</p>', ["position"]),
    ],
)
def test_untrusted_html_is_sanitized(text, banned):
    html = ours(text).lower()
    for needle in banned:
        assert needle.lower() not in html


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("<details>\n<summary>More</summary>\n\nHidden.\n\n</details>\n", ["<details>", "<summary>More</summary>"]),
        ("H<sub>2</sub>O", ["<sub>2</sub>"]),
        ("x<sup>2</sup>", ["<sup>2</sup>"]),
        ("<kbd>Ctrl</kbd>", ["<kbd>Ctrl</kbd>"]),
        ('<a href="https://example.com/" title="t">x</a>', ['href="https://example.com/"', 'title="t"']),
        ('<img src="/assets/blog/x.png" alt="An X">', ['src="/assets/blog/x.png"', 'alt="An X"']),
        ('<a href="mailto:a@example.com">mail</a>', ['href="mailto:a@example.com"']),
    ],
)
def test_harmless_html_is_kept(text, kept):
    html = ours(text)
    for needle in kept:
        assert needle in html


def test_only_text_align_styles_survive():
    html = ours('<table><tr><td style="text-align:right;position:fixed">x</td></tr></table>')
    assert "text-align:right" in html
    assert "position" not in html


def test_sanitizing_keeps_what_the_renderer_emits():
    text = "# Title\n\nClaim.[^1]\n\n```python\nx = 1\n```\n\n3. a\n\n[^1]: Note.\n"
    assert structure(ours(text)) == structure(ours(text, trust_html=True))
    html = ours(text)
    assert 'id="title"' in html
    assert 'data-lang="python"' in html
    assert 'class="highlight"' in html
    assert 'href="#fn1"' in html or 'href="#fn-1"' in html


def test_trusted_html_passes_through():
    embed = '<iframe src="https://www.youtube.com/embed/abc" allowfullscreen></iframe>'
    script = '<script src="https://example.com/widget.js"></script>'
    html = ours(f'{embed}\n\n{script}\n\n<p onclick="go()">x</p>\n', trust_html=True)
    assert embed in html
    assert script in html
    assert 'onclick="go()"' in html
    assert "<iframe" not in ours(embed)


def test_render_returns_markup():
    assert isinstance(ours("x"), Markup)
    assert isinstance(ours("x", trust_html=True), Markup)


# --- markdown_to_text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**Bold** and *it* and ~~gone~~", "Bold and it and gone"),
        ("# Heading\n\nPara &mdash; here &amp; there.", "Heading Para — here & there."),
        ("A [link](/posts/x) here.", "A link here."),
        ("Use `code` &copy; 2024", "Use code © 2024"),
        ("- one\n- two\n\n> quoted", "one two quoted"),
        ("<b>raw</b> html &lt;kept as text&gt;", "raw html <kept as text>"),
        ("<script>alert(1)</script>Visible", "Visible"),
        ("Claim.[^1]\n\n[^1]: Source.", "Claim."),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "a b 1 2"),
        ("", ""),
    ],
)
def test_markdown_to_text(text, expected):
    assert markdown_to_text(text) == expected


def test_markdown_to_text_has_no_markup_left():
    text = "## Heading\n\n**bold** _it_ [l](/x) `c` ~~s~~ &amp; &#65;\n\n```py\nx = 1\n```\n"
    plain = markdown_to_text(text)
    assert not re.search(r"[<>*_`~#\[\]]|&\w+;|&#\d+;", plain)
    assert "bold" in plain
    assert "A" in plain.split()


def test_markdown_to_text_drops_images_without_leaking_syntax():
    plain = markdown_to_text("![Cover](/assets/blog/x.png)\n\nFirst words.")
    assert plain.endswith("First words.")
    assert "![" not in plain
    assert "](" not in plain
