"""The bounded import report in a real Chromium: a unit uploads, through the 导入 dialog, a
package whose every form is wrong in every field next to a zip with a lying directory; the page
lists a bounded number of errors with "另有 N 条错误未列出" and refuses the lying zip whole."""
import pytest

from plugins.basic_info.commands import REPORT_ERRORS_PER_UPLOAD
from tests.support import browser, hostile_packages

pytestmark = [pytest.mark.browser]

COUNTY = "330102"
PASSWORD = "Shangcheng2468"


def _known_password(app):
    from app.extensions import db
    from tests.support.accounts import set_known_password

    set_known_password(db.session, COUNTY, PASSWORD)


def test_the_import_page_shows_a_bounded_report(national_db_file, tmp_path, browser_page):
    invalid = tmp_path / "全部填错.zip"
    invalid.write_bytes(hostile_packages.invalid_forms(count=40))
    lying = tmp_path / "目录造假.zip"
    lying.write_bytes(hostile_packages.lying_directory(records=100_002, declared=2))
    with browser.serve_national_copy(national_db_file, tmp_path, prepare=_known_password) as live:
        page = browser_page
        browser.log_in(page, live.url, COUNTY, PASSWORD)
        page.goto(f"{live.url}/basic_info/list/")
        page.click("#btn-import")
        page.wait_for_selector("#import-modal", state="visible")
        page.set_input_files("#import-files", [str(invalid), str(lying)])
        with page.expect_navigation():
            page.click("#import-go")
        assert "导入结果" in page.inner_text("body")

        errors = page.locator("ul.form-errors li:not(.errors-omitted)")
        notes = page.locator(".errors-omitted").all_inner_texts()
        assert errors.count() == REPORT_ERRORS_PER_UPLOAD
        assert notes and all(n.startswith("另有 ") and n.endswith(" 条错误未列出") for n in notes)
        assert "新导入 0 份，更新 0 份，未导入 40 份" in page.inner_text(".import-summary")
        refused = page.inner_text(".package-error")
        assert "整个文件未导入" in refused and "zip 目录" in refused
        titles = page.locator("table.import-report tbody tr td:first-child").all_inner_texts()
        assert len(titles) == 40 and all(len(t) <= 60 for t in titles)
