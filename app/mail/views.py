"""Web views of app.mail: the outbox, for administrators only."""
from flask import flash, redirect
from flask_appbuilder import ModelView
from flask_appbuilder.actions import action
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import update

from app.audit import now
from app.mail.models import FAILED, QUEUED, OutboxMail, status_label
from app.orgs.scope import administrators_only


def resend_failed(session, ids):
    """Put failed messages back in the queue with a fresh set of attempts; return how many."""
    result = session.execute(
        update(OutboxMail).where(OutboxMail.id.in_(list(ids)), OutboxMail.status == FAILED)
        .values(status=QUEUED, attempts=0, next_attempt_at=now(), claimed_until=None,
                claim_token=None)
        .execution_options(synchronize_session=False))
    return result.rowcount


class OutboxMailView(ModelView):
    """Read-only outbox: what was sent, what waits, what failed and why."""

    # Read by the platform's permission sync: only the administrator role gets this view.
    admin_only = True
    route_base = "/outbox"
    datamodel = SQLAInterface(OutboxMail)
    base_permissions = ["can_list", "can_show"]
    base_order = ("id", "desc")
    list_title = _l("邮件发件箱")
    show_title = _l("邮件详情")
    list_columns = ["id", "created_at", "to_addr", "subject", "status", "attempts",
                    "next_attempt_at", "sent_at"]
    formatters_columns = {"status": status_label}
    show_columns = ["id", "created_at", "to_addr", "subject", "body", "status_label", "attempts",
                    "next_attempt_at", "sent_at", "last_error", "related_type", "related_id"]
    search_columns = ["to_addr", "subject", "status", "related_type", "related_id", "created_at"]
    label_columns = {
        "id": _l("编号"), "created_at": _l("创建时间"), "to_addr": _l("收件人"),
        "subject": _l("主题"), "body": _l("正文"), "status": _l("状态"),
        "status_label": _l("状态"), "attempts": _l("发送次数"),
        "next_attempt_at": _l("下次发送时间"), "sent_at": _l("发送时间"),
        "last_error": _l("最近错误"), "related_type": _l("关联类型"),
        "related_id": _l("关联编号"), "claimed_until": _l("占用至"),
    }

    def create_blueprint(self, appbuilder, *args, **kwargs):
        return administrators_only(super().create_blueprint(appbuilder, *args, **kwargs))

    @action("resend", _l("重新发送"), _l("确定重新发送所选的发送失败邮件吗？"), "fa-repeat",
            multiple=True, single=True)
    def resend(self, items):
        items = items if isinstance(items, list) else [items]
        session = self.datamodel.session
        count = resend_failed(session, [item.id for item in items])
        session.commit()
        skipped = len(items) - count
        message = gettext("已重新加入发送队列 %(n)s 封。", n=count)
        if skipped:
            message += gettext("另有 %(n)s 封不是发送失败状态，未处理。", n=skipped)
        flash(message, "success" if count else "warning")
        self.update_redirect()
        return redirect(self.get_redirect())


def register(appbuilder):
    """Add this area's views and menu entries."""
    appbuilder.add_view(OutboxMailView, "邮件发件箱", icon="fa-envelope", label=_l("邮件发件箱"),
                        category="系统管理", category_label=_l("系统管理"),
                        category_icon="fa-cogs")
