"""The JWT login is rate-limited per client address like the login page, in memory:// and in a
real Redis shared by two app instances (two processes in production)."""
import pytest

from tests.conftest import app_in_context, base_overrides, sqlite_copy
from tests.support.accounts import KNOWN_PASSWORD as KNOWN
from tests.support.accounts import set_known_password

LIMIT = 4


def limited_overrides(db_file, tmp_path, storage):
    overrides = base_overrides(sqlite_copy(db_file, tmp_path), tmp_path)
    overrides.update(RATELIMIT_ENABLED=True, AUTH_RATE_LIMITED=True,
                     AUTH_RATE_LIMIT=f"{LIMIT} per minute", RATELIMIT_STORAGE_URI=storage)
    return overrides


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def api_login(client, username="330102", password=KNOWN):
    return client.post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db"})


def assert_rate_limited(response):
    assert response.status_code == 429
    body = response.get_json()
    assert body["code"] == "rate_limited" and "请求过于频繁" in body["message"]
    assert 1 <= int(response.headers["Retry-After"]) <= 60 and body["retry_after"] >= 1


@pytest.fixture
def memory_app(small_db_file, tmp_path):
    with app_in_context(limited_overrides(small_db_file, tmp_path, "memory://")) as application:
        yield application


def test_jwt_login_is_rate_limited_per_address(memory_app):
    from app.extensions import db

    set_known_password(db.session, "330102")
    client = client_at(memory_app, "203.0.113.7")
    codes = [api_login(client, password="wrong-pass-1").status_code for _ in range(LIMIT)]
    assert codes == [401] * LIMIT
    # Over the limit even the right password is not looked at.
    assert_rate_limited(api_login(client))
    # Another address has its own count.
    assert api_login(client_at(memory_app, "203.0.113.8")).status_code == 200
    # The login page has the same limit, counted apart.
    pages = [client.post("/login/", data={"username": "330102", "password": "wrong-pass-1"})
             .status_code for _ in range(LIMIT + 1)]
    assert pages[:LIMIT] == [302] * LIMIT and pages[LIMIT] == 429
    assert "请求过于频繁" in client.post("/login/", data={"username": "x", "password": "y"}
                                      ).get_data(as_text=True)


@pytest.mark.redis
def test_jwt_login_limit_is_shared_through_redis(small_db_file, tmp_path, redis_url,
                                                 redis_server):
    """Two apps on one Redis count together: what one process counted, the other sees."""
    from app.extensions import db
    from app.factory import create_app

    overrides = limited_overrides(small_db_file, tmp_path, redis_url)
    with app_in_context(overrides) as first:
        set_known_password(db.session, "330102")
        second = create_app(overrides)
        address = "198.51.100.20"
        half = LIMIT // 2
        codes = [api_login(client_at(first, address)).status_code for _ in range(half)]
        with second.app_context():
            codes += [api_login(client_at(second, address)).status_code
                      for _ in range(LIMIT - half)]
            assert codes == [200] * LIMIT
            assert_rate_limited(api_login(client_at(second, address)))
            db.session.remove()
        assert_rate_limited(api_login(client_at(first, address)))
        assert api_login(client_at(first, "198.51.100.21")).status_code == 200
    # The counts are in Redis, not in either process.
    assert any(b"security" in key.lower() or b"login" in key.lower()
               for key in redis_server.client().keys("*"))
