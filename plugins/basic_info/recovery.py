"""标识码找回 (seed 004 §10, SPEC §8): re-send a completed website's 网站标识码 and 校验码 to the
负责人 and 联系人 addresses on file.

A visitor types the website (its 网站名称 or its 首页网址) and one contact detail on file (the
负责人's or the 联系人's e-mail or mobile). What the visitor learns is the same whether or not
that matched, and it takes the same time (docs/basic-info.md "标识码找回"):

- the codes are never shown, and never sent to an address the visitor typed: only to the two
  addresses stored on the form (which may of course be the one typed);
- every request goes through the same lookup (one query by site name or website key), the same
  per-website counter, one audit row and one commit; a match adds the outbox rows in that
  commit, and the mail worker sends them later, so the request never waits on SMTP;
- the per-website limit (``SITE_RECOVER_LIMIT``) bounds how many mails one website's
  addresses get, however many visitors ask; over it the answer is the same and no mail is queued.
  Flask-Limiter's storage counts it (Redis in production), beside the per-address limit of the
  page itself.
"""
from __future__ import annotations

import hashlib
import unicodedata

from flask import current_app, has_app_context
from limits import parse_many
from sqlalchemy import or_, select

from app.audit import record
from app.errors import Invalid
from app.forms.schema import website_key
from app.i18n_text import N_, gettext
from app.transactions import unit_of_work
from plugins.basic_info.completion import queue_mails, recipients
from plugins.basic_info.models import BasicInfoForm

# Bounded cost: longer input cannot be any stored website or contact (网站名称 ≤ 100,
# 首页网址 ≤ 300, e-mail ≤ 254 in the schema), so it is refused before any query.
SITE_MAX = 300
CONTACT_MAX = 254
# Websites one request may match (one name can be several websites; the contact narrows it).
MATCH_MAX = 5

MSG_SITE_REQUIRED = N_("请填写网站名称或首页网址")
MSG_CONTACT_REQUIRED = N_("请填写负责人或联系人的电子邮箱或手机号码")
MSG_TOO_LONG = N_("%(label)s过长（最多 %(max)s 个字符）")
LABEL_SITE = N_("网站名称或首页网址")
LABEL_CONTACT = N_("负责人或联系人的电子邮箱或手机号码")


def _clean(text, limit):
    """NFKC and stripped; a text far over ``limit`` is only cut (it is refused as too long
    anyway), so a huge field costs no normalisation."""
    text = text if isinstance(text, str) else ""
    return unicodedata.normalize("NFKC", text[:limit * 4]).strip() + text[limit * 4:]


def check_input(site, contact):
    """The cleaned (site, contact), or Invalid naming what is missing or too long. Depends on
    the input only, never on what is stored."""
    site, contact = _clean(site, SITE_MAX), _clean(contact, CONTACT_MAX)
    errors = []
    if not site:
        errors.append(gettext(MSG_SITE_REQUIRED))
    elif len(site) > SITE_MAX:
        errors.append(gettext(MSG_TOO_LONG, label=gettext(LABEL_SITE), max=SITE_MAX))
    if not contact:
        errors.append(gettext(MSG_CONTACT_REQUIRED))
    elif len(contact) > CONTACT_MAX:
        errors.append(gettext(MSG_TOO_LONG, label=gettext(LABEL_CONTACT), max=CONTACT_MAX))
    if errors:
        raise Invalid("；".join(errors), errors)
    return site, contact


def _digits(text):
    return "".join(ch for ch in text if ch.isdigit())


def contact_matches(form, contact):
    """Whether ``contact`` is the 负责人's or the 联系人's e-mail (any case) or mobile on file."""
    if "@" in contact:
        typed = contact.lower()
        return any(typed == (addr or "").strip().lower()
                   for addr in (form.principal_email, form.contact_email))
    typed = _digits(contact)
    return len(typed) == 11 and any(typed == _digits(mobile or "")
                                    for mobile in (form.principal_mobile, form.contact_mobile))


def find_sites(session, site, contact):
    """The completed websites named ``site`` (by 网站名称, or by 首页网址 as a website key) whose
    负责人 or 联系人 has ``contact`` on file; at most MATCH_MAX."""
    key = website_key(site)
    named = [BasicInfoForm.site_name == site]
    if key:
        named.append(BasicInfoForm.site_key == key)
    rows = session.execute(
        select(BasicInfoForm.id, BasicInfoForm.importer_id, BasicInfoForm.site_name,
               BasicInfoForm.home_url, BasicInfoForm.site_code, BasicInfoForm.check_code,
               BasicInfoForm.principal_name, BasicInfoForm.principal_email,
               BasicInfoForm.principal_mobile, BasicInfoForm.contact_name,
               BasicInfoForm.contact_email, BasicInfoForm.contact_mobile)
        .where(or_(*named), BasicInfoForm.site_code.is_not(None))
        .order_by(BasicInfoForm.id).limit(50)).all()
    return [row for row in rows if contact_matches(row, contact)][:MATCH_MAX]


def _site_limit():
    return current_app.config.get("SITE_RECOVER_LIMIT", "") if has_app_context() else ""


def _within_site_limit(key):
    """Count one recovery for the website ``key`` (a site code, or what was typed when nothing
    matched: the same work either way); False when the website is over SITE_RECOVER_LIMIT."""
    limit = _site_limit()
    # The limiter FAB creates, on RATELIMIT_STORAGE_URI (Redis in production); off with
    # RATELIMIT_ENABLED as every limit is.
    limiter = current_app.appbuilder.sm.limiter
    if not limit or not limiter.enabled:
        return True
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    allowed = True
    for item in parse_many(limit):
        allowed = limiter.limiter.hit(item, "pucha-site-recover", digest) and allowed
    return allowed


def recovery_subject(form):
    return f"【全国政府网站普查】“{form.site_name}”的网站标识码和校验码（标识码找回）"


def recovery_body(form, name):
    greeting = f"{name}：" if name and name != "无" else "您好："
    return (
        f"{greeting}\n\n"
        f"有人在全国政府网站普查报送系统首页的“标识码找回”中申请重新发送以下网站的网站标识码和校验码。"
        f"本邮件只发送到该网站基本信息表中登记的负责人和联系人邮箱。\n\n"
        f"网站名称：{form.site_name}\n"
        f"首页网址：{form.home_url}\n"
        f"网站标识码：{form.site_code}\n"
        f"校验码：{form.check_code}\n\n"
        f"请使用“全国政府网站信息报送客户端”新建“全国政府网站普查评分表”，输入上述网站标识码和校验码，"
        f"通过验证后填写自查评分。\n\n"
        f"如果不是贵单位申请的，请忽略本邮件：网站标识码和校验码没有显示给申请人，也没有发送到其他地址。"
        f"请妥善保管，不要转发给无关人员。\n\n"
        f"本邮件由全国政府网站普查报送系统自动发送，请勿直接回复。\n"
    )


def recovery_mails(form):
    return [(addr, recovery_subject(form), recovery_body(form, name), "basic_info", form.id)
            for name, addr in recipients(form)]


def request_recovery(session, site, contact, address=None):
    """标识码找回: queue the codes of the matching completed websites to their 负责人 and 联系人,
    audit the request, commit. Returns nothing a caller could show: the answer must not depend
    on the outcome. Invalid (before any query) when a field is missing or too long."""
    site, contact = check_input(site, contact)
    with unit_of_work(session):
        matches = find_sites(session, site, contact)
        detail = {"address": (address or "")[:64] or None, "site": site[:100],
                  "contact_kind": "email" if "@" in contact else "mobile"}
        keys = [m.site_code for m in matches] or [website_key(site) or site]
        allowed = [_within_site_limit(key) for key in keys]
        if not matches:
            record(session, "site_codes_recovery", "basic_info", None,
                   detail=dict(detail, outcome="no_match"))
            return
        mails = []
        for form, ok in zip(matches, allowed):
            outcome = "queued" if ok else "site_limited"
            if ok:
                mails.extend(recovery_mails(form))
            record(session, "site_codes_recovery", "basic_info", form.id,
                   org_id=form.importer_id,
                   detail=dict(detail, outcome=outcome, site_code=form.site_code))
        queue_mails(session, mails)
