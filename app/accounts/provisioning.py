"""Roles, permissions and the preset accounts: one per organising unit, plus administrators.

None of these functions commits the accounts it creates: the caller commits them together with
whatever else it is setting up. (FAB's own role and permission helpers commit as they go; that is
outside our control and harmless, since they are idempotent.)
"""
import datetime
import logging

from flask import current_app
from flask_appbuilder.security.manager import BaseSecurityManager
from flask_appbuilder.security.sqla.models import Role, assoc_user_role
from sqlalchemy import exists, insert, select

from app import audit
from app.accounts.models import PuchaUser
from app.accounts.passwords import generate_initial_password
from app.orgs.models import Org

log = logging.getLogger(__name__)

PLACEHOLDER_EMAIL_DOMAIN = "org.invalid"
# FAB user columns are String(64); long unit names are cut rather than refused.
NAME_MAX = 64

# FAB security-admin views an organising unit keeps a little of: its own profile page and the
# "reset my password" action that leads to our change-password page.
ORG_ALLOWED_ON_SECURITY_VIEWS = {("can_userinfo", "UserDBModelView"),
                                 ("resetmypassword", "UserDBModelView")}


# FAB views registered (FAB adds them unconditionally) but offered to nobody: not in the menu,
# their permissions granted to no role, not even the administrator's. pucha's accounts do not
# use groups (roles say everything; the user API drops the field).
HIDDEN_VIEWS = {"UserGroupModelView"}
HIDDEN_MENU_ENTRIES = {"List Groups"}


def hide_menu_entries(menu, names):
    """Drop the entries ``names`` from every category of ``menu``, and a separator left last."""
    for category in menu.get_list():
        childs = [c for c in category.childs or [] if c.name not in names]
        while childs and childs[-1].name == "-":
            childs.pop()
        category.childs = childs


def _is_security_view(view):
    module = type(view).__module__
    return module.startswith("flask_appbuilder.security")


def admin_only_names(appbuilder):
    """Names of views and menus an organising unit must not get permissions on.

    FAB's security-admin views and APIs (users, roles, permissions …) and every view class
    declaring ``admin_only = True``; a menu category is excluded when all its items are.
    """
    excluded = set()
    for view in appbuilder.baseviews:
        name = getattr(view, "class_permission_name", None)
        if name and (getattr(view, "admin_only", False) or _is_security_view(view)):
            excluded.add(name)
    excluded_views = {id(v) for v in appbuilder.baseviews
                      if getattr(v, "class_permission_name", None) in excluded}
    for category in appbuilder.menu.get_list():
        children = [c for c in category.childs if c.name != "-"]
        child_excluded = []
        for item in children:
            is_excluded = (category.name == "Security"
                           or (item.baseview is not None and id(item.baseview) in excluded_views)
                           or getattr(item.baseview, "admin_only", False))
            if is_excluded:
                excluded.add(item.name)
            child_excluded.append(is_excluded)
        if category.name == "Security" or (children and all(child_excluded)):
            excluded.add(category.name)
        elif not children and category.baseview is not None and id(category.baseview) in excluded_views:
            excluded.add(category.name)
    return excluded


def ensure_builtin_roles():
    """FAB's built-in roles: Public (whose permissions anonymous pages are checked against; FAB
    fails on an anonymous request without it) and the administrator's. FAB_CREATE_DB is off —
    the schema is Alembic's — so FAB no longer makes them at start-up; idempotent."""
    BaseSecurityManager.create_db(current_app.appbuilder.sm)


def sync_roles():
    """Create the roles and every view's permissions, and give each role its share.

    FAB_UPDATE_PERMS is off (syncing on every start is slow and races between processes), so this
    is what `flask pucha sync-perms` and setup run. The administrator role gets everything; the
    organising-unit role everything except the security-admin views and ``admin_only`` views.
    Row scope, not permissions, keeps a unit inside its own subtree.
    """
    appbuilder = current_app.appbuilder
    sm = appbuilder.sm
    ensure_builtin_roles()
    admin_role = sm.add_role(current_app.config["AUTH_ROLE_ADMIN"])
    org_role = sm.add_role(current_app.config.get("AUTH_ROLE_ORG", "组织单位"))
    appbuilder.add_permissions(update_perms=True)

    excluded = admin_only_names(appbuilder)
    session = sm.session
    all_pvs = session.query(sm.permissionview_model).all()
    hidden = HIDDEN_VIEWS | HIDDEN_MENU_ENTRIES
    admin_role.permissions = [pv for pv in all_pvs if pv.permission and pv.view_menu
                              and pv.view_menu.name not in hidden]
    org_pvs = []
    for pv in all_pvs:
        if pv.permission is None or pv.view_menu is None or pv.view_menu.name in hidden:
            continue
        key = (pv.permission.name, pv.view_menu.name)
        if pv.view_menu.name in excluded and key not in ORG_ALLOWED_ON_SECURITY_VIEWS:
            continue
        org_pvs.append(pv)
    org_role.permissions = org_pvs
    session.flush()
    return admin_role, org_role


def _role(session, name):
    role = session.execute(select(Role).where(Role.name == name)).scalars().first()
    if role is None:
        raise RuntimeError(f"角色“{name}”不存在，请先运行 flask pucha sync-perms")
    return role


def ensure_org_accounts(session):
    """Create the preset account of every organising unit that has none; return how many.

    Set-based: one multi-row insert for the users and one for their role links, and no password
    hashing (an unchanged initial password is stored readable, see docs/security.md), so the
    national tree of ~3,300 units takes well under a second.
    """
    role = _role(session, current_app.config.get("AUTH_ROLE_ORG", "组织单位"))
    taken = select(PuchaUser.id).where(
        (PuchaUser.org_id == Org.id) | (PuchaUser.username == Org.code))
    orgs = session.execute(
        select(Org.id, Org.code, Org.name).where(~exists(taken)).order_by(Org.code)).all()
    if not orgs:
        return 0
    now = datetime.datetime.now()
    rows = [dict(username=code, first_name=name[:NAME_MAX], last_name=code[:NAME_MAX],
                 email=f"{code}@{PLACEHOLDER_EMAIL_DOMAIN}", active=True, password=None,
                 org_id=org_id, initial_password=generate_initial_password(),
                 must_change_password=True, login_count=0, fail_login_count=0,
                 created_on=now, changed_on=now)
            for org_id, code, name in orgs]
    session.execute(insert(PuchaUser.__table__), rows)
    codes = [code for _, code, _ in orgs]
    user_ids = []
    for start in range(0, len(codes), 500):
        chunk = codes[start:start + 500]
        user_ids += session.execute(
            select(PuchaUser.id).where(PuchaUser.username.in_(chunk))).scalars().all()
    session.execute(insert(assoc_user_role),
                    [dict(user_id=uid, role_id=role.id) for uid in user_ids])
    audit.record(session, "accounts_provisioned", "user", None,
                 detail={"count": len(rows)})
    log.info("created %d organising-unit accounts", len(rows))
    return len(rows)


def create_admin(session, username, email=None):
    """Create an administrator with a generated initial password (changed at first login)."""
    if session.execute(select(PuchaUser).where(PuchaUser.username == username)).first():
        raise ValueError(f"用户名 {username} 已存在")
    role = _role(session, current_app.config["AUTH_ROLE_ADMIN"])
    password = generate_initial_password()
    user = PuchaUser(username=username, first_name="系统管理员", last_name=username,
                     email=email or f"{username}@admin.invalid", active=True, password=None,
                     org_id=None, initial_password=password, must_change_password=True,
                     login_count=0, fail_login_count=0)
    user.roles = [role]
    session.add(user)
    session.flush()
    audit.record(session, "admin_created", "user", username, org_id=None)
    return user, password


def ensure_admin(session, username="admin"):
    """The administrator account: created when missing.

    Returns ``(username, initial_password)``; the password is None once the administrator has
    replaced it (it is then known to nobody but its owner).
    """
    user = session.execute(select(PuchaUser).where(PuchaUser.username == username)
                           ).scalars().first()
    if user is None:
        user, password = create_admin(session, username)
        return user.username, password
    return user.username, (user.initial_password if user.has_initial_password else None)
