"""Alembic's environment for pucha, run in-process by app.migrate (never through alembic.ini).

The caller hands over an open connection in ``config.attributes["connection"]``, so a migration
runs inside the caller's transaction (on PostgreSQL the whole upgrade is one transaction: it
lands whole or not at all). The target is the one metadata every model lives in.
"""
from alembic import context

from app.extensions import db

config = context.config


def include_object(obj, name, type_, reflected, compare_to):
    """With ``only_tables`` set (autogenerating one plugin's revision), only those tables count;
    without it, a table of a plugin that is not installed is left alone, not dropped."""
    table = name if type_ == "table" else getattr(getattr(obj, "table", None), "name", None)
    only = config.attributes.get("only_tables")
    if only is not None:
        return table in only
    if type_ == "table" and reflected and compare_to is None:
        return False
    return True


def _record_applied(ctx, step, heads, run_args):
    """Every revision applied is reported to the operator, one line each."""
    if step.is_migration and step.is_upgrade:
        revision = step.up_revision
        config.attributes.setdefault("applied", []).append(
            (revision.revision, (revision.doc or "").strip()))


def run_migrations():
    connection = config.attributes["connection"]
    context.configure(
        connection=connection,
        target_metadata=db.metadata,
        # SQLite cannot ALTER most things; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
        include_object=include_object,
        on_version_apply=_record_applied,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
