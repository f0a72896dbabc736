"""Row scope: the one viewer, the one filter and the one loader every view, action, export and API
goes through.

A scoped model has a ``scope_path`` column holding the materialised path of the unit that owns
the row (for a form: the importing unit). A viewer sees a row when that path lies in the viewer's
subtree.

Scope fails closed. An administrator is recognised by the administrator ROLE
(``AUTH_ROLE_ADMIN``), never by a missing unit: FAB's own user form creates accounts without a
unit, and such an account must not inherit the whole country. A user with neither a unit nor the
role gets a scope that matches nothing (``sqlalchemy.false()``) and is refused by every command
(``require_acting_viewer``).

FAB's ``action``/``action_post`` and ``list/<pk>`` load rows without ``base_filters``, and JWT
requests skip ``before_request``: every custom route and action therefore loads rows with
``load_scoped`` / ``scoped_select`` here, never with ``session.get``.
"""
from dataclasses import dataclass
from typing import Any, Optional

from flask import abort, current_app, g, has_app_context
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _l
from sqlalchemy import false, select, true

from app.errors import NotFound
from app.i18n_text import N_, gettext
from app.keys import whole_number
from app.orgs.models import Org

DEFAULT_ADMIN_ROLE = "系统管理员"


class ScopeRefused(Exception):
    """The viewer may not act at all: it has no unit and is no administrator."""


def admin_role_name():
    if has_app_context():
        return current_app.config.get("AUTH_ROLE_ADMIN", DEFAULT_ADMIN_ROLE)
    return DEFAULT_ADMIN_ROLE


def role_names(user):
    """Names of the roles ``user`` holds, directly or through a FAB group."""
    names = {role.name for role in (getattr(user, "roles", None) or [])}
    for group in getattr(user, "groups", None) or []:
        names.update(role.name for role in (getattr(group, "roles", None) or []))
    return names


@dataclass(frozen=True)
class Viewer:
    """Who is looking: the user, the unit it acts for, and whether it holds the admin role."""

    user: Any
    org: Optional[Org]
    is_admin: bool

    @property
    def path(self):
        """The viewer's subtree path; None for an administrator and for nobody."""
        return self.org.path if self.org is not None else None

    @property
    def sees_nothing(self):
        return not self.is_admin and self.org is None

    def covers(self, scope_path):
        """True when a row owned by ``scope_path`` lies in this viewer's scope (the Python twin of
        ``scope_clause``)."""
        if self.is_admin:
            return True
        return self.org is not None and (scope_path or "").startswith(self.org.path)


def viewer_for(user):
    """The one place a ``Viewer`` is built. ``None`` or an anonymous user is nobody.

    A user with a unit acts for that unit, whatever its roles (the account checks refuse the
    administrator role on a unit's account, so this only matters for rows written around them);
    a user without one is an administrator only when it holds the administrator role. Reading
    the roles only in that case keeps a unit's every request free of the extra query.
    """
    if isinstance(user, Viewer):
        return user
    if user is None or not getattr(user, "is_authenticated", True):
        return Viewer(user=None, org=None, is_admin=False)
    org = getattr(user, "org", None)
    return Viewer(user=user, org=org,
                  is_admin=org is None and admin_role_name() in role_names(user))


def current_viewer():
    """The viewer of this request; 401 when nobody is logged in."""
    user = getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        abort(401)
    return viewer_for(user)


def require_acting_viewer(user):
    """The viewer of ``user`` for a command that changes something; raises ``ScopeRefused`` for a
    user with no unit and no administrator role."""
    viewer = viewer_for(user)
    if viewer.sees_nothing:
        raise ScopeRefused(gettext("该账号既不属于任何组织单位，也不是系统管理员，不能进行任何操作；"
                                   "请系统管理员为其指定单位"))
    return viewer


def viewer_org(user=None):
    """The unit the (current) user acts for; None for an administrator without a unit.

    Kept for callers that only need the unit: a user with neither a unit nor the administrator
    role gets 403 here instead of the administrator's None.
    """
    viewer = viewer_for(user) if user is not None else current_viewer()
    if viewer.sees_nothing:
        abort(403)
    return viewer.org


def as_viewer(who):
    """``who`` as a Viewer: a Viewer as it is, a unit (Org) as that unit's viewer, a user through
    ``viewer_for``, None as nobody."""
    if isinstance(who, Viewer):
        return who
    if isinstance(who, Org):
        return Viewer(user=None, org=who, is_admin=False)
    if who is None:
        return Viewer(user=None, org=None, is_admin=False)
    return viewer_for(who)


def scope_clause(model, who, column="scope_path"):
    """SQL condition limiting ``model`` rows to what ``who`` may see.

    ``who`` is a Viewer, a user or a unit (Org). Always a clause: ``true()`` for an
    administrator, ``false()`` for nobody (None, or a user with neither a unit nor the role).
    """
    viewer = as_viewer(who)
    if viewer.is_admin:
        return true()
    if viewer.org is None:
        return false()
    return Org.subtree_clause(viewer.org.path, getattr(model, column))


def scoped_select(model, user=None):
    """``select(model)`` limited to what ``user`` (default: the current user) may see."""
    viewer = viewer_for(user) if user is not None else current_viewer()
    return select(model).where(scope_clause(model, viewer))


MSG_NOT_FOUND = N_("未找到记录（编号 %(id)s），或不在本单位管辖范围内")


def load_scoped(session, model, pk, user=None, fresh=False, missing=MSG_NOT_FOUND):
    """The row ``pk`` of ``model`` if ``user`` (default: the current user) may see it; else
    ``NotFound`` — the same for "does not exist" and "belongs to another unit", so a sibling
    learns nothing (a 404 page, a 404 JSON body, the CLI's message). The one loader of views,
    API, commands and CLI. ``fresh`` reads the database's current values even when the session
    holds the row already (what a command checks before it writes); ``missing`` is the sentence
    (with ``%(id)s``)."""
    key = whole_number(pk, 1)
    if key is None:
        raise NotFound(gettext("编号无效"))
    stmt = scoped_select(model, user).where(model.id == key)
    if fresh:
        stmt = stmt.execution_options(populate_existing=True)
    row = session.execute(stmt).scalars().first()
    if row is None:
        raise NotFound(gettext(missing, id=key))
    return row


def load_scoped_many(session, model, pks, user=None):
    """Load rows by primary key, silently dropping those outside the scope."""
    if not pks:
        return []
    stmt = scoped_select(model, user).where(model.id.in_(list(pks)))
    return list(session.execute(stmt).scalars())


class OrgScopeFilter(BaseFilter):
    """FAB base filter: use in every view's ``base_filters`` as ``[["id", OrgScopeFilter, None]]``.

    ``column`` names the path column the scope applies to.
    """

    name = _l("本单位及下级")
    arg_name = "orgscope"
    column = "scope_path"

    def apply(self, query, value):
        return query.filter(scope_clause(self.model, current_viewer(), column=self.column))


def administrators_only(blueprint):
    """Refuse every request of ``blueprint`` (403) from a logged-in user who is not an
    administrator: defence in depth for ``admin_only`` views, so an account granted one by
    mistake still gets nothing. Anonymous users fall through to FAB, which sends them to the
    login page."""

    @blueprint.before_request
    def _administrators_only():
        user = getattr(g, "user", None)
        if user is not None and user.is_authenticated and not viewer_for(user).is_admin:
            abort(403)

    return blueprint
