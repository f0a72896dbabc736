"""What administrators and units read on the pages they use every day, in a real Chromium.

FAB's dialogs say 取消 / 确定, an empty return reason is refused with the project's Chinese words
(not the browser's "Please fill out this field"), and the login page helps as seed 004 §4 asks:
which characters an initial password never has, the username kept after a failed attempt, and
the attempts left — the same for a name that exists and one that does not.
"""
import pytest

from tests.support import browser
from tests.support.accounts import KNOWN_PASSWORD

pytestmark = pytest.mark.browser

COUNTY, SIBLING, CITY = "330102", "330106", "330100"
UNKNOWN = "339999"


def _prepare(app):
    """The city's and the administrator's passwords known; a county form waiting at the city."""
    from app.extensions import db
    from plugins.basic_info import commands
    from plugins.basic_info.demo import package_bytes, site_form
    from tests.support.accounts import get_user, set_known_password

    session = db.session
    for username in (COUNTY, CITY, "admin"):
        set_known_password(session, username)
    report = commands.import_packages(session, get_user(session, COUNTY), [(
        "p.zip", package_bytes([site_form("杭州市上城区测试网站", "t.hzsc.gov.cn", "否")]))])
    form_id = report.forms[0].form_id
    commands.transition(session, get_user(session, COUNTY), "submit", [form_id])
    session.commit()
    app.config["TEST_FORM_ID"] = form_id


@pytest.fixture
def server(national_db_file, tmp_path):
    with browser.serve_national_copy(national_db_file, tmp_path, prepare=_prepare) as live:
        yield live


def _visible_text(page, selector):
    page.wait_for_selector(f"{selector}", state="visible")
    return page.inner_text(selector)


def test_fab_dialogs_are_in_chinese(server, browser_page):
    page = browser_page
    browser.log_in(page, server.url, "admin", KNOWN_PASSWORD)
    page.goto(f"{server.url}/accounts/list/")

    # An action with no row ticked: FAB's alert, in the page's words.
    page.click("button.dropdown-toggle:has-text(\"操作\")")
    page.click("a.resetpassword_menu_item")
    alert = _visible_text(page, "#modal-alert")
    assert "请先勾选要操作的行" in alert and "No row selected" not in alert
    assert page.inner_text("#modal-alert .modal-footer").strip() == "确定"
    page.click("#modal-alert .modal-footer button")
    page.wait_for_selector("#modal-alert", state="hidden")

    # With a row ticked: the confirmation dialog, 取消 / 确定.
    page.locator("input.action_check").first.check()
    page.click("button.dropdown-toggle:has-text(\"操作\")")
    page.click("a.resetpassword_menu_item")
    dialog = _visible_text(page, "#modal-confirm")
    assert "确定重置所选账号的密码吗" in dialog
    footer = page.inner_text("#modal-confirm .modal-footer")
    assert "取消" in footer and "确定" in footer
    assert "Cancel" not in dialog and "OK" not in footer
    assert "请确认" in page.inner_text("#modal-confirm .modal-title")


def test_an_empty_return_reason_is_refused_in_chinese(server, browser_page):
    page = browser_page
    form_id = server.app.config["TEST_FORM_ID"]
    browser.log_in(page, server.url, CITY, KNOWN_PASSWORD)
    page.goto(f"{server.url}/basic_info/form/{form_id}")
    page.click("#btn-return")
    page.wait_for_selector("#reason-return", state="visible")
    page.click("#go-return")
    message = page.eval_on_selector("#reason-return", "el => el.validationMessage")
    # The page's own words (data-required-message), not the browser's "Please fill out this field".
    assert message == page.get_attribute("#reason-return", "data-required-message")
    assert message.startswith("请填写") and "原因" in message
    # Nothing was sent: the page is the same form, still waiting for the city.
    assert page.url.endswith(f"/basic_info/form/{form_id}")
    # Once typed, the warning goes and the return goes through.
    page.fill("#reason-return", "请补充栏目信息")
    assert page.eval_on_selector("#reason-return", "el => el.validationMessage") == ""


def _failed_login(page, base_url, username):
    browser.log_in(page, base_url, username, "Cuowu2026x")
    assert "/login/" in page.url
    return (page.input_value("input[name=username]"),
            page.inner_text(".pucha-attempts-left").strip())


def test_login_page_helps_and_tells_no_name_apart(server, browser_page):
    page = browser_page
    page.goto(f"{server.url}/login/")
    hint = page.inner_text(".pucha-confusable-hint")
    assert all(c in hint for c in "0 1 O o l I".split()) and "大小写" in hint
    assert page.locator(".pucha-attempts-left").count() == 0

    # Sent empty: the project's words, not the browser's.
    page.locator("form:not(.pucha-logout) [type=submit]").first.click()
    assert page.eval_on_selector("input[name=username]", "el => el.validationMessage") == "请输入用户名"

    kept, first = _failed_login(page, server.url, SIBLING)
    assert kept == SIBLING
    assert "最多还可尝试 4 次" in first
    kept, second = _failed_login(page, server.url, SIBLING)
    assert "最多还可尝试 3 次" in second
    # The password field has the focus, the name is still there.
    assert page.evaluate("document.activeElement.name") == "password"

    # A name without an account reads exactly like one with an account.
    page.context.clear_cookies()
    kept, unknown_first = _failed_login(page, server.url, UNKNOWN)
    assert kept == UNKNOWN and unknown_first == first
    kept, unknown_second = _failed_login(page, server.url, UNKNOWN)
    assert unknown_second == second

    # A success clears the count.
    browser.log_in(page, server.url, CITY, KNOWN_PASSWORD)
    assert "/login/" not in page.url
