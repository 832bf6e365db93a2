"""Full-text search over the visible posts: SQLite FTS5 from the standard library.

Each process keeps one in-memory FTS5 index, built lazily by the first search after the
content version changes (an edit, a new post, a scheduled post going live) and guarded by a
lock, so concurrent searches of a new version wait for one build instead of starting several.

Bodies are indexed as plain text from ``searchtext.strip_markdown`` (why not the token walk
of plaintext.py: see there).

User input never reaches FTS5's query language: ``fts_query`` keeps its words only and quotes
each one, so ``AND``, ``NEAR(``, ``title:``, ``*``, ``^`` and unbalanced quotes are searched
as plain words, never parsed as syntax. The words are split by FTS5's own tokenizer
(``query_terms``), so a word said twice, in any case or with or without accents, is searched
once; only the last word may be a prefix, and only from MIN_PREFIX_CHARS characters.

Ranking: every word in the title first, then in the tags, then in the excerpt, then the rest,
each group by bm25 weighted title > tags > excerpt > body (see ``_RANKED``). bm25 costs about
a microsecond per matching post and word, so a query whose matches times words pass
RANK_BUDGET (only words that nearly every post has, at thousands of posts) keeps the groups
but orders each newest first (``_BY_DATE``): the cost of one query stays bounded.

Snippets come from FTS5's ``snippet()`` with private-use sentinel characters around the
matches; the text is HTML-escaped first and the sentinels become ``<mark>`` afterwards, so
nothing in a post can inject markup (the sentinels are removed from indexed text).
"""

from __future__ import annotations

import contextlib
import re
import sqlite3
import threading
import time
import unicodedata
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass

from flask import Flask
from flask import current_app
from markupsafe import Markup
from markupsafe import escape

from .. import content
from ..posts.post import Post
from ..text.summary import EXCERPT_LENGTH
from ..text.summary import truncate_words
from .words import SNIPPET_CLOSE
from .words import SNIPPET_OPEN
from .words import drop_marks
from .words import strip_markdown

#: Longest query used; the rest is ignored.
MAX_QUERY_CHARS = 200
#: Most distinct words a query is searched for (the rest are ignored): all must match, so a
#: few pin a post down, and each costs in every step of a query (bench/search_cost.py).
MAX_TERMS = 8
#: Shortest last word matched as the start of longer words (``pyt`` finds "Python"); a shorter
#: one is matched as a whole word: a one- or two-letter prefix matches most of the vocabulary.
MIN_PREFIX_CHARS = 3
#: Most (matching posts x words) ranked by bm25; past it, each group is ordered newest first.
#: A prefix counts twice (it stands for several words). At 10,000 posts: one whole word that
#: every post has is ranked by bm25, two such words or one prefix are not (the costs:
#: bench/README.md, "Figures behind the constants").
RANK_BUDGET = 10_000
#: Results per page.
PER_PAGE = 20
#: bm25 weights for (title, tags, excerpt, body): a title match counts most.
WEIGHTS = (10.0, 6.0, 3.0, 1.0)
#: Words of context in a snippet.
SNIPPET_TOKENS = 28
#: Posts indexed between two chances for other greenlets to run (a build at 10,000 posts takes
#: seconds; the first post page or search after a change waits for it, cache hits need not).
_BUILD_BATCH = 200
#: Versions whose ``live`` tables are kept for requests still holding their index.
_KEPT_VERSIONS = 4
#: How the index, and queries with it (``_Tokenizer``), split text into words.
_TOKENIZE = "unicode61 remove_diacritics 2"

# Match markers: private-use characters, removed from indexed text, so they only ever come
# from snippet()/highlight().
_OPEN, _CLOSE = SNIPPET_OPEN, SNIPPET_CLOSE
_ELLIPSIS = "…"


def clean_query(raw: str | None) -> str:
    """The query as shown and searched: NFC, whitespace collapsed, at most MAX_QUERY_CHARS."""
    text = unicodedata.normalize("NFC", (raw or "")[: MAX_QUERY_CHARS * 2])
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(text.split())[:MAX_QUERY_CHARS].strip()


class _Tokenizer:
    """FTS5's unicode61 tokenizer, as the index uses it, for splitting queries exactly as the
    posts were split (case and accents folded): one tiny table per process, under a lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def __call__(self, text: str) -> list[str]:
        with self._lock:
            if self._db is None:
                self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
                self._db.execute(f"CREATE VIRTUAL TABLE q USING fts5(text, tokenize='{_TOKENIZE}')")
                self._db.execute("CREATE VIRTUAL TABLE terms USING fts5vocab(q, instance)")
            self._db.execute("INSERT INTO q(rowid, text) VALUES (1, ?)", (text,))
            try:
                return [term for (term,) in self._db.execute("SELECT term FROM terms ORDER BY offset")]
            finally:
                self._db.execute("DELETE FROM q")


_tokens = _Tokenizer()


def query_terms(query: str) -> tuple[list[str], str | None]:
    """``(words, prefix)`` of ``query`` as the index's tokenizer sees them (case and accents
    folded), each once, at most MAX_TERMS in all. ``prefix`` is the last word when it has
    MIN_PREFIX_CHARS characters or more (then it is not among ``words``), else None."""
    tokens = _tokens(query[: MAX_QUERY_CHARS * 2])
    if not tokens:
        return [], None
    prefix = tokens[-1] if len(tokens[-1]) >= MIN_PREFIX_CHARS else None
    words = [token for token in dict.fromkeys(tokens) if token != prefix]
    return words[: MAX_TERMS - (prefix is not None)], prefix


def fts_query(query: str) -> str | None:
    """Safe FTS5 syntax for a user's query: every word quoted, the last one a prefix if long
    enough (``query_terms``).

    Operators, column filters, quotes and brackets are not syntax here: ``NOT "word`` becomes
    ``"not" "word"*``. None when the query has no words (only punctuation, spaces).
    """
    return _match(*query_terms(query))


def _match(words: list[str], prefix: str | None) -> str | None:
    quoted = [f'"{word}"' for word in words] + ([f'"{prefix}"*'] if prefix else [])
    return " ".join(quoted) or None


def marked(text: str) -> Markup:
    """Escape ``text``, then turn the match sentinels into ``<mark>`` elements."""
    safe = str(escape(text))
    # Balance defensively: a snippet may cut between an opening and a closing marker.
    out: list[str] = []
    open_ = False
    for part in re.split(f"([{_OPEN}{_CLOSE}])", safe):
        if part == _OPEN:
            if not open_:
                out.append("<mark>")
                open_ = True
        elif part == _CLOSE:
            if open_:
                out.append("</mark>")
                open_ = False
        else:
            out.append(part)
    if open_:
        out.append("</mark>")
    return Markup("".join(out))


@dataclass(frozen=True)
class Hit:
    post: Post
    title: Markup  # escaped, with <mark>
    snippet: Markup  # escaped, with <mark>


@dataclass(frozen=True)
class Results:
    query: str
    total: int
    hits: list[Hit]
    page: int
    pages: int


#: Posts with every word in the title first, then in the tags, then in the excerpt, then the
#: rest; within each, FTS5's bm25 with WEIGHTS (``_RANKED``) or newest first (``_BY_DATE``).
#: (bm25 alone cannot put titles first: FTS5 multiplies a column's weight into the term
#: frequency before saturating it, so a word repeated in a body outscores the same word once
#: in a title.)
_ORDERED = """
    SELECT rowid FROM doc WHERE doc MATCH ?1 AND +rowid IN (SELECT rowid FROM {{live}})
    ORDER BY rowid IN (SELECT rowid FROM doc WHERE doc MATCH 'title : (' || ?1 || ')') DESC,
             rowid IN (SELECT rowid FROM doc WHERE doc MATCH 'tags : (' || ?1 || ')') DESC,
             rowid IN (SELECT rowid FROM doc WHERE doc MATCH 'excerpt : (' || ?1 || ')') DESC,
             {order}
    LIMIT ?2 OFFSET ?3"""
_RANKED = _ORDERED.format(order=f"bm25(doc, {', '.join(map(str, WEIGHTS))}), rowid")
_BY_DATE = _ORDERED.format(order="(SELECT age FROM {live} WHERE rowid = doc.rowid)")
_COUNT = "SELECT count(*) FROM doc WHERE doc MATCH ? AND +rowid IN (SELECT rowid FROM {live})"
_INSERT = "INSERT INTO doc(rowid, title, tags, excerpt, body) VALUES (?, ?, ?, ?, ?)"
_SCHEMA = f"CREATE VIRTUAL TABLE doc USING fts5(title, tags, excerpt, body, tokenize='{_TOKENIZE}'{{}})"


#: How the index gets a post's markdown body (content.body: read from its file).
BodyReader = Callable[[Post], str]


def document(post: Post, body: BodyReader) -> tuple[str, str, str, str]:
    """(title, tags, excerpt, body) of a post as plain text, as indexed.

    The excerpt is the author's only (a body's first words are already in the body).
    """
    excerpt = strip_markdown(post.excerpt_source) if post.excerpt_source else ""
    return drop_marks(post.title), drop_marks(" ".join(post.tags)), excerpt, strip_markdown(body(post))


class Index:
    """One content version's FTS5 index, in memory.

    The table is contentless (``content=''``): it keeps the index, not the text, a fraction
    of the size (bench/README.md). Snippets are made for the shown hits only, from their text
    read again, in a throwaway table. Queries on the shared connection are serialised by a lock.

    A new version reuses its predecessor's table (``previous``): only posts that are new or
    changed (a new Post object: the store keeps an unchanged file's Post) are read and
    indexed, so after an edit the next search or post page indexes one post, not all of them.
    Rows of posts that left are kept but no longer count: every query takes only the rows in
    this version's ``live`` table. When such rows pass a quarter of the visible posts, the
    index is built afresh.
    """

    def __init__(self, version: str, posts: Iterable[Post], body: BodyReader, previous: Index | None = None) -> None:
        self.version = version
        self.posts = list(posts)
        self._body = body
        reuse = previous is not None and previous._rows - len(self.posts) <= len(self.posts) // 4
        if previous is not None and reuse:
            self._db, self._lock, known = previous._db, previous._lock, previous._rowids
            self._rows, self._next, generation = previous._rows, previous._next, previous._generation + 1
        else:
            self._lock = threading.Lock()
            self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
            self._db.execute(_SCHEMA.format(", content=''"))
            known, self._rows, self._next, generation = {}, 0, 0, 0
        self._rowids: dict[Post, int] = {post: known[post] for post in self.posts if post in known}
        self._add([post for post in self.posts if post not in self._rowids])
        #: rowid -> Post, for this version's rows only.
        self.by_rowid: dict[int, Post] = {rowid: post for post, rowid in self._rowids.items()}
        self._generation = generation
        #: The table of this version's rowids. Queries keep to ``+rowid IN (SELECT rowid FROM
        #: live)``: the unary plus stops SQLite from handing the list to FTS5 as its access
        #: path (one index lookup per live row); the MATCH finds the rows, then they are filtered.
        self.live = f"live{generation}"
        with self._lock:
            # age: the post's place in the list, newest first (0), for ``_BY_DATE``.
            self._db.execute(f"CREATE TEMP TABLE {self.live}(rowid INTEGER PRIMARY KEY, age INTEGER)")
            rows = ((self._rowids[post], age) for age, post in enumerate(self.posts))
            self._db.executemany(f"INSERT INTO {self.live} VALUES (?, ?)", rows)
            # A request may still hold the index of a version or two before; older ones go.
            if generation >= _KEPT_VERSIONS:
                self._db.execute(f"DROP TABLE IF EXISTS live{generation - _KEPT_VERSIONS}")

    def _add(self, posts: list[Post]) -> None:
        """Index ``posts`` under new rowids, in batches with a pause between."""
        for start in range(0, len(posts), _BUILD_BATCH):
            batch = posts[start : start + _BUILD_BATCH]
            rows = [(self._next + i, *document(post, self._body)) for i, post in enumerate(batch)]
            with self._lock:
                self._db.execute("BEGIN")
                self._db.executemany(_INSERT, rows)
                self._db.execute("COMMIT")
            for i, post in enumerate(batch):
                self._rowids[post] = self._next + i
            self._next += len(batch)
            self._rows += len(batch)
            # Under gevent the worker's other connections go on between batches: a timer, since
            # sleep(0) runs only greenlets already ready, not those waiting for their socket.
            time.sleep(0.001)

    def document(self, post: Post) -> tuple[str, str, str, str]:
        """(title, tags, excerpt, body) of ``post`` as this index holds such text."""
        return document(post, self._body)

    @contextlib.contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """The index's connection, under its lock, for other modules' read-only queries
        (related.py): table ``doc(title, tags, excerpt, body)``; only rows in the table named
        by ``self.live`` are this version's, ``self.by_rowid`` maps them to posts."""
        with self._lock:
            yield self._db

    def search(self, query: str, page: int = 1, per_page: int = PER_PAGE) -> Results:
        """Ranked hits for ``query`` (cleaned by ``clean_query``); a page past the end has none.

        Ranked by bm25 within each group while matches x words stay within RANK_BUDGET, else
        newest first within each group.
        """
        words, prefix = query_terms(query)
        match = _match(words, prefix)
        if match is None:
            return Results(query, 0, [], 1, 0)
        page = max(page, 1)
        with self._lock:
            total = self._db.execute(_COUNT.format(live=self.live), (match,)).fetchone()[0]
            within = total * (len(words) + 2 * (prefix is not None)) <= RANK_BUDGET
            ordered = (_RANKED if within else _BY_DATE).format(live=self.live)
            rowids = [rowid for (rowid,) in self._db.execute(ordered, (match, per_page, (page - 1) * per_page))]
        posts = [self.by_rowid[rowid] for rowid in rowids]
        return Results(query, total, _hits(posts, match, self._body), page, -(-total // per_page))


def _hits(posts: list[Post], match: str, body: BodyReader) -> list[Hit]:
    """Hits with highlighted titles and snippets, from a throwaway table of these posts only."""
    db = sqlite3.connect(":memory:", isolation_level=None)
    try:
        db.execute(_SCHEMA.format(""))
        documents = [document(post, body) for post in posts]
        db.executemany(_INSERT, ((rowid, *document) for rowid, document in enumerate(documents)))
        found = {
            rowid: (title, body if _OPEN in body or not excerpt else excerpt)
            for rowid, title, body, excerpt in db.execute(
                f"""SELECT rowid, highlight(doc, 0, ?1, ?2),
                      snippet(doc, 3, ?1, ?2, ?3, {SNIPPET_TOKENS}), snippet(doc, 2, ?1, ?2, ?3, {SNIPPET_TOKENS})
                    FROM doc WHERE doc MATCH ?4""",
                (_OPEN, _CLOSE, _ELLIPSIS, match),
            )
        }
    finally:
        db.close()
    hits = []
    for rowid, post in enumerate(posts):
        # A post edited since the index was built may no longer match: show it unmarked.
        title, _tags, excerpt, body = documents[rowid]
        title, snippet = found.get(rowid, (title, excerpt or truncate_words(body, EXCERPT_LENGTH)))
        hits.append(Hit(post, marked(title), marked(snippet)))
    return hits


class Searcher:
    """Per-app, per-process holder of the current Index; rebuilds it once per content version."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._index: Index | None = None

    def index(self) -> Index:
        # Version first, posts second: if a rescan lands in between, the index is labelled
        # with the older version and simply rebuilt by the next search.
        version = content.content_version()
        index = self._index
        if index is None or index.version != version:
            with self._lock:
                index = self._index
                if index is None or index.version != version:
                    index = self._index = Index(version, content.get_posts(), content.body, index)
        return index


def init_app(app: Flask) -> None:
    """Attach a Searcher to ``app``."""
    app.extensions["blog_search"] = Searcher()


def current_index() -> Index:
    """The index of the current content version's visible posts (built now if need be)."""
    return current_app.extensions["blog_search"].index()


def search(query: str, page: int = 1) -> Results:
    """Search the visible posts of the current content version."""
    return current_app.extensions["blog_search"].index().search(query, page)
