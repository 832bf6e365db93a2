"""Plain words of a markdown text for the search index, cheaply: syntax removed by regexes.

Not plaintext.py's token walk, which excerpts and reading time use and which is exact: each
worker's first search or post page indexes every visible post (related posts query the same
index), and parsing with markdown-it costs many times as much as these few linear expressions
(bench/README.md has the figures). What
differs is only what a search can see: both keep the words of prose, code, link text and alt
text; this one also keeps the words of reference definitions.

The private-use characters SNIPPET_OPEN and SNIPPET_CLOSE are removed from every text: search.py
puts them around matches in snippets, so in a snippet they only ever come from there.
"""

from __future__ import annotations

import html
import re

SNIPPET_OPEN, SNIPPET_CLOSE = "\ue000", "\ue001"
_MARKERS = str.maketrans("", "", SNIPPET_OPEN + SNIPPET_CLOSE)
_PUNCTUATION = str.maketrans({"*": None, "`": None, "|": " ", "#": " "})


def drop_marks(text: str) -> str:
    """``text`` without the snippet sentinels (for fields indexed as written: titles, tags)."""
    return text.translate(_MARKERS)


# Markdown syntax, removed cheaply (no rendering). Python's re scans fast only for patterns
# that start with a literal, so line-anchored rules start with "\n" (the text gets one in
# front) rather than "^" with re.M, and single marker characters go by str.translate.
# Punctuation never makes a token (FTS5 splits on it); these rules are for what would
# (URLs, tag names, entities) and for what snippets show.
#
# Every rule runs in time linear in the text, whatever it holds: a repeat never overlaps what
# follows it (so a failed match gives back each character once), and a span that looks for its
# end ("[...](...)", "<...>") stops at the next opener of its kind, so no two attempts scan the
# same run of text. Comments, scripts and styles are found by a loop that searches for each
# end once (``_drop_raw_html``). tests/test_hostile_content.py feeds each rule the inputs
# that made the earlier patterns quadratic ("[" or "<!--" repeated 200,000 times on a line).
_FENCE = re.compile(r"\n[ \t]{0,3}(`{3,}|~{3,})[^\n]*(.*?)(?:\n[ \t]{0,3}\1[ \t]*(?=\n)|\Z)", re.S)
_RAW_START = re.compile(r"<!--|<(script|style)\b[^<>]*>", re.I)
_RAW_END = {
    "": re.compile("-->"),
    "script": re.compile(r"</script\b[^<>]*>", re.I),
    "style": re.compile(r"</style\b[^<>]*>", re.I),
}
_AUTOLINK = re.compile(r"<((?:https?|ftp|mailto):[^<>\s]*)>", re.I)
_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9-]*(?:\s[^<>]*)?/?>")
# A link destination: anything but brackets and newlines, with one level of (balanced) parens.
_DESTINATION = r"\((?:[^()\n]|\([^()\n]*\))*\)"
_IMAGE = re.compile(r"!\[([^\[\]\n]*)\]" + _DESTINATION)
_LINK = re.compile(r"\[([^\[\]\n]*)\]" + _DESTINATION)
_REF_LINK = re.compile(r"\[([^\[\]\n]+)\]\[[^\[\]\n]*\]")
_FOOTNOTE_REF = re.compile(r"\[\^[^\[\]\n]*\]:?")
_REF_DEF = re.compile(r"\n[ \t]{0,3}\[[^\[\]\n]+\]:[^\n]*")
_LINE_START = re.compile(r"\n[ \t]*(?:#{1,6}[ \t]|(?:>[ \t]?)+|[-+][ \t]|\d{1,9}[.)][ \t]|[|:-][ \t|:-]*(?=\n))")


def strip_markdown(text: str) -> str:
    """Plain words of a markdown text, cheaply: syntax removed by regexes, not rendered.

    Fenced code keeps its text as it is; elsewhere HTML loses its tags (scripts and styles
    their content too), links and images keep their text, and markers go.
    """
    text = "\n" + text.translate(_MARKERS).replace("\r", "")
    parts: list[str] = []
    at = 0
    for fence in _FENCE.finditer(text):
        parts.append(_strip_prose(text[at : fence.start()]))
        parts.append(fence.group(2))
        at = fence.end()
    parts.append(_strip_prose(text[at:]))
    return " ".join(" ".join(parts).split())


def _drop_raw_html(text: str) -> str:
    """``text`` without HTML comments, scripts and styles (an unclosed one stays as text).

    Each end is searched for once: when a kind has no end after some point, it has none
    after any later point either, and its later openings are left alone.
    """
    out: list[str] = []
    at, unclosed = 0, set()
    for start in _RAW_START.finditer(text):
        kind = (start[1] or "").lower()
        if start.start() < at or kind in unclosed:
            continue
        end = _RAW_END[kind].search(text, start.end())
        if end is None:
            unclosed.add(kind)
            continue
        out += [text[at : start.start()], " "]
        at = end.end()
    out.append(text[at:])
    return "".join(out)


def _strip_prose(text: str) -> str:
    if "<" in text:
        text = _drop_raw_html(text)
        text = _AUTOLINK.sub(r"\1", text)
        text = _TAG.sub(" ", text)
    if "[" in text:
        text = _IMAGE.sub(r"\1", text)
        text = _LINK.sub(r"\1", text)
        text = _REF_LINK.sub(r"\1", text)
        text = _FOOTNOTE_REF.sub("", text)
        text = _REF_DEF.sub("\n", text)
    text = _LINE_START.sub("\n", text)
    if "&" in text:  # before "#" goes, or "&#35;" would be broken
        text = html.unescape(text).translate(_MARKERS)
    return text.replace("~~", "").translate(_PUNCTUATION)
