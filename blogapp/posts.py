"""The Post record and parse_post(): front matter + markdown text in, Post or PostError out.

Pure: no Flask, no file access. content.py reads the files and hands the text here.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler
from markupsafe import Markup

from . import boundedyaml
from . import simpleyaml
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
# libyaml's loader is ~10x faster, which matters with thousands of posts, but it recurses in
# C: deeply nested front matter (a 200 kB file of "[[[...") crashes the worker with a
# segfault. 20,000 levels still load here, so front matter under _FAST_LIMIT characters
# (at most that many levels) takes the fast loader; anything longer takes the pure-Python
# one, which stops at the first node too many or too deep (boundedyaml).
_FAST_LIMIT = 8 * 1024


class PostError(ValueError):
    """A post file that cannot be used; ``str()`` is the ``path: reason`` line."""

    def __init__(self, path: str, reason: str, line: int | None = None) -> None:
        super().__init__(path, reason, line)
        self.path = path
        self.reason = reason
        self.line = line

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


class FrontMatterError(PostError):
    """The front matter is not YAML, or not a mapping."""


class MissingFieldError(PostError):
    """A required field is absent or blank."""


class BadDateError(PostError):
    """``date`` (or ``updated``) is not a date."""


class EmptyPostError(PostError):
    """The file, or the body after the front matter, is empty."""


class TooLargeError(PostError):
    """The file is larger than ``BLOG_MAX_POST_BYTES``."""


class EncodingError(PostError):
    """The file is not UTF-8."""


class SlugError(PostError):
    """The slug is unusable, or another file already claims it."""


class FlagError(PostError):
    """``draft`` or ``preview`` is neither true nor false."""


@dataclass(frozen=True)
class Author:
    name: str
    picture: str | None = None


@dataclass(frozen=True, eq=False)
class Post:
    """One valid post: its front matter, and how to get its body.

    The body is not held in memory: ``load_body`` fetches it (from disk, for posts loaded by
    content.py) when ``html`` is rendered, which the page cache makes rare. Only the short
    plain-text ``excerpt`` is kept once computed. This keeps 10,000 posts in a few MB.
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
    load_body: Callable[[], str] = field(repr=False)
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    excerpt_source: str | None = None
    render: Callable[[str], Markup] = field(default=Markup, repr=False)
    #: What parsing left out and why (a tag that is no path segment, an image URL with another
    #: scheme): ``check --strict`` prints these as warnings.
    notes: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        """The markdown body (without front matter or a heading that repeats the title)."""
        return self.load_body()

    @property
    def html(self) -> Markup:
        """The rendered, sanitized body; rendered on each call (pages are cached whole)."""
        return self.render(self.body)

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


def normalize_slug(value: str) -> str:
    """Slugs compare in NFC, so a macOS (NFD) file name matches its URL."""
    return unicodedata.normalize("NFC", value)


def parse_post(
    text: str,
    source: str,
    render: Callable[[str], Markup],
    *,
    slug: str,
    timezone: ZoneInfo,
    default_author: str,
    load_body: Callable[[], str] | None = None,
) -> Post:
    """Build a Post from a file's text; ``slug`` is the file name without ``.md``.

    ``load_body`` fetches the body later (content.py re-reads the file); by default the Post
    keeps the body parsed from ``text``.

    :raise PostError: naming ``source`` (and the YAML line) when the post is unusable.
    """
    if not text or text.isspace():
        raise EmptyPostError(source, "file is empty")
    meta, body = _split(text, source)
    missing = [name for name in REQUIRED_FIELDS if _blank(meta.get(name))]
    if missing:
        raise MissingFieldError(source, f"missing required field {', '.join(map(repr, missing))}")
    title = clean_text(str(meta["title"]))
    if not title:
        raise MissingFieldError(source, "missing required field 'title' (it has no printable characters)")
    body = _drop_title_heading(body, title)
    if not body or body.isspace():
        raise EmptyPostError(source, "post has no body")
    notes: list[str] = []
    author = _author(meta.get("author"), default_author, notes)
    excerpt = _optional_str(meta.get("excerpt"))
    return Post(
        slug=_slug(meta.get("slug"), slug, source),
        title=title,
        date=parse_date(meta["date"], timezone, source, "date"),
        updated=_updated(meta, timezone, source),
        author=author,
        tags=parse_tags(meta.get("tags"), notes),
        category=clean_text(_optional_str(meta.get("category")) or "") or None,
        cover_image=image_url(meta.get("coverImage"), "coverImage", notes),
        og_image=image_url(_og_image(meta.get("ogImage")), "ogImage", notes),
        draft=_hidden(meta, source),
        load_body=load_body or functools.partial(str, body),
        source=source,
        meta={k: v for k, v in meta.items() if k not in KNOWN_FIELDS and k.casefold() not in HIDING_FLAGS},
        excerpt_source=excerpt and xml_safe(excerpt),
        render=render,
        notes=tuple(notes),
    )


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


def parse_date(value: Any, timezone: ZoneInfo, source: str, name: str) -> dt.datetime:
    """Turn a YAML date, datetime or ISO 8601 string into an aware datetime."""
    if isinstance(value, str):
        text = value.strip()
        try:
            value = dt.datetime.fromisoformat(text)
        except ValueError:
            raise BadDateError(source, f"{name} is not an ISO 8601 date: {text!r}") from None
    if isinstance(value, dt.datetime):
        value = value if value.tzinfo else value.replace(tzinfo=timezone)
    elif isinstance(value, dt.date):
        value = dt.datetime(value.year, value.month, value.day, tzinfo=timezone)
    else:
        raise BadDateError(source, f"{name} is not a date: {value!r}")
    try:
        # Every page compares and converts dates: one that overflows there (year 1 at
        # +14:00, year 9999 at -12:00) must be refused here, not break every listing.
        value.astimezone(dt.UTC)
        value.astimezone(timezone)
    except (OverflowError, ValueError):
        raise BadDateError(source, f"{name} is out of range: {value.isoformat()}") from None
    return value


def parse_tags(value: Any, notes: list[str] | None = None) -> tuple[str, ...]:
    """Tags from a list or a comma-separated string: trimmed, de-duplicated, '/' and '\\'
    made '-', control characters made spaces. A tag that cannot be a URL path segment
    ("." or "..") is left out, with a note in ``notes``."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    tags: dict[str, str] = {}
    for item in items:
        if item is None or isinstance(item, dict | list):
            continue
        tag = clean_text(str(item).replace("/", "-").replace("\\", "-"))
        if tag in (".", ".."):
            if notes is not None:
                notes.append(f"tag {tag!r} left out: it cannot be a URL path segment")
            continue
        if tag:
            tags.setdefault(tag.casefold(), tag)
    return tuple(tags.values())


# -- text and URLs that go into HTML, XML and file names ------------------------------------

#: What XML 1.0 cannot carry (C0 controls but tab, LF and CR; lone surrogates; U+FFFE/U+FFFF).
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: Control characters (C0, DEL, C1) and lone surrogates: no URL or file name may hold them.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def xml_safe(text: str) -> str:
    """``text`` without the characters XML 1.0 cannot carry (feeds, sitemap and SVG stay
    well-formed whatever a post holds)."""
    return _XML_INVALID.sub("", text)


def clean_text(text: str) -> str:
    """One line of display text (title, tag, name): control characters become spaces, runs of
    whitespace one space, and what XML cannot carry goes."""
    return " ".join(xml_safe(_CONTROL.sub(" ", text)).split())


def segment_problem(value: str) -> str | None:
    """Why ``value`` cannot be one URL path segment (nor one file name in an export), or None."""
    if not value.strip():
        return "is empty"
    if value in (".", ".."):
        return "is '.' or '..'"
    if "/" in value or "\\" in value:
        return "contains '/' or '\\'"
    if _CONTROL.search(value):
        return "contains a control character"
    return None


def image_url(value: Any, name: str, notes: list[str] | None = None) -> str | None:
    """An image given in front matter, if it is an http(s) URL or a path; else None, with a
    note in ``notes``.

    Left out: any other scheme (``javascript:``, ``data:``, ``file:``...), protocol-relative
    URLs (``//host/x``), and any value with a backslash (browsers read ``/\\host`` as
    ``//host``) or a control character (they drop tabs and newlines inside a scheme).
    """
    text = _optional_str(value)
    if text is None:
        return None
    scheme = _SCHEME.match(text)
    if _CONTROL.search(text) or "\\" in text or text.startswith("//"):
        reason = "it is not a plain http(s) URL or path"
    elif scheme is None or (scheme[0].lower() in ("http:", "https:") and urlsplit(text).netloc):
        return text
    else:
        reason = "only http(s) URLs and paths are used"
    if notes is not None:
        notes.append(f"{name} {text!r} left out: {reason}")
    return None


#: Flags that hide a post, matched whatever their case (``Draft:`` hides too).
HIDING_FLAGS = frozenset({"draft", "preview"})
_TRUE_WORDS = frozenset({"true", "yes", "on", "1"})
_FALSE_WORDS = frozenset({"false", "no", "off", "0", ""})


def _hidden(meta: dict[str, Any], source: str) -> bool:
    """True when any ``draft``/``preview`` key (any case) says so, as the author meant it:
    YAML's booleans, 1/0, and "true"/"yes"/"on"/"1" or "false"/"no"/"off"/"0" as text.

    :raise FlagError: for any other value, so a typo never publishes a draft.
    """
    hidden = False
    for key, value in meta.items():
        if key.casefold() in HIDING_FLAGS:
            hidden = _flag(key, value, source) or hidden
    return hidden


def _flag(key: str, value: Any, source: str) -> bool:
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().casefold() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().casefold() in _TRUE_WORDS
    raise FlagError(source, f"{key} must be true or false, got {value!r}")


def _updated(meta: dict[str, Any], timezone: ZoneInfo, source: str) -> dt.datetime | None:
    for name in ("updated", "lastModified"):
        if not _blank(meta.get(name)):
            return parse_date(meta[name], timezone, source, name)
    return None


def _slug(override: Any, default: str, source: str) -> str:
    slug = default if _blank(override) else str(override).strip()
    problem = segment_problem(slug)
    if problem:
        raise SlugError(source, f"slug {problem}, so it cannot be a URL path segment: {slug!r}")
    return normalize_slug(slug)


def _author(value: Any, default: str, notes: list[str]) -> Author:
    if isinstance(value, dict) and not _blank(value.get("name")):
        name = clean_text(str(value["name"]))
        if name:
            return Author(name, image_url(value.get("picture"), "author picture", notes))
    elif isinstance(value, str) and clean_text(value):
        return Author(clean_text(value))
    return Author(default)


def _og_image(value: Any) -> str | None:
    if isinstance(value, dict):
        return _optional_str(value.get("url"))
    return _optional_str(value)


def _optional_str(value: Any) -> str | None:
    if _blank(value) or isinstance(value, dict | list):
        return None
    return str(value).strip()


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


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
