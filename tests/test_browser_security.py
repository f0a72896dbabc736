"""In a real Chromium: FAB's pages and ours run under the Content-Security-Policy without a single
violation, another site cannot frame them, and logout (a POST with the token) ends the session.
"""
import pytest

from tests.support.accounts import KNOWN_PASSWORD
from tests.support.browser import log_in, serve_national_copy

pytestmark = pytest.mark.browser

WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
    e => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
"""
PAGES = ["/", "/basic_info/list/", "/accounts/list/", "/orgs/list/", "/account/password/",
         "/users/list/", "/outbox/list/"]


def _prepare(app):
    from app.extensions import db
    from plugins.basic_info import demo
    from tests.support.accounts import set_known_password

    demo.load(db.session, lambda *_: None)
    set_known_password(db.session, "330100")
    set_known_password(db.session, "admin")


@pytest.fixture
def server(national_db_file, tmp_path):
    with serve_national_copy(national_db_file, tmp_path, prepare=_prepare) as live:
        yield live


def _violations(page):
    return page.evaluate("window.__csp || []")


@pytest.mark.parametrize("username", ["330100", "admin"])
def test_pages_run_under_the_csp(server, browser_page, username):
    page = browser_page
    page.add_init_script(WATCH_CSP)
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    log_in(page, server.url, username, KNOWN_PASSWORD)
    seen = {}
    for path in PAGES + ["/basic_info/list/?_flt_0_site_name=%E4%B8%8A%E5%9F%8E"]:
        page.goto(f"{server.url}{path}")
        page.wait_for_load_state("load")
        seen[path] = _violations(page)
    # A detail page with its buttons and dialogs.
    page.goto(f"{server.url}/basic_info/list/")
    first = page.locator("table a[href*='/basic_info/form/']").first
    if first.count():
        with page.expect_navigation():
            first.click()
        seen["detail"] = _violations(page)
    assert {path: v for path, v in seen.items() if v} == {}
    assert not [line for line in console if "Content Security Policy" in line], console


def test_another_site_cannot_frame_the_app(server, browser_page):
    page = browser_page
    console = []
    page.on("console", lambda msg: console.append(msg.text))
    page.set_content(f'<iframe id="f" src="{server.url}/login/"></iframe>')
    page.wait_for_timeout(1500)
    frame = page.frame_locator("#f")
    assert frame.locator("input[name=password]").count() == 0
    assert any("frame-ancestors" in line or "X-Frame-Options" in line for line in console), console


def test_logout_button_ends_the_session(server, browser_page):
    page = browser_page
    log_in(page, server.url, "330100", KNOWN_PASSWORD)
    page.goto(f"{server.url}/basic_info/list/")
    cookies = page.context.cookies()
    page.locator(".navbar .dropdown-toggle", has=page.locator(".fa-user")).first.click()
    with page.expect_navigation():
        page.locator("form.pucha-logout button").first.click()
    page.goto(f"{server.url}/basic_info/list/")
    assert "/login/" in page.url
    # The cookie from before the logout opens nothing either.
    page.context.add_cookies(cookies)
    page.goto(f"{server.url}/basic_info/list/")
    assert "/login/" in page.url
