"""The front-matter fast path returns what PyYAML returns, or declines.

``simpleyaml.load`` must never disagree with ``yaml.load(text, Loader=yaml.CSafeLoader)``,
the loader it stands in for: not in value, not in type (``yes`` is True, ``1`` is not 1.0,
``2024-01-02`` is a date), not by accepting a text PyYAML refuses. It may decline (None), and
then posts.py asks PyYAML. Values are compared by ``repr``, which tells those types apart.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st

from blogapp.posts import fastyaml as simpleyaml
from blogapp.posts.post import _HANDLER

ROOT = Path(__file__).resolve().parent.parent


def pyyaml(text: str) -> object:
    """PyYAML's answer, or the exception it raised."""
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except Exception as exc:  # any refusal counts
        return exc


def assert_agrees(text: str) -> object:
    fast = simpleyaml.load(text)
    if fast is not None:
        expected = pyyaml(text)
        assert not isinstance(expected, Exception), f"fast path accepted what PyYAML refuses ({expected}): {text!r}"
        assert repr(fast) == repr(expected), text
    return fast


# -- what posts really look like: the fast path takes them, and agrees ---------------

BLOG_STARTER = """
title: "Dynamic Routing and Static Generation"
excerpt: 'Lorem ipsum: it''s "quoted"'
coverImage: "/assets/blog/dynamic-routing/cover.jpg"
date: "2020-03-16T05:35:07.322Z"
author:
  name: JJ Kasper
  picture: "/assets/blog/authors/jj.jpeg"
ogImage:
  url: "/assets/blog/dynamic-routing/cover.jpg"
"""

SIMPLE_SHAPES = [
    BLOG_STARTER,
    "title: Plain title, with a comma\ndate: 2024-01-02\ntags: [python, web, 3.13]\n",
    "title: x\ndate: 2024-01-02 10:30:00+02:00\ndraft: yes\npreview: off\n",
    "title: x\ntags:\n  - one\n  - two words\n\n  - 'three'\n",
    'title: x\ntags:\n- one\n- "two"\n# a comment\nslug: my-post\n',
    "title: x # a comment\nupdated: ~\ncategory:\nnumber: 42\nratio: 1.5\nempty: []\n",
    "title: café 🙂 — ünïcode\nauthor: Ada\n",
    "title: 'a#b'\nurl: https://example.com/a#b?c=d\nmath: a:b\n",
]


@pytest.mark.parametrize("text", SIMPLE_SHAPES)
def test_usual_front_matter_takes_the_fast_path_and_agrees(text):
    assert assert_agrees(text) is not None


def test_every_bundled_and_fixture_post_agrees():
    checked = fast = 0
    paths = [*(ROOT / "content" / "posts").glob("*.md"), *(ROOT / "tests" / "data" / "posts").rglob("*.md")]
    for path in sorted(paths):
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n").lstrip()
        try:
            front, _ = _HANDLER.split(text)
        except ValueError:
            continue
        checked += 1
        fast += assert_agrees(front) is not None
    assert checked >= 10
    assert fast >= checked // 2  # most real posts are simple


# -- what it must leave to PyYAML ------------------------------------------------------

DECLINED = [
    "title: &a x\nother: *a\n",  # anchors and aliases
    "title: !!str 1\n",  # explicit tags
    "excerpt: |\n  block\n  scalar\n",
    "excerpt: >\n  folded\n",
    'title: "escaped \\" quote"\n',
    'title: "two\n  lines"\n',
    "title: plain\n  continued\n",
    "title:\ttab\n",
    "title: x\x85y\n",  # NEL is a line break in YAML 1.1
    "title: a\u2028b\n",
    "author:\n  name: x\n    deeper: y\n",
    "tags: [a, [b]]\n",
    "tags: {a: 1}\n",
    "tags: ['a', 'b']\n",
    "title: x: y\n",  # PyYAML refuses
    "title: x:\n",
    "yes: no\n",  # a bool key
    "<<: {a: 1}\n",
    "? complex\n: key\n",
    "- a list\n- at the top\n",
    "title: x\n...\n",
    "%YAML 1.1\n",
    "date: 2024-13-45\n",  # a timestamp PyYAML cannot build
    "key : spaced\n",
    "",
]


@pytest.mark.parametrize("text", DECLINED)
def test_unusual_front_matter_is_left_to_pyyaml(text):
    assert simpleyaml.load(text) is None


# -- generated documents: agree or decline, never differ -------------------------------

CHARS = list("ab Zé🙂 :#-?'\"[]{},&*!|>%@`\\\t.~=<+_0123456789eExXoO") + ["\u00a0", "\u2028", "\x85", "\x01", "\ufeff"]
WORDS = [
    "yes",
    "No",
    "ON",
    "off",
    "true",
    "~",
    "null",
    "Null",
    "",
    "=",
    "<<",
    "1",
    "-1",
    "+1",
    "0x1F",
    "0o17",
    "017",
    "1_000",
    "1:20",
    "1.5",
    ".5",
    ".inf",
    "-.INF",
    ".nan",
    "1e3",
    "1.0e+3",
    "2024-01-02",
    "2024-01-02 10:30:00",
    "2024-01-02T10:30:00Z",
    "2024-1-2 1:2:3.5 -5",
    "2024-13-45",
    "0b101",
    "y",
    "n",
]
text = st.text(alphabet=st.sampled_from(CHARS), max_size=10) | st.sampled_from(WORDS)
KEYS = ["title", "date", "tags", "a.b", "x-y", "_k", "yes", "on", "null", "NULL", "1", "<<", "y"]
key = st.sampled_from(KEYS) | st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,5}", fullmatch=True)
value = st.one_of(
    text,
    text.map(lambda t: f'"{t}"'),
    text.map(lambda t: f"'{t}'"),
    st.lists(text, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
    st.lists(text, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
)
indent = st.sampled_from(["", "", " ", "  ", "    "])
line = st.one_of(
    st.builds(lambda i, k, v, gap: f"{i}{k}:{gap}{v}", indent, key, value, st.sampled_from([" ", "  ", "", " \t"])),
    st.builds(lambda i, k: f"{i}{k}:", indent, key),
    st.builds(lambda i, v: f"{i}- {v}", indent, value),
    st.builds(lambda i, t: f"{i}#{t}", indent, text),
    st.builds(lambda i, t: f"{i}{t}", indent, text),
    st.just(""),
)
document = st.lists(line, min_size=1, max_size=8).map(lambda lines: "\n".join(lines) + "\n")

#: Mostly well-formed documents (top-level entries, two-space blocks) with odd scalars, so
#: that many are taken by the fast path rather than declined.
block = st.one_of(
    st.lists(value.map(lambda v: f"  - {v}"), min_size=1, max_size=3),
    st.lists(value.map(lambda v: f"- {v}"), min_size=1, max_size=3),
    st.lists(st.builds(lambda k, v: f"  {k}: {v}", key, value), min_size=1, max_size=3),
)
entry = st.one_of(
    st.builds(lambda k, v: [f"{k}: {v}"], key, value),
    st.builds(lambda k, lines: [f"{k}:", *lines], key, block),
)
tidy_document = st.lists(entry, min_size=1, max_size=6).map(lambda es: "\n".join(x for e in es for x in e) + "\n")


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document)
def test_generated_front_matter_agrees_with_pyyaml_or_is_declined(doc):
    assert_agrees(doc)


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tidy_document)
def test_generated_tidy_front_matter_agrees_with_pyyaml_or_is_declined(doc):
    assert_agrees(doc)
