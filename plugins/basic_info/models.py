"""Tables of the basic_info plugin. Field columns come from the schema (one definition), the
platform's columns of every form and package table from app.formtypes.records."""
import dataclasses

from flask_appbuilder import Model
from sqlalchemy import Column, DateTime, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import relationship

from app.formtypes.records import FormRecord, PackageRecord
from app.schema_models import columns_mixin, schema_columns, table_row_columns
from plugins.basic_info import workflow as review
from plugins.basic_info.schema import COLUMNS_TABLE, SCHEMA

FieldColumns = columns_mixin("BasicInfoFieldColumns", schema_columns(SCHEMA))
RowColumns = columns_mixin("BasicInfoRowColumns", table_row_columns(COLUMNS_TABLE))


class StoredPackage(PackageRecord, Model):
    """Every package file a unit handed in, kept with who, when and what came of it."""

    __tablename__ = "basic_info_package"


class BasicInfoForm(FieldColumns, FormRecord, Model):
    """One website's 基本信息表, where it sits in the review and what it was issued."""

    __tablename__ = "basic_info_form"
    __package_table__ = "basic_info_package"
    __table_args__ = (
        Index("ix_basic_info_scope", "scope_path", "id"),
        Index("ix_basic_info_holder_stage", "holder_path", "stage"),
        Index("ix_basic_info_site_key", "site_key", "id"),
        # 标识码找回 looks a website up by its name as well as by its key
        # (plugins/basic_info/recovery.py): without it every request scans all forms.
        Index("ix_basic_info_site_name", "site_name"),
    )

    # The website's identity (app.forms.schema.website_key of 首页网址), kept with every write of
    # the form: one website, one 网站标识码 (docs/basic-info.md). Not unique: a duplicate form may
    # exist until a unit resolves it; completion refuses the second code. NULL only on rows
    # written before the column existed, until `flask pucha basic-info-site-keys` fills them.
    site_key = Column(String(320), nullable=True)
    site_code = Column(String(16), unique=True, nullable=True)
    check_code = Column(String(8), nullable=True)
    completed_at = Column(DateTime, nullable=True)

    rows = relationship("BasicInfoColumnRow", back_populates="form", cascade="all, delete-orphan",
                        order_by="BasicInfoColumnRow.id")

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


class SiteVerifyThrottle(Model):
    """Failed 网站标识码 + 校验码 checks of one code (the filler's verification,
    plugins.basic_info.verification): one row per (code, client address), and one per code with
    the address ``*`` counting every address together. Counts are SQL increments, so several app
    processes add to the same numbers."""

    __tablename__ = "basic_info_site_verify_throttle"

    site_code = Column(String(16), primary_key=True)
    address = Column(String(64), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)
    locks = Column(Integer, nullable=False, default=0)
    locked_until = Column(DateTime, nullable=True)
    last_failure_at = Column(DateTime, nullable=True)
    last_success_at = Column(DateTime, nullable=True)
