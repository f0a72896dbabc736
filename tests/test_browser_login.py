"""A county logs in with a real Chromium, as a person would on the first day of the census.

It gets its initial password from its parent's account table (here: from the database), sees
the Chinese login page, is sent to the forced password change, sets a new password, and then
lands in the Chinese admin with its menu. CSRF protection is on: the browser posts real forms.
"""
import re

import pytest
from sqlalchemy import select

from tests.support.browser import log_in, submit_password_change

pytestmark = pytest.mark.browser

COUNTY = "330102"  # 杭州市上城区
NEW_PASSWORD = "Shangcheng2025"


def _account(live_server, username):
    from app.accounts.models import PuchaUser
    from app.extensions import db

    with live_server.app.app_context():
        user = db.session.execute(
            select(PuchaUser).where(PuchaUser.username == username)).scalar_one()
        state = {"initial_password": user.initial_password,
                 "must_change_password": user.must_change_password,
                 "org_name": user.org.name if user.org else None}
        db.session.remove()
        return state


def test_county_first_login_forces_password_change(live_server, browser_page, tmp_path):
    from app.accounts.views import CHANGE_PASSWORD_URL

    page = browser_page
    account = _account(live_server, COUNTY)
    assert account["initial_password"] and account["must_change_password"]

    # The login page is in Chinese.
    page.goto(f"{live_server.url}/login/")
    assert "登录" in page.content()

    log_in(page, live_server.url, COUNTY, account["initial_password"])
    # Wherever the login lands, the account is held on the change-password page.
    assert page.url.endswith(CHANGE_PASSWORD_URL), page.url
    body = page.inner_text("body")
    assert "修改初始密码" in body
    # Any other page sends it back there.
    page.goto(f"{live_server.url}/accounts/list/")
    assert page.url.endswith(CHANGE_PASSWORD_URL), page.url
    page.screenshot(path=str(tmp_path / "forced-change.png"))

    # A weak password is refused with a Chinese reason, and nothing changes.
    submit_password_change(page, account["initial_password"], "12345678")
    assert page.url.endswith(CHANGE_PASSWORD_URL)
    assert re.search(r"字母|数字", page.inner_text("body"))
    assert _account(live_server, COUNTY)["must_change_password"]

    submit_password_change(page, account["initial_password"], NEW_PASSWORD)
    assert not page.url.endswith(CHANGE_PASSWORD_URL), page.url
    body = page.inner_text("body")
    assert "密码已修改" in body
    # The Chinese admin menu, now open to the account.
    assert "系统管理" in body
    page.screenshot(path=str(tmp_path / "after-change.png"))

    state = _account(live_server, COUNTY)
    assert state["must_change_password"] is False
    assert state["initial_password"] is None  # no longer readable once replaced

    page.goto(f"{live_server.url}/accounts/list/")
    assert "/accounts/list/" in page.url

    # The old password no longer opens the account; the new one does, straight into the admin.
    page.context.clear_cookies()
    log_in(page, live_server.url, COUNTY, account["initial_password"])
    assert "/login/" in page.url
    log_in(page, live_server.url, COUNTY, NEW_PASSWORD)
    assert not page.url.endswith(CHANGE_PASSWORD_URL) and "/login/" not in page.url, page.url
