"""The level-by-level review of 基本信息表 as data (SPEC §3.3, seed 000 表单状态, FAQ §15, §21).

Internal state: the importing unit (``scope_path``), the holder (``holder_path``: the unit where
the form sits now) and a stage. What a unit SEES is derived from where it stands relative to the
holder on the form's chain — see ``status_for`` and its SQL twin ``status_case``.

Labels are Chinese values (compared, filtered on in SQL, keys of the list's colours), marked with
``N_`` for the catalogue and translated only where shown: ``{{ _(status) }}``, ``gettext(label)``.
"""
from sqlalchemy import and_, case, func, literal

from app import clock
from app.i18n_text import N_
from app.orgs.paths import child_on_chain, level_of, parent_path
from app.orgs.scope import as_viewer
from app.workflow.engine import StatusView, Transition, Workflow

DRAFT, PENDING, RETURNED, COMPLETED = "draft", "pending", "returned", "completed"

# Stage labels use the list's words (the holder's view: a pending form is 未审核 where it
# waits), so the timeline and the audit page read like the list.
STAGES = {DRAFT: N_("未提交"), PENDING: N_("未审核"), RETURNED: N_("已退回"),
          COMPLETED: N_("已办结")}

# What the viewer sees (SPEC §3.3 table).
NOT_SUBMITTED, TO_REVIEW, REVIEWED, RETURNED_LABEL, COMPLETED_LABEL, BELOW_REVIEWING = (
    N_("未提交"), N_("未审核"), N_("已审核"), N_("已退回"), N_("已办结"), N_("待下级审核"))
STATUS_LABELS = (NOT_SUBMITTED, TO_REVIEW, REVIEWED, RETURNED_LABEL, COMPLETED_LABEL,
                 BELOW_REVIEWING)


def _holds(row, org):
    return org is not None and row.holder_path == org.path


def _holds_as_importer(row, org):
    return _holds(row, org) and row.scope_path == org.path


def _holds_as_reviewer(row, org):
    return _holds(row, org) and row.scope_path != org.path


def _move_up(row, org):
    """The holder passes the form to its parent; at level 1 (or above) the form completes."""
    if level_of(row.holder_path) <= 1:
        return {"stage": COMPLETED, "last_reason": None, "held_since": clock.now()}
    return {"stage": PENDING, "holder_path": parent_path(row.holder_path), "last_reason": None,
            "held_since": clock.now()}


def _move_down(row, org):
    """Back one level, to the unit that sent the form up."""
    return {"stage": RETURNED, "holder_path": child_on_chain(row.holder_path, row.scope_path),
            "held_since": clock.now()}


# The SQL twins of the three predicates above: the bulk candidates and the counts on the buttons.
def _held_where(model, org):
    return model.holder_path == org.path


def _held_as_importer_where(model, org):
    return and_(_held_where(model, org), model.scope_path == org.path)


def _held_as_reviewer_where(model, org):
    return and_(_held_where(model, org), model.scope_path != org.path)


def status_for(row, viewer_path):
    """The status label ``viewer_path`` sees for ``row`` (None: an administrator, seen from the top)."""
    if row.stage == COMPLETED:
        return COMPLETED_LABEL
    viewer_path = viewer_path or "/"
    if row.holder_path == viewer_path:
        return {DRAFT: NOT_SUBMITTED, PENDING: TO_REVIEW, RETURNED: RETURNED_LABEL}[row.stage]
    if viewer_path.startswith(row.holder_path):
        # The viewer is below the holder on the form's chain: it sent the form up.
        return RETURNED_LABEL if row.stage == RETURNED else REVIEWED
    return BELOW_REVIEWING


def status_case(model, viewer_path):
    """SQL expression equal to ``status_for`` — used to filter and sort by status."""
    viewer_path = viewer_path or "/"
    vp = literal(viewer_path)
    holder_above_viewer = (func.length(model.holder_path) < len(viewer_path))
    return case(
        (model.stage == COMPLETED, literal(COMPLETED_LABEL)),
        (model.holder_path == vp, case(
            (model.stage == DRAFT, literal(NOT_SUBMITTED)),
            (model.stage == PENDING, literal(TO_REVIEW)),
            else_=literal(RETURNED_LABEL))),
        (holder_above_viewer, case((model.stage == RETURNED, literal(RETURNED_LABEL)),
                                   else_=literal(REVIEWED))),
        else_=literal(BELOW_REVIEWING),
    )


# The colour of each status the viewer sees, the same on the list and the detail page.
STATUS_CLASSES = {NOT_SUBMITTED: "default", TO_REVIEW: "warning", REVIEWED: "info",
                  RETURNED_LABEL: "danger", COMPLETED_LABEL: "success", BELOW_REVIEWING: "primary"}

# What 全部提交 / 全部审核 and 审核通过选中 / 退回选中 take (seed 004 §15): only the forms the unit
# sees as 未提交 (its own drafts) or 未审核 (sent up by a sub-unit). A form that came back (已退回)
# carries a reason from above and needs a decision of its own: those actions leave it out and
# say how many they did.
WORKFLOW = Workflow(
    name="basic_info",
    model=None,  # set by plugins.basic_info.models to avoid importing SQLAlchemy models here
    stages=STAGES,
    transitions=(
        Transition(name="submit", label=N_("提交"), sources=(DRAFT, RETURNED),
                   allowed=_holds_as_importer, effect=_move_up, bulk_label=N_("全部提交"),
                   bulk_question=N_("确定提交本单位导入的全部 %(n)s 份未提交表单吗？"),
                   icon="fa-send", where=_held_as_importer_where, bulk_sources=(DRAFT,)),
        Transition(name="approve", label=N_("审核通过"), sources=(PENDING, RETURNED),
                   allowed=_holds_as_reviewer, effect=_move_up, bulk_label=N_("全部审核"),
                   bulk_question=N_("确定审核通过下级报送的全部 %(n)s 份未审核表单吗？"),
                   where=_held_as_reviewer_where, bulk_sources=(PENDING,)),
        Transition(name="return", label=N_("退回"), sources=(PENDING, RETURNED),
                   allowed=_holds_as_reviewer, effect=_move_down, reason_required=True,
                   icon="fa-reply",
                   where=_held_as_reviewer_where, bulk_sources=(PENDING,),
                   reason_column="last_reason"),
    ),
    object_type="basic_info",
    holder=lambda row: row.stage != COMPLETED and row.holder_path or None,
    status=StatusView(labels=STATUS_LABELS, colours=STATUS_CLASSES, of_row=status_for,
                      sql=status_case, selectable=TO_REVIEW),
    # What _holds*, _move_up, _move_down and holder read (with id, stage and version).
    reads=("scope_path", "holder_path"),
)


def may_edit(row, org):
    """编辑/删除 before completion: only the importer while it holds the form (FAQ §21)."""
    return (org is not None and row.stage in (DRAFT, RETURNED) and row.holder_path == org.path
            and row.scope_path == org.path)


def may_correct(row, viewer):
    """After completion a unit on the form's chain (or an administrator, by role) corrects it
    online, without review. ``viewer``: a Viewer, a user or a unit; None is nobody."""
    if row.stage != COMPLETED:
        return False
    return as_viewer(viewer).covers(row.scope_path)
