"""Translating a message where a request may or may not be there.

Business code (commands, the password policy) runs inside web requests, where a message must be
in the user's language, and also in the CLI, scripts and tests, where Babel may not be set up at
all. ``gettext`` here is ``flask_babel.gettext`` in a request, the default locale's text in an
app context without a request, and the Chinese source text where Babel is not set up. ``N_``
marks a Chinese string kept as data for extraction without translating it (translate it where it
is shown: ``gettext(label)``, ``{{ _(label) }}``). See docs/i18n.md.

The census schema and the package reader speak both languages without Flask (``Phrase`` in
app/forms/schema.py: labels declared with their English, messages whose Chinese msgid has its
English in the catalogue). ``localize`` is the one place a phrase becomes the current user's
language; ``display_label``/``display_help``/``display_choice`` give a schema item's; the Jinja
filters of the same names (installed by ``install``) do it in templates, so ``field.label``
stays the Chinese name everywhere else.
"""
from flask import current_app, has_app_context, has_request_context
from flask_babel import LazyString, force_locale, get_locale
from flask_babel import gettext as _babel_gettext

from app.forms.schema import Phrase


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


def current_language():
    """"en" or "zh": the request's language; the default locale's without a request; "zh"
    where Babel is not set up."""
    if not has_app_context() or "babel" not in current_app.extensions:
        return "zh"
    if has_request_context():
        locale = get_locale()
        return locale.language if locale is not None else "zh"
    return str(current_app.extensions["babel"].default_locale).split("_")[0]


def _translate(msgid):
    """A message template in the current language (no formatting: ``Phrase`` fills it in)."""
    if has_request_context():
        return _babel_gettext(msgid)
    with force_locale(current_app.extensions["babel"].default_locale):
        return _babel_gettext(msgid)


def localize(text):
    """``text`` in the current language: a ``Phrase`` (schema labels, field errors, package
    refusals) in English when the user chose English, its Chinese otherwise; any other value as
    it is (data, or a string already translated)."""
    if not isinstance(text, Phrase):
        return text
    if current_language() == "zh":
        return str(text)
    return text.translated(_translate)


def display_label(item):
    """The label of a schema item (``Field``, ``Slot``, ``Group``, ``Table``, ``FormSchema``) in
    the current language; its Chinese ``label`` where it has no English."""
    return localize(item.text_label)


def display_help(item):
    return localize(item.text_help)


def display_choice(value, field):
    """A stored choice (是/否: census data, stored in Chinese) as the current language shows it."""
    return localize(field.choice_label(value)) if value else value


def lazy_label(item):
    """``display_label`` evaluated when shown (class attributes such as FAB's label_columns)."""
    return LazyString(display_label, item)


def display_role(name):
    """A role's name (组织单位, 系统管理员: FAB role names, kept in Chinese in the database) in
    the current language; a role without a translation shows its own name."""
    return gettext(name) if name else name


def display_roles(roles):
    """A user's roles for a list cell: their names in the current language."""
    return ", ".join(display_role(role.name) for role in roles or ())


# The roles pucha creates (config.AUTH_ROLE_ADMIN, AUTH_ROLE_ORG), marked for the catalogue.
ROLE_NAMES = (N_("系统管理员"), N_("组织单位"))


def install(app):
    """The template filters: ``{{ field|label }}``, ``{{ field|help }}``,
    ``{{ value|choice(field) }}``, ``{{ error.message|localize }}``, ``{{ role.name|role }}``."""
    app.jinja_env.filters.update(label=display_label, help=display_help, choice=display_choice,
                                 localize=localize, role=display_role)
