"""The workflow engine: workflows are data, ``apply`` is the one way a stage changes.

A plugin registers a ``Workflow`` (through ``register_workflows``) naming its model, its stages
and its transitions. A transition says which stages it leaves from, who may take it (a predicate
on the row and the acting unit), whether a reason is required, its label, and its effect (the
column changes it makes; at least the new stage).

``apply(session, workflow_name, transition_name, ids, actor, reason=None)`` loads the rows through
the org scope (only the columns the rules read, ``Workflow.reads``), checks every row, writes the
changes, one audit row per object and whatever the ``after_transition`` hook adds (mail, codes) in
ONE transaction, set-based: rows alike (the same change, stage and version) are written by one
``UPDATE … WHERE id IN (…) AND version = v`` and their audit rows by one ``INSERT … SELECT``, so a
bulk action on 5,000 rows is a handful of statements with no per-row parameters, not 5,000 round
trips. Rows carry a ``version`` column; an update that finds a different version fails with
``ConcurrentChange`` so that no update is lost.

The model contract: an integer-like primary key ``id``, ``scope_path`` (the materialised org path
of the unit that owns the row, see app.orgs.scope), ``stage`` and an integer ``version``.

Transactions: ``apply`` never commits and never rolls back; the caller owns the transaction.
Every refusal (NotFound, NotAllowed, ReasonRequired, a stale ``expected_versions``) is raised
BEFORE anything is written, so the session is untouched. A failure after writing started
(ConcurrentChange from the UPDATE, an exception from an ``after_transition`` hook) leaves the
session holding partial work: the caller MUST roll back, which ``apply_and_commit`` does. We do
not use a SAVEPOINT because the stdlib sqlite3 driver issues its own BEGIN lazily, so a SAVEPOINT
opened before it becomes the outer transaction and RELEASE would commit the caller's work.
"""
from sqlalchemy import JSON, func, inspect, literal, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app import errors
from app import clock
from app.audit import audit_values, record_for_each
from app.keys import whole_number
from app.i18n_text import N_, gettext
from app.transactions import unit_of_work
from app.orgs.scope import ScopeRefused, as_viewer, require_acting_viewer, scope_clause
from app.plugins import get_plugin_manager
from app.registry import workflows
from app.workflow.model import Result, StatusView, Transition, Workflow  # noqa: F401  (re-exported)


class WorkflowError(errors.DomainError):
    """A transition was refused; ``str(exc)`` is the message for the user, in the user's language
    (Chinese source strings, translated through app.i18n_text where a request says otherwise)."""

    status = 400


# Refusals are the platform's (app.errors), so the one scoped loader, the commands and the engine
# raise the same classes, whatever layer refuses.
NotAllowed = errors.NotAllowed
NotFound = errors.NotFound


class ReasonRequired(WorkflowError):
    """The transition needs a reason and none was given."""

    status = 400


MSG_CONCURRENT = N_("表单已被其他单位处理，请刷新后重试")


class ConcurrentChange(errors.Conflict):
    """The row changed since it was read (another unit or a colleague acted first): the action
    is refused like NotAllowed, but the answer is "refresh" (HTTP 409), not "you may not" (403)."""

    status = 409

    def __init__(self, message=MSG_CONCURRENT):
        super().__init__(gettext(message))

# Rows loaded per SELECT. SQLite allows 32,766 bound parameters and PostgreSQL 65,535; one
# statement covers any realistic bulk action, and the statement count stays bounded above that.
LOAD_CHUNK = 10_000


def get_workflow(name):
    """The registered workflow called ``name`` (collected from the plugins' register_workflows)."""
    try:
        return workflows()[name]
    except KeyError:
        raise WorkflowError(f"未注册的流程：{name}") from None


def _resolve(workflow):
    return workflow if isinstance(workflow, Workflow) else get_workflow(workflow)


def acting_viewer(actor):
    """The Viewer ``actor`` changes things as; NotAllowed for no actor and for a user with neither
    a unit nor the administrator role."""
    if actor is None:
        # Refuse rather than treat "nobody" as an administrator: a view that forgot to pass the
        # user must not act with unlimited scope.
        raise NotAllowed(gettext("请先登录"))
    try:
        return require_acting_viewer(actor)
    except ScopeRefused as error:
        raise NotAllowed(str(error)) from None


def available_transitions(workflow, row, viewer):
    """The transitions ``viewer`` (an app.orgs.scope.Viewer, a user or a unit) may take on ``row``
    now, in declared order: what the UI shows as buttons. Nobody gets none."""
    workflow = _resolve(workflow)
    viewer = as_viewer(viewer)
    if viewer.sees_nothing:
        return []
    return [t for t in workflow.transitions
            if row.stage in t.sources and t.allowed(row, viewer.org)]


def _taken_where(workflow, transition, actor_org):
    model = workflow.model
    if transition.where is None:
        raise WorkflowError(f"操作「{transition.label}」没有声明 SQL 条件，不能批量执行")
    return transition.where(model, actor_org)


def bulk_candidates(workflow, transition_name, actor_org):
    """SQL selecting, in id order, the ids ``actor_org``'s bulk form of the transition takes:
    its SQL twin and the stages it takes in bulk."""
    workflow = _resolve(workflow)
    transition = workflow.transition(transition_name)
    model = workflow.model
    return (select(model.id)
            .where(_taken_where(workflow, transition, actor_org),
                   model.stage.in_(transition.taken_in_bulk))
            .order_by(model.id))


def bulk_counts(session, workflow, actor_org):
    """{name: (taken, left_out)} for every bulk transition of ``actor_org`` now, one query each:
    how many rows 全部… takes, and how many it leaves for a decision of their own."""
    workflow = _resolve(workflow)
    if actor_org is None:
        return {}
    model = workflow.model
    counts = {}
    for transition in workflow.bulk_transitions:
        taken = transition.taken_in_bulk
        rest = tuple(stage for stage in transition.sources if stage not in taken)
        row = session.execute(
            select(func.count().filter(model.stage.in_(taken)),
                   func.count().filter(model.stage.in_(rest)) if rest else literal(0))
            .where(_taken_where(workflow, transition, actor_org))).one()
        counts[transition.name] = (row[0] or 0, row[1] or 0)
    return counts


def _checked_columns(workflow):
    """The attributes a transition's checks and effects may read: id, stage, version and what
    the workflow declares it reads (``Workflow.reads``), else every column but the JSON ones (a
    form's whole document is the costly part of a row and no rule reads it)."""
    model = workflow.model
    if workflow.reads is not None:
        names = ["id", "stage", "version"]
        names += [name for name in workflow.reads if name not in names]
        return [getattr(model, name) for name in names]
    return [getattr(model, attr.key) for attr in inspect(model).column_attrs
            if not any(isinstance(col.type, JSON) for col in attr.columns)]


def _load(session, workflow, ids, viewer):
    """The rows ``ids`` as the database has them now, as plain rows (attribute access by
    column name), not ORM objects: building, joining (importer/holder) and later expiring 5,000
    objects was most of a bulk action's time. Objects of these rows already in the session are
    refreshed with the values read, as ``populate_existing`` would."""
    rows = []
    model = workflow.model
    clause = scope_clause(model, viewer)
    columns = _checked_columns(workflow)
    for start in range(0, len(ids), LOAD_CHUNK):
        stmt = select(*columns).where(model.id.in_(ids[start:start + LOAD_CHUNK]), clause)
        rows.extend(session.execute(stmt))
    mapper = inspect(model)
    identity_map = session.identity_map
    if len(identity_map):
        keys = [column.key for column in columns]
        for row in rows:
            loaded = identity_map.get(mapper.identity_key_from_primary_key((row.id,)))
            if loaded is not None:
                for key, value in zip(keys, row):
                    set_committed_value(loaded, key, value)
    return rows


def _refusal(workflow, transition, row, actor_org):
    """Why ``actor_org`` may not take ``transition`` on ``row`` as (exception class, message),
    or None when it may."""
    message = _refusal_message(workflow, transition, row, actor_org)
    if message is None:
        return None
    if (actor_org is not None and workflow.holder is not None
            and workflow.holder(row) != actor_org.path):
        return ConcurrentChange, gettext(MSG_CONCURRENT)
    return NotAllowed, message


def _refusal_message(workflow, transition, row, actor_org):
    if row.stage not in transition.sources:
        return gettext("「%(action)s」不适用于状态为「%(stage)s」的表单（编号 %(id)s）",
                       action=gettext(transition.label),
                       stage=gettext(workflow.stage_label(row.stage)), id=row.id)
    if not transition.allowed(row, actor_org):
        return gettext("本单位无权对该表单执行「%(action)s」（编号 %(id)s）",
                       action=gettext(transition.label), id=row.id)
    return None


def _json_safe(value):
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _keys(ids):
    if isinstance(ids, (str, bytes, dict)) or not hasattr(ids, "__iter__"):
        raise NotFound(gettext("表单编号无效"))
    keys = [whole_number(i, 1) for i in ids]
    if any(k is None for k in keys):
        raise NotFound(gettext("表单编号无效"))
    return sorted(set(keys))


def _versions(expected_versions):
    """{id: version} from what a page or API sent; refused unless every entry is a key and a
    non-negative whole number."""
    if not expected_versions:
        return {}
    if not isinstance(expected_versions, dict):
        raise WorkflowError(gettext("expected_versions 应为 {表单编号: 版本号}"))
    versions = {}
    for key, version in expected_versions.items():
        row_id, number = whole_number(key, 1), whole_number(version, 0)
        if row_id is None or number is None:
            raise WorkflowError(gettext("expected_versions 应为 {表单编号: 版本号}"))
        versions[row_id] = number
    return versions


def apply(session, workflow, transition_name, ids, actor, reason=None, expected_versions=None,
          skip_refused=False):
    """Take ``transition_name`` on the rows ``ids`` as ``actor`` inside the caller's transaction.

    ``workflow`` is a Workflow or its registered name; ``actor`` is the user (``actor.org`` is the
    acting unit; an administrator is recognised by its role, and a user with neither a unit nor
    that role is refused). ``expected_versions`` ({id: version}) lets a UI
    refuse when the form changed since it was shown. ``skip_refused=True`` (for 全部审核-style
    actions) leaves rows that may not take the transition alone and reports them in
    ``Result.skipped`` instead of refusing the whole action; rows outside the scope still refuse.
    Raises NotFound, NotAllowed, ReasonRequired or ConcurrentChange (see the module docstring for
    what the caller must do then). Never commits.
    """
    workflow = _resolve(workflow)
    try:
        transition = workflow.transition(transition_name)
    except KeyError:
        raise WorkflowError(f"流程「{workflow.name}」没有操作：{transition_name}") from None
    viewer = acting_viewer(actor)
    actor_org = viewer.org
    reason = (reason or "").strip() or None
    if transition.reason_required and not reason:
        raise ReasonRequired(gettext("%(action)s必须填写原因", action=gettext(transition.label)))

    model = workflow.model
    wanted = _keys(ids)
    versions = _versions(expected_versions)
    if not wanted:
        return Result(workflow, transition, [], {}, {})

    # --- read and check: nothing is written until every row has passed ----------------------
    rows = _load(session, workflow, wanted, viewer)
    if len(rows) != len(wanted):
        missing = sorted(set(wanted) - {row.id for row in rows})
        shown = "、".join(str(i) for i in missing[:10]) + ("等" if len(missing) > 10 else "")
        # The same message for "does not exist" and "belongs to another unit": a sibling must not
        # learn that a form exists.
        raise NotFound(gettext("未找到表单（编号 %(ids)s），或不在本单位管辖范围内", ids=shown))
    rows.sort(key=lambda r: r.id)

    for row in rows:
        expected = versions.get(row.id)
        if expected is not None and expected != row.version:
            raise ConcurrentChange(MSG_CONCURRENT)

    skipped = {}
    todo = []
    for row in rows:
        refusal = _refusal(workflow, transition, row, actor_org)
        if refusal is None:
            todo.append(row)
        elif skip_refused:
            skipped[row.id] = refusal[1]
        else:
            error, message = refusal
            raise error(message)
    if not todo:
        return Result(workflow, transition, [], {}, {}, skipped)

    mapper = inspect(model)
    changes = []
    checked = set()  # the sets of keys already found valid: checked once, not once a row
    # One action, one moment: effects that stamp the time stay alike row to row.
    with clock.one_instant():
        for row in todo:
            change = dict(transition.effect(row, actor_org))
            if transition.reason_column and reason:
                change[transition.reason_column] = reason
            keys = frozenset(change)
            if keys not in checked:
                if "stage" not in change:
                    raise WorkflowError(f"操作「{transition.label}」的效果缺少 stage")
                bad = [key for key in change
                       if key not in mapper.columns or key in ("id", "version")]
                if bad:
                    raise WorkflowError(
                        f"操作「{transition.label}」的效果含有无效字段：{', '.join(bad)}")
                checked.add(keys)
            changes.append(change)
        at = clock.now()

    # --- write: one UPDATE and one audit INSERT … SELECT per group of rows alike, then the hook
    # Rows whose effect, stage before and version are the same are written by one set-based
    # UPDATE … WHERE id IN (…) AND version = v; a row changed since it was read (another version)
    # is not updated, so the row count tells a lost race as the version check always did. A bulk
    # action is one group, or a few.
    groups = _alike(todo, changes)
    table = model.__table__
    id_col, version_col = mapper.columns["id"], mapper.columns["version"]
    for change, _from_stage, version, ids in groups:
        values = {mapper.columns[key].name: value for key, value in change.items()}
        for start in range(0, len(ids), LOAD_CHUNK):
            chunk = ids[start:start + LOAD_CHUNK]
            result = session.execute(
                update(table).where(id_col.in_(chunk), version_col == version)
                .values(values).values({version_col.name: version_col + 1}))
            if result.rowcount != len(chunk):
                raise ConcurrentChange(MSG_CONCURRENT)

    # Keep the session's objects of these rows (if any) in step with the database without
    # marking them dirty, so hooks and the caller read the new stage and version.
    from_stages = {row.id: row.stage for row in todo}
    to_stages = {row.id: change["stage"] for row, change in zip(todo, changes)}
    identity_map = session.identity_map
    if len(identity_map):
        for row, change in zip(todo, changes):
            loaded = identity_map.get(mapper.identity_key_from_primary_key((row.id,)))
            if loaded is not None:
                for key, value in change.items():
                    set_committed_value(loaded, key, value)
                set_committed_value(loaded, "version", row.version + 1)

    object_type = workflow.object_type or workflow.name
    org_id = getattr(actor_org, "id", None)
    scope_path = getattr(actor_org, "path", None)
    # The audit rows of groups that differ by version only are alike: one INSERT for them.
    audited = {}
    for change, from_stage, _version, ids in groups:
        try:
            key = (tuple(sorted(change.items())), from_stage)
            hash(key)
        except TypeError:
            key = ("own", ids[0])
        audited.setdefault(key, (change, from_stage, []))[2].extend(ids)
    for change, from_stage, ids in audited.values():
        detail = {k: _json_safe(v) for k, v in change.items() if k != "stage"} or None
        values = audit_values(
            transition.name, object_type, None, actor=actor, org_id=org_id,
            from_stage=from_stage, to_stage=change["stage"], reason=reason, detail=detail)
        values["at"] = at
        if values["org_id"] == org_id and org_id is not None:
            values["scope_path"] = scope_path
        ids.sort()
        for start in range(0, len(ids), LOAD_CHUNK):
            record_for_each(session, values,
                            select(id_col).where(id_col.in_(ids[start:start + LOAD_CHUNK])))

    changed_ids = [row.id for row in todo]
    get_plugin_manager().hook.after_transition(
        workflow=workflow, transition=transition, object_ids=changed_ids, actor=actor,
        session=session)
    return Result(workflow, transition, changed_ids, from_stages, to_stages, skipped)


def _alike(rows, changes):
    """``[(change, stage before, version, [ids])]``: the groups of rows one set-based UPDATE can
    write together. A change holding a value that cannot be compared this way (a list, a dict)
    makes a group of its own."""
    groups = {}
    for row, change in zip(rows, changes):
        key = (tuple(sorted(change.items())), row.stage, row.version)
        try:
            group = groups.get(key)
        except TypeError:
            key, group = ("own", row.id), None
        if group is None:
            group = groups[key] = (change, row.stage, row.version, [])
        group[3].append(row.id)
    return list(groups.values())


def apply_and_commit(session, workflow, transition_name, ids, actor, **kwargs):
    """``apply`` then commit; on any error roll back and re-raise. What views and commands use."""
    with unit_of_work(session, conflict=ConcurrentChange):
        return apply(session, workflow, transition_name, ids, actor, **kwargs)
