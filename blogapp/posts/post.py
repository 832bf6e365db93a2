"""The Post record and parse_post(): front matter + markdown text in, Post or PostError out.

Pure: no Flask, no file access. store.py reads the files and hands the text here.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from dataclasses import field
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from frontmatter.default_handlers import YAMLHandler

from . import fastyaml
from . import frontmatter
from . import yamlhints
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
from .fields import parse_series
from .fields import parse_series_part
from .fields import parse_slug
from .fields import parse_tags
from .fields import parse_updated
from .fields import xml_safe
from .titles import heading_repeats_title

#: Fields a post cannot do without.
REQUIRED_FIELDS = ("title", "date")
#: Front-matter keys Post turns into attributes; the rest stay in Post.meta.
KNOWN_FIELDS = frozenset(
    {"title", "date", "excerpt", "coverImage", "ogImage", "author", "tags", "category"}
    | {"draft", "preview", "slug", "updated", "lastModified"}
)
# ``series`` and ``seriesPart`` become attributes too, and stay in Post.meta as they were
# before the blog knew them (``post["series"]``).

_HANDLER = YAMLHandler()
# libyaml's loader is much faster, which matters with thousands of posts, but it recurses in
# C: deeply nested front matter (a 200 kB file of "[[[...") crashes the worker with a
# segfault. 20,000 levels still load here, so front matter under _FAST_LIMIT characters
# (at most that many levels) takes the fast loader; anything longer takes the pure-Python
# one, which stops at the first node too many or too deep (boundedyaml).
_FAST_LIMIT = 8 * 1024


@dataclass(frozen=True, eq=False)
class Post:
    """One valid post: its front matter, as a plain value.

    The body is not held: the store reads it from ``source`` when a page needs it
    (``store.body``), and remembers what listings show of it (``store.summary``), so
    thousands of posts take little memory.
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
    source: str
    meta: dict[str, Any] = field(default_factory=dict)
    excerpt_source: str | None = None
    #: What parsing left out and why (a tag that is no path segment, an image URL with another
    #: scheme): ``check --strict`` prints these as warnings.
    notes: tuple[str, ...] = ()
    #: Paths under BLOG_PUBLIC_DIR the post may show (``references.references``), set by the
    #: loader: what the content version watches, and the only sources that get image variants.
    public_files: tuple[str, ...] = ()
    #: ``series:`` (Hugo's name), one line of display text, and ``seriesPart:``, its place in
    #: the series when given (else the date orders it): see ``catalog.Visible.series``.
    series: str | None = None
    series_part: float | None = None

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


def parse_post(
    text: str,
    source: str,
    *,
    slug: str,
    timezone: ZoneInfo,
    default_author: str,
) -> Post:
    """Build a Post from a file's text; ``slug`` is the file name without ``.md``.

    The body is not kept: ``extract_body(text, post.title)`` gives it.

    :raise PostError: naming ``source`` (and the YAML line) when the post is unusable.
    """
    if not text or text.isspace():
        raise EmptyPostError(source, "file is empty")
    meta = _front_matter(text, source)
    missing = [name for name in REQUIRED_FIELDS if is_blank(meta.get(name))]
    if missing:
        raise MissingFieldError(source, f"missing required field {', '.join(map(repr, missing))}")
    title = clean_text(str(meta["title"]))
    if not title:
        raise MissingFieldError(source, "missing required field 'title' (it has no printable characters)")
    notes: list[str] = []
    author = parse_author(meta.get("author"), default_author, notes)
    excerpt = optional_str(meta.get("excerpt"))
    series = parse_series(meta.get("series"), notes)
    series_part = parse_series_part(meta.get("seriesPart"), notes)
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
        source=source,
        meta={k: v for k, v in meta.items() if k not in KNOWN_FIELDS and k.casefold() not in HIDING_FLAGS},
        excerpt_source=excerpt and xml_safe(excerpt),
        series=series,
        series_part=series_part,
        notes=tuple(notes),
    )


def opens_with_title(text: str, title: str) -> bool:
    """True when a post file's body opens with a heading that repeats the title, alone (which
    the page drops) or followed by a subtitle (which the page shows under the title)."""
    return heading_repeats_title(extract_body(text, ""), title)


def extract_body(text: str, title: str) -> str:
    """The markdown body of a post file's text, without a heading repeating ``title`` (no YAML
    parsing; "" when there is none)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip()
    try:
        _front, body = _HANDLER.split(text)
    except ValueError:
        return ""
    return _drop_title_heading(body.strip("\n"), title)


def read_front_matter(text: str, source: str) -> dict[str, Any]:
    """A post file's front matter as a mapping, its fields unchecked (``flask new`` reads the
    ``slug:`` of invalid posts with it).

    :raise FrontMatterError: when there is none, or it is not a YAML mapping.
    """
    return _front_matter(text, source)


def _front_matter(text: str, source: str) -> dict[str, Any]:
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    leading_lines = text[: len(text) - len(text.lstrip())].count("\n")
    text = text.lstrip()
    start = _HANDLER.FM_BOUNDARY.match(text)
    if start is None:
        raise FrontMatterError(source, "no front matter: the file must start with a '---' line")
    try:
        front, _body = _HANDLER.split(text)
    except ValueError:
        raise FrontMatterError(source, "front matter is not closed by a '---' line", 1) from None
    short = len(front) < _FAST_LIMIT
    meta = fastyaml.load(front) if short else None
    if meta is None:  # not the simple shape: anchors, merge keys, nesting... for PyYAML
        try:
            meta = frontmatter.load(front, frontmatter.FAST_LOADER if short else frontmatter.SAFE_LOADER)
        except (yaml.YAMLError, frontmatter.Unbounded) as exc:
            mark = getattr(exc, "problem_mark", None)
            line = leading_lines + text[: start.end()].count("\n") + mark.line + 1 if mark else None
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            if isinstance(exc, frontmatter.Unbounded):
                raise FrontMatterError(source, problem, line) from None
            fix = yamlhints.hint(front.split("\n"), mark.line if mark else None)
            reason = f"front matter is not valid YAML: {problem}" + (f"; {fix}" if fix else "")
            raise FrontMatterError(source, reason, line) from None
        except Exception as exc:
            # The safe loader runs none of our code, so whatever else it raises is about the
            # text: ValueError for "2024-13-01", AttributeError for "!!timestamp soon",
            # RecursionError...
            raise FrontMatterError(source, f"front matter has a bad value: {exc}") from None
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise FrontMatterError(source, f"front matter must be a mapping, got {type(meta).__name__}")
    return {str(k): v for k, v in meta.items()}


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
