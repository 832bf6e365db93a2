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
#: Feed renderings kept (a post's HTML is the same in every feed that lists it: the site's,
#: its tags', its author's, in three formats), within FEED_HTML_BYTES of HTML.
FEED_HTML_KEPT = 256
FEED_HTML_BYTES = 16 * 1024 * 1024


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
        self._feed_html: OrderedDict[Post, RenderedBody] = OrderedDict()
        self._feed_kept = 0  # characters of the feed renderings kept

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
        A leading heading repeating the title is not rendered: what it adds is the subtitle.
        The feeds' rendering (``for_page=False``) of the last FEED_HTML_KEPT posts is kept."""
        if not for_page:
            return self._feed_render(post)
        return self._render(post, for_page=True)

    def _feed_render(self, post: Post) -> RenderedBody:
        found = self._feed_html.get(post)
        if found is not None:
            with self._lock:
                if post in self._feed_html:
                    self._feed_html.move_to_end(post)
            return found
        found = self._render(post, for_page=False)
        size = len(found.html)
        if size <= FEED_HTML_BYTES // 8:
            with self._lock:
                if post not in self._feed_html:
                    self._feed_html[post] = found
                    self._feed_kept += size
                while len(self._feed_html) > FEED_HTML_KEPT or self._feed_kept > FEED_HTML_BYTES:
                    self._feed_kept -= len(self._feed_html.popitem(last=False)[1].html)
        return found

    def _render(self, post: Post, *, for_page: bool) -> RenderedBody:
        subtitle, body = split_subtitle(self.body(post), post.title)
        render = functools.partial(render_body, trust_html=self.trust_html, for_page=for_page)
        rendered = offload.run(render, body) if len(body) > offload.BIG_TEXT_CHARS else render(body)
        return rendered._replace(subtitle=subtitle)
