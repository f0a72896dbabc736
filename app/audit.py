"""The audit trail: one row per state change, written in the same transaction as the change.

``org_id`` is the unit the event belongs to: the acting unit for imports, transitions, edits and
downloads; the account's own unit for logins, locks, password changes and resets (so a parent
unit sees what happened to the accounts below it). ``scope_path`` is a copy of that unit's
materialised path, filled by ``record`` in the INSERT itself (a scalar subquery: no extra
statement) and by ``record_many`` from one read of the distinct units' paths, so the audit page
filters a unit's subtree with the one org scope as an indexed range on this table alone. Like every column made by ``org_path_column`` it follows a unit
that moves (``app.orgs.importer``). Rows without a unit (the CLI, administrators, unknown usernames) have no
path and are seen by administrators only.
"""
from flask_appbuilder import Model
from sqlalchemy import (JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text, cast,
                        insert, literal, select, type_coerce)

from app.orgs.models import Org, org_path_column

from app import clock


def now():
    return clock.now()


class AuditEvent(Model):
    __tablename__ = "audit_event"
    # Every filter of the audit page is an equality or range followed by "newest first": each
    # index ends in ``id`` so page 1 of any filter reads only the rows it shows.
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id", "id"),
                      Index("ix_audit_scope", "scope_path", "id"),
                      Index("ix_audit_action_id", "action", "id"),
                      Index("ix_audit_actor_id", "actor_name", "id"),
                      Index("ix_audit_org_id", "org_id", "id"))

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=now, index=True)
    actor_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    actor_name = Column(String(128))
    org_id = Column(Integer, ForeignKey("org.id"), nullable=True)
    scope_path = org_path_column(nullable=True)
    action = Column(String(64), nullable=False)
    object_type = Column(String(64), nullable=False)
    object_id = Column(String(64), nullable=True)
    from_stage = Column(String(32))
    to_stage = Column(String(32))
    reason = Column(Text)
    detail = Column(JSON)


def audit_values(action, object_type, object_id=None, actor=None, org_id=None, from_stage=None,
                 to_stage=None, reason=None, detail=None):
    """The column values of one audit row (for set-based inserts)."""
    actor_id = getattr(actor, "id", None)
    actor_name = getattr(actor, "username", None) if actor is not None else None
    if org_id is None and actor is not None:
        org_id = getattr(actor, "org_id", None)
    return dict(at=now(), actor_id=actor_id, actor_name=actor_name, org_id=org_id, action=action,
                object_type=object_type, object_id=None if object_id is None else str(object_id),
                from_stage=from_stage, to_stage=to_stage, reason=reason, detail=detail)


def _org_path(org_id):
    return select(Org.path).where(Org.id == org_id).scalar_subquery()


def record(session, action, object_type, object_id=None, **kwargs):
    """Add one audit row to ``session`` (the caller commits it with the change it describes)."""
    event = AuditEvent(**audit_values(action, object_type, object_id, **kwargs))
    if event.org_id is not None:
        event.scope_path = _org_path(event.org_id)
    session.add(event)
    return event


def record_many(session, rows):
    """Insert many audit rows in one statement; ``rows`` are dicts from ``audit_values``, with
    ``scope_path`` when the caller knows it.

    A Core executemany with each distinct unit's path read once: an ORM bulk insert with a path
    subquery per row cost more than the change it recorded (5,000 rows of 全部审核)."""
    if not rows:
        return
    # A caller that knows the unit's path (the engine: the acting unit's) passes it as
    # ``scope_path`` and saves the read.
    org_ids = {row["org_id"] for row in rows if "scope_path" not in row} - {None}
    paths = {}
    if org_ids:
        paths = dict(session.execute(select(Org.id, Org.path).where(Org.id.in_(org_ids))).all())
    session.execute(insert(AuditEvent.__table__),
                    [row if "scope_path" in row else dict(row, scope_path=paths.get(row["org_id"]))
                     for row in rows])


def _constant(session, column, value):
    """``value`` as a typed constant of a SELECT list feeding ``column``. PostgreSQL types a bare
    parameter there as text (refused for an integer, timestamp or JSON column), so it is cast;
    SQLite is not, because its CAST gives DATETIME and JSON numeric affinity ('2026-…' → 2026)."""
    constant = literal(value, type_=column.type)
    if session.get_bind().dialect.name == "sqlite":
        return type_coerce(constant, column.type)
    return cast(constant, column.type)


def record_for_each(session, values, object_ids):
    """Insert one audit row per id ``object_ids`` selects (a SELECT of one column), in id order,
    each like ``values`` (from ``audit_values``; its ``object_id`` is ignored) but for its
    ``object_id``, with ``scope_path`` when the caller knows it.

    One INSERT … SELECT however many objects: the database makes the rows, instead of 5,000
    parameter sets bound one by one (全部审核), and the rows are those ``record_many`` writes."""
    values = dict(values)
    values.pop("object_id", None)
    if "scope_path" not in values:
        org_id = values.get("org_id")
        values["scope_path"] = None if org_id is None else session.scalar(
            select(Org.path).where(Org.id == org_id))
    table = AuditEvent.__table__
    names = list(values)
    object_ids = object_ids.subquery()
    (object_id,) = object_ids.c
    source = select(*[_constant(session, table.c[name], values[name]) for name in names],
                    cast(object_id, table.c.object_id.type)
                    ).select_from(object_ids).order_by(object_id)
    session.execute(insert(table).from_select(names + ["object_id"], source))
