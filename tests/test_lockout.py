"""Lockout after repeated failed logins, held in the database, audited."""
import datetime

from sqlalchemy import select

from app.audit import AuditEvent
from tests.support.accounts import KNOWN_PASSWORD as KNOWN
from tests.support.accounts import api_token, audit_count, get_user, give_password, web_login


def _fail(web, username, times, password="wrong-password-9"):
    for _ in range(times):
        response = web_login(web, username, password)
        assert response.status_code == 302


def _logged_in(web):
    return web.get("/accounts/list/").status_code == 200


def test_lock_after_threshold_and_expiry(small_app, web, db_session):
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    give_password(db_session, "330102")

    _fail(web, "330102", threshold - 1)
    user = get_user(db_session, "330102")
    assert user.fail_login_count == threshold - 1 and not user.is_locked
    assert audit_count(db_session, "login_failed", "330102") == threshold - 1

    _fail(web, "330102", 1)
    user = get_user(db_session, "330102")
    assert user.is_locked
    minutes = small_app.config["LOCKOUT_MINUTES"]
    expected = datetime.datetime.now() + datetime.timedelta(minutes=minutes)
    assert abs((user.locked_until - expected).total_seconds()) < 60
    assert audit_count(db_session, "account_locked", "330102") == 1
    lock = db_session.execute(select(AuditEvent).where(
        AuditEvent.action == "account_locked")).scalar_one()
    assert lock.detail["minutes"] == minutes and lock.org_id == user.org_id

    # While locked, the right password is refused too, with a Chinese message naming the time.
    page = web.post("/login/", data={"username": "330102", "password": KNOWN},
                    follow_redirects=True).get_data(as_text=True)
    assert "账号已锁定" in page and f"{user.locked_until:%Y-%m-%d %H:%M}" in page
    assert not _logged_in(web)
    assert audit_count(db_session, "login_refused_locked", "330102") == 1
    # The API login is refused as well.
    assert web.post("/api/v1/security/login", json={
        "username": "330102", "password": KNOWN, "provider": "db"}).status_code == 401

    # The lock expires (moved into the past, as time would).
    user.locked_until = datetime.datetime.now() - datetime.timedelta(seconds=1)
    db_session.commit()
    web_login(web, "330102", KNOWN)
    assert _logged_in(web)
    user = get_user(db_session, "330102")
    assert user.locked_until is None and user.fail_login_count == 0


def test_success_resets_the_series(small_app, web, db_session):
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    give_password(db_session, "330106")
    _fail(web, "330106", threshold - 1)
    web_login(web, "330106", KNOWN)
    assert _logged_in(web)
    web.post("/logout/")
    _fail(web, "330106", threshold - 1)
    assert not get_user(db_session, "330106").is_locked


def test_lock_holds_across_processes(small_app, web, db_session):
    """The lock is a column: a second app (another process) on the same database sees it."""
    from app.factory import create_app
    from tests.conftest import base_overrides

    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    give_password(db_session, "330100")
    _fail(web, "330100", threshold)
    other = create_app(base_overrides(small_app.config["SQLALCHEMY_DATABASE_URI"],
                                      small_app.config["FILE_STORAGE_DIR"].parent))
    client = other.test_client()
    with other.app_context():
        response = client.post("/api/v1/security/login", json={
            "username": "330100", "password": KNOWN, "provider": "db"})
        assert response.status_code == 401
        from app.extensions import db
        db.session.remove()


def test_lockout_applies_to_initial_passwords_and_api(small_app, web, db_session):
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    initial = get_user(db_session, "330200").initial_password
    for _ in range(threshold):
        response = web.post("/api/v1/security/login", json={
            "username": "330200", "password": "nope-nope-1", "provider": "db"})
        assert response.status_code == 401
    assert get_user(db_session, "330200").is_locked
    response = web.post("/api/v1/security/login", json={
        "username": "330200", "password": initial, "provider": "db"})
    assert response.status_code == 401
    # The parent's reset lifts the lock.
    give_password(db_session, "330000")
    headers = api_token(web, "330000", KNOWN)
    reset = web.post("/api/v1/account/330200/reset", headers=headers)
    new_initial = reset.get_json()["initial_password"]
    api_token(web, "330200", new_initial)


def test_unknown_user_failures_are_audited(web, db_session):
    web_login(web, "no-such-user", "whatever-1")
    assert audit_count(db_session, "login_failed", "no-such-user") == 1
