"""Where ``flask export`` may write, and the marker that makes a folder an export's own.

An export is refused in (or around) a folder the blog reads or the author works in, and it
replaces an existing folder only when that folder is empty or is an earlier export: one with
a MARKER file (written last) that lists every file the export wrote, and nothing else in it.
Replacing one deletes only the files its marker lists, so a file the author added to an old
export is never lost: such a folder is refused instead.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from collections.abc import Mapping
from pathlib import Path

from ..posts.fields import segment_problem

#: The marker's name (a hidden file: no URL of the site can be written over it).
MARKER = ".blogapp-export"
_SIGNATURE = "# Written by `flask --app blogapp export`; `export --force` may replace this folder."
#: Folders an export may never be in (besides being or containing them).
_NEVER_INSIDE = ("posts folder", "public folder", "templates folder", "static folder", "image cache")


class ExportError(ValueError):
    """An export that is refused or failed; the target folder is left as it was."""


def check_target(target: Path, protected: Mapping[str, Path], force: bool) -> tuple[Path, bool]:
    """``(the real path to export to, whether an earlier export there is to be replaced)``.

    ``protected`` names the folders an export must not be, contain, or (for those in
    _NEVER_INSIDE) lie inside: posts, public, templates, static, the project root, the
    current directory. Symlinks are followed on both sides.

    :raise ExportError: saying why, when the target is refused.
    """
    real = os.path.realpath(target)
    for name, folder in protected.items():
        folder_real = os.path.realpath(folder)
        if _within(folder_real, real):
            raise ExportError(f"{target} is or contains the {name} ({folder_real}); choose another folder")
        if name in _NEVER_INSIDE and _within(real, folder_real):
            raise ExportError(f"{target} is inside the {name} ({folder_real}); choose another folder")
    if not os.path.lexists(real):
        return Path(real), False
    if not os.path.isdir(real):
        raise ExportError(f"{target} is not a folder")
    if not os.listdir(real):
        return Path(real), False
    listed = read_marker(Path(real))
    if listed is None:
        raise ExportError(
            f"{target} is not empty and is not an export made by this blog (it has no {MARKER} "
            "file), so nothing in it is replaced: choose a new or empty folder"
        )
    if not force:
        raise ExportError(f"{target} holds an earlier export: add --force to replace it")
    strangers = sorted(set(_files(Path(real))) - set(listed) - {MARKER})
    if strangers:
        shown = ", ".join(strangers[:5]) + (", ..." if len(strangers) > 5 else "")
        raise ExportError(
            f"{target} holds files the export did not write ({shown}); move them out first, nothing was changed"
        )
    return Path(real), True


def write_marker(folder: Path, written: Iterable[Path]) -> None:
    """Mark ``folder`` as an export, listing the files written in it (relative paths)."""
    names = sorted({path.relative_to(folder).as_posix() for path in written})
    text = "\n".join([_SIGNATURE, *names, ""])
    (folder / MARKER).write_text(text, encoding="utf-8", errors="surrogateescape")


def read_marker(folder: Path) -> list[str] | None:
    """The files an export in ``folder`` wrote, or None when ``folder`` is not an export (no
    marker, a marker that is not a regular file, or one without the signature)."""
    try:
        fd = os.open(folder / MARKER, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with open(fd, encoding="utf-8", errors="surrogateescape") as fh:
        lines = fh.read().splitlines()
    if not lines or lines[0] != _SIGNATURE:
        return None
    return [name for name in lines[1:] if _is_plain(name)]


def remove_export(folder: Path) -> list[str]:
    """Delete an earlier export: the files its marker lists, the marker, then the folders
    left empty. Return what is left (files it did not list, which stay where they are)."""
    for name in read_marker(folder) or []:
        path = folder / name
        if os.path.realpath(path.parent) == os.path.join(os.path.realpath(folder), *name.split("/")[:-1]):
            path.unlink(missing_ok=True)  # its folders are real folders in the export, no links
    (folder / MARKER).unlink(missing_ok=True)
    for dirpath, _dirs, _names in os.walk(folder, topdown=False):
        with contextlib.suppress(OSError):  # not empty: something the export did not write
            os.rmdir(dirpath)
    return list(_files(folder)) if folder.exists() else []


def _files(folder: Path) -> Iterable[str]:
    """Every file under ``folder`` (relative POSIX paths); links count as files, never followed."""
    for dirpath, dirs, files in os.walk(folder):
        base = Path(dirpath).relative_to(folder)
        for name in files + [d for d in dirs if os.path.islink(os.path.join(dirpath, d))]:
            yield (base / name).as_posix()


def _is_plain(name: str) -> bool:
    return bool(name) and all(not segment_problem(s) for s in name.split("/"))


def _within(path: str, folder: str) -> bool:
    """True when the real path ``path`` is ``folder`` or inside it (``/`` included)."""
    return os.path.commonpath([path, folder]) == folder
