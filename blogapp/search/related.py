"""Related posts by what posts say: shared tags, then "more like this" over the search index.

A post's most distinctive words (TF-IDF: how often a word is in its title, tags, excerpt and
body, against how many posts have it, read from the FTS5 index's vocabulary) make one
``OR`` query against the full-text index fulltext.py builds per content version, ranked by
bm25. Each shared tag adds as much as the best text match, so tags count strongly where
posts have them; posts in a series share distinctive title and body words and find each
other without any. Nothing is compared pairwise: one post's work is one tokenised document,
one vocabulary lookup and one ranked query, done on the post page's first render and kept
for the content version.
"""

from __future__ import annotations

import heapq
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable

from flask import Flask
from flask import current_app

from .. import content
from .. import offload
from ..posts.fields import tag_key
from ..posts.post import Post
from . import fulltext

#: Related posts shown under a post.
RELATED_LIMIT = 3
#: Most distinctive words a post is queried by (Lucene's "more like this" uses 25).
QUERY_TERMS = 25
#: Posts the text query hands on, best first, before shared tags are counted.
CANDIDATES = 20
#: Weight of a word in the post's (title, tags, excerpt, body) when choosing its query words.
FIELD_WEIGHTS = (3.0, 2.0, 1.0, 1.0)
#: A word in more of the posts than this share (or than MIN_COMMON, whichever is more) is too
#: common to tell a topic; it is left out, which also bounds the query's work.
MAX_DOC_SHARE = 0.1
MIN_COMMON = 25
#: Most of a post's words (its weightiest) whose posts are counted to choose the query words:
#: each count is an index lookup, and a post may have 200,000 distinct words. Posts
#: of ordinary length have fewer than this, so for them nothing changes.
MAX_CANDIDATES = 1000

_WORD = re.compile(r"[^\W_]+")
#: Posts with a word, counted up to a bound (FTS5 reads a word's whole posting list to count).
_DOC_COUNT = (
    "SELECT count(*) FROM (SELECT 1 FROM doc WHERE doc MATCH ? AND +rowid IN (SELECT rowid FROM {live}) LIMIT ?)"
)
_BM25 = ", ".join(map(str, fulltext.WEIGHTS))
_QUERY = (
    f"SELECT rowid, bm25(doc, {_BM25}) FROM doc WHERE doc MATCH ? AND +rowid IN (SELECT rowid FROM {{live}})"
    " ORDER BY 2 LIMIT ?"
)


def words(text: str) -> list[str]:
    """Words as the index's tokenizer (unicode61, diacritics removed) sees them."""
    if text.isascii():  # nothing to decompose (most text, and much quicker)
        return _WORD.findall(text.casefold())
    decomposed = unicodedata.normalize("NFKD", text)
    return _WORD.findall("".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold())


def _saturated(count: int) -> float:
    """A word's weight for being said ``count`` times: BM25's saturation (k1 = 1.2)."""
    return count * 2.2 / (count + 1.2)


def most_common(total: int) -> int:
    """The most posts (of ``total``) a query word may be in."""
    return max(MIN_COMMON, int(total * MAX_DOC_SHARE))


def weigh_words(document: Iterable[str], limit: int = MAX_CANDIDATES) -> Counter[str]:
    """Words of ``document`` (title, tags, excerpt, body) with their weight in it:
    saturated term frequency by FIELD_WEIGHTS; numbers and ASCII words under 3 letters left out.
    Only the ``limit`` weightiest are kept (ties: alphabetical, so the choice never varies)."""
    weights: Counter[str] = Counter()
    for field_weight, text in zip(FIELD_WEIGHTS, document, strict=True):
        for word, count in Counter(words(text)).items():
            if not word.isdigit() and (len(word) >= 3 or not word.isascii()):
                weights[word] += field_weight * _saturated(count)
    if len(weights) > limit:
        weights = Counter(dict(heapq.nsmallest(limit, weights.items(), key=lambda item: (-item[1], item[0]))))
    return weights


def query_terms(weights: Counter[str], doc_counts: dict[str, int], total: int) -> list[str]:
    """The ``QUERY_TERMS`` words of ``weights`` that tell their post apart best: the weight
    times BM25's idf over ``total`` posts. Words no other post has (``doc_counts`` at most 1)
    and words in more than ``most_common(total)`` posts are left out.
    """
    common = most_common(total)
    scored = []
    for word, weight in weights.items():
        df = doc_counts.get(word, 0)
        if df <= 1 or df > common:
            continue
        scored.append((weight * math.log(1 + (total - df + 0.5) / (df + 0.5)), word))
    scored.sort(key=lambda item: (-item[0], item[1]))
    return [word for _, word in scored[:QUERY_TERMS]]


class Related:
    """Per-app, per-process: each post's related posts, once per content version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = ""
        self._found: dict[str, list[Post]] = {}
        self._doc_counts: dict[str, int] = {}  # word -> posts with it (up to most_common + 1)

    def of(self, post: Post, exclude: Iterable[Post | None] = (), limit: int = RELATED_LIMIT) -> list[Post]:
        """Up to ``limit`` posts like ``post``, never itself or ``exclude``; memoised per
        content version (the caller passes the same ``exclude`` for a post in one version)."""
        index = fulltext.current_index()
        key = f"{post.slug}\0{limit}"
        with self._lock:
            if self._version != index.version:
                self._version, self._found, self._doc_counts = index.version, {}, {}
            found = self._found.get(key)
            doc_counts = self._doc_counts
        if found is None:
            found = rank(post, index, exclude, limit, doc_counts)
            with self._lock:
                if self._version == index.version:
                    self._found[key] = found
        return found


def text_matches(post: Post, index: fulltext.Index, count: int, doc_counts: dict[str, int]) -> dict[int, float]:
    """``{rowid: similarity in (0, 1]}`` of up to ``count`` posts (``post`` itself included)
    that share ``post``'s most distinctive words, the best one 1.

    ``doc_counts`` memoises how many posts have each word (for this index; filled here).
    """
    document = index.document(post)
    # A big post's words are weighed in the offload pool (offload.BIG_TEXT_CHARS).
    big = sum(map(len, document)) > offload.BIG_TEXT_CHARS
    weights = offload.run(weigh_words, document) if big else weigh_words(document)
    if not weights:
        return {}
    bound = most_common(len(index.posts)) + 1
    with index.connection() as db:
        for word in weights:
            if word not in doc_counts:
                doc_counts[word] = db.execute(_DOC_COUNT.format(live=index.live), (f'"{word}"', bound)).fetchone()[0]
        terms = query_terms(weights, doc_counts, len(index.posts))
        if not terms:
            return {}
        match = " OR ".join(f'"{term}"' for term in terms)
        rows = db.execute(_QUERY.format(live=index.live), (match, count)).fetchall()
    best = -rows[0][1] if rows and rows[0][1] < 0 else 0.0
    return {rowid: -score / best for rowid, score in rows if best and score < 0}


def rank(
    post: Post, index: fulltext.Index, exclude: Iterable[Post | None], limit: int, doc_counts: dict[str, int]
) -> list[Post]:
    """``post``'s related posts: shared tags (1 each) plus text similarity (at most 1), best
    first, newer first on ties; only posts with some tag or word in common."""
    skip = {post.slug} | {p.slug for p in exclude if p is not None}
    scores: dict[str, float] = {}
    by_slug: dict[str, Post] = {}
    for rowid, similarity in text_matches(post, index, CANDIDATES + len(skip), doc_counts).items():
        other = index.by_rowid[rowid]
        scores[other.slug] = similarity
        by_slug[other.slug] = other
    tags = content.get_tags()
    for tag in post.tags:
        for other in tags.get(tag_key(tag), ("", []))[1]:
            scores[other.slug] = scores.get(other.slug, 0.0) + 1.0
            by_slug[other.slug] = other
    chosen = [p for slug, p in by_slug.items() if slug not in skip]
    chosen.sort(key=lambda p: (scores[p.slug], p.timestamp, p.slug), reverse=True)
    return chosen[:limit]


def init_app(app: Flask) -> None:
    """Attach the related-posts memo to ``app``."""
    app.extensions["blog_related"] = Related()


def related_posts(post: Post, exclude: Iterable[Post | None] = (), limit: int = RELATED_LIMIT) -> list[Post]:
    """Up to ``limit`` posts to read after ``post`` (never itself, nor ``exclude``: the view
    passes the previous and next posts, which the page links already)."""
    return current_app.extensions["blog_related"].of(post, exclude, limit)
