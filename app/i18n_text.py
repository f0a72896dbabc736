"""Translating a message where a request may or may not be there.

Business code (commands, the password policy) runs inside web requests, where a message must be
in the user's language, and also in the CLI, scripts and tests, where Babel may not be set up at
all. ``gettext`` here is ``flask_babel.gettext`` when the app has Babel and the Chinese source
text otherwise; ``N_`` marks a Chinese string kept as data for extraction without translating it
(translate it where it is shown: ``gettext(label)``, ``{{ _(label) }}``). See docs/i18n.md.
"""
from flask import current_app, has_app_context
from flask_babel import gettext as _babel_gettext


def gettext(text, **variables):
    """The message in the user's language; the Chinese source where Babel is not set up (a bare
    Flask app or no app at all, as in a script)."""
    if has_app_context() and "babel" in current_app.extensions:
        return _babel_gettext(text, **variables)
    return text % variables if variables else text


def N_(text):
    """Mark ``text`` for extraction; it stays the Chinese source (a value, compared and stored)."""
    return text
