"""One 政府网站基本信息表 from upload to 已办结, in a real Chromium, through three units' logins.

As a census office works: 杭州市上城区 (county) logs in for the first time, changes its initial
password, uploads a package through the 导入 dialog and submits the form; 杭州市 (city) returns
it with a reason (none first: refused), the county sees why and submits again, the city
approves; 浙江省 (province) approves and the form is 已办结 with its 网站标识码. The two completion
mails wait in the outbox and the mail worker delivers them to a real SMTP server.

The server is the live app on a copy of the national database with the demo data loaded (so the
lists look like a real day's work), CSRF on, Flask-Mail pointed at the test SMTP server. The
assertions are what a person would notice: Chinese texts, statuses, buttons there or not there.
Screenshots: PUCHA_UPDATE_SCREENSHOTS=1 copies the list and the detail page to docs/images/
(shown in docs/user-guide.md).
"""
import os
import re
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.support import browser
from tests.support.demo import load_demo

pytestmark = [pytest.mark.browser, pytest.mark.smtp]

COUNTY, CITY, PROVINCE = "330102", "330100", "330000"
NEW_PASSWORDS = {COUNTY: "Shangcheng2025", CITY: "Hangzhou2025x", PROVINCE: "Zhejiang2025x"}

SITE = "杭州市上城区数据资源管理局"
PRINCIPAL_EMAIL = "fuzeren.sjj@hzsc.gov.cn"
CONTACT_EMAIL = "lianxiren.sjj@hzsc.gov.cn"
REASON = "“通知公告”栏目地址打不开，请核实后重新提交"

DOCS_IMAGES = Path(__file__).resolve().parent.parent / "docs" / "images"


# --- the server ----------------------------------------------------------------------------------
@pytest.fixture
def census_server(national_db_file, tmp_path, smtp_server):
    """The live app (as tests/support/browser.py's ``live_server``) with the demo data and mail
    going to ``smtp_server``."""
    with browser.serve_national_copy(national_db_file, tmp_path, config=smtp_server.app_config(),
                                     prepare=load_demo) as live:
        yield live


def _initial_password(live, username):
    from app.accounts.models import PuchaUser
    from app.extensions import db

    with live.app.app_context():
        user = db.session.execute(
            select(PuchaUser).where(PuchaUser.username == username)).scalar_one()
        assert user.must_change_password
        password = user.initial_password
        db.session.remove()
    return password


def _package(tmp_path):
    """The zip a filing unit hands over: one form whose mail addresses are ours."""
    from app.forms.package import pack
    from plugins.basic_info.schema import SCHEMA, example_form

    doc = example_form(variant=0)
    doc["fields"].update({
        "site_name": SITE, "home_url": "http://sjj.hzsc.gov.cn/", "is_portal": "否",
        "supervisor_unit": SITE, "filing_unit": SITE, "icp_number": "无",
        "principal_email": PRINCIPAL_EMAIL, "contact_email": CONTACT_EMAIL,
    })
    path = tmp_path / "上城区数据资源管理局上报文件.zip"
    pack(SCHEMA, [doc], "pucha-filler", "1.0.0", path=path)
    return path


# --- what a person does ------------------------------------------------------------------------
class Office:
    """One browser, used by the three units in turn (log in, work, log out)."""

    def __init__(self, page, live):
        self.page, self.url, self.live = page, live.url, live
        self.dialogs = []
        page.on("dialog", self._accept)

    def _accept(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.accept()

    def body(self):
        return self.page.inner_text("body")

    def submit_and_wait(self, selector):
        with self.page.expect_navigation():
            self.page.click(selector)

    def log_in(self, username, first_time=False):
        from app.accounts.views import CHANGE_PASSWORD_URL

        page = self.page
        password = _initial_password(self.live, username) if first_time else NEW_PASSWORDS[username]
        browser.log_in(page, self.url, username, password)
        if first_time:
            # Held on the forced change until the initial password is replaced.
            assert page.url.endswith(CHANGE_PASSWORD_URL), page.url
            assert "修改初始密码" in self.body()
            browser.submit_password_change(page, password, NEW_PASSWORDS[username])
            assert "密码已修改" in self.body()
        assert "/login/" not in page.url and not page.url.endswith(CHANGE_PASSWORD_URL), page.url

    def log_out(self):
        page = self.page
        # The user menu in the navbar holds the logout button (a POST with the CSRF token).
        logout = page.locator("form.pucha-logout button").first
        if not logout.is_visible():
            page.locator(".navbar .dropdown-toggle", has=page.locator(".fa-user")).first.click()
        with page.expect_navigation():
            logout.click()
        page.goto(f"{self.url}/basic_info/list/")
        assert "/login/" in page.url  # the list is closed again

    def open_list(self):
        """普查表 → 政府网站基本信息表, through the menu."""
        page = self.page
        page.goto(f"{self.url}/")
        page.locator(".navbar a.dropdown-toggle", has_text="普查表").click()
        with page.expect_navigation():
            page.locator(".navbar .dropdown-menu a", has_text="政府网站基本信息表").click()
        assert "/basic_info/list/" in page.url
        assert "政府网站基本信息表" in self.body()

    def row(self):
        rows = self.page.locator("table.form-list tbody tr", has_text=SITE)
        assert rows.count() == 1, self.body()
        return rows.first

    def status_in_list(self):
        return self.row().locator(".label").inner_text().strip()

    def open_form(self):
        with self.page.expect_navigation():
            self.row().locator("a", has_text=SITE).click()
        assert "/basic_info/form/" in self.page.url
        assert SITE in self.page.inner_text("h3")

    def status(self):
        return self.page.inner_text(".form-status").strip()

    def flash(self):
        return " ".join(self.page.locator(".alert").all_inner_texts())

    def buttons(self):
        """The action buttons on the detail page, by their Chinese labels."""
        texts = self.page.locator(".form-actions .btn").all_inner_texts()
        return {t.strip() for t in texts if t.strip()}

    def act(self, button_id):
        self.submit_and_wait(f"#btn-{button_id}")

    def timeline(self):
        return self.page.inner_text("table.audit-timeline")


def test_one_form_from_upload_to_completion(census_server, browser_page, smtp_server, tmp_path):
    from app.extensions import db
    from app.mail.models import OutboxMail
    from app.mail.worker import send_due

    package = _package(tmp_path)
    office = Office(browser_page, census_server)
    page = browser_page

    # --- 1. 上城区: first login, import, submit -------------------------------------------------
    office.log_in(COUNTY, first_time=True)
    office.open_list()
    page.click("#btn-import")
    page.wait_for_selector("#import-modal", state="visible")
    assert "导入上报文件" in page.inner_text("#import-modal")
    page.set_input_files("#import-files", str(package))
    office.submit_and_wait("#import-go")
    report = office.body()
    assert "导入结果" in report
    assert package.name in report
    assert "新导入 1 份，更新 0 份，未导入 0 份" in page.inner_text(".import-summary")
    result_row = page.locator("table.import-report tbody tr", has_text=SITE)
    assert "已导入" in result_row.inner_text()
    with page.expect_navigation():
        page.click("text=返回列表")

    assert office.status_in_list() == "未提交"
    # 填报人, then 省/部, 市, 县: set from the importing unit.
    cells = office.row().locator("td").all_inner_texts()
    assert cells[1] == "上城区" and cells[6:9] == ["浙江省", "杭州市", "上城区"], cells
    office.open_form()
    assert office.status() == "未提交"
    assert {"提交", "编辑", "删除"} <= office.buttons()
    assert "审核通过" not in office.buttons() and "退回" not in office.buttons()
    office.act("submit")
    assert f"已提交：{SITE}" in office.flash()
    assert office.status() == "已审核"  # it sits with the city now
    assert not {"提交", "编辑", "删除"} & office.buttons()
    office.log_out()

    # --- 2. 杭州市: first login, return (a reason is required), then approve ----------------------
    office.log_in(CITY, first_time=True)
    office.open_list()
    assert office.status_in_list() == "未审核"
    office.open_form()
    assert office.status() == "未审核"
    assert {"审核通过", "退回"} <= office.buttons()
    assert not {"提交", "编辑", "删除"} & office.buttons()

    page.click("#btn-return")
    page.wait_for_selector("#modal-return", state="visible")
    assert "原因（必填，下级单位可见）" in page.inner_text("#modal-return")
    # Empty: the browser itself will not send the form (the field is required) …
    page.click("#go-return")
    assert page.eval_on_selector("#reason-return", "e => e.validity.valueMissing")
    assert page.eval_on_selector("#reason-return", "e => e.validationMessage")
    assert office.status() == "未审核"
    # … and blanks get past the browser but not the server, which answers in Chinese.
    page.fill("#reason-return", "   ")
    office.submit_and_wait("#go-return")
    assert "退回必须填写原因" in office.flash()
    assert office.status() == "未审核"

    page.click("#btn-return")
    page.wait_for_selector("#modal-return", state="visible")
    page.fill("#reason-return", REASON)
    office.submit_and_wait("#go-return")
    assert f"已退回：{SITE}" in office.flash()
    assert office.status() == "待下级审核"  # back with the county; the city watches
    assert not {"审核通过", "退回"} & office.buttons()
    office.log_out()

    office.log_in(COUNTY)
    office.open_list()
    assert office.status_in_list() == "已退回"
    office.open_form()
    assert office.status() == "已退回"
    assert f"退回原因：{REASON}" in page.inner_text(".return-reason")
    assert {"提交", "编辑", "删除"} <= office.buttons()
    assert "杭州市" in office.timeline() and REASON in office.timeline()
    office.act("submit")
    assert f"已提交：{SITE}" in office.flash()
    assert office.status() == "已审核"
    assert not page.locator(".return-reason").count()
    office.log_out()

    office.log_in(CITY)
    office.open_list()
    assert office.status_in_list() == "未审核"
    office.open_form()
    office.act("approve")
    assert f"已审核通过：{SITE}" in office.flash()
    assert office.status() == "已审核"
    assert not {"审核通过", "退回"} & office.buttons()
    office.log_out()

    # --- 3. 浙江省: first login, approve = 办结 --------------------------------------------------
    office.log_in(PROVINCE, first_time=True)
    office.open_list()
    assert office.status_in_list() == "未审核"
    office.open_form()
    assert office.status() == "未审核"
    office.act("approve")
    assert office.status() == "已办结"
    site_code = page.inner_text(".site-code").strip()
    assert re.fullmatch(r"330102\d{4}", site_code), site_code
    assert f"已办结，网站标识码 {site_code}，已通知负责人和联系人" in office.flash()
    assert not page.locator(".check-code").count()  # the 校验码 is for the importing unit only
    assert not {"审核通过", "退回", "提交"} & office.buttons()
    assert "在线修改" in office.buttons()
    timeline = office.timeline()
    for text in ("导入", "提交", "退回", REASON, "审核通过", "已办结", "上城区", "杭州市", "浙江省",
                 "发放网站标识码"):
        assert text in timeline, text
    assert not re.search(r"[a-z]{3,}_[a-z]+", timeline), timeline  # no internal action names
    page.screenshot(path=str(tmp_path / "basic-info-detail.png"), full_page=True)

    office.open_list()
    assert office.status_in_list() == "已办结"
    assert site_code in office.row().inner_text()
    # The demo rows around it: the province watches forms still below it, too.
    statuses = set(page.locator("table.form-list tbody .label").all_inner_texts())
    assert {"已办结", "待下级审核"} <= statuses, statuses
    page.screenshot(path=str(tmp_path / "basic-info-list.png"), full_page=True)
    office.log_out()

    office.log_in(COUNTY)
    office.open_list()
    assert office.status_in_list() == "已办结"
    assert site_code in office.row().inner_text()
    office.open_form()
    assert office.status() == "已办结"
    check_code = page.inner_text(".check-code").strip()
    assert re.fullmatch(r"[A-Z0-9]{6}", check_code), check_code
    assert not {"提交", "编辑", "删除"} & office.buttons()
    # The 提交 forms carry no confirm(); nothing here asked the user a question.
    assert office.dialogs == []

    # --- 4. The two mails: in the outbox, then delivered by the worker ----------------------------
    app = census_server.app
    with app.app_context():
        rows = db.session.scalars(select(OutboxMail).where(
            OutboxMail.to_addr.in_([PRINCIPAL_EMAIL, CONTACT_EMAIL]))).all()
        assert sorted(r.to_addr for r in rows) == sorted([PRINCIPAL_EMAIL, CONTACT_EMAIL])
        for row in rows:
            assert site_code in row.subject and site_code in row.body and check_code in row.body
        db.session.remove()

    sent, failed = send_due(app)
    assert failed == 0 and sent >= 2  # the demo's two completed forms mailed too
    received = {}
    deadline = time.monotonic() + 5
    while len(received) < 2 and time.monotonic() < deadline:
        received = {m.to: m for m in smtp_server.wait_for(sent, timeout=0.5)
                    if m.to in (PRINCIPAL_EMAIL, CONTACT_EMAIL)}
    assert set(received) == {PRINCIPAL_EMAIL, CONTACT_EMAIL}
    for mail in received.values():
        assert mail.subject == f"【全国政府网站普查】“{SITE}”基本信息已办结，网站标识码 {site_code}"
        assert f"网站标识码：{site_code}" in mail.body
        assert f"校验码：{check_code}" in mail.body
        assert "自查" in mail.body
    assert "王建国" in received[PRINCIPAL_EMAIL].body and "陈晓梅" in received[CONTACT_EMAIL].body

    if os.environ.get("PUCHA_UPDATE_SCREENSHOTS"):
        DOCS_IMAGES.mkdir(parents=True, exist_ok=True)
        for name in ("basic-info-list.png", "basic-info-detail.png"):
            shutil.copy(tmp_path / name, DOCS_IMAGES / name)
