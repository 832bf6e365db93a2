"""scripts/fresh_machine.py reads the README's commands as written (the check itself, which
installs from PyPI into a fresh venv, runs in .ci/run before the tests)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
_spec = importlib.util.spec_from_file_location("fresh_machine", ROOT / "scripts" / "fresh_machine.py")
fresh_machine = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fresh_machine)


def test_the_readme_quick_start_is_what_the_check_runs():
    serve, preview = fresh_machine.readme_commands((ROOT / "README.md").read_text())
    assert serve.startswith("python3 -m venv .venv && ")
    assert "pip install -r requirements.txt" in serve and "requirements-dev" not in serve
    assert serve.endswith(".venv/bin/gunicorn wsgi:app")
    assert preview.endswith(".venv/bin/flask --app blogapp run --debug")


@pytest.mark.parametrize(
    "readme",
    [
        "# Blog\n",
        "## Quick start\n\nNo commands.\n",
        "## Quick start\n\n```sh\n# 1. serve\nflask run\n```\n",
        "## Quick start\n\n```sh\n.venv/bin/gunicorn wsgi:app\n```\n",
    ],
)
def test_a_readme_without_the_commands_fails_the_check(readme):
    with pytest.raises(fresh_machine.Failed):
        fresh_machine.readme_commands(readme)


def test_the_copy_is_a_fresh_clone(tmp_path):
    fresh_machine.copy_project(tmp_path)
    assert (tmp_path / "requirements.txt").read_text() == (ROOT / "requirements.txt").read_text()
    assert (tmp_path / "wsgi.py").is_file() and (tmp_path / "content" / "posts").is_dir()
    assert not (tmp_path / ".venv").exists() and not (tmp_path / ".git").exists()


def test_runtime_requirements_name_what_gunicorns_gevent_worker_imports():
    """gunicorn declares no dependencies, yet its gevent worker imports packaging (issue 19)."""
    names = {
        line.split("==")[0].strip().lower()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert {"gunicorn", "gevent", "packaging"} <= names
