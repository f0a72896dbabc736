"""The columns every form table and every package table has, so a form type's model is its
schema's columns plus what is its own.

``FormRecord`` is a declarative mixin: the row's identity (``uuid``, the filler's), its scope (the
importing unit's path), where it waits (the holder's path and since when), its stage and version
(optimistic locking through SQLAlchemy's ``version_id_col``), the last reason it came back with,
the whole validated document, and the stored package it came from. ``PackageRecord`` is the table
of the packages a unit handed in. A subclass names its tables::

    class RectificationNote(FieldColumns, FormRecord, Model):
        __tablename__ = "sample_rectification_note"
        __package_table__ = "sample_rectification_package"
"""
import datetime

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import declared_attr, foreign, relationship

from app.orgs.models import Org, org_path_column


def _now():
    return datetime.datetime.now()


class FormRecord:
    """The platform's columns of a form table (``app.formtypes`` reads and writes them)."""

    # The table of this type's stored packages (None: the type is not imported as packages).
    __package_table__ = None

    id = Column(Integer, primary_key=True)
    uuid = Column(String(36), unique=True, nullable=False)
    # The importing unit's path: row scope (every unit above it sees the form).
    scope_path = org_path_column(nullable=False)
    # The unit where the form sits now.
    holder_path = org_path_column(nullable=False)
    stage = Column(String(16), nullable=False, default="draft", index=True)
    version = Column(Integer, nullable=False, default=1)
    # The reason of the last 退回, shown to every unit below the holder.
    last_reason = Column(Text, nullable=True)
    imported_at = Column(DateTime, nullable=False, default=_now)
    updated_at = Column(DateTime, nullable=False, default=_now, index=True)
    # When the form reached its holder (import, re-import, or its last move up or down): the
    # list shows how long it has waited there.
    held_since = Column(DateTime, nullable=True)
    # The whole validated document as imported/edited (tables included), for export and re-edit.
    document = Column(JSON, nullable=False)

    @declared_attr
    def importer_id(cls):
        return Column(Integer, ForeignKey("org.id"), nullable=False, index=True)

    @declared_attr
    def package_id(cls):
        if cls.__package_table__ is None:
            return Column(Integer, nullable=True)
        return Column(Integer, ForeignKey(f"{cls.__package_table__}.id"), nullable=True)

    @declared_attr
    def importer(cls):
        return relationship("Org", foreign_keys=[cls.importer_id], lazy="joined")

    @declared_attr
    def holder(cls):
        # The unit holding the form (当前所在单位), joined: the list names it on every row.
        return relationship("Org", primaryjoin=lambda: _holder_join(cls), viewonly=True,
                            lazy="joined")

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.version}


def _holder_join(cls):
    return foreign(cls.holder_path) == Org.path


class PackageRecord:
    """Every package file a unit handed in, kept with who, when and what came of it."""

    id = Column(Integer, primary_key=True)
    scope_path = org_path_column(nullable=False, index=True)
    uploaded_at = Column(DateTime, nullable=False, default=_now)
    filename = Column(String(255), nullable=False)
    sha256 = Column(String(64), nullable=False)
    size = Column(Integer, nullable=False)
    storage_key = Column(String(255), nullable=False)
    # {"error": "...", "imported": n, "updated": n, "refused": n, "forms": [...]}
    result = Column(JSON)

    @declared_attr
    def org_id(cls):
        return Column(Integer, ForeignKey("org.id"), nullable=False)

    @declared_attr
    def uploaded_by_id(cls):
        return Column(Integer, ForeignKey("ab_user.id"), nullable=True)

    @declared_attr
    def org(cls):
        return relationship("Org")
