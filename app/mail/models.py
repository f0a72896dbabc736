"""The mail outbox: every message is a row first, written in the transaction that causes it.

A worker (app.mail.worker) sends due rows and keeps them: ``sent`` rows are the record of what
went out, ``failed`` rows (after MAIL_MAX_ATTEMPTS) stay visible to administrators for a resend.
"""
from flask_appbuilder import Model
from flask_babel import gettext
from sqlalchemy import Column, DateTime, Index, Integer, String, Text

from app.audit import now

QUEUED, SENDING, SENT, FAILED = "queued", "sending", "sent", "failed"



def N_(text):
    """Mark ``text`` for extraction only; it is translated where it is shown."""
    return text


STATUS_LABELS = {QUEUED: N_("待发送"), SENDING: N_("发送中"), SENT: N_("已发送"),
                 FAILED: N_("发送失败")}


class OutboxMail(Model):
    __tablename__ = "outbox_mail"
    # The worker's claim query: open rows by due time.
    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),
                      Index("ix_outbox_related", "related_type", "related_id"))

    id = Column(Integer, primary_key=True)
    created_at = Column(DateTime, nullable=False, default=now)
    to_addr = Column(String(254), nullable=False)
    subject = Column(String(255), nullable=False)
    body = Column(Text, nullable=False)
    status = Column(String(16), nullable=False, default=QUEUED)
    attempts = Column(Integer, nullable=False, default=0)
    next_attempt_at = Column(DateTime, nullable=False, default=now)
    # A worker owns a row while claimed_until lies in the future and claim_token is its token;
    # a worker that dies mid-send loses the lease and another picks the row up.
    claimed_until = Column(DateTime, nullable=True)
    claim_token = Column(String(32), nullable=True)
    last_error = Column(Text, nullable=True)
    sent_at = Column(DateTime, nullable=True)
    related_type = Column(String(64), nullable=True)
    related_id = Column(String(64), nullable=True)

    @property
    def status_label(self):
        return status_label(self.status)

    def __repr__(self):
        return f"<OutboxMail {self.id} {self.to_addr} {self.status}>"


def status_label(status):
    """The status in the viewer's language (the outbox list shows ``status`` through this)."""
    return gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else status
