"""What a listing says about a post without its body: excerpt, words, reading time.

``summarize(post, body)`` is pure; the store remembers its answer per post (store.summary), so
each body is read and parsed once, when a page first shows that post.

Excerpts are cleaned as readers should see them: a front-matter excerpt that opens with the
title again (site generators write them so, with any separator, glued or spaced, in any case)
loses that repeat, markdown cut mid-way (a ``**`` whose closing half was cut off) is dropped,
and one cut mid-word (the generator counted characters) ends on the last whole word with "…".
An excerpt made from the body starts at its first paragraph of prose, never at a heading.
``excerpt_problems`` names what was mended for ``check --strict`` so authors can fix the
source.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from ..posts.fields import xml_safe
from ..posts.post import Post
from ..posts.titles import after_title
from .plaintext import EXCERPT
from .plaintext import LEAD
from .plaintext import READING
from .plaintext import markdown_texts
from .plaintext import markdown_to_text

#: Most characters of an excerpt made from the body.
EXCERPT_LENGTH = 200
#: Reading speed for "N min read": adults read prose at roughly 230 words a minute.
WORDS_PER_MINUTE = 230

_ALNUM = re.compile(r"[^\W_]")
#: What a finished excerpt may end with: sentence ends, closing quotes and brackets.
_FINISHED = frozenset(".!?…:;\"'”’)]»")


class Summary(NamedTuple):
    """A post as listings, feeds and meta tags describe it."""

    excerpt: str  #: plain text: the author's excerpt (cleaned), else the body's first words
    words: int  #: words of prose in the body (code blocks not counted)
    minutes: int  #: reading time in whole minutes: at least 1, 0 for a post with no words


def summarize(post: Post, body: str) -> Summary:
    """The Summary of ``post`` whose markdown body is ``body`` (one parse of the body)."""
    first_words, prose, lead = markdown_texts(body, EXCERPT, READING, LEAD)
    # A body with no paragraph of prose at all (only code, say) still gets its first words.
    lead_text = xml_safe(lead or first_words)
    if post.excerpt_source:
        excerpt = clean_excerpt(markdown_to_text(post.excerpt_source), post.title, lead_text, xml_safe(first_words))
    else:
        excerpt = truncate_words(lead_text, EXCERPT_LENGTH)
    words = word_count(prose)
    return Summary(excerpt, words, reading_minutes(words) if words else 0)


def clean_excerpt(text: str, title: str, *body_texts: str) -> str:
    """``text`` without a leading repeat of ``title`` nor markdown cut mid-way, ending on a
    whole word.

    It counts as cut mid-word when, after the repeat, it is the start of one of
    ``body_texts`` (the body's plain text) and the body goes on with a letter or digit; the
    broken word is dropped and "…" added.
    """
    rest = _without_title(text, title)
    if rest and rest[-1] not in _FINISHED and any(_cut_mid_word(rest, body) for body in body_texts):
        whole = rest.rsplit(" ", 1)[0].rstrip(" ,;:-–—") if " " in rest else ""
        rest = whole + "…" if whole else rest
    return rest


def excerpt_problems(post: Post, body: str) -> list[str]:
    """What ``clean_excerpt`` mends in ``post``'s own excerpt, for ``check --strict``."""
    if not post.excerpt_source:
        return []
    text = markdown_to_text(post.excerpt_source)
    problems = []
    rest = _without_title(text, post.title)
    if rest != text:
        problems.append("excerpt starts by repeating the title")
    first_words, lead = markdown_texts(body, EXCERPT, LEAD)
    body_texts = (xml_safe(lead), xml_safe(first_words))
    if rest and rest[-1] not in _FINISHED and any(_cut_mid_word(rest, body) for body in body_texts):
        problems.append(
            f"excerpt is cut mid-word ({rest.rsplit(' ', 1)[-1]!r}); readers see it end at the last whole word"
        )
    return problems


def _without_title(text: str, title: str) -> str:
    """``text`` without a leading copy of ``title`` (``titles.after_title``: any case, any
    separator, glued or spaced, or a new sentence); the title alone is kept."""
    return after_title(text, title) or text


def _cut_mid_word(text: str, body_text: str) -> bool:
    if not body_text.startswith(text):
        return False
    following = body_text[len(text) : len(text) + 1]
    return bool(following) and bool(_ALNUM.match(following)) and bool(_ALNUM.match(text[-1]))


def truncate_words(text: str, limit: int) -> str:
    """Cut ``text`` at a word boundary at most ``limit`` characters long, adding an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-")
    return cut + "…"


def count_words(markdown: str) -> int:
    """Words a reader reads in a markdown body: its prose, from markdown-it's tokens.

    Code blocks are left out: readers skim listings rather than read them word by word, and
    counting every token of a long listing would double the estimate of a code-heavy post.
    Also left out: HTML tags, image alt text (not read in the flow), link URLs (the link text
    counts) and reference definitions. A word is any run of non-space characters with a letter
    or digit in it, so punctuation (``—``, ``|``) never counts on its own.
    """
    return word_count(markdown_to_text(markdown, READING))


def word_count(text: str) -> int:
    """Words in plain ``text``: runs of non-space characters with a letter or digit."""
    return sum(1 for word in text.split() if _ALNUM.search(word))


def reading_minutes(words: int) -> int:
    """Minutes to read ``words`` at WORDS_PER_MINUTE, rounded to nearest, at least 1."""
    return max(1, int(words / WORDS_PER_MINUTE + 0.5))
