"""Command-line tools for the author: ``check``, ``new`` and ``export``."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from .. import content
from .. import websub
from ..config import ROOT
from ..posts.fields import slugify
from .export import export_to
from .exportdir import ExportError
from .exportdir import check_target
from .lint import lint_posts
from .newpost import create_post_file
from .newpost import taken_names
from .pregen import linked_variants
from .pregen import make_variants
from .progress import progress


@click.command("check")
@click.option("--strict", is_flag=True, help="Also report warnings (missing files, broken links, ...).")
@with_appcontext
def check_command(strict: bool) -> None:
    """Read every post; print one 'path: reason' line per problem; exit 1 if any."""
    with _quiet_invalid_posts():  # the loader logs each invalid post; this command prints it
        errors = content.invalid_posts()
    for error in errors:
        click.echo(str(error))
    warnings = lint_posts() if strict else []
    for warning in warnings:
        click.echo(str(warning))
    silent = websub.silent_hubs(current_app)
    for hub_url, reason in silent:
        click.echo(f"BLOG_WEBSUB_HUBS: {hub_url} does not answer: {reason}")
    if strict:  # a hub that does not answer: a warning, as the other operational checks are
        warnings = [*warnings, *(f"{hub_url}: no answer" for hub_url, _ in silent)]
    total = len(content.get_store().snapshot().posts)
    visible = len(content.get_posts())
    summary = f"{total} valid post(s), {visible} visible now, {len(errors)} invalid"
    click.echo(summary + (f", {len(warnings)} warning(s)" if strict else ""), err=True)
    if errors or warnings:
        raise SystemExit(1)


class _DropInvalidPost(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.msg != "invalid post %s"


@contextlib.contextmanager
def _quiet_invalid_posts() -> Iterator[None]:
    """Leave out the loader's "invalid post" log lines while the posts are read."""
    logger, drop = logging.getLogger("blogapp.content"), _DropInvalidPost()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


@click.command("new")
@click.argument("title")
@click.option("--publish", is_flag=True, help="Leave out 'draft: true' (the post goes live at once).")
@with_appcontext
def new_command(title: str, publish: bool) -> None:
    """Write a new post file for TITLE and print its path.

    The file name (and so the slug) is one no post has or claims, so no post is ever shadowed.
    """
    title = " ".join(title.split())
    if not title:
        raise click.UsageError("the title is empty")
    now = dt.datetime.now(ZoneInfo(current_app.config["BLOG_TIMEZONE"])).replace(microsecond=0)
    lines = [
        "---",
        f"title: {json.dumps(title, ensure_ascii=False)}",
        f'date: "{now.isoformat()}"',
        'excerpt: ""',
        "tags: []",
        *([] if publish else ["draft: true"]),
        "---",
        "",
        "Write the post here, in markdown.",
        "",
    ]
    store = content.get_store()
    wanted = slugify(title) or "post"
    try:
        path = create_post_file(store.posts_dir, wanted, "\n".join(lines), taken_names(store))
    except OSError as exc:
        raise click.ClickException(f"no post file written: {exc}") from None
    slug = path.name[:-3]
    where = f"at /posts/{slug}" if publish else f"a draft, at /posts/{slug} once published"
    taken = "" if slug == wanted else f" ('{wanted}' is taken by another post, alias or file)"
    click.echo(f"wrote {path}: {where}{taken}", err=True)
    click.echo(str(path))


@click.command("export")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace an earlier export in TARGET.")
@with_appcontext
def export_command(target: Path, force: bool) -> None:
    """Write the whole site as static files into TARGET (needs BLOG_SITE_URL).

    TARGET must be new, empty, or (with --force) an earlier export; the new site is written
    beside it and swapped in, so a failed export leaves TARGET as it was.
    """
    if not current_app.config["BLOG_SITE_URL"]:
        raise click.UsageError(
            "set BLOG_SITE_URL (FLASK_BLOG_SITE_URL=https://...): static files cannot ask for a host"
        )
    try:
        real, replace = check_target(target, _protected_folders(current_app), force)
    except (ExportError, OSError) as exc:
        raise click.UsageError(str(exc)) from None
    try:
        count, left = export_to(current_app, real, replace)  # type: ignore[arg-type]
    except (ExportError, OSError) as exc:
        raise click.ClickException(f"export failed, {target} is as it was: {exc}") from None
    for path in left:
        click.echo(f"left in place (the old export did not write it): {path}", err=True)
    click.echo(f"wrote {count} files to {target}", err=True)


def _protected_folders(app: Flask) -> dict[str, Path]:
    """What an export must never be or contain, or (see exportdir) lie inside."""
    cfg = app.config
    return {
        "project root": ROOT,
        "current directory": Path.cwd(),
        "posts folder": cfg["BLOG_POSTS_DIR"],
        "public folder": cfg["BLOG_PUBLIC_DIR"],
        "templates folder": Path(app.root_path, app.template_folder or "templates"),
        "static folder": Path(app.root_path, app.static_folder or "static"),
        "image cache": cfg["BLOG_IMAGE_CACHE_DIR"],
        "removed-posts list": cfg["BLOG_GONE_FILE"],
    }


@click.command("images")
@with_appcontext
def images_command() -> None:
    """Make every image variant the pages link (stored in BLOG_IMAGE_CACHE_DIR), so no
    reader waits for one; exit 1 if any could not be made.

    Shows progress on stderr: a bar on a terminal, a line every tenth (or 10 s) otherwise."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    click.echo("reading the posts' pages for the images they link...", err=True)
    urls = linked_variants(app)
    failed = []
    with progress(len(urls), "image variants") as advance:
        for url, status in make_variants(app, urls):
            if status != 200:
                failed.append(f"{url}: {status}")
            advance()
    for line in failed:
        click.echo(line)
    made = len(urls) - len(failed)
    click.echo(f"{made} image variant(s) ready in {app.config['BLOG_IMAGE_CACHE_DIR']}", err=True)
    if failed:
        raise SystemExit(1)


@click.group("websub")
def websub_group() -> None:
    """WebSub: tell the hubs in BLOG_WEBSUB_HUBS about the feeds."""


@websub_group.command("publish")
@click.argument("feeds", nargs=-1)
@click.option("--retry-for", default=30.0, show_default=True, help="Seconds to retry a hub that is down.")
@with_appcontext
def websub_publish_command(feeds: tuple[str, ...], retry_for: float) -> None:
    """Ping every hub for FEEDS now (paths such as /feed.xml or /tags/python/atom.xml, or their
    public URLs; default: the site's three feeds); exit 1 if a hub did not take one."""
    app = current_app
    if not app.config["BLOG_WEBSUB_HUBS"]:
        raise click.UsageError("BLOG_WEBSUB_HUBS is empty: no hub to tell")
    try:
        urls = websub.feed_urls(app, list(feeds))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="FEED") from None
    taken = websub.publish_by_hand(app, urls, retry_for=min(max(retry_for, 0.0), 600.0))
    for (hub_url, url), ok in taken.items():
        click.echo(f"{'published' if ok else 'FAILED'} {url} to {hub_url}")
    if not all(taken.values()):
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Register the CLI commands."""
    for command in (check_command, new_command, export_command, images_command, websub_group):
        app.cli.add_command(command)
