"""Sending the outbox: claim due rows with a lease, send them, record the outcome.

Several worker processes (or machines) may run at once: a row is sent only by the worker whose
claim UPDATE won it, because that UPDATE re-checks the lease in its WHERE clause and the database
serialises concurrent updates of one row. A worker that dies mid-send loses its lease after
MAIL_LEASE_SECONDS and the row is picked up again: delivery is at least once, never "maybe never".
"""
import logging
import smtplib
import uuid
from datetime import timedelta

import flask_mail
from flask import Flask, current_app
from sqlalchemy import func, or_, select, update

from app.audit import now, record
from app.extensions import db
from app.mail.models import FAILED, QUEUED, SENDING, SENT, OutboxMail

log = logging.getLogger(__name__)

MAX_RETRY_DELAY = 3600  # seconds; a backoff beyond an hour only delays mail once SMTP is back
DEFAULT_LEASE_SECONDS = 300
DEFAULT_SMTP_TIMEOUT = 30


class _Connection(flask_mail.Connection):
    """Flask-Mail's connection with a socket timeout: without one, a server that accepts the TCP
    connection and then says nothing would hang the worker for ever."""

    def __init__(self, state, timeout):
        super().__init__(state)
        self.timeout = timeout

    def configure_host(self):
        m = self.mail
        cls = smtplib.SMTP_SSL if m.use_ssl else smtplib.SMTP
        host = cls(m.server, m.port, timeout=self.timeout)
        host.set_debuglevel(int(m.debug))
        if m.use_tls:
            host.starttls()
        if m.username and m.password:
            host.login(m.username, m.password)
        return host

    def open(self):
        # Flask-Mail's __enter__, without the context manager: the worker reopens after errors.
        self.host = None if self.mail.suppress else self.configure_host()
        self.num_emails = 0
        return self

    def close(self):
        if self.host is not None:
            try:
                self.host.quit()
            except (smtplib.SMTPException, OSError):
                pass  # the server is gone already; nothing to close politely
            self.host = None


def retry_delay(attempts, base):
    """Seconds to wait after the ``attempts``-th failed attempt: base, 2·base, 4·base … ≤ 1 h."""
    return min(base * 2 ** max(attempts - 1, 0), MAX_RETRY_DELAY)


def _open_and_free(t):
    return (OutboxMail.status.in_((QUEUED, SENDING)),
            or_(OutboxMail.claimed_until.is_(None), OutboxMail.claimed_until < t))


def _claim(session, limit, lease_seconds):
    """Take up to ``limit`` due rows for this pass; return them (committed as ours)."""
    t = now()
    open_, free = _open_and_free(t)
    ids = session.scalars(
        select(OutboxMail.id).where(open_, free, OutboxMail.next_attempt_at <= t)
        .order_by(OutboxMail.next_attempt_at, OutboxMail.id).limit(limit)).all()
    if not ids:
        session.rollback()
        return [], None
    token = uuid.uuid4().hex
    # The WHERE repeats the lease test: of two workers that selected the same ids, the second
    # UPDATE runs after the first committed and no longer matches those rows.
    session.execute(
        update(OutboxMail).where(OutboxMail.id.in_(ids), open_, free)
        .values(status=SENDING, claim_token=token, claimed_until=t + timedelta(seconds=lease_seconds))
        .execution_options(synchronize_session=False))
    session.commit()
    rows = session.scalars(select(OutboxMail).where(OutboxMail.claim_token == token)
                           .order_by(OutboxMail.id)).all()
    return rows, token


def _message(row, sender):
    return flask_mail.Message(
        subject=row.subject, recipients=[row.to_addr], body=row.body, sender=sender,
        charset="utf-8", extra_headers={"X-Pucha-Outbox-Id": str(row.id)})


def _finish(session, row, token, event=None, **values):
    """Record the outcome only if we still own the row (our lease may have been taken over).
    ``event`` (mail_sent / mail_failed) is also written to the audit trail of the object the
    mail is about, in the same transaction, so its history says the mail went out or failed
    for good."""
    values.update(claimed_until=None, claim_token=None)
    result = session.execute(
        update(OutboxMail).where(OutboxMail.id == row.id, OutboxMail.claim_token == token)
        .values(**values).execution_options(synchronize_session=False))
    if event and result.rowcount == 1 and row.related_type:
        detail = {"outbox_id": row.id, "to": row.to_addr}
        if values.get("last_error"):
            detail["error"] = values["last_error"][:200]
        record(session, event, row.related_type, row.related_id, detail=detail)
    # One commit per message: a crash after sending 50 of 100 must not resend those 50.
    session.commit()


def _failure(session, row, token, error, config):
    attempts = row.attempts + 1
    t = now()
    values = dict(attempts=attempts, last_error=error[:2000])
    event = None
    if attempts >= config.get("MAIL_MAX_ATTEMPTS", 12):
        values.update(status=FAILED, next_attempt_at=t)
        event = "mail_failed"
    else:
        delay = retry_delay(attempts, config.get("MAIL_RETRY_BASE_SECONDS", 30))
        values.update(status=QUEUED, next_attempt_at=t + timedelta(seconds=delay))
    _finish(session, row, token, event=event, **values)
    log.warning("mail %s to %s failed (attempt %s): %s", row.id, row.to_addr, attempts, error)


def _describe(exc):
    return f"{type(exc).__name__}: {exc}"


def _send_pass(session, limit):
    config = current_app.config
    rows, token = _claim(session, limit, config.get("MAIL_LEASE_SECONDS", DEFAULT_LEASE_SECONDS))
    if not rows:
        return 0, 0
    state = current_app.extensions["mail"]
    sender = config.get("MAIL_DEFAULT_SENDER")
    timeout = config.get("MAIL_TIMEOUT", DEFAULT_SMTP_TIMEOUT)
    sent = failed = 0
    conn = None
    try:
        for index, row in enumerate(rows):
            if conn is None:
                try:
                    conn = _Connection(state, timeout).open()
                except (smtplib.SMTPException, OSError) as exc:
                    # The server is unreachable: every row of this pass fails the same way, and
                    # trying each would cost a timeout apiece.
                    error = _describe(exc)
                    for pending in rows[index:]:
                        _failure(session, pending, token, f"无法连接邮件服务器：{error}", config)
                        failed += 1
                    break
            try:
                conn.send(_message(row, sender))
            except Exception as exc:  # noqa: BLE001 - whatever stops this message is its failure:
                # left unrecorded, the row would be retried after every lease without ever failing.
                _failure(session, row, token, _describe(exc), config)
                failed += 1
                # The connection may be broken mid-conversation; the next row opens a fresh one.
                conn.close()
                conn = None
                continue
            _finish(session, row, token, event="mail_sent", status=SENT, sent_at=now(),
                    attempts=row.attempts + 1, last_error=None)
            sent += 1
    finally:
        if conn is not None:
            conn.close()
    return sent, failed


def send_due(app_or_session=None, limit=100):
    """Send up to ``limit`` due messages; return (sent, failed) for this pass.

    Pass the Flask app (an app context is pushed) or a session (used inside the current app
    context). Commits its own small transactions: it must not run inside a caller's transaction.
    """
    if isinstance(app_or_session, Flask):
        with app_or_session.app_context():
            try:
                return _send_pass(db.session, limit)
            finally:
                db.session.remove()
    if app_or_session is None:
        app_or_session = db.session
    return _send_pass(app_or_session, limit)


def outbox_counts(session):
    """{status: count} over the whole outbox, for summaries."""
    return dict(session.execute(select(OutboxMail.status, func.count())
                                .group_by(OutboxMail.status)).all())
