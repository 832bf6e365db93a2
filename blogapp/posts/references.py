"""The public files a post may show: paths under BLOG_PUBLIC_DIR that its front matter and body name.

Its cover, share image and author picture, and the paths in its body (images, links, raw
``src=``), resolved as the pages resolve them. The store keeps them with each post, and the
content version covers the state of those files (``files.watched.PublicFiles``).
"""

from __future__ import annotations

import html
import posixpath
import re
from urllib.parse import unquote
from urllib.parse import urljoin

from ..files.paths import is_file_path
from ..files.paths import strip_query
from .post import Post

#: At most this many paths are taken from one post (its front matter's come first).
MAX_REFS_PER_POST = 100
# Linear time on any text: each match starts at a literal ("](", "src", a new line's "[")
# and every repeat is a single character class, bounded. Each pattern starts with a literal
# so the regex engine scans for it quickly (an alternation or IGNORECASE would try every
# position of every post).
_LINK_TARGET = re.compile(r"""\]\([ \t]*<?([^\s()<>"']{1,2000})""")
_SRC = re.compile(r"""\bsrc[ \t]*=[ \t]*["']?([^"'\s<>]{1,2000})""", re.IGNORECASE)
_LINK_DEFINITION = re.compile(r"\n[ \t]{0,3}\[[^\]\n]{1,999}\]:[ \t]*<?([^\s<>]{1,2000})")


def references(post: Post, text: str) -> tuple[str, ...]:
    """Paths under BLOG_PUBLIC_DIR (``assets/blog/x.jpg``) that ``post`` may show, ``text``
    being its whole file; resolved as the pages resolve them (body paths against the post's
    URL). More is harmless (a missing file is one stat); nothing it shows may be left out."""
    found: dict[str, None] = {}
    for value in (post.cover_image, post.og_image, post.author.picture):
        if value and is_file_path(value):
            _add(found, strip_query(value))
    page = "/posts/" + post.slug
    urls = _LINK_TARGET.findall(text) + _LINK_DEFINITION.findall(text)
    if "src" in text.lower():  # raw HTML (<img src=...>, any case): rare, so looked for only then
        urls += _SRC.findall(text)
    for url in dict.fromkeys(urls):
        if len(found) >= MAX_REFS_PER_POST:
            break
        if url.startswith(("https://", "http://")):
            continue  # the common case, decided before any further work
        if "&" in url:
            url = html.unescape(url)
        url = url.strip()
        if not is_file_path(url):
            continue
        path = strip_query(url if url.startswith("/") and not url.startswith("//") else urljoin(page, url))
        if path.startswith("/"):
            _add(found, path)
            _add(found, unquote(path))
    return tuple(found)[:MAX_REFS_PER_POST]


def _add(found: dict[str, None], path: str) -> None:
    relative = posixpath.normpath("/" + path).lstrip("/")
    if relative and relative != ".":
        found[relative] = None
