"""How to fix the common YAML mistakes of hand- and generator-written front matter.

Pure: a front matter's lines and the line PyYAML stopped at in, one short hint (or None) out,
added to the ``check`` message of a post whose front matter is not valid YAML.
"""

from __future__ import annotations

import re

#: ``key: "value"`` or ``key: 'value'``: a top-level or indented field whose value is quoted.
_QUOTED = re.compile(r"""^\s*(?:-\s+)?[^\s"'#:][^:]*:\s+(?P<quote>["'])(?P<rest>.*)$""")
#: ``key: value: more``: an unquoted value holding ": ".
_PLAIN_COLON = re.compile(r"""^\s*(?:-\s+)?[^\s"'#:][^:]*:\s+[^\s"'\[{|>&*!].*:(?:\s|$)""")


def hint(lines: list[str], line: int | None) -> str | None:
    """A hint for the mistake on ``lines[line]`` (0-based) or the line before it (a parser
    often notices a mistake one line late), or None when it is none of the common ones."""
    if line is None:
        return None
    for index in (line, line - 1):
        if 0 <= index < len(lines):
            found = _line_hint(lines[index])
            if found:
                return found
    return None


def _line_hint(text: str) -> str | None:
    if text[: len(text) - len(text.lstrip(" \t"))].count("\t"):
        return "YAML indents with spaces: replace the tab at the start of the line"
    match = _QUOTED.match(text)
    if match:
        quote, rest = match["quote"], match["rest"].rstrip()
        if quote == '"' and _closes_early(rest.replace("\\\\", "").replace('\\"', ""), '"'):
            return 'a " inside a "double-quoted" value ends it early: use single quotes or escape it as \\"'
        if quote == "'" and _closes_early(rest.replace("''", ""), "'"):
            return "a ' inside a 'single-quoted' value ends it early: use double quotes or double it as ''"
        return None
    if _PLAIN_COLON.match(text):
        return "a ': ' inside an unquoted value starts a new key: put the value in quotes"
    return None


def _closes_early(rest: str, quote: str) -> bool:
    """True when the ``quote`` that opened the value (``rest`` follows it) closes before the
    end of the line, with more than a comment after it."""
    quote_at = rest.find(quote)
    if quote_at < 0:
        return False
    after = rest[quote_at + 1 :].strip()
    return bool(after) and not after.startswith("#")
