"""Markdown to safe HTML: CommonMark + GFM tables/strikethrough/autolinks, footnotes,
heading ids, one-level heading shift, Pygments highlighting and nh3 sanitizing; for the post
page, also heading permalinks and the heading list a table of contents is built from.

With plaintext.py (the same parser, turned into plain text), the only module that imports the
markdown, highlighting and sanitizer libraries.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from typing import NamedTuple

import nh3
from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markupsafe import Markup
from markupsafe import escape
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

_FORMATTER = HtmlFormatter(nowrap=True)
_PRE = re.compile(r"<pre(?=[\s>])")
_LANG_RE = re.compile(r"[^\w+#.-]")

#: Tags and attributes a post may use once sanitized (ammonia's defaults plus
#: what our renderer emits: heading ids, footnote ids, code classes, table align).
_TAGS = set(nh3.ALLOWED_TAGS) | {"section", "figure", "figcaption", "details", "summary"}
_ATTRIBUTES = {
    **{tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()},
    "*": {"class", "id", "title", "lang", "dir"},
    "a": {"href", "hreflang", "title", "aria-label"},
    "img": {"src", "alt", "title", "width", "height", "loading"},
    "ol": {"start", "reversed", "type"},
    "li": {"value"},
    "th": {"style", "colspan", "rowspan", "scope"},
    "td": {"style", "colspan", "rowspan"},
    "pre": {"data-lang", "tabindex"},
    "div": {"tabindex", "role", "aria-label"},
    "section": {"aria-labelledby"},
    "input": {"type", "checked", "disabled"},
}


def _highlight(code: str, lang: str, _attrs: str) -> str:
    """Return a highlighted ``<pre>`` block, or "" to let markdown-it escape it plainly.

    A language Pygments does not know keeps its label but is not coloured.
    """
    lang = _LANG_RE.sub("", lang.strip().split(" ")[0].lower()) if lang else ""
    if not lang:
        return ""
    try:
        lexer = get_lexer_by_name(lang)
    except ClassNotFound:
        body = str(escape(code))
    else:
        body = highlight(code, lexer, _FORMATTER)
    # Starting with "<pre" tells markdown-it to use this block as it is.
    return f'<pre class="highlight" data-lang="{lang}"><code class="language-{lang}">{body}</code></pre>'


def _shift_headings(state: StateCore) -> None:
    """Move headings so the body's top level is h2: the page's only h1 is the post title.

    ``#`` becomes h2 and so on; a body that starts at ``##`` keeps its levels, so no level is
    ever skipped below the title (the Nu checker and axe both flag h1 -> h3).
    """
    levels = [int(t.tag[1]) for t in state.tokens if t.type == "heading_open"]
    if not levels:
        return
    offset = 2 - min(levels)
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + offset, 6)}"


class Heading(NamedTuple):
    """A body heading as the page shows it: level after the shift (2 = h2), id, plain text."""

    level: int
    id: str
    text: str


class RenderedBody(NamedTuple):
    """A post body rendered for its page: the HTML and its headings, in order."""

    html: Markup
    headings: tuple[Heading, ...]
    #: plain text shown under the title: what a leading heading repeating the title added
    #: after it (``text.subtitle``); "" for none
    subtitle: str = ""


#: Heading levels (after the shift) that get a "#" permalink on the post page.
PERMALINK_LEVELS = frozenset({2, 3, 4})
#: ``env`` key: present when a render should collect headings and add permalinks.
_HEADINGS_ENV = "blog_headings"


def _heading_text(inline: Any) -> str:
    """The plain words of a heading's inline token (text and code; breaks as spaces)."""
    parts = []
    for child in inline.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return " ".join("".join(parts).split())


def _collect_headings(state: StateCore) -> None:
    """On a page render, list the top-level headings and mark h2-h4 for a permalink.

    Runs after the anchors plugin (ids) and the heading shift (final levels). Plain renders
    (feeds, excerpts) pass no ``env`` key and are left exactly as they were.
    """
    found = state.env.get(_HEADINGS_ENV)
    if found is None:
        return
    tokens = state.tokens
    for idx, token in enumerate(tokens):
        # Only the body's own sections: a heading quoted in a blockquote or list is not one.
        if token.type != "heading_open" or token.level != 0:
            continue
        slug = token.attrGet("id")
        text = _heading_text(tokens[idx + 1])
        if not slug or not text:
            continue
        level = int(token.tag[1])
        found.append(Heading(level, str(slug), text))
        if level in PERMALINK_LEVELS:
            token.meta["permalink"] = True
            tokens[idx + 2].meta["permalink"] = (str(slug), text)  # heading_open, inline, close


_ALIGN_STYLE = re.compile(r"^text-align:(left|center|right)$")


def _alignment_classes(state: StateCore) -> None:
    """On a page render, table cell alignment becomes ``class="align-right"`` instead of
    ``style="text-align:right"``: the page's Content-Security-Policy (``style-src 'self'``)
    blocks inline styles. Feeds keep the style attribute, as readers have no stylesheet.
    """
    if _HEADINGS_ENV not in state.env:
        return
    for token in state.tokens:
        if token.type in ("th_open", "td_open"):
            match = _ALIGN_STYLE.match(str(token.attrGet("style") or ""))
            if match:
                del token.attrs["style"]
                token.attrJoin("class", f"align-{match[1]}")


def _heading_open(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    # The "#" link sits next to the heading, not inside it, so the heading's accessible name
    # (what a screen reader's heading list reads) stays its own text.
    html_ = self.renderToken(tokens, idx, options, env)
    if tokens[idx].meta.get("permalink"):
        return f'<div class="heading-wrap level-{tokens[idx].tag[1]}">' + html_
    return html_


def _heading_close(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    html_ = self.renderToken(tokens, idx, options, env)
    permalink = tokens[idx].meta.get("permalink")
    if not permalink:
        return html_
    slug, text = permalink
    label = escape(f"Link to section: {text}")
    return html_.rstrip("\n") + f'<a class="heading-anchor" href="#{escape(slug)}" aria-label="{label}">#</a></div>\n'


def _table_open(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    # A keyboard-focusable region, so a wide table can be scrolled without a mouse.
    return '<div class="table-wrap" tabindex="0" role="region" aria-label="Table">\n' + self.renderToken(
        tokens, idx, options, env
    )


def _table_close(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    return self.renderToken(tokens, idx, options, env) + "</div>\n"


def _footnote_block_open(self: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
    return (
        '<hr class="footnotes-sep">\n<section class="footnotes" aria-labelledby="footnotes-title">\n'
        '<h2 id="footnotes-title" class="visually-hidden">Footnotes</h2>\n<ol class="footnotes-list">\n'
    )


#: More ``[`` than this in one paragraph (never prose, only hostile or broken files) and the
#: paragraph is shown as written, as plain text: markdown-it-py looks for each label's end to
#: the end of the paragraph, so time grows with the square of such a run; and even with every
#: bracket escaped, its inline parser makes a token for each one (~2 s for 400,000).
MAX_BRACKETS = 500
_PLAIN = "blogapp_plain_paragraphs"


def _defuse_brackets(state: StateCore) -> None:
    """Before inline parsing: note each paragraph (or heading, or cell) with more than
    MAX_BRACKETS ``[``, for ``_plain_paragraph`` to take whole as text."""
    # By identity: the inline parser is handed each token's own content string (alive all along).
    state.env[_PLAIN] = {
        id(t.content) for t in state.tokens if t.type == "inline" and t.content.count("[") > MAX_BRACKETS
    }


def _plain_paragraph(state: StateInline, silent: bool) -> bool:
    """The first inline rule: a paragraph ``_defuse_brackets`` noted is one text token,
    its characters as written (no links, emphasis or code spans), in time linear in it."""
    if state.pos or id(state.src) not in state.env.get(_PLAIN, ()):
        return False
    if not silent:
        state.push("text", "", 0).content = state.src
    state.pos = state.posMax
    return True


def guard(md: MarkdownIt) -> MarkdownIt:
    """Add the rules every parser of post text needs against hostile input."""
    md.core.ruler.before("inline", "defuse_brackets", _defuse_brackets)
    md.inline.ruler.before("text", "plain_paragraph", _plain_paragraph)
    return md


def _new_renderer() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": True, "linkify": True, "highlight": _highlight})
    md.enable(["table", "strikethrough", "linkify"])
    md.use(footnote_plugin)
    md.use(anchors_plugin, min_level=1, max_level=6)
    md.core.ruler.push("shift_headings", _shift_headings)
    md.core.ruler.push("collect_headings", _collect_headings)
    md.core.ruler.push("alignment_classes", _alignment_classes)
    md.add_render_rule("heading_open", _heading_open)
    md.add_render_rule("heading_close", _heading_close)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("table_close", _table_close)
    md.add_render_rule("footnote_block_open", _footnote_block_open)
    return guard(md)


_local = threading.local()


def _renderer() -> MarkdownIt:
    # One renderer per thread: markdown-it keeps no per-call state on the instance, but a
    # per-thread copy keeps the offload pool's threads (big bodies) safe regardless.
    md = getattr(_local, "md", None)
    if md is None:
        md = _local.md = _new_renderer()
    return md


def sanitize_html(raw: str) -> str:
    """Strip scripts, event handlers, ``javascript:`` URLs and unknown tags."""
    return nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        filter_style_properties={"text-align"},
        link_rel="noopener",
    )


def render_body(text: str, *, trust_html: bool, for_page: bool) -> RenderedBody:
    """A post body as HTML: for its page (``render_markdown_with_toc``) or for feeds
    (``render_markdown``, no permalinks and no heading list)."""
    if for_page:
        return render_markdown_with_toc(text, trust_html=trust_html)
    return RenderedBody(render_markdown(text, trust_html=trust_html), ())


def render_markdown(text: str, *, trust_html: bool = False) -> Markup:
    """Render a post body to HTML, sanitized unless ``trust_html``."""
    return _render(text, {}, trust_html)


def render_markdown_with_toc(text: str, *, trust_html: bool = False) -> RenderedBody:
    """Render a post body for its page: as ``render_markdown``, plus the heading list.

    Each h2-h4 is wrapped with a "#" permalink to itself
    (``<div class="heading-wrap level-2"><h2 id="x">..</h2><a class="heading-anchor"
    href="#x" aria-label="Link to section: ..">#</a></div>``), and table cells are aligned
    by class rather than inline style. Feeds use ``render_markdown``, which adds no links and
    keeps inline alignment; excerpts are plain text (``text.plaintext``).
    """
    env: dict[str, Any] = {_HEADINGS_ENV: []}
    html_ = _render(text, env, trust_html)
    return RenderedBody(html_, tuple(env[_HEADINGS_ENV]))


def _render(text: str, env: dict[str, Any], trust_html: bool) -> Markup:
    # Code blocks scroll sideways: make each focusable so keyboards can scroll it too.
    raw = _PRE.sub('<pre tabindex="0"', _renderer().render(text, env))
    return Markup(raw if trust_html else sanitize_html(raw))
