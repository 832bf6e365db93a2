"""What the posts add up to: the Snapshot of one state of the folder, and the posts Visible at a moment.

Pure: no Flask, no file access. store.py loads the files and calls ``build_snapshot``;
content.py answers requests from the Visible now (listings, slugs, tags, aliases).
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import logging
import os
from dataclasses import dataclass
from dataclasses import field
from typing import Any

from .fields import AUTHOR_SUFFIX_HEX
from .fields import Author
from .fields import PostError
from .fields import SlugError
from .fields import nfc
from .fields import slugify
from .fields import suffixed_slug
from .fields import tag_key
from .post import Post

logger = logging.getLogger("blogapp.content")


@dataclass
class Snapshot:
    """One state of the folder: its posts and errors, replaced whole when a file changes.

    What is visible also depends on the time (scheduled posts): ``view(now)`` builds the Visible
    for ``now`` and remembers it per publication boundary, the only state a Snapshot keeps.
    """

    fingerprint: str
    posts: list[Post]  # valid posts, newest first, hidden ones included
    errors: list[PostError]
    show_hidden: bool
    public: str = ""  # PublicFiles.fingerprint: the public files the posts use
    #: Newest modification time (POSIX seconds) of the post files and their folder, and of
    #: the public files the posts use and their folders: a page's Last-Modified (lastmodified.py).
    files_modified: float = 0.0
    public_modified: float = 0.0
    publish_times: list[float] = field(default_factory=list)  # of the non-draft posts, ascending
    _views: dict[int, Visible] = field(default_factory=dict)

    def with_public(self, public: str, modified: float) -> Snapshot:
        """The same posts, with the public files they use in another state (a cover added,
        removed or replaced): a new Snapshot, whose views are worked out afresh."""
        return dataclasses.replace(self, public=public, public_modified=modified, _views={})

    def view(self, now: float) -> Visible:
        """The posts visible at ``now`` (POSIX seconds); computed once per publication boundary."""
        passed = bisect.bisect_right(self.publish_times, now)
        view = self._views.get(passed)
        if view is None:
            view = self._views[passed] = Visible.build(self, now, passed)
        return view


@dataclass(frozen=True)
class Series:
    """A ``series:`` and its visible posts in reading order: ``seriesPart:`` first, in its
    order, then by date, oldest first (``series_order``)."""

    slug: str  #: ``slugify`` of the name: the ``/series/<slug>`` page
    name: str  #: as the newest post spells it
    posts: list[Post]

    def part_of(self, post: Post) -> int:
        """``post``'s place, from 1."""
        return self.posts.index(post) + 1


def series_order(post: Post) -> tuple[bool, float, float, str]:
    """How a series sorts its posts: numbered parts first, by number, then the rest by date."""
    return post.series_part is None, post.series_part or 0.0, post.timestamp, post.slug


@dataclass
class Visible:
    """The posts visible at one moment, with their lookups; built by ``Snapshot.view``."""

    version: str
    posts: list[Post]
    by_slug: dict[str, Post]
    next_publication: float | None  # POSIX seconds
    #: The newest change to anything the posts show (POSIX seconds): their files, the public
    #: files they use, and the newest publication time that has passed.
    modified: float = 0.0

    @functools.cached_property
    def tags(self) -> dict[str, tuple[str, list[Post]]]:
        """``{tag_key(tag): (display name, posts newest first)}``, most used first."""
        found: dict[str, tuple[str, list[Post]]] = {}
        for post in self.posts:
            for tag in post.tags:
                found.setdefault(tag_key(tag), (tag, []))[1].append(post)
        return dict(sorted(found.items(), key=lambda item: (-len(item[1][1]), item[0])))

    @functools.cached_property
    def series(self) -> dict[str, Series]:
        """``{slug: Series}`` of every ``series:`` shown, newest series first.

        Names that give one ``slugify`` ("ROS 2 Basics", "ros-2 basics") are one series, shown
        as its newest post spells the name.
        """
        found: dict[str, list[Post]] = {}
        for post in self.posts:  # newest first
            if post.series:
                found.setdefault(slugify(post.series), []).append(post)
        return {
            slug: Series(slug, posts[0].series or slug, sorted(posts, key=series_order))
            for slug, posts in found.items()
        }

    @functools.cached_property
    def authors(self) -> dict[str, tuple[Author, list[Post]]]:
        """``{author slug: (author, posts newest first)}``, one entry per ``Author.key``.

        Spellings of one name that differ only in case and spacing ("Maya Chen", "maya  chen")
        are one author, shown as the newest post spells the name, with the newest picture any
        of the posts gives. A name without a letter or digit has no slug and no page.
        """
        by_key: dict[str, list[Post]] = {}
        for post in self.posts:
            by_key.setdefault(post.author.key, []).append(post)
        found: dict[str, tuple[Author, list[Post]]] = {}
        for key, posts in by_key.items():
            slug = self.author_slugs[key]
            if slug:
                author = posts[0].author
                picture = author.picture or next((p.author.picture for p in posts if p.author.picture), None)
                found[slug] = (Author(author.name, picture), posts)
        return found

    @functools.cached_property
    def author_slugs(self) -> dict[str, str]:
        """``{Author.key: slug}`` of every author shown ("" for a name with no page).

        Authors whose names give one ``slugify`` (accents: "Maya Chen" and "Maya Chén";
        punctuation; two long names alike in their first 80 slug characters) stay apart: the
        one whose first post is oldest keeps the plain slug, the others get a suffix from
        their name's hash (``suffixed_slug``). Neither depends on the order files are read in;
        a newer post never takes a slug from an author who had it.
        """
        first: dict[str, tuple[float, str, str]] = {}  # key -> (oldest post's time, key, slug)
        for post in reversed(self.posts):  # oldest first
            key = post.author.key
            if key not in first:
                first[key] = (post.timestamp, key, slugify(post.author.name))
        slugs: dict[str, str] = {}
        taken: set[str] = set()
        for _, key, base in sorted(first.values()):
            slug, digits = base, AUTHOR_SUFFIX_HEX
            while slug in taken:  # a longer suffix, should two suffixes ever be alike
                slug = suffixed_slug(base, key, digits) if digits <= 64 else ""
                digits += 2
            if slug:
                taken.add(slug)
            slugs[key] = slug
        return slugs

    @functools.cached_property
    def aliases(self) -> dict[str, Post]:
        """``{old path: post}`` from the posts' ``aliases:`` (a path, or an old slug)."""
        found: dict[str, Post] = {}
        live = {f"/posts/{p.slug}" for p in self.posts}
        for post in self.posts:
            for alias in alias_paths(post.meta.get("aliases")):
                if alias not in live:  # a live post's own URL always wins
                    found.setdefault(alias, post)
        return found

    @classmethod
    def build(cls, snap: Snapshot, now: float, passed: int) -> Visible:
        if snap.show_hidden:
            posts = list(snap.posts)
        else:
            posts = [p for p in snap.posts if not p.draft and p.timestamp <= now]
        times = snap.publish_times
        return cls(
            version=f"{snap.fingerprint}.{snap.public}.{passed}",
            posts=posts,
            by_slug={p.slug: p for p in posts},
            next_publication=times[passed] if passed < len(times) else None,
            modified=max(snap.files_modified, snap.public_modified, times[passed - 1] if passed else 0.0),
        )


def build_snapshot(
    fingerprint: str, loaded: list[Post | PostError], show_hidden: bool, files_modified: float = 0.0
) -> Snapshot:
    """Index loaded files: one post per slug (the others become SlugErrors), newest first."""
    errors = [item for item in loaded if isinstance(item, PostError)]
    claims: dict[str, list[Post]] = {}
    for item in loaded:
        if isinstance(item, Post):
            claims.setdefault(item.slug, []).append(item)
    posts: list[Post] = []
    for group in claims.values():
        if len(group) > 1:
            # A file named after the slug keeps it over a `slug:` override that claims it too.
            group.sort(key=_claim_order)
            for post in group[1:]:
                err = SlugError(post.source, f"slug {post.slug!r} is already used by {group[0].source}")
                logger.warning("invalid post %s", err)
                errors.append(err)
        posts.append(group[0])
    # Timestamps, not datetimes: comparing datetimes in assorted zones converts both on every
    # comparison.
    posts.sort(key=lambda p: (p.timestamp, p.slug), reverse=True)
    times = sorted(p.timestamp for p in posts if not p.draft)
    errors.sort(key=lambda e: e.path)
    return Snapshot(fingerprint, posts, errors, show_hidden, files_modified=files_modified, publish_times=times)


def alias_paths(value: Any) -> list[str]:
    """Normalise ``aliases:`` (a string or a list): ``old-slug`` means ``/posts/old-slug``."""
    items = [value] if isinstance(value, str) else value if isinstance(value, list) else []
    paths = []
    for item in items:
        if not isinstance(item, str | int) or not str(item).strip():
            continue
        text = nfc(str(item).strip())
        path = text if text.startswith("/") else f"/posts/{text}"
        paths.append(path.rstrip("/") or "/")
    return paths


def _claim_order(post: Post) -> tuple[bool, str]:
    return nfc(os.path.basename(post.source)[:-3]) != post.slug, post.source
