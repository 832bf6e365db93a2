"""What a post's body becomes: its HTML and its summary, made from the body read once.

``Documents`` reads a body once for everything a request needs of it (the page's HTML, the
summary, the search and related-posts documents): the last few bodies read are kept, per Post
(an edited file is a new Post, so a kept body is always its Post's). It is the one place a
post becomes HTML (``render``, with BLOG_TRUST_HTML applied)
and the keeper of what listings show of each post (``summary``, remembered as long as the Post
is: an edited file is a new Post). A body over ``offload.BIG_TEXT_CHARS`` is worked on in the
offload pool, so the worker's other requests go on meanwhile. No Flask: content.py holds one
per app.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable

from .. import offload
from ..posts.post import Post
from .markup import RenderedBody
from .markup import render_body
from .subtitle import split_subtitle
from .summary import Summary
from .summary import summarize

#: Bodies kept after reading: enough for one request's post, its neighbours and related posts,
#: within BODIES_BYTES of text (a body alone larger than that is read again when asked again).
BODIES_KEPT = 16
BODIES_BYTES = 8 * 1024 * 1024


class Documents:
    """Renders and summarises posts whose bodies ``read_body(post)`` returns."""

    def __init__(self, read_body: Callable[[Post], str], *, trust_html: bool) -> None:
        self.read_body = read_body
        self._bodies: OrderedDict[Post, str] = OrderedDict()
        self._kept = 0  # characters of the bodies kept
        self._lock = threading.Lock()
        #: BLOG_TRUST_HTML, read once: ``render`` applies it to every post.
        self.trust_html = trust_html
        self._summaries: weakref.WeakKeyDictionary[Post, Summary] = weakref.WeakKeyDictionary()

    def body(self, post: Post) -> str:
        """``post``'s markdown body: read from its file the first time it is asked for, then
        from the last BODIES_KEPT kept."""
        found = self._bodies.get(post)
        if found is None:
            found = self.read_body(post)
            if len(found) <= BODIES_BYTES:
                with self._lock:
                    self._bodies[post] = found
                    self._kept += len(found)
                    while len(self._bodies) > BODIES_KEPT or self._kept > BODIES_BYTES:
                        self._kept -= len(self._bodies.popitem(last=False)[1])
        return found

    def summary(self, post: Post) -> Summary:
        """What listings show of ``post`` (excerpt, words, reading time), from its body read
        once; remembered as long as the Post is."""
        found = self._summaries.get(post)
        if found is None:
            body = self.body(post)
            found = offload.run(summarize, post, body) if len(body) > offload.BIG_TEXT_CHARS else summarize(post, body)
            self._summaries[post] = found
        return found

    def render(self, post: Post, *, for_page: bool = True) -> RenderedBody:
        """``post``'s body, read from the file now, rendered (and sanitized unless
        BLOG_TRUST_HTML); ``for_page`` adds heading permalinks, as ``markup.render_body`` says.
        A leading heading repeating the title is not rendered: what it adds is the subtitle."""
        subtitle, body = split_subtitle(self.body(post), post.title)
        render = functools.partial(render_body, trust_html=self.trust_html, for_page=for_page)
        rendered = offload.run(render, body) if len(body) > offload.BIG_TEXT_CHARS else render(body)
        return rendered._replace(subtitle=subtitle)
