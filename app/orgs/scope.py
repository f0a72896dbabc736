"""Row scope: the one filter and the one loader every view, action, export and API goes through.

A scoped model has a ``scope_path`` column holding the materialised path of the unit that owns
the row (for a form: the importing unit). A viewer sees a row when that path lies in the viewer's
subtree. Administrators (users without a unit) see everything.

FAB's ``action``/``action_post`` and ``list/<pk>`` load rows without ``base_filters``, and JWT
requests skip ``before_request``: every custom route and action therefore loads rows with
``load_scoped`` / ``scoped_query`` here, never with ``session.get``.
"""
from flask import abort, g
from flask_appbuilder.models.filters import BaseFilter
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app.orgs.models import Org


def viewer_org(user=None):
    """The organising unit the current user acts for, or None for an administrator."""
    user = user if user is not None else getattr(g, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        abort(401)
    return user.org


def is_admin(user=None):
    user = user if user is not None else getattr(g, "user", None)
    return user is not None and getattr(user, "org_id", None) is None and getattr(
        user, "is_authenticated", False)


def scope_clause(model, org):
    """SQL condition limiting ``model`` rows to ``org``'s subtree (None: no limit)."""
    if org is None:
        return None
    return Org.subtree_clause(org.path, model.scope_path)


def scoped_select(model, user=None):
    """``select(model)`` limited to what ``user`` (default: the current user) may see."""
    stmt = select(model)
    clause = scope_clause(model, viewer_org(user))
    return stmt if clause is None else stmt.where(clause)


def load_scoped(session, model, pk, user=None):
    """Load one row the current user may see, or 404 (a sibling's row does not exist for them)."""
    stmt = scoped_select(model, user).where(model.id == pk)
    row = session.execute(stmt).scalars().first()
    if row is None:
        abort(404)
    return row


def load_scoped_many(session, model, pks, user=None):
    """Load rows by primary key, silently dropping those outside the scope."""
    if not pks:
        return []
    stmt = scoped_select(model, user).where(model.id.in_(list(pks)))
    return list(session.execute(stmt).scalars())


class OrgScopeFilter(BaseFilter):
    """FAB base filter: use in every view's ``base_filters`` as ``[["id", OrgScopeFilter, None]]``."""

    name = _l("本单位及下级")
    arg_name = "orgscope"

    def apply(self, query, value):
        clause = scope_clause(self.model, viewer_org())
        return query if clause is None else query.filter(clause)
