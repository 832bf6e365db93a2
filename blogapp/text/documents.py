"""What a post's body becomes: its HTML and its summary, made from the body read now.

``Documents`` is the one place a post becomes HTML (``render``, with BLOG_TRUST_HTML applied)
and the keeper of what listings show of each post (``summary``, remembered as long as the Post
is: an edited file is a new Post). A body over ``offload.BIG_TEXT_CHARS`` is worked on in the
offload pool, so the worker's other requests go on meanwhile. No Flask: content.py holds one
per app.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable

from .. import offload
from ..posts.post import Post
from .markup import RenderedBody
from .markup import render_body
from .summary import Summary
from .summary import summarize


class Documents:
    """Renders and summarises posts whose bodies ``read_body(post)`` returns."""

    def __init__(self, read_body: Callable[[Post], str], *, trust_html: bool) -> None:
        self.read_body = read_body
        #: BLOG_TRUST_HTML, read once: ``render`` applies it to every post.
        self.trust_html = trust_html
        self._summaries: weakref.WeakKeyDictionary[Post, Summary] = weakref.WeakKeyDictionary()

    def summary(self, post: Post) -> Summary:
        """What listings show of ``post`` (excerpt, words, reading time), from its body read
        once; remembered as long as the Post is."""
        found = self._summaries.get(post)
        if found is None:
            body = self.read_body(post)
            found = offload.run(summarize, post, body) if len(body) > offload.BIG_TEXT_CHARS else summarize(post, body)
            self._summaries[post] = found
        return found

    def render(self, post: Post, *, for_page: bool = True) -> RenderedBody:
        """``post``'s body, read from the file now, rendered (and sanitized unless
        BLOG_TRUST_HTML); ``for_page`` adds heading permalinks, as ``markup.render_body`` says."""
        body = self.read_body(post)
        render = functools.partial(render_body, trust_html=self.trust_html, for_page=for_page)
        return offload.run(render, body) if len(body) > offload.BIG_TEXT_CHARS else render(body)
