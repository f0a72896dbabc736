"""标识码找回 (seed 004 §10): the codes go by mail, through the outbox and a real SMTP server, to
the 负责人 and 联系人 on file only; the answer is byte-identical whether or not the entry matched;
rate-limited per address and per website; every request audited; crafted input is a 4xx."""
import time

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.mail.models import OutboxMail
from app.mail.worker import send_due
from plugins.basic_info import recovery
from tests.conftest import app_in_context, base_overrides, sqlite_copy
from tests.test_basic_info_completion import complete, mail_app  # noqa: F401 (a fixture)
from tests.test_basic_info_import import imported_form

URL = "/site-codes/recover/"
PRINCIPAL, CONTACT = "wangjg@hzsc.gov.cn", "chenxm@hzsc.gov.cn"


def completed_site(session, variant=0):
    form = imported_form(session, variant=variant)
    return complete(session, form)[0]


def outbox(session):
    session.expire_all()
    return session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()


def recoveries(session):
    session.expire_all()
    return session.scalars(select(AuditEvent).where(AuditEvent.action == "site_codes_recovery")
                           .order_by(AuditEvent.id)).all()


def ask(client, site, contact):
    return client.post(URL, data={"site": site, "contact": contact})


def answer(client, response):
    """The POST's answer and the page it leads to, as bytes (all a visitor ever sees)."""
    page = client.get(response.headers["Location"])
    return (response.status_code, response.headers["Location"], response.get_data(),
            page.status_code, page.get_data())


@pytest.mark.smtp
def test_the_codes_reach_the_principal_and_the_contact_on_file(mail_app, smtp_server):
    from app.extensions import db

    session = db.session
    form = completed_site(session)
    sent_before = len(outbox(session))
    client = mail_app.test_client()
    # By 首页网址 (any spelling of the same website) and the contact's mobile.
    response = ask(client, "https://WWW.hzsc.gov.cn", "139 0571 0002")
    assert response.status_code == 303
    rows = outbox(session)[sent_before:]
    assert sorted(r.to_addr for r in rows) == [CONTACT, PRINCIPAL]
    assert all(r.related_type == "basic_info" and r.related_id == str(form.id) for r in rows)

    smtp_server.messages.clear()
    assert send_due(session) == (sent_before + 2, 0)
    received = [m for m in smtp_server.wait_for(sent_before + 2) if "标识码找回" in m.subject]
    assert sorted(m.rcpt_tos[0] for m in received) == [CONTACT, PRINCIPAL]
    for mail in received:
        assert f"网站标识码：{form.site_code}" in mail.body
        assert f"校验码：{form.check_code}" in mail.body
        assert form.check_code not in mail.subject

    # By 网站名称 and the principal's e-mail in another case: the same two addresses, never the
    # typed one as such.
    ask(client, "杭州市上城区人民政府", "WANGJG@HZSC.GOV.CN")
    assert sorted(r.to_addr for r in outbox(session)[sent_before + 2:]) == [CONTACT, PRINCIPAL]
    events = recoveries(session)
    assert [e.detail["outcome"] for e in events] == ["queued", "queued"]
    assert events[0].object_id == str(form.id) and events[0].detail["site_code"] == form.site_code


def test_match_and_mismatch_answer_byte_for_byte_the_same(app, session, client):
    form = completed_site(session)
    sent_before = len(outbox(session))
    matched = answer(client, ask(client, "杭州市上城区人民政府", PRINCIPAL))
    assert len(outbox(session)) == sent_before + 2
    for site, contact in [("杭州市上城区人民政府", "someone@else.cn"),   # wrong contact
                          ("杭州市上城区人民政府", "13800000000"),
                          ("不存在的网站", PRINCIPAL),                     # wrong site
                          ("http://www.nosuch.gov.cn/", "13805710001")]:
        assert answer(client, ask(client, site, contact)) == matched, (site, contact)
    # A site that exists but is not completed yet gets the same answer, and no mail.
    imported_form(session, variant=1)
    assert answer(client, ask(client, "杭州市上城区民政局", "huangzq@hzsc.gov.cn")) == matched
    assert len(outbox(session)) == sent_before + 2
    # The codes are on no page.
    assert form.check_code.encode() not in matched[2] + matched[4]
    assert form.site_code.encode() not in matched[2] + matched[4]
    outcomes = [e.detail["outcome"] for e in recoveries(session)]
    assert outcomes == ["queued"] + ["no_match"] * 5


def test_match_and_mismatch_take_the_same_time(app, session, client):
    """The same work either way: one lookup, one counter, one audit row, one commit (the mail is
    only queued). Measured, not asserted tightly: the two medians are within a few ms."""
    completed_site(session)
    app.config["SITE_RECOVER_LIMIT"] = ""  # the per-website limit would stop the matches
    timings = {"match": [], "mismatch": []}
    for _ in range(15):
        for kind, contact in (("match", PRINCIPAL), ("mismatch", "nobody@else.cn")):
            started = time.perf_counter()
            assert ask(client, "杭州市上城区人民政府", contact).status_code == 303
            timings[kind].append(time.perf_counter() - started)
    medians = {k: sorted(v)[len(v) // 2] for k, v in timings.items()}
    print(f"recovery median match {medians['match'] * 1000:.1f} ms, "
          f"mismatch {medians['mismatch'] * 1000:.1f} ms")
    assert abs(medians["match"] - medians["mismatch"]) < 0.02


def app_with_limits(national_db_file, tmp_path, **limits):
    """An app on a copy of the national database with rate limiting on (in memory unless
    ``limits`` name another store) and ``limits`` set."""
    overrides = base_overrides(sqlite_copy(national_db_file, tmp_path), tmp_path)
    overrides.update({"RATELIMIT_ENABLED": True, "RATELIMIT_STORAGE_URI": "memory://", **limits})
    return app_in_context(overrides)


@pytest.fixture
def limited_app(national_db_file, tmp_path):
    with app_with_limits(national_db_file, tmp_path, PUBLIC_RATE_LIMIT="3 per hour") as application:
        yield application


def test_the_form_is_rate_limited_per_address(limited_app):
    from app.extensions import db

    client = limited_app.test_client()
    client.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    codes = [ask(client, "某网站", "a@b.cn").status_code for _ in range(4)]
    assert codes == [303, 303, 303, 429]
    refused = ask(client, "某网站", "a@b.cn")
    assert "请求过于频繁" in refused.get_data(as_text=True) and refused.headers["Retry-After"]
    # Reading the form is not counted; another address has its own count.
    assert client.get(URL).status_code == 200
    other = limited_app.test_client()
    other.environ_base["REMOTE_ADDR"] = "203.0.113.10"
    assert ask(other, "某网站", "a@b.cn").status_code == 303
    # Refused requests write nothing: four audited requests, not six.
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "site_codes_recovery")) == 4


def test_the_per_website_limit_stops_the_mails_not_the_answer(limited_app):
    from app.extensions import db

    session = db.session
    limited_app.config.update(SITE_RECOVER_LIMIT="2 per day", PUBLIC_RATE_LIMIT="100 per hour")
    client = limited_app.test_client()
    completed_site(session)
    sent_before = len(outbox(session))
    answers = [answer(client, ask(client, "杭州市上城区人民政府", PRINCIPAL)) for _ in range(4)]
    assert all(a == answers[0] for a in answers)
    assert len(outbox(session)) == sent_before + 4  # two requests × two addresses
    outcomes = [e.detail["outcome"] for e in recoveries(session)]
    assert outcomes == ["queued", "queued", "site_limited", "site_limited"]


def test_missing_or_overlong_input_is_a_4xx_naming_the_field(app, session, client):
    page = client.post(URL, data={"site": "", "contact": ""})
    assert page.status_code == 422
    text = page.get_data(as_text=True)
    assert "请填写网站名称或首页网址" in text and "请填写负责人或联系人的电子邮箱或手机号码" in text
    page = client.post(URL, data={"site": "x" * 5000, "contact": "a@b.cn"})
    assert page.status_code == 422 and "过长" in page.get_data(as_text=True)
    # A forged request without the token changes nothing.
    assert client.post(URL, data={"site": "a", "contact": "b"}, csrf=False).status_code == 400
    assert recoveries(session) == []


def test_the_page_is_public_and_linked_from_the_home_page(app, client):
    home = client.get("/").get_data(as_text=True)
    assert f'href="{URL}"' in home and "标识码找回" in home
    page = client.get(URL)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "不会显示在页面上" in text and 'name="csrf_token"' in text
    # English is available (the words come from the catalogue once it is regenerated).
    client.get("/lang/en")
    assert client.get("/").status_code == 200 and client.get(URL).status_code == 200


def test_contact_matching_rules():
    class Row:
        principal_email, contact_email = "Wang@HZ.gov.cn", "无"
        principal_mobile, contact_mobile = "13805710001", "13905710002"

    assert recovery.contact_matches(Row, "wang@hz.gov.cn")
    assert recovery.contact_matches(Row, "139-0571-0002")
    assert not recovery.contact_matches(Row, "1380571000")   # too short
    assert not recovery.contact_matches(Row, "无")
    assert not recovery.contact_matches(Row, "other@hz.gov.cn")


def test_the_audit_page_names_the_requests(app, session, client):
    from tests.support.accounts import login, set_known_password

    completed_site(session)
    ask(client, "杭州市上城区人民政府", PRINCIPAL)
    ask(client, "不存在的网站", PRINCIPAL)
    admin = app.test_client()
    set_known_password(session, "admin")
    login(admin, "admin")
    page = admin.get("/audit/", query_string={"action": "site_codes_recovery"})
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "标识码找回" in text and "no_match" in text
    # The importing unit sees the request for its own website, not the unmatched one.
    county = app.test_client()
    set_known_password(session, "330102")
    login(county, "330102")
    text = county.get("/audit/", query_string={"action": "site_codes_recovery"}).get_data(
        as_text=True)
    assert "queued" in text and "no_match" not in text


@pytest.mark.redis
def test_the_per_website_limit_is_shared_through_redis(national_db_file, tmp_path, redis_url,
                                                       redis_server):
    """Two app processes on one Redis count one website's recoveries together."""
    from app.extensions import db
    from app.factory import create_app

    with app_with_limits(national_db_file, tmp_path, RATELIMIT_STORAGE_URI=redis_url,
                         SITE_RECOVER_LIMIT="2 per day",
                         PUBLIC_RATE_LIMIT="100 per hour") as first:
        completed_site(db.session)
        sent_before = len(outbox(db.session))
        ask(first.test_client(), "杭州市上城区人民政府", PRINCIPAL)
        second = create_app(dict(first.config))
        with second.app_context():
            ask(second.test_client(), "杭州市上城区人民政府", PRINCIPAL)
            ask(second.test_client(), "杭州市上城区人民政府", PRINCIPAL)
            db.session.remove()
        assert len(outbox(db.session)) == sent_before + 4
        assert [e.detail["outcome"] for e in recoveries(db.session)] == [
            "queued", "queued", "site_limited"]
    assert any(b"pucha-site-recover" in key for key in redis_server.client().keys("*"))
