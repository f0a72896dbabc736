"""The filler's check of 网站标识码 + 校验码 (SPEC §4, §8), its throttle, and the token it returns.

``verify_site`` is what ``POST /api/v1/client/site/verify`` calls (plugins/basic_info/public.py).
On a match it returns the website as the filler shows it for confirmation and a token; on a
mismatch a generic refusal that does not say which of the two codes was wrong. The design and
its numbers are in docs/security.md ("Site verification"):

- The 校验码 is compared in constant time (``hmac.compare_digest``), also against a dummy when the
  网站标识码 is unknown, so the answer's timing says nothing about which part was wrong.
- Failures are counted per (网站标识码, client address) in ``basic_info_site_verify_throttle``,
  as the login lockout counts per (account, address): after SITE_VERIFY_SLOWDOWN_AFTER failures
  in a row each further attempt from that address must wait (5 s, 10 s, 20 s …), after
  SITE_VERIFY_THRESHOLD it is locked for that address (15 min, doubling per lock in a row, capped
  at SITE_VERIFY_MAX_MINUTES). An outsider who guesses locks out itself, not the unit.
- Failures from all addresses together (the row with the address ``*``) lock the code for
  SITE_VERIFY_CODE_MINUTES, a fixed time that never grows, and only for addresses that have never
  verified that code: a guesser spread over many addresses is bounded too, a unit that verified
  once keeps working, and nobody can lock a code for good.
- While locked the 校验码 is not compared at all.
- Only codes that exist are counted (the table cannot be filled with invented codes); the
  网站标识码 is public once issued (plugins.basic_info.identity), so the difference says nothing
  secret.

The token (``issue_site_token`` / ``check_site_token``) is an itsdangerous signature of
(网站标识码, purpose, a fingerprint of the 校验码) with the app's SECRET_KEY, valid for
SITE_TOKEN_MINUTES: it authorises one purpose ("self_check": that website's self-check
submission) for one website, and dies early when the 校验码 is re-issued.
"""
from __future__ import annotations

import dataclasses
import datetime
import hashlib
import hmac
import math
import unicodedata

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from app import clock
from app.audit import record
from app.errors import DomainError, Invalid, NotAllowed
from app.i18n_text import N_, gettext
from app.plugins import get_plugin_manager
from app.transactions import unit_of_work
from plugins.basic_info.models import BasicInfoForm, SiteVerifyThrottle

SELF_CHECK = "self_check"
TOKEN_SALT = "pucha.basic_info.site-token"
ALL_ADDRESSES = "*"
NO_ADDRESS = "-"
ADDRESS_LENGTH = 64
SITE_CODE_MAX = 16
CHECK_CODE_MAX = 8
# Compared when the 网站标识码 is unknown, so both paths do the same work.
_DUMMY_CHECK = "ZZZZZZ"

MSG_MISMATCH = N_("网站标识码或校验码不正确，请核对后重新输入（网站标识码和校验码见办结邮件；"
                  "如已遗忘，请在报送系统首页“标识码找回”）")
MSG_LOCKED = N_("该网站标识码校验失败次数过多，已暂时锁定，请于 %(seconds)s 秒后再试")
MSG_REQUIRED = N_("请输入网站标识码和校验码")
MSG_TOO_LONG = N_("网站标识码或校验码过长，请核对后重新输入")
MSG_TOKEN_INVALID = N_("网站验证无效，请在客户端重新输入网站标识码和校验码")
MSG_TOKEN_EXPIRED = N_("网站验证已过期，请在客户端重新输入网站标识码和校验码")


class SiteMismatch(NotAllowed):
    """网站标识码 and 校验码 do not match a completed website (the generic refusal)."""

    def __init__(self):
        super().__init__(gettext(MSG_MISMATCH))


class SiteLocked(DomainError):
    """Too many failures: the code is not checked until ``retry_after`` seconds have passed."""

    status = 429

    def __init__(self, until, now):
        self.until = until
        self.retry_after = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(gettext(MSG_LOCKED, seconds=self.retry_after))


class SiteTokenInvalid(NotAllowed):
    """A site token that is forged, for another purpose, expired or outdated."""


@dataclasses.dataclass(frozen=True)
class VerifiedSite:
    form: BasicInfoForm
    token: str
    expires_in: int
    facts: dict

    def to_dict(self):
        form = self.form
        return {"site_code": form.site_code, "site_name": form.site_name,
                "home_url": form.home_url, "supervisor_unit": form.supervisor_unit,
                "filing_unit": form.filing_unit, "province": form.province or "",
                "city": form.city or "", "county": form.county or "",
                "is_portal": form.is_portal,
                "self_check_exists": bool(self.facts.get("self_check_exists")),
                "facts": self.facts, "token": self.token, "token_purpose": SELF_CHECK,
                "token_expires_in": self.expires_in}


# --- settings --------------------------------------------------------------------------------
def _setting(name, default):
    return int(current_app.config.get(name, default))


def slowdown_seconds(failures):
    """The wait after the ``failures``-th failure in a row from one address, or 0."""
    after = _setting("SITE_VERIFY_SLOWDOWN_AFTER", 3)
    if after <= 0 or failures < after:
        return 0
    return _setting("SITE_VERIFY_SLOWDOWN_SECONDS", 5) * 2 ** (failures - after)


def lock_minutes(locks_in_a_row):
    first = _setting("SITE_VERIFY_LOCK_MINUTES", 15)
    cap = max(_setting("SITE_VERIFY_MAX_MINUTES", 24 * 60), first)
    return min(first * 2 ** max(locks_in_a_row - 1, 0), cap)


def token_seconds():
    return _setting("SITE_TOKEN_MINUTES", 30) * 60


# --- the throttle ----------------------------------------------------------------------------
def normalise_address(address):
    return (address or NO_ADDRESS)[:ADDRESS_LENGTH]


def _row(session, code, address):
    return session.execute(select(SiteVerifyThrottle).where(
        SiteVerifyThrottle.site_code == code, SiteVerifyThrottle.address == address)
    ).scalars().first()


def _ensure_row(session, code, address):
    """An atomic insert of a zero row, so two processes counting a first failure do not collide."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(SiteVerifyThrottle).values(
        site_code=code, address=address, failures=0, locks=0).on_conflict_do_nothing(
        index_elements=["site_code", "address"]))


def _where(code, address):
    return (SiteVerifyThrottle.site_code == code, SiteVerifyThrottle.address == address)


def current_lock(session, code, address, now):
    """Until when ``code`` is not checked for ``address`` (a datetime), or None."""
    pair = _row(session, code, address)
    if pair is not None and pair.locked_until is not None and pair.locked_until > now:
        return pair.locked_until
    everyone = _row(session, code, ALL_ADDRESSES)
    known = pair is not None and pair.last_success_at is not None
    if (everyone is not None and everyone.locked_until is not None
            and everyone.locked_until > now and not known):
        return everyone.locked_until
    return None


def record_failure(session, code, address, now):
    """Count one failed check of ``code`` from ``address``; slow down or lock when a threshold is
    reached. Returns the lock's end, or None."""
    for who in (address, ALL_ADDRESSES):
        _ensure_row(session, code, who)
    failures = session.execute(
        update(SiteVerifyThrottle).where(*_where(code, address))
        .values(failures=SiteVerifyThrottle.failures + 1, last_failure_at=now)
        .returning(SiteVerifyThrottle.failures)
        .execution_options(synchronize_session=False)).scalar_one()
    until = None
    threshold = _setting("SITE_VERIFY_THRESHOLD", 6)
    if threshold > 0 and failures >= threshold:
        # Only the first of concurrent failures past the threshold still finds the count there.
        locks = session.execute(
            update(SiteVerifyThrottle)
            .where(*_where(code, address), SiteVerifyThrottle.failures >= threshold)
            .values(failures=0, locks=SiteVerifyThrottle.locks + 1)
            .returning(SiteVerifyThrottle.locks)
            .execution_options(synchronize_session=False)).scalar_one_or_none()
        if locks is not None:
            until = now + datetime.timedelta(minutes=lock_minutes(locks))
    elif slowdown_seconds(failures):
        until = now + datetime.timedelta(seconds=slowdown_seconds(failures))
    if until is not None:
        session.execute(update(SiteVerifyThrottle).where(*_where(code, address))
                        .values(locked_until=until)
                        .execution_options(synchronize_session=False))

    all_failures = session.execute(
        update(SiteVerifyThrottle).where(*_where(code, ALL_ADDRESSES))
        .values(failures=SiteVerifyThrottle.failures + 1, last_failure_at=now)
        .returning(SiteVerifyThrottle.failures)
        .execution_options(synchronize_session=False)).scalar_one()
    code_threshold = _setting("SITE_VERIFY_CODE_THRESHOLD", 60)
    if code_threshold > 0 and all_failures >= code_threshold:
        # A fixed time, never growing: the code-wide lock bounds a spread-out guesser without
        # being a way to keep a unit out for good.
        code_until = now + datetime.timedelta(minutes=_setting("SITE_VERIFY_CODE_MINUTES", 60))
        session.execute(
            update(SiteVerifyThrottle)
            .where(*_where(code, ALL_ADDRESSES), SiteVerifyThrottle.failures >= code_threshold)
            .values(failures=0, locked_until=code_until)
            .execution_options(synchronize_session=False))
    return until


def record_success(session, code, address, now):
    """A right 校验码 from ``address``: its series restarts, the address becomes known, and the
    code-wide series restarts too."""
    for who in (address, ALL_ADDRESSES):
        _ensure_row(session, code, who)
    session.execute(update(SiteVerifyThrottle).where(*_where(code, address))
                    .values(failures=0, locks=0, locked_until=None, last_success_at=now)
                    .execution_options(synchronize_session=False))
    session.execute(update(SiteVerifyThrottle).where(*_where(code, ALL_ADDRESSES))
                    .values(failures=0)
                    .execution_options(synchronize_session=False))


# --- the check -------------------------------------------------------------------------------
def _clean(value, upper=False):
    if not isinstance(value, str):
        return ""
    text = unicodedata.normalize("NFKC", value).strip()
    return text.upper() if upper else text.lower()


def check_input(site_code, check_code):
    """The cleaned (网站标识码, 校验码), or Invalid (before anything is read)."""
    code, check = _clean(site_code), _clean(check_code, upper=True)
    if not code or not check:
        raise Invalid(gettext(MSG_REQUIRED))
    if len(code) > SITE_CODE_MAX or len(check) > CHECK_CODE_MAX:
        raise Invalid(gettext(MSG_TOO_LONG))
    return code, check


def site_facts(session, form):
    """What the plugins know about a completed website (the ``site_facts`` hook), merged."""
    facts = {}
    for answer in get_plugin_manager().hook.site_facts(session=session, site_code=form.site_code):
        if isinstance(answer, dict):
            facts.update(answer)
    return facts


def verify_site(session, site_code, check_code, address=None):
    """Check 网站标识码 + 校验码 from ``address``; audit the attempt and commit its counts.
    Returns a VerifiedSite; raises SiteMismatch, SiteLocked or Invalid."""
    code, check = check_input(site_code, check_code)
    address = normalise_address(address)
    now = clock.now()
    refusal = None
    with unit_of_work(session):
        form = session.execute(select(BasicInfoForm).where(
            BasicInfoForm.site_code == code)).scalars().first()
        detail = {"address": address, "site_code": code}
        if form is None:
            hmac.compare_digest(check.encode(), _DUMMY_CHECK.encode())
            refusal = SiteMismatch()
            record(session, "site_verify", "basic_info", None,
                   detail=dict(detail, outcome="unknown_code"))
        else:
            audit = dict(object_id=form.id, org_id=form.importer_id)
            until = current_lock(session, code, address, now)
            if until is not None:
                refusal = SiteLocked(until, now)
                record(session, "site_verify", "basic_info", **audit,
                       detail=dict(detail, outcome="locked"))
            elif hmac.compare_digest(check.encode(), (form.check_code or "").encode()):
                record_success(session, code, address, now)
                record(session, "site_verify", "basic_info", **audit,
                       detail=dict(detail, outcome="verified"))
            else:
                until = record_failure(session, code, address, now)
                refusal = SiteMismatch()
                record(session, "site_verify", "basic_info", **audit,
                       detail=dict(detail, outcome="mismatch",
                                   locked_until=until.isoformat(timespec="seconds")
                                   if until else None))
    if refusal is not None:
        raise refusal
    return VerifiedSite(form=form, token=issue_site_token(form), expires_in=token_seconds(),
                        facts=site_facts(session, form))


# --- the token -------------------------------------------------------------------------------
def _serializer():
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def _fingerprint(check_code):
    return hashlib.sha256(f"pucha-check:{check_code or ''}".encode()).hexdigest()[:16]


def issue_site_token(form, purpose=SELF_CHECK):
    """A signed, short-lived token for ``purpose`` on the website ``form`` (SITE_TOKEN_MINUTES)."""
    return _serializer().dumps({"site_code": form.site_code, "purpose": purpose,
                                "check": _fingerprint(form.check_code)})


def check_site_token(session, token, purpose=SELF_CHECK):
    """The completed website a token from ``issue_site_token`` authorises for ``purpose``.
    Raises SiteTokenInvalid when it is forged, expired, for another purpose or another website's
    校验码. The self-check submission calls this before it accepts anything."""
    if not isinstance(token, str) or not token or len(token) > 512:
        raise SiteTokenInvalid(gettext(MSG_TOKEN_INVALID))
    try:
        claims = _serializer().loads(token, max_age=token_seconds())
    except SignatureExpired:
        raise SiteTokenInvalid(gettext(MSG_TOKEN_EXPIRED)) from None
    except BadSignature:
        raise SiteTokenInvalid(gettext(MSG_TOKEN_INVALID)) from None
    if not isinstance(claims, dict) or claims.get("purpose") != purpose:
        raise SiteTokenInvalid(gettext(MSG_TOKEN_INVALID))
    form = session.execute(select(BasicInfoForm).where(
        BasicInfoForm.site_code == claims.get("site_code"))).scalars().first()
    if form is None or not hmac.compare_digest(str(claims.get("check", "")),
                                               _fingerprint(form.check_code)):
        raise SiteTokenInvalid(gettext(MSG_TOKEN_INVALID))
    return form
