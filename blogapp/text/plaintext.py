"""Markdown to plain text, from markdown-it's token stream: what a reader sees of a text.

Excerpts, meta descriptions, feed summaries and reading time all come from here (search keeps
its own cheaper stripper, see searchtext.py). The parser is markup.py's, without what only shapes
HTML, and carries the same guard against quadratic inputs.
"""

from __future__ import annotations

import html
import re
import threading
from typing import Any

import nh3
from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin

from .markup import guard

_local = threading.local()

#: Kinds of text in a markdown document, as ``markdown_to_text`` sorts them.
PROSE, HEADINGS, CODE, ALT, NOTES = "prose", "headings", "code", "alt", "notes"
#: Not a kind of text: asks for the text from the first paragraph of prose on.
FROM_FIRST_PARAGRAPH = "from-first-paragraph"
#: Excerpts and meta descriptions: what the page shows in the flow, code included.
EXCERPT = frozenset({PROSE, HEADINGS, CODE})
#: An excerpt made from the body: what the page shows in the flow from its first paragraph of
#: prose on, headings left out (a listing card under the post's title should not open with
#: "Introduction", nor with a heading repeating the title).
LEAD = frozenset({PROSE, CODE, FROM_FIRST_PARAGRAPH})
#: Reading time: what a reader reads word by word (code blocks are skimmed).
READING = frozenset({PROSE, HEADINGS, NOTES})
#: Search: every word on the page.
EVERYTHING = frozenset({PROSE, HEADINGS, CODE, ALT, NOTES})

#: Markdown that stays text when it was cut mid-way (an excerpt a generator cut by characters,
#: "Forecasting? **A groundbreaking"): "**" or "~~" runs, a "*" or "_" opening or closing
#: emphasis at a word's edge (not "5 * 3" nor "snake_case"), and a link cut before its end
#: ("[text](https://exa"). Only text tokens are cleaned: inline code keeps every character.
_RESIDUE = re.compile(
    r"\*{2,}|~{2,}|(?<![\w*])\*(?=[^\s*])|(?<=[^\s*])\*(?![\w*])|(?<![\w_])_(?=[^\W_])|(?<=[^\W_])_(?![\w_])"
)
_CUT_LINK = re.compile(r"\[([^\[\]]*)\]\([^\s()]*\)?")

_SCRIPT_OPEN = re.compile(r"<(?:script|style)\b", re.IGNORECASE)
_SCRIPT_CLOSE = re.compile(r"</(?:script|style)\b", re.IGNORECASE)


def _new_text_parser() -> MarkdownIt:
    """The renderer's syntax without what only shapes HTML (linkify, heading ids, highlighting):
    the same blocks and inlines, so the same text, for a third of the parsing."""
    md = MarkdownIt("commonmark", {"html": True})
    md.enable(["table", "strikethrough"])
    md.use(footnote_plugin)
    return guard(md)


def _text_parser() -> MarkdownIt:
    md = getattr(_local, "text_md", None)
    if md is None:
        md = _local.text_md = _new_text_parser()
    return md


def markdown_to_text(text: str, kinds: frozenset[str] = EXCERPT) -> str:
    """The words of a markdown text, in order, whitespace collapsed: what a reader sees of it.

    Built from markdown-it's token stream (the renderer's parser, linear in the text), so no
    syntax leaks and no pattern of ours runs over the text. ``kinds`` picks what counts: prose
    (paragraphs, headings, lists, tables, inline code, the text of raw HTML but scripts and
    styles), code blocks, image alt text, footnotes. Defaults to EXCERPT.
    """
    return markdown_texts(text, kinds)[0]


def markdown_texts(text: str, *kinds: frozenset[str]) -> tuple[str, ...]:
    """``markdown_to_text`` for each set of ``kinds``, from one parse of ``text``."""
    segments, first_paragraph = _segments(_text_parser().parse(text))
    texts = []
    for wanted in kinds:
        shown = segments[first_paragraph:] if FROM_FIRST_PARAGRAPH in wanted else segments
        texts.append(" ".join("".join(part for kind, part in shown if kind in wanted).split()))
    return tuple(texts)


def _segments(tokens: list[Any]) -> tuple[list[tuple[str, str]], int]:
    """(kind, text) of every piece of text in document order (blocks end with a space), and
    the index of the first segment of the first paragraph with prose in it (the length of
    the list when there is none)."""
    found: list[tuple[str, str]] = []
    first_paragraph = -1
    in_notes = in_heading = in_paragraph = False
    for token in tokens:
        if token.type in ("footnote_block_open", "footnote_block_close"):
            in_notes = token.type == "footnote_block_open"
        elif token.type in ("heading_open", "heading_close"):
            in_heading = token.type == "heading_open"
        elif token.type in ("paragraph_open", "paragraph_close"):
            in_paragraph = token.type == "paragraph_open"
        elif token.type == "inline":
            kind = NOTES if in_notes else HEADINGS if in_heading else PROSE
            inline = _inline_segments(token.children or (), kind)
            if first_paragraph < 0 and in_paragraph and not in_notes and _has_words(inline):
                first_paragraph = len(found)
            found += inline
        elif token.type in ("fence", "code_block"):
            found.append((CODE, token.content))
        elif token.type == "html_block":
            found.append((NOTES if in_notes else PROSE, _html_text(token.content)))
        else:
            continue
        found.append((PROSE, " "))
    return found, first_paragraph if first_paragraph >= 0 else len(found)


def _has_words(segments: list[tuple[str, str]]) -> bool:
    return any(kind == PROSE and part.strip() for kind, part in segments)


def _inline_segments(children: Any, kind: str) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    in_script = False
    for child in children:
        if child.type == "html_inline":
            if _SCRIPT_OPEN.match(child.content):
                in_script = True
            elif _SCRIPT_CLOSE.match(child.content):
                in_script = False
        elif in_script:
            continue
        elif child.type == "text":
            found.append((kind, without_residue(child.content)))
        elif child.type == "code_inline":
            found.append((kind, child.content))
        elif child.type in ("softbreak", "hardbreak"):
            found.append((kind, " "))
        elif child.type == "image":
            found += [(ALT, part) for _, part in _inline_segments(child.children or (), ALT)]
            found.append((kind, " "))
    return found


def without_residue(text: str) -> str:
    """A text token without the markdown a cut left in it as text (``_RESIDUE``)."""
    if not any(mark in text for mark in "*_~["):
        return text
    return _RESIDUE.sub("", _CUT_LINK.sub(r"\1", text))


def _html_text(raw: str) -> str:
    """The text of a block of raw HTML: tags, comments, scripts and styles removed."""
    return html.unescape(nh3.clean(raw, tags=set(), clean_content_tags={"script", "style"}))
