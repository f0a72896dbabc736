"""Settings of the public pages that an administrator edits (the census notice on the home page)."""
from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, String, Text


class PublicSetting(Model):
    """One named text shown on the public pages; every change is an audit row (app/public/notice.py)."""

    __tablename__ = "public_setting"

    key = Column(String(64), primary_key=True)
    value = Column(Text, nullable=False, default="")
    updated_at = Column(DateTime, nullable=True)
    updated_by = Column(String(128), nullable=True)
