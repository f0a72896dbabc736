"""The level-by-level review (逐级审核) of 基本信息表: what each unit SEES and may do at each step.

The chain is 上城区 330102 (importer) → 杭州市 330100 → 浙江省 330000 (level 1: its approval
completes). Every status is checked twice: ``status_for`` in Python and ``status_case`` in SQL,
as the list page filters by it.
"""

import pytest
from sqlalchemy import insert, select

from app.audit import AuditEvent
from app.workflow.engine import NotAllowed, NotFound, ReasonRequired, available_transitions
from plugins.basic_info import commands
from plugins.basic_info import workflow as review
from plugins.basic_info.commands import FormError, delete_form, edit_form, transition, transition_all
from plugins.basic_info.models import BasicInfoForm
from plugins.basic_info.schema import example_form
from tests.support.statements import StatementCounter
from tests.test_basic_info_import import (CITY, COUNTY, PROVINCE, actor, form_of, import_forms,
                                          imported_form)

NATION = "000000"
SIBLING = "330105"  # 拱墅区: a sibling of the importer, sees nothing of its forms


def sees(session, form, code):
    """The status ``code`` sees, asserting the Python and the SQL derivation agree."""
    path = actor(session, code).org.path
    in_python = review.status_for(form, path)
    in_sql = session.scalar(select(review.status_case(BasicInfoForm, path))
                            .where(BasicInfoForm.id == form.id))
    assert in_python == in_sql, (code, in_python, in_sql)
    return in_python


def statuses(session, form):
    return {code: sees(session, form, code) for code in (COUNTY, CITY, PROVINCE, NATION)}


def twins_agree(session, form, org):
    """Each transition's SQL twin (``where`` + its sources) takes the form exactly when its
    Python rule (``allowed`` + its sources) does: bulk candidates and buttons never disagree."""
    for t in commands.WORKFLOW.transitions:
        in_python = form.stage in t.sources and t.allowed(form, org)
        in_sql = session.scalar(select(BasicInfoForm.id).where(
            BasicInfoForm.id == form.id, BasicInfoForm.stage.in_(t.sources),
            t.where(BasicInfoForm, org))) is not None
        assert in_python == in_sql, (t.name, org.code, in_python, in_sql)


def buttons(session, form, code):
    org = actor(session, code).org
    twins_agree(session, form, org)
    names = [t.name for t in available_transitions(commands.WORKFLOW, form, org)]
    if review.may_edit(form, org):
        names += ["edit", "delete"]
    if review.may_correct(form, org):
        names += ["correct"]
    return names


def test_the_chain_to_completion_shows_each_unit_its_status(app, session):
    form = imported_form(session)
    assert statuses(session, form) == {COUNTY: "未提交", CITY: "待下级审核",
                                       PROVINCE: "待下级审核", NATION: "待下级审核"}
    assert buttons(session, form, COUNTY) == ["submit", "edit", "delete"]
    assert buttons(session, form, CITY) == [] and buttons(session, form, PROVINCE) == []

    transition(session, actor(session, COUNTY), "submit", [form.id])
    form = form_of(session, form.uuid)
    assert statuses(session, form) == {COUNTY: "已审核", CITY: "未审核",
                                       PROVINCE: "待下级审核", NATION: "待下级审核"}
    assert buttons(session, form, COUNTY) == []
    assert buttons(session, form, CITY) == ["approve", "return"]

    transition(session, actor(session, CITY), "approve", [form.id])
    form = form_of(session, form.uuid)
    assert statuses(session, form) == {COUNTY: "已审核", CITY: "已审核",
                                       PROVINCE: "未审核", NATION: "待下级审核"}
    assert buttons(session, form, PROVINCE) == ["approve", "return"]

    transition(session, actor(session, PROVINCE), "approve", [form.id])
    form = form_of(session, form.uuid)
    assert set(statuses(session, form).values()) == {"已办结"}
    assert form.site_code.startswith(COUNTY) and form.completed_at
    for code in (COUNTY, CITY, PROVINCE):
        assert buttons(session, form, code) == ["correct"]
    actions = session.scalars(select(AuditEvent.action).where(
        AuditEvent.object_id == str(form.id)).order_by(AuditEvent.id)).all()
    assert actions == ["import", "submit", "approve", "approve", "issue_codes"]


def test_returns_at_each_level_need_a_reason_shown_to_every_unit_below(app, session):
    form = imported_form(session)
    transition(session, actor(session, COUNTY), "submit", [form.id])
    transition(session, actor(session, CITY), "approve", [form.id])

    with pytest.raises(ReasonRequired, match="必须填写原因"):
        transition(session, actor(session, PROVINCE), "return", [form.id], reason="  ")
    transition(session, actor(session, PROVINCE), "return", [form.id], reason="联系人手机号码有误")
    form = form_of(session, form.uuid)
    # FAQ §21: back one level to 杭州市; 上城区 sees 已退回 but has no edit/delete yet.
    assert form.holder_path.endswith("/330100/") and form.stage == "returned"
    assert statuses(session, form) == {COUNTY: "已退回", CITY: "已退回",
                                       PROVINCE: "待下级审核", NATION: "待下级审核"}
    assert form.last_reason == "联系人手机号码有误"
    assert buttons(session, form, COUNTY) == []
    assert buttons(session, form, CITY) == ["approve", "return"]  # no edit: not the importer
    with pytest.raises(NotAllowed, match="尚未退回到本单位"):
        edit_form(session, actor(session, COUNTY), form.id, form.document, form.version)
    with pytest.raises(NotAllowed, match="尚未退回到本单位"):
        delete_form(session, actor(session, COUNTY), form.id, form.version)
    with pytest.raises(NotAllowed):
        transition(session, actor(session, COUNTY), "submit", [form.id])

    with pytest.raises(ReasonRequired):
        transition(session, actor(session, CITY), "return", [form.id])
    transition(session, actor(session, CITY), "return", [form.id], reason="请核对联系人手机")
    form = form_of(session, form.uuid)
    assert form.holder_path == form.scope_path and form.stage == "returned"
    assert statuses(session, form) == {COUNTY: "已退回", CITY: "待下级审核",
                                       PROVINCE: "待下级审核", NATION: "待下级审核"}
    assert form.last_reason == "请核对联系人手机"
    assert buttons(session, form, COUNTY) == ["submit", "edit", "delete"]
    # The importer cannot "return" to itself.
    with pytest.raises(NotAllowed):
        transition(session, actor(session, COUNTY), "return", [form.id], reason="x")

    doc = form.document
    doc["fields"]["contact_mobile"] = "13905719999"
    edit_form(session, actor(session, COUNTY), form.id, doc, form.version)
    transition(session, actor(session, COUNTY), "submit", [form.id])
    form = form_of(session, form.uuid)
    assert statuses(session, form)[CITY] == "未审核" and form.last_reason is None

    reasons = session.scalars(select(AuditEvent.reason).where(
        AuditEvent.object_id == str(form.id), AuditEvent.action == "return")
        .order_by(AuditEvent.id)).all()
    assert reasons == ["联系人手机号码有误", "请核对联系人手机"]


def test_a_returned_form_can_be_approved_again_by_its_holder(app, session):
    form = imported_form(session)
    transition(session, actor(session, COUNTY), "submit", [form.id])
    transition(session, actor(session, CITY), "approve", [form.id])
    transition(session, actor(session, PROVINCE), "return", [form.id], reason="请复核")
    transition(session, actor(session, CITY), "approve", [form.id])
    form = form_of(session, form.uuid)
    assert form.stage == "pending" and statuses(session, form)[PROVINCE] == "未审核"


def test_units_off_the_chain_can_neither_see_nor_act(app, session):
    form = imported_form(session)
    transition(session, actor(session, COUNTY), "submit", [form.id])
    for code in (SIBLING, "330200", "bm0200"):
        with pytest.raises(NotFound, match="不在本单位管辖范围内"):
            transition(session, actor(session, code), "approve", [form.id])
    # A unit above the holder sees the form but may not act before it arrives.
    with pytest.raises(NotAllowed):
        transition(session, actor(session, PROVINCE), "approve", [form.id])


def test_submit_all_and_approve_all_take_exactly_the_forms_the_unit_may_take(app, session):
    docs = [example_form(variant=i) for i in range(5)]
    import_forms(session, COUNTY, *docs)
    other = example_form(variant=5)
    import_forms(session, SIBLING, other)
    forms = [form_of(session, d["uuid"]) for d in docs]
    # One form was returned down to the importer: 全部提交 takes only 未提交 (seed 004 §15) and
    # leaves the returned one for a decision of its own.
    transition(session, actor(session, COUNTY), "submit", [forms[0].id])
    transition(session, actor(session, CITY), "return", [forms[0].id], reason="补充栏目")

    result = transition_all(session, actor(session, COUNTY), "submit")
    assert sorted(result.ids) == sorted(f.id for f in forms[1:])
    assert result.left_out == 1
    assert form_of(session, forms[0].uuid).stage == "returned"
    assert form_of(session, other["uuid"]).stage == "draft"  # the sibling's form is untouched
    transition(session, actor(session, COUNTY), "submit", [forms[0].id])

    import_forms(session, SIBLING, example_form(variant=6))
    transition_all(session, actor(session, SIBLING), "submit")
    result = transition_all(session, actor(session, CITY), "approve")
    assert result.count == 5 + 2  # both counties' forms now sit at 杭州市
    assert transition_all(session, actor(session, CITY), "approve").count == 0
    with pytest.raises(FormError, match="批量"):
        transition_all(session, actor(session, CITY), "return")

    result = transition_all(session, actor(session, PROVINCE), "approve")
    assert result.count == 7
    codes = sorted(form_of(session, d["uuid"]).site_code for d in docs)
    assert codes == [f"{COUNTY}{n:04d}" for n in range(1, 6)]


def _bulk_forms(session, n, holder_code, importer_code=COUNTY, stage="pending"):
    """``n`` forms of ``importer_code`` sitting at ``holder_code`` (inserted directly: setup)."""
    importer = actor(session, importer_code).org
    holder = actor(session, holder_code).org
    doc = example_form()
    values = {k: v for k, v in doc["fields"].items()}
    template = example_form()
    rows = []
    for i in range(n):
        d = dict(template, uuid=f"00000000-0000-4000-8000-{i:012d}")
        rows.append(dict(values, uuid=d["uuid"], scope_path=importer.path, importer_id=importer.id,
                         holder_path=holder.path, stage=stage, version=1, document=d,
                         site_name=f"网站{i}"))
    session.execute(insert(BasicInfoForm), rows)
    session.commit()


@pytest.mark.slow
def test_approve_all_of_5000_forms_is_set_based(app, session):
    from app.extensions import db

    _bulk_forms(session, 5000, CITY)
    city = actor(session, CITY)
    with StatementCounter(db.engine) as counter:
        result = transition_all(session, city, "approve")
    assert result.count == 5000
    assert counter.count <= 15

    # At the province every approval completes: codes, audit rows and 10,000 mails, still a
    # bounded number of statements.
    province = actor(session, PROVINCE)
    with StatementCounter(db.engine) as counter:
        result = transition_all(session, province, "approve")
    assert result.count == 5000
    assert counter.count <= 40
    codes = session.scalars(select(BasicInfoForm.site_code)).all()
    assert len(set(codes)) == 5000 and max(codes) == f"{COUNTY}5000"


def test_cli_transition_by_id_and_all(app, session):
    docs = [example_form(variant=i) for i in range(3)]
    import_forms(session, COUNTY, *docs)
    first = form_of(session, docs[0]["uuid"])
    runner = app.test_cli_runner()
    result = runner.invoke(args=["pucha", "basic-info-transition", COUNTY, "submit", "--id", str(first.id)])
    assert result.exit_code == 0 and "提交：已处理 1 份表单" in result.output, result.output
    result = runner.invoke(args=["pucha", "basic-info-transition", COUNTY, "submit", "--all"])
    assert result.exit_code == 0 and "已处理 2 份表单" in result.output, result.output
    result = runner.invoke(args=["pucha", "basic-info-transition", CITY, "return", "--id", str(first.id)])
    assert result.exit_code != 0 and "必须填写原因" in result.output
    result = runner.invoke(args=["pucha", "basic-info-transition", CITY, "return", "--id",
                                 str(first.id), "--reason", "网址有误"])
    assert result.exit_code == 0, result.output
    assert form_of(session, first.uuid).last_reason == "网址有误"
    result = runner.invoke(args=["pucha", "basic-info-transition", CITY, "approve"])
    assert result.exit_code != 0 and "--all" in result.output
    result = runner.invoke(args=["pucha", "basic-info-transition", SIBLING, "approve", "--id", str(first.id)])
    assert result.exit_code != 0 and "不在本单位管辖范围内" in result.output
