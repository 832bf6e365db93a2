"""Front-matter fields: the PostError family, and turning raw YAML values into clean ones.

Pure: no Flask, no file access. Each cleaner either returns a usable value, notes what it left
out (``notes``, printed by ``check --strict``), or raises a PostError naming the file.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo


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
    """A byline: the name as written (NFC, cleaned) and a picture. Its page's slug depends on
    the other authors shown (``catalog.Visible.author_slugs``; ``content.author_slug_of``)."""

    name: str
    picture: str | None = None

    @property
    def key(self) -> str:
        """Who this is: two names with one key (``author_key``) are one author."""
        return author_key(self.name)


#: Longest author slug: a name is a byline, not a paragraph, and the slug goes in URLs.
AUTHOR_SLUG_CHARS = 80
#: Hex digits of the suffix that tells apart two authors whose names give one slug.
AUTHOR_SUFFIX_HEX = 6
_NOT_WORD = re.compile(r"[\W_]+")


def nfc(text: str) -> str:
    """``text`` in Unicode NFC: what every name, tag and slug is turned into before anything
    else, so the composed (NFC) and decomposed (NFD, macOS) spellings of one word are one
    string (a macOS file name matches its URL)."""
    return unicodedata.normalize("NFC", text)


@functools.lru_cache(maxsize=4096)  # a few hundred tags and names, asked for per post and view
def tag_key(tag: str) -> str:
    """What tags are matched by, everywhere (a post's own list, tag pages, related posts, URLs):
    NFC, whitespace runs as one space, case folded. ``'Machine  Learning'`` and
    ``'machine learning'`` are one tag; ``'café'`` and ``'cafe'`` are two."""
    return nfc(" ".join(nfc(tag).split()).casefold())


def author_key(name: str) -> str:
    """Who a name is: NFC, whitespace runs as one space, case folded. Names whose keys differ
    are different authors, however alike their slugs (``'がく'`` and ``'かく'``, ``'Maya Chen'``
    and ``'Maya Chén'``)."""
    return tag_key(name)


@functools.lru_cache(maxsize=4096)  # a few names, asked for by every card and listing
def slugify(name: str) -> str:
    """``'Maya Chén'`` -> ``'maya-chen'``, ``'李明'`` -> ``'李明'``: the one slug function, for an
    author page's URL (and how a slug asked for in one is matched) and a new post's file name.

    Case is folded; a letter that is a Latin (ASCII) letter with marks loses the marks (é -> e);
    every other letter is kept whole, marks included (``が`` stays ``が``, ``й`` stays ``й``);
    every run of other characters (spaces, punctuation) is one dash; at most AUTHOR_SLUG_CHARS
    characters. Different names can give one slug: the Visible then adds a suffix to all but
    one (``catalog.Visible.author_slugs``).
    """
    text = "".join(map(_ascii_letter, nfc(name[: AUTHOR_SLUG_CHARS * 4]).casefold()))
    return _NOT_WORD.sub("-", text).strip("-")[:AUTHOR_SLUG_CHARS].strip("-")


def _ascii_letter(ch: str) -> str:
    """``ch`` without its marks if that leaves ASCII letters or digits (é -> e, ﬁ -> fi), else ``ch``."""
    if ch.isascii():
        return ch
    plain = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
    return plain if plain.isascii() and plain.isalnum() else ch


def suffixed_slug(slug: str, key: str, digits: int = AUTHOR_SUFFIX_HEX) -> str:
    """``slug`` made an author's own: ``-`` and the first ``digits`` hex digits of the SHA-256 of
    their name's key, the whole within AUTHOR_SLUG_CHARS (``'maya-chen-3f9a0c'``). Depends
    only on the name, never on the order the posts were read in."""
    suffix = hashlib.sha256(key.encode()).hexdigest()[:digits]
    return f"{slug[: AUTHOR_SLUG_CHARS - digits - 1].rstrip('-')}-{suffix}".lstrip("-")


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
    """Tags from a list or a comma-separated string: NFC first, trimmed, de-duplicated by
    ``tag_key``, '/' and '\\' made '-', control characters made spaces. A tag that cannot be a
    URL path segment ("." or "..") is left out, with a note in ``notes``."""
    if value is None:
        return ()
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    tags: dict[str, str] = {}
    for item in items:
        if item is None or isinstance(item, dict | list):
            continue
        tag = clean_text(nfc(str(item)).replace("/", "-").replace("\\", "-"))
        if tag in (".", ".."):
            if notes is not None:
                notes.append(f"tag {tag!r} left out: it cannot be a URL path segment")
            continue
        if tag:
            tags.setdefault(tag_key(tag), tag)
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
    text = optional_str(value)
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


def is_hidden(meta: dict[str, Any], source: str) -> bool:
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


def parse_updated(meta: dict[str, Any], timezone: ZoneInfo, source: str) -> dt.datetime | None:
    for name in ("updated", "lastModified"):
        if not is_blank(meta.get(name)):
            return parse_date(meta[name], timezone, source, name)
    return None


def parse_slug(override: Any, default: str, source: str) -> str:
    slug = default if is_blank(override) else str(override).strip()
    problem = segment_problem(slug)
    if problem:
        raise SlugError(source, f"slug {problem}, so it cannot be a URL path segment: {slug!r}")
    return nfc(slug)


def parse_author(value: Any, default: str, notes: list[str]) -> Author:
    if isinstance(value, dict) and not is_blank(value.get("name")):
        name = clean_text(nfc(str(value["name"])))
        if name:
            return Author(name, image_url(value.get("picture"), "author picture", notes))
    elif isinstance(value, str) and clean_text(value):
        return Author(clean_text(nfc(value)))
    return Author(clean_text(nfc(default)))


def og_image(value: Any) -> str | None:
    if isinstance(value, dict):
        return optional_str(value.get("url"))
    return optional_str(value)


def optional_str(value: Any) -> str | None:
    if is_blank(value) or isinstance(value, dict | list):
        return None
    return str(value).strip()


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def parse_series(value: Any, notes: list[str]) -> str | None:
    """``series:``: one line of display text whose slug is not empty, else None (noted)."""
    if is_blank(value):
        return None
    if isinstance(value, dict | list | bool):
        notes.append("series is not a string: left out")
        return None
    name = clean_text(str(value))
    if not slugify(name):
        notes.append(f"series {name!r} has no letter or digit: left out")
        return None
    return name


def parse_series_part(value: Any, notes: list[str]) -> float | None:
    """``seriesPart:``: a finite number (``3``, ``"3"``, ``2.5``), else None (noted when given)."""
    if is_blank(value):
        return None
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number):
        notes.append(f"seriesPart {value!r} is not a number: the date orders the post in its series")
        return None
    return number
