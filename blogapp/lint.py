"""Warnings for ``check --strict``: things a valid post can still get wrong."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote

from . import content
from . import publicfiles
from .posts import Post
from .posts import opens_with_title
from .summary import excerpt_problems

_POST_LINK = re.compile(r"""(?:\]\(\s*<?|href=["'])(/posts/[^)\s"'#?>]+)""")


@dataclass(frozen=True)
class LintWarning:
    """One ``check --strict`` warning: the file and what is wrong, printed as ``path: warning: reason``."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: warning: {self.reason}"


def lint_posts() -> list[LintWarning]:
    """Every warning for every valid post (drafts included), sorted by file."""
    posts = content.get_store().snapshot().posts
    found: list[LintWarning] = []
    excerpts: dict[str, list[Post]] = defaultdict(list)
    for post in sorted(posts, key=lambda p: p.source):  # the first file keeps an excerpt
        found += [LintWarning(post.source, note) for note in post.notes]
        found += _files(post)
        if post.excerpt_source:
            excerpts[" ".join(post.excerpt_source.split()).casefold()].append(post)
        else:
            found.append(LintWarning(post.source, "no excerpt (listings and meta tags use the body's first words)"))
        body = content.body(post)
        found += _links(post, body)
        found += [LintWarning(post.source, problem) for problem in excerpt_problems(post, body)]
        if not body.strip():
            found.append(LintWarning(post.source, "no body: the post page shows only its title, cover and excerpt"))
        if opens_with_title(content.read_text(post), post.title):
            repeated = f"the body starts with a heading that repeats the title {post.title!r}"
            found.append(LintWarning(post.source, repeated))
    for same in excerpts.values():
        for post in same[1:]:
            found.append(LintWarning(post.source, f"excerpt is identical to that of {same[0].source}"))
    return sorted(found, key=lambda w: (w.path, w.reason))


def _files(post: Post) -> list[LintWarning]:
    checks = [("coverImage", post.cover_image), ("ogImage", post.og_image), ("author picture", post.author.picture)]
    return [
        LintWarning(post.source, f"{name} file not found: {value}")
        for name, value in checks
        if value and not publicfiles.exists(value)
    ]


def _links(post: Post, body: str) -> list[LintWarning]:
    warnings = []
    for link in sorted(set(_POST_LINK.findall(body))):
        slug = unquote(link[len("/posts/") :]).rstrip("/")
        if content.get_post(slug) is None and content.alias_target(f"/posts/{slug}") is None:
            warnings.append(LintWarning(post.source, f"link to {link} leads nowhere"))
    return warnings
