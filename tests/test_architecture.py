"""The layers of blogapp/ are a checked contract (pyproject.toml's [tool.importlinter]):
web and cli -> search, images, pagecache -> content, public -> text -> posts -> files; posts,
text and files import no Flask; no view module imports another. .ci/run runs lint-imports
too; this runs it with the README's test command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_the_import_contracts_hold():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--no-cache"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_blogapp_is_organised_by_concern():
    """No folder of blogapp/ holds more than a dozen modules (it held 38 in one)."""
    for folder in [ROOT / "blogapp", *(p for p in (ROOT / "blogapp").rglob("*") if p.is_dir())]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 12, (folder, len(modules))
