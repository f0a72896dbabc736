"""Web views of 政府网站基本信息表: list, detail, import, review actions, edit and 导出上报表.

Thin on purpose: every route loads rows through the org scope (``load_scoped``; FAB's list uses
``OrgScopeFilter`` as a base filter), calls one command of ``plugins.basic_info.commands`` and
maps its WorkflowError to a Chinese flash message. FAB's generic routes (show/edit/delete/add,
action/action_post, list/<pk>, download) are NOT exposed: ``include_route_methods`` lists only
the routes below, each of which goes through the scope.
"""
import os
import re

from flask import abort, current_app, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_appbuilder.widgets import ListWidget
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import asc, desc, false, func, select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from app import clock
from app.audit import AuditEvent
from app.i18n_text import N_, display_label, lazy_label, localize
from app.orgs.models import Org
from app.orgs.scope import OrgScopeFilter, as_viewer, current_viewer, load_scoped
from app.workflow.engine import WorkflowError, available_transitions
from plugins.basic_info import commands, duplicates
from plugins.basic_info import workflow as review
from plugins.basic_info.export import download_report
from plugins.basic_info.models import WORKFLOW, BasicInfoForm
from plugins.basic_info.schema import COLUMNS_TABLE, SCHEMA

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
UPLOAD_FIELD = "packages"

# Shown in the detail page's history, translated there (gettext at render time).
ACTION_LABELS = {
    "import": N_("导入"), "reimport": N_("重新导入"), "submit": N_("提交"),
    "approve": N_("审核通过"), "return": N_("退回"), "complete": N_("办结"), "edit": N_("编辑"),
    "correct": N_("在线修改"), "delete": N_("删除"), "imported": N_("导入"),
    "updated": N_("重新导入"), "completed": N_("办结"), "codes_issued": N_("发放网站标识码"),
    "issue_codes": N_("发放网站标识码"), "mail_queued": N_("通知邮件"),
    "mail_sent": N_("已发送网站标识码邮件"), "mail_failed": N_("网站标识码邮件发送失败"),
}


def _session():
    return current_app.appbuilder.session


def viewer_path():
    """Where the current viewer stands (None: an administrator, seen from the top)."""
    return current_viewer().path


# --- the status column and its filter ----------------------------------------------------------
# The colour of each status the viewer sees, the same on the list and the detail page.
STATUS_CLASSES = {review.NOT_SUBMITTED: "default", review.TO_REVIEW: "warning",
                  review.REVIEWED: "info", review.RETURNED_LABEL: "danger",
                  review.COMPLETED_LABEL: "success", review.BELOW_REVIEWING: "primary"}


def waited_text(since, now=None):
    """How long a form has waited at its holder, as the list shows it: 今天 / N 天."""
    if since is None:
        return ""
    days = ((now or clock.now()) - since).days
    return gettext("今天") if days < 1 else gettext("%(days)s 天", days=days)


class BasicInfoInterface(SQLAInterface):
    """FAB's interface plus pseudo-columns: ``status`` (what the viewer sees, SPEC §3.3),
    ``importer_name`` and ``holder_name`` (当前所在单位: where the form waits, and for how long),
    which also sort."""

    def _get_attr_value(self, item, col):
        if col == "status":
            return review.status_for(item, viewer_path())
        if col == "importer_name":
            return item.importer.name if item.importer is not None else ""
        if col == "holder_name":
            if item.stage == review.COMPLETED or item.holder is None:
                return ""
            waited = waited_text(item.held_since or item.updated_at)
            return (gettext("%(name)s（%(note)s）", name=item.holder.name, note=waited)
                    if waited else item.holder.name)
        return SQLAInterface._get_attr_value(item, col)

    def get_values(self, lst, list_columns):
        # The list's checkboxes send each form's version, so a form changed since the page was
        # drawn is left alone (commands.transition_selected).
        out = []
        for item, values in zip(lst, super().get_values(lst, list_columns)):
            values["_version"] = item.version
            values["_status"] = values.get("status") or review.status_for(item, viewer_path())
            out.append(values)
        return out

    def apply_order_by(self, query, order_column, order_direction, *args, **kwargs):
        direction = asc if order_direction == "asc" else desc
        if order_column == "status":
            return query.order_by(direction(review.status_case(self.obj, viewer_path())),
                                  direction(self.obj.id))
        if order_column == "holder_name":
            # Grouped by unit; within a unit, the longest-waiting first when ascending.
            waited = func.coalesce(self.obj.held_since, self.obj.updated_at)
            return query.order_by(direction(self.obj.holder_path), waited, self.obj.id)
        return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)


class StatusFilter(BaseFilter):
    """状态 as the viewer sees it, computed in SQL (``status_case``) so it filters 100,000 rows
    with the same result as the list's column."""

    name = _l("等于")
    arg_name = "status"

    def apply(self, query, value):
        # FAB's page filters hand over a list (request.args.getlist), the REST API a string.
        values = [v for v in (value if isinstance(value, (list, tuple)) else [value])
                  if v in review.STATUS_LABELS]
        if not values:
            return query.filter(false())
        return query.filter(review.status_case(self.model, viewer_path()).in_(values))


class HolderFilter(BaseFilter):
    """当前所在单位 contains the text: the forms waiting at units whose name matches (within the
    viewer's scope, which the list's base filter adds)."""

    name = _l("包含")
    arg_name = "holder"

    def apply(self, query, value):
        values = value if isinstance(value, (list, tuple)) else [value]
        text = next((str(v).strip() for v in values if str(v or "").strip()), "")[:50]
        if not text:
            return query
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        units = select(Org.path).where(Org.name.like(f"%{escaped}%", escape="\\"))
        return query.filter(self.model.holder_path.in_(units),
                            self.model.stage != review.COMPLETED)


SEARCH_COLUMNS = ["site_name", "site_code", "filing_unit", "stage", "holder_path", "province",
                  "city", "county"]
ORDER_COLUMNS = ["updated_at", "status", "holder_name", "site_code", "province", "city", "county",
                 "filing_unit", "site_name", "icp_number"]


def install_status_filter(filters, datamodel):
    """Replace the generic text filters FAB made for ``stage`` by the one status filter."""
    # FAB looks page filters up in ``_all_filters`` and offers ``_search_filters`` in the form.
    status = [StatusFilter("stage", datamodel)]
    filters._search_filters["stage"] = status
    filters._all_filters["stage"] = status
    holder = [HolderFilter("holder_path", datamodel)]
    filters._search_filters["holder_path"] = holder
    filters._all_filters["holder_path"] = holder
    return filters


def _label(name):
    return SCHEMA.field(name).label


LIST_LABELS = {
    "importer_name": _l("填报人"), "updated_at": _l("时间"), "status": _l("状态"),
    "holder_name": _l("当前所在单位"), "holder_path": _l("当前所在单位"),
    "stage": _l("状态"), "site_code": _l("网站标识码"),
    # The schema declares each label in both languages; the list shows the user's.
    **{f.name: lazy_label(f) for f in SCHEMA.fields},
}


class BasicInfoListWidget(ListWidget):
    template = "basic_info/list_widget.html"

    def __init__(self, **kwargs):
        kwargs.setdefault("status_classes", STATUS_CLASSES)
        # Rows the viewer may tick for 审核通过选中 / 退回选中: those it sees as 未审核.
        kwargs.setdefault("selectable_status", review.TO_REVIEW)
        values = list(kwargs.get("value_columns") or [])
        kwargs["value_columns"] = values
        kwargs["selectable_any"] = any(v.get("_status") == review.TO_REVIEW for v in values)
        super().__init__(**kwargs)


# --- helpers for the detail page ---------------------------------------------------------------
def grouped_rows(form):
    """The columns table of ``form`` as [(group label, [(slot label, [row, ...]), ...]), ...]."""
    rows = SCHEMA.table_rows(form.document or {}, COLUMNS_TABLE.name)
    out = []
    for group in COLUMNS_TABLE.groups:
        slots = []
        for slot in group.slots:
            slots.append((display_label(slot), [r for r in rows
                                                if r["group"] == group.key and r["slot"] == slot.key]))
        out.append((display_label(group), slots))
    return out


def may_see_check_code(form, viewer):
    """校验码 is a credential for the filing unit (it signs in to the self-check with it). It is
    shown after completion only, on the detail page only (never in the list, the export or the
    API list), to the importing unit — which hands codes over when a mail bounced — and to
    administrators (by role). Upper units see the 网站标识码 but not the 校验码; a user with
    neither a unit nor the role never sees it."""
    if form.stage != review.COMPLETED or not form.check_code:
        return False
    viewer = as_viewer(viewer)
    return viewer.is_admin or (viewer.org is not None and form.scope_path == viewer.org.path)


def timeline(session, form):
    """The form's history for the detail page, oldest first. States use the list's words and
    name the unit holding the form: 未审核（杭州市） is "waiting for 杭州市's review"."""
    org = Org.__table__
    stmt = (select(AuditEvent, org.c.name)
            .outerjoin(org, org.c.id == AuditEvent.org_id)
            .where(AuditEvent.object_type == (WORKFLOW.object_type or WORKFLOW.name),
                   AuditEvent.object_id == str(form.id))
            .order_by(AuditEvent.id))
    rows = session.execute(stmt).all()
    # A transition that moves the form has its new holder in the audit detail; an import leaves
    # it with the importer.
    paths = {e.detail["holder_path"] for e, _ in rows
             if isinstance(e.detail, dict) and e.detail.get("holder_path")} | {form.scope_path}
    unit_names = dict(session.execute(
        select(org.c.path, org.c.name).where(org.c.path.in_(paths))).all())
    events = []
    holder = form.scope_path
    state = ""
    for event, org_name in rows:
        detail = event.detail if isinstance(event.detail, dict) else {}
        if event.action in ("import", "reimport", "imported", "updated"):
            holder = form.scope_path
        holder = detail.get("holder_path") or holder
        before = state
        if event.to_stage:
            state = gettext(WORKFLOW.stage_label(event.to_stage))
            if event.to_stage != review.COMPLETED and holder in unit_names:
                state = gettext("%(name)s（%(note)s）", name=state, note=unit_names[holder])
        label = ACTION_LABELS.get(event.action)
        events.append({
            "at": event.at, "actor": event.actor_name or gettext("系统"), "org": org_name or "",
            "action": gettext(label) if label else event.action,
            "from": before if event.to_stage and before != state else "",
            "to": state if event.to_stage and before != state else "",
            "reason": event.reason or "", "changes": _changes(event.detail),
            "note": _event_note(event.action, detail),
        })
    return events


def _event_note(action, detail):
    """What a mail event says beside its label: to whom, and for a failure, why."""
    if action in ("mail_sent", "mail_failed"):
        to = detail.get("to") or ""
        return gettext("收件人：%(to)s", to=to) if action == "mail_sent" else gettext(
            "收件人：%(to)s；%(error)s", to=to, error=detail.get("error") or "")
    return ""


def _changes(detail):
    """Field-by-field differences recorded by an edit or an online correction, as
    [(label, before, after)], labels in the viewer's language."""
    if not isinstance(detail, dict):
        return []
    changes = detail.get("changes")
    if not isinstance(changes, dict):
        return []
    out = []
    for path, value in changes.items():
        old, new = value if isinstance(value, (list, tuple)) and len(value) == 2 else ("", value)
        out.append((path_label(path), old, new))
    return out


_CELL_PATH = re.compile(r"^(?P<table>[a-z_]+)\.(?P<group>[a-z_]+)\.(?P<slot>[a-z_]+)"
                        r"\[(?P<index>\d+)\]\.(?P<column>[a-z_]+)$")


def path_label(path):
    """The words for a field or cell path of the schema: 网站名称, or
    信息发布类 › 动态要闻 第 1 行 地址 for ``columns.info.news[0].address``; an unknown path is
    shown as it is."""
    path = str(path)
    name = path.removeprefix("fields.")
    if "." not in name and "[" not in name:
        try:
            return display_label(SCHEMA.field(name))
        except KeyError:
            return path
    match = _CELL_PATH.match(path)
    if not match or match["table"] != COLUMNS_TABLE.name:
        return path
    group = next((g for g in COLUMNS_TABLE.groups if g.key == match["group"]), None)
    slot = next((t for t in group.slots if t.key == match["slot"]), None) if group else None
    column = next((c for c in COLUMNS_TABLE.columns if c.name == match["column"]), None)
    if not (group and slot and column):
        return path
    return gettext("%(group)s › %(slot)s 第 %(row)s 行 %(column)s", group=display_label(group),
                   slot=display_label(slot), row=int(match["index"]) + 1,
                   column=display_label(column))


# --- the edit form: driven by the schema --------------------------------------------------------
_ROW_KEY = re.compile(r"^c\.([a-z_]+)\.([a-z_]+)\.(\d+)\.([a-z_]+)$")


def document_from_request(form, data):
    """Rebuild a document from the edit page's inputs: ``f.<field>`` and
    ``c.<group>.<slot>.<index>.<column>``; rows keep their on-page order."""
    doc = dict(form.document or {})
    fields = dict(doc.get("fields") or {})
    for field in SCHEMA.filler_fields():
        fields[field.name] = data.get(f"f.{field.name}", "")
    doc["fields"] = fields
    rows = {}
    for key in data:
        match = _ROW_KEY.match(key)
        if match:
            group, slot, index, column = match.groups()
            rows.setdefault((group, slot), {}).setdefault(int(index), {})[column] = data.get(key)
    table = {}
    for group in COLUMNS_TABLE.groups:
        table[group.key] = {}
        for slot in group.slots:
            found = rows.get((group.key, slot.key), {})
            table[group.key][slot.key] = [
                {c.name: found[i].get(c.name, "") for c in COLUMNS_TABLE.columns}
                for i in sorted(found)]
    doc[COLUMNS_TABLE.name] = table
    doc.setdefault("uuid", form.uuid)
    return doc


def errors_by_path(errors):
    out = {}
    for error in errors:
        path = getattr(error, "path", None) or (error.get("path") if isinstance(error, dict) else "")
        message = getattr(error, "message", None) or (
            error.get("message") if isinstance(error, dict) else str(error))
        # "columns.info.news[2].address" -> "c.info.news.2.address", the input's name.
        key = re.sub(r"\[(\d+)\]", r".\1", path or "")
        if key.startswith("fields."):
            key = "f." + key[len("fields."):]
        elif key.startswith(COLUMNS_TABLE.name + "."):
            key = "c." + key[len(COLUMNS_TABLE.name) + 1:]
        out.setdefault(key, []).append(localize(message))
    return out


def edit_context(form, doc, errors=None):
    doc = doc or {}
    fields = doc.get("fields") or {}
    table = doc.get(COLUMNS_TABLE.name) or {}
    slots = []
    for group in COLUMNS_TABLE.groups:
        items = []
        for slot in group.slots:
            rows = (table.get(group.key) or {}).get(slot.key) or [COLUMNS_TABLE.blank_row()]
            items.append({"key": slot.key, "label": display_label(slot),
                          "rows": [r if isinstance(r, dict) else {} for r in rows]})
        slots.append({"key": group.key, "label": display_label(group), "slots": items})
    return {"form": form, "fields": SCHEMA.filler_fields(), "values": fields, "groups": slots,
            "columns": COLUMNS_TABLE.columns, "table": COLUMNS_TABLE,
            "errors": errors_by_path(errors or [])}


def _version_arg():
    value = request.form.get("version", "")
    return int(value) if value.isdigit() else None


def report_view(report):
    """The import report as plain dicts for the template, whatever shape the command returns."""
    def get(obj, *names, default=None):
        for name in names:
            if isinstance(obj, dict) and name in obj:
                return obj[name]
            if hasattr(obj, name):
                return getattr(obj, name)
        return default

    packages = get(report, "packages", default=None)
    if packages is None:
        packages = [report]
    out = []
    for package in packages:
        forms = []
        for item in get(package, "forms", "results", default=[]) or []:
            errors = get(item, "errors", default=[]) or []
            forms.append({
                "title": get(item, "title", "site_name", default="") or "",
                "uuid": get(item, "uuid", default="") or "",
                "outcome": get(item, "outcome", "status", "result", default="") or "",
                "message": get(item, "message", default="") or "",
                "errors": [getattr(e, "message", None) or (e.get("message") if isinstance(e, dict)
                                                           else str(e)) for e in errors],
                "errors_omitted_note": commands.omitted_note(
                    get(item, "errors_omitted", default=0) or 0),
                "warnings": [w["message"] for w in get(item, "warnings", default=[]) or []],
                "warnings_omitted_note": commands.warnings_omitted_note(
                    get(item, "warnings_omitted", default=0) or 0),
            })
        out.append({"filename": get(package, "filename", "name", default="") or "",
                    "error": get(package, "error", default=None),
                    "forms": forms})
    return out


def completed_codes(session, result):
    """The 网站标识码 of the forms ``result`` completed, in id order (issued in its transaction)."""
    done = [i for i in result.ids if result.to_stages.get(i) == review.COMPLETED]
    if not done:
        return []
    return list(session.scalars(select(BasicInfoForm.site_code)
                                .where(BasicInfoForm.id.in_(done)).order_by(BasicInfoForm.id)))


# A bulk action's flash lists at most this many forms it left alone, with the reason.
FLASH_SKIPPED = 5


def flash_result(session, label, result):
    """What a bulk or selected action did, in one flash: how many forms, how many of them
    completed (codes issued, mails queued), and what was left alone and why."""
    parts = [gettext("%(label)s：共 %(count)s 份表单", label=label, count=result.count)]
    completed = completed_codes(session, result)
    if completed:
        parts.append(gettext("其中 %(count)s 份已办结，已发放网站标识码并通知负责人和联系人",
                             count=len(completed)))
    if result.left_out:
        parts.append(gettext("另有 %(count)s 份已退回的表单需逐份处理", count=result.left_out))
    if result.skipped:
        names = dict(session.execute(select(BasicInfoForm.id, BasicInfoForm.site_name)
                                     .where(BasicInfoForm.id.in_(list(result.skipped)[:FLASH_SKIPPED]))).all())
        shown = [f"{names.get(i) or i}：{why}" for i, why in list(result.skipped.items())[:FLASH_SKIPPED]]
        more = len(result.skipped) - len(shown)
        parts.append(gettext("%(count)s 份未处理：", count=len(result.skipped)) + "；".join(shown)
                     + (gettext("等") if more > 0 else ""))
    category = "success" if result.count and not result.skipped else (
        "warning" if result.skipped else "info")
    flash("。".join(parts), category)


def _same_list(target):
    """Back to the list page the action was taken on (its filters and page), never elsewhere."""
    if (target and target.startswith(url_for("BasicInfoView.list"))
            and "//" not in target and "\\" not in target):
        return target
    return url_for("BasicInfoView.list")


# Translated in the import report's template.
OUTCOME_LABELS = {"imported": N_("已导入"), "updated": N_("已更新"), "refused": N_("未导入")}


# --- the view ----------------------------------------------------------------------------------
class BasicInfoView(ModelView):
    route_base = "/basic_info"
    template_folder = TEMPLATES
    datamodel = BasicInfoInterface(BasicInfoForm)
    list_template = "basic_info/list.html"
    list_widget = BasicInfoListWidget
    list_title = _l("政府网站基本信息表")
    # Only our routes; each loads rows through the org scope (FAB's generic show/edit/delete and
    # action routes would load by primary key without base_filters).
    include_route_methods = {"list", "detail", "upload", "transition", "bulk", "selected",
                             "edit_form", "delete_form", "export"}
    method_permission_name = {
        "list": "read", "detail": "read", "export": "read",
        "upload": "write", "transition": "write", "bulk": "write", "selected": "write",
        "edit_form": "write",
        "delete_form": "write",
    }
    base_permissions = ["can_read", "can_write"]
    can_add = can_edit = can_delete = can_show = False
    base_filters = [["id", OrgScopeFilter, None]]
    base_order = ("updated_at", "desc")
    list_columns = ["importer_name", "updated_at", "status", "holder_name", "site_code",
                    "province", "city", "county", "filing_unit", "site_name", "icp_number"]
    order_columns = ORDER_COLUMNS
    search_columns = SEARCH_COLUMNS
    search_form_extra_fields = {
        "stage": SelectField(_l("状态"), choices=[SelectChoice(s, _l(s)) for s in review.STATUS_LABELS]),
    }
    label_columns = LIST_LABELS
    formatters_columns = {"updated_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else ""}
    page_size = 20

    def render_template(self, template, **kwargs):
        # Our forms carry the CSRF token whether or not CSRFProtect put ``csrf_token`` into the
        # Jinja globals (it does not when WTF_CSRF_ENABLED is off, as in some tests).
        from flask_wtf.csrf import generate_csrf

        kwargs.setdefault("csrf_token", generate_csrf)
        return super().render_template(template, **kwargs)

    def _init_properties(self):
        super()._init_properties()
        install_status_filter(self._filters, self.datamodel)

    def fresh_filters(self):
        """The list's search filters parsed from this request, in a new object (FAB keeps one
        per view instance, shared by concurrent requests)."""
        from flask_appbuilder.urltools import get_filter_args

        filters = install_status_filter(self.datamodel.get_filters(self.search_columns),
                                        self.datamodel)
        get_filter_args(filters)
        return filters

    def current_query(self):
        """The list's query for this request (scope + search + order), unpaginated."""
        from flask_appbuilder.urltools import get_order_args

        filters = self.fresh_filters().get_joined_filters(self._base_filters)
        order_column, direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if order_column not in self.order_columns:
            order_column, direction = self.base_order
        query = self.datamodel.session.query(BasicInfoForm)
        query = self.datamodel.apply_all(query, filters, order_column, direction)
        return query, (order_column, direction)

    def render_list_extras(self):
        org = current_viewer().org
        return {"bulk": commands.bulk_counts(_session(), org), "viewer": org,
                "searching": any(key.startswith("_flt_") for key in request.args),
                "export_args": request.args.to_dict(flat=False)}

    def _get_list_widget(self, *args, **kwargs):
        # The toolbar is drawn by the list widget, in FAB's pager row: one row above the data.
        kwargs.setdefault("tools", self.render_list_extras())
        return super()._get_list_widget(*args, **kwargs)

    @expose("/list/")
    @has_access
    def list(self):
        widgets = self._list()
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    **self.render_list_extras())

    @expose("/form/<int:pk>")
    @has_access
    def detail(self, pk):
        session = _session()
        form = load_scoped(session, BasicInfoForm, pk)
        viewer = current_viewer()
        path = viewer.path
        below_holder = path is not None and path.startswith(form.holder_path)
        return self.render_template(
            "basic_info/detail.html", title=display_label(SCHEMA), form=form,
            status=review.status_for(form, path), status_classes=STATUS_CLASSES,
            fields=SCHEMA.fields, values=form, groups=grouped_rows(form),
            columns=COLUMNS_TABLE.columns,
            transitions=available_transitions(WORKFLOW, form, viewer),
            may_edit=review.may_edit(form, viewer.org),
            may_correct=review.may_correct(form, viewer),
            show_check_code=may_see_check_code(form, viewer),
            show_reason=bool(form.last_reason) and form.stage == review.RETURNED and (
                below_holder or viewer.is_admin),
            events=timeline(session, form))

    @expose("/form/<int:pk>/do/<name>", methods=["POST"])
    @has_access
    def transition(self, pk, name):
        session = _session()
        form = load_scoped(session, BasicInfoForm, pk)
        version = _version_arg()
        try:
            result = commands.transition(session, g.user, name, [form.id],
                                         reason=request.form.get("reason"),
                                         expected_versions={form.id: version} if version else None)
        except WorkflowError as error:
            session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".detail", pk=pk))
        completed = completed_codes(session, result)
        if completed:
            flash(gettext("已办结，网站标识码 %(code)s，已通知负责人和联系人",
                          code=completed[0]), "success")
        else:
            label = {t.name: gettext(t.label) for t in WORKFLOW.transitions}.get(name, name)
            flash(gettext("已%(label)s：%(name)s", label=label, name=form.site_name or form.uuid),
                  "success")
        return redirect(url_for(".detail", pk=pk))

    @expose("/bulk/<name>", methods=["POST"])
    @has_access
    def bulk(self, name):
        session = _session()
        labels = {t.name: t.bulk_label for t in WORKFLOW.transitions if t.bulk_label}
        if name not in labels:
            abort(404)
        try:
            result = commands.transition_all(session, g.user, name)
        except WorkflowError as error:
            session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        flash_result(session, gettext(labels[name]), result)
        return redirect(url_for(".list"))

    @expose("/selected/<name>", methods=["POST"])
    @has_access
    def selected(self, name):
        """审核通过选中 / 退回选中: the forms ticked on the list, each checked on its own."""
        session = _session()
        labels = {"approve": N_("审核通过选中"), "return": N_("退回选中")}
        if name not in labels:
            abort(404)
        ids = request.form.getlist("ids")
        versions = {key[len("version-"):]: value for key, value in request.form.items()
                    if key.startswith("version-")}
        try:
            result = commands.transition_selected(session, g.user, name, ids,
                                                  reason=request.form.get("reason"),
                                                  expected_versions=versions)
        except WorkflowError as error:
            session.rollback()
            flash(str(error), "danger")
            return redirect(_same_list(request.form.get("next")))
        flash_result(session, gettext(labels[name]), result)
        return redirect(_same_list(request.form.get("next")))

    @expose("/upload", methods=["POST"])
    @has_access
    def upload(self):
        from app.forms.package import MAX_PACKAGE_BYTES

        files = []
        for storage in request.files.getlist(UPLOAD_FIELD):
            if not storage or not storage.filename:
                continue
            # Read one byte more than allowed: a larger file is refused by the package reader as
            # too big without being held in memory in full.
            files.append((storage.filename, storage.stream.read(MAX_PACKAGE_BYTES + 1)))
        if not files:
            flash(gettext("请选择要导入的上报文件（.zip，可一次选择多个）"), "warning")
            return redirect(url_for(".list"))
        session = _session()
        try:
            report = commands.import_packages(session, g.user, files)
        except WorkflowError as error:
            session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".list"))
        return self.render_template("basic_info/import_report.html", title=_l("导入结果"),
                                    packages=report_view(report), outcomes=OUTCOME_LABELS)

    @expose("/form/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit_form(self, pk):
        session = _session()
        form = load_scoped(session, BasicInfoForm, pk)
        viewer = current_viewer()
        correcting = review.may_correct(form, viewer)
        if not (review.may_edit(form, viewer.org) or correcting):
            flash(gettext("本单位当前不能修改该表单"), "danger")
            return redirect(url_for(".detail", pk=pk))
        if request.method == "GET":
            return self.render_template("basic_info/edit.html", title=display_label(SCHEMA),
                                        correcting=correcting, version=form.version,
                                        **edit_context(form, form.document))
        version = _version_arg()
        doc = SCHEMA.normalize(document_from_request(form, request.form))
        errors = SCHEMA.validate(doc)
        if not errors:
            try:
                commands.edit_form(session, g.user, form.id, doc, version)
            except WorkflowError as error:
                session.rollback()
                errors = list(getattr(error, "errors", None) or [])
                flash(str(error), "danger")
            else:
                flash(gettext("已保存") if not correcting
                      else gettext("已在线修改，修改记录已写入操作记录"), "success")
                return redirect(url_for(".detail", pk=pk))
        else:
            flash(gettext("表单有 %(count)s 处需要修改，请按提示更正后再保存", count=len(errors)),
                  "danger")
        return self.render_template("basic_info/edit.html", title=display_label(SCHEMA),
                                    correcting=correcting, version=version or form.version,
                                    **edit_context(form, doc, errors))

    @expose("/form/<int:pk>/delete", methods=["POST"])
    @has_access
    def delete_form(self, pk):
        session = _session()
        form = load_scoped(session, BasicInfoForm, pk)
        name = form.site_name or form.uuid
        try:
            commands.delete_form(session, g.user, form.id, _version_arg())
        except WorkflowError as error:
            session.rollback()
            flash(str(error), "danger")
            return redirect(url_for(".detail", pk=pk))
        flash(gettext("已删除：%(name)s", name=name), "success")
        return redirect(url_for(".list"))

    @expose("/export")
    @has_access
    def export(self):
        query, order = self.current_query()
        return download_report(_session(), g.user, current_viewer().org, query, order)


def register(appbuilder):
    appbuilder.add_view(BasicInfoView, "政府网站基本信息表", icon="fa-table",
                        label=_l("政府网站基本信息表"), category="普查表",
                        category_icon="fa-list-alt", category_label=_l("普查表"))
    duplicates.register(appbuilder)
