"""The suite's own plan (tests/conftest.py): tiers, lanes and the longest-first order keep each
module's and each lane's tests together, so module-scoped servers are made once; and its time
bounds (tests/support.within)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import _plain_nodeid
from .support import Overran
from .support import within

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


def test_within_bounds_the_cpu_a_block_uses_and_the_time_it_hangs():
    """``within`` counts CPU seconds (a parallel run sharing the cores does not trip it), and a
    generous wall time (a block that waits forever still fails)."""
    started = time.monotonic()
    with within(0.2):
        time.sleep(0.4)  # longer than the CPU bound, but no work: fine
    with pytest.raises(Overran, match="CPU"), within(0.2):
        while True:  # work: stopped after 0.2 s of CPU
            pass
    with pytest.raises(Overran, match="took longer"), within(0.1, wall=0.3):
        time.sleep(5)  # hangs: stopped at the wall bound
    assert time.monotonic() - started < 3


def _same_code(a: object, b: object) -> bool:
    ca, cb = a.__code__, b.__code__  # type: ignore[attr-defined]
    return (ca.co_code, ca.co_consts, ca.co_varnames, ca.co_names, ca.co_name) == (
        cb.co_code,
        cb.co_consts,
        cb.co_varnames,
        cb.co_names,
        cb.co_name,
    )


def test_reused_url_builders_build_what_fresh_ones_do(app):
    """tests/conftest.py compiles each URL builder once a process: for every rule of the app,
    and for rules alike in text but not in parts, the builder a rule gets is the one a fresh
    compile makes; a rule whose default fills its own variable gets its own."""
    from werkzeug.routing import Map
    from werkzeug.routing import Rule

    fresh = Rule._compile_builder.original  # type: ignore[attr-defined]
    rules = list(app.url_map.iter_rules())
    plain, on_subdomain = Rule("/p/<x>", endpoint="p"), Rule("/p/<x>", endpoint="p", subdomain="s")
    Map([plain]), Map([on_subdomain], host_matching=False)
    filled = [Rule("/d/<int:n>", endpoint="d", defaults={"n": n}) for n in (1, 2)]
    for rule in filled:
        Map([rule])
    for rule in [*rules, plain, on_subdomain, *filled]:
        assert _same_code(rule._build.__func__, fresh(rule, False)), rule
        assert _same_code(rule._build_unknown.__func__, fresh(rule, True)), rule
    assert plain._build.__func__ is not on_subdomain._build.__func__  # same text, other parts
    assert filled[0].build({}) == ("", "/d/1") and filled[1].build({}) == ("", "/d/2")
    assert len(rules) > 20 and app.url_map.bind("blog.example.com").build("static", {"filename": "a b"}) == (
        "/static/a%20b"
    )


def test_asserts_are_rewritten_once_before_the_workers_start(pytestconfig, tmp_path, monkeypatch):
    """The controller writes the rewritten bytecode the workers then load (conftest's
    pytest_sessionstart): what it writes is what pytest itself would load, and it is written
    only when missing or stale."""
    from _pytest.assertion import rewrite

    from .conftest import rewrite_asserts_once

    monkeypatch.setattr(sys, "dont_write_bytecode", False)
    (tmp_path / "test_x.py").write_text("def check():\n    x = 1\n    assert x == 2\n")
    (tmp_path / "helper.py").write_text("y = 1\n")
    written = rewrite_asserts_once(pytestconfig, tmp_path)
    assert [p.name for p in written] == ["test_x" + rewrite.PYC_TAIL]
    assert rewrite_asserts_once(pytestconfig, tmp_path) == []  # fresh: not written again
    code = rewrite._read_pyc(tmp_path / "test_x.py", written[0])
    assert code is not None
    namespace: dict = {}
    exec(code, namespace)
    with pytest.raises(AssertionError, match=r"assert 1 == 2"):  # pytest's rewritten message
        namespace["check"]()
    (tmp_path / "test_x.py").write_text("def check():\n    assert 3 == 4\n")
    assert rewrite_asserts_once(pytestconfig, tmp_path) == written  # stale: written again
