"""Tables of the basic_info plugin. Field columns come from the schema (one definition)."""
import dataclasses
import datetime

from flask_appbuilder import Model
from sqlalchemy import (JSON, Column, DateTime, ForeignKey, Index, Integer, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import relationship

from app.orgs.models import PathString
from app.schema_models import columns_mixin, schema_columns, table_row_columns
from plugins.basic_info import workflow as review
from plugins.basic_info.schema import COLUMNS_TABLE, SCHEMA

FieldColumns = columns_mixin("BasicInfoFieldColumns", schema_columns(SCHEMA))
RowColumns = columns_mixin("BasicInfoRowColumns", table_row_columns(COLUMNS_TABLE))


def _now():
    return datetime.datetime.now()


class StoredPackage(Model):
    """Every package file a unit handed in, kept with who, when and what came of it."""

    __tablename__ = "basic_info_package"

    id = Column(Integer, primary_key=True)
    scope_path = Column(PathString, nullable=False, index=True)
    org_id = Column(Integer, ForeignKey("org.id"), nullable=False)
    uploaded_by_id = Column(Integer, ForeignKey("ab_user.id"), nullable=True)
    uploaded_at = Column(DateTime, nullable=False, default=_now)
    filename = Column(String(255), nullable=False)
    sha256 = Column(String(64), nullable=False)
    size = Column(Integer, nullable=False)
    storage_key = Column(String(255), nullable=False)
    # {"error": "...", "imported": n, "updated": n, "refused": n, "forms": [...]}
    result = Column(JSON)

    org = relationship("Org")


class BasicInfoForm(FieldColumns, Model):
    """One website's 基本信息表, where it sits in the review and what it was issued."""

    __tablename__ = "basic_info_form"
    __table_args__ = (
        Index("ix_basic_info_scope", "scope_path", "id"),
        Index("ix_basic_info_holder_stage", "holder_path", "stage"),
        Index("ix_basic_info_site_key", "site_key", "id"),
    )

    id = Column(Integer, primary_key=True)
    uuid = Column(String(36), unique=True, nullable=False)
    # The importing unit's path: row scope (every unit above it sees the form).
    scope_path = Column(PathString, nullable=False)
    importer_id = Column(Integer, ForeignKey("org.id"), nullable=False, index=True)
    # The unit where the form sits now.
    holder_path = Column(PathString, nullable=False)
    stage = Column(String(16), nullable=False, default=review.DRAFT, index=True)
    version = Column(Integer, nullable=False, default=1)
    # The reason of the last 退回, shown to every unit below the holder.
    last_reason = Column(Text, nullable=True)
    # The website's identity (app.forms.schema.website_key of 首页网址), kept with every write of
    # the form: one website, one 网站标识码 (docs/basic-info.md). Not unique: a duplicate form may
    # exist until a unit resolves it; completion refuses the second code. NULL only on rows
    # written before the column existed, until `flask pucha basic-info-site-keys` fills them.
    site_key = Column(String(320), nullable=True)
    site_code = Column(String(16), unique=True, nullable=True)
    check_code = Column(String(8), nullable=True)
    imported_at = Column(DateTime, nullable=False, default=_now)
    updated_at = Column(DateTime, nullable=False, default=_now, index=True)
    completed_at = Column(DateTime, nullable=True)
    package_id = Column(Integer, ForeignKey("basic_info_package.id"), nullable=True)
    # When the form reached its holder (import, re-import, or its last move up or down): the
    # list shows how long it has waited there. Rows from before this column use updated_at.
    held_since = Column(DateTime, nullable=True)
    # The whole validated document as imported/edited (tables included), for export and re-edit.
    document = Column(JSON, nullable=False)

    importer = relationship("Org", foreign_keys=[importer_id], lazy="joined")
    # The unit holding the form (当前所在单位), joined: the list names it on every row.
    holder = relationship("Org", primaryjoin="foreign(BasicInfoForm.holder_path) == Org.path",
                          viewonly=True, lazy="joined")
    rows = relationship("BasicInfoColumnRow", back_populates="form", cascade="all, delete-orphan",
                        order_by="BasicInfoColumnRow.id")

    __mapper_args__ = {"version_id_col": version}

    def __repr__(self):
        return self.site_name or self.uuid

    @property
    def stage_label(self):
        return review.STAGES.get(self.stage, self.stage)


class BasicInfoColumnRow(RowColumns, Model):
    """One row of the 栏目（系统）基本信息表 (about ten per website)."""

    __tablename__ = "basic_info_column_row"
    __table_args__ = (UniqueConstraint("form_id", "group", "slot", "position"),)

    id = Column(Integer, primary_key=True)
    form_id = Column(Integer, ForeignKey("basic_info_form.id", ondelete="CASCADE"), nullable=False,
                     index=True)
    group = Column(String(32), nullable=False)
    slot = Column(String(32), nullable=False)
    position = Column(Integer, nullable=False)

    form = relationship("BasicInfoForm", back_populates="rows")


class SiteCodeCounter(Model):
    """The last 4-digit sequence used for 网站标识码 within one importing unit."""

    __tablename__ = "basic_info_site_code_counter"

    org_id = Column(Integer, ForeignKey("org.id"), primary_key=True)
    last_seq = Column(Integer, nullable=False, default=0)


WORKFLOW = dataclasses.replace(review.WORKFLOW, model=BasicInfoForm)
