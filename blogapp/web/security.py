"""Security headers on every response, added in one place: the outermost WSGI layer."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from typing import Any

#: No inline script or style anywhere: the theme script is a file, table alignment is a class.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data: https:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

BASE_HEADERS = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "strict-origin-when-cross-origin"),
    ("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
]
#: Sent only when the site's public URL is https (a browser then never tries plain http).
HSTS = ("Strict-Transport-Security", "max-age=31536000")


def security_headers(site_url: str) -> list[tuple[str, str]]:
    """The headers every answer of a site at ``site_url`` carries."""
    return BASE_HEADERS + ([HSTS] if site_url.startswith("https://") else [])


class SecurityHeaders:
    """WSGI middleware adding BASE_HEADERS (and HSTS for an https BLOG_SITE_URL) to every answer.

    Outermost (see create_app), so page-cache hits, files, errors and the 400s of the layers
    in front of Flask all get them. Nothing inside sets these headers, so they are appended
    as one precomputed list, without looking at the others: each is sent exactly once.
    """

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], site_url: str) -> None:
        self.wsgi_app = wsgi_app
        self.headers = security_headers(site_url)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        extra = self.headers

        def add_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            return start_response(status, headers + extra, exc_info)

        return self.wsgi_app(environ, add_headers)
