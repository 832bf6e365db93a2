"""Security headers on every response. The page cache adds the same ones to its hits (see
blogapp/__init__.py for the order of the layers)."""

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
#: Lower-case names of every header this module may set.
SECURITY_NAMES = frozenset(name.lower() for name, _ in [*BASE_HEADERS, HSTS])


def security_headers(site_url: str) -> list[tuple[str, str]]:
    """The headers every answer of a site at ``site_url`` carries."""
    return BASE_HEADERS + ([HSTS] if site_url.startswith("https://") else [])


class SecurityHeaders:
    """WSGI middleware adding BASE_HEADERS (and HSTS for an https BLOG_SITE_URL)."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], site_url: str) -> None:
        self.wsgi_app = wsgi_app
        self.headers = security_headers(site_url)
        self.names = {name.lower() for name, _ in self.headers}

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        def add_headers(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [(k, v) for k, v in headers if k.lower() not in self.names]
            return start_response(status, kept + self.headers, exc_info)

        return self.wsgi_app(environ, add_headers)
