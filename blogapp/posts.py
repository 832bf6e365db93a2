"""The Post record and parse_post(): front matter + markdown text in, Post or PostError out.

Pure: no Flask, no file access. store.py reads the files and hands the text here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from . import boundedyaml
from . import simpleyaml
from .fields import HIDING_FLAGS
from .fields import Author
from .fields import EmptyPostError
from .fields import FrontMatterError
from .fields import MissingFieldError
from .fields import clean_text
from .fields import image_url
from .fields import is_blank
from .fields import is_hidden
from .fields import og_image
from .fields import optional_str
from .fields import parse_author
from .fields import parse_date
from .fields import parse_slug
from .fields import parse_tags
from .fields import parse_updated
from .fields import xml_safe
from .markup import EXCERPT
from .markup import READING
from .markup import markdown_texts
from .markup import markdown_to_text

#: Fields a post cannot do without.
REQUIRED_FIELDS = ("title", "date")
#: Front-matter keys Post turns into attributes; the rest stay in Post.meta.
KNOWN_FIELDS = frozenset(
    {"title", "date", "excerpt", "coverImage", "ogImage", "author", "tags", "category"}
    | {"draft", "preview", "slug", "updated", "lastModified"}
)
EXCERPT_LENGTH = 200
#: Reading speed for "N min read": adults read prose at roughly 230 words a minute.
WORDS_PER_MINUTE = 230


_HANDLER = YAMLHandler()
# libyaml's loader is much faster, which matters with thousands of posts, but it recurses in
# C: deeply nested front matter (a 200 kB file of "[[[...") crashes the worker with a
# segfault. 20,000 levels still load here, so front matter under _FAST_LIMIT characters
# (at most that many levels) takes the fast loader; anything longer takes the pure-Python
# one, which stops at the first node too many or too deep (boundedyaml).
_FAST_LIMIT = 8 * 1024


@dataclass(frozen=True, eq=False)
class Post:
    """One valid post: its front matter, and how to get its body.

    The body is not held in memory: ``load_body(title)`` fetches it (for posts loaded by
    store.py, a ``functools.partial`` of ``store.read_body`` with the file's path) when it is
    rendered, which the page cache makes rare. Only the short plain-text ``excerpt`` is kept
    once computed, so thousands of posts take little memory.
    """

    slug: str
    title: str
    date: dt.datetime
    updated: dt.datetime | None
    author: Author
    tags: tuple[str, ...]
    category: str | None
    cover_image: str | None
    og_image: str | None
    draft: bool
    load_body: Callable[[str], str] = field(repr=False)
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    excerpt_source: str | None = None
    #: What parsing left out and why (a tag that is no path segment, an image URL with another
    #: scheme): ``check --strict`` prints these as warnings.
    notes: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        """The markdown body (without front matter or a heading that repeats the title)."""
        return self.load_body(self.title)

    @cached_property
    def excerpt(self) -> str:
        """Plain-text excerpt: the front matter's, or the body's first words."""
        if self.excerpt_source:
            return markdown_to_text(self.excerpt_source)
        return self._body_text[0]

    @cached_property
    def word_count(self) -> int:
        """Words of prose in the body (see ``count_words``); computed once per Post."""
        return self._body_text[1]

    @cached_property
    def _body_text(self) -> tuple[str, int]:
        """(the body's first words as an excerpt, its words of prose), from one parse."""
        excerpt, prose = markdown_texts(self.body, EXCERPT, READING)
        return truncate_words(xml_safe(excerpt), EXCERPT_LENGTH), _word_count(prose)

    @property
    def reading_minutes(self) -> int:
        """Estimated reading time in whole minutes, at least 1 ("6 min read")."""
        return reading_minutes(self.word_count)

    def __getitem__(self, key: str) -> Any:
        return self.meta[key]

    @cached_property
    def timestamp(self) -> float:
        """``date`` as POSIX seconds: sorting and comparing these is much cheaper than
        comparing datetimes in assorted time zones (each comparison converts both)."""
        return self.date.timestamp()

    @property
    def modified(self) -> dt.datetime:
        """The last real change: ``updated:`` when given, else the publication date."""
        return self.updated or self.date


#: The "last change" of an empty selection.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def newest_change(posts: list[Post]) -> dt.datetime:
    """The newest ``modified`` among ``posts`` (EPOCH for none): a page's Last-Modified."""
    return max((p.modified for p in posts), default=EPOCH)


def truncate_words(text: str, limit: int) -> str:
    """Cut ``text`` at a word boundary at most ``limit`` characters long, adding an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-")
    return cut + "…"


_ALNUM = re.compile(r"[^\W_]")


def count_words(markdown: str) -> int:
    """Words a reader reads in a markdown body: its prose, from markdown-it's tokens.

    Code blocks are left out: readers skim listings rather than read them word by word, and
    counting every token of a long listing would double the estimate of a code-heavy post.
    Also left out: HTML tags, image alt text (not read in the flow), link URLs (the link text
    counts) and reference definitions. A word is any run of non-space characters with a letter
    or digit in it, so punctuation (``—``, ``|``) never counts on its own.
    """
    return _word_count(markdown_to_text(markdown, READING))


def _word_count(text: str) -> int:
    return sum(1 for word in text.split() if _ALNUM.search(word))


def reading_minutes(words: int) -> int:
    """Minutes to read ``words`` at WORDS_PER_MINUTE, rounded to nearest, at least 1."""
    return max(1, int(words / WORDS_PER_MINUTE + 0.5))


def parse_post(
    text: str,
    source: str,
    *,
    slug: str,
    timezone: ZoneInfo,
    default_author: str,
    load_body: Callable[[str], str] | None = None,
) -> Post:
    """Build a Post from a file's text; ``slug`` is the file name without ``.md``.

    ``load_body(title)`` fetches the body later (store.py re-reads the file); by default the
    Post keeps the body parsed from ``text``.

    :raise PostError: naming ``source`` (and the YAML line) when the post is unusable.
    """
    if not text or text.isspace():
        raise EmptyPostError(source, "file is empty")
    meta, body = _split(text, source)
    missing = [name for name in REQUIRED_FIELDS if is_blank(meta.get(name))]
    if missing:
        raise MissingFieldError(source, f"missing required field {', '.join(map(repr, missing))}")
    title = clean_text(str(meta["title"]))
    if not title:
        raise MissingFieldError(source, "missing required field 'title' (it has no printable characters)")
    body = _drop_title_heading(body, title)
    if not body or body.isspace():
        raise EmptyPostError(source, "post has no body")
    notes: list[str] = []
    author = parse_author(meta.get("author"), default_author, notes)
    excerpt = optional_str(meta.get("excerpt"))
    return Post(
        slug=parse_slug(meta.get("slug"), slug, source),
        title=title,
        date=parse_date(meta["date"], timezone, source, "date"),
        updated=parse_updated(meta, timezone, source),
        author=author,
        tags=parse_tags(meta.get("tags"), notes),
        category=clean_text(optional_str(meta.get("category")) or "") or None,
        cover_image=image_url(meta.get("coverImage"), "coverImage", notes),
        og_image=image_url(og_image(meta.get("ogImage")), "ogImage", notes),
        draft=is_hidden(meta, source),
        load_body=load_body or functools.partial(_given_body, body),
        source=source,
        meta={k: v for k, v in meta.items() if k not in KNOWN_FIELDS and k.casefold() not in HIDING_FLAGS},
        excerpt_source=excerpt and xml_safe(excerpt),
        notes=tuple(notes),
    )


def _given_body(body: str, _title: str) -> str:
    return body


def opens_with_title(text: str, title: str) -> bool:
    """True when a post file's body opens with ``# <title>`` (which the page drops)."""
    heading = _leading_h1(extract_body(text, ""))
    return heading is not None and _comparable(heading[0]) == _comparable(title)


def extract_body(text: str, title: str) -> str:
    """The body of a post file's text, as parse_post keeps it (no YAML parsing)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip()
    try:
        _front, body = _HANDLER.split(text)
    except ValueError:
        return ""
    return _drop_title_heading(body.strip("\n"), title)


def _split(text: str, source: str) -> tuple[dict[str, Any], str]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    leading_lines = text[: len(text) - len(text.lstrip())].count("\n")
    text = text.lstrip()
    start = _HANDLER.FM_BOUNDARY.match(text)
    if start is None:
        raise FrontMatterError(source, "no front matter: the file must start with a '---' line")
    try:
        front, body = _HANDLER.split(text)
    except ValueError:
        raise FrontMatterError(source, "front matter is not closed by a '---' line", 1) from None
    short = len(front) < _FAST_LIMIT
    meta = simpleyaml.load(front) if short else None
    if meta is None:  # not the simple shape: anchors, merge keys, nesting... for PyYAML
        try:
            meta = boundedyaml.load(front, boundedyaml.FAST_LOADER if short else boundedyaml.SAFE_LOADER)
        except (yaml.YAMLError, boundedyaml.Unbounded) as exc:
            mark = getattr(exc, "problem_mark", None)
            line = leading_lines + text[: start.end()].count("\n") + mark.line + 1 if mark else None
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            if isinstance(exc, boundedyaml.Unbounded):
                raise FrontMatterError(source, problem, line) from None
            raise FrontMatterError(source, f"front matter is not valid YAML: {problem}", line) from None
        except Exception as exc:
            # The safe loader runs none of our code, so whatever else it raises is about the
            # text: ValueError for "2024-13-01", AttributeError for "!!timestamp soon",
            # RecursionError...
            raise FrontMatterError(source, f"front matter has a bad value: {exc}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FrontMatterError(source, f"front matter must be a mapping, got {type(meta).__name__}")
    return {str(k): v for k, v in meta.items()}, body.strip("\n")


def _drop_title_heading(body: str, title: str) -> str:
    """Drop a leading ``# Heading`` that only repeats the title (the page shows it as h1)."""
    heading = _leading_h1(body)
    if heading and _comparable(heading[0]) == _comparable(title):
        return body[heading[1] :].lstrip("\n")
    return body


def _leading_h1(body: str) -> tuple[str, int] | None:
    """(text, end offset) of an ATX ``# Heading`` opening ``body`` (after blank space), or None.

    String methods, not a regex: a pattern with a lazy text and an optional closing "#" run
    backtracks without end on a first line of thousands of "#" or spaces.
    """
    text = body.lstrip()
    start = len(body) - len(text)
    newline = text.find("\n")
    end = start + (len(text) if newline < 0 else newline + 1)
    line = text if newline < 0 else text[:newline]
    if not line.startswith("#") or line[1:2] not in (" ", "\t"):
        return None
    words = line[1:].strip(" \t\r").rstrip("#").rstrip(" \t")  # the closing "#" run is no text
    return (words, end) if words else None


def _comparable(text: str) -> str:
    return "".join(ch for ch in text.casefold() if ch.isalnum())
