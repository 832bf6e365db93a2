"""Progress of a long command on stderr: a bar on a terminal, a plain line now and then otherwise
(a log file or CI output gets lines it can keep, not carriage returns)."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable
from collections.abc import Iterator

import click

#: Without a terminal: a line at each tenth of the work, and at least every this many seconds.
LINE_EVERY = 10.0


def on_terminal() -> bool:
    """True when stderr is a terminal (the bar redraws itself in place there)."""
    return sys.stderr.isatty()


@contextlib.contextmanager
def progress(total: int, what: str) -> Iterator[Callable[[], None]]:
    """A function to call once per item done, ``total`` items of ``what`` in all."""
    if on_terminal():
        with click.progressbar(length=total, label=what, file=sys.stderr, show_pos=True, show_eta=True) as bar:
            yield lambda: bar.update(1)
        return
    done, step, last = 0, max(total // 10, 1), time.monotonic()

    def advance() -> None:
        nonlocal done, last
        done += 1
        now = time.monotonic()
        if done % step == 0 or done == total or now - last >= LINE_EVERY:
            last = now
            click.echo(f"{what}: {done}/{total} ({100 * done // total}%)", err=True)

    yield advance
