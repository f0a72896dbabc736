"""标识码找回 in a real Chromium: a visitor goes from the home page to the form, enters the website
and a contact on file, and the codes arrive in a real SMTP server (aiosmtpd) at the 负责人 and
联系人 on file; a wrong entry gets the very same page, and no mail. CSRF protection is on."""
import pytest
from sqlalchemy import select

from tests.support.browser import serve_national_copy

pytestmark = [pytest.mark.browser, pytest.mark.smtp]

PRINCIPAL, CONTACT = "wangjg@hzsc.gov.cn", "chenxm@hzsc.gov.cn"


def complete_one_site(app):
    from app.extensions import db
    from tests.test_basic_info_recovery import completed_site

    completed_site(db.session)


def send_outbox(live):
    from app.extensions import db
    from app.mail.worker import send_due

    with live.app.app_context():
        sent = send_due(db.session)
        db.session.remove()
    return sent


def site_codes(live):
    from app.extensions import db
    from plugins.basic_info.models import BasicInfoForm

    with live.app.app_context():
        row = db.session.execute(select(BasicInfoForm.site_code, BasicInfoForm.check_code)
                                 .where(BasicInfoForm.site_code.is_not(None))).one()
        db.session.remove()
    return row


def recover(page, base_url, site, contact):
    page.goto(base_url + "/")
    with page.expect_navigation():
        page.locator("a.pucha-public-link", has_text="标识码找回").click()
    page.fill("input[name=site]", site)
    page.fill("input[name=contact]", contact)
    with page.expect_navigation():
        page.locator("#site-code-recovery [type=submit]").click()
    return page.inner_text("#site-code-recovery-sent")


def test_a_visitor_recovers_the_codes_by_mail_and_a_wrong_entry_reads_the_same(
        national_db_file, tmp_path, smtp_server, browser_page):
    with serve_national_copy(national_db_file, tmp_path, config=smtp_server.app_config(),
                             prepare=complete_one_site) as live:
        site_code, check_code = site_codes(live)
        send_outbox(live)  # the completion mails
        smtp_server.messages.clear()

        page = browser_page
        answer = recover(page, live.url, "http://www.hzsc.gov.cn/", "13805710001")
        assert "申请已受理" in answer
        shown = page.content()
        assert site_code not in shown and check_code not in shown
        page.screenshot(path=str(tmp_path / "recover-sent.png"))

        assert send_outbox(live) == (2, 0)
        received = smtp_server.wait_for(2)
        assert sorted(m.rcpt_tos[0] for m in received) == [CONTACT, PRINCIPAL]
        for mail in received:
            assert f"网站标识码：{site_code}" in mail.body and f"校验码：{check_code}" in mail.body

        wrong = recover(page, live.url, "http://www.hzsc.gov.cn/", "stranger@example.com")
        assert wrong == answer
        assert send_outbox(live) == (0, 0)
        assert len(smtp_server.messages) == 2
