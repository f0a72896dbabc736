"""Web views and the REST API of app.accounts.

Thin on purpose: each route checks the form, calls a command in app.accounts.commands and maps
its errors to a flash message or a JSON status. Rows for actions are reloaded with the scoped
loader, because FAB's action/action_post hand over rows loaded without base_filters.
"""
import io
import logging

from flask import abort, current_app, flash, g, redirect, request, send_file, url_for
from flask_appbuilder import ModelView, SimpleFormView, expose, has_access
from flask_appbuilder.actions import action
from flask_appbuilder.api import BaseApi, safe
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.forms import DynamicForm
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import protect
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_jwt_extended import create_access_token
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import DataRequired

from app import audit
from app.accounts import commands, display
from app.accounts.account_table import build_account_table, table_filename
from app.accounts.guard import make_password_change_guard
from app.accounts.login import too_many_requests
from app.accounts.models import PuchaUser
from app.accounts.sessions import mark_session_fresh
from app.orgs.models import Org
from app.orgs.scope import viewer_for

log = logging.getLogger(__name__)

CHANGE_PASSWORD_URL = "/account/password/"
# How much of a mistyped unit code the refusal repeats (real codes have 6 characters).
CODE_ECHO_MAX = 20


def _session():
    return current_app.appbuilder.session


def _min_length():
    return current_app.config.get("PASSWORD_MIN_LENGTH", 8)


def password_rules():
    return gettext("至少 %(n)s 位，必须同时包含字母和数字，且不能与初始密码或当前密码相同",
                   n=_min_length())


# --- change my password ------------------------------------------------------------------------
class ChangePasswordForm(DynamicForm):
    old_password = PasswordField(_l("原密码"),
                                 validators=[DataRequired(message=_l("请输入原密码"))],
                                 widget=BS3PasswordFieldWidget())
    password = PasswordField(_l("新密码"),
                             validators=[DataRequired(message=_l("请输入新密码"))],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField(_l("确认新密码"),
                                  validators=[DataRequired(message=_l("请再次输入新密码"))],
                                  widget=BS3PasswordFieldWidget())


class ChangePasswordView(SimpleFormView):
    """The one change-password page, at a stable URL; FAB's "reset my password" leads here too."""

    route_base = "/account/password"
    form = ChangePasswordForm
    form_title = _l("修改密码")

    def _render(self, form):
        self._init_vars()
        form.password.description = password_rules()
        title = self.form_title
        if getattr(g.user, "must_change_password", False):
            title = _l("首次登录（或密码被重置后）必须修改初始密码")
        return self.render_template(self.form_template, title=title,
                                    widgets=self._get_edit_widget(form=form),
                                    appbuilder=self.appbuilder)

    @expose("/", methods=["GET"])
    @has_access
    def this_form_get(self):
        return self._render(self.form.refresh())

    @expose("/", methods=["POST"])
    @has_access
    def this_form_post(self):
        form = self.form.refresh()
        if not form.validate_on_submit():
            return self._render(form)
        session = _session()
        user = session.get(PuchaUser, g.user.id)
        try:
            commands.change_password(session, user, form.old_password.data, form.password.data,
                                     repeat=form.conf_password.data)
        except commands.AccountError as error:
            session.rollback()
            for message in error.messages:
                flash(message, "danger")
            return self._render(form)
        session.commit()
        # This session proved the new password; the account's other sessions and tokens end.
        mark_session_fresh()
        flash(gettext("密码已修改，请牢记新密码。"), "success")
        return redirect(self.appbuilder.get_url_for_index)


class AdminSetPasswordForm(DynamicForm):
    password = PasswordField(_l("新密码"), validators=[DataRequired()],
                             widget=BS3PasswordFieldWidget())
    conf_password = PasswordField(_l("确认新密码"), validators=[DataRequired()],
                                  widget=BS3PasswordFieldWidget())


class AdminSetPasswordView(SimpleFormView):
    """Replaces FAB's "reset password" form on its user list: same URL, our policy and audit."""

    admin_only = True
    route_base = "/resetpassword"
    form = AdminSetPasswordForm
    form_title = _l("为用户设置密码")

    def form_post(self, form):
        session = _session()
        pk = request.args.get("pk")
        user = session.get(PuchaUser, int(pk)) if pk and pk.isdigit() else None
        if user is None:
            abort(404)
        if form.password.data != form.conf_password.data:
            flash(gettext("两次输入的新密码不一致"), "danger")
            return redirect(request.full_path)
        try:
            commands.set_password(session, g.user, user, form.password.data)
        except commands.AccountError as error:
            session.rollback()
            for message in error.messages:
                flash(message, "danger")
            return redirect(request.full_path)
        session.commit()
        flash(gettext("已为 %(name)s 设置新密码，该用户下次登录须修改。", name=user.username), "success")
        return redirect(self.appbuilder.get_url_for_index)


# --- account management ------------------------------------------------------------------------
class ManagedAccountsFilter(BaseFilter):
    """The accounts the viewer manages: its direct sub-units' (everything for an administrator)."""

    name = _l("下级单位账号")
    arg_name = "managed"

    def apply(self, query, value):
        return query.filter(commands.managed_accounts_clause(g.user))


class AccountModelView(ModelView):
    route_base = "/accounts"
    datamodel = SQLAInterface(PuchaUser)
    list_template = "accounts/account_list.html"
    list_title = _l("账号管理")
    base_filters = [["id", ManagedAccountsFilter, None]]
    base_order = ("username", "asc")
    # No add/edit/delete/show: accounts are provisioned, and changed only through the commands.
    include_route_methods = {"list", "action", "action_post", "download_table"}
    list_columns = ["username", "org.name", "status_label", "initial_password_label",
                    "last_login"]
    order_columns = ["username", "org.name", "last_login"]
    search_columns = ["username", "first_name"]
    label_columns = {
        "username": _l("用户名"),
        "org.name": _l("单位"),
        "first_name": _l("单位名称"),
        "status_label": _l("状态"),
        "initial_password_label": _l("初始密码状态"),
        "last_login": _l("最后登录"),
    }
    formatters_columns = {"last_login": display.last_login}
    page_size = 50

    def render_template(self, template, **kwargs):
        kwargs.setdefault("viewer_is_admin", viewer_for(g.user).is_admin)
        kwargs.setdefault("hands_out_accounts", commands.manages_accounts(_session(), g.user))
        return super().render_template(template, **kwargs)

    def _get_list_widget(self, *args, **kwargs):
        widgets = super()._get_list_widget(*args, **kwargs)
        if not commands.manages_accounts(_session(), g.user):
            # A unit without sub-units has no account to act on: no empty 操作 menu.
            widgets["list"].template_args["actions"] = {}
        return widgets

    def _each_managed(self, items, operation):
        """Run ``operation(session, target)`` on every selected account the viewer manages.

        Each row is reloaded through the scoped loader: FAB loaded ``items`` without our base
        filter. Returns (done: [(username, result)], refused: [messages]).
        """
        items = items if isinstance(items, list) else [items]
        session = _session()
        done, refused = [], []
        for item in items:
            pk = getattr(item, "id", None)
            if pk is None:
                continue
            try:
                target = commands.load_managed_user(session, g.user, pk=pk)
                done.append((target.username, operation(session, target)))
            except commands.AccountError as error:
                refused.append(error.messages[0])
        session.commit()
        for message in sorted(set(refused)):
            flash(message, "danger")
        return done

    @action("resetpassword", _l("重置密码"),
            _l("确定重置所选账号的密码吗？原密码立即失效，新的初始密码显示在下级账号表中，"
               "用户登录后须修改。"),
            "fa-key", multiple=True, single=False)
    def resetpassword(self, items):
        done = self._each_managed(
            items, lambda session, target: commands.reset_password(session, g.user, target))
        if done:
            names = gettext("、").join(gettext("%(name)s（新初始密码 %(password)s）", name=name,
                                                password=password)
                                        for name, password in done)
            flash(gettext("已重置：%(names)s。新的初始密码已写入下级账号表，用户登录后须修改。",
                          names=names), "success")
        return redirect(url_for(".list"))

    @action("unlock", _l("解锁"),
            _l("确定解锁所选账号吗？因多次登录失败而设的锁定立即解除，密码不变。"),
            "fa-unlock", multiple=True, single=False)
    def unlock(self, items):
        done = self._each_managed(
            items, lambda session, target: commands.unlock_account(session, g.user, target))
        if done:
            flash(gettext("已解锁：%(names)s。密码不变，可立即登录。",
                          names=gettext("、").join(name for name, _ in done)), "success")
        return redirect(url_for(".list"))

    @expose("/download/")
    @has_access
    def download_table(self):
        session = _session()
        actor = g.user
        code = (request.args.get("org") or "").strip()
        if viewer_for(actor).is_admin:
            stmt = select(Org).where(Org.code == code) if code else \
                select(Org).where(Org.parent_id.is_(None)).order_by(Org.level, Org.code)
            org = session.execute(stmt).scalars().first()
            if org is None:
                # Typed by hand into the form above the list: say what was wrong, there.
                flash(gettext("没有代码为“%(code)s”的单位，请核对单位代码（留空为国家级）",
                              code=code[:CODE_ECHO_MAX]), "danger")
                return redirect(url_for(".list"))
        else:
            org = actor.org
            if code and org is not None and code != org.code:
                # A unit downloads only its own table of direct sub-units.
                abort(403)
            if org is None:
                abort(404)
            if not commands.manages_accounts(session, actor):
                flash(gettext("本单位没有下级单位，不需要发放账号。"), "info")
                return redirect(url_for(".list"))
        data = build_account_table(session, org)
        audit.record(session, "download", "account_table", org.code, actor=actor,
                     detail={"file": table_filename(org)})
        session.commit()
        return send_file(io.BytesIO(data), as_attachment=True,
                         download_name=table_filename(org),
                         mimetype="application/vnd.openxmlformats-officedocument"
                                  ".spreadsheetml.sheet")


# --- REST API ----------------------------------------------------------------------------------
class AccountApi(BaseApi):
    """Password change for the logged-in user and password reset by the parent unit (JWT)."""

    resource_name = "account"
    openapi_spec_tag = "Account"

    def _error(self, error):
        return self.response(error.status, message="；".join(error.messages),
                             errors=error.messages)

    @expose("/password", methods=["POST"])
    @protect()
    @safe
    def change_password(self):
        """Change the current user's password.
        ---
        post:
          description: >-
            Replace the current password (the initial one included). A token of a user who must
            still change the initial password opens only this endpoint. Every token issued before
            the change stops working; the answer carries a fresh access token.
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  properties:
                    old_password: {type: string}
                    new_password: {type: string}
          responses:
            200:
              description: Password changed; `access_token` replaces the token used for the call
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      message: {type: string}
                      access_token: {type: string}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        payload = request.get_json(silent=True) or {}
        old, new = payload.get("old_password"), payload.get("new_password")
        if not isinstance(old, str) or not isinstance(new, str):
            return self.response_400(message=gettext("请提供 old_password 与 new_password"))
        session = _session()
        user = session.get(PuchaUser, g.user.id)
        try:
            commands.change_password(session, user, old, new)
        except commands.AccountError as error:
            session.rollback()
            return self._error(error)
        session.commit()
        return self.response(200, message=gettext("密码已修改"),
                             access_token=create_access_token(identity=str(user.id), fresh=True))

    @expose("/<username>/reset", methods=["POST"])
    @protect()
    @safe
    def reset(self, username):
        """Reset a direct sub-unit's account to a new initial password.
        ---
        post:
          description: >-
            Allowed to the parent unit of the account's unit and to administrators. Returns the
            new initial password, which also appears in the parent's account table.
          parameters:
          - in: path
            name: username
            required: true
            schema: {type: string}
          responses:
            200:
              description: Password reset
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        return self._on_managed(
            username, commands.reset_password,
            lambda target, password: dict(username=target.username, initial_password=password,
                                          message=gettext("密码已重置，用户登录后须修改")))

    @expose("/<username>/unlock", methods=["POST"])
    @protect()
    @safe
    def unlock(self, username):
        """Lift the locks a direct sub-unit's account got from repeated failed logins.
        ---
        post:
          description: >-
            Allowed to the parent unit of the account's unit and to administrators. Lifts the
            lock from every address and the account-wide one; the password is not changed.
          parameters:
          - in: path
            name: username
            required: true
            schema: {type: string}
          responses:
            200:
              description: >-
                Unlocked; `lifted` says what was locked (`account`: until when, `addresses`)
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
        """
        return self._on_managed(
            username, commands.unlock_account,
            lambda target, lifted: dict(username=target.username, lifted=lifted,
                                        message=gettext("账号已解锁，密码不变")))

    def _on_managed(self, username, operation, answer):
        """Run ``operation(session, actor, target)`` on an account the caller manages (scoped
        loader), commit, and answer 200 with ``answer(target, result)``; refusals map to 4xx."""
        session = _session()
        actor = session.get(PuchaUser, g.user.id)
        try:
            target = commands.load_managed_user(session, actor, username=username)
            result = operation(session, actor, target)
        except commands.AccountError as error:
            session.rollback()
            return self._error(error)
        session.commit()
        return self.response(200, **answer(target, result))


def register(appbuilder):
    """Add this area's views and menu entries."""
    # ChangePasswordView and AdminSetPasswordView are registered by the security manager, which
    # uses them in place of FAB's own password forms.
    appbuilder.add_view(AccountModelView, "账号管理", icon="fa-users", label=_l("账号管理"),
                        category="系统管理", category_label=_l("系统管理"),
                        category_icon="fa-cogs")
    appbuilder.add_link("修改密码", href=CHANGE_PASSWORD_URL, icon="fa-key",
                        label=_l("修改密码"), category="系统管理")
    appbuilder.add_api(AccountApi)
    current_app.before_request(make_password_change_guard(appbuilder))
    current_app.register_error_handler(RateLimitExceeded, too_many_requests)
