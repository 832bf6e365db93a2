"""A post's title repeated where readers should not see it again: at the start of an excerpt
or as the body's first heading. No Flask.

Site generators write both: an excerpt that opens with the title ("Big News: The tech…",
"BIG NEWS — The tech…") and a body whose first heading is the title plus a subtitle ("## ROS
C++ Programming for Robotics: A Deep Dive" under the title "ROS C++ Programming for
Robotics"). ``after_title`` says what follows such a repeat, whatever separates it, in any
letter case; ``leading_heading`` finds the heading a body opens with.
"""

from __future__ import annotations

import re
from typing import NamedTuple

_WORD = re.compile(r"[^\W_]+")
#: What may stand between a repeated title and what follows it, glued or spaced.
SEPARATORS = ":–—-|·.!?/"
#: Longest first line looked at as a heading (longer is prose, and keeps the work bounded).
_MAX_HEADING = 1000


def after_title(text: str, title: str, *, sentence: bool = True) -> str | None:
    """What follows a leading copy of ``title`` in ``text``, or None when there is none.

    The copy is the title's words in order, in any letter case, with any punctuation, markup
    or spacing around and between them (``**Big News**:``, ``Big News:``, ``big  news —``).
    It counts as a repeat when a separator (``SEPARATORS``) follows it, or nothing at all
    ("" is returned), or, with ``sentence``, a new sentence (a capital letter or a digit):
    "Concerns about the weather" under the title "Concerns" is a sentence, not a repeat.
    """
    words = _WORD.findall(title)
    if not words:
        return None
    pattern = r"[\W_]*" + r"[\W_]+".join(re.escape(word) for word in words) + r"(?![^\W_])"
    match = re.match(pattern, text, re.IGNORECASE)
    if match is None:
        return None
    rest = text[match.end() :]
    # Markup closing the title ("**", "_", a quote) belongs to it, not to what follows.
    closing = len(rest) - len(rest.lstrip("*_~`\"'”’)]»"))
    unclosed = rest[closing:]
    tail = unclosed.lstrip()
    if not tail:
        return ""
    if tail[0] in SEPARATORS:
        return tail.lstrip(SEPARATORS + " \t").lstrip("*_")
    if sentence and tail != unclosed and (tail[0].isupper() or tail[0].isdigit()):
        return tail
    return None


class LeadingHeading(NamedTuple):
    """The heading a markdown body opens with: its source text and where the body resumes."""

    text: str  #: the heading's markdown (no ``#`` marks, no underline)
    end: int  #: offset in the body just past the heading's line(s)


def leading_heading(body: str) -> LeadingHeading | None:
    """The ATX (``## Text``) or setext (``Text`` over ``===``/``---``) heading opening
    ``body`` (after blank lines), or None.

    String methods, not a regex: a pattern with a lazy text and an optional closing "#" run
    backtracks without end on a first line of thousands of "#" or spaces.
    """
    text = body.lstrip("\n \t")
    start = len(body) - len(text)
    first, end = _line(text, 0)
    if len(first) > _MAX_HEADING or first.startswith("    "):
        return None
    stripped = first.lstrip(" ")
    marks = len(stripped) - len(stripped.lstrip("#"))
    if 1 <= marks <= 6 and stripped[marks : marks + 1] in (" ", "\t"):
        words = stripped[marks:].strip(" \t\r").rstrip("#").rstrip(" \t")
        return LeadingHeading(words, start + end) if words else None
    if marks or not stripped.strip():
        return None
    second, after = _line(text, end)
    underline = second.strip(" \t\r")
    if underline and len(second) - len(second.lstrip(" ")) < 4 and set(underline) in ({"="}, {"-"}):
        return LeadingHeading(stripped.strip(" \t\r"), start + after)
    return None


def _line(text: str, at: int) -> tuple[str, int]:
    """The line of ``text`` starting at ``at`` (no newline) and the offset after it."""
    newline = text.find("\n", at)
    return (text[at:], len(text)) if newline < 0 else (text[at:newline], newline + 1)


def heading_repeats_title(body: str, title: str) -> bool:
    """True when ``body`` opens with a heading that repeats ``title``, alone or followed by a
    separator and a subtitle."""
    heading = leading_heading(body)
    return heading is not None and after_title(heading.text, title, sentence=False) is not None
