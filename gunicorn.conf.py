"""gunicorn settings, read by ``gunicorn wsgi:app`` from the repository root.

Every value can still be overridden on the command line (``--bind``, ``--workers`` ...).
"""

import gc
import multiprocessing
import os

from blogapp.accesslog import AccessLogger

#: Listen on all interfaces at $PORT (8000 by default), as container platforms expect.
bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
#: One process per core plus one by default; WEB_CONCURRENCY overrides (Heroku convention).
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
#: Threads per worker: keep-alive and slow clients do not block a whole process.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
#: Access log to stdout, errors to stderr, for the process manager to collect.
accesslog = "-"
errorlog = "-"
#: Same lines as gunicorn's own access log, ~10x cheaper to write (blogapp/accesslog.py).
logger_class = AccessLogger
#: The master builds the app and reads every post once (wsgi.py), on all cores, then forks
#: the workers, which start with the posts already parsed (and share that memory until they
#: write to it). Without this, every worker would parse every post on its first request.
#: A code change needs a restart (SIGHUP re-forks workers from the preloaded app); content
#: changes never do.
preload_app = True
#: Seconds a worker may take on one request before the master replaces it.
timeout = 30
graceful_timeout = 20
keepalive = 5
#: Forwarded headers are handled by the app's BLOG_PROXY_COUNT, not by gunicorn.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def pre_fork(server, worker):
    """Freeze the master's objects (the app; with preload_app, every post) before forking.

    Python's garbage collector then never walks them in the workers. Without this, each
    worker's periodic full collections over the preloaded heap cost ~20 % of a cached
    page's CPU time, and dirtied pages shared with the master. See the docs of gc.freeze.
    """
    gc.freeze()
