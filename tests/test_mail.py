"""The mail outbox and its worker, against a real SMTP server (aiosmtpd)."""
import datetime
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from app.mail.models import FAILED, QUEUED, SENT, OutboxMail
from app.mail.outbox import queue_mail
from app.mail.worker import retry_delay, send_due
from tests.conftest import base_overrides

pytestmark = pytest.mark.smtp

SUBJECT = "【网站标识码】浙江省人民政府门户网站：3300000001"
BODY = "您好：\n贵单位填报的网站已办结，网站标识码为 3300000001，校验码为 K7P2QX。\n请据此完成自查。"


def _make_app(tmp_path, db_url=None, **config):
    from app.extensions import db
    from app.factory import create_app

    overrides = base_overrides(db_url or f"sqlite:///{tmp_path / 'mail.db'}", tmp_path)
    overrides.update(config)
    application = create_app(overrides)
    with application.app_context():
        db.create_all()
        db.session.remove()
    return application


@pytest.fixture
def make_app(tmp_path):
    apps = []

    def make(**config):
        application = _make_app(tmp_path, **config)
        apps.append(application)
        return application

    yield make
    from app.extensions import db

    for application in apps:
        with application.app_context():
            db.session.remove()
            db.engine.dispose()


def _rows(app):
    from app.extensions import db

    with app.app_context():
        rows = db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)).all()
        db.session.expunge_all()
        return rows


def _queue(app, n=1, to="fzr@zj.gov.cn", subject=SUBJECT, body=BODY):
    from app.extensions import db

    with app.app_context():
        for i in range(n):
            queue_mail(db.session, to if n == 1 else f"u{i}@zj.gov.cn", subject, body,
                       related_type="basic_info", related_id=i + 1)
        db.session.commit()


def _make_due(app):
    """Move every queued row's retry time into the past (instead of sleeping through the backoff)."""
    from app.extensions import db

    with app.app_context():
        db.session.execute(update(OutboxMail).values(
            next_attempt_at=datetime.datetime.now() - datetime.timedelta(seconds=1)))
        db.session.commit()


def test_queue_mail_validates_one_address(make_app):
    app = make_app()
    from app.extensions import db

    with app.app_context():
        for bad in ("", "no-at-sign", "a@x.cn, b@x.cn", "a@x.cn\r\nBcc: z@x.cn"):
            with pytest.raises(ValueError, match="收件人地址"):
                queue_mail(db.session, bad, "主题", "正文")


def test_not_sent_before_commit_then_sent_with_chinese_subject(make_app, smtp_server):
    app = make_app(**smtp_server.app_config())
    from app.extensions import db

    with app.app_context():
        mail = queue_mail(db.session, "fzr@zj.gov.cn", SUBJECT, BODY, "basic_info", 7)
        db.session.flush()  # written inside the open transaction, not committed
        assert mail.status == QUEUED and mail.attempts == 0
        # Another worker looking now finds nothing: the event's transaction is still open.
        assert send_due(app) == (0, 0)
        db.session.rollback()  # the event failed: its mail goes with it
    assert send_due(app) == (0, 0) and _rows(app) == []
    assert smtp_server.messages == []

    _queue(app)
    assert send_due(app) == (1, 0)
    (received,) = smtp_server.wait_for(1)
    assert received.subject == SUBJECT
    assert received.body.strip() == BODY
    assert received.rcpt_tos == ["fzr@zj.gov.cn"]
    assert received.sender == app.config["MAIL_DEFAULT_SENDER"]
    (row,) = _rows(app)
    assert received.header("X-Pucha-Outbox-Id") == str(row.id)
    assert (row.status, row.attempts, row.claim_token, row.last_error) == (SENT, 1, None, None)
    assert row.sent_at is not None and (row.related_type, row.related_id) == ("basic_info", "1")
    # Sent rows stay as the record, and are never sent again.
    assert send_due(app) == (0, 0)
    assert len(smtp_server.wait_for(2, timeout=0.3)) == 1


def test_server_down_keeps_mail_and_retries_with_backoff(make_app, smtp_factory):
    server = smtp_factory(start=False)  # its port is free: nobody listens there yet
    app = make_app(**server.app_config())
    _queue(app)
    before = datetime.datetime.now()

    assert send_due(app) == (0, 1)
    (row,) = _rows(app)
    assert (row.status, row.attempts, row.claim_token) == (QUEUED, 1, None)
    assert "无法连接邮件服务器" in row.last_error
    base = app.config["MAIL_RETRY_BASE_SECONDS"]
    assert row.next_attempt_at >= before + datetime.timedelta(seconds=base)
    # Not due yet: the next pass leaves it alone.
    assert send_due(app) == (0, 0)

    server.start()
    _make_due(app)
    assert send_due(app) == (1, 0)
    (received,) = server.wait_for(1)
    assert received.subject == SUBJECT
    (row,) = _rows(app)
    assert (row.status, row.attempts) == (SENT, 2)


def test_backoff_doubles_and_is_capped_at_an_hour():
    assert [retry_delay(n, 30) for n in (1, 2, 3, 4)] == [30, 60, 120, 240]
    assert retry_delay(12, 30) == 3600 and retry_delay(40, 30) == 3600


def test_gives_up_after_max_attempts_and_resend_requeues(make_app, smtp_factory):
    server = smtp_factory(start=False)
    app = make_app(MAIL_MAX_ATTEMPTS=2, **server.app_config())
    _queue(app)
    assert send_due(app) == (0, 1)
    _make_due(app)
    assert send_due(app) == (0, 1)
    (row,) = _rows(app)
    assert (row.status, row.attempts) == (FAILED, 2)
    _make_due(app)
    assert send_due(app) == (0, 0)  # failed rows are kept but no longer tried

    from app.extensions import db
    from app.mail.views import resend_failed

    with app.app_context():
        assert resend_failed(db.session, [row.id, 12345]) == 1
        db.session.commit()
    server.start()
    assert send_due(app) == (1, 0)
    assert server.wait_for(1)[0].subject == SUBJECT


def test_a_rejected_recipient_fails_alone(make_app, smtp_server):
    app = make_app(**smtp_server.app_config())
    from app.extensions import db

    with app.app_context():
        queue_mail(db.session, "good@zj.gov.cn", "第一封", "正文一")
        bad = queue_mail(db.session, "bad@zj.gov.cn", "第二封", "正文二")
        queue_mail(db.session, "good2@zj.gov.cn", "第三封", "正文三")
        db.session.commit()
        bad_id = bad.id

    async def reject_bad(server, session, envelope, address, rcpt_options):
        if address.startswith("bad@"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    smtp_server.controller.handler.handle_RCPT = reject_bad
    assert send_due(app) == (2, 1)
    assert sorted(m.subject for m in smtp_server.wait_for(2)) == ["第一封", "第三封"]
    status = {r.id: (r.status, r.attempts) for r in _rows(app)}
    assert status[bad_id] == (QUEUED, 1)


def _racing_claims(app):
    """Make every worker thread stop right before its claim UPDATE until all have selected: the
    worst interleaving, where all of them saw the same due rows."""
    from app.extensions import db

    barrier = threading.Barrier(2)
    local = threading.local()
    with app.app_context():
        engine_ = db.engine

    def before(conn, cursor, statement, parameters, context, executemany):
        if (statement.startswith("UPDATE outbox_mail") and "claimed_until <" in statement
                and not getattr(local, "waited", False)):
            local.waited = True
            barrier.wait(timeout=10)

    event.listen(engine_, "before_cursor_execute", before)
    return lambda: event.remove(engine_, "before_cursor_execute", before)


def _two_workers(app, limit):
    results = []
    errors = []

    def work():
        try:
            results.append(send_due(app, limit=limit))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors, errors
    return results


def _race_two_workers_over_twenty_mails(app):
    """Queue 20 mails and let two workers claim at the same moment; their (sent, failed) counts."""
    _queue(app, 20)
    undo = _racing_claims(app)
    try:
        return _two_workers(app, limit=20)
    finally:
        undo()


def test_two_concurrent_workers_never_send_twice(make_app, smtp_server):
    app = make_app(**smtp_server.app_config())
    results = _race_two_workers_over_twenty_mails(app)
    assert sorted(results) == [(0, 0), (20, 0)]
    received = smtp_server.wait_for(20)
    ids = [m.header("X-Pucha-Outbox-Id") for m in received]
    assert len(ids) == 20 and len(set(ids)) == 20
    assert {r.status for r in _rows(app)} == {SENT}


@pytest.mark.postgres
def test_two_concurrent_workers_on_postgresql(tmp_path, pg_database, smtp_server):
    app = _make_app(tmp_path, db_url=pg_database(), **smtp_server.app_config())
    try:
        results = _race_two_workers_over_twenty_mails(app)
        assert sorted(results) == [(0, 0), (20, 0)]
        ids = [m.header("X-Pucha-Outbox-Id") for m in smtp_server.wait_for(20)]
        assert len(ids) == 20 and len(set(ids)) == 20
    finally:
        from app.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def test_expired_lease_is_picked_up_again(make_app, smtp_server):
    """A worker that died mid-send leaves its rows claimed; after the lease they go out."""
    app = make_app(**smtp_server.app_config())
    _queue(app)
    from app.extensions import db

    with app.app_context():
        db.session.execute(update(OutboxMail).values(
            status="sending", claim_token="dead-worker",
            claimed_until=datetime.datetime.now() + datetime.timedelta(minutes=5)))
        db.session.commit()
    assert send_due(app) == (0, 0)
    with app.app_context():
        db.session.execute(update(OutboxMail).values(
            claimed_until=datetime.datetime.now() - datetime.timedelta(seconds=1)))
        db.session.commit()
    assert send_due(app) == (1, 0)


# --- the command ---------------------------------------------------------------------------------

def test_cli_once(make_app, smtp_server):
    app = make_app(**smtp_server.app_config())
    _queue(app, 3)
    result = app.test_cli_runner().invoke(args=["pucha", "send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "本轮成功 3 封，失败 0 封" in result.output
    assert "待发送 0 封" in result.output
    assert len(smtp_server.wait_for(3)) == 3


def test_cli_once_with_server_down(make_app):
    from tests.support.smtp import free_port

    app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port(), MAIL_TIMEOUT=5)
    _queue(app)
    result = app.test_cli_runner().invoke(args=["pucha", "send-mail", "--once"])
    assert result.exit_code == 0, result.output
    assert "本轮成功 0 封，失败 1 封" in result.output and "待发送 1 封" in result.output


def test_cli_loop_sends_and_stops_on_ctrl_c(make_app, smtp_server, tmp_path):
    app = make_app(**smtp_server.app_config())
    _queue(app, 2)
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ,
               PUCHA_DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PUCHA_MAIL_SERVER=smtp_server.host, PUCHA_MAIL_PORT=str(smtp_server.port),
               PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "pucha", "send-mail", "--interval", "0.2"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert len(smtp_server.wait_for(2, timeout=30)) == 2
        _queue(app)  # a mail queued while the worker runs goes out on a later pass
        assert len(smtp_server.wait_for(3, timeout=10)) == 3
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, output
    assert "邮件发送进程已启动" in output and "邮件发送进程已停止" in output
    assert "Traceback" not in output
    assert {r.status for r in _rows(app)} == {SENT}


# --- the administrator's view --------------------------------------------------------------------

def _login(client, user_id):
    with client.session_transaction() as s:
        s["_user_id"] = str(user_id)
        s["_fresh"] = True


def test_outbox_view_for_administrators_only(make_app):
    from werkzeug.security import generate_password_hash

    from app.accounts.models import PuchaUser
    from app.accounts.provisioning import create_admin, sync_roles
    from app.extensions import db
    from app.orgs.models import Org

    app = make_app()
    with app.app_context():
        sync_roles()
        admin, _ = create_admin(db.session, "admin")
        org = Org(code="330000", name="浙江省", level=1, kind="province", path="/330000/")
        unit = PuchaUser(username="330000", first_name="浙江省", last_name="-", email="zj@x.cn",
                         active=True, org=org, must_change_password=False,
                         password=generate_password_hash("Abcd12345"))
        unit.roles = [app.appbuilder.sm.find_role(app.config["AUTH_ROLE_ORG"])]
        db.session.add(unit)
        admin.must_change_password = False
        admin.password = generate_password_hash("Abcd12345")
        failed = queue_mail(db.session, "fzr@zj.gov.cn", SUBJECT, BODY)
        failed.status, failed.attempts, failed.last_error = FAILED, 12, "SMTPServerDisconnected"
        sent = queue_mail(db.session, "lxr@zj.gov.cn", "已发送的邮件", "正文")
        sent.status = SENT
        db.session.commit()
        admin_id, unit_id, failed_id, sent_id = admin.id, unit.id, failed.id, sent.id
        view = next(v for v in app.appbuilder.baseviews if type(v).__name__ == "OutboxMailView")
        assert view.admin_only and set(view.base_permissions) == {"can_list", "can_show", "resend"}
        menu = [i for i in app.appbuilder.menu.get_list() if i.name == "系统管理"]
        assert menu and "邮件发件箱" in [c.name for c in menu[0].childs]

    client = app.test_client()
    _login(client, unit_id)
    assert client.get("/outbox/list/").status_code == 403
    assert client.post("/outbox/action_post", data={"action": "resend",
                                                    "rowid": [failed_id]}).status_code == 403

    client = app.test_client()
    _login(client, admin_id)
    page = client.get("/outbox/list/")
    assert page.status_code == 200
    assert SUBJECT in page.get_data(as_text=True)
    assert client.get("/outbox/add").status_code == 403
    reply = client.post("/outbox/action_post",
                        data={"action": "resend", "rowid": [failed_id, sent_id]},
                        follow_redirects=True)
    assert reply.status_code == 200
    assert "已重新加入发送队列 1 封" in reply.get_data(as_text=True)
    rows = {r.id: r for r in _rows(app)}
    assert (rows[failed_id].status, rows[failed_id].attempts) == (QUEUED, 0)
    assert rows[failed_id].last_error == "SMTPServerDisconnected"  # the history stays visible
    assert rows[sent_id].status == SENT
