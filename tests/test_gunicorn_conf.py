"""gunicorn.conf.py serves whatever app it is given: its hooks (the WebSub publisher's start in
post_worker_init) must not assume the blog. The benchmark runs its bare Flask route under the
same file; a KeyError there made every worker fail to boot."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

import pytest

from .servers import ROOT
from .servers import free_port

pytestmark = pytest.mark.system


def test_another_app_boots_under_the_shipped_gunicorn_conf(tmp_path):
    body = tmp_path / "body.html"
    body.write_text("<p>bare</p>")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLASK_")}
    env.update(BENCH_BODY_FILE=str(body), GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port} --workers 1")
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "bench.bare_app:app"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        answer = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/bare", timeout=5) as response:
                    answer = (response.status, response.read())
                    break
            except OSError:
                time.sleep(0.1)
        assert answer == (200, b"<p>bare</p>"), log.read_text()
        assert "Traceback" not in log.read_text()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
