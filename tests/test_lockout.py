"""Failed logins against the real app: locks per (account, address) first, growing, account-wide
only far later and never for an address the account has logged in from; unlock by the parent
or an administrator; every failure, lock and unlock audited with the address (docs/security.md).
"""
import datetime
import re

import pytest
from sqlalchemy import select

from app.accounts import passwords
from app.accounts.models import LoginThrottle
from app.audit import AuditEvent
from tests.support.accounts import KNOWN_PASSWORD as KNOWN
from tests.support.accounts import api_token, audit_count, get_user, set_known_password
from tests.support.pages import redirected

ATTACKER = "203.0.113.66"
OFFICE = "10.33.1.20"
INVALID = "无效的用户名或密码"


def client_at(app, address):
    """A test client whose requests come from ``address``."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def api_login(client, username, password):
    return client.post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db"})


def web_page(client, username, password):
    """The page the login form leads to (the flashed message is on it)."""
    return client.post("/login/", data={"username": username, "password": password},
                       follow_redirects=True).get_data(as_text=True)


def flashes(page):
    """The flashed messages on a page, as the user reads them."""
    return [re.sub(r"\s+", " ", m).strip() for m in re.findall(
        r'<div class="alert alert-\w+">\s*<button[^>]*>&times;</button>(.*?)</div>', page, re.S)]


def fail(client, username, times, password="wrong-password-9"):
    return [api_login(client, username, password).status_code for _ in range(times)]


def logged_in(client):
    return client.get("/accounts/list/").status_code == 200


def pair(session, username, address):
    session.expire_all()
    user = get_user(session, username)
    return session.execute(select(LoginThrottle).where(
        LoginThrottle.user_id == user.id, LoginThrottle.address == address)).scalar_one_or_none()


def events(session, action, username):
    return session.execute(select(AuditEvent).where(
        AuditEvent.action == action, AuditEvent.object_id == username)
        .order_by(AuditEvent.id)).scalars().all()


def test_an_outsiders_burst_does_not_lock_out_the_real_users(small_app, db_session, test_clock):
    """The attack of issue 7: 15 anonymous requests in a burst, 5 wrong passwords each for
    three accounts. It now locks those accounts for the attacker's address only."""
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    victims = ["330100", "330102", "330106"]
    for name in victims:
        set_known_password(db_session, name)
    attacker = client_at(small_app, ATTACKER)
    codes = [api_login(attacker, name, f"guess-{i}-x1").status_code
             for i in range(threshold) for name in victims]
    assert codes == [401] * 3 * (threshold - 1) + [429] * 3

    # The attacker is locked out: even the right password is refused from its address.
    refused = api_login(attacker, "330102", KNOWN)
    assert refused.status_code == 429 and refused.get_json()["code"] == "account_locked"
    # The units themselves still log in, on the web and through the API.
    for name in victims:
        office = client_at(small_app, OFFICE)
        assert INVALID not in web_page(office, name, KNOWN)
        assert logged_in(office), name
        assert api_login(client_at(small_app, OFFICE), name, KNOWN).status_code == 200
    for name in victims:
        assert get_user(db_session, name).locked_until is None  # no account-wide lock
        assert len(events(db_session, "account_locked", name)) == 1
        lock = events(db_session, "account_locked", name)[0]
        assert lock.detail["scope"] == "source" and lock.detail["ip"] == ATTACKER


def test_lock_is_per_address_and_says_so_plainly(small_app, db_session, test_clock):
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    set_known_password(db_session, "330102")
    attacker = client_at(small_app, ATTACKER)
    assert fail(attacker, "330102", threshold - 1) == [401] * (threshold - 1)
    assert pair(db_session, "330102", ATTACKER).failures == threshold - 1
    assert audit_count(db_session, "login_failed", "330102") == threshold - 1
    assert all(e.detail["ip"] == ATTACKER for e in events(db_session, "login_failed", "330102"))

    assert fail(attacker, "330102", 1) == [429]
    until = pair(db_session, "330102", ATTACKER).locked_until
    assert until == test_clock.now() + datetime.timedelta(
        minutes=small_app.config["LOCKOUT_MINUTES"])

    # The right password from the locked address: the lock, when it ends, who can unlock, and
    # not "invalid user name or password" (which would say the password was wrong).
    page = web_page(attacker, "330102", KNOWN)
    assert "该账号因多次输入错误已暂时锁定" in page and f"请于 {until:%H:%M} 后重试" in page
    assert "上级单位 / 系统管理员解锁" in page and INVALID not in page
    assert flashes(page) == [f"该账号因多次输入错误已暂时锁定，请于 {until:%H:%M} 后重试，"
                             "或请上级单位 / 系统管理员解锁"]
    # A wrong password gets exactly the same answer: a guess during a lock learns nothing.
    assert flashes(web_page(attacker, "330102", "wrong-again-2")) == flashes(page)
    assert not logged_in(attacker)
    api = api_login(attacker, "330102", KNOWN)
    assert api.status_code == 429
    body = api.get_json()
    assert body["code"] == "account_locked" and "已暂时锁定" in body["message"]
    assert body["locked_until"] == until.isoformat(timespec="minutes")
    assert int(api.headers["Retry-After"]) == body["retry_after"] == 15 * 60
    assert api_login(attacker, "330102", "wrong-again-3").get_json() == body
    refusals = events(db_session, "login_refused_locked", "330102")
    assert len(refusals) == 4 and all(e.detail["ip"] == ATTACKER for e in refusals)
    # Refused attempts are not counted as failures: the lock does not grow by itself.
    assert pair(db_session, "330102", ATTACKER).failures == 0

    # Another address with the right password logs in.
    office = client_at(small_app, OFFICE)
    web_page(office, "330102", KNOWN)
    assert logged_in(office)
    assert get_user(db_session, "330102").is_locked  # the list still shows the attacker's lock


def test_locks_grow_and_expire_on_the_clock(small_app, db_session, test_clock):
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    first = small_app.config["LOCKOUT_MINUTES"]
    set_known_password(db_session, "330106")
    attacker = client_at(small_app, ATTACKER)
    for minutes in (first, 2 * first, 4 * first):
        # A fresh series after each expiry; each lock in a row twice as long as the last.
        assert fail(attacker, "330106", threshold) == [401] * (threshold - 1) + [429]
        assert pair(db_session, "330106", ATTACKER).locked_until == \
            test_clock.now() + datetime.timedelta(minutes=minutes)
        test_clock.advance(minutes=minutes, seconds=-1)
        assert api_login(attacker, "330106", KNOWN).status_code == 429
        test_clock.advance(seconds=1)
    locks = [e.detail["minutes"] for e in events(db_session, "account_locked", "330106")]
    assert locks == [first, 2 * first, 4 * first]

    # Never longer than LOCKOUT_MAX_MINUTES.
    small_app.config["LOCKOUT_MAX_MINUTES"] = 5 * first
    assert fail(attacker, "330106", threshold)[-1] == 429
    assert pair(db_session, "330106", ATTACKER).locked_until == \
        test_clock.now() + datetime.timedelta(minutes=5 * first)

    # A success from the address ends its series: the next lock is the short one again.
    test_clock.advance(minutes=5 * first)
    assert api_login(attacker, "330106", KNOWN).status_code == 200
    assert fail(attacker, "330106", threshold)[-1] == 429
    assert pair(db_session, "330106", ATTACKER).locked_until == \
        test_clock.now() + datetime.timedelta(minutes=first)


def test_account_wide_lock_spares_addresses_the_unit_logged_in_from(small_app, db_session,
                                                                    test_clock):
    small_app.config.update(LOCKOUT_THRESHOLD=3, LOCKOUT_ACCOUNT_THRESHOLD=7,
                            LOCKOUT_ACCOUNT_MINUTES=60)
    set_known_password(db_session, "330102")
    assert api_login(client_at(small_app, OFFICE), "330102", KNOWN).status_code == 200

    # A guesser spread over three addresses: 3 + 3 + 1 failures reach the account threshold.
    codes = []
    for address, times in (("198.51.100.1", 3), ("198.51.100.2", 3), ("198.51.100.3", 1)):
        codes += fail(client_at(small_app, address), "330102", times)
    assert codes == [401, 401, 429, 401, 401, 429, 429]
    user = get_user(db_session, "330102")
    assert user.locked_until == test_clock.now() + datetime.timedelta(minutes=60)
    lock = events(db_session, "account_locked", "330102")[-1]
    assert lock.detail["scope"] == "account" and lock.detail["ip"] == "198.51.100.3"

    # A new address is refused even with the right password; the unit's office is not.
    stranger = api_login(client_at(small_app, "198.51.100.9"), "330102", KNOWN)
    assert stranger.status_code == 429 and stranger.get_json()["code"] == "account_locked"
    assert api_login(client_at(small_app, OFFICE), "330102", KNOWN).status_code == 200
    test_clock.advance(minutes=60)
    assert api_login(client_at(small_app, "198.51.100.9"), "330102", KNOWN).status_code == 200


def test_unlock_by_the_parent_on_the_web(small_app, db_session, test_clock):
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    set_known_password(db_session, "330102")
    attacker = client_at(small_app, ATTACKER)
    fail(attacker, "330102", threshold)
    assert get_user(db_session, "330102").is_locked

    set_known_password(db_session, "330100")
    parent = client_at(small_app, OFFICE)
    web_page(parent, "330100", KNOWN)
    page = parent.get("/accounts/list/").get_data(as_text=True)
    assert "解锁" in page and "已锁定" in page
    target = get_user(db_session, "330102")
    page = parent.post("/accounts/action_post", data={"action": "unlock", "rowid": [target.id]},
                       follow_redirects=True).get_data(as_text=True)
    assert "已解锁：330102" in page
    assert not get_user(db_session, "330102").is_locked
    assert pair(db_session, "330102", ATTACKER).failures == 0
    unlocked = events(db_session, "account_unlocked", "330102")
    assert len(unlocked) == 1
    assert unlocked[0].actor_name == "330100" and unlocked[0].detail["ip"] == OFFICE
    assert unlocked[0].detail["addresses"] == [ATTACKER]
    # The password is unchanged and the address may log in again.
    assert api_login(attacker, "330102", KNOWN).status_code == 200


def test_unlock_through_the_api_by_parent_and_admin_not_by_a_sibling(small_app, db_session,
                                                                     test_clock):
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    set_known_password(db_session, "330102")
    set_known_password(db_session, "330106")
    set_known_password(db_session, "330100")
    attacker = client_at(small_app, ATTACKER)
    fail(attacker, "330102", threshold)

    sibling = client_at(small_app, OFFICE)
    refused = sibling.post("/api/v1/account/330102/unlock",
                           headers=api_token(sibling, "330106", KNOWN))
    assert refused.status_code == 403 and "无权管理该账号" in refused.get_json()["message"]
    assert get_user(db_session, "330102").is_locked
    assert audit_count(db_session, "account_unlocked", "330102") == 0
    # The sibling's web action is refused as well (its list does not even show the row).
    web_page(sibling, "330106", KNOWN)
    target = get_user(db_session, "330102")
    page = sibling.post("/accounts/action_post", data={"action": "unlock", "rowid": [target.id]},
                        follow_redirects=True).get_data(as_text=True)
    assert "无权管理该账号" in page and get_user(db_session, "330102").is_locked

    parent = client_at(small_app, OFFICE)
    done = parent.post("/api/v1/account/330102/unlock",
                       headers=api_token(parent, "330100", KNOWN))
    assert done.status_code == 200
    assert done.get_json()["lifted"] == {"account": None, "addresses": [ATTACKER]}
    assert not get_user(db_session, "330102").is_locked

    fail(attacker, "330102", threshold)
    set_known_password(db_session, "admin")
    admin = client_at(small_app, OFFICE)
    assert admin.post("/api/v1/account/330102/unlock",
                      headers=api_token(admin, "admin", KNOWN)).status_code == 200
    assert not get_user(db_session, "330102").is_locked
    assert [e.actor_name for e in events(db_session, "account_unlocked", "330102")] == \
        ["330100", "admin"]
    assert parent.post("/api/v1/account/nobody-here/unlock",
                       headers=api_token(parent, "330100", KNOWN)).status_code == 404


def test_unlock_from_the_cli(small_app, db_session, test_clock):
    set_known_password(db_session, "330102")
    fail(client_at(small_app, ATTACKER), "330102", small_app.config["LOCKOUT_THRESHOLD"])
    result = small_app.test_cli_runner().invoke(
        args=["pucha", "unlock", "330102", "--reason", "电话核实"])
    assert result.exit_code == 0, result.output
    assert "已解锁" in result.output and ATTACKER in result.output
    assert not get_user(db_session, "330102").is_locked
    event = events(db_session, "account_unlocked", "330102")[0]
    assert event.reason == "电话核实" and event.detail["by"] == "cli"
    missing = small_app.test_cli_runner().invoke(args=["pucha", "unlock", "999999"])
    assert missing.exit_code != 0 and "不存在" in missing.output


def test_a_reset_lifts_every_lock(small_app, db_session, test_clock):
    """The initial-password account is locked like any other; the parent's reset lifts it."""
    threshold = small_app.config["LOCKOUT_THRESHOLD"]
    initial = get_user(db_session, "330200").initial_password
    attacker = client_at(small_app, ATTACKER)
    assert fail(attacker, "330200", threshold)[-1] == 429
    assert api_login(attacker, "330200", initial).status_code == 429
    set_known_password(db_session, "330000")
    parent = client_at(small_app, OFFICE)
    reset = parent.post("/api/v1/account/330200/reset",
                        headers=api_token(parent, "330000", KNOWN))
    assert api_login(attacker, "330200", reset.get_json()["initial_password"]).status_code == 200


def test_lock_holds_across_processes(small_app, db_session, test_clock):
    """The lock is in the database: a second app (another process) on it sees the lock."""
    from app.factory import create_app
    from tests.conftest import base_overrides

    set_known_password(db_session, "330100")
    fail(client_at(small_app, ATTACKER), "330100", small_app.config["LOCKOUT_THRESHOLD"])
    other = create_app(base_overrides(small_app.config["SQLALCHEMY_DATABASE_URI"],
                                      small_app.config["FILE_STORAGE_DIR"].parent))
    with other.app_context():
        assert api_login(client_at(other, ATTACKER), "330100", KNOWN).status_code == 429
        assert api_login(client_at(other, OFFICE), "330100", KNOWN).status_code == 200
        from app.extensions import db
        db.session.remove()


def test_unknown_user_failures_are_audited(small_app, db_session):
    web_page(client_at(small_app, ATTACKER), "no-such-user", "whatever-1")
    event = events(db_session, "login_failed", "no-such-user")[0]
    assert event.detail["ip"] == ATTACKER


# --- equal cost ----------------------------------------------------------------------------
@pytest.fixture
def hash_checks(monkeypatch):
    """Counts the scrypt verifications the login does (the real function still runs)."""
    calls = []
    real = passwords.check_password_hash

    def counted(pwhash, password):
        calls.append(pwhash.split("$", 1)[0])
        return real(pwhash, password)

    monkeypatch.setattr(passwords, "check_password_hash", counted)
    return calls


def test_every_login_attempt_does_the_same_hash_work(small_app, db_session, hash_checks,
                                                     test_clock):
    """One scrypt verification of the same parameters whatever the account: timing does not
    tell an untaken account (initial password) from a taken one or an unknown name."""
    set_known_password(db_session, "330102")
    set_known_password(db_session, "330106")
    fail(client_at(small_app, ATTACKER), "330106", small_app.config["LOCKOUT_THRESHOLD"])
    initial = get_user(db_session, "330200").initial_password
    client = client_at(small_app, ATTACKER)
    attempts = {
        "unknown user": ("no-such-unit", "wrong-pass-1"),
        "initial password, wrong": ("330200", "wrong-pass-1"),
        "hashed, wrong": ("330102", "wrong-pass-1"),
        "locked": ("330106", KNOWN),
        "hashed, too long": ("330102", "x1" * 5000),
        "initial password, right": ("330200", initial),
        "hashed, right": ("330102", KNOWN),
    }
    method = small_app.config["FAB_PASSWORD_HASH_METHOD"]
    stored = get_user(db_session, "330102").password.split("$", 1)[0]
    for label, (username, password) in attempts.items():
        hash_checks.clear()
        api_login(client, username, password)
        assert hash_checks == [stored], label
    assert stored.startswith(method)


# --- crafted input ---------------------------------------------------------------------------
# Each crafted body, the status it gets and what the answer names: a malformed body is refused by
# the login schema (400, naming the field), a well-formed wrong one like any wrong password (401).
CRAFTED_LOGINS = [
    ({"username": ["330102"], "password": "x", "provider": "db"}, 400, "username"),
    ({"username": 330102, "password": "x", "provider": "db"}, 400, "username"),
    ({"username": None, "password": None, "provider": "db"}, 400, "password"),
    ({"username": "330102", "password": {"$ne": ""}, "provider": "db"}, 400, "password"),
    ({"username": "330102", "provider": "db"}, 400, "password"),
    ({"username": "", "password": "", "provider": "db"}, 400, "username"),
    ({"username": "330102", "password": "\x00", "provider": "db"}, 400, "password"),
    ({"username": "330102\x00", "password": "x1", "provider": "db"}, 401, "Not authorized"),
    ({"username": "3" * 100_000, "password": "x1", "provider": "db"}, 401, "Not authorized"),
    ({"username": "330102", "password": "p" * 1_000_000, "provider": "db"}, 401, "Not authorized"),
    ({"username": "' OR 1=1 --", "password": "x1", "provider": "db"}, 401, "Not authorized"),
    ({"username": "330102", "password": "x1", "provider": "ldap"}, 400, "provider"),
    ({"username": "330102", "password": "x1", "provider": "db", "refresh": "maybe"}, 400, "refresh"),
    (["330102", "x1"], 400, "请求体应为 JSON 对象"),
    ("330102", 400, "请求体应为 JSON 对象"),
]


@pytest.mark.parametrize("payload, status, named", CRAFTED_LOGINS, ids=range(len(CRAFTED_LOGINS)))
def test_crafted_logins_get_4xx_and_bounded_work(small_app, db_session, hash_checks, payload, status,
                                                 named):
    set_known_password(db_session, "330102")
    hash_checks.clear()
    response = client_at(small_app, ATTACKER).post("/api/v1/security/login", json=payload)
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert named in response.get_json()["message"]
    assert len(hash_checks) <= 1
    browser = client_at(small_app, ATTACKER)
    page = browser.post("/login/", data={
        "username": str(payload)[:200_000], "password": str(payload)[-300_000:]})
    # A failed login like any other: back to the form, told so, the attempt counted.
    assert redirected(browser, page, "/login/?next=/") == [
        "无效的用户名或密码，请重试！",
        "已连续输错 1 次，最多还可尝试 4 次，之后该账号在本地址暂时锁定。忘记密码请联系上级单位重置。"]
    assert len(hash_checks) <= 2


def test_a_login_that_is_not_json_gets_400(small_app):
    response = client_at(small_app, ATTACKER).post("/api/v1/security/login", data="username=a",
                                                   content_type="text/plain")
    assert response.status_code == 400


# --- PostgreSQL, concurrent -----------------------------------------------------------------
@pytest.mark.postgres
def test_concurrent_failures_on_postgres_count_once_each_and_lock_once(pg_app):
    """A burst of simultaneous wrong passwords from one address, each its own request and
    transaction on the real server: every one counted, the row created once, one lock."""
    import threading

    from app.extensions import db

    set_known_password(db.session, "330102")
    threshold = pg_app.config["LOCKOUT_THRESHOLD"]
    workers = threshold + 3
    barrier = threading.Barrier(workers)
    codes, errors = [], []

    def attempt(i):
        try:
            client = client_at(pg_app, ATTACKER)
            barrier.wait()
            codes.append(api_login(client, "330102", f"wrong-{i}-Pw").status_code)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == [] and len(codes) == workers and 500 not in codes

    assert audit_count(db.session, "login_failed", "330102") == workers
    assert audit_count(db.session, "account_locked", "330102") == 1
    row = pair(db.session, "330102", ATTACKER)
    assert row.locks == 1 and row.locked_until is not None
    assert row.failures == workers - threshold
    assert get_user(db.session, "330102").fail_login_count == workers
    assert api_login(client_at(pg_app, ATTACKER), "330102", KNOWN).status_code == 429
    assert api_login(client_at(pg_app, OFFICE), "330102", KNOWN).status_code == 200
