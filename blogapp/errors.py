"""Styled error pages; never cached (flask-caching stores only 200 answers)."""

from __future__ import annotations

from flask import Flask
from flask import render_template
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import SecurityError


def _render(error: HTTPException) -> tuple[str, int]:
    template = "errors/404.html" if error.code in (404, 410) else "errors/error.html"
    return render_template(template, error=error), error.code or 500


def init_app(app: Flask) -> None:
    """Render every HTTP error through the site's templates."""
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(500, _handle_500)


def _handle_http(error: HTTPException):  # type: ignore[no-untyped-def]
    if isinstance(error, SecurityError):
        # An untrusted Host (TRUSTED_HOSTS): no URL can be built, so answer plainly.
        return error.get_response()
    body, code = _render(error)
    response = error.get_response()
    response.set_data(body)
    response.content_type = "text/html; charset=utf-8"
    response.status_code = code
    return response


def _handle_500(error: Exception) -> tuple[str, int]:
    return render_template("errors/error.html", error=None), 500
