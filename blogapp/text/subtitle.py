"""A body that opens with a heading repeating the post's title plus a subtitle ("## ROS C++
Programming for Robotics: A Deep Dive" under the title "ROS C++ Programming for Robotics"):
the page shows the subtitle under its h1, not the title again as an h2. No Flask.
"""

from __future__ import annotations

from typing import NamedTuple

from ..posts.fields import xml_safe
from ..posts.titles import after_title
from ..posts.titles import leading_heading
from .plaintext import markdown_to_text


class Parts(NamedTuple):
    """A body split into the subtitle its first heading gave ("" for none) and the rest."""

    subtitle: str  #: plain text
    body: str  #: markdown


def split_subtitle(body: str, title: str) -> Parts:
    """``body`` without a leading heading that repeats ``title`` (``titles.after_title``,
    any letter case and separator), and what that heading adds after the title as the
    subtitle. A heading that is the title alone is dropped with no subtitle; any other is
    left in the body."""
    heading = leading_heading(body)
    if heading is None:
        return Parts("", body)
    rest = after_title(markdown_to_text(heading.text), title, sentence=False)
    if rest is None:
        return Parts("", body)
    return Parts(xml_safe(rest.strip()), body[heading.end :].lstrip("\n"))
