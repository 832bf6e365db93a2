"""parse_post() without an app: every fixture in tests/data/posts, dates, tags, authors, images,
flags, slugs, extra fields, excerpts, the repeated-title heading, lazy rendering, and YAML
oddities (bad values, unhashable keys, deep nesting, python tags, aliases) that must only ever
come out as a PostError naming the file (and the YAML line).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import textwrap
import time
import weakref
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from blogapp.posts.fields import Author
from blogapp.posts.fields import BadDateError
from blogapp.posts.fields import EmptyPostError
from blogapp.posts.fields import FrontMatterError
from blogapp.posts.fields import MissingFieldError
from blogapp.posts.fields import PostError
from blogapp.posts.post import Post
from blogapp.posts.post import extract_body
from blogapp.posts.post import parse_post
from blogapp.text.markup import render_markdown
from blogapp.text.summary import Summary
from blogapp.text.summary import summarize

POSTS = Path(__file__).parent / "data" / "posts"
BERLIN = ZoneInfo("Europe/Berlin")
UTC = dt.UTC
SITE_AUTHOR = "Site Author"


#: The text each parsed Post came from (a Post keeps no body: the store reads it again).
_TEXTS: weakref.WeakKeyDictionary[Post, str] = weakref.WeakKeyDictionary()


def parse(text: str, source: str = "posts/x.md", *, slug: str = "x", tz: ZoneInfo = BERLIN) -> Post:
    found = parse_post(
        text,
        source,
        slug=slug,
        timezone=tz,
        default_author=SITE_AUTHOR,
    )
    _TEXTS[found] = text
    return found


def body_of(post: Post) -> str:
    """The post's markdown body, as the store reads it from the file."""
    return extract_body(_TEXTS[post], post.title)


def summary_of(post: Post) -> Summary:
    return summarize(post, body_of(post))


def html_of(post: Post) -> str:
    """The post's body rendered as the feeds render it."""
    return str(render_markdown(body_of(post)))


def parse_fixture(name: str) -> Post:
    path = POSTS / name
    # Bytes, as content.py reads them: read_text() would hide CRLF line endings.
    return parse(path.read_bytes().decode("utf-8-sig"), str(path), slug=name.removesuffix(".md"))


def post(body: str = "Body.", **fields: str) -> str:
    """Front matter lines (given verbatim as YAML) and a body."""
    fields = {"title": "T", "date": '"2024-05-01T10:00:00Z"', **fields}
    front = "".join(f"{key}: {value}\n" for key, value in fields.items())
    return f"---\n{front}---\n{body}\n"


# --- every fixture -------------------------------------------------------------------------

#: name -> (title, date, tags, author, slug) for every fixture parse_post accepts.
VALID = {
    "hello-world.md": (
        "Hello World",
        dt.datetime(2024, 3, 1, 9, tzinfo=UTC),
        ("python", "flask"),
        Author("Ada Lovelace", "/assets/blog/authors/ada.png"),
        "hello-world",
    ),
    "Upper Case & Spaces.md": (
        "File Upper Case & Spaces",
        dt.datetime(2024, 1, 10, 10, tzinfo=UTC),
        ("odd names",),
        Author(SITE_AUTHOR),
        "Upper Case & Spaces",
    ),
    "it's-an-apostrophe.md": (
        "File it's-an-apostrophe",
        dt.datetime(2024, 1, 10, 10, tzinfo=UTC),
        ("odd names",),
        Author(SITE_AUTHOR),
        "it's-an-apostrophe",
    ),
    "double--dash.md": (
        "File double--dash",
        dt.datetime(2024, 1, 10, 10, tzinfo=UTC),
        ("odd names",),
        Author(SITE_AUTHOR),
        "double--dash",
    ),
    "café-naïve.md": (
        "File café-naïve",
        dt.datetime(2024, 1, 10, 10, tzinfo=UTC),
        ("odd names",),
        Author(SITE_AUTHOR),
        "café-naïve",
    ),
    "blank-line-after-opening.md": (
        "Blank Line After Opening",
        dt.datetime(2024, 2, 1, 8, tzinfo=UTC),
        (),
        Author(SITE_AUTHOR),
        "blank-line-after-opening",
    ),
    "body-h1-restates-title.md": (
        "Body H1 Restates Title",
        dt.datetime(2024, 1, 14, 10, tzinfo=UTC),
        (),
        Author(SITE_AUTHOR),
        "body-h1-restates-title",
    ),
    "body-h1-rewords-title.md": (
        "Body H1 Rewords Title",
        dt.datetime(2024, 1, 13, 10, tzinfo=UTC),
        (),
        Author(SITE_AUTHOR),
        "body-h1-rewords-title",
    ),
    "crlf-line-endings.md": (
        "CRLF Line Endings",
        dt.datetime(2024, 1, 6, 10, tzinfo=UTC),
        ("windows",),
        Author(SITE_AUTHOR),
        "crlf-line-endings",
    ),
    "draft.md": ("A Draft", dt.datetime(2024, 1, 3, 10, tzinfo=UTC), (), Author(SITE_AUTHOR), "draft"),
    "preview.md": ("A Preview", dt.datetime(2024, 1, 3, 9, tzinfo=UTC), (), Author(SITE_AUTHOR), "preview"),
    "future.md": ("From The Future", dt.datetime(2999, 1, 1, tzinfo=UTC), (), Author(SITE_AUTHOR), "future"),
    "excerpt-starts-with-heading.md": (
        "Excerpt Starts With Heading",
        dt.datetime(2024, 1, 15, 10, tzinfo=UTC),
        (),
        Author(SITE_AUTHOR),
        "excerpt-starts-with-heading",
    ),
    "long-dash-delimiter.md": (
        "Long Dash Delimiter",
        dt.datetime(2024, 1, 20, 8, tzinfo=UTC),
        (),
        Author(SITE_AUTHOR),
        "long-dash-delimiter",
    ),
    "microseconds-no-offset.md": (
        "Microseconds No Offset",
        dt.datetime(2024, 12, 24, 11, 32, 48, 268521, tzinfo=BERLIN),
        (),
        Author(SITE_AUTHOR),
        "microseconds-no-offset",
    ),
    "missing-cover.md": (
        "Missing Cover",
        dt.datetime(2024, 1, 8, 10, tzinfo=UTC),
        (),
        Author("Nobody", "/assets/blog/authors/missing.png"),
        "missing-cover",
    ),
    "plain-name-author.md": (
        "Plain Name Author",
        dt.datetime(2023, 5, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))),
        (),
        Author("Grace Hopper"),
        "plain-name-author",
    ),
    "slug-override.md": (
        "Slug Override",
        dt.datetime(2023, 6, 1, tzinfo=BERLIN),
        (),
        Author(SITE_AUTHOR),
        "custom-slug",
    ),
    "tags-as-list.md": (
        "Tags As List",
        dt.datetime(2024, 1, 4, 10, tzinfo=UTC),
        ("python", "markdown"),
        Author(SITE_AUTHOR),
        "tags-as-list",
    ),
    "tags-as-string.md": (
        "Tags As String",
        dt.datetime(2024, 1, 5, 10, tzinfo=UTC),
        ("python", "Web Dev"),
        Author(SITE_AUTHOR),
        "tags-as-string",
    ),
    "utf8-bom.md": ("UTF-8 BOM", dt.datetime(2024, 1, 7, 10, tzinfo=UTC), (), Author(SITE_AUTHOR), "utf8-bom"),
}

#: name -> the PostError subclass parse_post raises for it.
INVALID = {
    "excerpt-with-unescaped-quotes.md": FrontMatterError,
    "front-matter-is-a-list.md": FrontMatterError,
    "no-title.md": MissingFieldError,
    "date-not-a-date.md": BadDateError,
    "empty.md": EmptyPostError,
}

#: Fixtures parse_post never sees: content.py rejects them before decoding succeeds.
NOT_TEXT = {"not-utf8.md"}


def test_every_fixture_is_classified():
    names = {p.name for p in POSTS.glob("*.md") if not p.name.startswith(".")}
    assert names == set(VALID) | set(INVALID) | NOT_TEXT, "classify new fixtures in VALID or INVALID"


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_fixture(name):
    title, date, tags, author, slug = VALID[name]
    result = parse_fixture(name)
    assert result.title == title
    assert result.date == date
    assert result.date.utcoffset() == date.utcoffset()
    assert result.tags == tags
    assert result.author == author
    assert result.slug == slug
    assert result.source == str(POSTS / name)
    assert html_of(result).strip()


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_fixture(name):
    path = POSTS / name
    with pytest.raises(PostError) as info:
        parse_fixture(name)
    err = info.value
    assert type(err) is INVALID[name]
    assert err.path == str(path)
    assert err.reason
    where = f"{path}:{err.line}" if err.line else str(path)
    assert str(err) == f"{where}: {err.reason}"


def test_fixture_flags_and_fields():
    hello = parse_fixture("hello-world.md")
    assert hello.cover_image == "/assets/blog/cover.png"
    assert hello.category == "news"
    assert summary_of(hello).excerpt == "A first post with bold words."
    assert not hello.draft
    assert parse_fixture("draft.md").draft
    assert parse_fixture("preview.md").draft
    assert b"\r\n" in (POSTS / "crlf-line-endings.md").read_bytes()
    crlf = parse_fixture("crlf-line-endings.md")
    assert body_of(crlf) == "Line one.\n\nLine two."
    assert "\r" not in html_of(crlf)


# --- error messages and YAML line numbers -----------------------------------------------

BAD_QUOTES = '---\ntitle: T\nexcerpt: "She said "hello" and left"\ndate: 2024-01-01\n---\nBody.\n'


def _bad_line(text: str) -> int:
    """1-based number of the line holding the unescaped quotes."""
    lines = text.replace("\r\n", "\n").split("\n")
    return next(i for i, line in enumerate(lines, 1) if '"hello"' in line)


def test_yaml_error_fixture_names_its_line():
    path = POSTS / "excerpt-with-unescaped-quotes.md"
    text = path.read_bytes().decode("utf-8")
    with pytest.raises(FrontMatterError) as info:
        parse(text, str(path))
    line = _bad_line(text)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert str(info.value) == f"{path}:{line}: {info.value.reason}"


@pytest.mark.parametrize(
    "text",
    [
        BAD_QUOTES,
        BAD_QUOTES.replace("---\n", "---\n\n", 1),
        BAD_QUOTES.replace("---\n", "---\n\n\n", 1),
        BAD_QUOTES.replace("\n", "\r\n"),
        BAD_QUOTES.replace("---\n", "---\n\n", 1).replace("\n", "\r\n"),
        "\n\n" + BAD_QUOTES,
    ],
    ids=["plain", "blank-after-opening", "two-blanks", "crlf", "crlf-and-blank", "blank-lines-before"],
)
def test_yaml_error_line_number(text):
    with pytest.raises(FrontMatterError) as info:
        parse(text, "posts/quotes.md")
    line = _bad_line(text)
    assert info.value.line == line
    assert str(info.value).startswith(f"posts/quotes.md:{line}: ")


def test_errors_without_a_line_are_path_colon_reason():
    with pytest.raises(MissingFieldError) as info:
        parse(post(title='""'), "posts/untitled.md")
    assert info.value.line is None
    assert str(info.value) == f"posts/untitled.md: {info.value.reason}"
    assert "title" in info.value.reason


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", EmptyPostError),
        ("  \n\n", EmptyPostError),
        ("Just text, no front matter.\n", FrontMatterError),
        ("---\ntitle: T\ndate: 2024-01-01\nBody but no closing line.\n", FrontMatterError),
        ("---\n- a\n- b\n---\nBody.\n", FrontMatterError),
        ("---\njust a string\n---\nBody.\n", FrontMatterError),
        ("---\n---\nBody.\n", MissingFieldError),
        (post(date='""'), MissingFieldError),
        (post(date="next tuesday"), BadDateError),
        (post(date="12"), BadDateError),
        (post(date="true"), BadDateError),
        (post(updated="soon"), BadDateError),
    ],
)
def test_unusable_posts(text, error):
    with pytest.raises(error):
        parse(text)


# --- dates ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        # Quoted, microseconds, no offset: the configured zone, which in Berlin's winter is +01:00.
        ('"2024-12-24T11:32:48.268521"', BERLIN, dt.datetime(2024, 12, 24, 10, 32, 48, 268521, tzinfo=UTC)),
        ('"2024-07-01T12:00:00"', BERLIN, dt.datetime(2024, 7, 1, 10, tzinfo=UTC)),
        ('"2024-12-24T11:32:48.268521"', ZoneInfo("UTC"), dt.datetime(2024, 12, 24, 11, 32, 48, 268521, tzinfo=UTC)),
        ('"2024-01-01T10:00:00Z"', BERLIN, dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ('"2024-01-01T10:00:00+02:00"', BERLIN, dt.datetime(2024, 1, 1, 8, tzinfo=UTC)),
        ('"2024-01-01"', BERLIN, dt.datetime(2023, 12, 31, 23, tzinfo=UTC)),
        # Unquoted: YAML itself makes a date or a datetime.
        ("2024-01-01", BERLIN, dt.datetime(2023, 12, 31, 23, tzinfo=UTC)),
        ("2024-01-01T10:00:00", BERLIN, dt.datetime(2024, 1, 1, 9, tzinfo=UTC)),
        ("2024-01-01 10:00:00", BERLIN, dt.datetime(2024, 1, 1, 9, tzinfo=UTC)),
        ("2024-01-01T10:00:00Z", BERLIN, dt.datetime(2024, 1, 1, 10, tzinfo=UTC)),
        ("2024-01-01T10:00:00.5+02:00", BERLIN, dt.datetime(2024, 1, 1, 8, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_date_forms(value, tz, expected):
    date = parse(post(date=value), tz=tz).date
    assert date.tzinfo is not None
    assert date == expected


def test_date_without_offset_takes_the_zone_offset():
    winter = parse(post(date='"2024-12-24T11:32:48.268521"')).date
    summer = parse(post(date='"2024-07-01T12:00:00"')).date
    assert winter.utcoffset() == dt.timedelta(hours=1)
    assert summer.utcoffset() == dt.timedelta(hours=2)
    assert winter.isoformat() == "2024-12-24T11:32:48.268521+01:00"


@pytest.mark.parametrize("name", ["updated", "lastModified"])
def test_updated_date(name):
    result = parse(post(**{name: '"2024-06-02T10:00:00+02:00"'}))
    assert result.updated == dt.datetime(2024, 6, 2, 8, tzinfo=UTC)
    assert name not in result.meta


def test_no_updated_date():
    assert parse(post()).updated is None


# --- tags, authors, images, flags, slugs, extra fields -------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("[python, flask]", ("python", "flask")),
        ("\n  - python\n  - markdown", ("python", "markdown")),
        ('"python, Web Dev ,  python"', ("python", "Web Dev")),
        ('"Python, python, PYTHON, rust"', ("Python", "rust")),
        ("[Go, go, ' GO ']", ("Go",)),
        ('"a,, b ,"', ("a", "b")),
        ("single", ("single",)),
        ('""', ()),
        ("[]", ()),
    ],
)
def test_tags(value, expected):
    assert parse(post(tags=value)).tags == expected


def test_no_tags():
    assert parse(post()).tags == ()


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (
            "\n  name: Ada Lovelace\n  picture: /assets/blog/authors/ada.png",
            Author("Ada Lovelace", "/assets/blog/authors/ada.png"),
        ),
        ("{name: Ada}", Author("Ada")),
        ("Grace Hopper", Author("Grace Hopper")),
        ('"  Grace Hopper  "', Author("Grace Hopper")),
        ('""', Author(SITE_AUTHOR)),
        ("{picture: /a.png}", Author(SITE_AUTHOR)),
    ],
)
def test_author(value, expected):
    assert parse(post(author=value)).author == expected


def test_author_absent_falls_back_to_site_author():
    assert parse(post()).author == Author(SITE_AUTHOR)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("\n  url: /assets/blog/og.png", "/assets/blog/og.png"), ("/assets/blog/og.png", "/assets/blog/og.png")],
)
def test_og_image(value, expected):
    assert parse(post(ogImage=value)).og_image == expected


def test_cover_image():
    assert parse(post(coverImage="/assets/blog/x.jpg")).cover_image == "/assets/blog/x.jpg"
    assert parse(post()).cover_image is None


@pytest.mark.parametrize(
    ("fields", "hidden"),
    [
        ({}, False),
        ({"draft": "true"}, True),
        ({"preview": "true"}, True),
        ({"draft": "false"}, False),
        ({"draft": "false", "preview": "true"}, True),
        ({"draft": '"false"'}, False),
    ],
)
def test_draft_and_preview(fields, hidden):
    assert parse(post(**fields)).draft is hidden


def test_slug_defaults_to_the_given_name():
    assert parse(post(), slug="Upper Case & Spaces").slug == "Upper Case & Spaces"


def test_slug_override():
    assert parse(post(slug="custom-slug"), slug="file-name").slug == "custom-slug"
    assert parse(post(slug='""'), slug="file-name").slug == "file-name"


def test_slug_is_nfc():
    assert parse(post(), slug="cafe\u0301").slug == "caf\u00e9"


@pytest.mark.parametrize("value", ["a/b", '".."'])
def test_slug_override_cannot_be_a_path(value):
    with pytest.raises(PostError):
        parse(post(slug=value))


def test_unknown_fields_stay_in_meta():
    result = parse(post(series="basics", readingTime="5", extra="{a: [1, 2]}"))
    assert result.meta == {"series": "basics", "readingTime": 5, "extra": {"a": [1, 2]}}
    assert result["series"] == "basics"
    assert result["extra"]["a"] == [1, 2]
    with pytest.raises(KeyError):
        result["title"]
    assert "date" not in result.meta


# --- excerpts ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"A first post with **bold** and _it_ words."', "A first post with bold and it words."),
        ('"# A Heading In The Excerpt  Then the words go on"', "A Heading In The Excerpt Then the words go on"),
        ('"See [the docs](https://example.com) &amp; `code`"', "See the docs & code"),
        ('">- quoted item"', "quoted item"),
    ],
)
def test_excerpt_markdown_becomes_plain_text(value, expected):
    assert summary_of(parse(post(excerpt=value))).excerpt == expected


def test_derived_excerpt_is_plain_text():
    result = parse(post(body="## Intro\n\nSome **bold** text with a [link](/x) and `code`.\n\n- item"))
    assert summary_of(result).excerpt == "Some bold text with a link and code. item"  # headings left out


def test_derived_excerpt_is_truncated_at_a_word_boundary():
    words = [f"word{i}" for i in range(200)]
    body = "Some **bold** start. " + " ".join(words)
    excerpt = summary_of(parse(post(body=body))).excerpt
    full = "Some bold start. " + " ".join(words)
    assert excerpt.endswith("…")
    assert 20 < len(excerpt) <= 200
    kept = excerpt[:-1]
    assert full.startswith(kept)
    assert full[len(kept)] == " ", "cut in the middle of a word"
    assert "*" not in excerpt


def test_derived_excerpt_of_a_short_body_is_whole():
    assert summary_of(parse(post(body="Short *and* sweet."))).excerpt == "Short and sweet."


# --- the title repeated as the body's first heading ------------------------------------


def test_leading_h1_equal_to_title_is_dropped():
    result = parse(post(title='"Hello, World!"', body="# Hello World\n\nFirst paragraph.\n\n## Section"))
    assert body_of(result).startswith("First paragraph.")
    assert "Hello World" not in html_of(result)
    assert '<h2 id="section">Section</h2>' in html_of(result)  # the body's top heading sits under the title
    assert summary_of(result).excerpt.startswith("First paragraph.")


def test_leading_h1_restating_the_fixture_title_is_dropped():
    result = parse_fixture("body-h1-restates-title.md")
    assert "Body H1 Restates Title" not in html_of(result)
    assert "First paragraph after the repeated title." in html_of(result)


def test_reworded_leading_h1_is_kept_as_h2():
    result = parse_fixture("body-h1-rewords-title.md")
    assert "<h2" in html_of(result)
    assert "A Different Wording Of The Title</h2>" in html_of(result)
    assert "<h1" not in html_of(result)


def test_later_h1_equal_to_title_is_kept():
    result = parse(post(body="Intro.\n\n# T"))
    assert "T</h2>" in html_of(result)


# --- rendering once -------------------------------------------------------------------------


def test_a_post_is_a_plain_value_without_body_or_html():
    """A Post holds neither HTML nor its body: the store reads the body from the file."""
    result = parse(post(body="Some *text*."))
    assert not hasattr(result, "html")
    assert not hasattr(result, "body")
    assert "<em>text</em>" in html_of(result)


# --- YAML oddities --------------------------------------------------------------------------

BILLION_LAUGHS = textwrap.dedent(
    """\
    a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
    i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
    """
)


ODDITIES = {
    "month-13": "title: T\ndate: 2024-13-01\n",
    "february-30": "title: T\ndate: 2024-02-30\n",
    "hour-25": "title: T\ndate: 2024-01-01T25:00:00\n",
    "offset-25h": "title: T\ndate: 2024-01-01T10:00:00+25:00\n",
    "quoted-month-13": 'title: T\ndate: "2024-13-01"\n',
    "quoted-year-99999": 'title: T\ndate: "99999-01-01"\n',
    "timestamp-tag-on-text": "title: T\ndate: !!timestamp soon\n",
    "nan-date": "title: T\ndate: .nan\n",
    "int-tag-on-text": "title: T\ndate: 2024-01-01\nn: !!int nope\n",
    "float-tag-on-text": "title: T\ndate: 2024-01-01\nn: !!float nope\n",
    "binary-date": "title: T\ndate: !!binary aGk=\n",
    "list-key": "title: T\ndate: 2024-01-01\n? [a, b]\n: unhashable\n",
    "mapping-key": "title: T\ndate: 2024-01-01\n? {a: b}\n: unhashable\n",
    "unknown-tag": "title: T\ndate: 2024-01-01\nx: !custom thing\n",
    "undefined-alias": "title: T\ndate: 2024-01-01\nx: *undefined\n",
    "undefined-merge": "title: T\ndate: 2024-01-01\n<<: *undefined\n",
    "merge-of-scalars": "title: T\ndate: 2024-01-01\n<<: [1, 2]\n",
    "unclosed-list": "title: T\ndate: 2024-01-01\nx: [unclosed\n",
    "nested-lists-2000": "title: T\ndate: 2024-01-01\nx: " + "[" * 2000 + "]" * 2000 + "\n",
    "nested-maps-2000": "title: T\ndate: 2024-01-01\nx: " + "{a: " * 2000 + "1" + "}" * 2000 + "\n",
    "self-referencing-alias": "title: T\ndate: 2024-01-01\nx: &x [*x]\n",
    "billion-laughs": "title: T\ndate: 2024-01-01\n" + BILLION_LAUGHS,
    "billion-laughs-title": BILLION_LAUGHS + "title: *i\ndate: 2024-01-01\n",
    "billion-laughs-date": BILLION_LAUGHS + "title: T\ndate: *i\n",
    "billion-laughs-slug": BILLION_LAUGHS + "title: T\ndate: 2024-01-01\nslug: *i\n",
    "billion-laughs-author": BILLION_LAUGHS + "title: T\ndate: 2024-01-01\nauthor: {name: *i}\n",
}


@pytest.mark.parametrize("front", ODDITIES.values(), ids=ODDITIES.keys())
def test_yaml_oddities_are_post_errors(front):
    start = time.monotonic()
    with pytest.raises(PostError) as info:
        parse(f"---\n{front}---\nBody.\n", "posts/odd.md")
    assert str(info.value).startswith("posts/odd.md")
    assert time.monotonic() - start < 5, "front matter took too long to reject"


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:builtins.str ['pwned']",
        "!!python/object:builtins.object {}",
        "!!python/name:os.system",
        "!!python/str pwned",
    ],
)
def test_python_yaml_tags_are_rejected(tag):
    with pytest.raises(FrontMatterError) as info:
        parse(f"---\ntitle: {tag}\ndate: 2024-01-01\n---\nBody.\n", "posts/tagged.md")
    assert info.value.line == 2


@pytest.mark.parametrize(
    "nested",
    ["x: " + "[" * 100_000 + "]" * 100_000, "x:\n" + "- " * 100_000 + "y"],
    ids=["flow", "block"],
)
def test_deeply_nested_front_matter_is_an_error_not_a_crash(nested, tmp_path):
    """Run in a child process: a C-level stack overflow would kill the test run itself."""
    path = tmp_path / "deep.md"
    path.write_text(f"---\ntitle: T\ndate: 2024-01-01\n{nested}\n---\nBody.\n", encoding="utf-8")
    script = textwrap.dedent(
        f"""
        from pathlib import Path
        from zoneinfo import ZoneInfo
        from blogapp.posts.fields import PostError
        from blogapp.posts.post import parse_post
        text = Path({str(path)!r}).read_text(encoding="utf-8")
        try:
            parse_post(text, "deep.md", slug="deep", timezone=ZoneInfo("UTC"), default_author="A")
        except PostError as err:
            print(type(err).__name__)
        """
    )
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"child died with {done.returncode}: {done.stderr[-500:]}"
    assert done.stdout.strip() == "FrontMatterError"


def test_anchors_and_aliases_work():
    text = "---\ntitle: &t Shared Title\ndate: 2024-01-01\nog: *t\nbase: &b {x: 1}\nmerged:\n  <<: *b\n  y: 2\n---\nB\n"
    result = parse(text)
    assert result.title == "Shared Title"
    assert result["og"] == "Shared Title"
    assert result["merged"] == {"x": 1, "y": 2}


def test_moderately_nested_front_matter_is_fine():
    result = parse(post(x="[[[[[[[[1]]]]]]]]"))
    assert result["x"] == [[[[[[[[1]]]]]]]]


def test_non_string_keys_become_strings():
    assert parse(post(**{"1": "one"}))["1"] == "one"
