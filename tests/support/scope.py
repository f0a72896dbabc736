"""Who is looking, for the row-scope tests: a real administrator (recognised by the administrator
ROLE) and a user with no unit and no administrator role (which must see nothing).

The unitless user holds the 组织单位 role on purpose: that is the account FAB's 用户列表 → 添加 form
made before it had a 单位 field, so its permissions open every page and only row scope stands
between it and the country's forms.
"""
import pytest
from flask import current_app
from sqlalchemy import select

UNITLESS = "nounit"
ADMIN = "admin2"


def _role(session, name):
    """The role ``name``, created when the database has none yet (a bare test schema)."""
    from flask_appbuilder.security.sqla.models import Role

    role = session.execute(select(Role).where(Role.name == name)).scalars().first()
    if role is None:
        role = Role(name=name)
        session.add(role)
        session.flush()
    return role


def make_user(session, username, roles=(), org=None):
    """A user with ``roles`` (role names) and ``org`` (None: no unit), inserted directly: the
    state some other way of creating accounts may leave behind."""
    from app.accounts.models import PuchaUser

    user = PuchaUser(username=username, first_name=username, last_name="-",
                     email=f"{username}@example.invalid", active=True, org=org,
                     must_change_password=False)
    user.roles = [_role(session, name) for name in roles]
    session.add(user)
    session.commit()
    return user


def make_admin(session, username=ADMIN):
    return make_user(session, username, roles=[current_app.config["AUTH_ROLE_ADMIN"]])


def make_unitless(session, username=UNITLESS, roles=None):
    """No unit and no administrator role (by default the 组织单位 role, see the module docstring)."""
    if roles is None:
        roles = [current_app.config.get("AUTH_ROLE_ORG", "组织单位")]
    return make_user(session, username, roles=roles)


@pytest.fixture
def real_admin(session):
    """An administrator by role, with no unit (as `flask pucha create-admin` makes one)."""
    return make_admin(session)


@pytest.fixture
def unitless_user(session):
    return make_unitless(session)
