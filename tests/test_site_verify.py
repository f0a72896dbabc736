"""The filler's site check, ``POST /api/v1/client/site/verify``: the website and a token on a
match, a generic refusal otherwise; failures of one code slow down, then lock it for the
guessing address, and all addresses together lock it for a fixed time that never grows and
spares addresses that verified before; rate-limited per address; every attempt audited; the
token is signed, short-lived and bound to its website, its purpose and the 校验码."""
import pytest
from sqlalchemy import select

from app import hookimpl
from app.audit import AuditEvent
from app.plugins import get_plugin_manager
from plugins.basic_info import verification
from plugins.basic_info.models import SiteVerifyThrottle
from tests.test_basic_info_recovery import app_with_limits, completed_site

URL = "/api/v1/client/site/verify"
GUESSER, OFFICE = "198.51.100.7", "198.51.100.8"


def client_at(app, address):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def verify(client, site_code, check_code):
    return client.post(URL, json={"site_code": site_code, "check_code": check_code})


def wrong(form):
    return "ZZZZZ2" if form.check_code != "ZZZZZ2" else "ZZZZZ3"


def outcomes(session):
    session.expire_all()
    return [e.detail["outcome"] for e in session.scalars(
        select(AuditEvent).where(AuditEvent.action == "site_verify").order_by(AuditEvent.id))]


@pytest.fixture
def site(app, session):
    app.config.update(SITE_VERIFY_SLOWDOWN_AFTER=3, SITE_VERIFY_SLOWDOWN_SECONDS=5,
                      SITE_VERIFY_THRESHOLD=5, SITE_VERIFY_LOCK_MINUTES=15,
                      SITE_VERIFY_MAX_MINUTES=60, SITE_VERIFY_CODE_THRESHOLD=12,
                      SITE_VERIFY_CODE_MINUTES=60)
    return completed_site(session)


def test_a_match_returns_the_website_and_a_token(app, session, site):
    response = verify(client_at(app, OFFICE), site.site_code, site.check_code.lower())
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["site_code"] == site.site_code and body["site_name"] == "杭州市上城区人民政府"
    assert body["home_url"] == site.home_url
    assert body["supervisor_unit"] and body["filing_unit"]
    assert (body["province"], body["city"], body["county"]) == ("浙江省", "杭州市", "上城区")
    assert body["self_check_exists"] is False and body["token_purpose"] == "self_check"
    assert body["token_expires_in"] == 30 * 60
    assert verification.check_site_token(session, body["token"]).id == site.id
    assert outcomes(session) == ["verified"]


def test_a_mismatch_is_a_generic_refusal_whichever_part_is_wrong(app, session, site):
    client = client_at(app, OFFICE)
    unknown = verify(client, "3301029999", site.check_code)
    mismatch = verify(client, site.site_code, wrong(site))
    assert unknown.status_code == mismatch.status_code == 403
    assert unknown.get_json() == mismatch.get_json()
    assert "网站标识码或校验码不正确" in mismatch.get_json()["message"]
    assert outcomes(session) == ["unknown_code", "mismatch"]
    # An unknown code is not counted: invented codes cannot fill the table.
    assert session.scalars(select(SiteVerifyThrottle.site_code).distinct()).all() == [site.site_code]


def test_failures_slow_down_then_lock_the_code_for_the_guessing_address(app, session, site,
                                                                        test_clock):
    guesser, office = client_at(app, GUESSER), client_at(app, OFFICE)
    codes = [verify(guesser, site.site_code, wrong(site)).status_code for _ in range(3)]
    assert codes == [403, 403, 403]
    # The third failure in a row asks for a 5 s pause: even the right 校验码 is not compared.
    slowed = verify(guesser, site.site_code, site.check_code)
    assert slowed.status_code == 429 and slowed.get_json()["code"] == "site_locked"
    assert slowed.headers["Retry-After"] == "5" and "5 秒" in slowed.get_json()["message"]
    test_clock.advance(seconds=5)
    assert verify(guesser, site.site_code, wrong(site)).status_code == 403
    assert verify(guesser, site.site_code, site.check_code).status_code == 429  # 10 s now
    test_clock.advance(seconds=10)
    # The fifth failure locks the code for this address for 15 minutes.
    assert verify(guesser, site.site_code, wrong(site)).status_code == 403
    locked = verify(guesser, site.site_code, site.check_code)
    assert locked.status_code == 429 and locked.get_json()["retry_after"] == 15 * 60
    # The unit's own office is not affected.
    assert verify(office, site.site_code, site.check_code).status_code == 200
    # The lock ends; the next lock in a row lasts twice as long, capped at the maximum.
    test_clock.advance(minutes=15)
    for _ in range(5):
        test_clock.advance(seconds=60)
        verify(guesser, site.site_code, wrong(site))
    assert verify(guesser, site.site_code, site.check_code).get_json()["retry_after"] == 30 * 60
    test_clock.advance(minutes=30)
    for _ in range(5):
        test_clock.advance(seconds=60)
        verify(guesser, site.site_code, wrong(site))
    assert verify(guesser, site.site_code, site.check_code).get_json()["retry_after"] == 60 * 60
    # After the lock, the right 校验码 works and restarts the series.
    test_clock.advance(minutes=60)
    assert verify(guesser, site.site_code, site.check_code).status_code == 200
    assert "locked" in outcomes(session) and outcomes(session)[-1] == "verified"


def test_many_addresses_lock_the_code_for_a_fixed_time_but_not_for_a_known_address(
        app, session, site, test_clock):
    office = client_at(app, OFFICE)
    assert verify(office, site.site_code, site.check_code).status_code == 200  # known address
    for n in range(12):  # one failure each from twelve addresses: none is slowed down
        assert verify(client_at(app, f"203.0.113.{n}"), site.site_code,
                      wrong(site)).status_code == 403
    newcomer = client_at(app, "192.0.2.1")
    refused = verify(newcomer, site.site_code, site.check_code)
    assert refused.status_code == 429 and refused.get_json()["retry_after"] == 60 * 60
    assert verify(office, site.site_code, site.check_code).status_code == 200
    # The code-wide lock is a fixed hour, however often it is set off: no one can keep a unit
    # out for good.
    test_clock.advance(minutes=60)
    assert verify(newcomer, site.site_code, site.check_code).status_code == 200
    for n in range(12):
        verify(client_at(app, f"203.0.114.{n}"), site.site_code, wrong(site))
    assert verify(client_at(app, "192.0.2.2"), site.site_code,
                  site.check_code).get_json()["retry_after"] == 60 * 60


def test_crafted_bodies_are_4xx(app, site):
    client = client_at(app, OFFICE)
    for body in ([1, 2], "text", {"site_code": 1, "check_code": None}, {"site_code": "x" * 100,
                 "check_code": "y"}, {}):
        response = client.post(URL, json=body)
        assert 400 <= response.status_code < 500, (body, response.status_code)
    response = client.post(URL, data=b"\xff\xfe", content_type="application/json")
    assert response.status_code == 400


def test_the_token_is_bound_to_purpose_website_and_check_code(app, session, site, monkeypatch):
    token = verification.issue_site_token(site)
    assert verification.check_site_token(session, token).id == site.id
    with pytest.raises(verification.SiteTokenInvalid):
        verification.check_site_token(session, token, purpose="inspection")
    with pytest.raises(verification.SiteTokenInvalid):
        verification.check_site_token(session, token[:-2] + "xx")
    with pytest.raises(verification.SiteTokenInvalid):
        verification.check_site_token(session, None)
    # A re-issued 校验码 ends the token early.
    site.check_code = "QQQQQ2"
    session.commit()
    with pytest.raises(verification.SiteTokenInvalid):
        verification.check_site_token(session, token)
    # Expired after SITE_TOKEN_MINUTES.
    fresh = verification.issue_site_token(site)
    app.config["SITE_TOKEN_MINUTES"] = 0
    import itsdangerous.timed

    real = itsdangerous.timed.TimestampSigner.get_timestamp
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp",
                        lambda self: real(self) + 5)
    with pytest.raises(verification.SiteTokenInvalid, match="过期"):
        verification.check_site_token(session, fresh)


class SelfCheckFacts:
    @hookimpl
    def site_facts(self, session, site_code):
        return {"self_check_exists": True, "self_check_score": 92}


def test_plugins_add_facts_such_as_an_existing_self_check(app, session, site):
    plugin = SelfCheckFacts()
    get_plugin_manager().register(plugin)
    try:
        body = verify(client_at(app, OFFICE), site.site_code, site.check_code).get_json()
    finally:
        get_plugin_manager().unregister(plugin)
    assert body["self_check_exists"] is True and body["facts"]["self_check_score"] == 92


@pytest.fixture
def limited_app(national_db_file, tmp_path):
    with app_with_limits(national_db_file, tmp_path,
                         CLIENT_API_RATE_LIMIT="4 per minute") as application:
        yield application


def test_the_api_is_rate_limited_per_address(limited_app):
    client = client_at(limited_app, GUESSER)
    codes = [verify(client, "3301020001", "AAAAAA").status_code for _ in range(5)]
    assert codes == [403] * 4 + [429]
    assert verify(client, "3301020001", "AAAAAA").get_json()["code"] == "rate_limited"
    assert verify(client_at(limited_app, OFFICE), "3301020001", "AAAAAA").status_code == 403


def test_the_route_is_in_the_openapi_document(app, session, client):
    from tests.support.accounts import KNOWN_PASSWORD, api_token, set_known_password

    set_known_password(session, "330100")
    spec = client.get("/api/v1/_openapi", headers=api_token(client, "330100", KNOWN_PASSWORD))
    operation = spec.get_json()["paths"]["/api/v1/client/site/verify"]["post"]
    assert "429" in operation["responses"] and "Client" in operation["tags"]


def test_failures_count_across_processes(app, session, site, test_clock):
    """Two app processes on one database add to the same counts: the lock comes at the same
    failure however the guesses are spread over them."""
    from app.extensions import db
    from app.factory import create_app

    other = create_app(dict(app.config))
    for n in range(5):
        test_clock.advance(minutes=1)  # past each slow-down
        target = app if n % 2 == 0 else other
        with target.app_context():
            verify(client_at(target, GUESSER), site.site_code, wrong(site))
            db.session.remove()
    with other.app_context():
        locked = verify(client_at(other, GUESSER), site.site_code, site.check_code)
        db.session.remove()
    assert locked.status_code == 429 and locked.get_json()["retry_after"] == 15 * 60
