"""Account operations: change, set and reset passwords, and who may manage whom.

The web views, the REST API, the CLI and the tests all call these; each one checks its own
preconditions (ownership included) before changing anything, writes its audit row, and leaves the
commit to the caller so the change and its audit row land together.
"""
import datetime

from flask_babel import gettext
from sqlalchemy import false, select, true

from app import audit
from app.accounts.models import PuchaUser
from app.accounts.passwords import (
    generate_initial_password,
    hash_password,
    password_problems,
    verify_password,
)
from app.orgs.models import Org
from app.orgs.scope import viewer_for


class AccountError(Exception):
    """A refused account operation; ``messages`` are shown to the user as they are."""

    status = 400

    def __init__(self, messages):
        if isinstance(messages, str):
            messages = [messages]
        self.messages = list(messages)
        super().__init__("；".join(self.messages))


class AccountNotFound(AccountError):
    status = 404


class AccountAccessDenied(AccountError):
    status = 403


def _now():
    return datetime.datetime.now()


def can_manage(actor, target):
    """The parent unit of the target's unit, or an administrator, manages an account."""
    if actor is None or target is None or actor.id == target.id:
        return False
    if viewer_for(actor).is_admin:
        return True
    if actor.org_id is None or target.org_id is None or target.org is None:
        return False
    return target.org.parent_id == actor.org_id


def managed_accounts_clause(actor):
    """SQL condition on PuchaUser for the accounts ``actor`` manages (``true()``: all)."""
    if viewer_for(actor).is_admin:
        return true()
    if actor is None or actor.org_id is None:
        return false()
    children = select(Org.id).where(Org.parent_id == actor.org_id)
    return PuchaUser.org_id.in_(children)


def load_managed_user(session, actor, username=None, pk=None):
    """Load an account the actor may manage, or raise (a scoped loader: never trust the row FAB's
    action machinery loaded, it ignores base filters)."""
    stmt = select(PuchaUser)
    stmt = stmt.where(PuchaUser.username == username) if username is not None else \
        stmt.where(PuchaUser.id == int(pk))
    target = session.execute(stmt).scalars().first()
    if target is None:
        raise AccountNotFound(gettext("账号不存在"))
    if not can_manage(actor, target):
        # The same wording whether the account is a sibling's, a parent's or one's own: the
        # actor learns nothing about accounts outside its reach.
        raise AccountAccessDenied(gettext("无权管理该账号：只有上级单位或系统管理员可以重置"))
    return target


def _store_new_password(user, new_password):
    user.password = hash_password(new_password)
    user.initial_password = None
    user.password_changed_at = _now()
    user.credentials_changed_at = user.password_changed_at
    user.changed_on = _now()
    user.locked_until = None
    user.fail_login_count = 0


def change_password(session, user, old_password, new_password, repeat=None):
    """The user replaces its own password (the forced first change included)."""
    problems = []
    if not verify_password(user, old_password or ""):
        problems.append(gettext("原密码不正确"))
    if repeat is not None and repeat != new_password:
        problems.append(gettext("两次输入的新密码不一致"))
    problems += password_problems(new_password, user)
    if problems:
        raise AccountError(problems)
    _store_new_password(user, new_password)
    user.must_change_password = False
    audit.record(session, "password_changed", "user", user.username, actor=user,
                 org_id=user.org_id)
    session.flush()
    return user


def set_password(session, actor, user, new_password):
    """An administrator (or the user itself through FAB's form) sets a chosen password.

    When someone else chooses it, the owner must still replace it at next login.
    """
    problems = password_problems(new_password, user)
    if problems:
        raise AccountError(problems)
    if actor is not None and actor.id != user.id and not viewer_for(actor).is_admin:
        raise AccountAccessDenied(gettext("只有系统管理员可以为他人设置密码"))
    _store_new_password(user, new_password)
    user.must_change_password = actor is not None and actor.id != user.id
    audit.record(session, "password_set", "user", user.username, actor=actor,
                 org_id=user.org_id)
    session.flush()
    return user


def reset_password(session, actor, target, reason=None):
    """Reset ``target`` to a new initial password; return it.

    Clears the hash (the account opens only with the new initial password), forces a change at
    next login, lifts any lock; the parent sees the new password in its account table.
    """
    if actor is not None and not can_manage(actor, target):
        raise AccountAccessDenied(gettext("无权管理该账号：只有上级单位或系统管理员可以重置"))
    new_password = generate_initial_password()
    target.password = None
    target.initial_password = new_password
    target.must_change_password = True
    target.locked_until = None
    target.fail_login_count = 0
    target.changed_on = _now()
    target.credentials_changed_at = target.changed_on
    audit.record(session, "password_reset", "user", target.username, actor=actor,
                 org_id=target.org_id, reason=reason,
                 detail={"by": "cli" if actor is None else "user"})
    session.flush()
    return new_password


def find_user(session, username):
    user = session.execute(select(PuchaUser).where(PuchaUser.username == username)
                           ).scalars().first()
    if user is None:
        raise AccountNotFound(gettext("账号 %(name)s 不存在", name=username))
    return user
