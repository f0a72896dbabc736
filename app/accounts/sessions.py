"""Sessions and API tokens end when the account's credentials change, and at logout.

A password reset by the parent unit is what a unit asks for when a password was lost or may have
leaked; it must also end whatever that password had opened. Every password change, set and reset
moves ``PuchaUser.credentials_changed_at`` forward; a browser session remembers when it logged in
and a JWT carries its issue time, and either one older than the change is refused.
"""
import time

from flask import session

SESSION_KEY = "pucha_auth_at"
# A claim in every JWT with the exact issue time: ``iat`` has whole seconds, too coarse to tell a
# token issued just before a change from the fresh one handed out just after it.
TOKEN_CLAIM = "pucha_auth_at"


def token_claims(identity):
    return {TOKEN_CLAIM: time.time()}


def mark_session_fresh():
    """This browser session has just proved the current credentials (login, own change)."""
    session[SESSION_KEY] = time.time()


def _ended_at(user):
    """The time before which nothing this account opened is valid any more, or None."""
    marks = [mark for mark in (getattr(user, "credentials_changed_at", None),
                               getattr(user, "sessions_ended_at", None)) if mark is not None]
    return max(marks).timestamp() if marks else None


def session_outdated(user):
    ended = _ended_at(user)
    return ended is not None and session.get(SESSION_KEY, 0) < ended


def token_outdated(user, jwt_data):
    ended = _ended_at(user)
    return ended is not None and jwt_data.get(TOKEN_CLAIM, 0) < ended
