"""办结: 网站标识码 and 校验码, and the two mails — delivered by a real SMTP server through the
outbox worker; nothing issued when the approval rolls back; distinct consecutive codes when
several workers complete forms of one unit at once on PostgreSQL."""
import re
import threading

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from app import hookimpl
from app.mail.models import OutboxMail
from app.mail.worker import send_due
from app.plugins import get_plugin_manager
from plugins.basic_info import completion
from plugins.basic_info.commands import transition, transition_all
from plugins.basic_info.completion import CHECK_CODE_ALPHABET, SiteCodesExhausted
from plugins.basic_info.models import BasicInfoForm, SiteCodeCounter
from plugins.basic_info.schema import example_form
from tests.conftest import app_in_context, base_overrides, sqlite_copy
from tests.test_basic_info_import import (CITY, COUNTY, PROVINCE, actor, form_of, import_forms,
                                          imported_form)

CHECK_CODE_RE = re.compile(r"[2-9A-HJKMNP-Z]{6}")


def walk_to_province(session, *forms):
    ids = [f.id for f in forms]
    transition(session, actor(session, COUNTY), "submit", ids)
    transition(session, actor(session, CITY), "approve", ids)
    return ids


def complete(session, *forms):
    ids = walk_to_province(session, *forms)
    transition(session, actor(session, PROVINCE), "approve", ids)
    return [form_of(session, f.uuid) for f in forms]


def outbox(session):
    session.expire_all()
    return session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def test_codes_have_the_public_format_and_count_per_importing_unit(app, session):
    docs = [example_form(variant=i) for i in range(3)]
    import_forms(session, COUNTY, *docs)
    forms = [form_of(session, d["uuid"]) for d in docs]
    complete(session, forms[0])
    complete(session, *forms[1:])
    codes = [form_of(session, d["uuid"]).site_code for d in docs]
    assert codes == ["3301020001", "3301020002", "3301020003"]
    for d in docs:
        form = form_of(session, d["uuid"])
        assert CHECK_CODE_RE.fullmatch(form.check_code) and form.completed_at

    # A city's own websites count in the city's sequence (3301000001, as in seed 000's 3301000006).
    city_doc = example_form(variant=3)
    import_forms(session, CITY, city_doc)
    city_form = form_of(session, city_doc["uuid"])
    transition(session, actor(session, CITY), "submit", [city_form.id])
    transition(session, actor(session, PROVINCE), "approve", [city_form.id])
    assert form_of(session, city_doc["uuid"]).site_code == "3301000001"

    # A ministry is level 1: its own submission completes (bm02000001).
    ministry_doc = example_form(variant=4)
    import_forms(session, "bm0200", ministry_doc)
    transition(session, actor(session, "bm0200"), "submit", [form_of(session, ministry_doc["uuid"]).id])
    assert form_of(session, ministry_doc["uuid"]).site_code == "bm02000001"


def test_check_codes_avoid_confusable_characters():
    assert not set("0O1IL") & set(CHECK_CODE_ALPHABET)
    codes = {completion.new_check_code() for _ in range(2000)}
    assert all(CHECK_CODE_RE.fullmatch(c) for c in codes)
    assert len(codes) > 1990  # random, not a sequence


@pytest.fixture
def mail_app(national_db_file, tmp_path, smtp_server):
    """The national database with Flask-Mail pointed at the test's real SMTP server."""
    overrides = base_overrides(sqlite_copy(national_db_file, tmp_path), tmp_path)
    overrides.update(smtp_server.app_config())
    with app_in_context(overrides) as application:
        yield application


@pytest.mark.smtp
def test_completion_mails_reach_the_principal_and_the_contact(mail_app, smtp_server):
    from app.extensions import db

    session = db.session
    form = imported_form(session)
    walk_to_province(session, form)
    assert outbox(session) == []  # nothing before completion
    transition(session, actor(session, PROVINCE), "approve", [form.id])
    form = form_of(session, form.uuid)
    rows = outbox(session)
    assert [r.to_addr for r in rows] == ["wangjg@hzsc.gov.cn", "chenxm@hzsc.gov.cn"]
    assert all(r.related_type == "basic_info" and r.related_id == str(form.id) for r in rows)

    assert send_due(session) == (2, 0)
    received = smtp_server.wait_for(2)
    assert sorted(m.rcpt_tos[0] for m in received) == ["chenxm@hzsc.gov.cn", "wangjg@hzsc.gov.cn"]
    for mail in received:
        assert "已办结" in mail.subject and "杭州市上城区人民政府" in mail.subject
        assert form.site_code in mail.subject
        assert form.check_code not in mail.subject  # the secret travels in the body only
        body = mail.body
        assert f"网站标识码：{form.site_code}" in body and f"校验码：{form.check_code}" in body
        assert "http://www.hzsc.gov.cn/" in body and "自查" in body and "标识码找回" in body
    greetings = sorted(m.body.split("\n", 1)[0] for m in received)
    assert greetings == ["王建国：", "陈晓梅："]


def test_one_mail_when_principal_and_contact_share_an_address(app, session):
    doc = example_form()
    doc["fields"]["contact_email"] = "WangJG@hzsc.gov.cn"
    import_forms(session, COUNTY, doc)
    complete(session, form_of(session, doc["uuid"]))
    assert [r.to_addr for r in outbox(session)] == ["wangjg@hzsc.gov.cn"]


class FailingAfterCompletion:
    """Runs after basic_info's hook (trylast) and fails: the approval must roll back whole."""

    @hookimpl(trylast=True)
    def after_transition(self, workflow, transition, object_ids, actor, session):
        raise RuntimeError("模拟故障")


def test_a_rolled_back_approval_leaves_no_codes_and_no_mail(app, session):
    form = imported_form(session)
    walk_to_province(session, form)
    plugin = FailingAfterCompletion()
    get_plugin_manager().register(plugin)
    try:
        with pytest.raises(RuntimeError):
            transition(session, actor(session, PROVINCE), "approve", [form.id])
    finally:
        get_plugin_manager().unregister(plugin)
    form = form_of(session, form.uuid)
    assert form.stage == "pending" and form.site_code is None and form.check_code is None
    assert outbox(session) == []
    assert session.scalar(select(func.coalesce(func.max(SiteCodeCounter.last_seq), 0))) == 0
    # The next approval issues the first number: nothing was used up by the failed one.
    transition(session, actor(session, PROVINCE), "approve", [form.id])
    assert form_of(session, form.uuid).site_code == "3301020001"


def test_a_unit_past_9999_websites_gets_a_clear_error_and_nothing_changes(app, session):
    form = imported_form(session)
    walk_to_province(session, form)
    session.add(SiteCodeCounter(org_id=actor(session, COUNTY).org_id, last_seq=9999))
    session.commit()
    with pytest.raises(SiteCodesExhausted, match="网站标识码序号已用完"):
        transition(session, actor(session, PROVINCE), "approve", [form.id])
    form = form_of(session, form.uuid)
    assert form.stage == "pending" and form.site_code is None and outbox(session) == []


def test_bulk_completion_issues_consecutive_codes_and_two_mails_each(app, session):
    docs = [example_form(variant=i) for i in range(12)]
    import_forms(session, COUNTY, *docs)
    transition_all(session, actor(session, COUNTY), "submit")
    transition_all(session, actor(session, CITY), "approve")
    result = transition_all(session, actor(session, PROVINCE), "approve")
    assert result.count == 12
    codes = sorted(form_of(session, d["uuid"]).site_code for d in docs)
    assert codes == [f"330102{n:04d}" for n in range(1, 13)]
    assert len(outbox(session)) == 24


# --- PostgreSQL: concurrent completions ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.slow
def test_parallel_completions_of_one_unit_get_distinct_consecutive_codes(pg_app):
    from app.extensions import db

    session = db.session
    workers, per_worker = 8, 6
    docs = [example_form(variant=i) for i in range(workers * per_worker)]
    import_forms(session, COUNTY, *docs)
    transition_all(session, actor(session, COUNTY), "submit")
    transition_all(session, actor(session, CITY), "approve")
    ids = sorted(form_of(session, d["uuid"]).id for d in docs)
    session.remove()

    make_session = sessionmaker(bind=db.engine)
    barrier = threading.Barrier(workers)
    errors = []

    def work(my_ids):
        s = make_session()
        try:
            province = actor(s, PROVINCE)
            barrier.wait()
            # One transaction per form: many short transactions racing on the same counter row
            # (the counter does not exist yet, so its creation races too).
            for form_id in my_ids:
                transition(s, province, "approve", [form_id])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            s.close()

    threads = [threading.Thread(target=work, args=(ids[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []

    check = make_session()
    try:
        codes = check.scalars(select(BasicInfoForm.site_code)).all()
        assert sorted(codes) == [f"330102{n:04d}" for n in range(1, len(docs) + 1)]
        assert check.scalar(select(SiteCodeCounter.last_seq)) == len(docs)
        assert check.scalar(select(func.count()).select_from(OutboxMail)) == 2 * len(docs)
    finally:
        check.close()
