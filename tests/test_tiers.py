"""The suite's own plan (tests/conftest.py): tiers, lanes and the longest-first order keep each
module's and each lane's tests together, so module-scoped servers are made once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from .conftest import _plain_nodeid

ROOT = Path(__file__).parent.parent


def test_a_parallel_runs_test_name_loses_only_its_lane():
    assert _plain_nodeid("tests/a.py::t@system") == "tests/a.py::t"
    assert _plain_nodeid("tests/a.py::t[x@y]@system-timed") == "tests/a.py::t[x@y]"
    assert _plain_nodeid("tests/a.py::t[x@y]") == "tests/a.py::t[x@y]"
    assert _plain_nodeid("tests/a.py::t") == "tests/a.py::t"


#: Modules whose tests take from milliseconds to seconds each (and a module-scoped fixture):
#: sorted test by test, they would interleave.
MODULES = ["tests/test_cli.py", "tests/test_feeds.py", "tests/test_hostile_cache.py", "tests/test_images.py"]


def test_the_order_keeps_each_modules_tests_together():
    """Whatever the durations kept from earlier runs, a module's unit and app tests come in one
    block (interleaved, a module-scoped fixture would be made again); a lane's tests are one
    xdist group, which one worker runs in their order."""
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", "-m", "not system", *MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    ids = [line for line in out.splitlines() if "::" in line]
    assert len(ids) > 200 and {i.partition("::")[0] for i in ids} == set(MODULES)
    seen: list[str] = []
    for module in (i.partition("::")[0] for i in ids):
        if not seen or seen[-1] != module:
            assert module not in seen, f"{module} comes in two places"
            seen.append(module)
