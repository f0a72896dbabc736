"""Telling the rest of the platform that units changed: the ``org_changed`` hook.

The org tree sits below accounts, forms and the file center: they point at units, units point at
nothing of theirs. So when a unit is added, moved or renamed, the orgs layer does not reach up to
make the account or the folder itself; it announces the change, inside the caller's transaction,
and each area above (app.accounts.hooks, a plugin) does its part — all of it commits with the
change or not at all.
"""
from app.plugins import get_plugin_manager


def announce(session, added=(), moved=(), renamed=(), actor=None):
    """Call ``org_changed`` with the codes of the units added, moved and renamed (when any)."""
    added, moved, renamed = list(added), list(moved), list(renamed)
    if added or moved or renamed:
        get_plugin_manager().hook.org_changed(session=session, added=added, moved=moved,
                                              renamed=renamed, actor=actor)
