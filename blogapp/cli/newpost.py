"""``flask new``: a file name and slug no post has or claims, and the file made in place.

A file named ``<slug>.md`` wins its slug over a post that claims it with ``slug:``, so a new
file named after a published post's slug would take that post offline. The new name is
therefore free among every name in the posts folder, every post's slug and aliases (drafts
and invalid posts too) and the removed posts; compared in NFC without regard to case (as
case-insensitive file systems do).
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

from ..posts.catalog import alias_paths
from ..posts.fields import PostError
from ..posts.fields import is_blank
from ..posts.post import read_front_matter
from ..posts.store import ContentStore

#: Bytes read from an invalid post to find its ``slug:`` (front matter comes first).
_HEAD_BYTES = 64 * 1024
#: Names tried (``slug``, ``slug-2``, ...) before giving up.
MAX_TRIES = 1000
_SLUG_LINE = re.compile(r"^slug[ \t]*:[ \t]*[\"']?([^\"'#\r\n]*)", re.MULTILINE)


def taken_names(store: ContentStore) -> set[str]:
    """Every slug a new post must not take, as ``_key`` gives it."""
    snapshot = store.snapshot()
    names = [name[:-3] if name.endswith(".md") else name for name in os.listdir(store.posts_dir)]
    paths = list(store.gone())
    for post in snapshot.posts:
        names.append(post.slug)
        paths += alias_paths(post.meta.get("aliases"))
    for error in snapshot.errors:
        slugs, aliases = _claims(error.path)
        names += slugs
        paths += aliases
    names += [path[len("/posts/") :] for path in paths if path.startswith("/posts/")]
    return {_key(name) for name in names}


def create_post_file(folder: Path, slug: str, text: str, taken: set[str]) -> Path:
    """Write ``text`` to a new ``<slug>.md`` (or ``<slug>-2.md``, ...) whose name is not in
    ``taken``; never over or through an existing file or link.

    :raise FileExistsError: when MAX_TRIES names are all taken.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    for n in range(1, MAX_TRIES + 1):
        name = slug if n == 1 else f"{slug}-{n}"
        if _key(name) in taken:
            continue
        path = folder / f"{name}.md"
        try:
            fd = os.open(path, flags, 0o644)
        except FileExistsError:  # made since the listing (or a dangling link): the next name
            continue
        try:
            with open(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
        except BaseException:
            path.unlink()  # ours: made just now
            raise
        return path
    raise FileExistsError(f"{slug}.md to {slug}-{MAX_TRIES}.md are all taken in {folder}")


def _claims(path: str) -> tuple[list[str], list[str]]:
    """``(slug, aliases)`` an invalid post claims, as far as its front matter can be read:
    once fixed, it would claim them."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(_HEAD_BYTES).decode("utf-8-sig", errors="replace")
    except OSError:
        return [], []
    try:
        meta: dict[str, Any] = read_front_matter(head, path)
    except PostError:
        return [match.strip() for match in _SLUG_LINE.findall(head)], []
    slug = meta.get("slug")
    slugs = [] if is_blank(slug) or isinstance(slug, dict | list) else [str(slug).strip()]
    return slugs, alias_paths(meta.get("aliases"))


def _key(name: str) -> str:
    return unicodedata.normalize("NFC", name).casefold()
