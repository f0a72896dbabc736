"""Review rules a census office relies on: bulk actions that leave 已退回 forms alone, actions on
the rows ticked on the list, a lost race that reads as one, where each form waits, and a history
that uses the list's words.

The demo data gives 杭州市 (330100) one form to review (上城区教育局, 未审核) and one the province
returned to it with a reason (上城区民政局, 已退回): the city's 全部审核 once re-approved the
latter silently.
"""
import datetime
import re
from html import unescape

import pytest
from sqlalchemy import select

from app import clock
from app.audit import AuditEvent
from app.workflow.engine import ConcurrentChange, NotAllowed, NotFound, ReasonRequired
from plugins.basic_info import commands
from plugins.basic_info.commands import FormError, transition, transition_all, transition_selected
from plugins.basic_info.models import BasicInfoForm
from plugins.basic_info.schema import example_form
from plugins.basic_info.workflow import STATUS_LABELS
from tests.test_basic_info_import import CITY, COUNTY, PROVINCE, actor, form_of, import_forms
from tests.support.accounts import KNOWN_PASSWORD, api_token, login, set_known_password
from tests.support.demo import demo  # noqa: F401 - fixture
from tests.test_basic_info_views import page

EDUCATION, CIVIL = "杭州市上城区教育局", "杭州市上城区民政局"


def by_name(session, name):
    session.expire_all()
    return session.scalars(select(BasicInfoForm).where(BasicInfoForm.site_name == name)).one()


def flashes(html):
    return " ".join(unescape(re.sub(r"<[^>]+>", "", m))
                    for m in re.findall(r'<div class="alert[^"]*"[^>]*>(.*?)</div>', html, re.S))


# --- 全部审核 / 全部提交 (seed 004 §15) ---------------------------------------------------------

def test_approve_all_leaves_a_form_the_province_returned_and_says_so(client, session, demo):
    civil = by_name(session, CIVIL)
    assert civil.stage == "returned" and civil.holder_path.endswith("/330100/")
    assert commands.bulk_counts(session, actor(session, CITY).org)["approve"] == (1, 1)

    set_known_password(session, CITY)
    login(client, CITY)
    html = page(client, "/basic_info/list/")
    # The confirmation names what it takes and what it leaves out.
    assert "确定审核通过下级报送的全部 1 份未审核表单吗？另有 1 份已退回的表单需逐份处理。" in unescape(html)
    response = client.post("/basic_info/bulk/approve", follow_redirects=True)
    text = flashes(response.get_data(as_text=True))
    assert "全部审核：共 1 份表单" in text and "另有 1 份已退回的表单需逐份处理" in text

    civil = by_name(session, CIVIL)
    assert civil.stage == "returned" and civil.holder_path.endswith("/330100/")
    assert civil.last_reason  # the province's reason still stands
    assert by_name(session, EDUCATION).holder_path.endswith("/330000/")


def test_submit_all_takes_only_the_unit_s_drafts(app, session):
    docs = [example_form(variant=i) for i in range(3)]
    import_forms(session, COUNTY, *docs)
    first = form_of(session, docs[0]["uuid"])
    transition(session, actor(session, COUNTY), "submit", [first.id])
    transition(session, actor(session, CITY), "return", [first.id], reason="补充栏目")
    assert commands.bulk_counts(session, actor(session, COUNTY).org)["submit"] == (2, 1)
    result = transition_all(session, actor(session, COUNTY), "submit")
    assert result.count == 2 and result.left_out == 1
    assert form_of(session, docs[0]["uuid"]).stage == "returned"


# --- 审核通过选中 / 退回选中 ------------------------------------------------------------------

def _pending_at_city(session, n=3):
    docs = [example_form(variant=i) for i in range(n)]
    import_forms(session, COUNTY, *docs)
    forms = [form_of(session, d["uuid"]) for d in docs]
    transition_all(session, actor(session, COUNTY), "submit")
    return [form_of(session, d["uuid"]) for d in docs]


def test_approve_selected_takes_the_ticked_forms_each_checked_and_audited(app, session):
    forms = _pending_at_city(session)
    # The third one goes up and comes back from the province: 已退回 at the city.
    transition(session, actor(session, CITY), "approve", [forms[2].id])
    transition(session, actor(session, PROVINCE), "return", [forms[2].id], reason="核对网址")
    forms = [form_of(session, f.uuid) for f in forms]

    result = transition_selected(session, actor(session, CITY), "approve",
                                 [str(f.id) for f in forms],
                                 expected_versions={str(f.id): f.version for f in forms})
    assert result.ids == [forms[0].id, forms[1].id]
    assert result.skipped == {forms[2].id: "已退回的表单需逐份处理，请打开表单后单独审核或退回"}
    for form in forms[:2]:
        assert form_of(session, form.uuid).holder_path.endswith("/330000/")
    assert form_of(session, forms[2].uuid).stage == "returned"
    approvals = session.scalars(select(AuditEvent.object_id).where(
        AuditEvent.action == "approve", AuditEvent.actor_name == CITY)).all()
    assert sorted(approvals) == sorted(str(f.id) for f in forms)  # 2 now + the one before


def test_return_selected_needs_one_reason_and_gives_it_to_every_form(app, session):
    forms = _pending_at_city(session, 2)
    ids = [f.id for f in forms]
    with pytest.raises(ReasonRequired, match="退回必须填写原因"):
        transition_selected(session, actor(session, CITY), "return", ids, reason="  ")
    assert all(form_of(session, f.uuid).stage == "pending" for f in forms)

    result = transition_selected(session, actor(session, CITY), "return", ids,
                                 reason="栏目地址打不开")
    assert result.count == 2
    for form in forms:
        form = form_of(session, form.uuid)
        assert form.stage == "returned" and form.holder_path == form.scope_path
        assert form.last_reason == "栏目地址打不开"


def test_selected_actions_refuse_bad_requests_before_anything_is_written(app, session):
    forms = _pending_at_city(session, 2)
    city = actor(session, CITY)
    with pytest.raises(FormError, match="只能"):
        transition_selected(session, city, "submit", [forms[0].id])
    with pytest.raises(NotFound):
        transition_selected(session, city, "approve", [])
    with pytest.raises(NotFound):
        transition_selected(session, city, "approve", ["1; drop table"])
    with pytest.raises(FormError, match="一次最多选择 500 份"):
        transition_selected(session, city, "approve", list(range(1, 502)))
    # A sibling county's unit cannot name forms it does not see.
    with pytest.raises(NotFound):
        transition_selected(session, actor(session, "330105"), "approve", [forms[0].id])
    # A form changed since the page was drawn is left alone, the others go ahead.
    stale = {str(forms[0].id): forms[0].version - 1, str(forms[1].id): forms[1].version}
    result = transition_selected(session, city, "approve", [forms[0].id, forms[1].id],
                                 expected_versions=stale)
    assert result.ids == [forms[1].id]
    assert result.skipped == {forms[0].id: "表单已被其他单位处理，请刷新后重试"}
    assert form_of(session, forms[0].uuid).stage == "pending"


def test_select_on_the_list_and_approve_the_ticked_rows(client, session, demo):
    set_known_password(session, CITY)
    login(client, CITY)
    html = page(client, "/basic_info/list/")
    education = by_name(session, EDUCATION)
    # Only rows the city sees as 未审核 carry a checkbox.
    assert re.findall(r'class="row-select" name="ids" value="(\d+)"', html) == [str(education.id)]
    response = client.post("/basic_info/selected/approve", data={
        "ids": [str(education.id)], f"version-{education.id}": str(education.version),
        "next": "/basic_info/list/?psize_BasicInfoView=50"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/basic_info/list/?psize_BasicInfoView=50")
    assert by_name(session, EDUCATION).holder_path.endswith("/330000/")
    text = flashes(page(client, "/basic_info/list/"))
    assert "审核通过选中：共 1 份表单" in text
    # Somewhere else is never a place to go back to.
    response = client.post("/basic_info/selected/return", data={
        "ids": [str(education.id)], "reason": "x", "next": "https://evil.example/"})
    assert response.headers["Location"].endswith("/basic_info/list/")
    assert client.post("/basic_info/selected/delete", data={"ids": ["1"]}).status_code == 404


# --- a lost race -------------------------------------------------------------------------------

def test_a_colleague_acting_first_reads_as_a_lost_race_not_as_forbidden(client, session, demo):

    education = by_name(session, EDUCATION)
    transition(session, actor(session, CITY), "approve", [education.id])  # a colleague, first
    with pytest.raises(ConcurrentChange, match="^表单已被其他单位处理，请刷新后重试$"):
        transition(session, actor(session, CITY), "return", [education.id], reason="迟了")
    set_known_password(session, CITY)
    headers = api_token(client, CITY, KNOWN_PASSWORD)
    response = client.post("/api/v1/basic_info/transition", headers=headers,
                           json={"name": "return", "ids": [education.id], "reason": "迟了"})
    assert response.status_code == 409
    assert response.get_json()["message"] == "表单已被其他单位处理，请刷新后重试"
    # A unit that holds a form but may never take the action is still told it may not.
    civil = by_name(session, CIVIL)
    with pytest.raises(NotAllowed, match="本单位无权") as refused:
        transition(session, actor(session, CITY), "submit", [civil.id])
    assert not isinstance(refused.value, ConcurrentChange)


# --- 当前所在单位 ---------------------------------------------------------------------------------

def test_the_list_names_the_unit_holding_each_form_and_for_how_long(client, session, demo,
                                                                  monkeypatch):
    later = clock.now() + datetime.timedelta(days=3, hours=1)
    monkeypatch.setattr(clock, "now", lambda: later)
    set_known_password(session, PROVINCE)
    login(client, PROVINCE)
    html = page(client, "/basic_info/list/?psize_BasicInfoView=100")
    assert ">当前所在单位" in html
    rows = {m[1]: m[0] for m in re.findall(
        r'<tr data-pk="\d+">(.*?/basic_info/form/\d+">(.*?)</a>.*?)</tr>', html, re.S)}
    assert "杭州市（3 天）" in rows[EDUCATION]
    assert "上城区（3 天）" in rows["杭州市上城区人民政府"]
    assert "（" not in re.sub(r"<[^>]+>", "|", rows["杭州市上城区文化和旅游局"]).split("|已办结|")[1].split("|")[1]

    # The filter: forms waiting at a unit whose name contains the text.
    html = page(client, "/basic_info/list/?_flt_0_holder_path=杭州市&psize_BasicInfoView=100")
    names = set(re.findall(r'/basic_info/form/\d+">(.*?)</a>', html))
    assert EDUCATION in names and CIVIL in names and "杭州市上城区人民政府" not in names
    html = page(client, "/basic_info/list/?_flt_0_holder_path=%25&psize_BasicInfoView=100")
    assert "/basic_info/form/" not in html  # a wildcard is a character, not a pattern

    # Status and 当前所在单位 sort (both directions, no error).
    for column in ("status", "holder_name"):
        for direction in ("asc", "desc"):
            page(client, f"/basic_info/list/?_oc_BasicInfoView={column}&_od_BasicInfoView={direction}")


def test_status_sort_orders_by_what_the_viewer_sees(client, session, demo):
    set_known_password(session, CITY)
    login(client, CITY)
    html = page(client, "/basic_info/list/?_oc_BasicInfoView=status&_od_BasicInfoView=asc"
                        "&psize_BasicInfoView=100")
    statuses = re.findall(r'<span class="label label-\w+">(.*?)</span>', html)
    # The workflow's order (未提交 → 未审核 → … → 已办结), the same on SQLite and PostgreSQL.
    assert statuses == sorted(statuses, key=STATUS_LABELS.index), statuses
    assert len(set(statuses)) > 2


# --- what the detail page says --------------------------------------------------------------------

def test_the_timeline_uses_the_list_s_words_and_names_the_holder(client, session, demo):
    set_known_password(session, PROVINCE)
    login(client, PROVINCE)
    html = page(client, f"/basic_info/form/{by_name(session, '杭州市上城区文化和旅游局').id}")
    timeline = unescape(html[html.index("audit-timeline"):])
    assert "未提交（上城区） → 未审核（杭州市）" in timeline
    assert "未审核（杭州市） → 未审核（浙江省）" in timeline
    assert "→ 已办结" in timeline
    assert "草稿" not in timeline and "审核中" not in timeline


def test_a_column_change_reads_as_words(client, session, demo):
    form = by_name(session, "杭州市上城区人民政府")  # 未提交 at the county: it may edit
    doc = form.document
    old = doc["columns"]["info"]["news"][0]["address"]
    doc["columns"]["info"]["news"][0]["address"] = "http://www.hzsc.gov.cn/col/col9/"
    commands.edit_form(session, actor(session, COUNTY), form.id, doc, form.version)
    set_known_password(session, COUNTY)
    login(client, COUNTY)
    html = unescape(page(client, f"/basic_info/form/{form.id}"))
    assert f"信息发布类 › 动态要闻 第 1 行 地址：{old} → http://www.hzsc.gov.cn/col/col9/" in html
    assert "columns.info" not in html


def test_completing_a_form_says_so_with_its_code(client, session, demo):
    form = by_name(session, "杭州市上城区卫生健康局")  # 未审核 at the province
    set_known_password(session, PROVINCE)
    login(client, PROVINCE)
    response = client.post(f"/basic_info/form/{form.id}/do/approve",
                           data={"version": form.version}, follow_redirects=True)
    code = by_name(session, "杭州市上城区卫生健康局").site_code
    assert code
    assert f"已办结，网站标识码 {code}，已通知负责人和联系人" in flashes(
        response.get_data(as_text=True))


@pytest.mark.smtp
def test_the_timeline_records_the_mail_when_the_worker_delivers_it(national_db_file, tmp_path,
                                                                   smtp_server):
    from app.extensions import db
    from app.mail.worker import send_due
    from plugins.basic_info import demo as demo_module
    from app.formtypes.pages import timeline
    from plugins.basic_info.plugin import FORM
    from tests.conftest import app_in_context, base_overrides, sqlite_copy

    overrides = base_overrides(sqlite_copy(national_db_file, tmp_path), tmp_path)
    with app_in_context({**overrides, **smtp_server.app_config()}):
        session = db.session
        demo_module.load(session, lambda *_: None)
        sent_before, _ = send_due(session)  # the demo's completed forms
        form = by_name(session, "杭州市上城区卫生健康局")
        transition(session, actor(session, PROVINCE), "approve", [form.id])
        assert send_due(session) == (2, 0)
        smtp_server.wait_for(sent_before + 2)
        form = by_name(session, "杭州市上城区卫生健康局")
        events = [e for e in timeline(session, FORM, form) if e["action"] == "已发送网站标识码邮件"]
        assert len(events) == 2
        assert {e["note"] for e in events} == {
            f"收件人：{form.principal_email}", f"收件人：{form.contact_email}"}
