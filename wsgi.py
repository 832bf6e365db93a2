"""gunicorn entry point: ``gunicorn wsgi:app`` (settings from FLASK_* environment variables)."""

from blogapp import create_app

app = create_app()
# Read every post now, in gunicorn's master (preload_app), so forked workers start warm.
app.extensions["blog_content"].snapshot()
