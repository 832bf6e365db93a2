"""Command-line tools for the author: ``check``, ``new`` and ``export``."""

from __future__ import annotations

import datetime as dt
import json
import re
import shutil
import unicodedata
from pathlib import Path
from zoneinfo import ZoneInfo

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from . import content
from .exporter import export_site
from .lint import lint_posts
from .pregen import make_all_variants


@click.command("check")
@click.option("--strict", is_flag=True, help="Also report warnings (missing files, broken links, ...).")
@with_appcontext
def check_command(strict: bool) -> None:
    """Read every post; print one 'path: reason' line per problem; exit 1 if any."""
    errors = content.invalid_posts()
    for error in errors:
        click.echo(str(error))
    warnings = lint_posts() if strict else []
    for warning in warnings:
        click.echo(str(warning))
    total = len(content.get_store().snapshot().posts)
    visible = len(content.get_posts())
    summary = f"{total} valid post(s), {visible} visible now, {len(errors)} invalid"
    click.echo(summary + (f", {len(warnings)} warning(s)" if strict else ""), err=True)
    if errors or warnings:
        raise SystemExit(1)


def slugify(title: str) -> str:
    """'Café & Crème: 2024!' -> 'cafe-creme-2024' (ASCII, lower case, dashes)."""
    ascii_text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-") or "post"


@click.command("new")
@click.argument("title")
@click.option("--publish", is_flag=True, help="Leave out 'draft: true' (the post goes live at once).")
@with_appcontext
def new_command(title: str, publish: bool) -> None:
    """Write a new post file for TITLE and print its path."""
    title = " ".join(title.split())
    if not title:
        raise click.UsageError("the title is empty")
    folder: Path = current_app.config["BLOG_POSTS_DIR"]
    slug = slugify(title)
    path, n = folder / f"{slug}.md", 1
    while path.exists():
        n += 1
        path = folder / f"{slug}-{n}.md"
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
    path.write_text("\n".join(lines), encoding="utf-8")
    click.echo(str(path))


@click.command("export")
@click.argument("target", type=click.Path(file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Empty TARGET first if it exists.")
@with_appcontext
def export_command(target: Path, force: bool) -> None:
    """Write the whole site as static files into TARGET (needs BLOG_SITE_URL)."""
    if not current_app.config["BLOG_SITE_URL"]:
        raise click.UsageError(
            "set BLOG_SITE_URL (FLASK_BLOG_SITE_URL=https://...): static files cannot ask for a host"
        )
    if target.exists() and any(target.iterdir()):
        if not force:
            raise click.UsageError(f"{target} is not empty (use --force to replace it)")
        shutil.rmtree(target)
    written = export_site(current_app, target)
    click.echo(f"wrote {len(written)} files to {target}", err=True)


@click.command("images")
@with_appcontext
def images_command() -> None:
    """Make every image variant the pages link (stored in BLOG_IMAGE_CACHE_DIR), so no
    reader waits for one; exit 1 if any could not be made."""
    made, failed = make_all_variants(current_app)  # type: ignore[arg-type]
    for line in failed:
        click.echo(line)
    click.echo(f"{made} image variant(s) ready in {current_app.config['BLOG_IMAGE_CACHE_DIR']}", err=True)
    if failed:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Register the CLI commands."""
    for command in (check_command, new_command, export_command, images_command):
        app.cli.add_command(command)
