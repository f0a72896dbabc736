"""Translating a message where a request may or may not be there.

Business code (commands, the password policy) runs inside web requests, where a message must be
in the user's language, and also in the CLI, scripts and tests, where Babel may not be set up at
all. ``gettext`` here is ``flask_babel.gettext`` in a request, the default locale's text in an
app context without a request, and the Chinese source text where Babel is not set up. ``N_``
marks a Chinese string kept as data for extraction without translating it (translate it where it
is shown: ``gettext(label)``, ``{{ _(label) }}``). See docs/i18n.md.
"""
from flask import current_app, has_app_context, has_request_context
from flask_babel import force_locale
from flask_babel import gettext as _babel_gettext


def gettext(text, **variables):
    """The message in the user's language; the Chinese source where Babel is not set up (a bare
    Flask app or no app at all, as in a script)."""
    if not has_app_context() or "babel" not in current_app.extensions:
        return text % variables if variables else text
    if has_request_context():
        return _babel_gettext(text, **variables)
    # No request (the CLI, a test between requests): the default locale. Flask-Babel caches the
    # locale it picks on ``g``; force_locale restores that cache afterwards, so a later request
    # sharing this app context (as the test client's do) still picks its user's language.
    with force_locale(current_app.extensions["babel"].default_locale):
        return _babel_gettext(text, **variables)


def N_(text):
    """Mark ``text`` for extraction; it stays the Chinese source (a value, compared and stored)."""
    return text
