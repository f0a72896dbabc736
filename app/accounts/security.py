"""pucha's security manager: FAB's, with org accounts, lockout and the forced password change."""
from flask_appbuilder.security.sqla.manager import SecurityManager

from app.accounts.models import PuchaUser


class PuchaSecurityManager(SecurityManager):
    user_model = PuchaUser
