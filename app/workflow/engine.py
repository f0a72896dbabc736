"""The workflow engine: workflows are data, ``apply`` is the one way a stage changes.

A plugin registers a ``Workflow`` (through ``register_workflows``) naming its model, its stages
and its transitions. A transition says which stages it leaves from, who may take it (a predicate
on the row and the acting unit), whether a reason is required, its label, and its effect (the
column changes it makes; at least the new stage).

``apply(session, workflow_name, transition_name, ids, actor, reason=None)`` loads the rows through
the org scope, checks every row, writes the changes, one audit row per object and whatever the
``after_transition`` hook adds (mail, codes) in ONE transaction, set-based: a bulk action on 5,000
rows is a handful of statements, not 5,000 round trips. Rows carry a ``version`` column; an update
that finds a different version fails with ``ConcurrentChange`` so that no update is lost.
"""
from dataclasses import dataclass, field
from typing import Any, Callable, Optional


class WorkflowError(Exception):
    """A transition was refused; ``str(exc)`` is a Chinese message for the user."""


class NotAllowed(WorkflowError):
    """The actor may not take this transition on this row (wrong unit or wrong stage)."""


class ReasonRequired(WorkflowError):
    """The transition needs a reason and none was given."""


class ConcurrentChange(WorkflowError):
    """The row changed since it was read (another unit acted first)."""


@dataclass(frozen=True)
class Transition:
    name: str
    label: str
    sources: tuple
    # allowed(row, actor_org) -> bool: who may take it, on which row. actor_org is None for admins.
    allowed: Callable[[Any, Any], bool]
    # effect(row, actor_org) -> dict of column changes, including "stage".
    effect: Callable[[Any, Any], dict]
    reason_required: bool = False
    # A bulk form of this transition is offered in the UI as this label (e.g. 全部审核).
    bulk_label: Optional[str] = None


@dataclass(frozen=True)
class Workflow:
    name: str
    model: Any
    stages: dict  # stage -> label
    transitions: tuple = field(default_factory=tuple)
    object_type: Optional[str] = None

    def transition(self, name):
        for t in self.transitions:
            if t.name == name:
                return t
        raise KeyError(name)
