"""Logout that ends the session on the server too, and only by POST.

A session cookie is signed, not stored: deleting it in the browser does not stop a copy taken
earlier (from a shared office PC, a proxy log, a stolen laptop). Logout therefore moves the
account's ``sessions_ended_at`` forward; every session and every API token issued before it is
refused from then on (app/accounts/sessions.py), on every app process, because the mark is in the
database. It ends all of the account's sessions, not just this one: an account is a unit's, and
after a logout nothing opened with it before should still work — the issue a unit would raise
after losing a laptop is the other way round.

Logout changes state, so it is a POST with the CSRF token: a GET would let any page log a unit
out of every session with an ``<img src=/logout/>``. A GET shows a button that posts.
"""
from flask import current_app, g, redirect, request
from flask_appbuilder import expose
from flask_login import logout_user

from app import audit, clock


class LogoutByPost:
    """Mixed into the login view (app/accounts/login.py): FAB's GET logout, replaced."""

    @expose("/logout/", methods=["GET", "POST"])
    def logout(self):
        user = getattr(g, "user", None)
        if user is None or not getattr(user, "is_authenticated", False):
            return redirect(self.appbuilder.get_url_for_index)
        if request.method == "GET":
            return self.render_template("pucha/logout.html")
        # g.user follows Flask-Login's current user, which logout_user() replaces.
        account = self.appbuilder.sm.get_user_by_id(user.id)
        logout_user()
        self.appbuilder.sm.on_user_logout(account)
        return redirect(current_app.config.get("LOGOUT_REDIRECT_URL",
                                               self.appbuilder.get_url_for_index))


def end_sessions(session, user):
    """Refuse every session and token ``user`` has now; audited. The caller commits."""
    user.sessions_ended_at = clock.now()
    audit.record(session, "logout", "user", user.username, actor=user,
                 reason="退出登录，本账号此前的会话和 API 令牌失效")
