"""The publishing loop: notice which feeds changed, claim each (URL, ETag) once, wait until the
public URL serves it, then tell every hub.

Every gunicorn worker runs one ``Publisher`` in a background greenlet (``start``, from
gunicorn.conf.py's ``post_worker_init``); only the leader (``claims``: one among all workers,
and all hosts sharing Redis) looks at the feeds, so the work does not grow with the workers.
Each TICK it asks the store for the posts visible now (no request needed: a scheduled post's
time passing makes a new view), compares what each feed shows with the last look, and renders
only the feeds that may have changed to learn their ETag (after a restart, only those whose
posts' files, public files or build differ from when they were last claimed). Each feed's
last ETag is kept (Redis, or BLOG_STATE_DIR): the worker that moves it to a new one, in one
atomic step, publishes; an ETag equal to the last is no change, so restarts and deploys that
change nothing send nothing, and a feed seen for the first time (WebSub just turned on, a new
tag) is noted, not published.

The hub fetches the feed right after the ping, through the nginx edge cache (which keeps a
copy up to a second) and any worker (which notices a change within BLOG_RELOAD_INTERVAL): the
ping waits until the public URL serves the new ETag (at most PUBLIC_WAIT seconds, then it goes
anyway), so the hub never fetches the old feed.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask

from .. import content
from ..config import ROOT
from ..extensions import cache
from ..pagecache.key import build_version
from ..posts.post import Post
from . import hub
from . import topics
from .claims import CHANGED
from .claims import Claims
from .claims import FileClaims
from .claims import RedisClaims

logger = logging.getLogger("blogapp.websub")

#: Seconds between two looks at the feeds (the leader's), and between two tries to lead.
TICK = 0.5
#: Most seconds a ping waits for the public URL to serve the new ETag.
PUBLIC_WAIT = 10.0
#: Pause between two looks at the public URL.
PUBLIC_POLL = 0.2
#: Most pings in flight at once (each a greenlet with its retries).
MAX_SENDING = 16


def make_claims(app: Flask) -> Claims:
    """Redis when the page cache shares one (all hosts agree), else BLOG_STATE_DIR/websub."""
    if "redis" in str(app.config["CACHE_TYPE"]).lower():
        with app.app_context():
            client = cache.cache._write_client  # flask-caching's RedisCache, with its fail-fast options
        return RedisClaims(client, app.config["CACHE_KEY_PREFIX"])
    return FileClaims(Path(app.config["BLOG_STATE_DIR"]) / "websub")


class Publisher:
    """One worker's publisher; ``tick`` does one look (the loop calls it every TICK)."""

    def __init__(self, app: Flask, claims: Claims | None = None) -> None:
        self.app = app
        self.hubs: list[str] = app.config["BLOG_WEBSUB_HUBS"]
        self.claims = claims or make_claims(app)
        self._looked: tuple[object, str] | None = None  # (Visible, public files) of the last look
        self._shown: dict[topics.Scope, tuple[Post, ...]] = {}
        self._leading = False
        #: The build (code, templates, output settings) the page cache keys on.
        self.build = build_version(app.config, ROOT)
        self._sending = threading.BoundedSemaphore(MAX_SENDING)
        self._stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def run(self) -> None:
        while not self._stop.wait(TICK):
            try:
                self.tick()
            except Exception:
                logger.exception("websub: looking at the feeds failed")

    def stop(self) -> None:
        self._stop.set()

    def tick(self) -> list[tuple[str, str]]:
        """Look once; start sending for the feeds that changed. Returns their (URL, ETag)s."""
        if not self.claims.lead():
            if self._leading:
                logger.info("websub: worker %d no longer publishes", os.getpid())
            self._leading, self._looked, self._shown = False, None, {}
            return []
        if not self._leading:
            logger.info("websub: worker %d publishes to %s", os.getpid(), ", ".join(self.hubs))
            self._leading = True
        due = self.changed()
        if due:
            thread = threading.Thread(target=self.send, args=(due,), daemon=True, name="websub-send")
            self.threads = [t for t in self.threads if t.is_alive()] + [thread]
            thread.start()
        return due

    def changed(self) -> list[tuple[str, str]]:
        """(URL, ETag) of each feed that shows something new, claimed for this process."""
        store = content.get_store(self.app)
        snapshot = store.snapshot()
        view = snapshot.view(store.clock())
        if self._looked is not None and self._looked[0] is view and self._looked[1] == snapshot.public:
            return []  # the usual case: nothing new since the last look
        first = self._looked is None
        all_new = first or self._looked[1] != snapshot.public  # covers, enclosures
        self._looked = (view, snapshot.public)
        shown = topics.scopes(view, self.app.config["BLOG_FEED_LIMIT"])
        scopes = [s for s, posts in shown.items() if all_new or self._shown.get(s) != posts]
        self._shown = shown
        due, rendered = [], 0
        for scope in scopes:
            # Unchanged files, public files and build since the feeds were last claimed (a
            # restart, another host): the same bodies, nothing to render.
            made = topics.fingerprint(store, shown[scope], snapshot.public, self.build)
            if self.claims.known(topics.scope_id(scope)) == made:
                continue
            for path in topics.paths(self.app, scope):
                etag = topics.local_etag(self.app, path)
                url = topics.public_url(self.app, path)
                rendered += 1
                if etag is not None and self.claims.claim(url, etag) == CHANGED:
                    due.append((url, etag))
                time.sleep(0)  # a gevent worker's requests get their turn between feeds
            self.claims.remember(topics.scope_id(scope), made)
        if first:
            logger.info("websub: looked at %d feeds, rendered %d", 3 * len(scopes), rendered)
        for url, etag in due:
            logger.info("websub: %s changed (ETag %s)", url, etag)
        return due

    def send(self, due: list[tuple[str, str]]) -> None:
        """Wait until the public URLs serve the new ETags (see the module's docstring), then
        tell every hub about each URL, each (hub, URL) in its own greenlet with its retries."""
        pending = dict(due)
        started = time.monotonic()
        while pending and time.monotonic() - started < PUBLIC_WAIT:
            for url, etag in list(pending.items()):
                left = PUBLIC_WAIT - (time.monotonic() - started)
                served = hub.public_etag(url, timeout=max(0.1, min(hub.TIMEOUT, left)))
                if served is not None and topics.plain_etag(served) == etag:
                    del pending[url]
            if pending:
                time.sleep(PUBLIC_POLL)
        for url in pending:
            logger.warning("websub: %s still serves another ETag after %.0f s; publishing anyway", url, PUBLIC_WAIT)
        for url, _ in due:
            for address in self.hubs:
                self._sending.acquire()
                threading.Thread(target=self._publish, args=(address, url), daemon=True).start()

    def _publish(self, address: str, url: str) -> None:
        try:
            hub.publish(address, url)
        finally:
            self._sending.release()


def start(app: Any) -> Publisher | None:
    """Run a Publisher for ``app`` in a background thread (a greenlet in a gevent worker);
    nothing when BLOG_WEBSUB_HUBS is empty, or when ``app`` is not the blog (gunicorn.conf.py
    serves whatever app it is given: the benchmark's bare Flask route, say)."""
    config = getattr(app, "config", None)
    if not isinstance(config, Mapping) or not config.get("BLOG_WEBSUB_HUBS"):
        return None
    if app.config["BLOG_SHOW_DRAFTS"]:  # a writer's preview: its feeds are not the public ones
        logger.warning("websub: BLOG_SHOW_DRAFTS is on: not publishing")
        return None
    if not logger.handlers:  # INFO lines for the operator, on stderr next to gunicorn's own
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("[%(asctime)s] [%(process)d] [%(levelname)s] %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
    publisher = Publisher(app)
    threading.Thread(target=publisher.run, daemon=True, name="websub").start()
    return publisher


def publish_by_hand(app: Flask, urls: list[str], retry_for: float = 30.0) -> dict[tuple[str, str], bool]:
    """Tell every hub about each of ``urls`` now (``flask websub publish``), no claims asked;
    ``{(hub, url): taken}``."""
    return {
        (address, url): hub.publish(address, url, retry_for=retry_for)
        for url in urls
        for address in app.config["BLOG_WEBSUB_HUBS"]
    }
