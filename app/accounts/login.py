"""The login page and the JWT login, both rate-limited per address and both telling a lock apart.

FAB's versions answer a lock with "无效的用户名或密码" (the security manager can only return
None), and FAB's ``AUTH_RATE_LIMIT`` covers the web form only. These subclasses call
``PuchaSecurityManager.authenticate``, which says whether the attempt was refused by a lock, and
the API carries the same per-address limit as the form, through the limiter FAB creates.
"""
import math
import time

from flask import current_app, flash, g, jsonify, make_response, redirect, request, session
from flask_appbuilder._compat import as_unicode
from flask_appbuilder.api import expose, safe
from flask_appbuilder.const import (
    API_SECURITY_ACCESS_TOKEN_KEY,
    API_SECURITY_PROVIDER_DB,
    API_SECURITY_REFRESH_TOKEN_KEY,
)
from flask_appbuilder.security.api import SecurityApi
from flask_appbuilder.security.decorators import no_cache
from flask_appbuilder.security.forms import LoginForm_db
from flask_appbuilder.security.schemas import login_post
from flask_appbuilder.security.views import AuthDBView
from flask_appbuilder.utils.base import get_safe_redirect
from flask_appbuilder.utils.limit import Limit
from flask_babel import gettext
from flask_jwt_extended import create_access_token, create_refresh_token
from flask_limiter.util import get_remote_address
from flask_login import login_user
from marshmallow import ValidationError

from app import clock
from app.accounts.lockout import attempts_left, lock_message
from app.accounts.logout import LogoutByPost

ACCOUNT_LOCKED = "account_locked"
RATE_LIMITED = "rate_limited"


def _login_rate_limit():
    return current_app.config["AUTH_RATE_LIMIT"]


def _login_not_limited():
    return not current_app.config.get("AUTH_RATE_LIMITED", False)


def seconds_until(moment, now):
    return max(1, math.ceil((moment - now).total_seconds()))


# The login page's memory of the last failed attempt, in the signed session cookie: the name
# typed (kept in the form) and how many failures in a row this browser has seen for it.
LAST_ATTEMPT = "pucha_login_attempt"
# Longer names are kept cut: the lookup ignores them anyway (security.USERNAME_MAX).
KEPT_NAME_MAX = 64


def remember_failure(name, locked):
    """Count a failed attempt for ``name`` in this browser's session; a lock restarts the count
    (the address gets a fresh series after it)."""
    name = (name or "")[:KEPT_NAME_MAX]
    previous = session.get(LAST_ATTEMPT) or {}
    seen = previous.get("failures", 0) if previous.get("name") == name else 0
    session[LAST_ATTEMPT] = {"name": name, "failures": 0 if locked else seen + 1}


def last_attempt():
    """(name, failures seen) of the last failed attempt in this session, or ("", 0)."""
    attempt = session.get(LAST_ATTEMPT) or {}
    name, failures = attempt.get("name"), attempt.get("failures")
    if not isinstance(name, str) or not isinstance(failures, int):
        return "", 0
    return name, failures


class PuchaAuthDBView(LogoutByPost, AuthDBView):
    """FAB's login form, saying plainly when the account is locked instead of "invalid login";
    logout by POST only (app/accounts/logout.py).

    The page helps as seed 004 §4 asks: it says which characters an initial password never has,
    keeps the typed username after a failed attempt, and says how many attempts are left before
    the lock. That number comes from this browser's own count for the typed name, never from the
    account's: the same answer whether the name exists or not (docs/security.md).
    """

    login_template = "accounts/login.html"

    @expose("/login/", methods=["GET", "POST"])
    @no_cache
    def login(self):
        if g.user is not None and g.user.is_authenticated:
            return redirect(self._get_safe_next_url())
        form = LoginForm_db()
        if form.validate_on_submit():
            next_url = get_safe_redirect(request.args.get("next", ""))
            result = self.appbuilder.sm.authenticate(form.username.data, form.password.data)
            if result.user is None:
                remember_failure(form.username.data, locked=result.lock is not None)
                if result.lock is not None:
                    flash(lock_message(result.lock, clock.now()), "danger")
                else:
                    flash(as_unicode(self.invalid_login_message), "warning")
                return redirect(self.appbuilder.get_url_for_login_with(next_url))
            session.pop(LAST_ATTEMPT, None)
            login_user(result.user, remember=False)
            return redirect(next_url)
        name, failures = last_attempt()
        if not form.username.data and name:
            form.username.data = name
        return self.render_template(
            self.login_template, title=self.title, form=form, appbuilder=self.appbuilder,
            failures=failures, attempts_left=attempts_left(failures) if failures else None)


class PuchaSecurityApi(SecurityApi):
    """FAB's JWT login with the web form's per-address rate limit and a plain answer to a lock."""

    # FAB applies an API's limits to its whole blueprint, each route counted on its own: the
    # login and the token refresh get AUTH_RATE_LIMIT per address each. The value is read per
    # request, so the configured limit is the one in force.
    limits = [Limit(_login_rate_limit, key_func=get_remote_address, methods=("POST",),
                    exempt_when=_login_not_limited)]

    @expose("/login", methods=["POST"])
    @safe
    def login(self):
        """Log in and get a JWT access token (and optionally a refresh token).
        ---
        post:
          description: >-
            Authenticate with username and password. Rate-limited per client address
            (`AUTH_RATE_LIMIT`). Repeated failures lock the account for the calling address
            (docs/security.md): while locked no password is checked and the answer is 429 with
            `code: account_locked`, the time the lock ends and a `Retry-After` header.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    username: {type: string, example: "330102"}
                    password: {type: string}
                    provider: {type: string, enum: [db], example: db}
                    refresh: {type: boolean}
          responses:
            200:
              description: Authentication successful
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      access_token: {type: string}
                      refresh_token: {type: string}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            429:
              description: >-
                The account is locked for this address (`code: account_locked`, `locked_until`,
                `retry_after`), or too many requests from this address (`code: rate_limited`)
        """
        if not request.is_json:
            return self.response_400(message="Request payload is not JSON")
        try:
            payload = login_post.load(request.get_json(silent=True))
        except ValidationError as error:
            return self.response_400(message=error.messages)
        if payload.get("provider", API_SECURITY_PROVIDER_DB) != API_SECURITY_PROVIDER_DB:
            return self.response_401()
        result = self.appbuilder.sm.authenticate(payload["username"], payload["password"])
        if result.lock is not None:
            now = clock.now()
            wait = seconds_until(result.lock.until, now)
            # BaseApi.response() takes the status as ``code``, the name of this body's field.
            response = make_response(jsonify(
                message=lock_message(result.lock, now), code=ACCOUNT_LOCKED,
                locked_until=result.lock.until.isoformat(timespec="minutes"),
                retry_after=wait), 429)
            response.headers["Retry-After"] = str(wait)
            return response
        if result.user is None:
            return self.response_401()
        answer = {API_SECURITY_ACCESS_TOKEN_KEY: create_access_token(
            identity=str(result.user.id), fresh=True)}
        if payload.get("refresh"):
            answer[API_SECURITY_REFRESH_TOKEN_KEY] = create_refresh_token(
                identity=str(result.user.id))
        return self.response(200, **answer)


def too_many_requests(error):
    """Flask-Limiter's refusal in Chinese: JSON for the API, a short page for the rest."""
    limiter = current_app.extensions.get("limiter")
    current = getattr(limiter, "current_limit", None)
    retry_after = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    message = gettext("请求过于频繁，请于 %(seconds)s 秒后再试", seconds=retry_after)
    if request.path.startswith("/api/"):
        response = make_response(jsonify(message=message, code=RATE_LIMITED,
                                         retry_after=retry_after), 429)
    else:
        response = make_response(message, 429)
        response.mimetype = "text/plain"
    response.headers["Retry-After"] = str(retry_after)
    return response
