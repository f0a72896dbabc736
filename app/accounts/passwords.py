"""Initial passwords and the password policy (SPEC §2).

Initial passwords are read aloud, faxed and typed from paper, so they never contain characters
people confuse (``0 O o 1 l I``). Every way of choosing a new password (web form, API, CLI, FAB's
own reset form) goes through ``password_problems``: FAB's complexity validator only guards its
own forms.
"""
import hmac
import secrets
import string

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from app.i18n_text import gettext as _

CONFUSABLE = set("0Oo1lI")
LETTERS = "".join(c for c in string.ascii_letters if c not in CONFUSABLE)
DIGITS = "".join(c for c in string.digits if c not in CONFUSABLE)
ALPHABET = LETTERS + DIGITS
MIN_INITIAL_LENGTH = 8


def _config(name, default):
    try:
        return current_app.config.get(name, default)
    except RuntimeError:  # outside an app context (a script, a unit test of this module)
        import config

        return getattr(config, name, default)


def generate_initial_password(length=None):
    """A random initial password: letters and digits, both always present, none confusable."""
    length = max(int(length or _config("INITIAL_PASSWORD_LENGTH", 10)), MIN_INITIAL_LENGTH)
    rng = secrets.SystemRandom()
    # One letter and one digit are placed first and the rest drawn from the whole alphabet, then
    # everything is shuffled: rejection sampling would also work but this never loops.
    chars = [secrets.choice(LETTERS), secrets.choice(DIGITS)]
    chars += [secrets.choice(ALPHABET) for _ in range(length - 2)]
    rng.shuffle(chars)
    return "".join(chars)


def _has_letter(value):
    return any(c.isascii() and c.isalpha() for c in value)


def _has_digit(value):
    return any(c.isascii() and c.isdigit() for c in value)


def verify_password(user, password):
    """True when ``password`` opens ``user``'s account.

    While the account still has its initial password (no hash, ``initial_password`` set) it is
    compared in constant time with the stored initial password; afterwards with the scrypt hash.
    See docs/security.md for why the initial password is not hashed.
    """
    if not password:
        return False
    if user.password is None:
        if not user.initial_password:
            return False
        return hmac.compare_digest(user.initial_password.encode("utf-8"),
                                   password.encode("utf-8"))
    return check_password_hash(user.password, password)


def hash_password(password):
    return generate_password_hash(
        password,
        method=_config("FAB_PASSWORD_HASH_METHOD", "scrypt"),
        salt_length=_config("FAB_PASSWORD_HASH_SALT_LENGTH", 16),
    )


def password_problems(new, user=None):
    """Why ``new`` is not acceptable as ``user``'s new password (an empty list when it is)."""
    problems = []
    new = new or ""
    min_length = max(int(_config("PASSWORD_MIN_LENGTH", 8)), 1)
    if len(new) < min_length:
        problems.append(_("密码长度不能少于 %(n)s 位", n=min_length))
    if not (_has_letter(new) and _has_digit(new)):
        problems.append(_("密码必须同时包含字母和数字"))
    if any(c.isspace() for c in new):
        problems.append(_("密码不能包含空格"))
    if user is not None and new:
        if user.initial_password and hmac.compare_digest(
                user.initial_password.encode("utf-8"), new.encode("utf-8")):
            problems.append(_("新密码不能与初始密码相同"))
        elif user.password and check_password_hash(user.password, new):
            problems.append(_("新密码不能与当前密码相同"))
    return problems
