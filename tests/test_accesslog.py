"""The fast access logger writes exactly the lines gunicorn's own Logger writes."""

from __future__ import annotations

import datetime as dt
import gc
import runpy
from pathlib import Path
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from blogapp.web.accesslog import AccessLogger


def make(logger_class, path, **settings):
    cfg = Config()
    cfg.set("accesslog", str(path))
    for name, value in settings.items():
        cfg.set(name, value)
    return logger_class(cfg)


ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/posts/hello?x=1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "PATH_INFO": "/posts/hello",
    "QUERY_STRING": "x=1",
    "REMOTE_ADDR": "203.0.113.9",
    "HTTP_USER_AGENT": 'Mozilla/5.0 "quoted" agent',
    "HTTP_REFERER": "https://example.com/a?b=%20c",
}
CASES = [
    ({}, "200 OK", 77486),
    ({"HTTP_USER_AGENT": None, "HTTP_REFERER": None}, "304 Not Modified", 0),
    ({"REQUEST_METHOD": "HEAD", "RAW_URI": '/"odd"%s%d'}, "404 NOT FOUND", None),
    ({"REMOTE_ADDR": None}, "500 INTERNAL SERVER ERROR", 12),
    ({"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "200 OK", 5),  # user from basic auth: gunicorn's path
]


def lines(logger_class, path, **settings):
    log = make(logger_class, path, **settings)
    for extra, status, sent in CASES:
        environ = {k: v for k, v in {**ENVIRON, **extra}.items() if v is not None}
        resp = SimpleNamespace(status=status, sent=sent, headers=[("Content-Type", "text/html")])
        req = SimpleNamespace(headers=[("HOST", "blog.example")])
        log.access(resp, req, environ, dt.timedelta(microseconds=1234))
    for handler in list(log.access_log.handlers):  # gunicorn's loggers are global: tidy up
        handler.close()
        log.access_log.removeHandler(handler)
    return path.read_text().splitlines()


def without_time(line):
    """Timestamps may differ by a second if the clock ticks between the two runs."""
    return line.split("[", 1)[0] + line.split("]", 1)[-1] if "[" in line else line


@pytest.mark.parametrize("settings", [{}, {"access_log_format": '%(h)s "%(r)s" %(s)s %(D)s'}])
def test_same_lines_as_gunicorn(tmp_path, settings, monkeypatch):
    theirs = lines(Logger, tmp_path / "theirs.log", **settings)
    atoms = []
    monkeypatch.setattr(Logger, "atoms", _counting(Logger.atoms, atoms))
    ours = lines(AccessLogger, tmp_path / "ours.log", **settings)
    assert len(ours) == len(CASES)
    assert [without_time(line) for line in ours] == [without_time(line) for line in theirs]
    if not settings:  # the default format takes the fast path (but basic auth does not)
        assert len(atoms) == 1
        assert ours[0].startswith("203.0.113.9 - - [") and '"GET /posts/hello?x=1 HTTP/1.1" 200 77486' in ours[0]
    else:
        assert len(atoms) == len(CASES)


def _counting(atoms, calls):
    def counted(self, *args):
        calls.append(args)
        return atoms(self, *args)

    return counted


def test_disabled_access_log_writes_nothing(tmp_path, capsys):
    log = AccessLogger(Config())  # no accesslog setting: gunicorn logs no requests
    log.access(
        SimpleNamespace(status="200 OK", sent=1, headers=[]), SimpleNamespace(headers=[]), ENVIRON, dt.timedelta()
    )
    assert capsys.readouterr().out == ""


def gunicorn_conf() -> dict:
    """The settings gunicorn.conf.py defines, as gunicorn reads them."""
    return runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))


def test_gunicorn_conf_uses_it():
    assert gunicorn_conf()["logger_class"] is AccessLogger


def test_gunicorn_conf_freezes_the_masters_objects_before_forking():
    try:
        gunicorn_conf()["pre_fork"](None, None)
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
