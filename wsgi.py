"""gunicorn entry point: ``gunicorn wsgi:app`` (settings from FLASK_* environment variables)."""

import os

from blogapp import create_app
from blogapp.prefix import Mount

#: The mount prefix (``SCRIPT_NAME=/blog gunicorn wsgi:app``), taken out of the environment
#: before gunicorn reads it for each request: gunicorn answers 500 to a path outside it, Mount
#: answers 404.
prefix = os.environ.pop("SCRIPT_NAME", "")

app = create_app()
if prefix.strip("/"):
    app.wsgi_app = Mount(app.wsgi_app, prefix)  # type: ignore[method-assign]
# Read every post now, in gunicorn's master (preload_app), so forked workers start warm.
app.extensions["blog_content"].snapshot()
