"""Does the access logger (blogapp/web/accesslog.py) earn its place under gevent? (issue 21)

    .venv/bin/python -m bench.accesslog_cost [--calls 50000] [--rounds 5]

Times ``access()`` of gunicorn's own Logger and of ours, writing the same line for a cached
page (the request gunicorn answers most) to a file, with the standard library patched by
gevent first, as gunicorn.conf.py patches it for the gevent workers (so the handler's lock is
gevent's). Rounds interleaved; prints the median microseconds a call and the ratio.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import datetime as dt  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

from gunicorn.config import Config  # noqa: E402
from gunicorn.glogging import Logger  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from blogapp.web.accesslog import AccessLogger  # noqa: E402

ENVIRON = {
    "REQUEST_METHOD": "GET",
    "RAW_URI": "/posts/production-rag-with-postgres-and-pgvector",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "PATH_INFO": "/posts/production-rag-with-postgres-and-pgvector",
    "QUERY_STRING": "",
    "REMOTE_ADDR": "203.0.113.9",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0",
    "HTTP_REFERER": "https://blog.example.com/",
    "HTTP_ACCEPT_ENCODING": "gzip, deflate, br",
    "HTTP_HOST": "blog.example.com",
}
RESPONSE_HEADERS = [
    ("Content-Type", "text/html; charset=utf-8"),
    ("ETag", '"6d841e3a5e3294570e52340e-br"'),
    ("Vary", "Accept-Encoding"),
    ("Content-Encoding", "br"),
    ("Cache-Control", "public, max-age=60, stale-while-revalidate=600"),
    ("X-Cache", "LOCAL"),
    ("Content-Security-Policy", "default-src 'self'"),
    ("X-Content-Type-Options", "nosniff"),
]


def per_call(logger_class: type, path: Path, calls: int) -> float:
    cfg = Config()
    cfg.set("accesslog", str(path))
    log = logger_class(cfg)
    resp = SimpleNamespace(status="200 OK", sent=7421, headers=RESPONSE_HEADERS)
    req = SimpleNamespace(headers=[("HOST", "blog.example.com"), ("ACCEPT-ENCODING", "gzip, deflate, br")])
    took = dt.timedelta(microseconds=900)
    started = time.perf_counter()
    for _ in range(calls):
        log.access(resp, req, ENVIRON, took)
    elapsed = time.perf_counter() - started
    for handler in list(log.access_log.handlers):  # gunicorn's loggers are global
        handler.close()
        log.access_log.removeHandler(handler)
    return elapsed / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    theirs, ours = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            theirs.append(per_call(Logger, Path(tmp) / f"theirs{i}.log", args.calls))
            ours.append(per_call(AccessLogger, Path(tmp) / f"ours{i}.log", args.calls))
    t, o = statistics.median(theirs), statistics.median(ours)
    print(f"gevent-patched, {args.calls} calls x {args.rounds} rounds (medians):")
    print(f"  gunicorn's Logger.access {t:.2f} us a call; ours {o:.2f} us ({o / t:.2f}x, {t - o:.2f} us saved)")


if __name__ == "__main__":
    main()
