"""Shared fixtures: an app over a temporary copy of tests/data, its clients and helpers; and
each test's tier (unit, app or system: see tests/README.md)."""

from __future__ import annotations

import contextlib
import functools
import inspect
import json
import os
import shutil
import sys
import time
import types
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path

import pytest
from _pytest.nodeid import coerce_node_id
from flask import Flask
from flask import template_rendered
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner

from blogapp import create_app

DATA = Path(__file__).parent / "data"
SITE_URL = "https://blog.example.com"
#: Slugs of fixture files that must never be listed: drafts, future, invalid and ignored files.
HIDDEN_SLUGS = (
    "draft",
    "preview",
    "future",
    "date-not-a-date",
    "no-title",
    "empty",
    "not-utf8",
    "front-matter-is-a-list",
    "excerpt-with-unescaped-quotes",
    "inside",
    "backup",
    "notes",
)


#: A test is in the system tier if its code, a fixture it uses or a function of its module that
#: it calls (directly or through another) uses one of these names: they start a server
#: (tests/servers.py) or Playwright's browser.
SYSTEM_NAMES = frozenset(
    {"Server", "Redis", "Nginx", "nginx_stack", "start_nginx_stack", "Load", "sync_playwright", "launch_chromium"}
)
#: A test that uses one of these fixtures (or calls create_app) is in the app tier, else unit.
APP_FIXTURES = {"app", "client", "runner", "config"}
TIERS = ("unit", "app", "system")


@functools.cache
def _names(func: object) -> frozenset[str]:
    """The global and attribute names ``func``'s code uses, its nested functions', lambdas'
    and comprehensions' included: read from the compiled code, as every worker collects all
    tests (reading each test's source took ~0.5 s of each worker's collection)."""
    code = getattr(inspect.unwrap(func), "__code__", None)  # type: ignore[arg-type]
    names: set[str] = set()
    stack = [code] if isinstance(code, types.CodeType) else []
    while stack:
        code = stack.pop()
        names.update(code.co_names)
        stack.extend(const for const in code.co_consts if isinstance(const, types.CodeType))
    return frozenset(names)


@functools.cache
def _starters(module: object) -> frozenset[str]:
    """Names of ``module``'s functions that start a server, directly or through one another."""
    uses = {
        name: _names(func)
        for name, func in vars(module).items()
        if inspect.isfunction(func) and func.__module__ == module.__name__
    }
    found: set[str] = set()
    while True:
        more = {name for name, names in uses.items() if name not in found and names & (SYSTEM_NAMES | found)}
        if not more:
            return frozenset(found)
        found |= more


@functools.cache
def _ours(func: object) -> bool:
    """Is ``func`` defined under tests/ (not a fixture of pytest or a plugin)?"""
    code = getattr(inspect.unwrap(func), "__code__", None)  # type: ignore[arg-type]
    return code is not None and code.co_filename.startswith(str(Path(__file__).parent))


def _starts_a_server(item: pytest.Function) -> bool:
    funcs = [item.function]
    for name in item.fixturenames:
        defs = item._fixtureinfo.name2fixturedefs.get(name)
        if defs and _ours(defs[-1].func):
            funcs.append(defs[-1].func)
    starters = SYSTEM_NAMES | _starters(item.module)
    return any(_names(func) & starters for func in funcs)


def tier_of(item: pytest.Item) -> str:
    """unit, app or system: a tier mark on the test (or its module) wins; else system if it
    starts a server, app if it uses the app fixtures or calls create_app, else unit."""
    for tier in TIERS:
        if item.get_closest_marker(tier):
            return tier
    if not isinstance(item, pytest.Function):
        return "unit"
    if _starts_a_server(item):
        return "system"
    if APP_FIXTURES & set(item.fixturenames) or "create_app" in _names(item.function):
        return "app"
    return "unit"


#: The other system tests wait on their servers more than they compute: four lanes beside the
#: timed one, of about the same time, modules assigned longest first by what a whole run on 2
#: cores measured (2026-12-06: ~75-105 s each); a module not named here goes to lane "system".
#: Rebalance when a lane grows (tests/README.md says how).
LANE_MODULES = {
    "system-a": {"test_last_modified", "test_code_blocks", "test_preview", "test_authors"},
    "system-b": {
        "test_hostile_server",
        "test_browser",
        "test_listings",
        "test_avatar_contrast",
        "test_series_browser",
        "test_hostile_content",
    },
    "system-c": {"test_websub_system", "test_nginx", "test_gunicorn", "test_trailing_slash"},
}


def lane_of(item: pytest.Item) -> str:
    """The xdist group of a system test. Tests marked ``timed`` hold time bounds (2 s freshness
    under load, revalidations a second, a page answered within 0.5 s while a hub hangs): they
    run in one lane, one at a time, so no two of them measure each other."""
    if item.get_closest_marker("timed"):
        return "system-timed"
    module = item.module.__name__.rpartition(".")[2]
    return next((lane for lane, modules in LANE_MODULES.items() if module in modules), "system")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto``: a worker for each of the five system lanes and one for the unit and app
    tests beside them, at least (the lanes mostly wait on their servers); one a core on a
    larger machine."""
    return max(6, os.cpu_count() or 1)


def pytest_sessionstart(session: pytest.Session) -> None:
    """Before the workers start (pytest-xdist starts them last): rewrite the test modules'
    asserts once, into pytest's bytecode cache. In a fresh clone (CI, a newcomer's first run)
    every worker would otherwise rewrite all of them at the same time: ~1.8 s of CPU each, six
    times over; here ~1.7 s once (the fast loop from a fresh clone: 60 -> 52 s)."""
    config = session.config
    if not hasattr(config, "workerinput") and getattr(config.option, "numprocesses", None):
        rewrite_asserts_once(config, Path(__file__).parent)


def rewrite_asserts_once(config: pytest.Config, folder: Path) -> list[Path]:
    """Write pytest's rewritten bytecode for each ``test_*.py`` of ``folder`` that has none
    (or a stale one); the files written. Only a run's speed depends on it: when pytest's
    internals differ or the folder is read-only, nothing is written and the workers rewrite."""
    written: list[Path] = []
    if sys.dont_write_bytecode:
        return written
    with contextlib.suppress(Exception):
        from _pytest.assertion import rewrite

        state = config.stash[rewrite.assertstate_key]
        for path in sorted(folder.glob("test_*.py")):
            cache = rewrite.get_cache_dir(path)
            pyc = cache / (path.name[:-3] + rewrite.PYC_TAIL)
            if rewrite._read_pyc(path, pyc, state.trace) is None and rewrite.try_makedirs(cache):
                source_hash, code = rewrite._rewrite_test(path, config)
                rewrite._write_pyc(state, code, source_hash, pyc)
                written.append(pyc)
    return written


#: How much less CPU a parallel worker asks for (``os.nice``) once it runs anything but the lanes
#: of ``FULL_SHARE_LANES``: the timed tests and the servers they start (children keep the parent's
#: niceness) then wake first on a busy machine, instead of oversleeping a bound because six
#: workers share two cores. A lane is the first work its worker gets (the lanes come first), so
#: that worker keeps the usual share until its lane is done.
UNTIMED_NICENESS = 10
#: The timed lane, and system-c: its WebSub tests hold a loose bound (5 s from a saved file to
#: the subscriber's callback; ~1-2 s on a quiet machine) that the timed lane could not also hold
#: without growing by ~50 s. At nice 10, while the load tests kept both cores busy, one missed
#: it in a whole run; the lane uses ~16 s of CPU in ~100 s, so the timed tests hardly notice it.
FULL_SHARE_LANES = {"system-timed", "system-c"}
_niced = False


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _niced
    group = item.get_closest_marker("xdist_group")
    lane = group.args[0] if group and group.args else None
    if not _niced and lane not in FULL_SHARE_LANES and hasattr(item.config, "workerinput"):
        os.nice(UNTIMED_NICENESS)
        _niced = True


#: Where the last runs' test durations are kept (pytest's cache folder, .pytest_cache).
DURATIONS_KEY = "blogapp/durations"
#: Each module's unit and app tests' seconds as measured when tests/durations.json was last
#: written (``python -m tests.durations``): the order of a run with no durations kept.
_SHIPPED_DURATIONS: dict[str, float] = json.loads((Path(__file__).with_name("durations.json")).read_text())


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test with its tier, and each system test with its lane (an xdist group: with
    ``--dist loadgroup`` one worker runs a group's tests one after another, while the other
    workers run the unit and app tests). Then the longest work first, by the durations the
    last runs took (``DURATIONS_KEY``): the lanes, then the modules, each by its tests' sum, so
    no long module is started when the others are nearly done. A lane's or a module's tests
    keep their order (module-scoped fixtures are made once), and every worker reads the same
    file, so they all collect the same order, as pytest-xdist requires."""
    grouping = getattr(config.option, "loadgroup", False)  # True in an xdist worker with --dist loadgroup
    cache = getattr(config, "cache", None)
    durations: dict[str, float] = (cache.get(DURATIONS_KEY, {}) if cache is not None else {}) or {}
    weight: dict[str, float] = {}
    lanes: dict[str, str] = {}
    for item in items:
        tier = tier_of(item)
        item.add_marker(tier)
        weight[item.nodeid] = durations.get(item.nodeid, 0.0)
        if tier == "system":
            lane = lanes[item.nodeid] = lane_of(item)
            item.add_marker(pytest.mark.xdist_group(lane))
    # A lane's or a module's tests as one block: its name, and the sum of its tests' durations
    # (for a module with none kept, tests/durations.json's figure: a fresh clone has no cache).
    block = {item.nodeid: lanes.get(item.nodeid) or item.nodeid.partition("::")[0] for item in items}
    total: dict[str, float] = {}
    for nodeid, name in block.items():
        total[name] = total.get(name, 0.0) + weight[nodeid]
    for name, seconds in total.items():
        if not seconds:
            total[name] = _SHIPPED_DURATIONS.get(name, 0.0)
    # The lanes first (they are the longest), then the modules; stable: each block keeps its order.
    items.sort(key=lambda item: (item.nodeid not in lanes, -total[block[item.nodeid]]))
    if grouping:
        for item in items:
            lane = lanes.get(item.nodeid)
            if lane and "@" not in item.nodeid.rpartition("]")[2]:
                # pytest-xdist 3.8 groups a test by renaming it "nodeid@group" through
                # item._nodeid, which pytest 9 no longer reads (it reads item._id): without
                # this the system tests would be spread over the workers like any other.
                item._id = coerce_node_id(f"{item.nodeid}@{lane}")


def _plain_nodeid(nodeid: str) -> str:
    """``nodeid`` without the ``@lane`` a parallel run's report adds."""
    head, sep, params = nodeid.rpartition("]")
    tail = params if sep else nodeid
    name, _, _ = tail.partition("@")
    return head + sep + name if sep else name


_RUN_DURATIONS: dict[str, float] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Each test's setup, call and teardown time (in the main process, from every worker)."""
    nodeid = _plain_nodeid(report.nodeid)
    _RUN_DURATIONS[nodeid] = _RUN_DURATIONS.get(nodeid, 0.0) + report.duration


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Keep this run's durations for the next run's order (in the main process only)."""
    cache = getattr(session.config, "cache", None)
    if cache is None or hasattr(session.config, "workerinput") or not _RUN_DURATIONS:
        return
    kept = cache.get(DURATIONS_KEY, {}) or {}
    kept.update({nodeid: round(seconds, 3) for nodeid, seconds in _RUN_DURATIONS.items()})
    cache.set(DURATIONS_KEY, kept)


def _reuse_url_builders() -> None:
    """Each app werkzeug binds compiles two URL-builder functions per rule from a generated
    syntax tree (``Rule._compile_builder``): ~8 of create_app's ~10 ms, and the tests make
    ~1,000 apps. The function depends only on the rule's parsed parts, its defaults' names and
    ``append_unknown`` (it takes the rule as its first argument), so one compiled function
    serves every app with the same rule: a test process compiles each once. A rule whose
    default fills one of its own variables (the builder then holds that value converted by the
    rule's converter) is compiled as usual. Production compiles each rule once per process
    anyway; ``test_reused_url_builders_build_what_fresh_ones_do`` checks the two agree."""
    from werkzeug.routing import Rule

    compile_builder = Rule._compile_builder
    if getattr(compile_builder, "reused", False):
        return
    compiled: dict[tuple, Callable[..., tuple[str, str]]] = {}

    def reused(self: Rule, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        defaults = self.defaults or {}
        if any(dynamic and name in defaults for dynamic, name in self._trace):
            return compile_builder(self, append_unknown)
        key = (self.rule, tuple(self._trace), tuple(defaults), append_unknown)
        builder = compiled.get(key)
        if builder is None:
            builder = compiled[key] = compile_builder(self, append_unknown)
        return builder

    reused.reused = True  # type: ignore[attr-defined]
    reused.original = compile_builder  # type: ignore[attr-defined]
    Rule._compile_builder = reused  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    """In the test processes only (not in what imports this module, such as bench/websub.py)."""
    _reuse_url_builders()


@pytest.fixture(autouse=True)
def stores_stop_watching(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The apps a test makes stop watching their folders when it ends (ContentStore.close):
    inotify instances are limited per user (often 128), a dropped app keeps its two until
    Python's cyclic garbage collector runs, and five workers beside four lanes of servers ran
    out, so that tests needing a working watch failed now and then."""
    from blogapp.posts.store import ContentStore

    made: list[ContentStore] = []
    real_init = ContentStore.__init__

    def init(self: ContentStore, *args: object, **kwargs: object) -> None:
        real_init(self, *args, **kwargs)
        made.append(self)

    monkeypatch.setattr(ContentStore, "__init__", init)
    yield
    for store in made:
        store.close()


@pytest.fixture(autouse=True)
def builds_served_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process apps date their build two seconds back. A build's first second has no
    Last-Modified yet and sends provisional ETags (blogapp/pagecache/lastmodified.py), so a
    test that compares tags across requests would depend on which second it ran in; the
    rounding itself is tested in tests/test_last_modified.py (by content changes, which
    this leaves alone) and on real servers, which wait it out (tests/servers.py)."""
    from blogapp.pagecache import middleware

    real = middleware.first_served
    monkeypatch.setattr(middleware, "first_served", lambda *args, **kwargs: real(*args, **kwargs) - 2)


@pytest.fixture
def posts_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/data/posts."""
    target = tmp_path / "posts"
    shutil.copytree(DATA / "posts", target, symlinks=True)
    return target


@pytest.fixture
def public_dir(tmp_path: Path) -> Path:
    """A writable copy of tests/data/public."""
    target = tmp_path / "public"
    shutil.copytree(DATA / "public", target)
    return target


@pytest.fixture
def config(posts_dir: Path, public_dir: Path) -> dict:
    """The test configuration; tests may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "BLOG_POSTS_DIR": str(posts_dir),
        "BLOG_PUBLIC_DIR": str(public_dir),
        "BLOG_IMAGE_CACHE_DIR": str(public_dir.parent / "image-cache"),
        "BLOG_STATE_DIR": str(public_dir.parent / "state"),
        "BLOG_SITE_URL": "",
        "BLOG_RELOAD_INTERVAL": 0,
        "CACHE_TYPE": "SimpleCache",
    }


@pytest.fixture
def app(config: dict) -> Flask:
    return create_app(config)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_site_app(config: dict) -> Callable[..., Flask]:
    """A factory of apps over ``config`` (as it is when called) with BLOG_SITE_URL set to
    SITE_URL, and any other settings given: feeds, the sitemap and share links need absolute
    URLs. Call it twice for a restart over the same files."""

    def make(**settings: object) -> Flask:
        return create_app({**config, "BLOG_SITE_URL": SITE_URL, **settings})

    return make


@pytest.fixture
def site_app(make_site_app: Callable[..., Flask]) -> Flask:
    return make_site_app()


@pytest.fixture
def site_client(site_app: Flask) -> FlaskClient:
    return site_app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def write_post(posts_dir: Path) -> Callable[..., Path]:
    """Write (or overwrite) a post file and make sure its mtime moves, as an editor would."""

    def write(name: str, text: str | bytes) -> Path:
        path = posts_dir / name
        existed = path.exists()
        old = path.stat().st_mtime_ns if existed else 0
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        if existed and path.stat().st_mtime_ns == old:
            os.utime(path, ns=(time.time_ns(), old + 1_000_000))
        return path

    return write


@contextlib.contextmanager
def count_renders(app: Flask) -> Iterator[list[str]]:
    """Record the name of every template ``app`` renders inside the block."""
    rendered: list[str] = []

    def record(sender, template, context, **extra):
        rendered.append(template.name)

    template_rendered.connect(record, app)
    try:
        yield rendered
    finally:
        template_rendered.disconnect(record, app)


def post_text(title: str, date: str = "2024-05-01T10:00:00Z", body: str = "Body.", **fields: str) -> str:
    """Front matter + body for a quick post."""
    extra = "".join(f"{key}: {value}\n" for key, value in fields.items())
    return f'---\ntitle: "{title}"\ndate: "{date}"\n{extra}---\n{body}\n'
