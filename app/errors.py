"""One hierarchy of refusals, and the one place that turns them into an answer.

A command refuses by raising a ``DomainError``: ``str(error)`` is the user's sentence (in the
user's language inside a request, Chinese in the CLI) and ``error.status`` its HTTP status. The
web view, the REST API and the CLI do not catch it themselves: ``install_error_handlers`` maps it
for every request — a JSON body ``{"message", "status"}`` under ``/api/`` (and for clients that
ask for JSON), a flashed message and a redirect back for pages — and the CLI wrapper
prints it and exits 1. Before answering, the request's session is rolled back,
so a refusal can never leave half-done work in the session the next request reuses.

Where a page goes back to after a refusal is the view's choice, made with ``on_error_redirect``
(the form's detail page, the list it came from); without one, the referring page of this site,
else the home page.
"""
import functools
from urllib.parse import urlsplit

from flask import current_app, flash, g, jsonify, redirect, request
from flask_appbuilder.api import safe

from werkzeug.exceptions import default_exceptions

from app import request_guard
from app.extensions import db
from app.i18n_text import N_, gettext


class DomainError(Exception):
    """A refused operation; ``str(error)`` is the sentence for the user."""

    status = 400


class NotAllowed(DomainError):
    """The actor may not do this (wrong unit, wrong stage, no right)."""

    status = 403


class NotFound(NotAllowed):
    """Missing, or outside the actor's scope: the two look the same on purpose (a sibling must
    not learn that a row exists), so NotFound is also a NotAllowed for callers that only ask
    "was it refused"."""

    status = 404


MSG_CONFLICT = N_("内容已被其他单位或其他人修改，请刷新后重试")


class Conflict(NotAllowed):
    """Someone else acted first (a lost race, a stale version): the answer is "refresh"."""

    status = 409

    def __init__(self, message=None):
        super().__init__(message or gettext(MSG_CONFLICT))


class Invalid(DomainError):
    """The input failed its checks; ``errors`` lists each problem where the caller has them."""

    status = 422

    def __init__(self, message, errors=()):
        self.errors = list(errors)
        super().__init__(message)


def error_payload(error):
    """The JSON body of a refusal: the sentence, the status and, for Invalid, every problem."""
    body = {"message": str(error), "status": error.status}
    dicts = getattr(error, "error_dicts", None)
    if callable(dicts):
        body["errors"] = dicts()
    return body


def on_error_redirect(target):
    """Decorate a page view: a DomainError it raises is flashed and answered with a redirect to
    ``target(**view_args)`` (an URL). The mapping itself stays in ``handle_domain_error``."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            g.pucha_error_back = lambda: target(**kwargs)
            return view(*args, **kwargs)

        return wrapper

    return decorate


def _same_site(url):
    if not url:
        return None
    parts = urlsplit(url)
    if parts.netloc and parts.netloc != request.host:
        return None
    return url


def _wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def handle_domain_error(error):
    db.session.rollback()
    if _wants_json():
        return jsonify(error_payload(error)), error.status
    if request.method in ("GET", "HEAD") and error.status in (403, 404):
        # A page that cannot be shown is the error page itself (a sibling's form is a 404).
        return request_guard.error_response(default_exceptions[error.status](str(error)))
    flash(str(error), "danger")
    back = getattr(g, "pucha_error_back", None)
    target = back() if back is not None else _same_site(request.referrer)
    return redirect(target or current_app.appbuilder.get_url_for_index)


def api_safe(endpoint):
    """FAB's ``safe`` for a REST endpoint (any unexpected error is a logged JSON 500), except that
    a DomainError goes on to ``handle_domain_error``: the one mapping, with the status it carries."""

    def passthrough(self, *args, **kwargs):
        try:
            return endpoint(self, *args, **kwargs)
        except DomainError as error:
            return _Raised(error)

    guarded = safe(passthrough)

    @functools.wraps(endpoint)
    def wrapper(self, *args, **kwargs):
        answer = guarded(self, *args, **kwargs)
        if isinstance(answer, _Raised):
            raise answer.error
        return answer

    return wrapper


class _Raised:
    """A DomainError carried past FAB's ``safe``, which would turn it into a 500."""

    def __init__(self, error):
        self.error = error


def install_error_handlers(app):
    app.register_error_handler(DomainError, handle_domain_error)
