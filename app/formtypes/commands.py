"""The operations every form type has: transitions (one form, the ticked ones, 全部), edit and
delete — each ``(session, actor, ft, ...)``, each one unit of work with its audit rows.

The web pages, the REST API, the CLI and the tests call these (through the type's
``FormCommands``, where a plugin may wrap them). What differs per type is data on the
``FormType``: the workflow (stages, transitions and their SQL twins), the policy (who may edit or
correct, the refusal sentences, the checks a transition needs beyond the workflow) and the schema
(which columns a document fills). Every refusal is an ``app.errors`` DomainError raised before
anything is written.
"""
from sqlalchemy import delete, insert, select

from app.audit import audit_values, record_many
from app.errors import Invalid
from app.i18n_text import N_, gettext, localize
from app.keys import whole_number
from app.orgs.scope import load_scoped, scope_clause
from app.transactions import unit_of_work
from app.workflow.engine import (MSG_CONCURRENT, ConcurrentChange, NotAllowed, NotFound,
                                 ReasonRequired, Result, WorkflowError, acting_viewer, apply,
                                 apply_and_commit, bulk_candidates,
                                 bulk_counts)
from app import clock

# The forms one 审核通过选中 / 退回选中 may name: a page of the list is at most a few hundred rows.
MAX_SELECTED = 500
SELECTED_TRANSITIONS = ("approve", "return")

MSG_FORM_NOT_FOUND = N_("未找到表单（编号 %(id)s），或不在本单位管辖范围内")
MSG_RETURNED_LEFT_OUT = N_("已退回的表单需逐份处理，请打开表单后单独审核或退回")

# Rows per IN (...) list: far below every driver's bound-parameter limit.
CHUNK = 10_000


class FormError(WorkflowError):
    """A form operation was refused; ``str(exc)`` is the message for the user."""


def error_dict(error):
    """A field error as reports and JSON bodies list it, in the language of the request."""
    return {"path": error.path, "label": localize(error.label), "message": localize(error.message)}


class FormInvalid(FormError, Invalid):
    """The document failed the schema; ``errors`` lists every problem (``FieldError``)."""

    status = 422

    def __init__(self, errors):
        errors = list(errors)
        first = gettext("；").join(localize(e.message) for e in errors[:3])
        if len(errors) > 3:
            message = gettext("表单填写有误等 %(count)s 处：%(first)s", count=len(errors),
                              first=first)
        else:
            message = gettext("表单填写有误：%(first)s", first=first)
        super().__init__(message, errors)

    def error_dicts(self):
        return [error_dict(e) for e in self.errors]


def acting_org(actor, what):
    """The organising unit ``actor`` acts for; administrators and anonymous callers are refused.
    ``what`` is a verb phrase marked with ``N_`` (导入表单), translated here."""
    org = acting_viewer(actor).org
    if org is None:
        raise NotAllowed(gettext("系统管理员账号不属于任何组织单位，不能%(what)s；请使用组织单位的账号操作",
                                 what=gettext(what)))
    return org


# --------------------------------------------------------------------------------------------
# Transitions


def transition(session, actor, ft, name, ids, reason=None, expected_versions=None):
    """Take ``name`` on the forms ``ids`` as ``actor``; one transaction; returns the engine's
    ``Result``. The policy's own checks (``transition_refusals``) refuse the whole action before
    anything is written. Raises NotFound, NotAllowed, ReasonRequired or ConcurrentChange."""
    with unit_of_work(session, conflict=ConcurrentChange):
        refusals = ft.policy.transition_refusals(session, actor, name, ids)
        if refusals:
            raise ft.policy.refusal_error(refusals)
        return apply(session, ft.workflow, name, list(ids), actor, reason=reason,
                     expected_versions=expected_versions)


def transition_all(session, actor, ft, name):
    """全部… (``submit`` → 全部提交, ``approve`` → 全部审核): every form the workflow's SQL twin
    gives the actor's unit in the stages the bulk form takes, selected in one query and applied in
    one set-based call. Returns the engine's ``Result`` (``count`` 0 when there was nothing to
    do); ``Result.left_out`` is how many forms in the other source stages were left for a
    decision of their own, and ``Result.skipped`` what the policy's checks refused."""
    bulk = {t.name: t for t in ft.workflow.bulk_transitions}
    if name not in bulk:
        raise FormError(gettext("该操作不能批量执行；可批量执行的操作：%(names)s",
                                names="、".join(gettext(t.bulk_label) for t in bulk.values())))
    org = acting_org(actor, N_("批量处理表单"))
    left_out = bulk_counts(session, ft.workflow, org)[name][1]
    ids = session.execute(bulk_candidates(ft.workflow, name, org)).scalars().all()
    refused = ft.policy.transition_refusals(session, actor, name, ids)
    ids = [i for i in ids if i not in refused]
    if not ids:
        session.rollback()  # end the read transaction; nothing to do
        result = Result(ft.workflow, bulk[name], [], {}, {})
    else:
        # skip_refused: a form another unit moved between our SELECT and the engine's load is
        # left alone instead of failing the whole batch.
        result = apply_and_commit(session, ft.workflow, name, ids, actor, skip_refused=True)
    result.skipped.update(refused)
    result.left_out = left_out
    return result


def transition_selected(session, actor, ft, name, ids, reason=None, expected_versions=None):
    """审核通过选中 / 退回选中: ``name`` on the forms ``ids`` ticked on the list, with one reason
    for all, set-based like 全部审核. Each form is checked on its own: one the unit may not take
    it on now (already moved by someone else, changed since the page was drawn, or in a stage the
    bulk form leaves out, such as 已退回) is left alone and reported in ``Result.skipped``
    ({id: why}); the others are taken in one transaction with an audit row each. Raises
    FormError for a bad request, ReasonRequired, and NotFound when an id is not in the unit's
    scope."""
    if name not in SELECTED_TRANSITIONS:
        raise FormError(gettext("选中的表单只能“审核通过”或“退回”"))
    acting_org(actor, N_("批量处理表单"))  # an administrator without a unit is refused here
    if isinstance(ids, (str, bytes, dict)) or not hasattr(ids, "__iter__"):
        raise NotFound(gettext("表单编号无效"))
    ids = list(ids)
    if len(ids) > MAX_SELECTED:
        raise FormError(gettext("一次最多选择 %(max)s 份表单，请分批处理", max=MAX_SELECTED))
    keys = [whole_number(i, 1) for i in ids]
    if not keys or any(k is None for k in keys):
        raise NotFound(gettext("请先勾选要处理的表单") if not keys else gettext("表单编号无效"))
    keys = sorted(set(keys))
    step = ft.workflow.transition(name)
    reason = (reason or "").strip() or None
    if step.reason_required and not reason:
        raise ReasonRequired(gettext("%(action)s必须填写原因", action=gettext(step.label)))
    versions = {}
    for key, version in (expected_versions or {}).items():
        row_id, number = whole_number(key, 1), whole_number(version, 0)
        if row_id is not None and number is not None:
            versions[row_id] = number

    model = ft.model
    with unit_of_work(session, conflict=ConcurrentChange):
        rows = session.execute(
            select(model.id, model.stage, model.version)
            .where(model.id.in_(keys), scope_clause(model, acting_viewer(actor)))
        ).all()
        if len(rows) != len(keys):
            raise NotFound(gettext("未找到部分选中的表单，或不在本单位管辖范围内"))
        skipped, todo = {}, []
        for row in rows:
            if row.id in versions and versions[row.id] != row.version:
                skipped[row.id] = gettext(MSG_CONCURRENT)
            elif row.stage not in step.taken_in_bulk:
                skipped[row.id] = gettext(MSG_RETURNED_LEFT_OUT)
            else:
                todo.append(row.id)
        refused = ft.policy.transition_refusals(session, actor, name, todo)
        skipped.update(refused)
        todo = [i for i in todo if i not in refused]
        result = apply(session, ft.workflow, name, todo, actor, reason=reason, skip_refused=True)
    result.skipped.update(skipped)
    return result


# --------------------------------------------------------------------------------------------
# Edit, correct, delete


def load_form(session, actor, ft, form_id):
    """The form ``form_id`` loaded fresh through ``actor``'s scope, and ``actor``'s Viewer."""
    viewer = acting_viewer(actor)
    form = load_scoped(session, ft.model, form_id, viewer, fresh=True, missing=MSG_FORM_NOT_FOUND)
    return form, viewer


def check_version(form, expected_version):
    if expected_version is not None and int(expected_version) != form.version:
        raise ConcurrentChange(MSG_CONCURRENT)


def field_values(ft, doc):
    """The record's columns from a validated document: one per schema field (hidden fields
    included; an empty hidden field is NULL), and what the policy derives from the document."""
    fields = doc.get("fields", {})
    hidden = set(ft.schema.hidden_field_names())
    values = {f.name: (fields.get(f.name) or None) if f.name in hidden else fields.get(f.name)
              for f in ft.schema.fields}
    values.update(ft.policy.derived_values(doc))
    return values


def row_values(ft, doc):
    """The row model's rows of the document's table (without ``form_id``)."""
    table = ft.table
    if table is None:
        return []
    names = [c.name for c in table.columns]
    rows = []
    for item in ft.schema.table_rows(doc, table.name):
        row = {"group": item["group"], "slot": item["slot"], "position": item["position"]}
        row.update((name, item[name]) for name in names)
        rows.append(row)
    return rows


def _table_cells(ft, doc):
    """{path: value} of every cell of the table, keyed like the schema's error paths."""
    table, cells = ft.table, {}
    if table is None:
        return cells
    for item in ft.schema.table_rows(doc, table.name):
        base = f"{table.name}.{item['group']}.{item['slot']}[{item['position']}]"
        for column in table.columns:
            cells[f"{base}.{column.name}"] = item[column.name]
    return cells


def document_diff(ft, old_doc, new_doc):
    """{field or cell path: [old, new]} for everything that differs (None: absent)."""
    diff = {}
    old_fields, new_fields = old_doc.get("fields") or {}, new_doc.get("fields") or {}
    for field in ft.schema.fields:
        a, b = old_fields.get(field.name), new_fields.get(field.name)
        if (a or "") != (b or ""):
            diff[field.name] = [a, b]
    old_cells, new_cells = _table_cells(ft, old_doc), _table_cells(ft, new_doc)
    for path in list(old_cells) + [p for p in new_cells if p not in old_cells]:
        a, b = old_cells.get(path), new_cells.get(path)
        if a != b:
            diff[path] = [a, b]
    return diff


def _keep_hidden(ft, form, data):
    """The hidden fields (set from the importing unit, never by the user) keep their values."""
    data = dict(data)
    fields = dict(data.get("fields") or {})
    old = (form.document or {}).get("fields") or {}
    for name in ft.schema.hidden_field_names():
        fields[name] = old.get(name) or getattr(form, name, None) or ""
    data["fields"] = fields
    return data


def edit(session, actor, ft, form_id, document, expected_version):
    """编辑 (while the policy's ``may_edit`` holds: e.g. the importer, before submitting) or
    在线修改 (while ``may_correct`` holds: e.g. a unit on the chain, after completion, with no new
    review). The document is validated exactly as on import; the hidden fields and the UUID stay
    as they are. The change is audited field by field. Returns the form; raises NotFound,
    NotAllowed, FormInvalid or ConcurrentChange."""
    with unit_of_work(session, conflict=ConcurrentChange):
        form, viewer = load_form(session, actor, ft, form_id)
        correcting = ft.policy.may_correct(form, viewer)
        if not correcting and not ft.policy.may_edit(form, viewer):
            raise NotAllowed(ft.policy.edit_refusal(form, viewer, "edit"))
        check_version(form, expected_version)

        data = ft.schema.normalize(document)
        if isinstance(data, dict):
            data["uuid"] = form.uuid  # the filler's identity of the record never changes
            fields = data.get("fields")
            if isinstance(fields, dict):
                for name in ft.schema.hidden_field_names():
                    fields.pop(name, None)
        errors = ft.schema.validate(data)
        if errors:
            raise FormInvalid(errors)
        data = _keep_hidden(ft, form, data)
        if "meta" in (form.document or {}) and "meta" not in data:
            data["meta"] = form.document["meta"]

        diff = document_diff(ft, form.document or {}, data)
        if not diff:
            return form

        for name, value in field_values(ft, data).items():
            setattr(form, name, value)
        form.document = data
        form.updated_at = clock.now()
        from_version = form.version
        session.flush()  # the version-checked UPDATE: StaleDataError when someone acted first

        if ft.row_model is not None:
            row_model = ft.row_model
            session.execute(delete(row_model).where(row_model.form_id == form.id))
            rows = row_values(ft, data)
            for row in rows:
                row["form_id"] = form.id
            if rows:
                session.execute(insert(row_model.__table__), rows)
            session.expire(form, ["rows"])

        org = viewer.org
        record_many(session, [audit_values(
            "correct" if correcting else "edit", ft.object_type, form.id, actor=actor,
            org_id=getattr(org, "id", None), from_stage=form.stage, to_stage=form.stage,
            detail={"version": [from_version, form.version], "changes": diff})])
        return form


def delete_form(session, actor, ft, form_id, expected_version):
    """删除 while the policy's ``may_edit`` holds; audited, version-checked."""
    with unit_of_work(session, conflict=ConcurrentChange):
        form, viewer = load_form(session, actor, ft, form_id)
        if not ft.policy.may_edit(form, viewer):
            raise NotAllowed(ft.policy.edit_refusal(form, viewer, "delete"))
        check_version(form, expected_version)
        version, stage, fid = form.version, form.stage, form.id
        detail = {"uuid": form.uuid, "package_id": getattr(form, "package_id", None)}
        if ft.title_name:
            detail[ft.title_name] = getattr(form, ft.title_name)
        table = ft.model.__table__
        session.expunge(form)
        if ft.row_model is not None:
            session.execute(delete(ft.row_model).where(ft.row_model.form_id == fid))
        result = session.execute(delete(table).where(table.c.id == fid, table.c.version == version))
        if result.rowcount != 1:
            raise ConcurrentChange(MSG_CONCURRENT)
        record_many(session, [audit_values(
            "delete", ft.object_type, fid, actor=actor, org_id=getattr(viewer.org, "id", None),
            from_stage=stage, detail=detail)])
