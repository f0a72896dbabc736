"""Account operations: change, set and reset passwords, and who may manage whom.

The web views, the REST API, the CLI and the tests all call these; each one checks its own
preconditions (ownership included) before changing anything, writes its audit row, and leaves the
commit to the caller so the change and its audit row land together.
"""
from flask import current_app, has_request_context, request
from flask_babel import gettext
from sqlalchemy import false, select, true

from app import audit, clock
from app.accounts import lockout
from app.accounts.models import PuchaUser
from app.accounts.passwords import (
    generate_initial_password,
    hash_password,
    password_problems,
    verify_password,
)
from app.orgs.models import Org
from app.orgs.scope import admin_role_name, role_names, viewer_for


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


def _not_manager():
    # The same wording whether the account is a sibling's, a parent's or one's own: the actor
    # learns nothing about accounts outside its reach.
    return gettext("无权管理该账号：只有上级单位或系统管理员可以重置或解锁")


def _now():
    return clock.now()


def org_role_name():
    return current_app.config.get("AUTH_ROLE_ORG", "组织单位")


def account_problems(user, password=None):
    """Why ``user`` (about to be created or saved, by any way: FAB's forms and API, the CLI) is not
    a valid account; an empty list when it is. ``password`` is the new plain password, if any.
    Every account has a role (FAB's forms insist on one too).

    An organising unit's account needs its unit (without one it would see nothing, and before
    row scope failed closed it saw everything); an administrator acts for no unit, so that the
    two kinds of account never blur.
    """
    problems = list(password_problems(password)) if password is not None else []
    names = role_names(user)
    if not names:
        problems.append(gettext("请至少选择一个角色"))
    has_unit = getattr(user, "org_id", None) is not None or getattr(user, "org", None) is not None
    if org_role_name() in names and not has_unit:
        problems.append(gettext("角色为“%(role)s”的账号必须选择所属单位", role=org_role_name()))
    if admin_role_name() in names and has_unit:
        problems.append(gettext("系统管理员账号不能属于某个单位：请去掉所属单位，或去掉“%(role)s”角色",
                                role=admin_role_name()))
    return problems


def check_account(user, password=None):
    """Raise AccountError with every problem ``account_problems`` finds."""
    problems = account_problems(user, password)
    if problems:
        raise AccountError(problems)


def _unit_id(user):
    org = getattr(user, "org", None)
    return org.id if org is not None else getattr(user, "org_id", None)


def add_account(session, actor, user, password, how):
    """Create ``user`` with the chosen ``password`` (FAB's 用户列表 → 添加, its user API, `flask fab
    create-user`), after every account check; audited; committed by the caller.

    Someone else chose the password, so the owner replaces it at first login, as after a reset.
    """
    check_account(user, password)
    user.password = hash_password(password)
    user.initial_password = None
    user.must_change_password = True
    user.password_changed_at = _now()
    user.credentials_changed_at = user.password_changed_at
    audit.record(session, "user_created", "user", user.username, actor=actor,
                 org_id=_unit_id(user), detail={"by": how, "roles": sorted(role_names(user))})
    return user


def save_account(session, actor, user, how):
    """Check an edited ``user`` (FAB's 编辑 form and its user API); audited; committed by the
    caller."""
    check_account(user)
    audit.record(session, "user_updated", "user", user.username, actor=actor,
                 org_id=_unit_id(user), detail={"by": how, "roles": sorted(role_names(user))})
    return user


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


def manages_accounts(session, actor):
    """Whether ``actor`` hands out any accounts: an administrator always, a unit when it has
    sub-units (a unit without them has no account table and nothing to reset or unlock)."""
    if viewer_for(actor).is_admin:
        return True
    return session.execute(select(PuchaUser.id).where(managed_accounts_clause(actor))
                           .limit(1)).first() is not None


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
        raise AccountAccessDenied(_not_manager())
    return target


def _store_new_password(session, user, new_password):
    user.password = hash_password(new_password)
    user.initial_password = None
    user.password_changed_at = _now()
    user.credentials_changed_at = user.password_changed_at
    user.changed_on = _now()
    lockout.lift(session, user, _now())


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
    _store_new_password(session, user, new_password)
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
    _store_new_password(session, user, new_password)
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
        raise AccountAccessDenied(_not_manager())
    new_password = generate_initial_password()
    target.password = None
    target.initial_password = new_password
    target.must_change_password = True
    lockout.lift(session, target, _now())
    target.changed_on = _now()
    target.credentials_changed_at = target.changed_on
    audit.record(session, "password_reset", "user", target.username, actor=actor,
                 org_id=target.org_id, reason=reason,
                 detail={"by": "cli" if actor is None else "user"})
    session.flush()
    return new_password


def unlock_account(session, actor, target, reason=None):
    """Lift every lock of ``target`` (from every address and account-wide) and restart its
    failure counts; the password stays as it is. ``actor`` None is the CLI.

    Returns what was locked: ``{"account": until or None, "addresses": [...]}``.
    """
    if actor is not None and not can_manage(actor, target):
        raise AccountAccessDenied(_not_manager())
    lifted = lockout.lift(session, target, _now())
    detail = {"by": "cli" if actor is None else "user", **lifted}
    if has_request_context() and request.remote_addr:
        detail["ip"] = request.remote_addr
    audit.record(session, "account_unlocked", "user", target.username, actor=actor,
                 org_id=target.org_id, reason=reason, detail=detail)
    session.flush()
    return lifted


def find_user(session, username):
    user = session.execute(select(PuchaUser).where(PuchaUser.username == username)
                           ).scalars().first()
    if user is None:
        raise AccountNotFound(gettext("账号 %(name)s 不存在", name=username))
    return user
