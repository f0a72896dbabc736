"""Import of packaged form types: the zip a filing unit's filler made, read, checked and written.

Every file is stored (and its package row committed) before anything else, so what a unit handed
in is never lost, refused or not. Import is set-based: one query finds every UUID of a package
that already exists, every form's fate (imported / updated / refused) is decided BEFORE anything
is written, and the accepted forms are written with bulk statements. A refused form therefore
changes nothing without a SAVEPOINT per form (the stdlib sqlite3 driver makes SAVEPOINTs
unreliable, see app.workflow.engine), and the others still import.

What is the type's own comes from its ``FormPolicy``: the hidden fields stamped from the importing
unit (``stamp``), the columns derived from a document, why a re-import is refused, and the
warnings an import raises.
"""
import datetime

from flask import current_app
from sqlalchemy import bindparam, delete, exists, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from app import clock
from app.audit import audit_values, record_many
from app.files.storage import clean_filename, current_store
from app.forms.package import PackageError, UploadBudget, read_package, validate_forms
from app.forms.schema import UUID_LABEL
from app.formtypes.commands import acting_org, error_dict, field_values, row_values
from app.formtypes.reports import (IMPORTED, REFUSED, UPDATED, FormOutcome, ImportReport,
                                   PackageReport)
from app.i18n_text import N_, gettext, localize
from app.orgs.models import Org
from app.transactions import unit_of_work
from app.workflow.engine import MSG_CONCURRENT, ConcurrentChange

# A whole import is retried when a concurrent import of the same UUID wins the race between our
# read of the existing UUIDs and our INSERT: the retry sees the winner's row and decides again.
IMPORT_ATTEMPTS = 3


def package_namespace(ft):
    """The file-store namespace of ``ft``'s packages (keys ``<type>/packages/xx/<sha-256>.zip``)."""
    return f"{ft.name}/packages"


def _store_file(ft, data):
    """Keep the bytes under a content-addressed key; the same file handed in twice is kept once."""
    blob = current_store().put(data, namespace=package_namespace(ft), suffix=".zip")
    return blob.sha256, blob.key


MSG_PACKAGE_NOT_FOUND = N_("未找到上报文件（编号 %(id)s），或不在本单位管辖范围内")


def package_download(package):
    """The download of a stored package under the name it was uploaded with (streamed)."""
    return current_store().response(package.storage_key, download_name=package.filename,
                                    mimetype="application/zip")


def stored_package_path(package):
    """Where the bytes of a stored package are kept (``current_store().open`` reads them)."""
    return current_store().path(package.storage_key)


def upload_budget():
    """What one upload may cost, from the settings (config.py, docs/config.md)."""
    config = current_app.config
    return UploadBudget(max_forms=config["UPLOAD_MAX_FORMS"],
                        max_bytes=config["UPLOAD_MAX_UNCOMPRESSED_BYTES"],
                        max_values=config["UPLOAD_MAX_JSON_VALUES"])


def _stored_bytes(session, ft, org):
    stored = ft.package_model
    return session.scalar(select(func.coalesce(func.sum(stored.size), 0))
                          .where(stored.org_id == org.id))


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


def import_packages(session, actor, ft, files):
    """Import uploaded packages as ``actor``'s unit; ``files`` is ``[(filename, bytes), ...]``.

    Every file is stored (and its ``StoredPackage`` row committed) before anything else, so what
    a unit handed in is never lost, refused or not — unless the unit's storage quota
    (``PACKAGE_QUOTA_BYTES``) is used up: then that file is refused unstored and unread. Each
    package is then imported in its own transaction: a damaged package next to a good one does
    not hold the good one back. All packages of the call share one ``UploadBudget``, so what the
    whole upload costs is bounded, and so is the report. Returns an ``ImportReport``; raises
    ``NotAllowed`` when the actor has no organising unit.
    """
    org = acting_org(actor, N_("导入表单"))
    report = ImportReport()
    budget = upload_budget()
    quota = current_app.config["PACKAGE_QUOTA_BYTES"]
    used = _stored_bytes(session, ft, org)
    for filename, data in files:
        filename, data = clean_filename(filename, "未命名.zip"), bytes(data or b"")
        if used + len(data) > quota:
            report.packages.append(_over_quota(filename, used, quota))
            continue
        used += len(data)
        report.packages.append(_import_one(session, actor, ft, org, filename, data, budget,
                                           report))
    return report


def _import_one(session, actor, ft, org, filename, data, budget, report):
    digest, key = _store_file(ft, data)
    stored = ft.package_model(scope_path=org.path, org_id=org.id,
                           uploaded_by_id=getattr(actor, "id", None), uploaded_at=clock.now(),
                           filename=filename, sha256=digest, size=len(data), storage_key=key)
    with unit_of_work(session, lost_race=(), conflict=ConcurrentChange):
        session.add(stored)
    package_id = stored.id
    package_report = PackageReport(filename=filename, package_id=package_id, sha256=digest)

    try:
        package = read_package(data, expected_form_type=ft.package_kind, budget=budget)
        if package.schema_version > ft.schema.version:
            raise PackageError(gettext(
                "该上报文件由较新版本的填报客户端生成（表单版本 %(version)s），"
                "本系统支持的表单版本为 %(supported)s，请联系技术支持",
                version=package.schema_version, supported=ft.schema.version), "schema_version")
        results = validate_forms(package, ft.schema)
    except PackageError as exc:
        package_report.error, package_report.error_code = localize(exc.message), exc.code
        _save_result(session, ft, package_id, package_report)
        return package_report
    del package  # the validated copies in ``results`` are all that is needed from here on

    stamp = ft.policy.stamp(session, org)
    last_error = None
    error_room, warning_room = report.error_room, report.warning_room
    for _attempt in range(IMPORT_ATTEMPTS):
        # A retry lists the same errors and warnings again, not more.
        report.error_room, report.warning_room = error_room, warning_room
        try:
            forms = _import_forms(session, actor, ft, org, package_id, results, stamp, report)
            package_report.forms = forms
            session.execute(update(ft.package_model).where(ft.package_model.id == package_id)
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
    _save_result(session, ft, package_id, package_report)
    raise ConcurrentChange(MSG_CONCURRENT) from last_error


def _save_result(session, ft, package_id, report):
    with unit_of_work(session, lost_race=(), conflict=ConcurrentChange):
        session.execute(update(ft.package_model).where(ft.package_model.id == package_id)
                        .values(result=report.to_dict()))


def _imported_nothing(result):
    """Whether a stored package's result shows that it imported (or updated) no form. A
    package without a result is still being imported, or its import failed midway: kept."""
    return (isinstance(result, dict)
            and not (result.get("imported") or 0) and not (result.get("updated") or 0))


def purge_refused_packages(session, ft, days, now=None, dry_run=False):
    """Delete the stored packages older than ``days`` that imported no form (refused whole, or
    every form refused), with one audit row each, in one transaction; then their files, when no
    other kept row shares the same bytes. Packages that imported a form are never purged, nor
    is one a form still points at. Returns the purged rows as dicts."""
    cutoff = (now or clock.now()) - datetime.timedelta(days=days)
    StoredPackage = ft.package_model
    referenced = exists().where(ft.model.package_id == StoredPackage.id)
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
            "purge", StoredPackage.__tablename__, p["id"], org_id=p["org_id"],
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
    store = current_store()
    for key in keys:
        if key not in still_used:
            store.delete(key)
    return purged


def _import_forms(session, actor, ft, org, package_id, results, stamp, report):
    """Decide every form's fate, then write the accepted ones (``report`` bounds the errors
    listed). Never commits."""
    model, policy = ft.model, ft.policy
    outcomes = []
    valid = []
    for res in results:
        outcome = FormOutcome(uuid=res.uuid, title=res.title or "", outcome=REFUSED)
        outcomes.append(outcome)
        if res.errors:
            report.set_errors(outcome, [error_dict(e) for e in res.errors])
        else:
            valid.append((res, outcome))

    uuids = [res.uuid for res, _ in valid]
    existing = {}
    code = [getattr(model, ft.code_column).label("code")] if ft.code_column else []
    for start in range(0, len(uuids), 5000):
        stmt = (select(model.id, model.uuid, model.scope_path, model.stage, model.version, *code,
                       Org.name, Org.code.label("org_code"))
                .join(Org, Org.id == model.importer_id)
                .where(model.uuid.in_(uuids[start:start + 5000])))
        for row in session.execute(stmt):
            existing[row.uuid] = row

    now = clock.now()
    new, updates = [], []
    for res, outcome in valid:
        found = existing.get(res.uuid)
        doc = stamped(ft, res.data, stamp)
        if found is None:
            new.append((doc, outcome))
            continue
        if found.scope_path != org.path:
            refusal = gettext(
                "该表单已由 %(unit)s（%(code)s）导入，不能重复导入；如需修改，请联系%(unit)s处理",
                unit=found.name, code=found.org_code)
        else:
            refusal = policy.reimport_refusal(found)
        if refusal:
            report.set_errors(outcome, [{"path": "uuid", "label": localize(UUID_LABEL),
                                         "message": refusal}])
        else:
            updates.append((found, doc, outcome))

    warnings = policy.import_warnings(session, org, stamp,
                                      [doc for doc, _ in new] + [doc for _, doc, _ in updates])
    audit_rows = []
    table = model.__table__
    initial = ft.initial_stage

    if new:
        params = []
        for doc, _outcome in new:
            values = field_values(ft, doc)
            values.update(uuid=doc["uuid"], scope_path=org.path, importer_id=org.id,
                          holder_path=org.path, stage=initial, version=1, last_reason=None,
                          imported_at=now, updated_at=now, held_since=now,
                          package_id=package_id, document=doc)
            params.append(values)
        # One executemany without RETURNING, then the ids read back by uuid: on SQLite an
        # INSERT … RETURNING of many rows runs once per row (no sentinel to batch on).
        session.execute(insert(table), params)
        new_uuids = [doc["uuid"] for doc, _outcome in new]
        ids = {}
        for start in range(0, len(new_uuids), 5000):
            ids.update(session.execute(select(table.c.uuid, table.c.id).where(
                table.c.uuid.in_(new_uuids[start:start + 5000]))).all())
        for doc, outcome in new:
            form_id = ids[doc["uuid"]]
            outcome.outcome, outcome.form_id = IMPORTED, form_id
            audit_rows.append(audit_values(
                "import", ft.object_type, form_id, actor=actor, org_id=org.id, to_stage=initial,
                detail={"package_id": package_id, "uuid": doc["uuid"]}))

    if updates:
        # One statement per re-imported form: its rowcount tells whether THIS form changed under
        # us (another unit acted on it since we read it), so only that form is refused.
        columns = list(field_values(ft, updates[0][1]))
        stmt = (update(table)
                .where(table.c.id == bindparam("w_id"), table.c.version == bindparam("w_version"))
                .values({name: bindparam(f"v_{name}") for name in columns})
                .values(holder_path=org.path, stage=initial, last_reason=None,
                        updated_at=now, held_since=now, package_id=package_id,
                        document=bindparam("v_document"), version=table.c.version + 1))
        for found, doc, outcome in updates:
            params = {f"v_{k}": v for k, v in field_values(ft, doc).items()}
            params.update(w_id=found.id, w_version=found.version, v_document=doc)
            if session.execute(stmt, params).rowcount != 1:
                report.set_errors(outcome, [{"path": "", "label": "表单", "message": MSG_CONCURRENT}])
                continue
            outcome.outcome, outcome.form_id = UPDATED, found.id
            audit_rows.append(audit_values(
                "reimport", ft.object_type, found.id, actor=actor, org_id=org.id,
                from_stage=found.stage, to_stage=initial,
                detail={"package_id": package_id, "uuid": found.uuid}))

    written = [o for o in outcomes if o.form_id is not None]
    updated_ids = [o.form_id for o in written if o.outcome == UPDATED]
    row_model = ft.row_model
    if row_model is not None:
        for start in range(0, len(updated_ids), 5000):
            session.execute(delete(row_model)
                            .where(row_model.form_id.in_(updated_ids[start:start + 5000])))
        docs = {doc["uuid"]: doc for doc, _ in new}
        docs.update({found.uuid: doc for found, doc, _ in updates})
        row_params = []
        for outcome in written:
            for row in row_values(ft, docs[outcome.uuid]):
                row["form_id"] = outcome.form_id
                row_params.append(row)
        _insert_rows(session, row_model.__table__, row_params)
    # Every row is the importing unit's: its path saves record_many the read.
    record_many(session, [dict(row, scope_path=org.path) for row in audit_rows])
    for outcome in written:
        if warnings.get(outcome.uuid):
            report.set_warnings(outcome, warnings[outcome.uuid])
    if updated_ids:
        # Objects of these forms that this session holds are now stale.
        stale = set(updated_ids)
        for obj in list(session.identity_map.values()):
            if isinstance(obj, model) and obj.id in stale:
                session.expire(obj)
    return outcomes


def _insert_rows(session, table, rows):
    """INSERT ``rows`` (dicts with the same keys) into ``table`` with one executemany. When the
    dialect binds by position and no column needs SQLAlchemy's bind processing (text and
    integers: a form's table rows), the tuples go to the driver as they are: SQLAlchemy's
    per-row parameter work doubled the time of writing 15,000 rows (docs/performance.md)."""
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    keys = list(rows[0])
    compiled = insert(table).compile(dialect=dialect, column_keys=keys)
    names = compiled.positiontup if compiled.positional else None
    # Anything SQLAlchemy would add per row (a processed value, a column default) keeps Core.
    if (names is None or set(names) != set(keys)
            or any(table.c[key].type.bind_processor(dialect) is not None for key in keys)):
        session.execute(insert(table), rows)
        return
    connection.exec_driver_sql(compiled.string,
                               [tuple(row[name] for name in names) for row in rows])


def stamped(ft, doc, stamp):
    """``doc`` with the hidden fields set from the importing unit (``FormPolicy.stamp``)."""
    if not stamp:
        return doc
    doc = dict(doc)
    fields = dict(doc.get("fields") or {})
    for name, value in stamp.items():
        fields[name] = value or ""
    doc["fields"] = fields
    return doc
