"""What the audit page and its export show: filters read from the query string, one scoped
statement for both, readable labels, and the workbook.

Bounded whatever the input: every filter is an indexed equality or range ending in ``id``
(``app.audit.AuditEvent``'s indexes); pages are keyset pages (``before``/``after`` an id, never
an OFFSET), the count stops at ``COUNT_CAP`` and the export at ``AUDIT_EXPORT_MAX_ROWS``.
"""
import datetime
import json
import tempfile
from dataclasses import dataclass, field
from typing import Optional

from openpyxl import Workbook
from sqlalchemy import false, func, or_, select

from app.audit import AuditEvent
from app.forms.xlsx import SPOOL_BYTES, RollingSheet
from app.i18n_text import N_, gettext
from app.orgs.models import Org
from app.orgs.scope import scope_clause
from app.registry import form_types, workflows

PAGE_SIZE = 50
COUNT_CAP = 10_000
EXPORT_BATCH = 2000
DETAIL_CHARS = 400  # per event on the page; the export holds the whole text
MAX_ID = 2 ** 53
YEARS = (2000, 2100)

# The actions the platform and the form machine write. A workflow's own transitions are labelled
# from its table (``Transition.label``); any other action is shown by its name.
ACTION_LABELS = {
    "import": N_("导入"), "reimport": N_("重新导入"), "edit": N_("编辑"),
    "correct": N_("在线修改"), "delete": N_("删除"), "issue_codes": N_("发放网站标识码"),
    "login_failed": N_("登录失败"), "login_refused_locked": N_("锁定期间登录"),
    "account_locked": N_("账号锁定"), "account_unlocked": N_("账号解锁"),
    "password_reset": N_("重置密码"), "password_changed": N_("修改密码"),
    "password_set": N_("设置密码"), "download": N_("下载"),
    "account_table_downloaded": N_("下载账号表"), "accounts_provisioned": N_("开通账号"),
    "admin_created": N_("创建管理员"), "import_orgs": N_("导入组织机构"),
    "load_orgs": N_("载入组织机构"), "add_org": N_("新增单位"), "rename_org": N_("单位改名"),
    "logout": N_("退出登录"), "user_created": N_("创建用户"), "user_updated": N_("修改用户"),
    "purge": N_("清理过期上报文件"), "mail_sent": N_("邮件已发送"),
    "mail_failed": N_("邮件发送失败"), "census_notice_changed": N_("修改首页普查通知"),
}
OBJECT_LABELS = {
    "user": N_("账号"), "org": N_("组织机构"), "account_table": N_("下级单位账号表"),
    "audit_event": N_("审计日志"), "public_setting": N_("首页设置"),
}
DETAIL_LABELS = {
    "file": N_("文件"), "forms": N_("表单数"), "events": N_("事件数"), "count": N_("数量"),
    "ip": N_("IP 地址"), "locked_until": N_("锁定至"), "minutes": N_("分钟"),
    "failures_in_a_row": N_("连续失败次数"), "by": N_("方式"), "uuid": N_("表单编号"),
    "package_id": N_("上报文件编号"), "site_code": N_("网站标识码"), "version": N_("版本"),
    "changes": N_("修改"), "code": N_("代码"), "name": N_("名称"), "kind": N_("类型"),
    "parent_code": N_("上级代码"), "holder_path": N_("所在单位"), "last_reason": N_("原因"),
    "held_since": N_("到达时间"), "outbox_id": N_("邮件编号"), "to": N_("收件人"),
    "error": N_("错误"), "cut": N_("已截断"), "added": N_("新增"), "renamed": N_("改名"), "moved": N_("迁移"), "changed": N_("变更"),
    "address": N_("来源地址"), "outcome": N_("结果"), "before": N_("修改前"), "after": N_("修改后"),
}


class FilterError(ValueError):
    """A filter value that cannot be used (Chinese message naming the field)."""


@dataclass
class AuditFilters:
    action: str = ""
    org_code: str = ""
    actor: str = ""
    start: Optional[datetime.datetime] = None
    end: Optional[datetime.datetime] = None  # exclusive
    before: Optional[int] = None
    after: Optional[int] = None
    raw: dict = field(default_factory=dict)  # the filter values as typed, for the form and links
    errors: list = field(default_factory=list)

    def link_args(self, **extra):
        args = {k: v for k, v in self.raw.items() if v}
        args.update({k: v for k, v in extra.items() if v is not None})
        return args


def _text_arg(args, name, label, limit):
    value = args.get(name, "")
    value = value.strip() if isinstance(value, str) else ""
    if len(value) > limit:
        raise FilterError(gettext("“%(label)s”太长（最多 %(n)s 个字符）", label=label, n=limit))
    return value


def _time_arg(value, label, end=False):
    """A date (``2026-03-01``) or a minute (``2026-03-01T08:30``); an end date covers its day."""
    if not value:
        return None
    try:
        if len(value) <= 10:
            moment = datetime.datetime.combine(datetime.date.fromisoformat(value),
                                               datetime.time())
            whole_day = True
        else:
            moment = datetime.datetime.fromisoformat(value[:19])
            whole_day = False
    except ValueError:
        raise FilterError(gettext("“%(label)s”应为日期，如 2026-03-01", label=label)) from None
    if not YEARS[0] <= moment.year < YEARS[1]:
        raise FilterError(gettext("“%(label)s”的年份应在 %(a)s 至 %(b)s 之间", label=label,
                                  a=YEARS[0], b=YEARS[1] - 1))
    if end and whole_day:
        moment += datetime.timedelta(days=1)
    return moment.replace(tzinfo=None)


def _id_arg(value, name):
    if not value:
        return None
    if not value.isdigit() or not 0 < int(value) < MAX_ID:
        raise FilterError(gettext("翻页参数 %(name)s 无效，请从第一页重新查看", name=name))
    return int(value)


def parse_filters(args):
    """The filters of a request's query string; problems are collected in ``errors``."""
    filters = AuditFilters()
    readers = (
        ("action", lambda: _text_arg(args, "action", gettext("操作"), 64)),
        ("org_code", lambda: _text_arg(args, "org", gettext("单位代码"), 16)),
        ("actor", lambda: _text_arg(args, "actor", gettext("操作人或账号"), 128)),
        ("start", lambda: _time_arg(_text_arg(args, "start", gettext("开始日期"), 19),
                                    gettext("开始日期"))),
        ("end", lambda: _time_arg(_text_arg(args, "end", gettext("结束日期"), 19),
                                  gettext("结束日期"), end=True)),
        ("before", lambda: _id_arg(_text_arg(args, "before", "before", 20), "before")),
        ("after", lambda: _id_arg(_text_arg(args, "after", "after", 20), "after")),
    )
    for name, read in readers:
        try:
            setattr(filters, name, read())
        except FilterError as error:
            filters.errors.append(str(error))
    for key, arg in (("action", "action"), ("org", "org"), ("actor", "actor"), ("start", "start"),
                     ("end", "end")):
        value = args.get(arg, "")
        filters.raw[key] = value[:64] if isinstance(value, str) else ""
    if filters.start and filters.end and filters.start >= filters.end:
        filters.errors.append(gettext("开始日期应早于结束日期"))
    return filters


def filtered_select(session, base, filters):
    """``base`` (the viewer's scoped ``select(AuditEvent)``) narrowed by ``filters``; the keyset
    position is left to the page."""
    stmt = base
    if filters.action:
        stmt = stmt.where(AuditEvent.action == filters.action)
    if filters.org_code:
        org = session.execute(select(Org).where(Org.code == filters.org_code)).scalars().first()
        if org is None:
            filters.errors.append(gettext("单位代码“%(code)s”不存在", code=filters.org_code))
            return stmt.where(false())
        # The chosen unit's subtree, through the same scope rule as the viewer's own.
        stmt = stmt.where(scope_clause(AuditEvent, org))
    if filters.actor:
        # Login failures and locks have no actor: the account they concern is the object.
        stmt = stmt.where(or_(AuditEvent.actor_name == filters.actor,
                              (AuditEvent.object_type == "user")
                              & (AuditEvent.object_id == filters.actor)))
    if filters.start:
        stmt = stmt.where(AuditEvent.at >= filters.start)
    if filters.end:
        stmt = stmt.where(AuditEvent.at < filters.end)
    return stmt


def capped_count(session, stmt, cap=COUNT_CAP):
    """(number of events, whether there are more than ``cap``): reads at most cap + 1 index
    entries, so the root's million events cost no more than a county's thousand."""
    ids = stmt.with_only_columns(AuditEvent.id).order_by(None).limit(cap + 1).subquery()
    n = session.scalar(select(func.count()).select_from(ids))
    return min(n, cap), n > cap


def _columns(stmt):
    return (stmt.with_only_columns(AuditEvent.id, AuditEvent.at, AuditEvent.action,
                                   AuditEvent.actor_name, Org.code, Org.name,
                                   AuditEvent.object_type, AuditEvent.object_id,
                                   AuditEvent.from_stage, AuditEvent.to_stage, AuditEvent.reason,
                                   AuditEvent.detail)
            .join_from(AuditEvent, Org, Org.id == AuditEvent.org_id, isouter=True))


@dataclass
class Page:
    rows: list
    older: Optional[int]  # ``before`` of the next (older) page
    newer: Optional[int]  # ``after`` of the previous (newer) page


def _events(session, ids, newest_first=True):
    """The full rows of ``ids``: read after the ids, so an index range that matches a
    province's hundred thousand events is sorted on the index alone, not on whole rows."""
    if not ids:
        return []
    order = AuditEvent.id.desc() if newest_first else AuditEvent.id.asc()
    return session.execute(_columns(select(AuditEvent)).where(AuditEvent.id.in_(ids))
                           .order_by(order)).all()


def page(session, stmt, filters, size=PAGE_SIZE):
    """One page of events, newest first, from the keyset position in ``filters``."""
    ids = stmt.with_only_columns(AuditEvent.id).limit(size + 1)
    if filters.after is not None:
        found = session.scalars(ids.where(AuditEvent.id > filters.after)
                                .order_by(AuditEvent.id.asc())).all()
        rows = _events(session, found[:size])
        older = rows[-1].id if rows else None
        return Page(rows, older, rows[0].id if rows and len(found) > size else None)
    if filters.before is not None:
        ids = ids.where(AuditEvent.id < filters.before)
    found = session.scalars(ids.order_by(AuditEvent.id.desc())).all()
    rows = _events(session, found[:size])
    older = rows[-1].id if len(found) > size else None
    newer = rows[0].id if rows and filters.before is not None else None
    return Page(rows, older, newer)


# --- words ---------------------------------------------------------------------------------------
class Labels:
    """Readable words for actions, objects, stages and detail keys, from the platform's list and
    the registered workflows and form types (read once per request)."""

    def __init__(self):
        self._words = {}
        self.actions = dict(ACTION_LABELS)
        self.objects = dict(OBJECT_LABELS)
        self.stages, self.schemas = {}, {}
        for workflow in workflows().values():
            object_type = workflow.object_type or workflow.name
            self.stages[object_type] = workflow.stages
            for transition in workflow.transitions:
                self.actions.setdefault(transition.name, transition.label)
        for form_type in form_types().values():
            for key in {form_type.name, form_type.object_type} - {None}:
                self.objects[key] = form_type.label
                self.schemas[key] = form_type.schema
            for name, label in form_type.action_labels.items():
                self.actions.setdefault(name, label)

    def word(self, text):
        """``gettext(text)``, remembered: an export asks for the same few words per row."""
        if text not in self._words:
            self._words[text] = gettext(text)
        return self._words[text]

    def action(self, name):
        return self.word(self.actions[name]) if name in self.actions else name

    def action_choices(self):
        """(name, label) pairs for the filter's list, in label order."""
        return sorted(((name, self.action(name)) for name in self.actions),
                      key=lambda pair: pair[1])

    def object(self, object_type, object_id):
        label = self.word(self.objects[object_type]) if object_type in self.objects else object_type
        return f"{label} {object_id}" if object_id else label

    def stage(self, object_type, stage):
        if not stage:
            return ""
        stages = self.stages.get(object_type, {})
        return self.word(stages[stage]) if stage in stages else stage

    def stages_text(self, object_type, from_stage, to_stage):
        before, after = (self.stage(object_type, from_stage), self.stage(object_type, to_stage))
        if before and after and before != after:
            return f"{before} → {after}"
        return after or before

    def _field(self, object_type, path):
        schema = self.schemas.get(object_type)
        name = str(path).split(".")[-1]
        if schema is not None:
            try:
                return schema.field(name).label
            except (KeyError, AttributeError):
                pass
        return str(path)

    def detail(self, object_type, detail):
        """The detail column as short Chinese text, e.g. ``文件：…；表单数：12``."""
        if detail in (None, "", {}, []):
            return ""
        if not isinstance(detail, dict):
            return _plain(detail)
        parts = []
        for key, value in detail.items():
            label = self.word(DETAIL_LABELS[key]) if key in DETAIL_LABELS else key
            if key == "changes" and isinstance(value, dict):
                changes = [f"{self._field(object_type, name)}：{_plain(_pair(v)[0])} → "
                           f"{_plain(_pair(v)[1])}" for name, v in value.items()]
                parts.append(f"{label}：" + "，".join(changes))
            elif key == "version" and isinstance(value, list) and len(value) == 2:
                parts.append(f"{label}：{value[0]} → {value[1]}")
            else:
                parts.append(f"{label}：{_plain(value)}")
        return "；".join(parts)


def _pair(value):
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return value
    return "", value


def _plain(value):
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "、".join(_plain(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def shown(row, labels, limit=DETAIL_CHARS):
    """One event as the page and the export show it."""
    detail = labels.detail(row.object_type, row.detail)
    return {
        "id": row.id,
        "at": row.at.strftime("%Y-%m-%d %H:%M:%S") if row.at else "",
        "action": labels.action(row.action),
        "org_code": row.code or "",
        "org_name": row.name or "",
        "actor": row.actor_name or "",
        "object": labels.object(row.object_type, row.object_id),
        "stages": labels.stages_text(row.object_type, row.from_stage, row.to_stage),
        "reason": row.reason or "",
        "detail": detail if limit is None or len(detail) <= limit else detail[:limit] + "…",
    }


# --- the workbook --------------------------------------------------------------------------------
EXPORT_HEADERS = (("时间", 20), ("操作", 14), ("单位代码", 12), ("单位", 28), ("操作人", 14),
                  ("对象", 28), ("状态变化", 18), ("原因", 30), ("详情", 60))
EXPORT_KEYS = ("at", "action", "org_code", "org_name", "actor", "object", "stages", "reason",
               "detail")


def write_workbook(session, stmt, max_rows, out=None):
    """The events of ``stmt``, newest first, at most ``max_rows``, into ``out`` (default: a
    spooled temporary file), rewound; returns ``(file, written, cut)``. Every value goes through
    the safe cell writer: an actor name or a detail that looks like a formula stays text."""
    out = out if out is not None else tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    labels = Labels()
    # The ids first (from the filter's index alone, at most max_rows + 1 integers), then the
    # rows in batches: no sort of whole rows, and memory bounded by the export's limit.
    ids = session.scalars(stmt.with_only_columns(AuditEvent.id).order_by(AuditEvent.id.desc())
                          .limit(max_rows + 1)).all()
    cut = len(ids) > max_rows
    ids = ids[:max_rows]
    wb = Workbook(write_only=True)
    stamp = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
    sheet = RollingSheet(wb, gettext("审计日志"), gettext("审计日志（导出时间 %(at)s）", at=stamp),
                         [(gettext(label), width) for label, width in EXPORT_HEADERS])
    written = 0
    for start in range(0, len(ids), EXPORT_BATCH):
        for row in _events(session, ids[start:start + EXPORT_BATCH]):
            values = shown(row, labels, limit=None)
            sheet.append([values[key] for key in EXPORT_KEYS])
            written += 1
    if cut:
        sheet.append([gettext("仅导出最近的 %(n)s 条记录；请缩小筛选范围后分批导出", n=max_rows)])
    wb.save(out)
    out.seek(0)
    return out, written, cut
