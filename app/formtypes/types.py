"""A form type as data: what a plugin declares, and what the platform builds from it.

Django's admin has one ``ModelAdmin`` machine for many models; Frappe has DocTypes. Here a plugin
registers a ``FormType`` — its schema (fields and tables), its model, its workflow (stages,
transitions with their SQL twins, the per-viewer status) and its ``FormPolicy`` (the per-object
rules) — and ``app.formtypes`` gives it the operations (``commands``, ``imports``), and through
``views``, ``api`` and ``export`` the list, detail, edit/delete, import, transitions (single,
selected, 全部), timeline, Excel export and REST API. The platform never names a form type.
"""
from dataclasses import dataclass, field
from typing import Any, Optional

from app.errors import DomainError
from app.i18n_text import N_, gettext
from app.workflow.model import Workflow


class FormPolicy:
    """The per-object rules of a form type (Django's ``has_change_permission``, Frappe's
    controller). Every method has the neutral answer; a plugin overrides what is its own."""

    def may_edit(self, record, viewer):
        """编辑 / 删除 before completion."""
        return False

    def may_correct(self, record, viewer):
        """在线修改 after completion, without a new review."""
        return False

    def edit_refusal(self, record, viewer, verb):
        """The sentence refusing ``verb`` ("edit" or "delete") on ``record`` to ``viewer``."""
        return gettext("当前状态下不能编辑该表单") if verb == "edit" else gettext(
            "当前状态下不能删除该表单")

    def stamp(self, session, org):
        """{hidden field: value} set on every form ``org`` imports (e.g. its 省/市/县)."""
        return {}

    def reimport_refusal(self, existing):
        """Why a package may not replace ``existing`` (a row: id, uuid, stage, version and the
        type's code), or None. Another unit's form is always refused by the platform."""
        return None

    def import_warnings(self, session, org, stamp, documents):
        """{uuid: [{path, label, message}]} for the documents about to be written: imported,
        but a unit should look at them. Read before anything is written."""
        return {}

    def derived_values(self, document):
        """Columns the record keeps beside the schema's fields, derived from the document on
        every write (e.g. a normalised identity to find duplicates by)."""
        return {}

    def transition_refusals(self, session, actor, name, ids):
        """{id: why} for the forms ``ids`` that transition ``name`` must not take although the
        workflow allows it (checked before anything is written; ids outside the actor's scope
        are the engine's to refuse, and must not be described here)."""
        return {}

    def refusal_error(self, refusals):
        """The error refusing a single transition for ``refusals`` ({id: why})."""
        return DomainError(refusals[min(refusals)])

    def shows_reason(self, record, viewer):
        """Whether ``viewer`` sees the reason the record came back with."""
        return False

    def summary(self, record, viewer):
        """What the detail page's header shows beside the importer and the time, as
        ``[(label, value, css_class)]`` (e.g. the codes a completed form was issued)."""
        return []

    def api_extras(self, record, viewer):
        """Values the REST API's ``get`` adds for ``viewer`` (e.g. a credential shown only to the
        importing unit): never columns of the list."""
        return {}

    def result_notes(self, session, result):
        """Sentences a transition's message adds about what it caused (codes issued, mails)."""
        return []

    def done_message(self, session, result, record):
        """The message of a single transition on ``record``, or None for the generic one."""
        return None


@dataclass(frozen=True)
class FormType:
    """A census table. ``name`` is the package ``form_type``, the URL segment and the audit
    object type; ``view_name`` the class name of its pages (FAB's permission names)."""

    name: str
    label: str
    schema: Any = None
    model: Any = None
    # The model of the schema's table rows (one row per table row), for the export.
    row_model: Any = None
    # The name on the menu, the list's title and the export's first sheet (default: label).
    short_label: Optional[str] = None
    workflow: Any = None   # a Workflow (or, for older plugins, its registered name)
    policy: FormPolicy = field(default_factory=FormPolicy)
    package_kind: Optional[str] = None
    # The list: workflow columns first, then these (schema field names or pseudo-columns);
    # default: the schema's list fields. Search and sort default to them too.
    list_columns: tuple = ()
    search_columns: tuple = ()
    order_columns: tuple = ()
    # The column that names a record (links to its detail page) and the one with its code.
    title_column: Optional[str] = None
    code_column: Optional[str] = None
    code_label: Any = None
    # Pages: the menu and the printed report.
    category: str = N_("普查表")
    icon: str = "fa-table"
    report_title: Optional[str] = None
    # History words of this type's own audit actions (the platform knows the generic ones).
    action_labels: dict = field(default_factory=dict)
    # Columns never listed, exported or returned by the API list (credentials).
    secret_columns: tuple = ()
    # Stages in which a record waits at no unit any more (e.g. 已办结).
    closed_stages: tuple = ()
    # The stage an imported (or re-imported) form starts in, and the model of its stored packages.
    initial_stage: str = "draft"
    package_model: Any = None

    @property
    def machine(self):
        """Whether the platform builds this type's pages and API: it declares a schema, a model
        and its workflow (older plugins that register only names build their own views)."""
        return (self.schema is not None and self.model is not None
                and isinstance(self.workflow, Workflow))

    @property
    def packaged(self):
        """Filled in the filler and imported as packages."""
        return self.package_kind is not None and self.package_model is not None

    @property
    def title(self):
        return self.short_label or self.label

    @property
    def title_name(self):
        """The column that names a record: declared, else the schema's title field."""
        return self.title_column or getattr(self.schema, "title_field", None)

    @property
    def listed(self):
        """The list's columns after the workflow's: declared, else the schema's list fields."""
        return tuple(self.list_columns or getattr(self.schema, "list_fields", ()))

    @property
    def searched(self):
        return tuple(self.search_columns or ("stage", "holder_path", *self.listed))

    @property
    def ordered(self):
        return tuple(self.order_columns or ("updated_at", "status", "holder_name", *self.listed))

    @property
    def view_name(self):
        return "".join(part.capitalize() for part in self.name.split("_")) + "View"

    @property
    def api_name(self):
        return "".join(part.capitalize() for part in self.name.split("_")) + "Api"

    @property
    def table(self):
        """The schema's repeatable table (a form type has at most one today)."""
        tables = getattr(self.schema, "tables", None) or ()
        return tables[0] if tables else None

    @property
    def object_type(self):
        workflow = self.workflow
        return getattr(workflow, "object_type", None) or getattr(workflow, "name", None) or self.name
