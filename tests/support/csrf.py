"""A test client that sends the CSRF token the way a browser does after rendering a page.

The app checks the token on every state-changing request (app/web_security.py), in the tests as
in production. A real browser gets the token from the page it posts from; this client takes it
from its own session, where Flask-WTF keeps it, so a test reads like what the user does. A test
that wants the request a forging site would send passes ``csrf=False`` (no token at all).
JWT calls carry no token: a bearer header is what authenticates them.
"""
import hashlib
import os

from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer

UNSAFE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def csrf_token_for(client):
    """The signed token a page rendered in ``client``'s session would carry."""
    app = client.application
    field = app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    with client.session_transaction() as sess:
        if field not in sess:
            sess[field] = hashlib.sha1(os.urandom(64)).hexdigest()
        raw = sess[field]
    secret = app.config.get("WTF_CSRF_SECRET_KEY") or app.secret_key
    return URLSafeTimedSerializer(secret, salt="wtf-csrf-token").dumps(raw)


class CsrfClient(FlaskClient):
    def open(self, *args, csrf=True, **kwargs):
        method = (kwargs.get("method") or "GET").upper()
        headers = dict(kwargs.pop("headers", None) or {})
        wants_token = (csrf and method in UNSAFE_METHODS
                       and self.application.config.get("WTF_CSRF_ENABLED")
                       and not any(k.lower() == "authorization" for k in headers)
                       and not any(k.lower() == "x-csrftoken" for k in headers))
        if wants_token and not _is_request_object(args):
            headers["X-CSRFToken"] = csrf_token_for(self)
        kwargs["headers"] = headers
        return super().open(*args, **kwargs)


def _is_request_object(args):
    # client.open(EnvironBuilder or Request) carries its own headers; leave such calls alone.
    return bool(args) and not isinstance(args[0], str)


__all__ = ["CsrfClient", "csrf_token_for"]
