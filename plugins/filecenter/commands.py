"""The 技术支持中心's business operations: publish and retire files, edit the FAQ and the
contact details. Each validates, then makes its change in one transaction with its audit row;
the web views, the tests and the screenshots call these.
"""
import re

from flask import current_app
from sqlalchemy import select

from app import audit, clock
from app.errors import Invalid, NotFound
from app.files.storage import clean_filename, current_store
from app.i18n_text import N_, gettext
from app.public.models import PublicSetting, store_setting
from app.transactions import unit_of_work
from plugins.filecenter import content
from plugins.filecenter.models import (INSTALLER, KINDS, PUBLISHED, RETIRED, FaqEntry,
                                       SupportItem)

NAMESPACE = "filecenter/support"
TITLE_MAX = 200
NOTE_MAX = 2000
QUESTION_MAX = 300
ANSWER_MAX = 4000
CONTACT_MAX = 200
FAQ_MAX_ENTRIES = 200
VERSION = re.compile(r"\d{1,6}(?:\.\d{1,6}){0,3}")
HOTLINE_KEY = "support_hotline"
MAIL_KEY = "support_mail"

MSG_KIND = N_("请选择文件类别")
MSG_TITLE = N_("请填写标题（最多 %(max)s 个字符）")
MSG_NOTE = N_("说明过长：最多 %(max)s 个字符")
MSG_VERSION = N_("安装程序须填写版本号，形如 1.2.0（数字和点）")
MSG_NO_FILE = N_("请选择要上传的文件")
MSG_FORMAT = N_("文件“%(name)s”不是可接受的格式：此类别接受 %(accepted)s")
MSG_QUESTION = N_("请填写问题（最多 %(max)s 个字符）")
MSG_ANSWER = N_("请填写回答（最多 %(max)s 个字符）")
MSG_FAQ_FULL = N_("常见问题已有 %(max)s 条，请先删除不再需要的")
MSG_CONTACT = N_("服务热线和服务邮箱各最多 %(max)s 个字符")
MSG_NO_ITEM = N_("没有这个文件")
MSG_NO_FAQ = N_("没有这条常见问题")


def _text(value, limit, message, required=True):
    text = value.strip() if isinstance(value, str) else ""
    if (required and not text) or len(text) > limit:
        raise Invalid(gettext(message, max=limit))
    return text


def _row(session, model, key, message):
    row = session.get(model, key)
    if row is None:
        raise NotFound(gettext(message))
    return row


def upload_limit():
    """The largest support file accepted (SUPPORT_UPLOAD_MAX_BYTES), at most what one request may
    carry (MAX_CONTENT_LENGTH): the form is parsed before any view runs."""
    config = current_app.config
    limits = [v for v in (config.get("SUPPORT_UPLOAD_MAX_BYTES"), config.get("MAX_CONTENT_LENGTH"))
              if v]
    return min(limits) if limits else None


def publish_item(session, actor, *, kind, title, version, note, stream, filename):
    """Keep the uploaded ``stream`` in the file store and publish it as a support item.

    The format is told by the first bytes (plugins/filecenter/content.py); the stored name is the
    store's key, the sender's name is kept only as the download's label. Returns the row."""
    if kind not in KINDS:
        raise Invalid(gettext(MSG_KIND))
    title = _text(title, TITLE_MAX, MSG_TITLE)
    note = _text(note, NOTE_MAX, MSG_NOTE, required=False)
    version = version.strip() if isinstance(version, str) else ""
    if (kind == INSTALLER or version) and not VERSION.fullmatch(version):
        raise Invalid(gettext(MSG_VERSION))
    if stream is None:
        raise Invalid(gettext(MSG_NO_FILE))
    name = clean_filename(filename, default="")
    head = stream.read(content.HEAD_BYTES)
    if not head:
        raise Invalid(gettext(MSG_NO_FILE))
    fmt = content.sniff(head, name, kind)
    if fmt is None:
        raise Invalid(gettext(MSG_FORMAT, name=name or "?", accepted=content.accepted_names(kind)))
    stream.seek(0)
    blob = current_store().put_stream(stream, namespace=NAMESPACE, suffix=fmt.suffix,
                                      max_bytes=upload_limit())
    now = clock.now()
    actor_name = getattr(actor, "username", None)
    with unit_of_work(session):
        item = SupportItem(kind=kind, title=title, version=version, note=note,
                           storage_key=blob.key, filename=content.download_name(name, fmt),
                           size=blob.size, sha256=blob.sha256, content_type=fmt.content_type,
                           status=PUBLISHED, published_at=now, published_by=actor_name)
        session.add(item)
        session.flush()
        audit.record(session, "support_item_published", "support_item", str(item.id),
                     actor=actor, detail={"kind": kind, "title": title, "version": version,
                                          "filename": item.filename, "size": blob.size,
                                          "sha256": blob.sha256})
    return item


def retire_item(session, actor, item_id):
    """Take a published item off the page (its row and file stay). Returns whether it changed."""
    with unit_of_work(session):
        item = _row(session, SupportItem, item_id, MSG_NO_ITEM)
        if item.status == RETIRED:
            return False
        item.status = RETIRED
        item.retired_at = clock.now()
        item.retired_by = getattr(actor, "username", None)
        audit.record(session, "support_item_retired", "support_item", str(item.id), actor=actor,
                     detail={"kind": item.kind, "title": item.title, "version": item.version})
    return True


def published_items(session):
    """Published items, by kind in page order, newest first within a kind."""
    with session.no_autoflush:
        rows = session.execute(select(SupportItem).where(SupportItem.status == PUBLISHED)
                               .order_by(SupportItem.published_at.desc(),
                                         SupportItem.id.desc())).scalars().all()
    return {kind: [row for row in rows if row.kind == kind] for kind in KINDS}


def all_items(session):
    return session.execute(select(SupportItem).order_by(SupportItem.id.desc())).scalars().all()


def current_installer(session):
    """The newest published installer, or None."""
    with session.no_autoflush:
        return session.execute(select(SupportItem).where(
            SupportItem.kind == INSTALLER, SupportItem.status == PUBLISHED).order_by(
            SupportItem.published_at.desc(), SupportItem.id.desc()).limit(1)).scalar_one_or_none()


def published_item(session, item_id):
    item = session.get(SupportItem, item_id)
    if item is None or item.status != PUBLISHED:
        raise NotFound(gettext(MSG_NO_ITEM))
    return item


# --- FAQ ---------------------------------------------------------------------------------------
def faq_entries(session):
    with session.no_autoflush:
        return session.execute(select(FaqEntry).order_by(FaqEntry.position, FaqEntry.id)
                               ).scalars().all()


def add_faq(session, actor, question, answer):
    question = _text(question, QUESTION_MAX, MSG_QUESTION)
    answer = _text(answer, ANSWER_MAX, MSG_ANSWER)
    with unit_of_work(session):
        count = len(session.execute(select(FaqEntry.id)).all())
        if count >= FAQ_MAX_ENTRIES:
            raise Invalid(gettext(MSG_FAQ_FULL, max=FAQ_MAX_ENTRIES))
        entry = FaqEntry(question=question, answer=answer, position=count,
                         updated_at=clock.now(), updated_by=getattr(actor, "username", None))
        session.add(entry)
        session.flush()
        audit.record(session, "support_faq_added", "support_faq", str(entry.id), actor=actor,
                     detail={"question": question, "answer": answer})
    return entry


def delete_faq(session, actor, entry_id):
    with unit_of_work(session):
        entry = _row(session, FaqEntry, entry_id, MSG_NO_FAQ)
        audit.record(session, "support_faq_deleted", "support_faq", str(entry.id), actor=actor,
                     detail={"question": entry.question, "answer": entry.answer})
        session.delete(entry)


# --- the hotline and mail ----------------------------------------------------------------------
def contact(session):
    """(hotline, mail): the administrator's values, else SUPPORT_HOTLINE / SUPPORT_MAIL."""
    with session.no_autoflush:
        stored = dict(session.execute(select(PublicSetting.key, PublicSetting.value).where(
            PublicSetting.key.in_((HOTLINE_KEY, MAIL_KEY)))).all())
    config = current_app.config
    return (stored.get(HOTLINE_KEY) or config.get("SUPPORT_HOTLINE", ""),
            stored.get(MAIL_KEY) or config.get("SUPPORT_MAIL", ""))


def set_contact(session, actor, hotline, mail):
    """Store the hotline and mail shown on the page (empty: config's); one audit row."""
    values = {}
    for key, value in ((HOTLINE_KEY, hotline), (MAIL_KEY, mail)):
        text = " ".join(value.split()) if isinstance(value, str) else ""
        if len(text) > CONTACT_MAX:
            raise Invalid(gettext(MSG_CONTACT, max=CONTACT_MAX))
        values[key] = text
    with unit_of_work(session):
        rows = {key: session.get(PublicSetting, key) for key in values}
        before = {key: row.value if row is not None else "" for key, row in rows.items()}
        if before == values:
            return False
        for key, text in values.items():
            store_setting(session, key, text, actor)
        audit.record(session, "support_contact_changed", "public_setting", "support_contact",
                     actor=actor, detail={"before": before, "after": values})
    return True
