"""Failed logins: counted per (account, source address) first, account-wide only far later.

The design and its reasons are in docs/security.md ("Failed logins", OWASP ASVS V2.2). In short:

- ``LOCKOUT_THRESHOLD`` failures in a row of one account from one address lock that account *for
  that address* for ``LOCKOUT_MINUTES``; each further lock in a row lasts twice as long (capped at
  ``LOCKOUT_MAX_MINUTES``). Other addresses are not affected, so an outsider who types wrong
  passwords locks out itself, not the unit that owns the account.
- ``LOCKOUT_ACCOUNT_THRESHOLD`` failures in a row from all addresses together lock the account
  for ``LOCKOUT_ACCOUNT_MINUTES`` for every address it has never logged in from: a guesser
  spread over many addresses is bounded too, and the unit's own office still gets in.
- While locked the password is not checked at all; the answer is the same whatever was typed.

All state lives in the database (``login_throttle`` and two ``ab_user`` columns) and every count
is an SQL increment, so several app processes see and add to the same numbers.
"""
import dataclasses
import datetime

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from app.accounts.models import LoginThrottle, PuchaUser

SOURCE = "source"
ACCOUNT = "account"
# The address recorded when there is no request (a script calling the security manager).
NO_ADDRESS = "-"
ADDRESS_LENGTH = 64


@dataclasses.dataclass(frozen=True)
class Lock:
    """A refusal to check any password: until when, and whether it holds for one address only."""

    until: datetime.datetime
    scope: str


@dataclasses.dataclass(frozen=True)
class Failure:
    """What one more failed login did: the counts after it, and the lock it set (or None)."""

    source_failures: int
    account_failures: int
    lock: Lock | None


def lock_message(lock, now):
    """What a locked user reads, whichever password was typed: until when, and who can unlock."""
    until = lock.until
    when = f"{until:%H:%M}" if until.date() == now.date() else f"{until:%Y-%m-%d %H:%M}"
    return gettext("该账号因多次输入错误已暂时锁定，请于 %(until)s 后重试，或请上级单位 / 系统管理员解锁",
                   until=when)


def attempts_left(failures_in_a_row):
    """Failed logins from one address still allowed before the lock, after ``failures_in_a_row``;
    None when the lockout is off."""
    per_source = threshold()
    if per_source <= 0:
        return None
    return max(per_source - failures_in_a_row, 0)


def _setting(name, default):
    return int(current_app.config.get(name, default))


def threshold():
    return _setting("LOCKOUT_THRESHOLD", 5)


def account_threshold():
    return _setting("LOCKOUT_ACCOUNT_THRESHOLD", 50)


def source_lock_minutes(locks_in_a_row):
    """Minutes of the n-th lock in a row from one address: LOCKOUT_MINUTES, doubling, capped."""
    first = _setting("LOCKOUT_MINUTES", 15)
    cap = max(_setting("LOCKOUT_MAX_MINUTES", 24 * 60), first)
    return min(first * 2 ** max(locks_in_a_row - 1, 0), cap)


def normalise_address(address):
    return (address or NO_ADDRESS)[:ADDRESS_LENGTH]


def _pair(session, user_id, address):
    return session.execute(select(LoginThrottle).where(
        LoginThrottle.user_id == user_id, LoginThrottle.address == address)).scalars().first()


def _ensure_pair(session, user_id, address):
    """Create the (account, address) row unless another request already has: an atomic insert,
    so two processes counting the first failure at once do not collide."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(LoginThrottle).values(
        user_id=user_id, address=address, failures=0, locks=0).on_conflict_do_nothing(
        index_elements=["user_id", "address"]))


def current_lock(session, user, address, now):
    """The lock that refuses this login attempt, or None when the password may be checked."""
    address = normalise_address(address)
    pair = _pair(session, user.id, address)
    if pair is not None and pair.locked_until is not None and pair.locked_until > now:
        return Lock(pair.locked_until, SOURCE)
    known_address = pair is not None and pair.last_success_at is not None
    if user.locked_until is not None and user.locked_until > now and not known_address:
        return Lock(user.locked_until, ACCOUNT)
    return None


def record_failure(session, user, address, now):
    """Count one failed login of ``user`` from ``address``; lock when a threshold is reached."""
    address = normalise_address(address)
    _ensure_pair(session, user.id, address)
    source_failures = session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.user_id == user.id, LoginThrottle.address == address)
        .values(failures=LoginThrottle.failures + 1, last_failure_at=now)
        .returning(LoginThrottle.failures)
        .execution_options(synchronize_session=False)).scalar_one()
    account_failures = session.execute(
        update(PuchaUser).where(PuchaUser.id == user.id)
        .values(fail_login_count=func.coalesce(PuchaUser.fail_login_count, 0) + 1)
        .returning(PuchaUser.fail_login_count)
        .execution_options(synchronize_session=False)).scalar_one()

    lock = None
    per_source = threshold()
    if per_source > 0 and source_failures >= per_source:
        # The condition on ``failures`` makes the lock happen once when concurrent failures all
        # pass the threshold: only the first UPDATE still finds the count at or above it.
        locks = session.execute(
            update(LoginThrottle)
            .where(LoginThrottle.user_id == user.id, LoginThrottle.address == address,
                   LoginThrottle.failures >= per_source)
            .values(failures=0, locks=LoginThrottle.locks + 1)
            .returning(LoginThrottle.locks)
            .execution_options(synchronize_session=False)).scalar_one_or_none()
        if locks is not None:
            until = now + datetime.timedelta(minutes=source_lock_minutes(locks))
            session.execute(
                update(LoginThrottle)
                .where(LoginThrottle.user_id == user.id, LoginThrottle.address == address)
                .values(locked_until=until)
                .execution_options(synchronize_session=False))
            lock = Lock(until, SOURCE)

    per_account = account_threshold()
    if per_account > 0 and account_failures >= per_account:
        until = now + datetime.timedelta(minutes=_setting("LOCKOUT_ACCOUNT_MINUTES", 60))
        changed = session.execute(
            update(PuchaUser)
            .where(PuchaUser.id == user.id, PuchaUser.fail_login_count >= per_account)
            .values(fail_login_count=0, locked_until=until)
            .execution_options(synchronize_session=False)).rowcount
        if changed and lock is None:
            lock = Lock(until, ACCOUNT)
        elif changed:
            lock = Lock(max(until, lock.until), ACCOUNT)
    return Failure(source_failures, account_failures, lock)


def record_success(session, user, address, now):
    """A right password from ``address``: its series restarts and the address becomes known."""
    address = normalise_address(address)
    _ensure_pair(session, user.id, address)
    session.execute(
        update(LoginThrottle)
        .where(LoginThrottle.user_id == user.id, LoginThrottle.address == address)
        .values(failures=0, locks=0, locked_until=None, last_success_at=now)
        .execution_options(synchronize_session=False))


def lift(session, user, now):
    """Lift every lock of ``user`` and restart every series; return what was locked (for the
    audit): ``{"account": iso time or None, "addresses": [addresses that were locked]}``."""
    locked_addresses = session.execute(
        select(LoginThrottle.address).where(LoginThrottle.user_id == user.id,
                                            LoginThrottle.locked_until > now)
        .order_by(LoginThrottle.address)).scalars().all()
    session.execute(
        update(LoginThrottle).where(LoginThrottle.user_id == user.id)
        .values(failures=0, locks=0, locked_until=None)
        .execution_options(synchronize_session=False))
    account_until = user.locked_until if user.locked_until and user.locked_until > now else None
    user.locked_until = None
    user.fail_login_count = 0
    return {"account": account_until.isoformat(timespec="minutes") if account_until else None,
            "addresses": list(locked_addresses)}
