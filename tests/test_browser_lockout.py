"""A person locked out after wrong passwords, in a real Chromium: the page says plainly that the
account is locked, until when and who can unlock — also when the right password is typed — and
the lock holds for that browser's address only."""
import re

import pytest

from tests.support.accounts import KNOWN_PASSWORD as KNOWN
from tests.support.browser import log_in, serve_national_copy

pytestmark = pytest.mark.browser

COUNTY = "330102"


@pytest.fixture
def lockout_server(national_db_file, tmp_path):
    from app.extensions import db
    from tests.support.accounts import set_known_password

    def prepare(app):
        set_known_password(db.session, COUNTY)

    with serve_national_copy(national_db_file, tmp_path, prepare=prepare) as live:
        yield live


def test_locked_user_typing_the_right_password_reads_the_lock(lockout_server, browser_page,
                                                              tmp_path):
    page, url = browser_page, lockout_server.url
    threshold = lockout_server.app.config["LOCKOUT_THRESHOLD"]
    for attempt in range(threshold - 1):
        log_in(page, url, COUNTY, f"wrong-{attempt}-Pw")
        assert "无效的用户名或密码" in page.inner_text("body")

    log_in(page, url, COUNTY, "wrong-last-Pw")
    body = page.inner_text("body")
    assert "该账号因多次输入错误已暂时锁定" in body

    # Now the right password: still the lock, never "invalid user name or password".
    log_in(page, url, COUNTY, KNOWN)
    assert "/login/" in page.url
    body = page.inner_text("body")
    page.screenshot(path=str(tmp_path / "locked.png"))
    assert re.search(r"该账号因多次输入错误已暂时锁定，请于 \d\d:\d\d 后重试，"
                     r"或请上级单位 / 系统管理员解锁", body), body
    assert "无效的用户名或密码" not in body

    # The lock is for this browser's address only: the unit logs in from another one.
    client = lockout_server.app.test_client()
    client.environ_base["REMOTE_ADDR"] = "10.33.1.20"
    response = client.post("/api/v1/security/login", json={
        "username": COUNTY, "password": KNOWN, "provider": "db"})
    assert response.status_code == 200
