"""gunicorn entry point: ``gunicorn wsgi:app`` (settings from FLASK_* environment variables)."""

import os
from urllib.parse import urlsplit

from werkzeug.exceptions import NotFound

from blogapp import content
from blogapp import create_app
from blogapp.web.prefix import Mount
from blogapp.web.security import SecurityHeaders

#: The mount prefix (``SCRIPT_NAME=/blog gunicorn wsgi:app``), taken out of the environment
#: before gunicorn reads it for each request: gunicorn answers 500 to a path outside it, Mount
#: answers 404.
prefix = os.environ.pop("SCRIPT_NAME", "").rstrip("/")

app = create_app()
if prefix:
    site_path = urlsplit(app.config["BLOG_SITE_URL"]).path.rstrip("/")
    if app.config["BLOG_SITE_URL"] and site_path != prefix:
        raise SystemExit(
            f"SCRIPT_NAME is {prefix!r} but the path of BLOG_SITE_URL is {site_path!r}: the site URL"
            " includes the mount prefix (https://example.com/blog with SCRIPT_NAME=/blog)"
        )
    outside = SecurityHeaders(NotFound(), app.config["BLOG_SITE_URL"])
    app.wsgi_app = Mount(app.wsgi_app, prefix, outside)  # type: ignore[method-assign]
# Read every post now, in gunicorn's master (preload_app), so forked workers start warm.
content.get_store(app).snapshot()
