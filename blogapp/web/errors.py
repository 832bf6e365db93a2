"""Styled error pages. Never cached: the page cache stores only 200 answers of ``@cacheable``
views, and these handlers are not views."""

from __future__ import annotations

from urllib.parse import quote

from flask import Flask
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask.globals import request_ctx
from werkzeug.exceptions import Gone
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import SecurityError

from .. import content
from .. import public


def _render(error: HTTPException) -> tuple[str, int]:
    template = "errors/404.html" if error.code in (404, 410) else "errors/error.html"
    return render_template(template, error=error), error.code or 500


def init_app(app: Flask) -> None:
    """Render every HTTP error through the site's templates."""
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(500, _handle_500)


def _handle_http(error: HTTPException):  # type: ignore[no-untyped-def]
    if isinstance(error, SecurityError) or request_ctx.url_adapter is None:
        # An untrusted (TRUSTED_HOSTS) or malformed Host: no URL can be built, so no page
        # template can render; answer plainly.
        return error.get_response()
    if error.code == 404 and request.method in ("GET", "HEAD"):
        moved = content.alias_target(request.path)
        if moved is not None:
            return redirect(url_for("pages.post", slug=moved.slug), code=301)
        if (canonical := _without_trailing_slash()) is not None:
            return redirect(canonical, code=301)
        if content.is_gone(request.path):
            error = Gone()
        elif current_app.debug and (problem := content.invalid_post_at(request.path)) is not None:
            # Author preview: say what is wrong with the file instead of "not found".
            return render_template("errors/invalid_post.html", problem=problem), 422
    body, code = _render(error)
    response = error.get_response()
    response.set_data(body)
    response.content_type = "text/html; charset=utf-8"
    response.status_code = code
    return response


def _without_trailing_slash() -> str | None:
    """For a 404 at ``/posts/x/`` (the URL Next.js and static hosts spelled with a slash):
    the canonical ``/posts/x``, with the mount prefix and the query, when that page exists;
    else None. Never a Location another site could stand at: a path that would start with
    ``//`` or ``/\\`` (a browser reads both as another host) is left a 404."""
    path = request.path
    if len(path) < 2 or not path.endswith("/"):
        return None
    stripped = path.rstrip("/")
    if not stripped.startswith("/") or stripped[1:2] in ("", "/", "\\"):
        return None
    try:
        endpoint, args = request_ctx.url_adapter.match(stripped, method="GET")  # type: ignore[union-attr]
    except HTTPException:  # no page there, or one that redirects elsewhere itself
        return None
    if not _exists(str(endpoint), args):
        return None
    location = request.script_root + quote(stripped, safe=_PATH_SAFE)
    query = request.query_string.decode("latin-1")
    return location + "?" + query if query else location


#: Characters a path keeps unquoted in a Location (RFC 3986 pchar and "/").
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _exists(endpoint: str, args: dict) -> bool:
    """Whether the page ``endpoint`` with ``args`` answers: a post that is visible, a public
    file that is there; other pages say for themselves (a 404, or their own redirect)."""
    if endpoint == "pages.post":
        return content.get_post(args["slug"]) is not None
    if endpoint == "pages.public_file":
        return public.find("/" + args["filename"]) is not None
    return True


def _handle_500(error: Exception) -> tuple[str, int]:
    return render_template("errors/error.html", error=None), 500
