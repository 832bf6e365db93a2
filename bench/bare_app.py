"""The ceiling Flask itself sets: one route answering fixed bytes, nothing else.

    BENCH_BODY_FILE=/tmp/post.html .venv/bin/gunicorn -c gunicorn.conf.py bench.bare_app:app

``/bare`` returns the bytes of the file named by ``BENCH_BODY_FILE`` (read once, at import):
``bench/throughput.py`` saves the blog's post page there, so both servers send the same body
through the same gunicorn settings and only the work behind it differs.
"""

from __future__ import annotations

import os

from flask import Flask
from flask import Response

with open(os.environ["BENCH_BODY_FILE"], "rb") as fh:
    BODY = fh.read()

app = Flask(__name__)


@app.route("/bare")
def bare() -> Response:
    return Response(BODY, content_type="text/html; charset=utf-8")


# Server.wait_booted (bench/server.py) learns from this file that a worker has imported the app
# (and is about to accept).
if os.environ.get("BENCH_READY_DIR"):
    with open(os.path.join(os.environ["BENCH_READY_DIR"], str(os.getpid())), "w"):
        pass
