"""The list of a form type, shared by its web pages and its REST API.

The status a viewer sees is derived (the workflow's ``StatusView``: a Python rule for each row and
its SQL twin to filter and sort by), the importer and the holder are names, and the holder column
says how long the form has waited there. Everything here reads only the ``FormType``.
"""
from flask import current_app
from flask_appbuilder.models.filters import BaseFilter
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import asc, case, desc, false, func, select

from app import clock
from app.i18n_text import lazy_label
from app.orgs.models import Org
from app.orgs.scope import current_viewer

UPLOAD_FIELD = "packages"


def session_of_app():
    return current_app.appbuilder.session


def viewer_path():
    """Where the current viewer stands (None: an administrator, seen from the top)."""
    return current_viewer().path


def waited_text(since, now=None):
    """How long a form has waited at its holder, as the list shows it: 今天 / N 天."""
    if since is None:
        return ""
    days = ((now or clock.now()) - since).days
    return gettext("今天") if days < 1 else gettext("%(days)s 天", days=days)


def status_of(ft, row, path=None):
    status = ft.workflow.status
    if status is None:
        return ft.workflow.stage_label(row.stage)
    return status.of_row(row, path)


def is_held(ft, row):
    """Whether ``row`` waits at a unit (not closed): the workflow's holder rule."""
    holder = ft.workflow.holder
    return holder(row) is not None if holder is not None else True


class FormInterface(SQLAInterface):
    """FAB's interface plus pseudo-columns: ``status`` (what the viewer sees), ``importer_name``
    and ``holder_name`` (当前所在单位: where the form waits, and for how long), which also sort."""

    form_type = None

    @classmethod
    def of(cls, ft):
        """The interface of ``ft``'s model. A subclass per type, because FAB builds interfaces of
        related models with ``self.__class__(model)``: those keep FAB's own behaviour."""
        interface = type(f"{ft.view_name}Interface", (cls,), {"form_type": ft})
        return interface(ft.model)

    def _is_form(self):
        return self.form_type is not None and self.obj is self.form_type.model

    def _get_attr_value(self, item, col):
        if not self._is_form():
            return SQLAInterface._get_attr_value(item, col)
        if col == "status":
            return status_of(self.form_type, item, viewer_path())
        if col == "importer_name":
            return item.importer.name if item.importer is not None else ""
        if col == "holder_name":
            if not is_held(self.form_type, item) or item.holder is None:
                return ""
            waited = waited_text(item.held_since or item.updated_at)
            return (gettext("%(name)s（%(note)s）", name=item.holder.name, note=waited)
                    if waited else item.holder.name)
        return SQLAInterface._get_attr_value(item, col)

    def get_values(self, lst, list_columns):
        # The list's checkboxes send each form's version, so a form changed since the page was
        # drawn is left alone by the selected-rows actions.
        if not self._is_form():
            return super().get_values(lst, list_columns)
        out = []
        path = viewer_path()
        for item, values in zip(lst, super().get_values(lst, list_columns)):
            values["_version"] = item.version
            values["_status"] = values.get("status") or status_of(self.form_type, item, path)
            out.append(values)
        return out

    def apply_order_by(self, query, order_column, order_direction, *args, **kwargs):
        if not self._is_form():
            return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)
        direction = asc if order_direction == "asc" else desc
        status = self.form_type.workflow.status
        if order_column == "status" and status is not None:
            # In the workflow's display order, not the labels' alphabet: that would follow the
            # database's collation (pinyin under PostgreSQL's ICU, code points under SQLite).
            rank = case({label: i for i, label in enumerate(status.labels)},
                        value=status.sql(self.obj, viewer_path()), else_=len(status.labels))
            return query.order_by(direction(rank), direction(self.obj.id))
        if order_column == "holder_name":
            # Grouped by unit; within a unit, the longest-waiting first when ascending.
            waited = func.coalesce(self.obj.held_since, self.obj.updated_at)
            return query.order_by(direction(self.obj.holder_path), waited, self.obj.id)
        return super().apply_order_by(query, order_column, order_direction, *args, **kwargs)


class StatusFilter(BaseFilter):
    """状态 as the viewer sees it, computed in SQL (the StatusView's twin) so it filters 100,000
    rows with the same result as the list's column."""

    name = _l("等于")
    arg_name = "status"

    def apply(self, query, value):
        status = self.datamodel.form_type.workflow.status
        # FAB's page filters hand over a list (request.args.getlist), the REST API a string.
        values = [v for v in (value if isinstance(value, (list, tuple)) else [value])
                  if status is not None and v in status.labels]
        if not values:
            return query.filter(false())
        return query.filter(status.sql(self.model, viewer_path()).in_(values))


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
        closed = self.datamodel.form_type.closed_stages
        query = query.filter(self.model.holder_path.in_(units))
        return query.filter(self.model.stage.not_in(closed)) if closed else query


def install_status_filter(filters, datamodel):
    """Replace the generic text filters FAB made for ``stage`` and ``holder_path`` by the status
    and holder filters."""
    # FAB looks page filters up in ``_all_filters`` and offers ``_search_filters`` in the form.
    status = [StatusFilter("stage", datamodel)]
    filters._search_filters["stage"] = status
    filters._all_filters["stage"] = status
    holder = [HolderFilter("holder_path", datamodel)]
    filters._search_filters["holder_path"] = holder
    filters._all_filters["holder_path"] = holder
    return filters


WORKFLOW_COLUMNS = ("importer_name", "updated_at", "status", "holder_name")


def list_labels(ft):
    labels = {"importer_name": _l("填报人"), "updated_at": _l("时间"), "status": _l("状态"),
              "holder_name": _l("当前所在单位"), "holder_path": _l("当前所在单位"),
              "stage": _l("状态")}
    if ft.code_column:
        labels[ft.code_column] = ft.code_label
    # The schema declares each label in both languages; the list shows the user's.
    labels.update({f.name: lazy_label(f) for f in ft.schema.fields})
    return labels
