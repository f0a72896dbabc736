"""技术支持中心 in a real Chromium: the administrator publishes the filler installer through the
upload form; a visitor without an account opens the page from the home page, downloads the
installer, and the SHA-256 of the saved file matches the one the page shows."""
import hashlib
import os

import pytest

from tests.support import browser

pytestmark = [pytest.mark.browser]

PASSWORD = "Admin#2468Support"
INSTALLER_NAME = "报送系统客户端.exe"


def _known_password(app):
    from app.extensions import db
    from tests.support.accounts import set_known_password

    set_known_password(db.session, "admin", PASSWORD)


def test_a_visitor_downloads_the_filler_and_the_sha256_matches(national_db_file, tmp_path,
                                                               browser_page):
    installer = tmp_path / INSTALLER_NAME
    # A Windows program's header and 3 MB of varied bytes (a real PyInstaller build is ~30 MB).
    installer.write_bytes(b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + os.urandom(3 * 1024 * 1024))
    with browser.serve_national_copy(national_db_file, tmp_path, prepare=_known_password) as live:
        page = browser_page
        browser.log_in(page, live.url, "admin", PASSWORD)
        page.goto(f"{live.url}/admin/support/")
        page.select_option("#kind", "installer")
        page.fill("#title", "填报客户端")
        page.fill("#version", "1.4.0")
        page.set_input_files("#file", str(installer))
        with page.expect_navigation():
            page.click("#support-publish-form [type=submit]")
        assert "已发布：填报客户端" in page.inner_text("body")
        page.context.clear_cookies()  # from here on a visitor without an account

        page.goto(f"{live.url}/")
        with page.expect_navigation():
            page.click('a[href="/support/"]')
        shown = page.inner_text("#installer-sha256").strip()
        assert page.inner_text("#installer-version").strip() == "1.4.0"
        with page.expect_download() as caught:
            page.click("#installer-download")
        download = caught.value
        assert download.suggested_filename == INSTALLER_NAME
        saved = tmp_path / "saved.exe"
        download.save_as(saved)
        digest = hashlib.sha256(saved.read_bytes()).hexdigest()
        assert digest == shown == hashlib.sha256(installer.read_bytes()).hexdigest()
