"""Image variants at ``/_img/<source>/<digest>-<width>.<fmt>``: made once, then sent from disk.

Only variants the pages link exist: the source must be a file that a visible post uses
(pictures.is_linked: covers, share images, authors' pictures, body images) and the width
and format ones its pages offer (pixels.Source.allows); anything else is a 404, so nobody can
fill the store, or spend a worker's CPU, by asking. A digest that is not the file's is a 404 too,
unless it was the file's earlier in this worker (a cached page may still link it): that one gets
a 302 to the current URL.

A variant is made off the event loop (offload.run), once however many ask for it at the same
time, and not at all when every asker has left before its turn (encodes.Encodes), then stored in
the VariantStore. One the store cannot keep (its folder unusable, BLOG_IMAGE_CACHE_BYTES 0, or
the variant larger than it) is kept in a small memory LRU (MEMORY_BYTES per worker) instead of
being made again for every request; one too large even for that sends the reader to the
original. A source that cannot be decoded also sends the reader to the original file.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import request
from flask import send_file
from werkzeug.wrappers import Response

from ... import offload
from ... import public
from ...files import paths
from ...images import encodes
from ...images import pictures
from ...images import pixels
from ...images.variantstore import VariantStore

bp = Blueprint("variants", __name__)
logger = logging.getLogger("blogapp.images")

_NAME = re.compile(r"([0-9a-f]{16})-([1-9][0-9]{0,4})\.(avif|webp|jpg|png)")
#: Variants never change under their URL.
YEAR = 31536000
#: Bytes of variants the store could not keep that each worker holds in memory (least
#: recently used go first); one larger than MEMORY_BYTES // 8 is not held: its readers are
#: sent to the original instead.
MEMORY_BYTES = 16 * 1024 * 1024
#: Sources remembered as failing to decode (the oldest are forgotten first).
FAILED_MAX = 1024


class _Memory:
    """A least-recently-used map of variant name -> bytes, bounded in bytes."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.total = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._too_big: set[str] = set()
        self._lock = threading.Lock()

    def get(self, name: str) -> bytes | None:
        with self._lock:
            data = self._items.get(name)
            if data is not None:
                self._items.move_to_end(name)
            return data

    def too_big(self, name: str) -> bool:
        return name in self._too_big

    def put(self, name: str, data: bytes) -> None:
        with self._lock:
            if len(data) > self.max_bytes // 8:
                if len(self._too_big) >= 4096:
                    self._too_big.clear()
                self._too_big.add(name)
                return
            if name in self._items:
                return
            self._items[name] = data
            self.total += len(data)
            while self.total > self.max_bytes:
                self.total -= len(self._items.popitem(last=False)[1])


class _State:
    """What one app's variant route remembers in this worker (one per app, so two blogs in
    one process, or two apps of the tests, share none of it)."""

    def __init__(self) -> None:
        #: Sources that failed to decode, by digest: later requests go straight to the original.
        self.failed: dict[str, str] = {}
        #: Cache-folder problems already logged.
        self.logged: set[str] = set()
        self.encodes = encodes.Encodes()
        self.memory = _Memory(MEMORY_BYTES)


def _state() -> _State:
    return current_app.extensions.setdefault("blog_variant_state", _State())


@bp.route(pictures.PREFIX + "<path:source>/<name>")
def variant(source: str, name: str) -> Response:
    """One variant of the public file ``source``; 404 for any the pages would not link."""
    match = _NAME.fullmatch(name)
    if match is None:
        abort(404)
    version, width, fmt = match[1], int(match[2]), match[3]
    real = paths.resolve_inside(current_app.config["BLOG_PUBLIC_DIR"], source)
    found = pixels.probe(real) if real else None
    if found is None or real is None or not found.allows(width, fmt) or not pictures.is_linked(source, real):
        abort(404)
    if found.version != version:
        if not pixels.was_version(real, version):
            abort(404)  # a made-up digest: nothing to say about the file's
        # The file changed since a page linking it was made: the new one.
        response = redirect(request.script_root + pictures.variant_path(source, found, width, fmt), 302)
        response.cache_control.max_age = 60
        return response
    state = _state()
    if version in state.failed:
        return _original(source)
    key = f"{version}-{width}.{fmt}"
    kept = state.memory.get(key)
    if kept is not None:
        return _from_memory(kept, fmt)
    if state.memory.too_big(key):
        return _original(source)
    store: VariantStore = current_app.extensions["blog_images"]
    try:
        made = state.encodes.run(
            key,
            lambda: offload.run(store.get_or_make, key, lambda: pixels.make_variant(real, width, fmt)),
            encodes.client_gone(request.environ.get("gunicorn.socket")),
        )
    except encodes.Dropped:
        return Response(status=499)  # nobody is there to read it
    except pixels.VariantError as exc:
        if version not in state.failed:
            logger.warning("%s: cannot make image variants (%s); serving the original", real, exc)
        if len(state.failed) >= FAILED_MAX:
            state.failed.pop(next(iter(state.failed)))
        state.failed[version] = str(exc)
        return _original(source)
    if store.problem and store.problem not in state.logged:
        state.logged.add(store.problem)
        logger.warning("image cache folder unusable, variants made in memory: %s", store.problem)
    if isinstance(made, bytes):
        state.memory.put(key, made)
        return _from_memory(made, fmt)
    response = send_file(made, mimetype=pixels.MIME[fmt], conditional=True, max_age=YEAR)
    response.cache_control.immutable = True
    return response


def _from_memory(data: bytes, fmt: str) -> Response:
    response = Response(data, mimetype=pixels.MIME[fmt])
    response.cache_control.public = True
    response.cache_control.max_age = YEAR
    response.cache_control.immutable = True
    return response


def _original(source: str) -> Response:
    response = redirect(public.public_url(source), 302)
    response.cache_control.max_age = 60
    return response
