"""The user of pucha: FAB's user plus the organising unit it acts for, password and lock state."""
from flask_appbuilder import Model
from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext
from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.orm import object_session, relationship

from app import clock


def N_(text):
    """Mark ``text`` for extraction only; it is translated where it is shown."""
    return text


class PuchaUser(User):
    __tablename__ = "ab_user"

    org_id = Column(Integer, ForeignKey("org.id"), nullable=True, index=True)
    # The generated initial password is kept readable until the user replaces it, because the
    # parent unit must be able to hand it out (SPEC §2 account table); it is cleared on change.
    initial_password = Column(String(64), nullable=True)
    must_change_password = Column(Boolean, nullable=False, default=True)
    password_changed_at = Column(DateTime, nullable=True)
    # Moved forward by every password change, set and reset: sessions and API tokens obtained
    # before it stop working, so a reset ends whatever a lost or stolen password had opened.
    credentials_changed_at = Column(DateTime, nullable=True)
    # Moved forward by logout: the account's sessions and tokens from before it stop working too
    # (app/accounts/logout.py).
    sessions_ended_at = Column(DateTime, nullable=True)
    # The account-wide lock (docs/security.md "Failed logins"): set only after many failures
    # from many addresses, and not applied to an address the account has logged in from. In the
    # database, not in memory, so it holds across every app process. ``fail_login_count``
    # (FAB's column) counts the failures in a row from every address.
    locked_until = Column(DateTime, nullable=True)

    org = relationship("Org", foreign_keys=[org_id])

    # --- derived labels for lists and the account table ---------------------------------------
    @property
    def lock_ends(self):
        """When the latest lock on this account ends (account-wide or from one address), or None
        when nothing is locked now."""
        now = clock.now()
        ends = [self.locked_until] if self.locked_until is not None else []
        session = object_session(self)
        if session is not None and self.id is not None:
            # One small query per account: lists show at most a page, the account table a unit's
            # direct sub-units.
            ends.append(session.scalar(select(func.max(LoginThrottle.locked_until)).where(
                LoginThrottle.user_id == self.id)))
        ends = [t for t in ends if t is not None and t > now]
        return max(ends) if ends else None

    @property
    def is_locked(self):
        return self.lock_ends is not None

    @property
    def has_initial_password(self):
        """True while the account still opens with its generated initial password."""
        return self.password is None and bool(self.initial_password)

    def status_name(self):
        """The status in Chinese, as the account table (an official document) prints it."""
        if not self.active:
            return N_("已停用")
        return N_("已锁定") if self.is_locked else N_("正常")

    def status_label(self):
        """The status in the viewer's language, for lists."""
        return gettext(self.status_name())

    def initial_password_label(self):
        return gettext("未修改") if self.has_initial_password else gettext("已修改")

    def org_name(self):
        return self.org.name if self.org is not None else ""


class LoginThrottle(Model):
    """Failed logins of one account from one source address, and that pair's lock.

    A lock is per (account, address) first, so that an outsider typing wrong passwords locks out
    itself, not the unit that owns the account. ``locks`` counts the locks in a row: each one
    lasts twice as long as the one before. ``last_success_at`` marks an address the account has
    logged in from; the account-wide lock does not apply to it.
    """

    __tablename__ = "login_throttle"
    __table_args__ = (UniqueConstraint("user_id", "address", name="uq_login_throttle_source"),)

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("ab_user.id", ondelete="CASCADE"), nullable=False)
    address = Column(String(64), nullable=False)
    failures = Column(Integer, nullable=False, default=0)
    locks = Column(Integer, nullable=False, default=0)
    last_failure_at = Column(DateTime, nullable=True)
    locked_until = Column(DateTime, nullable=True, index=True)
    last_success_at = Column(DateTime, nullable=True)
