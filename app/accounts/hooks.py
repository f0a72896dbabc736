"""What the accounts area does when the platform announces a change (app/hookspecs.py).

Registered on the plugin manager by the app factory like a plugin, so the layers below accounts
(the org tree) can announce a change without importing accounts.
"""
from flask import current_app
from flask_appbuilder.security.sqla.models import Role
from sqlalchemy import select

from app import hookimpl
from app.accounts.provisioning import ensure_org_accounts


@hookimpl
def org_changed(session, added, moved, renamed, actor):
    """A new unit gets its preset account at once: its parent hands it out from the account table.

    Before the roles exist (a tree loaded ahead of ``flask pucha setup``) there are no accounts
    to keep in step: setup provisions every unit's account then."""
    if not added:
        return
    role_name = current_app.config.get("AUTH_ROLE_ORG", "组织单位")
    if session.scalar(select(Role.id).where(Role.name == role_name)) is None:
        return
    ensure_org_accounts(session)
