"""One website, one code (seed 000 注意事项), out-of-area forms, the 重复网站 page.

The website of a form is ``website_key(首页网址)``, stored as ``site_key``; import warns about a
second form of a website and about an ICP备案 or 办公地址 of another province, completion refuses
a second 网站标识码, and upper units see the duplicates of their subtree.
"""
import json
import threading

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import sessionmaker

from app.audit import AuditEvent
from app.forms.schema import website_key
from app.mail.models import OutboxMail
from plugins.basic_info import completion, duplicates, identity
from plugins.basic_info.commands import IMPORTED, UPDATED, edit_form, import_packages, transition
from plugins.basic_info.completion import DuplicateSite
from plugins.basic_info.models import BasicInfoForm
from plugins.basic_info.schema import example_form
from tests.support.accounts import get_user, login, set_known_password
from tests.test_basic_info_import import (CITY, COUNTY, PROVINCE, actor, admin, form_of,
                                          import_forms, package)

SIBLING = "330106"  # 杭州市西湖区
OTHER_PROVINCE_COUNTY = "110108"  # 北京市海淀区


def same_site(doc, url="HTTPS://WWW.hzsc.gov.cn:443", name=None):
    """A second form (new UUID) of the website of ``doc``, its address written differently."""
    other = example_form()
    other["fields"] = dict(doc["fields"], home_url=url)
    if name:
        other["fields"]["site_name"] = name
    return other


def walk(session, form_id, *codes):
    """Submit as the importer, then approve up through ``codes``."""
    transition(session, actor(session, COUNTY), "submit", [form_id])
    for code in codes:
        transition(session, actor(session, code), "approve", [form_id])


def warnings_of(report):
    return [[w["message"] for w in f.warnings] for f in report.forms]


# --- the stored identity ----------------------------------------------------------------------


def test_site_key_is_written_on_import_reimport_edit_and_correction(app, session):
    doc = example_form()
    import_forms(session, COUNTY, doc)
    form = form_of(session, doc["uuid"])
    assert form.site_key == "hzsc.gov.cn" == website_key(form.home_url)

    doc["fields"]["home_url"] = "http://www.hzsc.gov.cn/portal/"
    import_forms(session, COUNTY, doc)
    assert form_of(session, doc["uuid"]).site_key == "hzsc.gov.cn/portal"

    form = form_of(session, doc["uuid"])
    edited = json.loads(json.dumps(form.document))
    edited["fields"]["home_url"] = "https://Www.HZSC.gov.cn/new/"
    edit_form(session, actor(session, COUNTY), form.id, edited, form.version)
    assert form_of(session, doc["uuid"]).site_key == "hzsc.gov.cn/new"

    walk(session, form.id, CITY, PROVINCE)
    form = form_of(session, doc["uuid"])
    assert form.site_code
    corrected = json.loads(json.dumps(form.document))
    corrected["fields"]["home_url"] = "http://www.hzsc.gov.cn/"
    edit_form(session, actor(session, PROVINCE), form.id, corrected, form.version)
    assert form_of(session, doc["uuid"]).site_key == "hzsc.gov.cn"


def test_the_command_fills_site_keys_of_rows_written_before_the_column(app, session):
    from app.extensions import db

    doc = example_form()
    import_forms(session, COUNTY, doc)
    session.commit()
    # A row written before the column existed has no key.
    session.execute(text("UPDATE basic_info_form SET site_key = NULL"))
    session.commit()
    assert form_of(session, doc["uuid"]).site_key is None
    session.commit()
    runner = app.test_cli_runner()

    result = runner.invoke(args=["pucha", "basic-info-site-keys"])
    assert result.exit_code == 0, result.output
    assert "已补写网站标识 1 份表单" in result.output
    assert form_of(session, doc["uuid"]).site_key == "hzsc.gov.cn"
    assert session.scalar(select(func.count()).select_from(AuditEvent)
                          .where(AuditEvent.action == "fill_site_keys")) == 1
    again = runner.invoke(args=["pucha", "basic-info-site-keys"])
    assert "已补写网站标识 0 份表单" in again.output
    assert db.engine.dialect.name in ("sqlite", "postgresql")


# --- import warnings: the same website --------------------------------------------------------


def test_a_second_form_of_a_website_imports_with_a_warning_naming_the_first(app, session):
    first = example_form()
    report = import_forms(session, COUNTY, first)
    assert warnings_of(report) == [[]]
    first_form = form_of(session, first["uuid"])
    transition(session, actor(session, COUNTY), "submit", [first_form.id])

    second = same_site(first, name="上城区政府门户（新版）")
    report = import_forms(session, COUNTY, second)
    [outcome] = report.forms
    assert outcome.outcome == IMPORTED  # a warning, never a refusal
    [message] = outcome.warnings and [w["message"] for w in outcome.warnings]
    # The first form lies in the importer's subtree: its name and where it sits now.
    assert "杭州市上城区人民政府" in message and "杭州市（330100）" in message
    assert "尚未办结" in message
    assert report.to_dict()["packages"][0]["forms"][0]["warnings"][0]["message"] == message
    assert "1 条提醒请核实" in report.summary()
    assert form_of(session, second["uuid"]).site_key == first_form.site_key

    # Once the first has its code, the warning names it.
    transition(session, actor(session, CITY), "approve", [first_form.id])
    transition(session, actor(session, PROVINCE), "approve", [first_form.id])
    code = form_of(session, first["uuid"]).site_code
    report = import_forms(session, COUNTY, second)
    assert report.forms[0].outcome == UPDATED
    assert f"网站标识码 {code}" in report.forms[0].warnings[0]["message"]


def test_another_subtree_learns_only_the_importing_unit_and_the_code(app, session):
    first = example_form()
    import_forms(session, COUNTY, first)
    walk(session, form_of(session, first["uuid"]).id, CITY, PROVINCE)
    code = form_of(session, first["uuid"]).site_code

    report = import_forms(session, SIBLING, same_site(first, name="西湖区转报的上城区网站"))
    [message] = [w["message"] for w in report.forms[0].warnings]
    assert "其他单位 上城区（330102）" in message and f"网站标识码 {code}" in message
    assert "杭州市上城区人民政府" not in message  # not the other form's own content

    # Seen from the national root or a province above both: full details.
    report = import_forms(session, CITY, same_site(first, name="杭州市转报"))
    assert "杭州市上城区人民政府" in report.forms[0].warnings[0]["message"]


def test_two_forms_of_one_website_in_one_package_warn(app, session):
    first = example_form()
    second = same_site(first, url="http://hzsc.gov.cn", name="重复的一份")
    report = import_forms(session, COUNTY, first, second)
    assert [f.outcome for f in report.forms] == [IMPORTED, IMPORTED]
    flagged = [w for f in report.forms for w in f.warnings]
    assert len(flagged) == 1 and "本上报文件中" in flagged[0]["message"]


def test_a_refused_form_gets_no_warning_and_warnings_are_bounded(app, session, monkeypatch):
    from app.formtypes import reports

    first = example_form()
    import_forms(session, COUNTY, first)
    monkeypatch.setattr(reports, "REPORT_WARNINGS_PER_FORM", 1)
    dupes = [same_site(first, name=f"副本{i}") for i in range(4)]
    broken = same_site(first, name="填错的一份")
    broken["fields"]["contact_email"] = "not-an-address"
    report = import_packages(session, actor(session, COUNTY),
                             [("a.zip", package(*dupes, broken))])
    *imported, refused = report.forms
    assert refused.outcome == "refused" and refused.warnings == [] and refused.errors
    # Each copy: the stored form; copies 2–4 also the first copy in the package.
    assert [len(f.warnings) for f in imported] == [1, 1, 1, 1]
    assert [f.warnings_omitted for f in imported] == [0, 1, 1, 1]
    assert report.to_dict()["warnings"] == 7
    assert "另有 1 条提醒未列出" in report.to_dict()["packages"][0]["forms"][1]["warnings_omitted_note"]


# --- import warnings: another province ---------------------------------------------------------


def test_a_form_of_another_province_is_imported_with_warnings(app, session):
    doc = example_form(variant=5)
    doc["fields"].update(icp_number="京ICP备10029578号-2", office_address="北京市海淀区长春桥路17号")
    report = import_forms(session, COUNTY, doc)
    [outcome] = report.forms
    assert outcome.outcome == IMPORTED
    messages = [w["message"] for w in outcome.warnings]
    assert len(messages) == 2
    assert "北京市" in messages[0] and "浙江省" in messages[0] and "ICP" in messages[0]
    assert "北京市" in messages[1] and "办公地址" in outcome.warnings[1]["label"]
    # Stamped from the importer all the same (seed 004 §5).
    assert form_of(session, doc["uuid"]).province == "浙江省"


def test_out_of_area_rules():
    assert identity.icp_province("桂ICP备12003456号") == "广西壮族自治区"
    assert identity.icp_province("黔ICP备1234号") == identity.icp_province("贵ICP备1234号") == "贵州省"
    assert identity.icp_province("无") is None
    assert identity.address_province("广西壮族自治区南宁市兴宁区民主路12号") == "广西壮族自治区"
    assert identity.address_province("中国上海市黄浦区") == "上海市"
    # A street named after a province says nothing.
    assert identity.address_province("广州市越秀区北京路1号") is None
    assert identity.address_province("杭州市上城区市民街200号") is None
    assert identity.home_province("浙江省") == "浙江省"
    assert identity.home_province("新疆生产建设兵团") == "新疆维吾尔自治区"
    assert identity.home_province("国家税务总局") is None  # a ministry's sites are anywhere
    fields = {"icp_number": "浙ICP备05070602号-1", "office_address": "浙江省杭州市"}
    assert identity.out_of_area_warnings(fields, "浙江省") == []
    assert len(identity.out_of_area_warnings(fields, "北京市")) == 2
    assert identity.out_of_area_warnings(fields, None) == []


def test_a_ministry_gets_no_out_of_area_warning(app, session):
    report = import_forms(session, "bm0200", example_form(variant=6))
    assert warnings_of(report) == [[]]


def test_cli_and_web_report_show_warnings(app, session, client, tmp_path):
    first = example_form()
    import_forms(session, COUNTY, first)
    path = tmp_path / "dup.zip"
    path.write_bytes(package(same_site(first)))
    result = app.test_cli_runner().invoke(args=["pucha", "import-package", COUNTY, str(path)])
    assert result.exit_code == 0, result.output
    assert "提醒：首页网址" in result.output

    set_known_password(session, COUNTY)
    login(client, COUNTY)
    import io

    response = client.post("/basic_info/upload", data={
        "packages": (io.BytesIO(package(same_site(first, name="又一份"))), "dup2.zip")},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'class="form-warnings' in html and "同一网站" in html


# --- completion refuses a second code --------------------------------------------------------


def test_completing_a_second_form_of_a_coded_website_is_refused_and_writes_nothing(app, session):
    first = example_form()
    import_forms(session, COUNTY, first)
    walk(session, form_of(session, first["uuid"]).id, CITY, PROVINCE)
    code = form_of(session, first["uuid"]).site_code
    second = same_site(first)
    import_forms(session, COUNTY, second)
    form = form_of(session, second["uuid"])
    walk(session, form.id, CITY)
    mails = session.scalar(select(func.count()).select_from(OutboxMail))
    events = session.scalar(select(func.count()).select_from(AuditEvent))

    refusals = completion.duplicate_site_refusals(session, [form.id], "/000000/330000/")
    assert code in refusals[form.id]
    with pytest.raises(DuplicateSite) as error:
        transition(session, actor(session, PROVINCE), "approve", [form.id])
    assert code in str(error.value) and "不能办结" in str(error.value)
    after = form_of(session, second["uuid"])
    assert after.stage == "pending" and after.site_code is None and after.version == form.version
    assert session.scalar(select(func.count()).select_from(OutboxMail)) == mails
    assert session.scalar(select(func.count()).select_from(AuditEvent)) == events

    # A return is still allowed: the province sends the duplicate back for deletion.
    transition(session, actor(session, PROVINCE), "return", [form.id], reason="重复报送")
    assert form_of(session, second["uuid"]).stage == "returned"


def test_refusals_cover_two_forms_of_one_website_completing_together(app, session):
    first = example_form()
    second = same_site(first)
    other = example_form(variant=1)
    import_forms(session, COUNTY, first, second, other)
    ids = [form_of(session, d["uuid"]).id for d in (first, second, other)]
    for form_id in ids:
        walk(session, form_id, CITY)
    refusals = completion.duplicate_site_refusals(session, ids)
    assert list(refusals) == [max(ids[:2])]
    assert "同时办结" in refusals[max(ids[:2])]
    # Not completing (a county's or a city's approval): nothing to refuse.
    assert completion.duplicate_site_refusals(session, [ids[0]]) == {}
    with pytest.raises(DuplicateSite):
        transition(session, actor(session, PROVINCE), "approve", ids)
    assert all(form_of(session, d["uuid"]).site_code is None for d in (first, second, other))
    # Without the duplicate, the rest completes.
    transition(session, actor(session, PROVINCE), "approve", [ids[0], ids[2]])
    assert form_of(session, first["uuid"]).site_code and form_of(session, other["uuid"]).site_code


# --- the 重复网站 page ----------------------------------------------------------------------


def test_duplicates_page_lists_the_subtree_s_duplicates(app, session, client, monkeypatch):
    first = example_form()
    import_forms(session, COUNTY, first)
    walk(session, form_of(session, first["uuid"]).id, CITY, PROVINCE)
    import_forms(session, COUNTY, same_site(first, name="上城区重复一"))
    edu = example_form(variant=2)
    import_forms(session, COUNTY, edu, same_site(edu, url="https://jyj.hzsc.gov.cn", name="教育局重复"))
    import_forms(session, SIBLING, example_form(variant=7))

    set_known_password(session, CITY)
    login(client, CITY)
    html = client.get("/basic_info/duplicates/").get_data(as_text=True)
    assert "共 2 个网站有重复表单" in html
    assert "hzsc.gov.cn" in html and "jyj.hzsc.gov.cn" in html
    assert "上城区重复一" in html and "教育局重复" in html
    code = form_of(session, first["uuid"]).site_code
    assert code in html and "已办结" in html and "/basic_info/form/" in html

    # Bounded pages: one website per page here.
    monkeypatch.setattr(duplicates, "PAGE_SIZE", 1)
    monkeypatch.setattr(duplicates.duplicate_sites, "__defaults__", (1, 1))
    page2 = client.get("/basic_info/duplicates/?page=2").get_data(as_text=True)
    assert "第 2 / 2 页" in page2 and page2.count('class="duplicate-site"') == 1
    for bad in ("abc", "-5", "99999999999"):
        assert client.get(f"/basic_info/duplicates/?page={bad}").status_code == 200

    set_known_password(session, SIBLING)
    login(client, SIBLING)
    html = client.get("/basic_info/duplicates/").get_data(as_text=True)
    assert "没有重复报送的网站" in html and "hzsc" not in html

    set_known_password(session, "330000")
    login(client, "330000")
    assert "hzsc.gov.cn" in client.get("/basic_info/duplicates/").get_data(as_text=True)


def test_duplicates_page_is_in_the_menu_and_administrators_see_everything(app, session):
    viewer_admin = admin(session)
    first = example_form()
    import_forms(session, COUNTY, first, same_site(first))
    from app.orgs.scope import viewer_for

    sites, total, pages, page = duplicates.duplicate_sites(session, viewer_for(viewer_admin))
    assert total == 1 and len(sites[0]["forms"]) == 2 and pages == 1
    sites, total, _, _ = duplicates.duplicate_sites(session, viewer_for(get_user(session, SIBLING)))
    assert total == 0 and sites == []
    menu = [item.name for cat in app.appbuilder.menu.get_list() for item in cat.childs]
    assert "重复网站" in menu


def test_a_website_with_very_many_forms_lists_a_bounded_number(app, session):
    first = example_form()
    copies = [same_site(first, name=f"副本{i}") for i in range(duplicates.FORMS_PER_SITE + 5)]
    import_forms(session, COUNTY, first, *copies)
    from app.orgs.scope import viewer_for

    sites, total, _, _ = duplicates.duplicate_sites(session, viewer_for(get_user(session, CITY)))
    assert total == 1 and len(sites[0]["forms"]) == duplicates.FORMS_PER_SITE
    assert sites[0]["more"] == 6


# --- PostgreSQL: two forms of one website completing at once -----------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_parallel_completions_of_one_website_issue_one_code(pg_app):
    from app.extensions import db

    session = db.session
    first = example_form()
    pairs = [first, same_site(first)]
    import_forms(session, COUNTY, *pairs)
    ids = [form_of(session, d["uuid"]).id for d in pairs]
    for form_id in ids:
        walk(session, form_id, CITY)
    session.remove()

    make_session = sessionmaker(bind=db.engine)
    barrier = threading.Barrier(2)
    outcomes = []

    def work(form_id):
        s = make_session()
        try:
            province = actor(s, PROVINCE)
            barrier.wait()
            transition(s, province, "approve", [form_id])
            outcomes.append("ok")
        except DuplicateSite as exc:
            outcomes.append(("refused", str(exc)))
        except Exception as exc:  # noqa: BLE001 - reported below
            outcomes.append(("error", repr(exc)))
        finally:
            s.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(map(str, outcomes))[0].startswith("(") and "ok" in outcomes, outcomes
    assert [o[0] for o in outcomes if o != "ok"] == ["refused"], outcomes
    check = make_session()
    try:
        codes = check.scalars(select(BasicInfoForm.site_code)
                              .where(BasicInfoForm.id.in_(ids))).all()
        assert sum(1 for c in codes if c) == 1
        assert check.scalar(select(func.count()).select_from(OutboxMail)) == 2
    finally:
        check.close()


# --- consistent demo data and sample package ---------------------------------------------------


def test_the_sample_package_is_a_consistent_county_package(app, session):
    from pathlib import Path

    sample = (Path(__file__).resolve().parent.parent / "docs" / "sample-package.zip").read_bytes()
    report = import_packages(session, actor(session, COUNTY), [("sample-package.zip", sample)])
    assert [f.outcome for f in report.forms] == [IMPORTED] * 3
    assert warnings_of(report) == [[], [], []]
    assert len({form_of(session, f.uuid).site_key for f in report.forms}) == 3


def test_the_demo_imports_without_warnings_and_without_duplicates(app, session):
    from plugins.basic_info import demo
    from plugins.basic_info.models import StoredPackage

    assert demo.load(session, lambda *_: None)
    results = session.scalars(select(StoredPackage.result)).all()
    assert len(results) > 1
    assert all(not f["warnings"] for r in results for f in r["forms"]), results
    # No website of the demo has two forms.
    keys = session.scalars(select(BasicInfoForm.site_key)).all()
    assert len(keys) == len(set(keys))
