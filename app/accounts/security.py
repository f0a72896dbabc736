"""pucha's security manager: FAB's, with org accounts, lockout and the forced password change."""
import datetime
import logging
from types import SimpleNamespace

from flask import abort, current_app, flash, has_request_context, jsonify, make_response, request
from flask_appbuilder.security.sqla.manager import SecurityManager
from flask_babel import gettext
from sqlalchemy import func, select, update

from app import audit
from app.accounts import commands
from app.accounts.models import PuchaUser
from app.accounts.passwords import verify_password
from app.accounts.sessions import mark_session_fresh, token_claims, token_outdated
from app.accounts.users import PuchaUserApi, PuchaUserDBModelView
from app.accounts.views import AdminSetPasswordView, ChangePasswordView

log = logging.getLogger(__name__)

PASSWORD_CHANGE_REQUIRED = {"message": "首次登录必须修改初始密码",
                            "code": "password_change_required"}
CREDENTIALS_CHANGED = {"message": "账号密码已修改或被重置，请重新登录",
                       "code": "credentials_changed"}
# The only API endpoint a user who must change the password may call with its token.
API_PASSWORD_ENDPOINTS = {"AccountApi.change_password"}


def locked_message(until):
    return gettext("账号已锁定：连续多次登录失败，请于 %(until)s 后再试，或请上级单位重置密码。",
                   until=f"{until:%Y-%m-%d %H:%M}")


def _client_address():
    return request.remote_addr if has_request_context() else None


class PuchaSecurityManager(SecurityManager):
    user_model = PuchaUser
    # FAB's "reset my password" form and the admin's "reset password" form are replaced by ours,
    # so that every way of setting a password goes through the password policy and the audit.
    resetmypasswordview = ChangePasswordView
    resetpasswordview = AdminSetPasswordView
    # FAB's user list and user API, with a 单位 field and the account checks (app.accounts.users).
    userdbmodelview = PuchaUserDBModelView
    user_api = PuchaUserApi

    # --- login with lockout --------------------------------------------------------------------
    def auth_user_db(self, username, password):
        """FAB's database login, plus a lockout stored in the user's row.

        After LOCKOUT_THRESHOLD failures in a row the account refuses every password, the right
        one too, for LOCKOUT_MINUTES. The counter and the lock live in the database so that all
        app processes see them. Failures, locks and refusals are audited.
        """
        if not username:
            return None
        user = self.find_user(username=username) or self.find_user(email=username)
        if user is None or not user.is_active:
            # FAB's path balances timing for unknown users; keep it and audit the attempt.
            super().auth_user_db(username, password)
            self._audit_login(None, "login_failed", username, reason="账号不存在或已停用")
            self.session.commit()
            return None

        now = datetime.datetime.now()
        if user.locked_until is not None and user.locked_until > now:
            self._audit_login(user, "login_refused_locked", user.username,
                              reason="账号锁定期间尝试登录")
            self.session.commit()
            self._flash(locked_message(user.locked_until))
            return None

        if verify_password(user, password):
            user.locked_until = None
            self.update_user_auth_stat(user, True)
            return user

        # Counted in SQL, not in Python, so concurrent attempts from several processes all count.
        self.session.execute(
            update(PuchaUser).where(PuchaUser.id == user.id)
            .values(fail_login_count=func.coalesce(PuchaUser.fail_login_count, 0) + 1)
            .execution_options(synchronize_session=False))
        failures = self.session.scalar(
            select(PuchaUser.fail_login_count).where(PuchaUser.id == user.id))
        threshold = int(current_app.config.get("LOCKOUT_THRESHOLD", 5))
        self._audit_login(user, "login_failed", user.username, reason="密码错误",
                          detail={"failures_in_a_row": failures})
        if threshold > 0 and failures >= threshold:
            minutes = int(current_app.config.get("LOCKOUT_MINUTES", 15))
            until = now + datetime.timedelta(minutes=minutes)
            # The counter restarts so the account gets a fresh series once the lock expires.
            self.session.execute(
                update(PuchaUser).where(PuchaUser.id == user.id)
                .values(locked_until=until, fail_login_count=0)
                .execution_options(synchronize_session=False))
            self._audit_login(user, "account_locked", user.username,
                              reason=f"连续 {failures} 次登录失败",
                              detail={"locked_until": until.isoformat(timespec="seconds"),
                                      "minutes": minutes})
            self.session.commit()
            self.session.refresh(user)
            self._flash(locked_message(until))
            self.on_user_login_failed(user)
            return None
        self.session.commit()
        self.session.refresh(user)
        self.on_user_login_failed(user)
        return None

    def _audit_login(self, user, action, username, reason=None, detail=None):
        detail = dict(detail or {})
        address = _client_address()
        if address:
            detail["ip"] = address
        audit.record(self.session, action, "user", username, actor=None,
                     org_id=getattr(user, "org_id", None), reason=reason, detail=detail or None)

    @staticmethod
    def _flash(message):
        if has_request_context():
            flash(message, "danger")

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)
        jwt_manager.additional_claims_loader(token_claims)
        return jwt_manager

    def on_user_login(self, user):
        if has_request_context():
            mark_session_fresh()

    # --- the JWT hole ---------------------------------------------------------------------------
    def load_user_jwt(self, _jwt_header, jwt_data):
        """FAB sets g.user for JWT calls after app before_request hooks have run, so the forced
        password change is enforced here too: a token of a user who still has to change the
        password opens nothing but the password-change endpoint."""
        user = super().load_user_jwt(_jwt_header, jwt_data)
        if user is not None and token_outdated(user, jwt_data):
            abort(make_response(jsonify(CREDENTIALS_CHANGED), 401))
        if (user is not None and user.must_change_password and has_request_context()
                and request.endpoint not in API_PASSWORD_ENDPOINTS):
            abort(make_response(jsonify(PASSWORD_CHANGE_REQUIRED), 403))
        return user

    # --- FAB's own user factory (`flask fab create-user` / `create-admin`, self-registration) ----
    def add_user(self, username, first_name, last_name, email, role=None, password="",
                 hashed_password="", groups=None, commit=True):
        """FAB's ``add_user`` behind the account checks: the password policy, and no 组织单位
        account without a unit (FAB's callers cannot give one, so they cannot make such an
        account at all). A refusal is logged with its reasons and answered, as FAB's contract
        says, with False; FAB's CLI then reports that no user was created."""
        roles = role if isinstance(role, list) else ([role] if role else [])
        probe = SimpleNamespace(roles=roles, groups=groups or [], org=None, org_id=None)
        problems = commands.account_problems(probe, None if hashed_password else password)
        if problems:
            log.error("拒绝创建账号 %s：%s", username, "；".join(problems))
            return False
        audit.record(self.session, "user_created", "user", username,
                     detail={"by": "fab", "roles": sorted(r.name for r in roles)})
        return super().add_user(username, first_name, last_name, email, role=role,
                                password=password, hashed_password=hashed_password,
                                groups=groups, commit=commit)

    # --- FAB's own password setter (its forms and `flask fab reset-password`) --------------------
    def reset_password(self, userid, password):
        from app.accounts.commands import set_password

        user = self.get_user_by_id(userid)
        set_password(self.session, None, user, password)
        self.session.commit()
