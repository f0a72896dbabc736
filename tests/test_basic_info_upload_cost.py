"""The bounded cost of one upload (issue 7, item 3), against the real app: one budget for every
package of a request, a report that does not grow with form content, a per-unit quota on kept
files, and the purge of expired refused ones. Sizes and counts, not seconds: bench/hostile.py
measures the time and memory of the same shapes."""
import datetime
import io
import json
import re

from sqlalchemy import func, select

from app.audit import AuditEvent
from plugins.basic_info import commands
from plugins.basic_info.cli import print_report
from plugins.basic_info.commands import (REPORT_ERRORS_PER_FORM, REPORT_ERRORS_PER_UPLOAD,
                                         REPORT_TITLE_CHARS, import_packages)
from plugins.basic_info.models import BasicInfoForm, StoredPackage
from tests.support import hostile_packages
from tests.support.accounts import api_token, login, set_known_password
from tests.test_basic_info_import import COUNTY, actor

KNOWN = "Known2468pw"


def _json_bytes(value):
    return len(json.dumps(value, ensure_ascii=False).encode())


def _count(session, model):
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def test_the_report_stays_small_whatever_the_forms_hold(app, session):
    # 100 forms of 19 KB each (the upload's limit), every 网站名称 ~6,000 characters.
    data = hostile_packages.padded_forms(count=100, form_bytes=19 * 1024)
    report = import_packages(session, actor(session, COUNTY), [("padded.zip", data)])
    (package,) = report.packages
    assert package.error is None and package.refused == 100
    assert all(len(f.title) <= REPORT_TITLE_CHARS for f in package.forms)
    assert package.forms[0].title.endswith("…")
    stored = session.get(StoredPackage, package.package_id)
    # ~500 bytes a form, whatever its size: 100 forms of 19 KB gave 1.9 MB before.
    assert _json_bytes(stored.result) < 100 * 500
    assert _json_bytes(report.to_dict()) < 100 * 500 + 1000
    assert _count(session, BasicInfoForm) == 0


def test_errors_are_listed_up_to_a_bound_and_the_rest_counted(app, session):
    data = hostile_packages.invalid_forms(count=100)
    report = import_packages(session, actor(session, COUNTY), [("invalid.zip", data)])
    forms = report.packages[0].forms
    listed = sum(len(f.errors) for f in forms)
    omitted = sum(f.errors_omitted for f in forms)
    assert all(len(f.errors) <= REPORT_ERRORS_PER_FORM for f in forms)
    assert listed == REPORT_ERRORS_PER_UPLOAD and omitted > 0
    assert forms[-1].errors == [] and forms[-1].errors_omitted > 0
    assert all(len(e["message"]) <= commands.REPORT_MESSAGE_CHARS for f in forms for e in f.errors)
    assert report.errors_omitted == omitted
    assert f"另有 {omitted} 条错误未列出" in report.summary()
    result = session.get(StoredPackage, report.packages[0].package_id).result
    assert result == json.loads(json.dumps(report.packages[0].to_dict(), ensure_ascii=False))
    assert result["forms"][-1]["errors_omitted_note"].startswith("另有")
    lines = []
    print_report(report, echo=lines.append)
    notes = [line for line in lines if line.lstrip().startswith("- 另有")]
    assert len(notes) == sum(1 for f in forms if f.errors_omitted)
    assert lines[-1].startswith("合计：") and f"另有 {omitted} 条错误未列出" in lines[-1]


def test_web_page_api_and_cli_show_the_same_bounded_report(app, session, client, tmp_path):
    data = hostile_packages.invalid_forms(count=30)
    set_known_password(session, COUNTY, KNOWN)
    login(client, COUNTY, KNOWN)
    html = client.post("/basic_info/upload", data={"packages": [(io.BytesIO(data), "网页.zip")]},
                       content_type="multipart/form-data").get_data(as_text=True)
    web_notes = re.findall(r"另有 (\d+) 条错误未列出", html)
    headers = api_token(app.test_client(), COUNTY, KNOWN)
    # The same forms again: every one is refused the same way (nothing was imported).
    result = app.test_client().post(
        "/api/v1/basic_info/import", headers=headers,
        data={"packages": [(io.BytesIO(data), "接口.zip")]},
        content_type="multipart/form-data").get_json()["result"]
    api_notes = [str(f["errors_omitted"]) for f in result["packages"][0]["forms"]
                 if f["errors_omitted"]]
    path = tmp_path / "命令行.zip"
    path.write_bytes(data)
    output = app.test_cli_runner().invoke(args=["pucha", "import-package", COUNTY, str(path)]).output
    cli_notes = re.findall(r"- 另有 (\d+) 条错误未列出", output)
    assert web_notes and web_notes == api_notes == cli_notes
    assert html.count("<li>") <= REPORT_ERRORS_PER_UPLOAD + len(web_notes) + 50  # menus and all


def test_one_budget_for_every_package_of_a_request(app, session):
    first = hostile_packages.honest_forms(60)
    second = hostile_packages.honest_forms(60)  # same forms: would be updates, if read at all
    report = import_packages(session, actor(session, COUNTY),
                             [("一.zip", first), ("二.zip", second)])
    one, two = report.packages
    assert one.imported == 60 and two.error_code == "upload_too_many_forms"
    assert "一次最多导入 100 份" in two.error and two.package_id  # refused, still kept
    assert _count(session, StoredPackage) == 2 and _count(session, BasicInfoForm) == 60
    # The next request has a budget of its own.
    again = import_packages(session, actor(session, COUNTY), [("二.zip", second)])
    assert again.packages[0].updated == 60


def test_the_limits_are_settings(app, session):
    app.config.update(UPLOAD_MAX_FORMS=2)
    report = import_packages(session, actor(session, COUNTY),
                             [("三份.zip", hostile_packages.honest_forms(3))])
    assert report.packages[0].error_code == "upload_too_many_forms"
    app.config.update(UPLOAD_MAX_FORMS=100, UPLOAD_MAX_UNCOMPRESSED_BYTES=5000)
    report = import_packages(session, actor(session, COUNTY),
                             [("三份.zip", hostile_packages.honest_forms(3))])
    assert report.packages[0].error_code == "upload_too_large"
    app.config.update(UPLOAD_MAX_UNCOMPRESSED_BYTES=2 * 1024 * 1024, UPLOAD_MAX_JSON_VALUES=300)
    report = import_packages(session, actor(session, COUNTY),
                             [("三份.zip", hostile_packages.honest_forms(3))])
    assert report.packages[0].error_code == "upload_too_complex"


def _stored_files(app):
    root = app.config["FILE_STORAGE_DIR"]
    return sorted(p for p in root.rglob("*.zip")) if root.exists() else []


def test_over_the_quota_an_upload_is_refused_unstored_naming_the_quota(app, session):
    good = hostile_packages.honest_forms(1)
    app.config.update(PACKAGE_QUOTA_BYTES=len(good) + 100)
    report = import_packages(session, actor(session, COUNTY), [("第一个.zip", good)])
    assert report.packages[0].imported == 1
    files = _stored_files(app)
    other = hostile_packages.honest_forms(2)
    report = import_packages(session, actor(session, COUNTY), [("第二个.zip", other)])
    (refused,) = report.packages
    assert refused.error_code == "quota" and refused.package_id is None and refused.forms == []
    assert "存储上限" in refused.error
    assert re.search(r"已用 [\d.]+ KB，上限 [\d.]+ KB", refused.error), refused.error
    assert "未保存也未导入" in refused.error
    assert _count(session, StoredPackage) == 1 and _stored_files(app) == files
    assert _count(session, BasicInfoForm) == 1
    # Another unit has a quota of its own.
    app.config.update(PACKAGE_QUOTA_BYTES=len(other) + 100)
    report = import_packages(session, actor(session, "330105"), [("别的单位.zip", other)])
    assert report.packages[0].package_id and report.packages[0].error is None
    assert report.packages[0].imported == 1  # the other form is 330102's already


def test_the_quota_message_names_the_quota_in_mb(app, session):
    app.config.update(PACKAGE_QUOTA_BYTES=1024 * 1024)
    big = b"PK\x03\x04" + b"\0" * (1024 * 1024)
    report = import_packages(session, actor(session, COUNTY), [("大.zip", big)])
    assert report.packages[0].error_code == "quota"
    assert "上限 1 MB" in report.packages[0].error


def _age(session, package_id, days):
    session.execute(StoredPackage.__table__.update().where(StoredPackage.id == package_id)
                    .values(uploaded_at=datetime.datetime.now() - datetime.timedelta(days=days)))
    session.commit()


def test_purge_deletes_expired_refused_packages_only_and_audits_it(app, session):
    user = actor(session, COUNTY)
    refused = import_packages(session, user, [("坏.zip", b"PK\x03\x04garbage")]).packages[0]
    all_invalid = import_packages(session, user, [("全错.zip", hostile_packages.invalid_forms(2))]).packages[0]
    imported = import_packages(session, user, [("好.zip", hostile_packages.honest_forms(1))]).packages[0]
    recent = import_packages(session, user, [("新.zip", b"PK\x03\x04other")]).packages[0]
    for package in (refused, all_invalid, imported):
        _age(session, package.package_id, 31)
    paths = {p.package_id: commands.stored_package_path(session.get(StoredPackage, p.package_id))
             for p in (refused, all_invalid, imported, recent)}

    dry = app.test_cli_runner().invoke(args=["pucha", "purge-packages", "--dry-run"])
    assert dry.exit_code == 0 and "将清理" in dry.output and "2 个" in dry.output
    assert _count(session, StoredPackage) == 4

    result = app.test_cli_runner().invoke(args=["pucha", "purge-packages"])
    assert result.exit_code == 0, result.output
    assert "已清理保存超过 30 天、未导入任何表单的上报文件 2 个" in result.output
    session.expire_all()
    kept = set(session.scalars(select(StoredPackage.id)))
    assert kept == {imported.package_id, recent.package_id}
    assert not paths[refused.package_id].exists() and not paths[all_invalid.package_id].exists()
    assert paths[imported.package_id].exists() and paths[recent.package_id].exists()
    events = session.scalars(select(AuditEvent).where(AuditEvent.action == "purge")
                             .order_by(AuditEvent.id)).all()
    assert [e.object_id for e in events] == [str(refused.package_id), str(all_invalid.package_id)]
    detail = events[0].detail if isinstance(events[0].detail, dict) else json.loads(events[0].detail)
    assert detail["filename"] == "坏.zip" and detail["retention_days"] == 30

    # Imported packages are never purged, however old.
    _age(session, imported.package_id, 3650)
    assert commands.purge_refused_packages(session, 1) == []


def test_purge_keeps_a_file_another_kept_upload_shares(app, session):
    user = actor(session, COUNTY)
    data = b"PK\x03\x04the same bytes twice"
    old = import_packages(session, user, [("旧.zip", data)]).packages[0]
    new = import_packages(session, user, [("新.zip", data)]).packages[0]
    _age(session, old.package_id, 40)
    path = commands.stored_package_path(session.get(StoredPackage, new.package_id))
    purged = commands.purge_refused_packages(session, 30)
    assert [p["id"] for p in purged] == [old.package_id]
    assert path.exists() and session.get(StoredPackage, new.package_id) is not None


def test_purging_frees_quota(app, session):
    user = actor(session, COUNTY)
    bad = b"PK\x03\x04" + b"x" * 5000
    first = import_packages(session, user, [("坏.zip", bad)]).packages[0]
    app.config.update(PACKAGE_QUOTA_BYTES=len(bad) + 10)
    assert import_packages(session, user, [("又坏.zip", bad + b"!")]).packages[0].error_code == "quota"
    _age(session, first.package_id, 31)
    commands.purge_refused_packages(session, 30)
    assert import_packages(session, user, [("又坏.zip", bad + b"!")]).packages[0].package_id
