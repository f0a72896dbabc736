"""Initial passwords and the password policy (SPEC §2).

Initial passwords are read aloud, faxed and typed from paper, so they never contain characters
people confuse (``0 O o 1 l I``). Every way of choosing a new password (web form, API, CLI, FAB's
own reset form) goes through ``password_problems``: FAB's complexity validator only guards its
own forms.
"""
import functools
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
# A login's password longer than this is refused unchecked (after the same hash work as any
# other): hashing megabytes of attacker input would make one request cost far more than another.
MAX_PASSWORD_CHARS = 256


def _config(name, default):
    try:
        return current_app.config.get(name, default)
    except RuntimeError:  # outside an app context (a script, a unit test of this module)
        # Only here: importing config creates var/ and the secret key file, a side effect that
        # importing this module must not have.
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
    """True when ``password`` opens ``user``'s account; ``user`` None checks against nothing.

    Every call does the same hash work, exactly one scrypt verification, whatever the outcome:
    against the account's hash when it has one, otherwise (initial password, unknown or locked
    account, empty password) against a dummy hash of the same parameters. A failed login then
    costs the same for every account, and its timing does not tell an untaken account (still on
    its initial password) from a taken one or from a name that does not exist. The initial
    password itself is compared in constant time; see docs/security.md for why it is kept
    readable.
    """
    password = password if isinstance(password, str) else ""
    if len(password) > MAX_PASSWORD_CHARS:
        check_password_hash(_dummy_hash(), password[:MAX_PASSWORD_CHARS])
        return False
    if user is not None and user.password is not None:
        return check_password_hash(user.password, password) and bool(password)
    check_password_hash(_dummy_hash(), password)
    if user is None or not user.initial_password or not password:
        return False
    return hmac.compare_digest(user.initial_password.encode("utf-8"), password.encode("utf-8"))


@functools.cache
def _dummy_hash_for(method, salt_length):
    return generate_password_hash(secrets.token_urlsafe(16), method=method,
                                  salt_length=salt_length)


def _dummy_hash():
    """A hash of a random secret with the parameters real hashes are made with (once per
    process; it opens nothing, so holding it in memory is harmless)."""
    return _dummy_hash_for(_config("FAB_PASSWORD_HASH_METHOD", "scrypt"),
                           _config("FAB_PASSWORD_HASH_SALT_LENGTH", 16))


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
    if len(new) > MAX_PASSWORD_CHARS:
        problems.append(_("密码长度不能超过 %(n)s 位", n=MAX_PASSWORD_CHARS))
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
