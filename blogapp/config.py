"""Every setting the blog reads, with its default, and the start-up check."""

from __future__ import annotations

import re
import zoneinfo
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: The repository root: templates/, static/ and content/ live here.
ROOT = Path(__file__).resolve().parent.parent

DEFAULTS: dict[str, Any] = {
    # Folder of *.md posts; relative paths are taken from the repository root.
    "BLOG_POSTS_DIR": "content/posts",
    # Removed posts: one slug or path per line (# comments); their URLs answer 410 Gone.
    "BLOG_GONE_FILE": "content/gone.txt",
    # Folder served at the site root, as Next.js serves public/ (/assets/... etc.).
    "BLOG_PUBLIC_DIR": "static",
    # Public URL of the home page, mount prefix included; "" = from each request.
    "BLOG_SITE_URL": "",
    # Site title, used in <title>, headers and feeds.
    "BLOG_TITLE": "AURA Digital Labs",
    # One-line description for meta tags and feeds.
    "BLOG_DESCRIPTION": "Notes on AI, software and infrastructure from AURA Digital Labs.",
    # Author used when a post names none.
    "BLOG_AUTHOR": "AURA Digital Labs",
    # Language of the posts (html lang, feeds).
    "BLOG_LANGUAGE": "en",
    # IANA zone for dates written without an offset, and for display.
    "BLOG_TIMEZONE": "UTC",
    # Cards per listing page (the hero counts on page one).
    "BLOG_POSTS_PER_PAGE": 10,
    # Entries per feed.
    "BLOG_FEED_LIMIT": 20,
    # Show drafts and future-dated posts (for writing locally).
    "BLOG_SHOW_DRAFTS": False,
    # Let raw HTML in posts through unsanitized.
    "BLOG_TRUST_HTML": False,
    # Posts larger than this many bytes are invalid.
    "BLOG_MAX_POST_BYTES": 2 * 1024 * 1024,
    # Seconds between looks at the posts folder for changes (spec: visible within 2 s).
    "BLOG_RELOAD_INTERVAL": 1.0,
    # "auto": on Linux, look at the posts folder only when inotify reports a change (and every
    # 30 s); "poll": stat every file each interval (network file systems, where inotify is blind).
    "BLOG_WATCH": "auto",
    # Number of proxies in front whose X-Forwarded-* headers are trusted (0 = none).
    "BLOG_PROXY_COUNT": 0,
    # Cache-Control max-age (seconds) for pages and feeds; a CDN revalidates after it.
    "BLOG_HTTP_MAX_AGE": 60,
    # Cache-Control stale-while-revalidate (seconds): a CDN may serve a stale copy this long.
    "BLOG_HTTP_STALE": 600,
    # Bytes of rendered pages each worker keeps in memory (least recently used go first);
    # the embedded cache, in front of a shared CACHE_TYPE. 0: no pages kept in memory.
    "BLOG_LOCAL_CACHE_BYTES": 32 * 1024 * 1024,
    # Folder of image variants (made on first request, or by `flask images`); never inside
    # BLOG_PUBLIC_DIR. Relative paths are taken from the repository root.
    "BLOG_IMAGE_CACHE_DIR": "cache/images",
    # Most bytes the image variants may take on disk (least recently used go first).
    "BLOG_IMAGE_CACHE_BYTES": 512 * 1024 * 1024,
    # Folder for the blog's own small state: when each build (code and settings) was first
    # served, the floor of Last-Modified. Relative paths are taken from the repository root.
    "BLOG_STATE_DIR": "cache",
    # WebSub hubs (http(s) URLs) every feed names, and which the blog tells when a feed
    # changes (blogapp/websub); a list, or one string of URLs separated by spaces or commas.
    # Needs BLOG_SITE_URL. Empty: no hub links, no pings.
    "BLOG_WEBSUB_HUBS": [],
    # SimpleCache (or NullCache): pages live only in each worker's memory, within
    # BLOG_LOCAL_CACHE_BYTES (SimpleCache's own count-limited store is not used);
    # RedisCache + CACHE_REDIS_URL shares them between workers and hosts.
    "CACHE_TYPE": "SimpleCache",
    # Rendered pages are keyed by content version, so a long timeout is safe.
    "CACHE_DEFAULT_TIMEOUT": 3600,
    # Prefix for every key, so several blogs can share one Redis.
    "CACHE_KEY_PREFIX": "blog:",
}

_BOOL_KEYS = ("BLOG_SHOW_DRAFTS", "BLOG_TRUST_HTML")
_BYTE_KEYS = ("BLOG_LOCAL_CACHE_BYTES", "BLOG_IMAGE_CACHE_BYTES")
_POSITIVE_INT_KEYS = ("BLOG_POSTS_PER_PAGE", "BLOG_FEED_LIMIT", "BLOG_MAX_POST_BYTES")


#: "" or "/" followed by RFC 3986 path segments (pchar), none empty, "." or "..".
_PLAIN_PATH = re.compile(r"(?:/(?!\.\.?(?:/|$))[A-Za-z0-9\-._~%!$&'()*+,;=:@]+)*")


def plain_path(value: str) -> bool:
    """True for ``""``, ``/blog``, ``/a/b-c``; False for ``//evil.com``, ``https://x``, ``/a/../b``."""
    return _PLAIN_PATH.fullmatch(value) is not None


class ConfigError(ValueError):
    """A setting has a value the blog cannot run with."""


def resolve_dir(value: str | Path) -> Path:
    """Return ``value`` as an absolute path, relative ones taken from ROOT."""
    path = Path(value).expanduser()
    return (path if path.is_absolute() else ROOT / path).resolve()


def _as_bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | str) and str(value).strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if isinstance(value, int | str) and str(value).strip().lower() in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigError(f"{key} must be true or false, got {value!r}")


def _as_int(key: str, value: Any, minimum: int) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{key} must be a whole number, got {value!r}") from None
    if number < minimum or isinstance(value, bool):
        raise ConfigError(f"{key} must be at least {minimum}, got {value!r}")
    return number


def check_config(config: dict[str, Any]) -> None:
    """Normalise and validate settings in place; raise ConfigError on a bad one."""
    for key in _BOOL_KEYS:
        config[key] = _as_bool(key, config[key])
    for key in _POSITIVE_INT_KEYS:
        config[key] = _as_int(key, config[key], 1)
    for key in ("BLOG_PROXY_COUNT", "BLOG_HTTP_MAX_AGE", "BLOG_HTTP_STALE") + _BYTE_KEYS:
        config[key] = _as_int(key, config[key], 0)
    try:
        config["BLOG_RELOAD_INTERVAL"] = float(config["BLOG_RELOAD_INTERVAL"])
    except (TypeError, ValueError):
        raise ConfigError("BLOG_RELOAD_INTERVAL must be a number of seconds") from None
    try:
        zoneinfo.ZoneInfo(str(config["BLOG_TIMEZONE"]))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"BLOG_TIMEZONE is not a known time zone: {config['BLOG_TIMEZONE']!r}") from None
    config["BLOG_SITE_URL"] = _check_site_url(str(config["BLOG_SITE_URL"] or ""))
    config["SCRIPT_NAME"] = _check_mount(str(config.get("SCRIPT_NAME") or ""), config["BLOG_SITE_URL"])
    posts_dir = resolve_dir(config["BLOG_POSTS_DIR"])
    if not posts_dir.is_dir():
        raise ConfigError(f"BLOG_POSTS_DIR is not a folder: {posts_dir}")
    config["BLOG_POSTS_DIR"] = posts_dir
    config["BLOG_PUBLIC_DIR"] = resolve_dir(config["BLOG_PUBLIC_DIR"])
    config["BLOG_GONE_FILE"] = resolve_dir(config["BLOG_GONE_FILE"])
    config["BLOG_STATE_DIR"] = resolve_dir(config["BLOG_STATE_DIR"])
    config["BLOG_IMAGE_CACHE_DIR"] = _check_image_cache_dir(config)
    config["BLOG_WEBSUB_HUBS"] = _check_hubs(config.get("BLOG_WEBSUB_HUBS"), config["BLOG_SITE_URL"])
    if config["BLOG_WATCH"] not in ("auto", "poll"):
        raise ConfigError(f"BLOG_WATCH must be auto or poll, got {config['BLOG_WATCH']!r}")
    if not config.get("CACHE_TYPE"):
        raise ConfigError("CACHE_TYPE must be set (SimpleCache, RedisCache, NullCache, ...)")


def _check_image_cache_dir(config: dict[str, Any]) -> Path:
    """BLOG_IMAGE_CACHE_DIR resolved, refused when it is, holds or lies inside a folder of the
    blog's own files (its store deletes files, see imagecache.py), or is or holds the project."""
    folder = resolve_dir(config["BLOG_IMAGE_CACHE_DIR"])
    guarded = {
        "BLOG_POSTS_DIR": config["BLOG_POSTS_DIR"],
        "BLOG_PUBLIC_DIR": config["BLOG_PUBLIC_DIR"],
        "the templates folder": ROOT / "templates",
        "the static folder": ROOT / "static",
    }
    for name, other in guarded.items():
        other = Path(other).resolve()
        if folder == other or folder.is_relative_to(other) or other.is_relative_to(folder):
            raise ConfigError(f"BLOG_IMAGE_CACHE_DIR must be apart from {name} ({other}): {folder}")
    if ROOT.is_relative_to(folder):
        raise ConfigError(f"BLOG_IMAGE_CACHE_DIR must not be or hold the project folder ({ROOT}): {folder}")
    return folder


def _check_mount(prefix: str, site_url: str) -> str:
    """The mount prefix from SCRIPT_NAME (``/blog``, or "" at the root): a plain path, and the
    path of BLOG_SITE_URL when that is set."""
    prefix = prefix.rstrip("/")
    if not prefix:
        return ""
    if not plain_path(prefix):
        raise ConfigError(f"SCRIPT_NAME must be a path such as /blog, not {prefix!r}")
    site_path = urlsplit(site_url).path.rstrip("/")
    if site_url and site_path != prefix:
        raise ConfigError(
            f"SCRIPT_NAME is {prefix!r} but the path of BLOG_SITE_URL is {site_path!r}: the site URL"
            " includes the mount prefix (https://example.com/blog with SCRIPT_NAME=/blog)"
        )
    return prefix


#: Bounds on BLOG_WEBSUB_HUBS: how many hubs, and how long one URL may be.
MAX_HUBS = 10
MAX_HUB_URL = 2000


def _check_hubs(value: Any, site_url: str) -> list[str]:
    """BLOG_WEBSUB_HUBS as a list of http(s) URLs (a string is split on spaces and commas)."""
    if value is None or value == "":
        return []
    hubs = value.replace(",", " ").split() if isinstance(value, str) else value
    if not isinstance(hubs, list | tuple) or not all(isinstance(h, str) for h in hubs):
        raise ConfigError(f"BLOG_WEBSUB_HUBS must be a list of hub URLs, got {value!r}")
    if len(hubs) > MAX_HUBS:
        raise ConfigError(f"BLOG_WEBSUB_HUBS names {len(hubs)} hubs; at most {MAX_HUBS}")
    for hub in hubs:
        parts = urlsplit(hub)
        if (
            parts.scheme not in ("http", "https")
            or not parts.hostname
            or parts.fragment
            or len(hub) > MAX_HUB_URL
            or re.search(r"[\s<>\"\\]", hub)
        ):
            raise ConfigError(f"BLOG_WEBSUB_HUBS: a hub must be an http(s) URL, got {hub!r}")
    if hubs and not site_url:
        raise ConfigError("BLOG_WEBSUB_HUBS needs BLOG_SITE_URL: the feeds' URLs the hubs fetch")
    return list(hubs)


def _check_site_url(url: str) -> str:
    if not url:
        return ""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query or parts.fragment:
        raise ConfigError(f"BLOG_SITE_URL must look like https://example.com/blog, got {url!r}")
    return url.rstrip("/")
