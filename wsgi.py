"""gunicorn entry point: ``gunicorn wsgi:app`` (settings from FLASK_* environment variables,
the mount prefix from SCRIPT_NAME; see blogapp.create_app)."""

from blogapp import content
from blogapp import create_app
from blogapp.web.templating import compile_templates

app = create_app()
# Read every post and compile every template now, in gunicorn's master (preload_app), so
# forked workers start warm.
content.get_store(app).snapshot()
compile_templates(app)
