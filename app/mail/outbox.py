"""Queueing mail: add an outbox row to the caller's session, never send, never commit.

Because the row joins the caller's transaction, a mail exists exactly when the event that causes
it was committed: a rolled-back approval leaves no mail behind, and a committed one cannot lose
its mail when the SMTP server is down.
"""
from app.audit import now
from app.mail.models import QUEUED, OutboxMail


def queue_mail(session, to, subject, body, related_type=None, related_id=None):
    """Add one outbox row for ``to`` to ``session`` and return it (the caller commits)."""
    to = (to or "").strip()
    if not to or "@" not in to:
        raise ValueError(f"收件人地址无效：{to!r}")
    if any(c in to for c in "\r\n,;"):
        # One row is one recipient; header injection or lists would defeat per-address retries.
        raise ValueError(f"收件人地址只能是一个地址：{to!r}")
    mail = OutboxMail(to_addr=to, subject=subject, body=body, status=QUEUED, attempts=0,
                      created_at=now(), next_attempt_at=now(), related_type=related_type,
                      related_id=None if related_id is None else str(related_id))
    session.add(mail)
    return mail
