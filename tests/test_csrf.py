"""CSRF, proven by brute force: a forging page cannot change anything.

Logged in as 杭州市 (330100), which holds forms waiting for its review and whose sub-units'
accounts it may reset, the walk sends EVERY URL rule of the app, with every method, the request a
cross-site page could make the browser send: the session cookie, a foreign ``Origin``, form or
JSON bodies naming real ids, and no CSRF token. Afterwards not one row of any table has changed,
and the session still works (even logout needed the token). A control shows the same request
with the token does change state, so the walk could see a change.
"""
import re

import pytest
from sqlalchemy import select

from tests.support.accounts import KNOWN_PASSWORD, login, set_known_password
from tests.support.pages import redirected
from tests.support.walk import (changed_tables, database_fingerprint, methods_of, urls_for,
                                walked_rules)

UNIT = "330100"
FOREIGN = {"Origin": "https://evil.example.com", "Referer": "https://evil.example.com/x"}
TRANSITIONS = ["submit", "approve", "return", "delete", "edit", "resetpassword", "unlock"]


@pytest.fixture
def city(session):
    """The demo data, and what 330100 could act on: a form waiting for its review, one of its own
    drafts, and the account of a sub-unit."""
    from app.accounts.models import PuchaUser
    from plugins.basic_info import demo
    from plugins.basic_info.models import BasicInfoForm

    demo.load(session, lambda *_: None)
    forms = {f.site_name: f for f in session.execute(select(BasicInfoForm)).scalars()}
    sub_account = session.execute(
        select(PuchaUser).where(PuchaUser.username == "330102")).scalar_one()
    return {"review": forms["杭州市上城区教育局"], "own": forms["杭州市人民政府"],
            "account": sub_account}


def values_for(targets):
    ids = [str(targets["review"].id), str(targets["own"].id), str(targets["account"].id)]

    def values(kind, name):
        lowered = name.lower()
        if "uuid" in lowered:
            return [targets["review"].uuid]
        if lowered == "name":
            return TRANSITIONS
        if lowered in ("locale", "lang"):
            return ["zh"]
        return ids

    return values


def forged_bodies(targets):
    review, account = targets["review"], targets["account"]
    form = {"reason": "伪造请求", "name": "approve", "ids": str(review.id),
            "rowid": [str(review.id), str(account.id)], "action": "resetpassword",
            "pk": str(review.id), "version": str(review.version),
            "password": "Weizao2026x", "conf_password": "Weizao2026x",
            "old_password": KNOWN_PASSWORD, "f.site_name": "伪造"}
    json_body = {"name": "approve", "ids": [review.id], "reason": "伪造请求",
                 "expected_versions": {str(review.id): review.version},
                 "password": "Weizao2026x", "site_name": "伪造"}
    return form, json_body


def not_a_change(table, row):
    # Reading an export is recorded as a download: a record of a read, not a change.
    return table == "audit_event" and row["action"] in ("download", "account_table_downloaded")


def test_a_forged_request_changes_nothing(app, session, client, city):
    from app.audit import AuditEvent
    from sqlalchemy import func

    set_known_password(session, UNIT)
    login(client, UNIT)
    before = database_fingerprint(session, not_a_change)
    last_event = session.scalar(select(func.max(AuditEvent.id)))
    form, json_body = forged_bodies(city)
    values = values_for(city)
    tried = refused = 0
    for rule in walked_rules(app):
        for url in urls_for(rule, values):
            for method in methods_of(rule):
                for body in ({"data": form}, {"json": json_body}):
                    if method == "GET" and "json" in body:
                        continue
                    kwargs = dict(body) if method != "GET" else {}
                    response = client.open(url, method=method, headers=FOREIGN, csrf=False,
                                           **kwargs)
                    tried += 1
                    if method != "GET":
                        # Refused for the missing token, saying so; or no such page for this
                        # unit at all (an action another view has, a view only administrators see).
                        answer = response.get_data(as_text=True)
                        assert (response.status_code == 400 and "CSRF" in answer
                                or response.status_code == 404), (
                            f"{method} {url} answered {response.status_code} without a token")
                        refused += 1
    after = database_fingerprint(session, not_a_change)
    new_events = session.execute(select(AuditEvent.action, AuditEvent.object_id).where(
        AuditEvent.id > last_event)).all()
    assert changed_tables(before, after) == [], new_events
    assert tried > 300 and refused > 150
    # Still logged in: not even the logout went through without the token.
    assert client.get("/basic_info/list/").status_code == 200


def test_the_walk_would_see_a_change(app, session, client, city):
    """Control: the same forged approval WITH the token goes through and shows in the
    fingerprint, so the walk above could not miss a change."""
    set_known_password(session, UNIT)
    login(client, UNIT)
    before = database_fingerprint(session, not_a_change)
    review = city["review"]
    refused = client.post(f"/basic_info/form/{review.id}/do/approve",
                          data={"version": review.version}, headers=FOREIGN, csrf=False)
    assert refused.status_code == 400
    assert "CSRF" in refused.get_data(as_text=True)
    assert changed_tables(before, database_fingerprint(session, not_a_change)) == []
    done = client.post(f"/basic_info/form/{review.id}/do/approve",
                       data={"version": review.version})
    assert redirected(client, done, f"/basic_info/form/{review.id}") == ["已审核通过：杭州市上城区教育局"]
    assert "basic_info_form" in changed_tables(before, database_fingerprint(session, not_a_change))


def test_no_state_change_by_get(app, session, client, city):
    """FAB's list actions answer GET with a refusal once CSRFProtect is installed: a plain link
    (an <img src> on another site) cannot reset a sub-unit's password."""
    set_known_password(session, UNIT)
    login(client, UNIT)
    account = city["account"]
    before = database_fingerprint(session, not_a_change)
    response = client.get(f"/accounts/action/resetpassword/{account.id}")
    # FAB refuses a state-changing GET once CSRFProtect is installed, and says so.
    assert redirected(client, response, "/") == ["访问被拒绝"]
    assert changed_tables(before, database_fingerprint(session, not_a_change)) == []


def test_the_jwt_api_needs_no_csrf_token_but_the_cookie_api_does(app, session, client, city):
    review = city["review"]
    api = app.test_client()
    set_known_password(session, UNIT)
    token = api.post("/api/v1/security/login", json={
        "username": UNIT, "password": KNOWN_PASSWORD, "provider": "db"}).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    body = {"name": "approve", "ids": [review.id]}

    # The session cookie alone, no token: refused before the API looks at it.
    login(client, UNIT)
    forged = client.post("/api/v1/basic_info/transition", json=body, csrf=False, headers=FOREIGN)
    assert forged.status_code == 400
    session.expire_all()
    assert session.get(type(review), review.id).holder_path == "/000000/330000/330100/"

    # The bearer token, no CSRF token: the API works as the filler and scripts use it.
    done = api.post("/api/v1/basic_info/transition", json=body, headers=bearer, csrf=False)
    assert done.status_code == 200, done.get_data(as_text=True)
    session.expire_all()
    assert session.get(type(review), review.id).holder_path == "/000000/330000/"


def test_security_headers_and_cookie_flags(app, session, client):
    response = client.get("/login/")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "object-src 'none'" in csp
    assert re.search(r"default-src 'self'", csp)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # off on plain HTTP by default
    set_known_password(session, "330102")
    login(client, "330102")
    cookie = client.get_cookie("session")
    assert cookie is not None and cookie.http_only and cookie.same_site == "Lax"


def test_hsts_and_secure_cookies_when_configured(tmp_path, national_db_file):
    from tests.conftest import app_in_context, base_overrides, sqlite_copy

    overrides = base_overrides(sqlite_copy(national_db_file, tmp_path), tmp_path)
    overrides.update({"HSTS_ENABLED": True, "SESSION_COOKIE_SECURE": True})
    with app_in_context(overrides) as application:
        response = application.test_client().get("/login/", base_url="https://localhost")
        assert "max-age=" in response.headers["Strict-Transport-Security"]


def test_logout_ends_the_session_and_the_tokens_on_the_server(app, session, client):
    api = app.test_client()
    set_known_password(session, "330102")
    token = api.post("/api/v1/security/login", json={
        "username": "330102", "password": KNOWN_PASSWORD, "provider": "db"}).get_json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/basic_info/", headers=bearer).status_code == 200

    login(client, "330102")
    captured = client.get_cookie("session").value
    assert client.get("/basic_info/list/").status_code == 200
    # A GET shows a confirmation; only the POST (with the token) logs out.
    assert "退出登录" in client.get("/logout/").get_data(as_text=True)
    assert client.get("/basic_info/list/").status_code == 200
    assert redirected(client, client.post("/logout/"), "/") == []

    thief = app.test_client()
    thief.set_cookie("session", captured)
    response = thief.get("/basic_info/list/")
    assert response.status_code == 302 and "/login/" in response.headers["Location"]
    assert api.get("/api/v1/basic_info/", headers=bearer).status_code == 401
    # A fresh login works again, and its token too.
    login(client, "330102")
    assert client.get("/basic_info/list/").status_code == 200
