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
PROSE, CODE, ALT, NOTES = "prose", "code", "alt", "notes"
#: Excerpts and meta descriptions: what the page shows in the flow, code included.
EXCERPT = frozenset({PROSE, CODE})
#: Reading time: what a reader reads word by word (code blocks are skimmed).
READING = frozenset({PROSE, NOTES})
#: Search: every word on the page.
EVERYTHING = frozenset({PROSE, CODE, ALT, NOTES})

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
    segments = _segments(_text_parser().parse(text))
    return tuple(" ".join("".join(part for kind, part in segments if kind in wanted).split()) for wanted in kinds)


def _segments(tokens: list[Any]) -> list[tuple[str, str]]:
    """(kind, text) of every piece of text in document order; blocks end with a space."""
    found: list[tuple[str, str]] = []
    in_notes = False
    for token in tokens:
        if token.type in ("footnote_block_open", "footnote_block_close"):
            in_notes = token.type == "footnote_block_open"
        elif token.type == "inline":
            found += _inline_segments(token.children or (), NOTES if in_notes else PROSE)
        elif token.type in ("fence", "code_block"):
            found.append((CODE, token.content))
        elif token.type == "html_block":
            found.append((NOTES if in_notes else PROSE, _html_text(token.content)))
        else:
            continue
        found.append((PROSE, " "))
    return found


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
        elif child.type in ("text", "code_inline"):
            found.append((kind, child.content))
        elif child.type in ("softbreak", "hardbreak"):
            found.append((kind, " "))
        elif child.type == "image":
            found += [(ALT, part) for _, part in _inline_segments(child.children or (), ALT)]
            found.append((kind, " "))
    return found


def _html_text(raw: str) -> str:
    """The text of a block of raw HTML: tags, comments, scripts and styles removed."""
    return html.unescape(nh3.clean(raw, tags=set(), clean_content_tags={"script", "style"}))
