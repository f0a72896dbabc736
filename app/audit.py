"""The audit trail: one row per state change, written in the same transaction as the change."""
from flask_appbuilder import Model
from sqlalchemy import JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text, insert

from app import clock


def now():
    return clock.now()


class AuditEvent(Model):
    __tablename__ = "audit_event"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id", "id"),)

    id = Column(Integer, primary_key=True)
    at = Column(DateTime, nullable=False, default=now, index=True)
    actor_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    actor_name = Column(String(128))
    org_id = Column(Integer, ForeignKey("org.id"), nullable=True, index=True)
    action = Column(String(64), nullable=False, index=True)
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


def record(session, action, object_type, object_id=None, **kwargs):
    """Add one audit row to ``session`` (the caller commits it with the change it describes)."""
    event = AuditEvent(**audit_values(action, object_type, object_id, **kwargs))
    session.add(event)
    return event


def record_many(session, rows):
    """Insert many audit rows in one statement; ``rows`` are dicts from ``audit_values``."""
    if rows:
        session.execute(insert(AuditEvent), rows)
