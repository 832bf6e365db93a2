"""gunicorn entry point: ``gunicorn wsgi:app`` (settings from FLASK_* environment variables)."""

from blogapp import create_app

app = create_app()
