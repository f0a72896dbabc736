"""Business operations of 基本信息表: import, review, edit, delete.

The web view, the REST API, the CLI and the tests all call these functions. Each one validates
first (ownership included), then writes, and ends in exactly one commit — or a rollback that
leaves nothing behind. Every refusal is a ``WorkflowError`` subclass whose ``str()`` is a
sentence for the user: in the user's language inside a request, Chinese in the CLI and scripts
(``app.i18n_text.gettext``).

Import is set-based: one query finds every UUID of a package that already exists, every form's
fate (imported / updated / refused) is decided BEFORE anything is written, and the accepted
forms are written with bulk statements. A refused form therefore changes nothing without a
SAVEPOINT per form (the stdlib sqlite3 driver makes SAVEPOINTs unreliable, see
app.workflow.engine), and the others still import.
"""
from __future__ import annotations

import contextlib
import datetime
import hashlib
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from flask import current_app
from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from app.audit import audit_values, record_many
from app.transactions import unit_of_work
from app.forms.package import PackageError, UploadBudget, read_package, validate_forms
from app.forms.schema import UUID_LABEL, website_key
from app.i18n_text import N_, gettext, localize
from app.keys import whole_number
from app.orgs.models import Org
from app.orgs.scope import scope_clause
from app.workflow.engine import bulk_candidates as engine_bulk_candidates
from app.workflow.engine import bulk_counts as engine_bulk_counts
from app.workflow.engine import (MSG_CONCURRENT, ConcurrentChange, NotAllowed, NotFound,
                                 ReasonRequired, Result, WorkflowError, acting_viewer, apply,
                                 apply_and_commit)
from plugins.basic_info import identity
from plugins.basic_info import workflow as review
from plugins.basic_info.models import (WORKFLOW, BasicInfoColumnRow, BasicInfoForm,
                                       StoredPackage)
from plugins.basic_info.schema import COLUMNS_TABLE, FORM_TYPE, SCHEMA

OBJECT_TYPE = WORKFLOW.object_type or WORKFLOW.name

IMPORTED, UPDATED, REFUSED = "imported", "updated", "refused"
OUTCOME_LABELS = {IMPORTED: N_("新导入"), UPDATED: N_("已覆盖更新"), REFUSED: N_("已拒绝")}

# A whole import is retried when a concurrent import of the same UUID wins the race between our
# read of the existing UUIDs and our INSERT: the retry sees the winner's row and decides again.
IMPORT_ATTEMPTS = 3

# The import report (web page, API, CLI, and basic_info_package.result) must not grow with what
# a package holds: titles and messages are cut to these lengths, and only so many errors are
# listed per form and per upload; the rest are counted ("另有 N 条错误未列出").
REPORT_TITLE_CHARS = 60
REPORT_MESSAGE_CHARS = 200
REPORT_ERRORS_PER_FORM = 10
REPORT_ERRORS_PER_UPLOAD = 200
# Warnings (the form was imported, but a unit should look at it: the same website reported twice,
# a website of another province) are bounded the same way, in their own budget.
REPORT_WARNINGS_PER_FORM = 10
REPORT_WARNINGS_PER_UPLOAD = 200

_FIELD_NAMES = [f.name for f in SCHEMA.fields]
_HIDDEN = set(SCHEMA.hidden_field_names())  # 省/部, 市, 县: set from the importing unit
_ROW_COLUMNS = [c.name for c in COLUMNS_TABLE.columns]


# --------------------------------------------------------------------------------------------
# Errors


class FormError(WorkflowError):
    """A basic_info operation was refused; ``str(exc)`` is the Chinese message."""


class DuplicateSite(FormError):
    """The form's website already has a 网站标识码 (or gets one in the same batch)."""

    def __init__(self, refusals):
        self.refusals = dict(refusals)
        messages = [self.refusals[i] for i in sorted(self.refusals)]
        message = messages[0]
        if len(messages) > 1:
            message = gettext("%(first)s（另有 %(count)s 份表单同样不能办结）", first=message,
                              count=len(messages) - 1)
        super().__init__(message)


class FormInvalid(FormError):
    """The document failed the schema; ``errors`` lists every problem (``FieldError``)."""

    status = 422

    def __init__(self, errors):
        self.errors = list(errors)
        first = gettext("；").join(localize(e.message) for e in self.errors[:3])
        if len(self.errors) > 3:
            message = gettext("表单填写有误等 %(count)s 处：%(first)s", count=len(self.errors),
                              first=first)
        else:
            message = gettext("表单填写有误：%(first)s", first=first)
        super().__init__(message)

    def error_dicts(self):
        return [_error_dict(e) for e in self.errors]


# --------------------------------------------------------------------------------------------
# Reports


def _cut(text, limit):
    text = str(text or "")
    return text if len(text) <= limit else text[:limit - 1] + "…"


def omitted_note(count):
    """The line that stands for errors left out of a report, or "" when none were."""
    return gettext("另有 %(count)s 条错误未列出", count=count) if count else ""


def warnings_omitted_note(count):
    """The line that stands for warnings left out of a report, or "" when none were."""
    return gettext("另有 %(count)s 条提醒未列出", count=count) if count else ""


def _cut_entries(entries, room):
    return [{"path": _cut(e["path"], REPORT_MESSAGE_CHARS),
             "label": _cut(e["label"], REPORT_TITLE_CHARS),
             "message": _cut(e["message"], REPORT_MESSAGE_CHARS)} for e in entries[:room]]


@dataclass
class FormOutcome:
    uuid: str
    title: str
    outcome: str  # imported / updated / refused
    errors: list = field(default_factory=list)  # [{path, label, message}], bounded
    form_id: Optional[int] = None
    errors_omitted: int = 0  # errors of this form not listed in ``errors``
    warnings: list = field(default_factory=list)  # [{path, label, message}], bounded
    warnings_omitted: int = 0

    def __post_init__(self):
        self.title = _cut(self.title, REPORT_TITLE_CHARS)

    @property
    def outcome_label(self):
        label = OUTCOME_LABELS.get(self.outcome)
        return gettext(label) if label else self.outcome

    def to_dict(self):
        out = {"uuid": self.uuid, "title": self.title, "outcome": self.outcome,
               "outcome_label": self.outcome_label, "form_id": self.form_id,
               "errors": list(self.errors), "errors_omitted": self.errors_omitted,
               "errors_omitted_note": omitted_note(self.errors_omitted)}
        if self.outcome != REFUSED:
            # Only a form that was written has warnings; a refused one keeps the report as small
            # as before (tests/test_basic_info_upload_cost.py).
            out.update(warnings=list(self.warnings), warnings_omitted=self.warnings_omitted,
                       warnings_omitted_note=warnings_omitted_note(self.warnings_omitted))
        return out


@dataclass
class PackageReport:
    filename: str
    package_id: Optional[int] = None
    sha256: str = ""
    error: Optional[str] = None  # the whole package was refused with this message
    error_code: Optional[str] = None
    forms: list = field(default_factory=list)

    def count(self, outcome):
        return sum(1 for f in self.forms if f.outcome == outcome)

    @property
    def imported(self):
        return self.count(IMPORTED)

    @property
    def updated(self):
        return self.count(UPDATED)

    @property
    def refused(self):
        return self.count(REFUSED)

    @property
    def ok(self):
        return self.error is None and self.refused == 0

    def to_dict(self):
        return {"filename": self.filename, "package_id": self.package_id, "sha256": self.sha256,
                "error": self.error, "error_code": self.error_code,
                "imported": self.imported, "updated": self.updated, "refused": self.refused,
                "forms": [f.to_dict() for f in self.forms]}


@dataclass
class ImportReport:
    packages: list = field(default_factory=list)
    # Error lines still to be listed in this report (REPORT_ERRORS_PER_UPLOAD at the start).
    error_room: int = REPORT_ERRORS_PER_UPLOAD
    warning_room: int = REPORT_WARNINGS_PER_UPLOAD

    def set_errors(self, outcome, errors):
        """Give ``outcome`` the first of ``errors`` the report has room for, cut to length, and
        count the rest."""
        room = max(0, min(REPORT_ERRORS_PER_FORM, self.error_room))
        outcome.errors = _cut_entries(errors, room)
        outcome.errors_omitted = len(errors) - len(outcome.errors)
        self.error_room -= len(outcome.errors)

    def set_warnings(self, outcome, warnings):
        """Like ``set_errors``, for the warnings of a form that was imported."""
        room = max(0, min(REPORT_WARNINGS_PER_FORM, self.warning_room))
        outcome.warnings = _cut_entries(warnings, room)
        outcome.warnings_omitted = len(warnings) - len(outcome.warnings)
        self.warning_room -= len(outcome.warnings)

    @property
    def warnings(self):
        """How many warnings the report holds, listed or not."""
        return sum(len(f.warnings) + f.warnings_omitted for f in self.forms)

    @property
    def errors_omitted(self):
        return sum(f.errors_omitted for f in self.forms)

    @property
    def imported(self):
        return sum(p.imported for p in self.packages)

    @property
    def updated(self):
        return sum(p.updated for p in self.packages)

    @property
    def refused(self):
        return sum(p.refused for p in self.packages)

    @property
    def refused_packages(self):
        return sum(1 for p in self.packages if p.error)

    @property
    def ok(self):
        """True when nothing was refused (no package, no form)."""
        return all(p.ok for p in self.packages)

    @property
    def forms(self):
        return [f for p in self.packages for f in p.forms]

    def summary(self):
        text = gettext("新导入 %(imported)s 份，覆盖更新 %(updated)s 份，拒绝 %(refused)s 份",
                       imported=self.imported, updated=self.updated, refused=self.refused)
        if self.refused_packages:
            text += gettext("；%(count)s 个上报文件整体被拒绝", count=self.refused_packages)
        if self.errors_omitted:
            text += "；" + omitted_note(self.errors_omitted)
        if self.warnings:
            text += gettext("；%(count)s 条提醒请核实", count=self.warnings)
        return text

    def to_dict(self):
        return {"imported": self.imported, "updated": self.updated, "refused": self.refused,
                "refused_packages": self.refused_packages, "ok": self.ok,
                "errors_omitted": self.errors_omitted, "warnings": self.warnings,
                "summary": self.summary(), "packages": [p.to_dict() for p in self.packages]}


def _error_dict(error):
    """A field error as the report lists it, in the language of the request that imports."""
    return {"path": error.path, "label": localize(error.label), "message": localize(error.message)}


# --------------------------------------------------------------------------------------------
# Helpers


def _now():
    return datetime.datetime.now()


def _acting_org(actor, what):
    """The organising unit ``actor`` acts for; administrators and anonymous callers are refused.
    ``what`` is a verb phrase marked with ``N_`` (导入表单), translated here."""
    org = acting_viewer(actor).org
    if org is None:
        raise NotAllowed(gettext("系统管理员账号不属于任何组织单位，不能%(what)s；请使用组织单位的账号操作",
                                 what=gettext(what)))
    return org


def _region_names(session, org):
    """(省/部, 市, 县) stamped on the forms ``org`` imports (SPEC §3.1, seed 004 §5)."""
    from app.orgs.queries import region_names

    return region_names(org, session)


def _storage_dir():
    return Path(current_app.config["FILE_STORAGE_DIR"])


def _store_file(data):
    """Keep the bytes under a content-addressed key; the same file handed in twice is kept once."""
    digest = hashlib.sha256(data).hexdigest()
    key = f"basic_info/packages/{digest[:2]}/{digest}.zip"
    path = _storage_dir() / key
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=str(path.parent))
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)  # never a half-written file under the final name
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    return digest, key


def stored_package_path(package):
    """Where the bytes of a ``StoredPackage`` are kept."""
    return _storage_dir() / package.storage_key


def _clean_filename(filename):
    name = re.sub(r"[\x00-\x1f\x7f]", "?", str(filename or "")).replace("\\", "/").rsplit("/", 1)[-1]
    return (name or "未命名.zip")[:255]


def _form_values(doc):
    """Field columns from a validated document (hidden fields included)."""
    fields = doc.get("fields", {})
    values = {name: (fields.get(name) or None) if name in _HIDDEN else fields.get(name)
              for name in _FIELD_NAMES}
    values["site_key"] = website_key(fields.get("home_url"))
    return values


def _row_values(doc):
    rows = []
    for item in SCHEMA.table_rows(doc, COLUMNS_TABLE.name):
        row = {"group": item["group"], "slot": item["slot"], "position": item["position"]}
        for col in _ROW_COLUMNS:
            row[col] = item[col]
        rows.append(row)
    return rows


def _with_regions(doc, regions):
    doc = dict(doc)
    fields = dict(doc.get("fields") or {})
    for name, value in zip(("province", "city", "county"), regions):
        fields[name] = value or ""
    doc["fields"] = fields
    return doc


# --------------------------------------------------------------------------------------------
# Import


def upload_budget():
    """What one upload may cost, from the settings (config.py, docs/config.md)."""
    config = current_app.config
    return UploadBudget(max_forms=config["UPLOAD_MAX_FORMS"],
                        max_bytes=config["UPLOAD_MAX_UNCOMPRESSED_BYTES"],
                        max_values=config["UPLOAD_MAX_JSON_VALUES"])


def _stored_bytes(session, org):
    return session.scalar(select(func.coalesce(func.sum(StoredPackage.size), 0))
                          .where(StoredPackage.org_id == org.id))


def _size_text(size):
    """A size for a message: MB at and above one MB, KB below (a quota may be small)."""
    value, unit = (size / 1024 / 1024, "MB") if size >= 1024 * 1024 else (size / 1024, "KB")
    return f"{value:.1f}".removesuffix(".0") + " " + unit


def _over_quota(filename, used, quota):
    return PackageReport(filename=filename, error_code="quota", error=gettext(
        "本单位保存的上报文件已达存储上限（已用 %(used)s，上限 %(quota)s），本文件未保存也未导入。"
        "未导入任何表单的上报文件保存 %(days)s 天后清理；如需现在导入，请联系技术支持",
        used=_size_text(used), quota=_size_text(quota),
        days=current_app.config["REFUSED_PACKAGE_RETENTION_DAYS"]))


def import_packages(session, actor, files):
    """Import uploaded packages as ``actor``'s unit; ``files`` is ``[(filename, bytes), ...]``.

    Every file is stored (and its ``StoredPackage`` row committed) before anything else, so what
    a unit handed in is never lost, refused or not — unless the unit's storage quota
    (``PACKAGE_QUOTA_BYTES``) is used up: then that file is refused unstored and unread. Each
    package is then imported in its own transaction: a damaged package next to a good one does
    not hold the good one back. All packages of the call share one ``UploadBudget``, so what the
    whole upload costs is bounded, and so is the report. Returns an ``ImportReport``; raises
    ``NotAllowed`` when the actor has no organising unit.
    """
    org = _acting_org(actor, N_("导入表单"))
    report = ImportReport()
    budget = upload_budget()
    quota = current_app.config["PACKAGE_QUOTA_BYTES"]
    used = _stored_bytes(session, org)
    for filename, data in files:
        filename, data = _clean_filename(filename), bytes(data or b"")
        if used + len(data) > quota:
            report.packages.append(_over_quota(filename, used, quota))
            continue
        used += len(data)
        report.packages.append(_import_one(session, actor, org, filename, data, budget, report))
    return report


def _import_one(session, actor, org, filename, data, budget, report):
    digest, key = _store_file(data)
    stored = StoredPackage(scope_path=org.path, org_id=org.id,
                           uploaded_by_id=getattr(actor, "id", None), uploaded_at=_now(),
                           filename=filename, sha256=digest, size=len(data), storage_key=key)
    with unit_of_work(session, lost_race=(), conflict=ConcurrentChange):
        session.add(stored)
    package_id = stored.id
    package_report = PackageReport(filename=filename, package_id=package_id, sha256=digest)

    try:
        package = read_package(data, expected_form_type=FORM_TYPE, budget=budget)
        if package.schema_version > SCHEMA.version:
            raise PackageError(gettext(
                "该上报文件由较新版本的填报客户端生成（表单版本 %(version)s），"
                "本系统支持的表单版本为 %(supported)s，请联系技术支持",
                version=package.schema_version, supported=SCHEMA.version), "schema_version")
        results = validate_forms(package, SCHEMA)
    except PackageError as exc:
        package_report.error, package_report.error_code = localize(exc.message), exc.code
        _save_result(session, package_id, package_report)
        return package_report
    del package  # the validated copies in ``results`` are all that is needed from here on

    regions = _region_names(session, org)
    last_error = None
    error_room, warning_room = report.error_room, report.warning_room
    for _attempt in range(IMPORT_ATTEMPTS):
        # A retry lists the same errors and warnings again, not more.
        report.error_room, report.warning_room = error_room, warning_room
        try:
            forms = _import_forms(session, actor, org, package_id, results, regions, report)
            package_report.forms = forms
            session.execute(update(StoredPackage).where(StoredPackage.id == package_id)
                            .values(result=package_report.to_dict()))
            session.commit()
            return package_report
        except IntegrityError as exc:
            # Someone imported one of these UUIDs between our read and our INSERT: decide again
            # from what is in the database now.
            session.rollback()
            last_error = exc
        except BaseException:
            session.rollback()
            raise
    package_report.error = MSG_CONCURRENT
    package_report.error_code = "concurrent"
    _save_result(session, package_id, package_report)
    raise ConcurrentChange(MSG_CONCURRENT) from last_error


def _save_result(session, package_id, report):
    with unit_of_work(session, lost_race=(), conflict=ConcurrentChange):
        session.execute(update(StoredPackage).where(StoredPackage.id == package_id)
                        .values(result=report.to_dict()))


def _imported_nothing(result):
    """Whether a stored package's result shows that it imported (or updated) no form. A
    package without a result is still being imported, or its import failed midway: kept."""
    return (isinstance(result, dict)
            and not (result.get("imported") or 0) and not (result.get("updated") or 0))


def purge_refused_packages(session, days, now=None, dry_run=False):
    """Delete the stored packages older than ``days`` that imported no form (refused whole, or
    every form refused), with one audit row each, in one transaction; then their files, when no
    other kept row shares the same bytes. Packages that imported a form are never purged, nor
    is one a form still points at. Returns the purged rows as dicts."""
    cutoff = (now or _now()) - datetime.timedelta(days=days)
    referenced = exists().where(BasicInfoForm.package_id == StoredPackage.id)
    stmt = (select(StoredPackage.id, StoredPackage.org_id, StoredPackage.filename,
                   StoredPackage.sha256, StoredPackage.size, StoredPackage.storage_key,
                   StoredPackage.uploaded_at, StoredPackage.result)
            .where(StoredPackage.uploaded_at < cutoff, ~referenced)
            .order_by(StoredPackage.id))
    purged = []
    for row in session.execute(stmt.execution_options(yield_per=1000)):
        if _imported_nothing(row.result):
            purged.append({"id": row.id, "org_id": row.org_id, "filename": row.filename,
                           "sha256": row.sha256, "size": row.size, "storage_key": row.storage_key,
                           "uploaded_at": row.uploaded_at.isoformat(timespec="seconds"),
                           "error_code": row.result.get("error_code")})
    if dry_run or not purged:
        session.rollback()
        return purged
    with unit_of_work(session, lost_race=(), conflict=ConcurrentChange):
        ids = [p["id"] for p in purged]
        for start in range(0, len(ids), 5000):
            session.execute(delete(StoredPackage).where(StoredPackage.id.in_(ids[start:start + 5000])))
        record_many(session, [audit_values(
            "purge", "basic_info_package", p["id"], org_id=p["org_id"],
            detail={k: p[k] for k in ("filename", "sha256", "size", "uploaded_at", "error_code")}
            | {"retention_days": days}) for p in purged])
    # Files go after the commit: a crash in between leaves a file without a row, never a row
    # without its file.
    keys = sorted({p["storage_key"] for p in purged})
    still_used = set()
    for start in range(0, len(keys), 5000):
        still_used.update(session.scalars(select(StoredPackage.storage_key).where(
            StoredPackage.storage_key.in_(keys[start:start + 5000]))))
    session.rollback()
    for key in keys:
        if key not in still_used:
            with contextlib.suppress(FileNotFoundError):
                (_storage_dir() / key).unlink()
    return purged


def _import_forms(session, actor, org, package_id, results, regions, report):
    """Decide every form's fate, then write the accepted ones (``report`` bounds the errors
    listed). Never commits."""
    outcomes = []
    valid = []
    for res in results:
        outcome = FormOutcome(uuid=res.uuid, title=res.title or "", outcome=REFUSED)
        outcomes.append(outcome)
        if res.errors:
            report.set_errors(outcome, [_error_dict(e) for e in res.errors])
        else:
            valid.append((res, outcome))

    uuids = [res.uuid for res, _ in valid]
    existing = {}
    for start in range(0, len(uuids), 5000):
        stmt = (select(BasicInfoForm.id, BasicInfoForm.uuid, BasicInfoForm.scope_path,
                       BasicInfoForm.stage, BasicInfoForm.version, BasicInfoForm.site_code,
                       Org.name, Org.code)
                .join(Org, Org.id == BasicInfoForm.importer_id)
                .where(BasicInfoForm.uuid.in_(uuids[start:start + 5000])))
        for row in session.execute(stmt):
            existing[row.uuid] = row

    now = _now()
    new, updates = [], []
    for res, outcome in valid:
        found = existing.get(res.uuid)
        doc = _with_regions(res.data, regions)
        if found is None:
            new.append((doc, outcome))
        elif found.scope_path != org.path:
            report.set_errors(outcome, [{"path": "uuid", "label": localize(UUID_LABEL), "message": gettext(
                "该表单已由 %(unit)s（%(code)s）导入，不能重复导入；如需修改，请联系%(unit)s处理",
                unit=found.name, code=found.code)}])
        elif found.stage == review.COMPLETED:
            report.set_errors(outcome, [{"path": "uuid", "label": localize(UUID_LABEL), "message": gettext(
                "该网站已办结（网站标识码 %(site_code)s），不再接受重新导入，如需修改请在系统中在线修改",
                site_code=found.site_code)}])
        else:
            updates.append((found, doc, outcome))

    warnings = _import_warnings(session, org, regions, new, updates)
    audit_rows = []
    table = BasicInfoForm.__table__

    if new:
        params = []
        for doc, _outcome in new:
            values = _form_values(doc)
            values.update(uuid=doc["uuid"], scope_path=org.path, importer_id=org.id,
                          holder_path=org.path, stage=review.DRAFT, version=1, last_reason=None,
                          imported_at=now, updated_at=now, held_since=now, package_id=package_id, document=doc)
            params.append(values)
        ids = session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), params
        ).scalars().all()
        for (doc, outcome), form_id in zip(new, ids):
            outcome.outcome, outcome.form_id = IMPORTED, form_id
            audit_rows.append(audit_values(
                "import", OBJECT_TYPE, form_id, actor=actor, org_id=org.id, to_stage=review.DRAFT,
                detail={"package_id": package_id, "uuid": doc["uuid"]}))

    if updates:
        # One statement per re-imported form: its rowcount tells whether THIS form changed under
        # us (another unit acted on it since we read it), so only that form is refused.
        stmt = (update(table)
                .where(table.c.id == bindparam("w_id"), table.c.version == bindparam("w_version"))
                .values({name: bindparam(f"v_{name}") for name in _FIELD_NAMES + ["site_key"]})
                .values(holder_path=org.path, stage=review.DRAFT, last_reason=None,
                        updated_at=now, held_since=now, package_id=package_id,
                        document=bindparam("v_document"), version=table.c.version + 1))
        for found, doc, outcome in updates:
            params = {f"v_{k}": v for k, v in _form_values(doc).items()}
            params.update(w_id=found.id, w_version=found.version, v_document=doc)
            if session.execute(stmt, params).rowcount != 1:
                report.set_errors(outcome, [{"path": "", "label": "表单", "message": MSG_CONCURRENT}])
                continue
            outcome.outcome, outcome.form_id = UPDATED, found.id
            audit_rows.append(audit_values(
                "reimport", OBJECT_TYPE, found.id, actor=actor, org_id=org.id,
                from_stage=found.stage, to_stage=review.DRAFT,
                detail={"package_id": package_id, "uuid": found.uuid}))

    written = [o for o in outcomes if o.form_id is not None]
    updated_ids = [o.form_id for o in written if o.outcome == UPDATED]
    for start in range(0, len(updated_ids), 5000):
        session.execute(delete(BasicInfoColumnRow)
                        .where(BasicInfoColumnRow.form_id.in_(updated_ids[start:start + 5000])))
    docs = {doc["uuid"]: doc for doc, _ in new}
    docs.update({found.uuid: doc for found, doc, _ in updates})
    row_params = []
    for outcome in written:
        for row in _row_values(docs[outcome.uuid]):
            row["form_id"] = outcome.form_id
            row_params.append(row)
    if row_params:
        session.execute(insert(BasicInfoColumnRow.__table__), row_params)
    record_many(session, audit_rows)
    for outcome in written:
        if warnings.get(outcome.uuid):
            report.set_warnings(outcome, warnings[outcome.uuid])
    if updated_ids:
        # Objects of these forms that this session holds are now stale.
        stale = set(updated_ids)
        for obj in list(session.identity_map.values()):
            if isinstance(obj, BasicInfoForm) and obj.id in stale:
                session.expire(obj)
    return outcomes


def _import_warnings(session, org, regions, new, updates):
    """{uuid: [warning, ...]} for the forms about to be written: another form of the same website
    (stored, of any unit and stage, or earlier in this package), and an ICP备案编号 or 办公地址 of
    another province than the importing unit's (plugins.basic_info.identity). Read before
    anything is written; two queries whatever the package holds."""
    docs = [doc for doc, _ in new] + [doc for _, doc, _ in updates]
    keys = {doc["uuid"]: website_key(doc["fields"].get("home_url")) for doc in docs}
    stored = identity.forms_of_sites(session, keys.values(), exclude_uuids=keys)
    holders = identity.unit_names(session, [row.holder_path for rows in stored.values()
                                            for row in rows])
    province = identity.home_province(regions[0])
    warnings = {}
    first_in_package = {}
    for doc in docs:
        fields, key = doc["fields"], keys[doc["uuid"]]
        found = []
        if stored.get(key):
            found.append(identity.duplicate_warning(stored[key], org.path, holders,
                                                    fields.get("home_url")))
        if key in first_in_package:
            found.append(identity.same_package_warning(fields.get("home_url"),
                                                       first_in_package[key]))
        elif key:
            first_in_package[key] = fields.get("site_name") or doc["uuid"]
        found += identity.out_of_area_warnings(fields, province)
        if found:
            warnings[doc["uuid"]] = found
    return warnings


# --------------------------------------------------------------------------------------------
# Review


def transition(session, actor, name, ids, reason=None, expected_versions=None):
    """提交 / 审核通过 / 退回 the forms ``ids`` as ``actor``; one transaction; returns the engine's
    ``Result``. Raises NotFound, NotAllowed, ReasonRequired or ConcurrentChange."""
    # IntegrityError: only the unique 网站标识码 can collide here, when a concurrent completion
    # took the code.
    with unit_of_work(session, conflict=ConcurrentChange):
        refusals = _duplicate_site_refusals(session, actor, name, ids)
        if refusals:
            raise DuplicateSite(refusals)
        result = apply(session, WORKFLOW, name, list(ids), actor, reason=reason,
                       expected_versions=expected_versions)
        return result


def _duplicate_site_refusals(session, actor, name, ids):
    """{id: why} for the forms ``name`` would complete although their website has a 网站标识码
    (one website, one code): checked before anything is written, so a single approval is refused
    cleanly and a bulk one leaves those forms out. Completion checks again under a lock."""
    if name not in ("submit", "approve") or isinstance(ids, (str, bytes, dict)):
        return {}
    keys = sorted({k for k in (whole_number(i, 1) for i in ids) if k is not None})
    if not keys:
        return {}
    viewer = acting_viewer(actor)
    # Only forms in the unit's scope: any other id is refused by the engine as not found, and
    # the message here must not describe a form the unit may not see.
    seen = []
    for start in range(0, len(keys), 10_000):
        seen.extend(session.scalars(select(BasicInfoForm.id).where(
            BasicInfoForm.id.in_(keys[start:start + 10_000]), scope_clause(BasicInfoForm, viewer))))
    return identity.duplicate_site_refusals(session, seen, viewer.path) if seen else {}


BULK_TRANSITIONS = tuple(t.name for t in WORKFLOW.bulk_transitions)

# The forms one 审核通过选中 / 退回选中 may name: a page of the list is at most a few hundred rows.
MAX_SELECTED = 500
SELECTED_TRANSITIONS = ("approve", "return")

MSG_RETURNED_LEFT_OUT = N_("已退回的表单需逐份处理，请打开表单后单独审核或退回")


def bulk_candidates(actor_org, name):
    """SQL selecting the ids ``actor_org``'s 全部提交 / 全部审核 takes (the workflow's rule)."""
    return engine_bulk_candidates(WORKFLOW, name, actor_org)


def bulk_counts(session, org):
    """{name: (taken, returned_left_out)} for 全部提交 / 全部审核 of ``org`` now: what the
    confirmation names before the unit decides."""
    return engine_bulk_counts(session, WORKFLOW, org)


def transition_all(session, actor, name):
    """全部提交 (``submit``) / 全部审核 (``approve``): every form the actor's unit sees as 未提交 /
    未审核, selected in one query and applied in one set-based call. Returns the engine's
    ``Result`` (``count`` 0 when there was nothing to do); ``Result.left_out`` is how many
    已退回 forms were left for a decision of their own."""
    if name not in BULK_TRANSITIONS:
        raise FormError(gettext("只有“提交”和“审核通过”可以批量执行（全部提交 / 全部审核）"))
    org = _acting_org(actor, N_("批量处理表单"))
    left_out = bulk_counts(session, org)[name][1]
    ids = session.execute(bulk_candidates(org, name)).scalars().all()
    duplicates = _duplicate_site_refusals(session, actor, name, ids)
    ids = [i for i in ids if i not in duplicates]
    if not ids:
        session.rollback()  # end the read transaction; nothing to do
        result = Result(WORKFLOW, WORKFLOW.transition(name), [], {}, {})
    else:
        try:
            # skip_refused: a form another unit moved between our SELECT and the engine's load
            # is left alone instead of failing the whole batch.
            result = apply_and_commit(session, WORKFLOW, name, ids, actor, skip_refused=True)
        except (StaleDataError, IntegrityError):
            raise ConcurrentChange(MSG_CONCURRENT) from None
    result.skipped.update(duplicates)
    result.left_out = left_out
    return result


def transition_selected(session, actor, name, ids, reason=None, expected_versions=None):
    """审核通过选中 / 退回选中: ``name`` on the forms ``ids`` ticked on the list, with one reason
    for all, set-based like 全部审核. Each form is checked on its own: one that is not 未审核 for
    the unit (already moved by someone else, changed since the page was drawn, or 已退回, which
    needs its own decision) is left alone and reported in ``Result.skipped`` ({id: why}); the
    others are taken in one transaction with an audit row each. Raises FormError for a bad
    request, ReasonRequired, and NotFound when an id is not in the unit's scope."""
    if name not in SELECTED_TRANSITIONS:
        raise FormError(gettext("选中的表单只能“审核通过”或“退回”"))
    _acting_org(actor, N_("批量处理表单"))  # an administrator without a unit is refused here
    if isinstance(ids, (str, bytes, dict)) or not hasattr(ids, "__iter__"):
        raise NotFound(gettext("表单编号无效"))
    ids = list(ids)
    if len(ids) > MAX_SELECTED:
        raise FormError(gettext("一次最多选择 %(max)s 份表单，请分批处理", max=MAX_SELECTED))
    keys = [whole_number(i, 1) for i in ids]
    if not keys or any(k is None for k in keys):
        raise NotFound(gettext("请先勾选要处理的表单") if not keys else gettext("表单编号无效"))
    keys = sorted(set(keys))
    transition_ = WORKFLOW.transition(name)
    reason = (reason or "").strip() or None
    if transition_.reason_required and not reason:
        raise ReasonRequired(gettext("%(action)s必须填写原因", action=gettext(transition_.label)))
    versions = {}
    for key, version in (expected_versions or {}).items():
        row_id, number = whole_number(key, 1), whole_number(version, 0)
        if row_id is not None and number is not None:
            versions[row_id] = number

    with unit_of_work(session, conflict=ConcurrentChange):
        rows = session.execute(
            select(BasicInfoForm.id, BasicInfoForm.stage, BasicInfoForm.version)
            .where(BasicInfoForm.id.in_(keys), scope_clause(BasicInfoForm, acting_viewer(actor)))
        ).all()
        if len(rows) != len(keys):
            raise NotFound(gettext("未找到部分选中的表单，或不在本单位管辖范围内"))
        skipped, todo = {}, []
        for row in rows:
            if row.id in versions and versions[row.id] != row.version:
                skipped[row.id] = gettext(MSG_CONCURRENT)
            elif row.stage not in transition_.taken_in_bulk:
                skipped[row.id] = gettext(MSG_RETURNED_LEFT_OUT)
            else:
                todo.append(row.id)
        duplicates = _duplicate_site_refusals(session, actor, name, todo)
        skipped.update(duplicates)
        todo = [i for i in todo if i not in duplicates]
        result = apply(session, WORKFLOW, name, todo, actor, reason=reason, skip_refused=True)
    result.skipped.update(skipped)
    return result


# --------------------------------------------------------------------------------------------
# Edit, correct, delete


def _load_form(session, actor, form_id):
    """The form ``form_id`` loaded through ``actor``'s scope, and ``actor``'s Viewer."""
    viewer = acting_viewer(actor)
    try:
        form_id = int(form_id)
    except (TypeError, ValueError):
        raise NotFound(gettext("表单编号无效")) from None
    stmt = select(BasicInfoForm).where(BasicInfoForm.id == form_id,
                                       scope_clause(BasicInfoForm, viewer))
    form = session.execute(stmt.execution_options(populate_existing=True)).scalars().first()
    if form is None:
        raise NotFound(gettext("未找到表单（编号 %(id)s），或不在本单位管辖范围内", id=form_id))
    return form, viewer


def _check_version(form, expected_version):
    if expected_version is not None and int(expected_version) != form.version:
        raise ConcurrentChange(MSG_CONCURRENT)


def _table_cells(doc):
    """{path: value} of every cell of the columns table, keyed like the schema's error paths."""
    cells = {}
    for item in SCHEMA.table_rows(doc, COLUMNS_TABLE.name):
        base = f"{COLUMNS_TABLE.name}.{item['group']}.{item['slot']}[{item['position']}]"
        for col in _ROW_COLUMNS:
            cells[f"{base}.{col}"] = item[col]
    return cells


def document_diff(old_doc, new_doc):
    """{field or cell path: [old, new]} for everything that differs (None: absent)."""
    diff = {}
    old_fields, new_fields = old_doc.get("fields") or {}, new_doc.get("fields") or {}
    for name in _FIELD_NAMES:
        a, b = old_fields.get(name), new_fields.get(name)
        if (a or "") != (b or ""):
            diff[name] = [a, b]
    old_cells, new_cells = _table_cells(old_doc), _table_cells(new_doc)
    for path in list(old_cells) + [p for p in new_cells if p not in old_cells]:
        a, b = old_cells.get(path), new_cells.get(path)
        if a != b:
            diff[path] = [a, b]
    return diff


def edit_form(session, actor, form_id, document, expected_version):
    """编辑 (before completion: the importer while it holds the form as draft/returned) or
    在线修改 (after completion: any unit on the form's chain, no new review). The document is
    validated exactly as on import; 省/部, 市, 县 and the UUID stay as they are. The change is
    audited field by field. Returns the form; raises NotFound, NotAllowed, FormInvalid or
    ConcurrentChange."""
    with unit_of_work(session, lost_race=(StaleDataError,),
                      conflict=ConcurrentChange):
        form, viewer = _load_form(session, actor, form_id)
        org = viewer.org
        correcting = form.stage == review.COMPLETED
        if correcting:
            if not review.may_correct(form, viewer):
                raise NotAllowed(gettext("只有该表单审核链上的组织单位可以在线修改已办结的表单"))
        elif not review.may_edit(form, org):
            raise NotAllowed(_edit_refusal(form, org, "编辑"))
        _check_version(form, expected_version)

        data = SCHEMA.normalize(document)
        if isinstance(data, dict):
            data["uuid"] = form.uuid  # the filler's identity of the website never changes
            fields = data.get("fields")
            if isinstance(fields, dict):
                for name in _HIDDEN:  # set from the importing unit, not by the user
                    fields.pop(name, None)
        errors = SCHEMA.validate(data)
        if errors:
            raise FormInvalid(errors)
        old_fields = (form.document or {}).get("fields") or {}
        data = _with_regions(data, [old_fields.get(n) or getattr(form, n) or ""
                                    for n in ("province", "city", "county")])
        if "meta" in (form.document or {}) and "meta" not in data:
            data["meta"] = form.document["meta"]

        diff = document_diff(form.document or {}, data)
        if not diff:
            session.rollback()
            return form

        for name, value in _form_values(data).items():
            setattr(form, name, value)
        form.document = data
        form.updated_at = _now()
        from_version = form.version
        session.flush()  # the version-checked UPDATE: StaleDataError when someone acted first

        session.execute(delete(BasicInfoColumnRow).where(BasicInfoColumnRow.form_id == form.id))
        rows = _row_values(data)
        for row in rows:
            row["form_id"] = form.id
        if rows:
            session.execute(insert(BasicInfoColumnRow.__table__), rows)
        session.expire(form, ["rows"])

        record_many(session, [audit_values(
            "correct" if correcting else "edit", OBJECT_TYPE, form.id, actor=actor,
            org_id=getattr(org, "id", None), from_stage=form.stage, to_stage=form.stage,
            detail={"version": [from_version, form.version], "changes": diff})])
        return form


# Why 编辑 / 删除 is refused, as whole sentences (a verb slotted into a sentence does not
# translate): case -> (编辑, 删除).
_EDIT_REFUSALS = {
    "completed": (N_("表单已办结，不能编辑；如需修改请使用在线修改"),
                  N_("表单已办结，不能删除；如需修改请使用在线修改")),
    "not_importer": (N_("只有导入该表单的单位才能编辑"), N_("只有导入该表单的单位才能删除")),
    "returned_above": (N_("表单已被上级退回，但尚未退回到本单位，暂不能编辑"),
                       N_("表单已被上级退回，但尚未退回到本单位，暂不能删除")),
    "submitted": (N_("表单已提交上级审核，不能编辑"), N_("表单已提交上级审核，不能删除")),
    "other": (N_("当前状态下不能编辑该表单"), N_("当前状态下不能删除该表单")),
}


def _edit_refusal(form, org, what):
    """The message refusing ``what`` (编辑 or 删除) on ``form`` to ``org``."""
    if form.stage == review.COMPLETED:
        case = "completed"
    elif org is None or form.scope_path != org.path:
        case = "not_importer"
    elif form.holder_path != org.path:
        case = "returned_above" if form.stage == review.RETURNED else "submitted"
    else:
        case = "other"
    return gettext(_EDIT_REFUSALS[case][what == "删除"])


def delete_form(session, actor, form_id, expected_version):
    """删除: only the importer while it holds the form as draft/returned; audited."""
    with unit_of_work(session, lost_race=(), conflict=ConcurrentChange):
        form, viewer = _load_form(session, actor, form_id)
        org = viewer.org
        if not review.may_edit(form, org):
            raise NotAllowed(_edit_refusal(form, org, "删除"))
        _check_version(form, expected_version)
        version = form.version
        detail = {"uuid": form.uuid, "site_name": form.site_name, "package_id": form.package_id}
        stage, fid = form.stage, form.id
        table = BasicInfoForm.__table__
        session.expunge(form)
        session.execute(delete(BasicInfoColumnRow).where(BasicInfoColumnRow.form_id == fid))
        result = session.execute(delete(table).where(table.c.id == fid, table.c.version == version))
        if result.rowcount != 1:
            raise ConcurrentChange(MSG_CONCURRENT)
        record_many(session, [audit_values(
            "delete", OBJECT_TYPE, fid, actor=actor, org_id=org.id, from_stage=stage,
            detail=detail)])


__all__ = [
    "FormError", "FormInvalid", "DuplicateSite", "FormOutcome", "PackageReport", "ImportReport",
    "IMPORTED", "UPDATED", "REFUSED", "import_packages", "transition", "transition_all",
    "transition_selected", "bulk_counts",
    "bulk_candidates", "edit_form", "delete_form", "document_diff", "stored_package_path",
    "purge_refused_packages", "upload_budget", "omitted_note", "warnings_omitted_note",
]
