"""Styled error pages. Never cached: the page cache stores only 200 answers of ``@cacheable``
views, and these handlers are not views."""

from __future__ import annotations

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


def _handle_500(error: Exception) -> tuple[str, int]:
    return render_template("errors/error.html", error=None), 500
