"""A fast path for the front matter nearly every post has, with PyYAML as the judge.

Kept because no library serves: even libyaml composes a node graph per document, several times
the cost of this whole parse, and start-up reads every post's front matter (bench/README.md).
Front matter is almost always a flat mapping of quoted or plain scalars, with a list of tags
and an ``author`` mapping. ``load`` reads exactly that shape, and returns None for anything
else — block scalars, anchors, tags, multi-line values, escapes, flow mappings, deeper
nesting, tabs, unusual characters, odd indentation — so the caller hands the text to PyYAML.

Whatever ``load`` returns is what ``yaml.load(text, Loader=yaml.CSafeLoader)`` returns:
plain scalars are typed by PyYAML's own resolver and constructors (YAML 1.1: ``yes`` is
True, ``2024-01-02`` a date), and tests/test_simpleyaml.py checks the equality on
generated documents. When in doubt it declines; it never guesses.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

_STR = "tag:yaml.org,2002:str"
#: Tags of plain scalars we build with PyYAML's constructors; others (merge, value) decline.
_SCALAR_TAGS = frozenset("tag:yaml.org,2002:" + name for name in ("bool", "int", "float", "null", "timestamp", "str"))
_RESOLVER = Resolver()
_CONSTRUCTOR = SafeConstructor()

_KEY = r"[A-Za-z_][A-Za-z0-9_.-]*"
#: ``key: value`` or ``key:`` at some indentation.
_ENTRY = re.compile(rf"(?P<indent> *)(?P<key>{_KEY}):(?: +(?P<value>.*))?")
#: ``- value`` at some indentation.
_ITEM = re.compile(r"(?P<indent> *)- +(?P<value>.*)")
#: What may follow a value on its line: spaces, then perhaps a comment.
_END = r" *(?: #.*)?"
_DOUBLE = re.compile(rf'"(?P<text>[^"\\]*)"{_END}')
_SINGLE = re.compile(rf"'(?P<text>(?:[^']|'')*)'{_END}")
#: Characters that make a plain scalar something else when they come first.
_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_FLOW_SEQ = re.compile(rf"\[(?P<items>[^\[\]{{}}\"'#:]*)\]{_END}")
_FLOW_ITEM = re.compile(r"(?![-?&*!|>%@`])[^,\[\]{}\"'#:]*")


class _Decline(Exception):
    """Not the simple shape: let PyYAML read it."""


def load(text: str) -> dict[str, Any] | None:
    """The mapping PyYAML would load from ``text``, or None if ``text`` is not simple."""
    lines = []
    for line in text.split("\n"):
        # str.isprintable() is stricter than YAML: no tab, control character, NEL, LS/PS,
        # BOM, NBSP, surrogate, private-use or unassigned character gets through.
        if not line.isprintable():
            return None
        stripped = line.lstrip(" ")
        if stripped and stripped[0] != "#":  # not blank, not a comment
            lines.append(line)
    try:
        result: dict[str, Any] = {}
        i = 0
        while i < len(lines):
            match = _ENTRY.fullmatch(lines[i])
            if match is None or match["indent"]:
                return None
            i += 1
            key = _key(match["key"])
            if match["value"] is not None and match["value"].strip(" "):
                result[key] = _scalar_or_flow(match["value"])
                continue
            block_end = i
            while block_end < len(lines) and (lines[block_end].startswith(" ") or lines[block_end].startswith("-")):
                block_end += 1
            result[key] = _block(lines[i:block_end]) if block_end > i else None
            i = block_end
        return result or None
    except _Decline:
        return None


def _block(lines: list[str]) -> list[Any] | dict[str, Any]:
    """The indented lines under ``key:``: a list of scalars, or a mapping of scalars."""
    if lines[0].lstrip(" ").startswith("-"):
        items = [_ITEM.fullmatch(line) for line in lines]
        if any(m is None or m["indent"] != items[0]["indent"] for m in items):  # type: ignore[index]
            raise _Decline
        return [_scalar(m["value"]) for m in items]  # type: ignore[index]
    entries = [_ENTRY.fullmatch(line) for line in lines]
    if any(m is None or m["indent"] != entries[0]["indent"] for m in entries):  # type: ignore[index]
        raise _Decline
    found: dict[str, Any] = {}
    for m in entries:
        value = m["value"]  # type: ignore[index]
        found[_key(m["key"])] = _scalar(value) if value is not None and value.strip(" ") else None  # type: ignore[index]
    return found


@functools.lru_cache(maxsize=4096)
def _tag(plain: str) -> str:
    """The tag PyYAML's resolver gives this plain scalar (keys and values repeat a lot)."""
    return _RESOLVER.resolve(ScalarNode, plain, (True, False))


def _key(text: str) -> str:
    if _tag(text) != _STR:
        raise _Decline  # yes, on, null... are not string keys in YAML 1.1
    return text


def _scalar_or_flow(text: str) -> Any:
    if text.startswith("["):
        match = _FLOW_SEQ.fullmatch(text)
        if match is None:
            raise _Decline
        items = match["items"]
        if not items.strip(" "):
            return []
        parts = [part.strip(" ") for part in items.split(",")]
        if any(not part or _FLOW_ITEM.fullmatch(part) is None for part in parts):
            raise _Decline
        return [_plain(part) for part in parts]
    return _scalar(text)


def _scalar(text: str) -> Any:
    """One quoted or plain scalar filling ``text`` (trailing spaces allowed)."""
    if text.startswith('"'):
        match = _DOUBLE.fullmatch(text)
        if match is None:
            raise _Decline
        return match["text"]
    if text.startswith("'"):
        match = _SINGLE.fullmatch(text)
        if match is None:
            raise _Decline
        return match["text"].replace("''", "'")
    # A plain scalar in block context we are sure of: no indicator first, no ": " in it,
    # no ":" last; " #" starts a comment.
    text = text.split(" #", 1)[0].rstrip(" ")
    if text and (text[0] in _INDICATORS or ": " in text or " #" in text or text[-1] == ":"):
        raise _Decline
    return _plain(text)


def _plain(text: str) -> Any:
    """A plain scalar typed as YAML 1.1 (and PyYAML) types it."""
    tag = _tag(text)
    if tag == _STR:
        return text
    if tag not in _SCALAR_TAGS:
        raise _Decline
    try:
        return _CONSTRUCTOR.yaml_constructors[tag](_CONSTRUCTOR, ScalarNode(tag, text))
    except Exception:  # e.g. a timestamp out of range: PyYAML reports it properly
        raise _Decline from None
