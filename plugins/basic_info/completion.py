"""办结: issuing 网站标识码 and 校验码 and mailing them, inside the approving transaction.

Called from the ``after_transition`` hook (plugins/basic_info/plugin.py) in the same transaction
as the approval that completed the forms, so the codes, the audit rows and the two outbox mails
are committed together with it — or vanish together when it rolls back.

网站标识码 = the importing unit's code + a 4-digit sequence within that unit (3301000006,
bm01000001). The sequence comes from one row per unit in ``basic_info_site_code_counter``,
advanced by an atomic ``UPDATE … SET last_seq = last_seq + n … RETURNING last_seq``: the database
serialises concurrent completions of the same unit on that row, so every transaction gets its own
block of numbers, in any number of processes. The unique constraint on ``site_code`` is the last
guard.

One website, one code (seed 000 注意事项): a form is not completed when another form of the same
website (the same ``site_key``) already has a 网站标识码, nor when it completes in the same batch
as an earlier form of that website. ``duplicate_site_refusals`` says which forms and why, so a
caller can leave them out before anything is written (全部审核 skips them); ``complete_forms``
checks again inside the completing transaction and raises ``DuplicateSite``, which rolls the
whole approval back. Two transactions completing forms of one website at once are serialised by
a transaction-scoped advisory lock per website on PostgreSQL, taken before the check reads; on
SQLite the approving transaction already holds the database's write lock. A unique index could
not do this job: databases from before the rule may already hold two coded forms of one website,
and an index would refuse the upgrade.
"""
from __future__ import annotations

import datetime
import secrets

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.audit import audit_values, record_many
from app.i18n_text import gettext
from app.mail.models import OutboxMail
from app.mail.outbox import queue_mail
from app.orgs.models import Org
from plugins.basic_info import identity
from plugins.basic_info.identity import duplicate_site_refusals
from plugins.basic_info import workflow as review
from app.formtypes.commands import FormError
from plugins.basic_info.policy import DuplicateSite
from plugins.basic_info.models import BasicInfoForm, SiteCodeCounter

MAX_SEQUENCE = 9999
# Uppercase letters and digits without the ones people misread: 0/O, 1/I/L.
CHECK_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CHECK_CODE_LENGTH = 6

COMPLETING_TRANSITIONS = ("submit", "approve")


class SiteCodesExhausted(FormError):
    """A unit has used all 9,999 sequence numbers."""


# The advisory-lock namespace of "one website completes at a time" (PostgreSQL's two-key form:
# this class id and the hash of the site key).
SITE_LOCK_CLASS = 0x5349


def new_check_code():
    return "".join(secrets.choice(CHECK_CODE_ALPHABET) for _ in range(CHECK_CODE_LENGTH))


def format_site_code(org_code, seq):
    return f"{org_code}{seq:04d}"


def _counter_table():
    return SiteCodeCounter.__table__


def allocate_sequences(session, org_id, count):
    """Reserve ``count`` consecutive sequence numbers for ``org_id``; return the first.

    The UPDATE takes the row lock, so two transactions completing forms of the same unit get
    disjoint blocks; the second waits for the first to commit or roll back.
    """
    table = _counter_table()
    bump = (update(table).where(table.c.org_id == org_id)
            .values(last_seq=table.c.last_seq + count).returning(table.c.last_seq))
    for _attempt in range(3):
        last = session.execute(bump).scalar()
        if last is not None:
            return last - count + 1
        _insert_counter(session, org_id)
    raise RuntimeError(f"无法为单位 {org_id} 分配网站标识码序号")


def _insert_counter(session, org_id):
    """Create the unit's counter at 0; a concurrent creator winning the race is fine."""
    table = _counter_table()
    dialect = session.get_bind().dialect.name
    if dialect in ("sqlite", "postgresql"):
        dialect_insert = sqlite.insert if dialect == "sqlite" else postgresql.insert
        # ON CONFLICT DO NOTHING waits for a concurrent inserter and then does nothing, without
        # an error that would abort a PostgreSQL transaction.
        session.execute(dialect_insert(table).values(org_id=org_id, last_seq=0)
                        .on_conflict_do_nothing(index_elements=["org_id"]))
        return
    try:
        with session.begin_nested():
            session.execute(insert(table).values(org_id=org_id, last_seq=0))
    except IntegrityError:
        pass  # another transaction created it first; the retried UPDATE uses it


def lock_sites(session, keys):
    """Serialise the completion of the websites ``keys`` with any other transaction's, until this
    transaction ends (PostgreSQL; see the module docstring for the others)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(k for k in keys if k)):  # one order everywhere: no deadlock
        session.execute(select(func.pg_advisory_xact_lock(SITE_LOCK_CLASS, func.hashtext(key))))


def complete_forms(session, form_ids, actor=None):
    """Issue codes and queue mails for those of ``form_ids`` that are completed and have no
    code yet. Runs inside the caller's transaction; never commits. Returns {form id: site code}."""
    if not form_ids:
        return {}
    forms = []
    for start in range(0, len(form_ids), 10_000):
        stmt = (select(BasicInfoForm.id, BasicInfoForm.importer_id, BasicInfoForm.site_name,
                       BasicInfoForm.home_url, BasicInfoForm.principal_name,
                       BasicInfoForm.principal_email, BasicInfoForm.contact_name,
                       BasicInfoForm.contact_email, BasicInfoForm.filing_unit)
                .where(BasicInfoForm.id.in_(list(form_ids)[start:start + 10_000]),
                       BasicInfoForm.stage == review.COMPLETED,
                       BasicInfoForm.site_code.is_(None))
                .order_by(BasicInfoForm.id))
        forms.extend(session.execute(stmt).all())
    if not forms:
        return {}
    # Lock first, then read who has a code: a concurrent completion of the same website has
    # either committed (and is seen) or waits for us.
    form_ids = [f.id for f in forms]
    keys = []
    for start in range(0, len(form_ids), 10_000):
        keys += session.scalars(select(BasicInfoForm.site_key).where(
            BasicInfoForm.id.in_(form_ids[start:start + 10_000]))).all()
    lock_sites(session, keys)
    acting = getattr(actor, "org", None)
    refusals = duplicate_site_refusals(session, [f.id for f in forms],
                                       getattr(acting, "path", None))
    if refusals:
        raise DuplicateSite(refusals)

    by_unit = {}
    for form in forms:
        by_unit.setdefault(form.importer_id, []).append(form)
    units = dict(session.execute(select(Org.id, Org.code).where(Org.id.in_(list(by_unit)))).all())
    names = dict(session.execute(select(Org.id, Org.name).where(Org.id.in_(list(by_unit)))).all())

    now = datetime.datetime.now()
    issued = {}
    params = []
    # Lock counters in one order (by org id) so two transactions completing forms of the same
    # two units cannot deadlock.
    for org_id in sorted(by_unit):
        unit_forms = by_unit[org_id]
        first = allocate_sequences(session, org_id, len(unit_forms))
        last = first + len(unit_forms) - 1
        if last > MAX_SEQUENCE:
            raise SiteCodesExhausted(
                f"{names.get(org_id, '')}（{units.get(org_id, '')}）的网站标识码序号已用完"
                f"（每个单位最多 {MAX_SEQUENCE} 个网站），无法办结，请联系技术支持")
        for seq, form in zip(range(first, last + 1), unit_forms):
            code = format_site_code(units[org_id], seq)
            check = new_check_code()
            issued[form.id] = (code, check)
            params.append({"w_id": form.id, "v_site_code": code, "v_check_code": check,
                           "v_completed_at": now})

    table = BasicInfoForm.__table__
    session.execute(update(table).where(table.c.id == bindparam("w_id"))
                    .values(site_code=bindparam("v_site_code"),
                            check_code=bindparam("v_check_code"),
                            completed_at=bindparam("v_completed_at")), params)

    # Keep objects this session already holds in step without marking them dirty.
    for form_id, (code, check) in issued.items():
        obj = session.identity_map.get(_key(form_id))
        if obj is not None:
            set_committed_value(obj, "site_code", code)
            set_committed_value(obj, "check_code", check)
            set_committed_value(obj, "completed_at", now)

    org_id = getattr(getattr(actor, "org", None), "id", None)
    # The audit trail names the 网站标识码 (it is public in the list); the 校验码 is a secret
    # that only the mail carries.
    record_many(session, [audit_values("issue_codes", "basic_info", form.id, actor=actor,
                                       org_id=org_id, to_stage=review.COMPLETED,
                                       detail={"site_code": issued[form.id][0]})
                          for form in forms])

    mails = []
    for form in forms:
        code, check = issued[form.id]
        mails.extend(completion_mails(form, code, check))
    queue_mails(session, mails)
    return {form_id: code for form_id, (code, _check) in issued.items()}


def _key(form_id):
    return identity_key(BasicInfoForm, form_id)


def recipients(form):
    """The 负责人 and 联系人 addresses, one mail when both are the same (case-insensitive)."""
    out = []
    seen = set()
    for name, addr in ((form.principal_name, form.principal_email),
                       (form.contact_name, form.contact_email)):
        addr = (addr or "").strip()
        if not addr or "@" not in addr or addr.lower() in seen:
            continue
        seen.add(addr.lower())
        out.append((name, addr))
    return out


def mail_subject(form, site_code):
    # The subject shows only what the list page also shows; the 校验码 stays in the body.
    return f"【全国政府网站普查】“{form.site_name}”基本信息已办结，网站标识码 {site_code}"


def mail_body(form, name, site_code, check_code):
    greeting = f"{name}：" if name and name != "无" else "您好："
    return (
        f"{greeting}\n\n"
        f"贵单位报送的政府网站基本信息已通过各级组织单位逐级审核，现已办结。\n\n"
        f"网站名称：{form.site_name}\n"
        f"首页网址：{form.home_url}\n"
        f"网站标识码：{site_code}\n"
        f"校验码：{check_code}\n\n"
        f"下一步：请使用“全国政府网站信息报送客户端”新建“全国政府网站普查评分表”，"
        f"输入上述网站标识码和校验码，通过验证并核对网站基本信息后，填写自查评分并在线提交。"
        f"每个网站只能提交一次自查评分。\n\n"
        f"请妥善保管网站标识码和校验码，不要转发给无关人员。如有遗忘，"
        f"可通过报送系统首页的“标识码找回”功能重新发送到本邮箱。\n"
        f"基本信息如需修改，请联系组织单位在报送系统中在线修改。\n\n"
        f"本邮件由全国政府网站普查报送系统自动发送，请勿直接回复。\n"
    )


def completion_mails(form, site_code, check_code):
    """(to, subject, body, related_type, related_id) of the completion mails of one form."""
    return [(addr, mail_subject(form, site_code), mail_body(form, name, site_code, check_code),
             "basic_info", form.id) for name, addr in recipients(form)]


def queue_completion_mails(session, form, site_code, check_code):
    """Write the completion mails of one form to the outbox (the caller's transaction)."""
    for mail in completion_mails(form, site_code, check_code):
        queue_mail(session, *mail)


def queue_mails(session, mails):
    """Outbox rows for many mails in one INSERT (全部审核 at a province completes thousands of
    forms at once). Each row is first built by ``queue_mail`` itself, so the address checks and
    the row's initial state stay the outbox's own; only the write is batched."""
    if not mails:
        return
    scratch = Session()  # never bound, never flushed: queue_mail only adds the row to it
    rows = []
    for mail in mails:
        row = queue_mail(scratch, *mail)
        rows.append({c.key: getattr(row, c.key) for c in OutboxMail.__table__.columns
                     if c.key != "id"})
    scratch.expunge_all()
    for start in range(0, len(rows), 5000):
        session.execute(insert(OutboxMail.__table__), rows[start:start + 5000])


def on_transition(session, transition, object_ids, actor):
    """The after_transition hook's work for the basic_info workflow."""
    if transition.name not in COMPLETING_TRANSITIONS:
        return None
    return complete_forms(session, object_ids, actor)


__all__ = ["complete_forms", "allocate_sequences", "new_check_code", "format_site_code",
           "recipients", "mail_subject", "mail_body", "queue_completion_mails", "on_transition",
           "SiteCodesExhausted", "CHECK_CODE_ALPHABET", "MAX_SEQUENCE", "DuplicateSite",
           "duplicate_site_refusals", "lock_sites"]
