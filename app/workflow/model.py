"""The workflow as data: transitions, workflows and what ``apply`` did.

Pure data with no imports from the rest of app/, so that app.registry (which validates registered
workflows) and app.workflow.engine (which reads the registry) can both import it at the top.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple
    # allowed(row, actor_org) -> bool: who may take it, on which row. actor_org is None only for
    # an administrator (recognised by role); a user with neither is refused before this is asked.
    allowed: Callable[[Any, Any], bool]
    # effect(row, actor_org) -> dict of column changes, including "stage".
    effect: Callable[[Any, Any], dict]
    reason_required: bool = False
    # A bulk form of this transition is offered in the UI as this label (e.g. 全部审核), asking
    # ``bulk_question`` (with ``%(n)s``, the number of rows it takes) first.
    bulk_label: Optional[str] = None
    bulk_question: Optional[str] = None
    icon: str = "fa-check"
    # where(model, actor_org) -> SQL condition: the SQL twin of ``allowed`` (the stage test is
    # added from ``sources``). Bulk candidates and the counts the buttons show come from it, so
    # the list, the confirmation and the action take the same forms.
    where: Optional[Callable[[Any, Any], Any]] = None
    # The stages the bulk and the "ticked rows" forms of the transition take (default: all of
    # ``sources``). A row in another source stage is left out on purpose and counted: e.g. a
    # 已退回 form carries a reason from above and needs a decision of its own.
    bulk_sources: Optional[tuple] = None
    # The column the reason is kept in (e.g. the last 退回 reason, shown to the units below), in
    # the same UPDATE as the stage change. The audit row has the reason in any case.
    reason_column: Optional[str] = None

    @property
    def taken_in_bulk(self):
        return self.sources if self.bulk_sources is None else self.bulk_sources


@dataclass(frozen=True)
class StatusView:
    """What a viewer sees a row as, declared beside the transitions: the labels (in display
    order), the colour of each, the Python rule and its SQL twin (to filter and sort by it), and
    the label of the rows a viewer may tick for the selected-rows actions."""

    labels: tuple
    colours: dict
    # of_row(row, viewer_path) -> label; sql(model, viewer_path) -> SQL expression of the label.
    # viewer_path None: an administrator, seen from the top.
    of_row: Callable[[Any, Optional[str]], str]
    sql: Callable[[Any, Optional[str]], Any]
    selectable: Optional[str] = None


@dataclass(frozen=True)
class Workflow:
    name: str
    model: Any
    stages: dict  # stage -> label
    transitions: tuple = field(default_factory=tuple)
    object_type: Optional[str] = None
    # holder(row) -> the materialised path of the unit that has the row in hand now (None: the
    # row moves by stage alone). A unit refused on a row it does not hold lost a race: the row
    # was in its hands when its page was drawn (it is in its scope, so it lies on the unit's
    # chain) and a colleague or another unit moved it since. That refusal is a ConcurrentChange
    # (409, "refresh"), not NotAllowed (403).
    holder: Optional[Callable[[Any], Optional[str]]] = None
    # What each viewer sees a row as (None: the stage label for everybody).
    status: Optional[StatusView] = None
    # The columns the transitions' rules (``allowed``, ``effect``) and ``holder`` read besides
    # id, stage and version: ``apply`` loads only these (None: every column but the JSON ones).
    # A rule reading a column not named here fails loudly (AttributeError), never silently.
    reads: Optional[tuple] = None

    def transition(self, name):
        for t in self.transitions:
            if t.name == name:
                return t
        raise KeyError(name)

    def stage_label(self, stage):
        return self.stages.get(stage, stage)

    @property
    def bulk_transitions(self):
        """The transitions offered as 全部…: those with a bulk label and an SQL twin."""
        return tuple(t for t in self.transitions if t.bulk_label and t.where is not None)


@dataclass
class Result:
    """What ``apply`` did: the ids changed (in id order), each row's stage before and after, and
    with ``skip_refused=True`` the ids left alone with the Chinese reason why."""

    workflow: Workflow
    transition: Transition
    ids: list
    from_stages: dict
    to_stages: dict
    skipped: dict = field(default_factory=dict)
    # Rows a bulk action left out on purpose (not refused): e.g. 已退回 forms, which need a
    # decision of their own.
    left_out: int = 0

    @property
    def count(self):
        return len(self.ids)
