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
    # A bulk form of this transition is offered in the UI as this label (e.g. 全部审核).
    bulk_label: Optional[str] = None


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

    def transition(self, name):
        for t in self.transitions:
            if t.name == name:
                return t
        raise KeyError(name)

    def stage_label(self, stage):
        return self.stages.get(stage, stage)


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
