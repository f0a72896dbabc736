"""The forced password change and the outdated-login check: what the pages' before_request hook
and the JWT user loader (app.accounts.security) both enforce.

Both sides need the same answers and the same list of endpoints a user who must change the
password may still reach, so they live here, below the views and the security manager, and
neither has to import the other.
"""
from flask import flash, g, jsonify, redirect, request, url_for
from flask_babel import gettext
from flask_login import logout_user

from app.accounts.sessions import session_outdated

PASSWORD_CHANGE_REQUIRED = {"message": "首次登录必须修改初始密码",
                            "code": "password_change_required"}
CREDENTIALS_CHANGED = {"message": "登录已失效：本账号已退出登录，或密码已修改或被重置，请重新登录",
                       "code": "credentials_changed"}
# The only API endpoint a user who must change the password may call with its token.
API_PASSWORD_ENDPOINTS = {"AccountApi.change_password"}
# The pages such a user may still open: the change form itself.
PAGE_PASSWORD_ENDPOINTS = {"ChangePasswordView.this_form_get", "ChangePasswordView.this_form_post"}


def _exempt_endpoints(appbuilder):
    exempt = PAGE_PASSWORD_ENDPOINTS | API_PASSWORD_ENDPOINTS | {"static"}
    if appbuilder.sm.auth_view is not None:
        exempt.add(f"{appbuilder.sm.auth_view.endpoint}.logout")
    locale_view = getattr(appbuilder.bm, "locale_view", None)
    if locale_view is not None:
        exempt.add(f"{locale_view.endpoint}.{locale_view.default_view}")
    return exempt


def make_password_change_guard(appbuilder):
    """A before_request hook (registered after FAB's, so g.user is set) sending a logged-in user
    who still has to change the password to the change page, whatever page it asks for."""
    exempt = _exempt_endpoints(appbuilder)

    def require_password_change():
        user = getattr(g, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        if session_outdated(user):
            logout_user()
            flash(gettext("登录已失效：本账号已退出登录，或密码已修改或被重置，请重新登录"), "warning")
            return redirect(appbuilder.get_url_for_login)
        if not getattr(user, "must_change_password", False):
            return None
        endpoint = request.endpoint or ""
        if endpoint in exempt or endpoint.endswith(".static") or not endpoint:
            return None
        if request.path.startswith("/api/"):
            return jsonify(PASSWORD_CHANGE_REQUIRED), 403
        return redirect(url_for("ChangePasswordView.this_form_get"))

    return require_password_change
