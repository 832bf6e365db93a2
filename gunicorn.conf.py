"""gunicorn settings, read by ``gunicorn wsgi:app`` from the repository root.

Every value can still be overridden on the command line (``--bind``, ``--workers`` ...). Keep
the worker class: this file makes the standard library cooperative for gevent (below).
"""

if __name__ == "__config__":  # read by gunicorn itself, not imported by a test or the benchmark
    # gevent workers need the standard library's sockets, locks and threads made cooperative
    # before the app is loaded (preload_app, in this master): a lock made earlier would be a
    # real one, and a greenlet waiting on it would stop every other greenlet of its worker.
    from gevent import monkey

    monkey.patch_all()

import gc
import multiprocessing
import os

import gevent

from blogapp.web.accesslog import AccessLogger

#: Listen on all interfaces at $PORT (8000 by default), as container platforms expect.
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
#: One process per core plus one by default; WEB_CONCURRENCY overrides (Heroku convention).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
#: gevent: each connection is a greenlet, so slow or idle clients (a request trickled in a
#: byte at a time, a reader that never reads) hold only their own greenlet, never a thread
#: or a process, and every other request is still answered at once. Up to worker_connections
#: clients per worker; the head of each request must arrive within ``keepalive`` seconds.
worker_class = "gevent"
worker_connections = int(os.environ.get("GUNICORN_WORKER_CONNECTIONS", "1000"))
#: Access log to stdout, errors to stderr, for the process manager to collect.
accesslog = "-"
errorlog = "-"
#: Same lines as gunicorn's own access log, formatting only the fields the default format
#: prints instead of every header and environ key (blogapp/web/accesslog.py).
logger_class = AccessLogger
#: The master builds the app and reads every post once (wsgi.py), on all cores, then forks
#: the workers, which start with the posts already parsed (and share that memory until they
#: write to it). Without this, every worker would parse every post on its first request.
#: A code change needs a restart (SIGHUP re-forks workers from the preloaded app); content
#: changes never do.
preload_app = True
#: Seconds a worker may be busy on one request (its heartbeat greenlet then cannot run)
#: before the master replaces it.
timeout = 30
graceful_timeout = 20
#: Seconds a client has to send a whole request head (the first on a connection included)
#: and to start its next one on a kept-alive connection; then the connection is closed.
keepalive = 5
#: gunicorn trusts no forwarded header from anyone: X-Forwarded-Proto/-Ssl/-Protocol do not
#: make a request https, and a SCRIPT_NAME (or PATH_INFO) request header does not change the
#: mount prefix. Proxies are trusted by the app alone (BLOG_PROXY_COUNT, Werkzeug's ProxyFix);
#: the mount prefix is the SCRIPT_NAME environment variable of the gunicorn process.
secure_scheme_headers: dict[str, str] = {}
forwarder_headers = ""


def pre_fork(server, worker):
    """Freeze the master's objects (the app; with preload_app, every post) before forking.

    Python's garbage collector then never walks them in the workers. Without this, each
    worker's periodic full collections walk the whole preloaded heap, a large share of a
    cached page's CPU time, and write to memory pages shared with the master (copying
    them). See the docs of gc.freeze.
    """
    gc.freeze()


def post_request(worker, req, environ, resp):
    """After each answer, give the worker's other connections their turn.

    A greenlet switches only when it waits for I/O: a client whose next request is already
    there would be served again and again while the worker's other clients wait.
    """
    gevent.sleep(0)


def post_worker_init(worker):
    """Start this worker's WebSub publisher (blogapp/websub: a background greenlet; only one
    worker among all of them, the leader, looks at the feeds). Nothing without BLOG_WEBSUB_HUBS."""
    from blogapp import websub

    websub.start(worker.wsgi)
