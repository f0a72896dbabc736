"""Settings of the public pages that an administrator edits (the census notice on the home page)."""
from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, String, Text

from app import clock


class PublicSetting(Model):
    """One named text shown on the public pages; every change is an audit row (app/public/notice.py)."""

    __tablename__ = "public_setting"

    key = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False, default="")
    updated_at = Column(DateTime, nullable=True)
    updated_by = Column(String(128), nullable=True)


def store_setting(session, key, value, actor):
    """Set the setting ``key`` to ``value`` in ``session`` (the caller's transaction, which also
    adds the audit row), noting who and when."""
    row = session.get(PublicSetting, key)
    if row is None:
        row = PublicSetting(key=key)
        session.add(row)
    row.value = value
    row.updated_at = clock.now()
    row.updated_by = getattr(actor, "username", None)
    return row
