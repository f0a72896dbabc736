"""Package import of 基本信息表 (SPEC §3.2, §3.3): outcomes per form, hostile packages, regions.

Runs on a copy of the national database; the importing units are real (330102 上城区 under
330100 杭州市 under 330000 浙江省).
"""
import hashlib
import io
import json
import zipfile

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from app.accounts.models import PuchaUser
from app.audit import AuditEvent
from app.forms.package import pack
from app.workflow.engine import NotAllowed
from plugins.basic_info import commands
from plugins.basic_info.commands import IMPORTED, REFUSED, UPDATED, import_packages
from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm, StoredPackage
from plugins.basic_info.schema import SCHEMA, example_form
from tests.support import hostile_packages
from tests.support.statements import StatementCounter

COUNTY, CITY, PROVINCE = "330102", "330100", "330000"


# --- helpers shared by the basic_info tests ------------------------------------------------


def actor(session, code):
    """The preset account of unit ``code`` (username = org code)."""
    return session.scalars(select(PuchaUser).where(PuchaUser.username == code)).one()


def admin(session):
    """The administrator: recognised by the administrator role, not by having no unit."""
    from flask import current_app
    from flask_appbuilder.security.sqla.models import Role

    return session.scalars(select(PuchaUser).join(PuchaUser.roles).where(
        Role.name == current_app.config["AUTH_ROLE_ADMIN"])).first()


def package(*forms):
    return pack(SCHEMA, list(forms), "pucha-filler", "1.0.0")


def import_forms(session, code, *forms, filename="上报文件.zip"):
    report = import_packages(session, actor(session, code), [(filename, package(*forms))])
    assert report.packages[0].error is None, report.packages[0].error
    return report


def form_of(session, uuid):
    session.expire_all()
    return session.scalars(select(BasicInfoForm).where(BasicInfoForm.uuid == uuid)).one_or_none()


def imported_form(session, code=COUNTY, variant=0):
    """Import one example form as ``code`` and return it."""
    doc = example_form(variant=variant)
    import_forms(session, code, doc)
    return form_of(session, doc["uuid"])


def audit_actions(session, form_id):
    return session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_type == "basic_info", AuditEvent.object_id == str(form_id))
        .order_by(AuditEvent.id)).all()


def force_stage(session, form, stage, holder_path=None, site_code=None):
    """Put a form into a stage directly (setup only; the review tests walk the real chain)."""
    form.stage = stage
    form.holder_path = holder_path or form.holder_path
    if site_code:
        form.site_code = site_code
    session.commit()
    return form


# --- new, updated, refused (SPEC §3.3) -----------------------------------------------------


def test_new_form_is_imported_at_the_importer_as_draft_with_regions_and_rows(app, session):
    doc = example_form(variant=0)
    report = import_forms(session, COUNTY, doc)
    (outcome,) = report.forms
    assert (outcome.outcome, outcome.uuid, outcome.title) == (IMPORTED, doc["uuid"], "杭州市上城区人民政府")
    form = form_of(session, doc["uuid"])
    assert form.id == outcome.form_id
    county = actor(session, COUNTY).org
    assert form.scope_path == form.holder_path == county.path
    assert form.importer_id == county.id and form.stage == "draft" and form.version == 1
    # 省/部, 市, 县 come from the importing unit, not from the filler (seed 004 §5).
    assert (form.province, form.city, form.county) == ("浙江省", "杭州市", "上城区")
    assert form.document["fields"]["province"] == "浙江省"
    assert form.site_name == "杭州市上城区人民政府" and form.principal_phone == "0571-87654321"
    expected_rows = SCHEMA.table_rows(doc, "columns")
    rows = session.scalars(select(BasicInfoColumnRow).where(BasicInfoColumnRow.form_id == form.id)
                           .order_by(BasicInfoColumnRow.id)).all()
    assert [(r.group, r.slot, r.position, r.name, r.address) for r in rows] == [
        (r["group"], r["slot"], r["position"], r["name"], r["address"]) for r in expected_rows]
    assert audit_actions(session, form.id) == ["import"]
    assert report.imported == 1 and report.ok


def test_regions_follow_the_importing_unit(app, session):
    city_doc, province_doc, ministry_doc = (example_form(variant=i) for i in range(3))
    import_forms(session, CITY, city_doc)
    import_forms(session, PROVINCE, province_doc)
    import_forms(session, "bm0200", ministry_doc)
    assert (form_of(session, city_doc["uuid"]).city, form_of(session, city_doc["uuid"]).county) == ("杭州市", None)
    assert form_of(session, province_doc["uuid"]).province == "浙江省"
    assert form_of(session, province_doc["uuid"]).city is None
    ministry = actor(session, "bm0200").org
    assert form_of(session, ministry_doc["uuid"]).province == ministry.name


def test_hidden_fields_in_a_package_are_overwritten_from_the_importer(app, session):
    doc = example_form()
    doc["fields"]["province"] = "北京市"
    import_forms(session, COUNTY, doc)
    assert form_of(session, doc["uuid"]).province == "浙江省"


def test_reimport_before_completion_overwrites_and_restarts_at_the_importer(app, session):
    doc = example_form(variant=0)
    import_forms(session, COUNTY, doc)
    form = form_of(session, doc["uuid"])
    commands.transition(session, actor(session, COUNTY), "submit", [form.id])
    commands.transition(session, actor(session, CITY), "approve", [form.id])
    form = form_of(session, doc["uuid"])
    assert form.stage == "pending" and form.holder_path.endswith("/330000/")
    version = form.version

    changed = json.loads(json.dumps(doc))
    changed["fields"]["site_name"] = "上城区人民政府（新版）"
    changed["columns"]["info"]["news"] = [{"name": "要闻", "address": "http://www.hzsc.gov.cn/yw/"}]
    report = import_forms(session, COUNTY, changed)
    assert [f.outcome for f in report.forms] == [UPDATED] and report.updated == 1
    form = form_of(session, doc["uuid"])
    # Seed 000 wins over FAQ §17: data overwritten, the chain restarts at the importer.
    assert form.site_name == "上城区人民政府（新版）" and form.stage == "draft"
    assert form.holder_path == form.scope_path and form.version == version + 1
    news = session.scalars(select(BasicInfoColumnRow.name).where(
        BasicInfoColumnRow.form_id == form.id, BasicInfoColumnRow.slot == "news")).all()
    assert news == ["要闻"]
    assert session.scalar(select(func.count()).select_from(BasicInfoColumnRow).where(
        BasicInfoColumnRow.form_id == form.id)) == len(SCHEMA.table_rows(changed, "columns"))
    assert audit_actions(session, form.id) == ["import", "submit", "approve", "reimport"]


def test_reimport_after_completion_is_refused_with_the_site_code(app, session):
    doc = example_form()
    import_forms(session, COUNTY, doc)
    form = form_of(session, doc["uuid"])
    for code, name in ((COUNTY, "submit"), (CITY, "approve"), (PROVINCE, "approve")):
        commands.transition(session, actor(session, code), name, [form.id])
    form = form_of(session, doc["uuid"])
    assert form.stage == "completed" and form.site_code
    before = (form.version, form.site_name, form.updated_at)

    changed = json.loads(json.dumps(doc))
    changed["fields"]["site_name"] = "改过的名字"
    report = import_packages(session, actor(session, COUNTY), [("again.zip", package(changed))])
    (outcome,) = report.forms
    assert outcome.outcome == REFUSED and not report.ok
    assert outcome.errors[0]["message"] == (
        f"该网站已办结（网站标识码 {form.site_code}），不再接受重新导入，如需修改请在系统中在线修改")
    form = form_of(session, doc["uuid"])
    assert (form.version, form.site_name, form.updated_at) == before


def test_a_uuid_imported_by_another_unit_is_refused_naming_that_unit(app, session):
    doc = example_form()
    import_forms(session, CITY, doc)
    report = import_packages(session, actor(session, COUNTY), [("x.zip", package(doc))])
    (outcome,) = report.forms
    assert outcome.outcome == REFUSED
    assert outcome.errors[0]["message"].startswith("该表单已由 杭州市（330100）导入")
    assert form_of(session, doc["uuid"]).scope_path.endswith("/330100/")
    # A sibling county is refused too, and learns only who holds it.
    report = import_packages(session, actor(session, "330105"), [("x.zip", package(doc))])
    assert report.forms[0].outcome == REFUSED


def test_every_field_error_is_reported_and_a_refused_form_changes_nothing(app, session):
    good1, bad, good2 = example_form(variant=0), example_form(variant=1), example_form(variant=2)
    bad["fields"]["principal_phone"] = "12345"
    bad["fields"]["contact_email"] = "a@b.cn;c@d.cn"
    bad["fields"]["home_url"] = ""
    bad["columns"]["info"]["news"][0]["address"] = "not a url"
    report = import_forms(session, COUNTY, good1, bad, good2)
    outcomes = {f.uuid: f for f in report.forms}
    assert outcomes[good1["uuid"]].outcome == outcomes[good2["uuid"]].outcome == IMPORTED
    refused = outcomes[bad["uuid"]]
    assert refused.outcome == REFUSED and refused.title == "杭州市上城区民政局"
    paths = {e["path"] for e in refused.errors}
    assert {"fields.principal_phone", "fields.contact_email", "fields.home_url",
            "columns.info.news[0].address"} <= paths
    assert all(e["label"] and e["message"] for e in refused.errors)
    assert any("负责人办公电话" in e["message"] for e in refused.errors)
    assert form_of(session, bad["uuid"]) is None
    assert (report.imported, report.updated, report.refused) == (2, 0, 1)


def test_a_refused_reimport_leaves_the_earlier_data(app, session):
    doc = example_form()
    import_forms(session, COUNTY, doc)
    broken = json.loads(json.dumps(doc))
    broken["fields"]["principal_mobile"] = "12"
    report = import_packages(session, actor(session, COUNTY), [("b.zip", package(broken))])
    assert report.forms[0].outcome == REFUSED
    form = form_of(session, doc["uuid"])
    assert form.principal_mobile == "13805710001" and form.version == 1


def test_the_package_is_stored_with_who_when_and_result(app, session):
    data = package(example_form())
    report = import_packages(session, actor(session, COUNTY), [("浙江/上城区.zip", data)])
    stored = session.get(StoredPackage, report.packages[0].package_id)
    assert stored.filename == "上城区.zip" and stored.size == len(data)
    assert stored.sha256 == hashlib.sha256(data).hexdigest()
    assert stored.uploaded_by_id == actor(session, COUNTY).id and stored.uploaded_at
    assert commands.stored_package_path(stored).read_bytes() == data
    assert stored.result["imported"] == 1 and stored.result["forms"][0]["outcome"] == IMPORTED


def test_only_organising_units_may_import(app, session):
    with pytest.raises(NotAllowed, match="系统管理员"):
        import_packages(session, admin(session), [("a.zip", package(example_form()))])
    with pytest.raises(NotAllowed, match="请先登录"):
        import_packages(session, None, [("a.zip", package(example_form()))])


# --- hostile and broken packages -------------------------------------------------------------


def _rezip(data, edit):
    """Rebuild a package, letting ``edit(name, bytes)`` return new (name, bytes) or None."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            item = edit(info.filename, src.read(info))
            if item is not None:
                dst.writestr(item[0], item[1])
    return out.getvalue()


def _manifest_edit(change):
    def edit(name, raw):
        if name == "manifest.json":
            manifest = json.loads(raw)
            change(manifest)
            raw = json.dumps(manifest, ensure_ascii=False).encode()
        return name, raw
    return edit


def _tampered(name, raw):
    if name.endswith(".json") and name != "manifest.json":
        raw = raw.replace("杭州市上城区人民政府".encode(), "手工改过".encode(), 1)
    return name, raw


def _bomb():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", b" " * (50 * 1024 * 1024))
    return out.getvalue()


def _many_entries():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for i in range(6000):
            zf.writestr(f"f{i}", b"")
    return out.getvalue()


def _path_trick(name, raw):
    return ("../../etc/" + name if name != "manifest.json" else name), raw


def _deep_json(name, raw):
    if name.endswith(".json") and name != "manifest.json":
        raw = b"[" * 10000 + b"]" * 10000
    return name, raw


HOSTILE = {
    "not_zip": lambda data: "这不是压缩包".encode() * 10,
    "format_version": lambda data: _rezip(data, _manifest_edit(lambda m: m.update(format_version=99))),
    "checksum": lambda data: _rezip(data, _tampered),
    "compression_ratio": lambda data: _bomb(),
    "too_many_entries": lambda data: _many_entries(),
    "unsafe_path": lambda data: _rezip(data, _path_trick),
    "json_too_deep": lambda data: _rezip(data, _deep_json),
    # The two costly shapes (bench/hostile.py measures them at full size).
    "directory_mismatch": lambda data: hostile_packages.lying_directory(records=100_002, declared=2),
    "upload_too_many_forms": lambda data: hostile_packages.padded_forms(count=101),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE))
def test_hostile_or_damaged_packages_are_refused_and_still_stored(app, session, kind):
    data = HOSTILE[kind](package(example_form()))
    with StatementCounter(session.get_bind()) as counter:
        report = import_packages(session, actor(session, COUNTY), [(f"{kind}.zip", data)])
    (pkg,) = report.packages
    assert pkg.error and pkg.forms == [] and not report.ok
    assert pkg.error_code in (kind, "entry_too_large", "checksum", "bad_json") or kind == "not_zip", pkg.error_code
    assert any("\u4e00" <= ch <= "\u9fff" for ch in pkg.error)  # a Chinese message
    assert session.scalar(select(func.count()).select_from(BasicInfoForm)) == 0
    stored = session.get(StoredPackage, pkg.package_id)
    assert stored.result["error"] == pkg.error
    assert len(json.dumps(stored.result, ensure_ascii=False).encode()) < 2048
    assert commands.stored_package_path(stored).read_bytes() == data
    # A refusal stores the package and its error and does no per-entry database work; the
    # seconds it costs to read a hostile zip are bench/hostile.py's budget.
    assert counter.count <= 10, f"{kind}: {counter.count} statements"


def test_a_bad_package_does_not_hold_back_a_good_one(app, session):
    good = example_form()
    report = import_packages(session, actor(session, COUNTY),
                             [("bad.zip", b"PK\x03\x04garbage"), ("good.zip", package(good))])
    assert report.packages[0].error and report.packages[1].forms[0].outcome == IMPORTED
    assert report.refused_packages == 1 and report.imported == 1
    assert form_of(session, good["uuid"]) is not None


def _gbk_package(data):
    """The package as a Chinese Windows zip tool rewrites it: GBK names, no UTF-8 flag."""

    class GbkInfo(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):
            return self.filename.encode("gbk"), self.flag_bits & ~0x800

    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(GbkInfo(info.filename, date_time=info.date_time), src.read(info))
    return out.getvalue()


def test_a_package_with_gbk_names_imports(app, session):
    doc = example_form()
    data = _gbk_package(package(doc))
    raw_names = [i.orig_filename for i in zipfile.ZipFile(io.BytesIO(data)).infolist()]
    assert any("政府网站" not in n and not n.isascii() for n in raw_names)  # mojibake as stored
    report = import_packages(session, actor(session, COUNTY), [("上报.zip", data)])
    assert report.packages[0].error is None, report.packages[0].error
    assert report.forms[0].outcome == IMPORTED


# --- CLI ------------------------------------------------------------------------------------


def test_cli_import_prints_the_report_and_fails_when_something_was_refused(app, session, tmp_path):
    good, bad = example_form(variant=0), example_form(variant=1)
    bad["fields"]["principal_email"] = "不是邮箱"
    path = tmp_path / "上报文件.zip"
    path.write_bytes(package(good, bad))
    runner = app.test_cli_runner()
    result = runner.invoke(args=["pucha", "import-package", COUNTY, str(path)])
    assert result.exit_code == 1, result.output
    assert "新导入" in result.output and "已拒绝" in result.output and "负责人电子邮箱" in result.output
    assert "合计：新导入 1 份，覆盖更新 0 份，拒绝 1 份" in result.output

    good2 = example_form(variant=2)
    path.write_bytes(package(good2))
    result = runner.invoke(args=["pucha", "import-package", COUNTY, str(path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["pucha", "import-package", "999999", str(path)])
    assert result.exit_code != 0 and "未找到组织单位" in result.output


# --- scale ----------------------------------------------------------------------------------


def test_a_1000_form_package_imports_set_based(app, session):
    """The cost of an import is bounded in statements, not seconds (timings live in bench/): new
    forms go in with bulk INSERTs, and a re-import updates each form with one version-checked
    statement (so that only a form changed meanwhile is refused)."""
    from sqlalchemy import event

    from app.extensions import db

    # An operator with the capacity raises the per-upload limits (docs/config.md).
    app.config.update(UPLOAD_MAX_FORMS=1000, UPLOAD_MAX_UNCOMPRESSED_BYTES=8 * 1024 * 1024,
                      UPLOAD_MAX_JSON_VALUES=200_000)
    forms = [example_form(variant=i) for i in range(1000)]
    data = package(*forms)
    statements = []
    listener = lambda *args, **kwargs: statements.append(1)  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        report = import_packages(session, actor(session, COUNTY), [("千份.zip", data)])
        first = len(statements)
        assert report.imported == 1000
        report = import_packages(session, actor(session, COUNTY), [("千份.zip", data)])
        again = len(statements) - first
        assert report.updated == 1000
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    rows = session.scalar(select(func.count()).select_from(BasicInfoColumnRow))
    print(f"\n1,000-form package ({len(data) // 1024} KB, {rows} column rows): "
          f"import {first} statements, re-import {again} statements")
    # New forms go in with one executemany each for forms, column rows and audit rows (ids read
    # back by uuid), so the first import is a constant; a re-import updates each form on its
    # own. Nothing grows with the column rows (15 a form).
    assert first <= 40
    assert again <= 1000 + 40
