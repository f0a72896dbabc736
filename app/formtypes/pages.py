"""What the detail and edit pages of any form type show: its table grouped as the schema groups
it, its history in the list's words, and a schema-driven edit form."""
import re

from sqlalchemy import select

from app.audit import AuditEvent
from app.i18n_text import N_, display_label, gettext, localize
from app.formtypes.reports import omitted_note, warnings_omitted_note
from app.orgs.models import Org

# Shown in the detail page's history, translated there (gettext at render time). A form type adds
# the words of its own actions (FormType.action_labels).
ACTION_LABELS = {
    "import": N_("导入"), "reimport": N_("重新导入"), "submit": N_("提交"),
    "approve": N_("审核通过"), "return": N_("退回"), "complete": N_("办结"), "edit": N_("编辑"),
    "correct": N_("在线修改"), "delete": N_("删除"), "imported": N_("导入"),
    "updated": N_("重新导入"), "completed": N_("办结"),
}

IMPORT_ACTIONS = ("import", "reimport", "imported", "updated")


def grouped_rows(ft, form):
    """The table of ``form`` as [(group label, [(slot label, [row, ...]), ...]), ...]."""
    table = ft.table
    if table is None:
        return []
    rows = ft.schema.table_rows(form.document or {}, table.name)
    out = []
    for group in table.groups:
        slots = []
        for slot in group.slots:
            slots.append((display_label(slot), [r for r in rows
                                                if r["group"] == group.key and r["slot"] == slot.key]))
        out.append((display_label(group), slots))
    return out


def timeline(session, ft, form):
    """The form's history for the detail page, oldest first. States use the list's words and
    name the unit holding the form: 未审核（杭州市） is "waiting for 杭州市's review"."""
    org = Org.__table__
    stmt = (select(AuditEvent, org.c.name)
            .outerjoin(org, org.c.id == AuditEvent.org_id)
            .where(AuditEvent.object_type == ft.object_type,
                   AuditEvent.object_id == str(form.id))
            .order_by(AuditEvent.id))
    rows = session.execute(stmt).all()
    # A transition that moves the form has its new holder in the audit detail; an import leaves
    # it with the importer.
    paths = {e.detail["holder_path"] for e, _ in rows
             if isinstance(e.detail, dict) and e.detail.get("holder_path")} | {form.scope_path}
    unit_names = dict(session.execute(
        select(org.c.path, org.c.name).where(org.c.path.in_(paths))).all())
    labels = {**ACTION_LABELS, **ft.action_labels}
    events = []
    holder = form.scope_path
    state = ""
    for event, org_name in rows:
        detail = event.detail if isinstance(event.detail, dict) else {}
        if event.action in IMPORT_ACTIONS:
            holder = form.scope_path
        holder = detail.get("holder_path") or holder
        before = state
        if event.to_stage:
            state = gettext(ft.workflow.stage_label(event.to_stage))
            if event.to_stage not in ft.closed_stages and holder in unit_names:
                state = gettext("%(name)s（%(note)s）", name=state, note=unit_names[holder])
        label = labels.get(event.action)
        events.append({
            "at": event.at, "actor": event.actor_name or gettext("系统"), "org": org_name or "",
            "action": gettext(label) if label else event.action,
            "from": before if event.to_stage and before != state else "",
            "to": state if event.to_stage and before != state else "",
            "reason": event.reason or "", "changes": _changes(ft, event.detail),
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


def _changes(ft, detail):
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
        out.append((path_label(ft, path), old, new))
    return out


_CELL_PATH = re.compile(r"^(?P<table>[a-z_]+)\.(?P<group>[a-z_]+)\.(?P<slot>[a-z_]+)"
                        r"\[(?P<index>\d+)\]\.(?P<column>[a-z_]+)$")


def path_label(ft, path):
    """The words for a field or cell path of the schema: 网站名称, or
    信息发布类 › 动态要闻 第 1 行 地址 for ``columns.info.news[0].address``; an unknown path is
    shown as it is."""
    path = str(path)
    schema, table = ft.schema, ft.table
    name = path.removeprefix("fields.")
    if "." not in name and "[" not in name:
        try:
            return display_label(schema.field(name))
        except KeyError:
            return path
    match = _CELL_PATH.match(path)
    if not match or table is None or match["table"] != table.name:
        return path
    group = next((g for g in table.groups if g.key == match["group"]), None)
    slot = next((t for t in group.slots if t.key == match["slot"]), None) if group else None
    column = next((c for c in table.columns if c.name == match["column"]), None)
    if not (group and slot and column):
        return path
    return gettext("%(group)s › %(slot)s 第 %(row)s 行 %(column)s", group=display_label(group),
                   slot=display_label(slot), row=int(match["index"]) + 1,
                   column=display_label(column))


# --- the edit form: driven by the schema --------------------------------------------------------
_ROW_KEY = re.compile(r"^c\.([a-z_]+)\.([a-z_]+)\.(\d+)\.([a-z_]+)$")


def document_from_request(ft, form, data):
    """Rebuild a document from the edit page's inputs: ``f.<field>`` and
    ``c.<group>.<slot>.<index>.<column>``; rows keep their on-page order."""
    doc = dict(form.document or {})
    fields = dict(doc.get("fields") or {})
    for field in ft.schema.filler_fields():
        fields[field.name] = data.get(f"f.{field.name}", "")
    doc["fields"] = fields
    table = ft.table
    if table is not None:
        rows = {}
        for key in data:
            match = _ROW_KEY.match(key)
            if match:
                group, slot, index, column = match.groups()
                rows.setdefault((group, slot), {}).setdefault(int(index), {})[column] = data.get(key)
        cells = {}
        for group in table.groups:
            cells[group.key] = {}
            for slot in group.slots:
                found = rows.get((group.key, slot.key), {})
                cells[group.key][slot.key] = [
                    {c.name: found[i].get(c.name, "") for c in table.columns}
                    for i in sorted(found)]
        doc[table.name] = cells
    doc.setdefault("uuid", form.uuid)
    return doc


def errors_by_path(ft, errors):
    """{input name: [message, ...]} for the edit page, from the schema's error paths."""
    out = {}
    table = ft.table
    for error in errors:
        path = getattr(error, "path", None) or (error.get("path") if isinstance(error, dict) else "")
        message = getattr(error, "message", None) or (
            error.get("message") if isinstance(error, dict) else str(error))
        # "columns.info.news[2].address" -> "c.info.news.2.address", the input's name.
        key = re.sub(r"\[(\d+)\]", r".\1", path or "")
        if key.startswith("fields."):
            key = "f." + key[len("fields."):]
        elif table is not None and key.startswith(table.name + "."):
            key = "c." + key[len(table.name) + 1:]
        out.setdefault(key, []).append(localize(message))
    return out


def edit_context(ft, form, doc, errors=None):
    doc = doc or {}
    fields = doc.get("fields") or {}
    table = ft.table
    groups = []
    if table is not None:
        cells = doc.get(table.name) or {}
        for group in table.groups:
            items = []
            for slot in group.slots:
                rows = (cells.get(group.key) or {}).get(slot.key) or [table.blank_row()]
                items.append({"key": slot.key, "label": display_label(slot),
                              "rows": [r if isinstance(r, dict) else {} for r in rows]})
            groups.append({"key": group.key, "label": display_label(group), "slots": items})
    return {"form": form, "fields": ft.schema.filler_fields(), "values": fields, "groups": groups,
            "columns": table.columns if table is not None else [], "table": table,
            "schema": ft.schema, "errors": errors_by_path(ft, errors or [])}


def report_view(report):
    """The import report as plain dicts for the template."""
    out = []
    for package in report.packages:
        forms = []
        for item in package.forms:
            forms.append({
                "title": item.title or "", "uuid": item.uuid or "", "outcome": item.outcome,
                "message": "",
                "errors": [e["message"] for e in item.errors],
                "errors_omitted_note": omitted_note(item.errors_omitted),
                "warnings": [w["message"] for w in item.warnings or []],
                "warnings_omitted_note": warnings_omitted_note(item.warnings_omitted),
            })
        out.append({"filename": package.filename, "error": package.error, "forms": forms})
    return out
