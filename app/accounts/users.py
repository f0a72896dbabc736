"""FAB's own user administration (用户列表 and /api/v1/security/users/), held to pucha's account rules.

FAB's user form has no 单位 field and checks passwords only when its complexity switch is on, so
an administrator could create a 组织单位 account without a unit and with ``11111111``. These
subclasses keep FAB's pages and endpoints (and their permission names) but give the form a 单位
field over the scoped org query, run the password policy as a field validator, and send every
create and edit through ``commands.add_account`` / ``commands.save_account``, which apply the
same checks again, write the audit row and leave the commit to FAB with the change.
"""
from types import SimpleNamespace

from flask import current_app, g, request
from flask_appbuilder.api import expose, safe
from flask_appbuilder.fieldwidgets import BS3PasswordFieldWidget
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.security.decorators import permission_name, protect
from flask_appbuilder.security.sqla.apis.user.api import UserApi
from flask_appbuilder.security.sqla.apis.user.schema import UserPostSchema, UserPutSchema
from flask_appbuilder.security.sqla.models import Role
from flask_appbuilder.security.views import RoleModelView, UserDBModelView
from flask_appbuilder.widgets import ListWidget, ShowWidget
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError as SchemaError
from marshmallow import fields
from sqlalchemy import select
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, ValidationError

from app.accounts import commands, display
from app.accounts.models import PuchaUser
from app.accounts.passwords import password_problems
from app.i18n_text import N_, display_role, gettext
from app.orgs.models import Org
from app.orgs.views import NamedEmptyChoice, OrgSubtreeFilter


# --- validators shared by the form and the API --------------------------------------------------
class PasswordPolicy:
    """WTForms validator: the project's password policy (app.accounts.passwords)."""

    def __call__(self, form, field):
        problems = password_problems(field.data)
        if problems:
            raise ValidationError("；".join(problems))


class AccountRules:
    """commands.account_problems on the form: at least one role, a unit for a 组织单位 account and
    none for an administrator. On the roles field, because FAB makes the optional 单位 field stop
    validating when it is left empty."""

    def __call__(self, form, field):
        org = form["org"].data if "org" in form else None
        probe = SimpleNamespace(roles=field.data or [], groups=[], org=org, org_id=None)
        problems = commands.account_problems(probe)
        if problems:
            raise ValidationError("；".join(problems))


def _policy_for_schema(value):
    problems = password_problems(value)
    if problems:
        raise SchemaError(problems)
    return value


ORG_FIELD_HELP = _l("组织单位账号必须选择所属单位；系统管理员账号不选单位")
ORG_FILTER = [["id", OrgSubtreeFilter, None]]


class PuchaUserDBModelView(NamedEmptyChoice, UserDBModelView):
    """用户列表 → 添加 / 编辑 with a 单位 field and the password policy."""

    # Same permission name as FAB's view, so existing role grants and the provisioning rules
    # (ORG_ALLOWED_ON_SECURITY_VIEWS) keep meaning what they say; admin_only keeps the whole view
    # out of the 组织单位 role now that it no longer lives in FAB's security package.
    class_permission_name = "UserDBModelView"
    admin_only = True

    list_columns = ["username", "first_name", "last_name", "org.name", "email", "active", "roles",
                    "last_login"]
    add_columns = ["username", "first_name", "last_name", "email", "active", "roles", "org",
                   "password", "conf_password"]
    edit_columns = ["username", "first_name", "last_name", "email", "active", "roles", "org"]
    search_columns = ["username", "first_name", "last_name", "email", "active", "roles",
                      "created_on", "changed_on", "last_login"]
    label_columns = {**UserDBModelView.label_columns, "org": _l("单位"), "org.name": _l("单位"),
                     "last_login": _l("最后登录")}
    formatters_columns = {"last_login": display.last_login, "created_on": display.moment,
                          "changed_on": display.moment, "active": display.yes_no,
                          "roles": display.role_names}
    # FAB's fieldsets with the unit, and without 创建者/修改者: preset accounts have none (the
    # audit log says who created or changed an account).
    show_fieldsets = [
        (_l("用户信息"), {"fields": ["username", "active", "roles", "org.name", "login_count"]}),
        (_l("个人信息"), {"fields": ["first_name", "last_name", "email"], "expanded": True}),
        (_l("审计信息"), {"fields": ["last_login", "fail_login_count", "created_on",
                                       "changed_on"], "expanded": False}),
    ]
    description_columns = {**UserDBModelView.description_columns, "org": ORG_FIELD_HELP}
    validators_columns = {"roles": [AccountRules()]}
    empty_choice_text = _l("不选（系统管理员账号）")
    # FAB's form views read *_form_query_rel_fields (add_query_rel_fields is the REST API's).
    add_form_query_rel_fields = {"org": ORG_FILTER}
    edit_form_query_rel_fields = {"org": ORG_FILTER}
    add_form_extra_fields = {
        "password": PasswordField(
            _l("密码"), validators=[DataRequired(message=_l("请输入密码")), PasswordPolicy()],
            widget=BS3PasswordFieldWidget(),
            description=_l("须符合密码规则（长度，同时包含字母和数字）；该用户首次登录时须修改")),
        "conf_password": PasswordField(
            _l("确认密码"),
            validators=[DataRequired(message=_l("请再次输入密码")),
                        EqualTo("password", message=_l("两次输入的密码不一致"))],
            widget=BS3PasswordFieldWidget()),
    }

    def _refuse(self, error):
        # FAB flashes the message and does not roll back: drop the half-filled row here so a
        # later commit in this session cannot write it.
        self.datamodel.session.rollback()
        raise error

    def pre_add(self, item):
        try:
            commands.add_account(self.datamodel.session, g.user, item, item.password,
                                 how="web")
        except commands.AccountError as error:
            self._refuse(error)

    def pre_update(self, item):
        try:
            commands.save_account(self.datamodel.session, g.user, item, how="web")
        except commands.AccountError as error:
            self._refuse(error)


# --- roles, read-only ------------------------------------------------------------------------------
PUBLIC_ROLE_LABEL = N_("未登录访客")


def role_label(name):
    """A role's name as people read it; FAB's built-in Public role gets a Chinese name."""
    if name == current_app.config.get("AUTH_ROLE_PUBLIC", "Public"):
        return gettext(PUBLIC_ROLE_LABEL)
    return display_role(name)


def _menu_labels():
    """menu name -> label shown, in menu order: "系统管理 › 账号管理"."""
    labels = {}
    for category in current_app.appbuilder.menu.get_list():
        for item in category.childs or []:
            if item.name != "-":
                labels[item.name] = f"{gettext(str(category.label))} › {gettext(str(item.label))}"
        if not category.childs:
            labels[category.name] = gettext(str(category.label))
    return labels


def menu_pages(permissions):
    """The menu entries a role's permissions open, as people read them (FAB lists its internal
    "can list on UserDBModelView" pairs)."""
    opened = {pv.view_menu.name for pv in permissions or []
              if pv.permission is not None and pv.view_menu is not None
              and pv.permission.name == "menu_access"}
    pages = [label for name, label in _menu_labels().items() if name in opened]
    return gettext("、").join(pages) or gettext("（无）")


def account_count(users):
    return gettext("%(n)s 个", n=len(users or []))


class PuchaRoleModelView(RoleModelView):
    """角色列表, read-only and in words: the role, the pages it opens, how many accounts have it.

    The roles are defined by `flask pucha sync-perms` (app/accounts/provisioning.py), which
    rewrites them on every run, so an edit made on this page would not last: FAB's add, edit,
    delete and copy are not offered (docs/security.md "FAB's pages")."""

    class_permission_name = "RoleModelView"
    admin_only = True
    include_route_methods = {"list", "show"}
    base_permissions = ["can_list", "can_show"]
    list_title = _l("角色列表")
    show_title = _l("角色详情")
    list_widget = ListWidget
    show_widget = ShowWidget
    list_columns = ["name", "permissions", "user"]
    show_columns = ["name", "permissions", "user"]
    search_columns = ["name"]
    label_columns = {"name": _l("名称"), "permissions": _l("可进入的页面"),
                     "user": _l("账号数")}
    formatters_columns = {"name": role_label, "permissions": menu_pages, "user": account_count}
    # FAB's "copy role" list action, shadowed: a copy would be a role sync-perms knows nothing of.
    copy_role = None


# --- the REST API ----------------------------------------------------------------------------------
class _UnitAndPolicy:
    """What pucha's user schemas add to FAB's: the unit, and no groups (roles say everything)."""

    model_cls = PuchaUser
    org_id = fields.Integer(required=False, allow_none=True,
                            metadata={"description": "所属单位的编号（组织单位账号必填）"})

    class Meta:
        exclude = ("groups",)


class PolicyUserPostSchema(_UnitAndPolicy, UserPostSchema):
    password = fields.String(required=True, validate=[_policy_for_schema])


class PolicyUserPutSchema(_UnitAndPolicy, UserPutSchema):
    password = fields.String(required=False, validate=[_policy_for_schema])


PLAIN_FIELDS = ("username", "first_name", "last_name", "email", "active")


class PuchaUserApi(UserApi):
    """/api/v1/security/users/: FAB's endpoints, creating and editing through the account
    commands (FAB's own post builds its base ``User`` and would drop the unit)."""

    admin_only = True
    datamodel = SQLAInterface(PuchaUser)
    add_columns = ["roles", "first_name", "last_name", "username", "active", "email", "password",
                   "org_id"]
    edit_columns = add_columns
    list_columns = [c for c in UserApi.list_columns if c != "groups"] + ["org_id"]
    show_columns = list_columns
    search_columns = [c for c in UserApi.search_columns if c != "groups"]
    add_model_schema = PolicyUserPostSchema()
    edit_model_schema = PolicyUserPutSchema()

    def _load(self, schema, partial=False):
        payload = request.get_json(silent=True)
        if not isinstance(payload, dict):
            raise SchemaError({"_schema": [gettext("请求体必须是 JSON 对象")]})
        return schema.load(payload, partial=partial)

    def _apply(self, session, user, data):
        """Copy ``data`` onto ``user``; a message for the first unknown role or unit."""
        for key in PLAIN_FIELDS:
            if key in data:
                setattr(user, key, data[key])
        if "roles" in data:
            wanted = set(data["roles"] or [])
            roles = session.execute(select(Role).where(Role.id.in_(wanted))).scalars().all()
            if len(roles) != len(wanted):
                return gettext("角色不存在：%(ids)s",
                               ids=sorted(wanted - {r.id for r in roles}))
            user.roles = roles
        if "org_id" in data:
            org = session.get(Org, data["org_id"]) if data["org_id"] is not None else None
            if data["org_id"] is not None and org is None:
                return gettext("单位编号 %(id)s 不存在", id=data["org_id"])
            user.org = org
        return None

    def _refused(self, session, error):
        session.rollback()
        return self.response(error.status, message="；".join(error.messages),
                             errors=error.messages)

    @expose("/", methods=["POST"])
    @protect()
    @safe
    @permission_name("post")
    def post(self):
        """Create a user (the password policy applies; a 组织单位 account needs ``org_id``).
        ---
        post:
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/{{self.__class__.__name__}}.post'
          responses:
            201:
              description: User created
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            422:
              $ref: '#/components/responses/422'
        """
        session = self.datamodel.session
        try:
            data = self._load(self.add_model_schema)
        except SchemaError as error:
            return self.response_400(message=error.messages)
        user = PuchaUser(active=data.get("active", True))
        # The new user is not in the session yet: keep the lookups from flushing it half-built.
        with session.no_autoflush:
            problem = self._apply(session, user, data)
            taken = session.execute(select(PuchaUser.id).where(
                PuchaUser.username == user.username)).first()
        if problem or taken:
            # Setting roles put the half-built user into each role's user collection; rolling
            # back forgets it before anything flushes it.
            session.rollback()
        if problem:
            return self.response_400(message=problem)
        if taken:
            return self.response_422(message=gettext("用户名 %(name)s 已存在", name=user.username))
        try:
            commands.add_account(session, g.user, user, data["password"], how="api")
            session.add(user)
            session.commit()
        except commands.AccountError as error:
            return self._refused(session, error)
        return self.response(201, id=user.id)

    @expose("/<int:pk>", methods=("PUT",))
    @protect()
    @safe
    @permission_name("put")
    def put(self, pk):
        """Edit a user (the same checks as creating one).
        ---
        put:
          parameters:
          - in: path
            schema:
              type: integer
            name: pk
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  $ref: '#/components/schemas/{{self.__class__.__name__}}.put'
          responses:
            200:
              description: User changed
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        session = self.datamodel.session
        user = session.get(PuchaUser, pk)
        if user is None:
            return self.response_404()
        try:
            data = self._load(self.edit_model_schema, partial=True)
        except SchemaError as error:
            return self.response_400(message=error.messages)
        problem = self._apply(session, user, data)
        if problem:
            session.rollback()
            return self.response_400(message=problem)
        try:
            if data.get("password"):
                commands.set_password(session, g.user, user, data["password"])
            commands.save_account(session, g.user, user, how="api")
            session.commit()
        except commands.AccountError as error:
            return self._refused(session, error)
        return self.response(200, id=user.id)
