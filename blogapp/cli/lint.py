"""Warnings for ``check --strict``: things a valid post can still get wrong."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from urllib.parse import unquote

from .. import content
from .. import public
from ..images import pixels
from ..posts.post import Post
from ..posts.post import opens_with_title
from ..text.summary import excerpt_problems

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
        body = content.body(post)
        found += _files(post)
        found += _image_sizes(post, body)
        if post.excerpt_source:
            excerpts[" ".join(post.excerpt_source.split()).casefold()].append(post)
        else:
            found.append(LintWarning(post.source, "no excerpt (listings and meta tags use the body's first words)"))
        found += _links(post, body)
        found += _assistant_traces(post, body)
        found += [LintWarning(post.source, problem) for problem in excerpt_problems(post, body)]
        if not body.strip():
            found.append(LintWarning(post.source, "no body: the post page shows only its title, cover and excerpt"))
        if opens_with_title(content.read_text(post), post.title):
            repeated = (
                f"the body starts with a heading that repeats the title {post.title!r}"
                " (the page drops it and shows what follows the title as the subtitle)"
            )
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
        if value and not public.exists(value)
    ]


_BODY_IMAGE = re.compile(r"!\[[^\]\n]*\]\(\s*<?(/[^)\s>]+)")
_RASTER_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".avif", ".tif", ".tiff", ".bmp")


def _image_sizes(post: Post, body: str) -> list[LintWarning]:
    """Images far larger than any variant needs, or too large (or broken) to resize."""
    named = [("coverImage", post.cover_image), ("ogImage", post.og_image), ("author picture", post.author.picture)]
    named += [("body image", url) for url in _BODY_IMAGE.findall(body)]
    warnings = []
    for name, url in named:
        real = public.find(url) if url else None
        if real is None or not real.lower().endswith(_RASTER_SUFFIXES):
            continue
        source = pixels.probe(real)
        if source is None:
            reason = "cannot be read as an image (corrupt, or too many pixels to open): served as it is"
        elif source.width > 2 * pixels.LADDER[-1]:
            limit = pixels.LADDER[-1]
            reason = f"is {source.width} px wide, far more than the widest variant ({limit} px): resize it"
        elif not source.resizable and source.width * source.height > pixels.MAX_SOURCE_PIXELS:
            reason = f"has {source.width}x{source.height} pixels, too many to resize: served as it is"
        else:
            continue
        warnings.append(LintWarning(post.source, f"{name} {url} {reason}"))
    return warnings


def _links(post: Post, body: str) -> list[LintWarning]:
    warnings = []
    for link in sorted(set(_POST_LINK.findall(body))):
        slug = unquote(link[len("/posts/") :]).rstrip("/")
        if content.get_post(slug) is None and content.alias_target(f"/posts/{slug}") is None:
            warnings.append(LintWarning(post.source, f"link to {link} leads nowhere"))
    return warnings


#: A run of characters a link in markdown or HTML can hold (found in one linear pass; a pattern
#: for the whole link backtracks over a body of "http://http://…").
_LINK_LIKE = re.compile(r"""[^\s<>"'()\[\]]+""")
_CHATGPT_LINK = re.compile(r"https?://.*[?&]utm_source=chatgpt\.com(?![\w-])", re.IGNORECASE)
#: How an assistant's offer of more work opens, left as a post's last paragraph.
ASSISTANT_LEFTOVERS = (
    "if you want this reshaped",
    "if you want, i can",
    "if you'd like, i can",
    "if you would like, i can",
    "let me know if you'd like",
    "let me know if you want",
    "let me know if you would like",
    "would you like me to",
)
_MARKUP_START = re.compile(r"^[\s>*_#-]+")


def _assistant_traces(post: Post, body: str) -> list[LintWarning]:
    """Links carrying ``utm_source=chatgpt.com``, and an assistant's closing offer as the
    body's last paragraph: text pasted from a chat, not meant for readers."""
    warnings = [
        LintWarning(post.source, f"link {url} carries utm_source=chatgpt.com: remove the tracking parameter")
        for url in sorted({run.rstrip(".,;:!?") for run in _LINK_LIKE.findall(body) if _chatgpt_tagged(run)})
    ]
    paragraphs = [part for part in re.split(r"\n\s*\n", body.strip()) if part.strip()]
    if paragraphs:
        last = _MARKUP_START.sub("", paragraphs[-1]).replace("\u2019", "'")
        words = " ".join(last.split())
        for phrase in ASSISTANT_LEFTOVERS:
            if words.casefold().startswith(phrase):
                shown = words if len(words) <= 60 else words[:59] + "\u2026"
                reason = f"the post ends with an assistant's offer ({shown!r}): remove the last paragraph"
                warnings.append(LintWarning(post.source, reason))
                break
    return warnings


def _chatgpt_tagged(run: str) -> bool:
    return "utm_source=chatgpt.com" in run.casefold() and _CHATGPT_LINK.match(run) is not None
