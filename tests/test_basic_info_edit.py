"""编辑 / 删除 before completion, 在线修改 after it, and two units acting on one form at once."""
import copy

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import sessionmaker

from app.audit import AuditEvent
from app.workflow.engine import ConcurrentChange, NotAllowed, NotFound
from plugins.basic_info.commands import (REFUSED, FormInvalid, delete_form, edit_form,
                                         import_packages, transition)
from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm
from tests.test_basic_info_completion import complete
from tests.test_basic_info_import import (CITY, COUNTY, PROVINCE, actor, admin, form_of,
                                          imported_form, package)

SIBLING = "330105"


def audit(session, form_id, action):
    return session.scalars(select(AuditEvent).where(
        AuditEvent.object_id == str(form_id), AuditEvent.action == action)
        .order_by(AuditEvent.id)).all()


def changed_doc(form, **fields):
    doc = copy.deepcopy(form.document)
    doc["fields"].update(fields)
    return doc


def column_names(session, form_id, slot):
    return session.scalars(select(BasicInfoColumnRow.name).where(
        BasicInfoColumnRow.form_id == form_id, BasicInfoColumnRow.slot == slot)
        .order_by(BasicInfoColumnRow.position)).all()


# --- 编辑 / 删除 before completion -------------------------------------------------------------


def test_the_importer_edits_its_draft_and_the_change_is_audited(app, session):
    form = imported_form(session)
    doc = changed_doc(form, site_name="上城区政府网", principal_mobile="１３８０５７１０００９")
    doc["columns"]["info"]["news"].append({"name": "图片新闻", "address": "http://www.hzsc.gov.cn/tp/"})
    edited = edit_form(session, actor(session, COUNTY), form.id, doc, form.version)
    form = form_of(session, form.uuid)
    assert edited.id == form.id and form.version == 2 and form.stage == "draft"
    assert form.site_name == "上城区政府网" and form.principal_mobile == "13805710009"  # normalized
    assert column_names(session, form.id, "news") == ["工作动态", "部门动态", "图片新闻"]
    (event_,) = audit(session, form.id, "edit")
    changes = event_.detail["changes"]
    assert changes["site_name"] == ["杭州市上城区人民政府", "上城区政府网"]
    assert changes["principal_mobile"] == ["13805710001", "13805710009"]
    assert changes["columns.info.news[2].name"] == [None, "图片新闻"]
    assert event_.actor_name == COUNTY


def test_an_edit_is_validated_like_an_import_and_refused_whole(app, session):
    form = imported_form(session)
    doc = changed_doc(form, principal_phone="87654321", contact_email="")
    with pytest.raises(FormInvalid) as info:
        edit_form(session, actor(session, COUNTY), form.id, doc, form.version)
    paths = {e["path"] for e in info.value.error_dicts()}
    assert paths == {"fields.principal_phone", "fields.contact_email"}
    assert "负责人办公电话" in str(info.value)
    assert form_of(session, form.uuid).version == 1 and audit(session, form.id, "edit") == []


def test_hidden_region_fields_cannot_be_changed_by_the_user(app, session):
    form = imported_form(session)
    doc = changed_doc(form, province="北京市", city="北京市", county="海淀区", site_name="新名称")
    edit_form(session, actor(session, COUNTY), form.id, doc, form.version)
    form = form_of(session, form.uuid)
    assert (form.province, form.city, form.county) == ("浙江省", "杭州市", "上城区")
    assert form.document["fields"]["province"] == "浙江省"
    assert set(audit(session, form.id, "edit")[0].detail["changes"]) == {"site_name"}


def test_who_may_edit_and_delete_before_completion(app, session):
    form = imported_form(session)
    doc = changed_doc(form, site_name="x")
    with pytest.raises(NotFound):
        edit_form(session, actor(session, SIBLING), form.id, doc, form.version)
    with pytest.raises(NotFound):
        delete_form(session, actor(session, SIBLING), form.id, form.version)
    with pytest.raises(NotAllowed, match="只有导入该表单的单位"):
        edit_form(session, actor(session, CITY), form.id, doc, form.version)
    with pytest.raises(NotAllowed, match="只有导入该表单的单位"):
        delete_form(session, admin(session), form.id, form.version)

    transition(session, actor(session, COUNTY), "submit", [form.id])
    form = form_of(session, form.uuid)
    with pytest.raises(NotAllowed, match="已提交上级审核"):
        edit_form(session, actor(session, COUNTY), form.id, doc, form.version)
    with pytest.raises(NotAllowed, match="已提交上级审核"):
        delete_form(session, actor(session, COUNTY), form.id, form.version)
    with pytest.raises(NotAllowed):
        edit_form(session, actor(session, CITY), form.id, doc, form.version)  # holder, not importer
    assert form_of(session, form.uuid).site_name == "杭州市上城区人民政府"


def test_the_importer_deletes_a_draft_or_a_form_returned_to_it(app, session):
    form = imported_form(session)
    with pytest.raises(ConcurrentChange, match="表单已被其他单位处理，请刷新后重试"):
        delete_form(session, actor(session, COUNTY), form.id, form.version + 1)
    delete_form(session, actor(session, COUNTY), form.id, form.version)
    assert form_of(session, form.uuid) is None
    assert session.scalar(select(func.count()).select_from(BasicInfoColumnRow)
                          .where(BasicInfoColumnRow.form_id == form.id)) == 0
    (event_,) = audit(session, form.id, "delete")
    assert event_.detail["uuid"] == form.uuid and event_.from_stage == "draft"

    other = imported_form(session, variant=1)
    transition(session, actor(session, COUNTY), "submit", [other.id])
    transition(session, actor(session, CITY), "return", [other.id], reason="重复报送")
    delete_form(session, actor(session, COUNTY), other.id, form_of(session, other.uuid).version)
    assert form_of(session, other.uuid) is None


# --- 在线修改 after completion ----------------------------------------------------------------


def test_after_completion_units_on_the_chain_correct_without_review(app, session):
    (form,) = complete(session, imported_form(session))
    site_code, check_code = form.site_code, form.check_code
    doc = changed_doc(form, contact_name="李明")
    doc["columns"]["service"]["guide"][0]["address"] = "http://www.hzsc.gov.cn/bszn2/"
    edit_form(session, actor(session, PROVINCE), form.id, doc, form.version)
    form = form_of(session, form.uuid)
    assert form.stage == "completed" and form.contact_name == "李明"
    assert (form.site_code, form.check_code) == (site_code, check_code)
    (event_,) = audit(session, form.id, "correct")
    assert event_.detail["changes"] == {
        "contact_name": ["陈晓梅", "李明"],
        "columns.service.guide[0].address": ["http://www.hzsc.gov.cn/bszn/", "http://www.hzsc.gov.cn/bszn2/"],
    }
    assert event_.from_stage == event_.to_stage == "completed"
    assert check_code not in str(event_.detail)

    for code in (COUNTY, CITY):
        form = form_of(session, form.uuid)
        edit_form(session, actor(session, code), form.id,
                  changed_doc(form, office_address=f"{code} 改"), form.version)
    assert len(audit(session, form.id, "correct")) == 3
    for code in (SIBLING, "320000"):
        with pytest.raises(NotFound):
            edit_form(session, actor(session, code), form.id, doc, form_of(session, form.uuid).version)
    with pytest.raises(NotAllowed, match="已办结"):
        delete_form(session, actor(session, COUNTY), form.id, form_of(session, form.uuid).version)


def test_an_unchanged_document_writes_nothing(app, session):
    form = imported_form(session)
    edit_form(session, actor(session, COUNTY), form.id, copy.deepcopy(form.document), form.version)
    assert form_of(session, form.uuid).version == 1 and audit(session, form.id, "edit") == []


# --- two units at once ------------------------------------------------------------------------


def second_session(app):
    from app.extensions import db

    return sessionmaker(bind=db.engine)()


def just_before_form_update(engine, action):
    """Run ``action`` once, right before the next UPDATE of basic_info_form is sent: the other
    unit acts between our read and our write."""
    state = {"done": False}

    def listener(conn, cursor, statement, parameters, context, executemany):
        if not state["done"] and statement.lstrip().upper().startswith("UPDATE BASIC_INFO_FORM"):
            state["done"] = True
            action()

    event.listen(engine, "before_cursor_execute", listener)
    return lambda: event.remove(engine, "before_cursor_execute", listener)


@pytest.mark.parametrize("first,second", [("approve", "return"), ("return", "approve"),
                                          ("approve", "approve")])
def test_two_actions_on_one_form_at_once_exactly_one_wins(app, session, first, second):
    from app.extensions import db

    form = imported_form(session)
    transition(session, actor(session, COUNTY), "submit", [form.id])
    other = second_session(app)

    def other_unit_acts():
        transition(other, actor(other, CITY), first, [form.id], reason="另一位同事先退回")

    remove = just_before_form_update(db.engine, other_unit_acts)
    try:
        with pytest.raises(ConcurrentChange, match="表单已被其他单位处理，请刷新后重试"):
            transition(session, actor(session, CITY), second, [form.id], reason="我来退回")
    finally:
        remove()
        other.close()
    form = form_of(session, form.uuid)
    assert form.version == 3  # import 1, submit 2, the winner 3
    assert form.stage == ("pending" if first == "approve" else "returned")
    actions = [e.action for e in session.scalars(select(AuditEvent).where(
        AuditEvent.object_id == str(form.id)).order_by(AuditEvent.id))]
    assert actions == ["import", "submit", first]


def test_a_stale_page_cannot_act(app, session):
    form = imported_form(session)
    transition(session, actor(session, COUNTY), "submit", [form.id])
    shown_version = form_of(session, form.uuid).version
    transition(session, actor(session, CITY), "return", [form.id], reason="缺少栏目")
    transition(session, actor(session, COUNTY), "submit", [form.id])
    # The city's page still shows the version before the return: its approval is refused.
    with pytest.raises(ConcurrentChange):
        transition(session, actor(session, CITY), "approve", [form.id],
                   expected_versions={form.id: shown_version})


def test_an_edit_racing_a_reimport_loses_and_nothing_is_lost(app, session):
    from app.extensions import db

    form = imported_form(session)
    reimported = changed_doc(form, site_name="重新导入的名称")
    other = second_session(app)

    def reimport():
        report = import_packages(other, actor(other, COUNTY), [("again.zip", package(reimported))])
        assert report.updated == 1

    remove = just_before_form_update(db.engine, reimport)
    try:
        with pytest.raises(ConcurrentChange):
            edit_form(session, actor(session, COUNTY), form.id,
                      changed_doc(form, site_name="在线编辑的名称"), form.version)
    finally:
        remove()
        other.close()
    form = form_of(session, form.uuid)
    assert form.site_name == "重新导入的名称" and form.version == 2
    assert audit(session, form.id, "edit") == []

    # With the page's version older than the re-import, the edit is refused before any write.
    with pytest.raises(ConcurrentChange):
        edit_form(session, actor(session, COUNTY), form.id, changed_doc(form, site_name="y"), 1)


def test_a_reimport_racing_an_edit_refuses_that_form_and_keeps_the_edit(app, session):
    from app.extensions import db

    form = imported_form(session)
    other = second_session(app)

    def edit_first():
        fresh = other.get(BasicInfoForm, form.id)
        edit_form(other, actor(other, COUNTY), form.id, changed_doc(fresh, site_name="先编辑"),
                  fresh.version)

    remove = just_before_form_update(db.engine, edit_first)
    try:
        report = import_packages(session, actor(session, COUNTY),
                                 [("again.zip", package(changed_doc(form, site_name="后导入")))])
    finally:
        remove()
        other.close()
    (outcome,) = report.forms
    assert outcome.outcome == REFUSED
    assert outcome.errors[0]["message"] == "表单已被其他单位处理，请刷新后重试"
    form = form_of(session, form.uuid)
    assert form.site_name == "先编辑" and form.version == 2

