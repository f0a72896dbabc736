"""WSGI entry point: `gunicorn wsgi:app` in production."""
from app.factory import create_app

app = create_app()
