"""Image variants at ``/_img/<source>/<digest>-<width>.<fmt>``: made once, then sent from disk.

Only variants the pages link exist (images.Source.allows); any other width or format is a
404, so nobody can fill the store by asking. A variant is made off the event loop
(offload.run) and stored in the VariantStore; a source that cannot be decoded sends the
reader to the original file instead of an error.
"""

from __future__ import annotations

import logging
import re

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import redirect
from flask import request
from flask import send_file
from werkzeug.wrappers import Response

from .. import images
from .. import offload
from .. import pictures
from .. import publicfiles
from ..imagecache import VariantStore

bp = Blueprint("variants", __name__)
logger = logging.getLogger("blogapp.images")

_NAME = re.compile(r"([0-9a-f]{16})-([1-9][0-9]{0,4})\.(avif|webp|jpg|png)")
#: Variants never change under their URL.
YEAR = 31536000
#: Sources that failed to decode, by digest: later requests go straight to the original.
_FAILED: dict[str, str] = {}
_FAILED_MAX = 1024
#: Cache-folder problems already logged by this worker.
_LOGGED: set[str] = set()


@bp.route(pictures.PREFIX + "<path:source>/<name>")
def variant(source: str, name: str) -> Response:
    """One variant of the public file ``source``; 404 for any the pages would not link."""
    match = _NAME.fullmatch(name)
    if match is None:
        abort(404)
    version, width, fmt = match[1], int(match[2]), match[3]
    real = publicfiles.resolve_inside(current_app.config["BLOG_PUBLIC_DIR"], source)
    found = images.probe(real) if real else None
    if found is None or not found.allows(width, fmt):
        abort(404)
    if found.version != version:  # the file changed since the page was made: the new one
        response = redirect(request.script_root + pictures.variant_path(source, found, width, fmt), 302)
        response.cache_control.max_age = 60
        return response
    if version in _FAILED:
        return _original(source)
    store: VariantStore = current_app.extensions["blog_images"]
    try:
        made = offload.run(store.get_or_make, f"{version}-{width}.{fmt}", lambda: images.make_variant(real, width, fmt))
    except images.VariantError as exc:
        logger.warning("%s: cannot make image variants (%s); serving the original", real, exc)
        if len(_FAILED) >= _FAILED_MAX:
            _FAILED.clear()
        _FAILED[version] = str(exc)
        return _original(source)
    if store.problem and store.problem not in _LOGGED:
        _LOGGED.add(store.problem)
        logger.warning("image cache folder unusable, variants made in memory: %s", store.problem)
    if isinstance(made, bytes):
        response = Response(made, mimetype=images.MIME[fmt])
        response.cache_control.public = True
        response.cache_control.max_age = YEAR
    else:
        response = send_file(made, mimetype=images.MIME[fmt], conditional=True, max_age=YEAR)
    response.cache_control.immutable = True
    return response


def _original(source: str) -> Response:
    response = redirect(publicfiles.public_url(source), 302)
    response.cache_control.max_age = 60
    return response
