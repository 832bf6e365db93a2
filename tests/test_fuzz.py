"""Fuzzing with hypothesis: whatever bytes a post file holds, whatever markdown a post body
holds and whatever URL a client asks for, the blog answers in the one way it promises.

- Loader: any file in the posts folder becomes a Post or a PostError naming the file with a
  reason; nothing else escapes (no other exception, no hang), and a file that becomes a Post
  renders its page, the home page and the feeds without a 5xx. Front matter includes billion
  laughs and merge-key bombs; bodies include single lines of repeated syntax tens of KB long.
- Renderer: without BLOG_TRUST_HTML, rendered HTML has no script, iframe, object or embed, no
  event-handler attribute, no ``javascript:``-like URL (decoded, whitespace tricks removed) and
  no ``style`` other than ``text-align`` -- checked on the parsed HTML, not on substrings.
- HTTP: no path, query string or header value makes the app answer 5xx.

Examples stay small and ``max_examples`` moderate so the file runs in seconds; with ``CI`` set
the examples are derandomized (the same every run), so CI never fails on a fresh draw. For a
longer hunt: ``FUZZ_SCALE=30 .venv/bin/python -m pytest tests/test_fuzz.py
--hypothesis-show-statistics`` (about four minutes). Bugs found this way have their own
regression tests (invalid Host, dates at the edge of the datetime range).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import json
import os
import re
import shutil
import string
from html.parser import HTMLParser
from urllib.parse import quote
from urllib.parse import unquote_to_bytes
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck
from hypothesis import event
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.test import EnvironBuilder
from werkzeug.test import run_wsgi_app

from blogapp import content
from blogapp import create_app
from blogapp.posts.fields import PostError
from blogapp.posts.post import Post
from blogapp.posts.post import extract_body
from blogapp.posts.post import parse_post
from blogapp.search import words as searchtext
from blogapp.text import markup
from blogapp.text import plaintext
from blogapp.text.summary import count_words
from blogapp.text.summary import summarize

from .conftest import DATA
from .support import merge_bomb
from .support import within

#: FUZZ_SCALE=20 runs twenty times the examples, for a longer local session.
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
FUZZ = settings(
    deadline=None,  # the first render of a process loads Pygments lexers; time is bounded by sizes
    database=None,  # no .hypothesis/ folder in the checkout
    derandomize=bool(os.environ.get("CI")),
    max_examples=int(60 * SCALE),
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ],
)

# -- front matter ------------------------------------------------------------------------------

ODD_DATES = [
    "2024-13-01",
    "2024-02-30",
    "2024-00-10",
    "0000-01-01",
    "0001-01-01",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31",
    "9999-12-31T23:59:59-12:00",
    "2024-01-01T24:00:00",
    "2024-01-01T23:59:60",
    "2024-01-01T10:00:00+25:00",
    "2024-01-01T10:00:00.123456789Z",
    "2024-W01-1",
    "2024-001",
    "20240101",
    "2024-1-1",
    "1 January 2024",
    "yesterday",
    "now",
    "!!timestamp soon",
    "!!timestamp 2024-01-01",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "-2024-01-01",
    "+002024-01-01",
    "1e10",
    "1704067200",
    "-1",
    ".nan",
    "[2024, 1, 1]",
    "{year: 2024}",
    "null",
    "~",
    "''",
    '"2024-01-01T10:00:00Z"',
    "'2024-06-01'",
]

YAML_ODDITIES = [
    "!!python/object/apply:os.system ['echo pwned']",
    "!!python/object:builtins.object {}",
    "!!python/object/new:type ['x', [], {}]",
    "!!python/name:os.system",
    "!!python/tuple [1, 2]",
    "!!python/module:os",
    "!<tag:yaml.org,2002:python/object/apply:os.getcwd> []",
    "!!binary aGVsbG8gd29ybGQ=",
    "!!binary '!!!not base64'",
    "!custom value",
    "!custom {a: 1}",
    "!!set {a, b}",
    "!!omap [a: 1, b: 2]",
    "!!pairs [a: 1, a: 2]",
    "!!str 123",
    "!!int abc",
    "!!float x",
    "!!bool maybe",
    "!!null x",
    "!!map [1, 2]",
    "!!seq {a: 1}",
    "*undefined",
    "&anchor value",
    "&a [*a]",
    "? [complex, key]",
    "{[1]: x}",
    "[unclosed",
    "{a: 1",
    '"unterminated',
    "'it''s'",
    '"\\x00 \\u2028 \\U0001F600 \\xff"',
    '"\\q invalid escape"',
    "|\n  literal block\n  second line",
    ">-\n  folded\n\n  block",
    "|\n wrong\n   indent\n  here",
    "@reserved",
    "`backtick",
    "%not a directive",
    "- a\n- b",
    "0x1F",
    "0o17",
    "1_000",
    ".inf",
    "-.nan",
    "yes",
    "no",
    "on",
    "off",
    "<<: {title: merged}",
    "\t tab indented",
    "value # comment",
    "a: b: c",
]

KNOWN_KEYS = [
    "title",
    "date",
    "excerpt",
    "coverImage",
    "ogImage",
    "author",
    "tags",
    "category",
    "updated",
    "lastModified",
    "draft",
    "preview",
    "slug",
    "aliases",
    "id",
]

XSS_STRINGS = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "javascript:alert(1)",
    "</script><script>alert(1)</script>",
    "<!--",
    "&lt;script&gt;",
    "\u2028\u2029",
    "{{ config }}",
    "{% raw %}",
]

_YAML_UNPRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def yaml_quote(text: str) -> str:
    """``text`` as a YAML double-quoted scalar (JSON's syntax, minus surrogate-pair escapes)."""
    quoted = json.dumps(text, ensure_ascii=False)
    return _YAML_UNPRINTABLE.sub(lambda m: f"\\u{ord(m[0]):04x}", quoted)


simple_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)),
    max_size=30,
)
yaml_scalars = st.one_of(
    simple_text.map(yaml_quote),  # a valid double-quoted YAML string
    simple_text,  # anything, unquoted
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True).map(repr),
    st.booleans().map(str),
    st.sampled_from(YAML_ODDITIES),
    st.sampled_from(ODD_DATES),
    st.sampled_from(XSS_STRINGS).map(yaml_quote),
)
#: Mostly values YAML reads fine (so files get past the front matter), sometimes anything.
field_values = st.sampled_from([False] * 7 + [True]).flatmap(
    lambda odd: yaml_scalars if odd else st.one_of(simple_text.map(yaml_quote), st.integers().map(str))
)
date_values = st.one_of(
    st.sampled_from(ODD_DATES),
    st.datetimes(
        timezones=st.sampled_from(
            [None, dt.UTC, dt.timezone(dt.timedelta(hours=14)), dt.timezone(dt.timedelta(hours=-12))]
        )
    ).map(lambda d: json.dumps(d.isoformat()) if d.microsecond % 2 else d.isoformat()),
    st.dates().map(str),
    yaml_scalars,
)


@st.composite
def nested_value(draw: st.DrawFn) -> str:
    """Flow-style nesting, balanced or not, from shallow to very deep."""
    depth = draw(st.sampled_from([1, 5, 49, 50, 51, 200, 1000, 5000, 30_000]))
    opener = draw(st.sampled_from(["[", "{a: ", "[{b: "]))
    closer = {"[": "]", "{a: ": "}", "[{b: ": "}]"}[opener]
    closing = draw(st.sampled_from([depth, depth - 1, 0]))
    return opener * depth + "x" + closer * closing


@st.composite
def billion_laughs(draw: st.DrawFn) -> list[str]:
    """Anchors and aliases that expand to width ** depth values."""
    depth = draw(st.integers(min_value=1, max_value=12))
    width = draw(st.integers(min_value=2, max_value=12))
    lines = ['a0: &a0 ["lol", "lol"]']
    for i in range(1, depth + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    target = draw(st.sampled_from(["title", "tags", "excerpt", "author", "extra"]))
    lines.append(f"{target}: *a{depth}")
    return lines


@st.composite
def merge_keys(draw: st.DrawFn) -> list[str]:
    """Anchors merged into mappings (``<<:``), flow or block, single or repeated, to any depth:
    PyYAML copies merged pairs, so a repeated merge doubles at each level."""
    depth = draw(st.integers(min_value=1, max_value=45))
    width = draw(st.integers(min_value=1, max_value=3))
    block = draw(st.booleans())
    lines = ["m0: &m0 {k: v, " + draw(st.sampled_from(["t: T", "x: [1, 2]", "y: {z: 1}"])) + "}"]
    for i in range(1, depth + 1):
        merged = ", ".join([f"*m{i - 1}"] * width)
        merged = f"[{merged}]" if width > 1 or draw(st.booleans()) else merged
        if block:
            lines.append(f"m{i}: &m{i}\n  <<: {merged}\n  k{i}: v")
        else:
            lines.append(f"m{i}: &m{i} {{<<: {merged}, k{i}: v}}")
    target = draw(st.sampled_from(["extra", "author", "tags", "title"]))
    lines.append(f"{target}: *m{depth}" if draw(st.booleans()) else f"{target}: {{<<: *m{depth}}}")
    return lines


@st.composite
def block_nesting(draw: st.DrawFn) -> list[str]:
    """Block-style mappings nested by indentation."""
    depth = draw(st.integers(min_value=1, max_value=120))
    return [" " * i + f"k{i}:" for i in range(depth)] + [" " * depth + "leaf"]


@st.composite
def field_lines(draw: st.DrawFn) -> list[str]:
    """A mapping's lines: maybe title and date, then some known or odd fields."""
    lines = []
    if draw(st.sampled_from([True] * 7 + [False])):  # mostly present, so most files get further
        titles = st.one_of(st.just('"Fuzzed post"'), simple_text.filter(str.strip).map(yaml_quote), field_values)
        lines.append("title: " + draw(titles))
    if draw(st.sampled_from([True] * 7 + [False])):
        odd = draw(st.sampled_from([False, False, True]))
        lines.append("date: " + (draw(date_values) if odd else draw(st.dates()).isoformat()))
    keys = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(string.ascii_letters + string.digits + "_-", min_size=1))
    for key, value in draw(st.lists(st.tuples(keys, field_values), max_size=5)):
        lines.append(f"{key}: {value}")
    if draw(st.booleans()):
        lines.append("author:\n  name: " + draw(field_values) + "\n  picture: " + draw(field_values))
    if draw(st.booleans()):
        lines.append("tags: [" + ", ".join(draw(st.lists(field_values, max_size=4))) + "]")
    return lines


@st.composite
def front_matter(draw: st.DrawFn) -> list[str]:
    kinds = ["fields"] * 8 + ["laughs", "merges", "nested", "block", "huge", "non-mapping", "text"]
    kind = draw(st.sampled_from(kinds))
    if kind == "fields":
        return draw(field_lines())
    base = ['title: "T"', "date: 2024-01-01"] if draw(st.booleans()) else []
    if kind == "laughs":
        return base + draw(billion_laughs())
    if kind == "merges":
        return base + draw(merge_keys())
    if kind == "nested":
        return [*base, f"{draw(st.sampled_from(['tags', 'title', 'author', 'x']))}: {draw(nested_value())}"]
    if kind == "block":
        return base + draw(block_nesting())
    if kind == "huge":
        size = draw(st.sampled_from([10_000, 300_000, 2_200_000]))
        key = draw(st.sampled_from(["title", "excerpt", "x"]))
        return [*base, f"{key}: " + "x" * size]
    if kind == "non-mapping":
        return [draw(st.sampled_from(["- a\n- b", "just a string", "42", "null", "[1, 2]", "!!binary aGk=", "---"]))]
    return draw(st.lists(simple_text, max_size=5))


# -- markdown ------------------------------------------------------------------------------------

#: Known ways to sneak script into HTML, raw and through markdown syntax.
XSS_VECTORS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<img src=x oNeRrOr=alert(1)//",
    '<img src="jav&#x0A;ascript:alert(1)">',
    '<img src="x" style="background:url(javascript:alert(1))">',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<svg><a xlink:href='javascript:alert(1)'><text>x</text></a></svg>",
    "<math><mi xlink:href='javascript:alert(1)'>x</mi></math>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="&#x6A;avascript&colon;alert(1)">x</a>',
    '<a href="&#0000106&#0000097vascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '<a href="java\tscript:alert(1)">x</a>',
    '<a href=" &#14;  javascript:alert(1)">x</a>',
    '<a href="\x01javascript:alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="x" onmouseover="alert(1)">x</a>',
    "<a href=x onclick=alert(1)>x</a>",
    '<iframe src="https://evil.example"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="x.swf"></object>',
    '<embed src="x.swf">',
    "<style>body{display:none}</style>",
    '<p style="color:red;text-align:center">x</p>',
    '<td style="text-align:left;background:url(javascript:alert(1))">x</td>',
    '<div style="text-align: center; position: fixed">x</div>',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">x</button></form>',
    '<input onfocus="alert(1)" autofocus>',
    '<details open ontoggle="alert(1)">x</details>',
    '<body onload="alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="javascript:alert(1)">',
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
    '<video poster="javascript:alert(1)"></video>',
    "<!--<script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<template><script>alert(1)</script></template>",
    "<textarea><script>alert(1)</script></textarea>",
    '<a title="<img x><script>alert(1)</script>">t</a>',
    "[x](javascript:alert(1))",
    "[x](JAVASCRIPT:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](java%0ascript:alert(1))",
    "[x](<javascript:alert(1)>)",
    '[x]( javascript:alert(1) "title")',
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html,<script>alert(1)</script>)",
    '[x](https://ok.example "t\\" onmouseover=\\"alert(1)")',
    "![x](javascript:alert(1))",
    '![x](x" onerror="alert(1))',
    "![x](x.png){onerror=alert(1)}",
    "<javascript:alert(1)>",
    "<JavaScript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "www.example.com/javascript:alert(1)",
    "javascript:alert(1)",
    "[x][ref]\n\n[ref]: javascript:alert(1)",
    "[ref]\n\n[ref]: <javascript:alert(1)> 'title'",
    "![x][img]\n\n[img]: javascript:alert(1)",
    "# <img src=x onerror=alert(1)>",
    '## x" onmouseover="alert(1)',
    '```"><img src=x onerror=alert(1)>\ncode\n```',
    "```js onload=alert(1)\ncode\n```",
    "~~~<script>\nx\n~~~",
    "Text[^1]\n\n[^1]: <script>alert(1)</script> [x](javascript:alert(1))",
    "| a | b |\n|:-:|--:|\n| <img src=x onerror=alert(1)> | [x](javascript:alert(1)) |",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "\\<script>alert(1)\\</script>",
    "`<script>alert(1)</script>`",
    "<a href='javascript:alert(1)'>**bold** [nested](javascript:alert(2))</a>",
]

MARKDOWN_SNIPPETS = [
    "# Heading",
    "## Sub *heading*",
    "###### Six",
    "Para with **bold**, _em_, `code` and ~~strike~~.",
    "- item\n  - nested\n    - deeper",
    "1. one\n2. two\n\n10) ten",
    "> quote\n> > nested quote",
    "```python\nprint('hi')\n```",
    "```nosuchlang\nx\n```",
    "    indented code",
    "| a | b |\n|---|:--|\n| 1 | 2 |",
    "[link](https://example.com 'title')",
    "[rel](/posts/x) ![img](/assets/blog/cover.png)",
    "<https://example.com> and https://bare.example.com/path?q=1",
    "Footnote[^n]\n\n[^n]: the note",
    "---",
    "***",
    "<div>\n*not* markdown\n</div>",
    "<details><summary>S</summary>hidden</details>",
    "line  \nbreak",
    "\\* escaped",
    "&amp; &copy; &#x1F600; &bogus;",
    "[unclosed](",
    "![unclosed",
    "<",
    "`",
    "```",
    "|",
    "\x00",
    "\ufeff",
    "\u202e right to left override",
]


@st.composite
def markdown_documents(draw: st.DrawFn) -> str:
    pieces = draw(
        st.lists(
            st.one_of(
                st.sampled_from(XSS_VECTORS),
                st.sampled_from(XSS_VECTORS),
                st.sampled_from(MARKDOWN_SNIPPETS),
                simple_text,
                st.text(alphabet="<>&\"'`=/\\!:[]()#*_~|-\n \tajvscrito", max_size=30),
            ),
            max_size=8,
        )
    )
    separators = st.sampled_from(["\n\n", "\n", " ", "", "\n> ", "\n- ", "\n    "])
    text = "".join(piece + draw(separators) for piece in pieces)
    nesting = draw(st.sampled_from([0, 0, 0, 3, 30, 300]))
    if nesting:
        marker = draw(st.sampled_from(["> ", "- ", "1. ", "* > ", "  - "]))
        text = marker * nesting + text
    return text


#: Characters of markdown (and HTML) syntax, for bodies made of one unit repeated on one line.
SYNTAX_UNITS = [*"[]()!<>`*_~#-|^:&;\\\"'= \ta1", "<!--", "-->", "<script>", "http:", "](", "[^", "```", "\n"]


@st.composite
def long_lines(draw: st.DrawFn) -> str:
    """One unit of syntax repeated on a single line up to tens of kilobytes: where a pattern
    that scans ahead from every opener turns quadratic."""
    unit = "".join(draw(st.lists(st.sampled_from(SYNTAX_UNITS), min_size=1, max_size=4)))
    size = draw(st.sampled_from([1_000, 10_000, 40_000]))
    return draw(st.sampled_from(["", "# ", "x\n", "> "])) + unit * (size // len(unit) + 1)


# -- whole files ---------------------------------------------------------------------------------

INVALID_UTF8 = [b"\xff", b"\xfe\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xf8\x88\x80\x80\x80", b"\xe2\x82", b"\xc0\xaf"]


@st.composite
def post_files(draw: st.DrawFn) -> bytes:
    """The bytes of a post file: half well-shaped (so the YAML and the body get exercised),
    half with damage to the shape, the line endings or the encoding as well."""
    shape = draw(st.sampled_from(["sound", "sound", "sound", "damaged", "damaged", "binary"]))
    if shape == "binary":
        return draw(st.binary(max_size=200))
    front = "\n".join(draw(front_matter()))
    body = draw(st.one_of(markdown_documents(), markdown_documents(), markdown_documents(), long_lines()))
    if shape == "sound":
        bom = draw(st.sampled_from(["", "\ufeff"]))
        text = f"{bom}---\n{front}\n---\n{body or 'Body.'}"
        return text.encode("utf-8")
    bom = draw(st.sampled_from(["", "\ufeff", "\ufeff\ufeff"]))
    leading = draw(st.sampled_from(["", "\n", "\n \n", "  "]))
    opening = draw(st.sampled_from(["---", "--- ", "----", "---\t", "", "+++", "--", "--- x", "---yaml"]))
    blank = draw(st.sampled_from(["", "\n"]))
    closing = draw(st.sampled_from(["---", "-" * 40, "", "...", "--- ", "---\n---", "- - -", "---x"]))
    body = draw(st.sampled_from([body, body, "", "\n", "   "]))
    text = f"{bom}{leading}{opening}\n{blank}{front}\n{closing}\n{body}"
    newline = draw(st.sampled_from(["\n", "\r\n", "\r", "mixed"]))
    if newline == "mixed":
        text = "".join(line + ("\r\n" if i % 2 else "\n") for i, line in enumerate(text.split("\n")))
    elif newline != "\n":
        text = text.replace("\n", newline)
    data = text.encode(draw(st.sampled_from(["utf-8"] * 6 + ["utf-16", "latin-1"])), errors="replace")
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2, 3]))):
        at = draw(st.integers(min_value=0, max_value=len(data)))
        junk = draw(st.sampled_from([b"\x00", b"\x00\x00", *INVALID_UTF8]))
        data = data[:at] + junk + data[at:]
    return data


# -- the site under test ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One app over an empty posts folder, rescanning on every request, drafts shown."""
    root = tmp_path_factory.mktemp("fuzz")
    posts = root / "posts"
    posts.mkdir()
    (root / "public").mkdir()
    app = create_app(
        {
            "TESTING": True,  # exceptions propagate: a failing example shows its traceback
            "BLOG_POSTS_DIR": str(posts),
            "BLOG_PUBLIC_DIR": str(root / "public"),
            "BLOG_GONE_FILE": str(root / "gone.txt"),
            "BLOG_SITE_URL": "",
            "BLOG_RELOAD_INTERVAL": 0,
            "BLOG_SHOW_DRAFTS": True,  # future and draft posts render too
            "CACHE_TYPE": "NullCache",
            "CACHE_NO_NULL_WARNING": True,
        }
    )
    return app, posts, itertools.count()


@FUZZ
@given(data=post_files())
@example(data=b"")
@example(data=b"---\n---\n")
@example(data=b"\xef\xbb\xbf---\r\ntitle: T\r\ndate: 2024-01-01\r\n---\r\nBody\r\n")
@example(data=b"---\ntitle: T\ndate: 2024-01-01\n---\nBo\x00dy\n")
@example(data=b"---\ntitle: !!python/object/apply:os.system ['false']\ndate: 2024-01-01\n---\nx\n")
@example(data=b"---\ntitle: T\ndate: 2024-01-01\n---\n---\nmore\n---\n")
@example(data=f"---\ntitle: T\ndate: 2024-01-01\n{merge_bomb()}\n---\nx\n".encode())
@example(data=b"---\ntitle: T\ndate: 2024-01-01\n---\n" + b"![" * 20_000)
def test_any_file_becomes_a_post_or_a_named_error(site, data):
    app, posts, counter = site
    for old in posts.iterdir():
        old.unlink()
    path = posts / f"fuzz-{next(counter)}.md"  # a new name: never a stale memo entry
    path.write_bytes(data)
    with within(5), app.app_context():  # a hang (a merge-key bomb) fails instead of waiting (now < 0.2 s)
        snapshot = content.get_store().snapshot()
        content.get_posts()
        content.invalid_posts()
    found = [p for p in snapshot.posts if p.source == str(path)]
    errors = [e for e in snapshot.errors if e.path == str(path)]
    assert len(found) + len(errors) == 1, (found, errors)
    event(type(errors[0]).__name__ if errors else "Post")
    if errors:
        error = errors[0]
        assert isinstance(error, PostError)
        assert error.reason.strip()
        assert str(error).startswith(str(path))
        return
    post = found[0]
    assert isinstance(post, Post)
    assert post.title.strip()
    assert post.date.tzinfo is not None
    client = app.test_client()
    for url in (f"/posts/{quote(post.slug, safe='')}", "/", "/feed.xml", "/atom.xml", "/feed.json", "/sitemap.xml"):
        response = client.get(url)
        assert response.status_code < 500, url
    page = client.get(f"/posts/{quote(post.slug, safe='')}")
    assert page.status_code == 200
    assert_safe_page(page.get_data(as_text=True))


@FUZZ
@given(
    title=st.one_of(simple_text, st.sampled_from(XSS_STRINGS)),
    fields=st.dictionaries(
        st.sampled_from(["excerpt", "coverImage", "ogImage", "category", "tags", "slug"]),
        st.one_of(simple_text, st.sampled_from(XSS_STRINGS + XSS_VECTORS)),
        max_size=4,
    ),
    body=markdown_documents(),
)
def test_parse_post_takes_any_text(title, fields, body):
    """``parse_post`` on text (no file): a Post or a PostError, and the post page is safe."""
    lines = ["---", f"title: {yaml_quote(title)}", "date: 2024-01-01"]
    lines += [f"{key}: {yaml_quote(value)}" for key, value in fields.items()]
    text = "\n".join([*lines, "---", body])
    try:
        post = parse_post(
            text,
            "fuzz.md",
            slug="fuzz",
            timezone=dt.UTC,
            default_author="A",
        )
    except PostError as error:
        assert error.reason.strip() and str(error).startswith("fuzz.md")
        return
    body = extract_body(text, post.title)
    assert_safe_html(str(markup.render_markdown(body, trust_html=False)))
    assert isinstance(summarize(post, body).excerpt, str)  # plain text from any markdown, without raising


def test_dates_at_the_edge_of_time_are_invalid(tmp_path):
    """Found by the fuzzer: a date whose UTC (or BLOG_TIMEZONE) value falls outside Python's
    datetime range used to parse, and then every page listing it failed with OverflowError
    (500). It is invalid like any other bad date, and the rest of the site works."""
    posts = tmp_path / "posts"
    posts.mkdir()
    (posts / "edge.md").write_text('---\ntitle: Edge\ndate: "0001-01-01T00:00:00+14:00"\n---\nBody\n')
    (posts / "fine.md").write_text("---\ntitle: Fine\ndate: 2024-01-01\n---\nBody\n")
    app = create_app({"BLOG_POSTS_DIR": str(posts), "BLOG_PUBLIC_DIR": str(tmp_path), "BLOG_RELOAD_INTERVAL": 0})
    client = app.test_client()
    with app.app_context():
        assert [e.path for e in content.invalid_posts()] == [str(posts / "edge.md")]
    for url in ("/", "/feed.xml", "/atom.xml", "/feed.json", "/sitemap.xml", "/posts/fine"):
        assert client.get(url).status_code == 200, url


# -- the renderer -------------------------------------------------------------------------------

#: Tags no sanitized post may contain.
FORBIDDEN_TAGS = {
    "script",
    "iframe",
    "object",
    "embed",
    "style",
    "frame",
    "frameset",
    "applet",
    "base",
    "meta",
    "link",
    "form",
    "input",
    "button",
    "textarea",
    "svg",
    "math",
    "template",
    "noscript",
}
#: Attributes a browser follows as a URL.
URL_ATTRIBUTES = {
    "href",
    "src",
    "action",
    "formaction",
    "xlink:href",
    "background",
    "poster",
    "cite",
    "data",
    "srcset",
    "lowsrc",
    "dynsrc",
    "longdesc",
    "codebase",
    "manifest",
    "ping",
    "usemap",
}
BAD_SCHEMES = {"javascript", "vbscript", "livescript", "data", "mocha"}
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
# What browsers drop from URLs before reading the scheme: C0 controls and space, DEL and C1
# controls (and tab/newline anywhere), plus invisible format characters for good measure.
_URL_NOISE = re.compile(r"[\x00-\x20\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\ufeff]+")


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []
        self.script_bodies: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))
        self._in_script = tag == "script"
        if self._in_script:
            self.script_bodies.append("")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.script_bodies[-1] += data


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see in an attribute value (entities already decoded)."""
    squashed = _URL_NOISE.sub("", html.unescape(value)).lower()
    match = _SCHEME.match(squashed)
    return match[1] if match else None


#: <meta> whose content a client follows as a URL.
URL_METAS = {"og:image", "og:url", "twitter:image", "twitter:url"}


def _check_attributes(tag: str, attrs: list[tuple[str, str | None]], *, images_may_use_data: bool) -> None:
    # A meta's content is a URL only for a refresh (after "url=") or a link preview; in a
    # description it is text, and "url=javascript:" there is harmless words.
    meta = {name: (value or "") for name, value in attrs} if tag == "meta" else {}
    refresh = meta.get("http-equiv", "").strip().lower() == "refresh"
    url_meta = (meta.get("property") or meta.get("name")) in URL_METAS
    for name, value in attrs:
        value = value or ""
        assert not re.fullmatch(r"on\w+", name), f"event handler <{tag} {name}={value!r}>"
        if name == "style":
            props = [decl.split(":", 1)[0].strip().lower() for decl in value.split(";") if decl.strip()]
            assert all(p == "text-align" for p in props), f"style <{tag} style={value!r}>"
        if name in URL_ATTRIBUTES or (name == "content" and (refresh or url_meta)):
            candidates = [value]
            if name == "content" and refresh:
                candidates = [re.split("url=", value, maxsplit=1, flags=re.I)[-1]]
            if name == "srcset":
                candidates = [part.strip() for part in value.split(",")]
            for candidate in candidates:
                scheme = url_scheme(candidate)
                if scheme == "data" and images_may_use_data and tag == "img" and name == "src":
                    continue
                assert scheme not in BAD_SCHEMES, f"<{tag} {name}={value!r}>"


def assert_safe_html(output: str) -> None:
    """Sanitized post HTML: no dangerous tag, handler, style or URL, judged on parsed HTML."""
    parser = _Collector()
    parser.feed(output)
    parser.close()
    for tag, attrs in parser.tags:
        assert tag not in FORBIDDEN_TAGS, f"<{tag}> in {output!r}"
        _check_attributes(tag, attrs, images_may_use_data=False)
    lowered = output.lower()
    for needle in ("<script", "<iframe", "<object", "<embed"):
        # Text is escaped, and nh3 escapes "<" inside attribute values too: never literal.
        assert needle not in lowered, f"{needle} in {output!r}"


def assert_safe_page(page: str) -> None:
    """A whole page: only the site's own scripts (theme, and code tools on posts with code,
    deferred) and JSON-LD; the rest as for a body."""
    parser = _Collector()
    parser.feed(page)
    parser.close()
    scripts = iter(parser.script_bodies)
    for tag, attrs in parser.tags:
        attributes = dict(attrs)
        if tag == "script":
            body = next(scripts)
            if attributes.get("type") == "application/ld+json":
                json.loads(body)  # the JSON cannot end early: "<" is escaped as \u003c
                assert "</" not in body
            else:
                assert set(attributes) in ({"src"}, {"src", "defer"}) and not body.strip(), attrs
                assert attributes.get("defer") is None, attrs  # a bare flag, no value
                assert re.fullmatch(r"/static/js/(theme|code)\.[0-9a-f]{10}\.js", attributes["src"] or ""), attrs
            continue
        assert tag not in FORBIDDEN_TAGS - {"script", "meta", "link", "form", "input", "button", "svg"}, tag
        _check_attributes(tag, attrs, images_may_use_data=True)


@settings(FUZZ, max_examples=int(150 * SCALE))
@given(text=markdown_documents())
@example(text="\n".join(XSS_VECTORS))
def test_rendered_markdown_is_safe(text):
    assert_safe_html(str(markup.render_markdown(text, trust_html=False)))
    with_toc = getattr(markup, "render_markdown_with_toc", None)
    if with_toc is not None:  # the post page's renderer (heading permalinks)
        assert_safe_html(str(with_toc(text, trust_html=False).html))
    plaintext.markdown_to_text(text)


@settings(FUZZ, max_examples=int(40 * SCALE))
@given(text=long_lines())
@example(text="[" * 40_000)
@example(text="`" * 40_000)
@example(text="# a" + "#" * 40_000 + "x")
def test_long_lines_take_linear_time(text):
    """Search text, word counts, excerpts and the repeated-title check of a 40 KB line finish
    in a time only linear work allows (quadratic patterns took minutes on such lines)."""
    with within(5):  # now < 0.5 s
        searchtext.strip_markdown(text)
        count_words(text)
        plaintext.markdown_to_text(text)
        parse_post(
            f"---\ntitle: T\ndate: 2024-01-01\n---\n{text}", "f.md", slug="f", timezone=dt.UTC, default_author="A"
        )


@pytest.mark.parametrize("vector", XSS_VECTORS)
def test_each_known_vector_is_neutralized(vector):
    """Every hand-written vector alone, and inside a list, a quote and a table cell."""
    for text in (vector, f"- {vector}", f"> {vector}", f"| h |\n|---|\n| {vector} |", f"Before {vector} after"):
        assert_safe_html(str(markup.render_markdown(text, trust_html=False)))


def test_the_checker_catches_what_it_should():
    """The safety check itself fails on unsafe HTML (a check that never fails proves nothing)."""
    unsafe = [
        "<script>x</script>",
        '<a href="&#106;avascript:x">x</a>',
        '<a href="java&#x09;script:x">x</a>',
        '<a href=" JAVASCRIPT:x">x</a>',
        '<img src="x" onerror="x">',
        '<p style="text-align:center;color:red">x</p>',
        "<iframe></iframe>",
        '<a href="data:text/html,x">x</a>',
    ]
    for output in unsafe:
        with pytest.raises(AssertionError):
            assert_safe_html(output)
    assert_safe_html('<td style="text-align: center">x</td><a href="https://x">javascript: is text</a>')


# -- the HTTP layer -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http_app(tmp_path_factory):
    """The app over tests/data, behind one trusted proxy (so X-Forwarded-* are read too)."""
    root = tmp_path_factory.mktemp("fuzz-http")
    shutil.copytree(DATA / "posts", root / "posts")
    shutil.copytree(DATA / "public", root / "public")
    return create_app(
        {
            "TESTING": True,
            "BLOG_POSTS_DIR": str(root / "posts"),
            "BLOG_PUBLIC_DIR": str(root / "public"),
            "BLOG_GONE_FILE": str(root / "gone.txt"),
            "BLOG_SITE_URL": "",
            "BLOG_PROXY_COUNT": 1,
            "CACHE_TYPE": "SimpleCache",
        }
    )


def call(app, path: str, query: str = "", headers: dict[str, str] | None = None) -> int:
    """Call the app with a raw environ, as gunicorn builds it (PATH_INFO is latin-1 text)."""
    environ = EnvironBuilder(path="/", headers=headers or {}).get_environ()
    raw = path.encode("utf-8", "surrogateescape")
    environ["PATH_INFO"] = unquote_to_bytes(raw).decode("latin-1")
    environ["RAW_URI"] = environ["REQUEST_URI"] = path + ("?" + query if query else "")
    environ["QUERY_STRING"] = query
    app_iter, status, _headers = run_wsgi_app(app, environ, buffered=True)
    b"".join(app_iter)
    return int(status.split(" ", 1)[0])


PATH_TOKENS = ["/", ".", "..", "//", "%", "%%", "%2f", "%2F", "%2e", "%00", "%ff", "%c0%ae", "%25", "\\", "\x00"]
PATH_TOKENS += list("?#;&=+~:@!$'()*,-_") + ["\u00e9", "\u202e", "\U0001f600", "\ufeff", "A", "z", "0"]
path_text = st.lists(
    st.one_of(st.sampled_from(PATH_TOKENS), st.characters(codec="utf-8", exclude_categories=("Cs",))), max_size=25
).map("".join)
ROUTE_PREFIXES = [
    "",
    "posts/",
    "posts/hello-world/",
    "tags/",
    "page/",
    "static/",
    "static/css/",
    "assets/",
    "api/",
    "feed",
    "tags/python/",
    "search",
    "archive/",
]


@settings(FUZZ, max_examples=int(200 * SCALE))
@given(prefix=st.sampled_from(ROUTE_PREFIXES), rest=path_text)
@example(prefix="posts/", rest="%00")
@example(prefix="", rest="..%2f..%2fetc%2fpasswd")
@example(prefix="page/", rest="99999999999999999999999")
@example(prefix="static/css/", rest="site.0000000000.css")
def test_no_path_makes_a_5xx(http_app, prefix, rest):
    assert call(http_app, "/" + prefix + rest) < 500


query_text = st.lists(
    st.one_of(
        st.sampled_from(["=", "&", "%", "+", ";", "#", "?", "%00", "%ff", "%%", "[]", "\x00", "q", "page", "1"]),
        st.characters(codec="utf-8", exclude_categories=("Cs",)),
    ),
    max_size=25,
).map("".join)


@FUZZ
@given(
    path=st.sampled_from(["/", "/feed.xml", "/tags", "/tags/python", "/api/latest-posts", "/posts/hello-world"]),
    query=query_text,
)
def test_no_query_string_makes_a_5xx(http_app, path, query):
    assert call(http_app, path, query.encode("utf-8").decode("latin-1")) < 500


def call_page(app, path: str, query: str = "") -> tuple[int, str | None, bytes]:
    """Status, X-Cache and body of one GET, with a raw environ as gunicorn builds it."""
    environ = EnvironBuilder(path=path).get_environ()
    environ["QUERY_STRING"] = query
    app_iter, status, headers = run_wsgi_app(app, environ, buffered=True)
    return int(status.split(" ", 1)[0]), headers.get("X-Cache"), b"".join(app_iter)


@FUZZ
@given(
    path=st.sampled_from(["/", "/feed.xml", "/tags/python", "/posts/hello-world", "/sitemap.xml", "/archive"]),
    query=query_text,
)
@example(path="/feed.xml", query="utm_source=x&fbclid=y")
@example(path="/", query="q=1&page=2")
def test_a_query_string_is_never_a_new_page(http_app, path, query):
    """Cache busting (issue 10): a page that reads no parameter answers any query string from
    its canonical entry, with the canonical bytes, and renders nothing."""
    status, _, canonical = call_page(http_app, path)
    assert status == 200
    status, cache, body = call_page(http_app, path, query.encode("utf-8").decode("latin-1"))
    assert (status, cache, body) == (200, "LOCAL", canonical)


search_pairs = st.lists(
    st.tuples(st.sampled_from(["q", "page", "utm_source", "fbclid", "z", "Q", "q[]", ""]), query_text), max_size=6
)


@FUZZ
@given(words=query_text, page=st.sampled_from(["", "1", "2", "x"]), extra=search_pairs, seed=st.randoms())
def test_search_answers_any_spelling_from_one_entry(http_app, words, page, extra, seed):
    """``q`` and ``page`` in any order, repeated (the first counts) or among other parameters:
    one search, one entry."""
    kept = [("q", words)] + ([("page", page)] if page else [])
    canonical = urlencode(kept)
    status, _, first = call_page(http_app, "/search", canonical)
    junk = [(name, value) for name, value in extra if name not in ("q", "page")]
    # After the first: ignored (a page given only later would be that page, not this one).
    later = [(name, value) for name, value in extra if name in dict(kept)]
    spelled = junk + kept
    seed.shuffle(spelled)  # anywhere among the junk, q before or after page
    spelled += later
    again = call_page(http_app, "/search", urlencode(spelled))
    assert again[0] == status and again[2] == first
    if status == 200:
        assert again[1] == "LOCAL"


@settings(FUZZ, max_examples=int(100 * SCALE))
@given(
    words=st.one_of(
        query_text,
        st.sampled_from(['"', "AND", "NEAR(", "title:", "*", "^", "a OR", "(", ")", "-x", "'", "\x00", "x" * 5000]),
    ),
    page=st.one_of(st.none(), st.sampled_from(["1", "2", "0", "-1", "x", "99999999999999999999", "1e3", ""])),
)
def test_search_never_fails(http_app, words, page):
    rules = {rule.endpoint: rule.rule for rule in http_app.url_map.iter_rules()}
    if "discover.search" not in rules:
        pytest.skip("no discover.search route in this app")
    query = "q=" + quote(words, safe="") + ("" if page is None else "&page=" + quote(page, safe=""))
    assert call(http_app, rules["discover.search"], query) < 500


header_values = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40),
    st.sampled_from(
        [
            "",
            "*",
            'W/"x"',
            '"abc", W/"def"',
            "Thu, 01 Jan 1970 00:00:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 GMT",
            "Mon, 01 Jan 0001 00:00:00 GMT",
            "not a date",
            "br;q=nan, gzip;q=inf, *;q=-1",
            "gzip;q=x",
            "https",
            "https, http",
            "evil.example:99999",
            "[::1]:80",
            "a b",
            "/prefix",
            "-1",
            "99999999999999999999",
        ]
    ),
)


@settings(FUZZ, max_examples=int(150 * SCALE))
@given(
    path=st.sampled_from(["/", "/posts/hello-world", "/feed.xml", "/static/css/site.css", "/healthz", "/nope"]),
    headers=st.dictionaries(
        st.sampled_from(
            [
                "Host",
                "Accept-Encoding",
                "If-None-Match",
                "If-Modified-Since",
                "X-Forwarded-For",
                "X-Forwarded-Proto",
                "X-Forwarded-Host",
                "X-Forwarded-Port",
                "X-Forwarded-Prefix",
            ]
        ),
        header_values,
        max_size=5,
    ),
)
def test_no_header_makes_a_5xx(http_app, path, headers):
    assert call(http_app, path, headers=headers) < 500


@pytest.mark.parametrize("host", [".", "a..b", "x" * 64 + ".example"])
def test_an_invalid_host_is_a_400(http_app, host):
    """Found by the fuzzer: a Host that is not a valid name ("a..b") makes werkzeug raise
    BadHost before a URL adapter exists; the error page then called url_for, failed with
    AttributeError, and the exception escaped the app (gunicorn answered 500)."""
    assert call(http_app, "/", headers={"Host": host}) == 400
    assert call(http_app, "/", headers={"X-Forwarded-Host": host}) == 400


def test_the_http_fuzz_reaches_real_pages(http_app):
    """The raw-environ helper really routes: known pages answer 200, unknown 404."""
    assert call(http_app, "/posts/hello-world") == 200
    assert call(http_app, "/posts/Upper%20Case%20&%20Spaces") == 200
    assert call(http_app, "/nope") == 404
