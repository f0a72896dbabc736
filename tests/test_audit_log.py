"""审计日志: who sees which events (the org scope on ``audit_event.scope_path``), the filters,
keyset pages, bad input answered with 400 and a Chinese message, and the export through the safe
cell writer."""
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app import audit
from app.audit import AuditEvent
from tests.support.accounts import get_user, login, set_known_password
from tests.support.xlsx import HOSTILE, assert_no_formulas, assert_reads_as_typed

MARK = "AUDITMARK"



def _org_id(session, code):
    from app.orgs.models import Org

    return session.execute(select(Org.id).where(Org.code == code)).scalar_one()


@pytest.fixture
def events(session):
    """One marked event per unit: two sibling counties, their city and province, another
    province's county, and one without a unit (only administrators see it)."""
    for code in ("330102", "330106", "330100", "330000", "320102"):
        audit.record(session, "password_reset", "user", code, org_id=_org_id(session, code),
                     reason=f"{MARK}-{code}")
    audit.record(session, "accounts_provisioned", "user", None, reason=f"{MARK}-none")
    session.commit()


def marks(html):
    return set(re.findall(MARK + r"-(\w+)", html))


def page(client, query=""):
    response = client.get("/audit/" + query)
    return response, response.get_data(as_text=True)


def test_scope_path_is_filled_by_every_writer(session, events):
    """record() and record_many() copy the unit's path into the row; no unit, no path."""
    from app.orgs.models import Org

    rows = dict(session.execute(select(AuditEvent.reason, AuditEvent.scope_path)
                                .where(AuditEvent.reason.like(f"{MARK}%"))).all())
    county = session.execute(select(Org).where(Org.code == "330102")).scalar_one()
    assert rows[f"{MARK}-330102"] == county.path and rows[f"{MARK}-none"] is None
    audit.record_many(session, [audit.audit_values("submit", "t", 1, org_id=county.id),
                                audit.audit_values("submit", "t", 2)])
    session.commit()
    got = session.execute(select(AuditEvent.object_id, AuditEvent.scope_path)
                          .where(AuditEvent.object_type == "t")).all()
    assert sorted(got) == [("1", county.path), ("2", None)]


def test_a_county_sees_its_own_events_not_a_siblings(client, session, events):
    set_known_password(session, "330102")
    login(client, "330102")
    response, html = page(client)
    assert response.status_code == 200
    assert marks(html) == {"330102"}
    assert "重置密码" in html and "审计日志" in html


def test_a_province_sees_its_counties_and_cities(client, session, events):
    set_known_password(session, "330000")
    login(client, "330000")
    assert marks(page(client)[1]) == {"330102", "330106", "330100", "330000"}
    set_known_password(session, "330100")
    login(client, "330100")
    assert marks(page(client)[1]) == {"330102", "330106", "330100"}


def test_the_administrator_sees_everything(client, session, events):
    set_known_password(session, "admin")
    login(client, "admin")
    assert marks(page(client)[1]) == {"330102", "330106", "330100", "330000", "320102", "none"}


def test_a_user_without_unit_or_admin_role_sees_nothing(client, session, events):
    """An account FAB's user form could make: the units' role, but no unit."""
    from app.accounts.models import PuchaUser
    from flask_appbuilder.security.sqla.models import Role

    role = session.execute(select(Role).where(Role.name == "组织单位")).scalar_one()
    session.add(PuchaUser(username="nounit", first_name="无", last_name="单位",
                          email="nounit@example.com", active=True, roles=[role],
                          must_change_password=False))
    session.commit()
    set_known_password(session, "nounit")
    login(client, "nounit")
    response, html = page(client)
    assert response.status_code == 200 and marks(html) == set()
    export = client.get("/audit/export")
    assert MARK not in "".join(str(v) for ws in load_workbook(io.BytesIO(export.data)).worksheets
                               for row in ws.iter_rows(values_only=True) for v in row if v)


def test_the_menu_shows_the_page(client, session):
    set_known_password(session, "330102")
    login(client, "330102")
    html = client.get("/basic_info/list/").get_data(as_text=True)
    assert "/audit/" in html and "审计日志" in html


def test_filters_by_action_unit_actor_and_time(client, session, events):
    set_known_password(session, "admin")
    login(client, "admin")
    assert marks(page(client, "?org=330100")[1]) == {"330102", "330106", "330100"}
    assert marks(page(client, "?org=330106")[1]) == {"330106"}
    assert marks(page(client, "?action=accounts_provisioned")[1]) == {"none"}
    # The account concerned counts as the actor's filter too: a login failure has no actor.
    assert marks(page(client, "?actor=330106")[1]) == {"330106"}
    today = audit.now().date().isoformat()
    assert len(marks(page(client, f"?start={today}&end={today}")[1])) == 6
    assert marks(page(client, "?start=2001-01-01&end=2001-01-31")[1]) == set()
    # A unit's own filter stays inside its scope.
    set_known_password(session, "330102")
    login(client, "330102")
    assert marks(page(client, "?org=330000")[1]) == {"330102"}
    assert marks(page(client, "?org=320102")[1]) == set()


def test_real_actions_are_listed_in_words(client, session):
    """A login failure, an import and a transition, written by the real code, read in Chinese."""
    from plugins.basic_info import commands
    from plugins.basic_info.demo import package_bytes, site_form

    county = get_user(session, "330102")
    report = commands.import_packages(session, county, [("a.zip", package_bytes(
        [site_form(f"{MARK}网站", "a.hzsc.gov.cn", "否")]))])
    commands.transition(session, county, "submit", [report.forms[0].form_id])
    client.post("/login/", data={"username": "330102", "password": "wrong-password-1"})
    set_known_password(session, "330100")
    login(client, "330100")
    html = page(client)[1]
    for words in ("导入", "提交", "登录失败", "未提交 → 未审核"):
        assert words in html, words
    assert "package_id" not in html and "上报文件编号" in html
    assert "{&#34;" not in html and '{"' not in html  # no raw JSON in the detail column


def test_keyset_pages_cover_every_event_once(client, session):
    county = _org_id(session, "330106")
    audit.record_many(session, [audit.audit_values("download", "t", i, org_id=county,
                                                   detail={"file": f"{MARK}-{i}"})
                                for i in range(1, 121)])
    session.commit()
    set_known_password(session, "330106")
    login(client, "330106")
    seen, query, pages = [], "?action=download", 0
    while True:
        response, html = page(client, query)
        assert response.status_code == 200
        seen += re.findall(MARK + r"-(\d+)", html)
        pages += 1
        older = re.search(r'id="audit-older" href="([^"]+)"', html)
        if not older:
            break
        query = "?" + older.group(1).split("?", 1)[1].replace("&amp;", "&")
    assert pages == 3 and len(seen) == 120 and len(set(seen)) == 120
    assert seen == sorted(seen, key=int, reverse=True)
    newer = re.search(r'id="audit-newer" href="([^"]+)"', html).group(1).replace("&amp;", "&")
    back = re.findall(MARK + r"-(\d+)", client.get(newer).get_data(as_text=True))
    assert back == [str(i) for i in range(70, 20, -1)]
    assert "共 120 条记录" in html


@pytest.mark.parametrize("query", [
    "?start=2026-02-30", "?start=9999-12-31", "?end=9999-12-31", "?before=-1", "?before=abc",
    "?after=99999999999999999999", "?org=" + "9" * 40, "?actor=" + "x" * 300,
    "?start=2026-03-02&end=2026-03-01", "?org=999999",
])
def test_bad_filters_get_400_with_a_message(client, session, query):
    set_known_password(session, "330102")
    login(client, "330102")
    response, html = page(client, query)
    assert response.status_code == 400, query
    assert 'class="alert alert-danger audit-error"' in html
    assert client.get("/audit/export" + query).status_code == 400


def test_export_is_the_current_query_without_formulas_and_is_audited(client, session):
    county = _org_id(session, "330102")
    for text in HOSTILE:
        audit.record(session, "password_reset", "user", "330102", org_id=county, reason=text,
                     detail={"file": text})
    audit.record(session, "password_reset", "user", "330106",
                 org_id=_org_id(session, "330106"), reason=f"{MARK}-sibling")
    session.commit()
    set_known_password(session, "330102")
    login(client, "330102")
    response = client.get("/audit/export?action=password_reset")
    assert response.status_code == 200
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    data = response.get_data()
    assert_no_formulas(data)
    assert_reads_as_typed(data, HOSTILE)
    ws = load_workbook(io.BytesIO(data)).worksheets[0]
    header = [c.value for c in ws[2]]
    assert header[:4] == ["时间", "操作", "单位代码", "单位"]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert len(rows) == len(HOSTILE) and {r[1] for r in rows} == {"重置密码"}
    assert MARK not in repr(rows)
    downloads = session.execute(select(AuditEvent).where(
        AuditEvent.action == "download", AuditEvent.object_type == "audit_event")).scalars().all()
    assert len(downloads) == 1 and downloads[0].detail["events"] == len(HOSTILE)


def test_export_stops_at_its_row_limit(app, client, session):
    county = _org_id(session, "330102")
    audit.record_many(session, [audit.audit_values("download", "t", i, org_id=county)
                                for i in range(30)])
    session.commit()
    app.config["AUDIT_EXPORT_MAX_ROWS"] = 10
    set_known_password(session, "330102")
    login(client, "330102")
    ws = load_workbook(io.BytesIO(client.get("/audit/export?action=download").data)).worksheets[0]
    rows = list(ws.iter_rows(min_row=3, values_only=True))
    assert len(rows) == 11 and "仅导出最近的 10 条记录" in rows[-1][0]


def test_downloads_of_report_and_account_table_are_audited(client, session):
    set_known_password(session, "330100")
    login(client, "330100")
    assert client.get("/basic_info/export").status_code == 200
    assert client.get("/accounts/download/").status_code == 200
    got = session.execute(select(AuditEvent.object_type, AuditEvent.actor_name)
                          .where(AuditEvent.action == "download")).all()
    assert sorted(got) == [("account_table", "330100"), ("basic_info", "330100")]
    html = page(client, "?action=download")[1]
    assert "下级单位账号表" in html and "政府网站基本信息表" in html


def test_a_count_stops_at_the_cap(session):
    from app.audit_log import listing

    county = _org_id(session, "330102")
    audit.record_many(session, [audit.audit_values("download", "t", i, org_id=county)
                                for i in range(25)])
    session.commit()
    stmt = select(AuditEvent).where(AuditEvent.object_type == "t")
    assert listing.capped_count(session, stmt, cap=10) == (10, True)
    assert listing.capped_count(session, stmt, cap=25) == (25, False)


def test_the_routes_are_in_the_url_rule_walk(app):
    """tests/test_scope_walk.py walks app.url_map: both routes are there, GET only."""
    rules = {rule.rule: rule.methods - {"HEAD", "OPTIONS"} for rule in app.url_map.iter_rules()
             if rule.endpoint.startswith("AuditLogView.")}
    assert rules == {"/audit/": {"GET"}, "/audit/export": {"GET"}}


def test_the_page_in_english(client, session, events):
    client.get("/lang/en")
    set_known_password(session, "330102")
    login(client, "330102")
    html = page(client)[1]
    assert "Audit log" in html and "Reset password" in html and "Account 330102" in html
    response, html = page(client, "?start=2026-02-30")
    assert response.status_code == 400 and "must be a date" in html
