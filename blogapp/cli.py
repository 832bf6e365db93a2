"""Command-line tools: ``flask --app blogapp check``."""

from __future__ import annotations

import click
from flask import Flask
from flask import current_app
from flask.cli import with_appcontext

from . import content


@click.command("check")
@with_appcontext
def check_command() -> None:
    """Read every post; print one 'path: reason' line per problem; exit 1 if any."""
    errors = content.invalid_posts()
    for error in errors:
        click.echo(str(error))
    posts = content.get_posts()
    total = len(current_app.extensions["blog_content"].snapshot().posts)
    click.echo(
        f"{total} valid post(s), {len(posts)} visible now, {len(errors)} invalid",
        err=True,
    )
    if errors:
        raise SystemExit(1)


def init_app(app: Flask) -> None:
    """Register the CLI commands."""
    app.cli.add_command(check_command)
