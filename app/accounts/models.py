"""The user of pucha: FAB's user plus the organising unit it acts for and password state."""
from flask_appbuilder.security.sqla.models import User
from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import relationship


class PuchaUser(User):
    __tablename__ = "ab_user"

    org_id = Column(Integer, ForeignKey("org.id"), nullable=True, index=True)
    # The generated initial password is kept readable until the user replaces it, because the
    # parent unit must be able to hand it out (SPEC §2 account table); it is cleared on change.
    initial_password = Column(String(64), nullable=True)
    must_change_password = Column(Boolean, nullable=False, default=True)
    password_changed_at = Column(DateTime, nullable=True)
    locked_until = Column(DateTime, nullable=True)

    org = relationship("Org", foreign_keys=[org_id])
