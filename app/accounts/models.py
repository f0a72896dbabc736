"""The user of pucha: FAB's user plus the organising unit it acts for and password state."""
import datetime

from flask_appbuilder.security.sqla.models import User
from flask_babel import gettext
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship


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
    # Kept in the database, not in memory, so a lock holds across every app process.
    locked_until = Column(DateTime, nullable=True)

    org = relationship("Org", foreign_keys=[org_id])

    # --- derived labels for lists and the account table ---------------------------------------
    @property
    def is_locked(self):
        return self.locked_until is not None and self.locked_until > datetime.datetime.now()

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
