"""pucha's security manager: FAB's, with org accounts, lockout and the forced password change."""
import dataclasses
import logging
from types import SimpleNamespace

from flask import abort, has_request_context, jsonify, make_response, request
from flask_appbuilder.security.sqla.manager import SecurityManager

from app import audit, clock
from app.accounts import commands, lockout
from app.accounts.guard import API_PASSWORD_ENDPOINTS, CREDENTIALS_CHANGED, PASSWORD_CHANGE_REQUIRED
from app.accounts.login import PuchaAuthDBView, PuchaSecurityApi
from app.accounts.logout import end_sessions
from app.accounts.models import PuchaUser
from app.accounts.passwords import verify_password
from app.accounts.provisioning import HIDDEN_MENU_ENTRIES, hide_menu_entries
from app.accounts.sessions import mark_session_fresh, token_claims, token_outdated
from app.accounts.users import PuchaRoleModelView, PuchaUserApi, PuchaUserDBModelView
from app.accounts.views import AdminSetPasswordView, ChangePasswordView

log = logging.getLogger(__name__)

# Usernames longer than this are not looked up and are audited cut to this length.
USERNAME_MAX = 64


@dataclasses.dataclass(frozen=True)
class LoginResult:
    """The user when the password was right; the lock when the attempt was refused by one."""

    user: PuchaUser | None = None
    lock: lockout.Lock | None = None


def _client_address():
    return request.remote_addr if has_request_context() else None


class PuchaSecurityManager(SecurityManager):
    user_model = PuchaUser
    # FAB's "reset my password" form and the admin's "reset password" form are replaced by ours,
    # so that every way of setting a password goes through the password policy and the audit.
    resetmypasswordview = ChangePasswordView
    resetpasswordview = AdminSetPasswordView
    # The login page and the JWT login tell a lock from a wrong password; the API is rate-limited.
    authdbview = PuchaAuthDBView
    security_api = PuchaSecurityApi
    # FAB's user list and user API, with a 单位 field and the account checks (app.accounts.users).
    userdbmodelview = PuchaUserDBModelView
    user_api = PuchaUserApi
    # FAB's pages an administrator of the census does not need are not offered (docs/security.md
    # "FAB's pages"): 用户统计 draws with Google's online chart loader, which the CSP and an
    # offline network block, and 最后登录 on 账号管理 answers its question; the permission pages
    # are off in config.py; 用户组列表 is hidden from the menu and granted to nobody
    # (provisioning.HIDDEN_VIEWS). 角色列表 is read-only.
    userstatschartview = None
    rolemodelview = PuchaRoleModelView

    def register_views(self):
        super().register_views()
        hide_menu_entries(self.appbuilder.menu, HIDDEN_MENU_ENTRIES)

    # --- login with lockout --------------------------------------------------------------------
    def auth_user_db(self, username, password):
        """FAB's entry point for a database login: the user, or None."""
        return self.authenticate(username, password).user

    def authenticate(self, username, password):
        """Check a login attempt against the lockout (app/accounts/lockout.py) and the password.

        Every attempt that reaches a password check does the same hash work (one scrypt
        verification, see ``verify_password``): an unknown name, an account on its initial
        password, a hashed one and a locked one cost the same. Failures, locks and refusals are
        audited with the client address, in the transaction that counts them.
        """
        if not isinstance(username, str) or not username:
            return LoginResult()
        address = _client_address()
        now = clock.now()
        user = None
        if len(username) <= USERNAME_MAX:
            # Both look-ups always, as FAB does, so a known name costs the same queries.
            by_name = self.find_user(username=username)
            by_email = self.find_user(email=username)
            user = by_name or by_email
        name = username[:USERNAME_MAX]
        if user is None or not user.is_active:
            verify_password(None, password)
            self._audit_login(None, "login_failed", name, reason="账号不存在或已停用")
            self.session.commit()
            return LoginResult()

        lock = lockout.current_lock(self.session, user, address, now)
        if lock is not None:
            # Not checked: a guess made during a lock learns nothing, right or wrong.
            verify_password(None, password)
            self._audit_login(user, "login_refused_locked", user.username,
                              reason="账号锁定期间尝试登录",
                              detail={"scope": lock.scope,
                                      "locked_until": lock.until.isoformat(timespec="seconds")})
            self.session.commit()
            return LoginResult(lock=lock)

        if verify_password(user, password):
            lockout.record_success(self.session, user, address, now)
            self.update_user_auth_stat(user, True)
            return LoginResult(user=user)

        failure = lockout.record_failure(self.session, user, address, now)
        self._audit_login(user, "login_failed", user.username, reason="密码错误",
                          detail={"failures_from_address": failure.source_failures,
                                  "failures_in_a_row": failure.account_failures})
        if failure.lock is not None:
            self._audit_login(
                user, "account_locked", user.username,
                reason=(f"同一地址连续 {lockout.threshold()} 次登录失败"
                        if failure.lock.scope == lockout.SOURCE
                        else f"各地址合计连续 {lockout.account_threshold()} 次登录失败"),
                detail={"scope": failure.lock.scope,
                        "locked_until": failure.lock.until.isoformat(timespec="seconds"),
                        "minutes": round((failure.lock.until - now).total_seconds() / 60)})
        self.session.commit()
        self.on_user_login_failed(user)
        return LoginResult(lock=failure.lock)

    def _audit_login(self, user, action, username, reason=None, detail=None):
        detail = dict(detail or {})
        address = _client_address()
        if address:
            detail["ip"] = address
        audit.record(self.session, action, "user", username, actor=None,
                     org_id=getattr(user, "org_id", None), reason=reason, detail=detail or None)

    def create_jwt_manager(self, app):
        jwt_manager = super().create_jwt_manager(app)
        jwt_manager.additional_claims_loader(token_claims)
        return jwt_manager

    def on_user_login(self, user):
        if has_request_context():
            mark_session_fresh()

    def on_user_logout(self, user):
        end_sessions(self.session, user)
        self.session.commit()

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
        user = self.get_user_by_id(userid)
        commands.set_password(self.session, None, user, password)
        self.session.commit()
