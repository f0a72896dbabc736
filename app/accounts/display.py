"""How account facts read on a page: one formatter per kind, used by every view that shows them
(账号管理, FAB's 用户列表 and its detail page), so the same fact never reads two ways."""
import datetime

from app.i18n_text import display_role, gettext

MINUTE = "%Y-%m-%d %H:%M"


def moment(value):
    """``2026-12-01 18:31``: to the minute (seconds and microseconds say nothing to a person);
    empty for no time."""
    if isinstance(value, datetime.datetime):
        return value.strftime(MINUTE)
    return ""


def last_login(value):
    """最后登录: the moment, or 从未登录 for an account nobody has logged in with."""
    return moment(value) or gettext("从未登录")


def yes_no(value):
    return gettext("是") if value else gettext("否")


def role_names(roles):
    """Role names as people read them, 、-separated (FAB prints a Python list)."""
    return gettext("、").join(display_role(role.name) for role in roles or [])
