"""The web pages of every form type: list, detail, import, transitions, edit/delete and export.

``register(appbuilder, form_types)`` builds one ``ModelView`` per registered ``FormType`` that
declares its commands (Django's ``AdminSite.register``). Thin on purpose: every route loads rows
through the org scope (``load_scoped``; FAB's list uses ``OrgScopeFilter`` as a base filter) and
calls one of the type's commands; a refusal is a DomainError, answered by app.errors (a flashed
message and a redirect back). FAB's generic routes (show/edit/delete/add, action/action_post,
list/<pk>, download) are NOT exposed: ``include_route_methods`` lists only the routes below, each
of which goes through the scope.

Templates are looked up per type first (``<type>/detail.html`` in the plugin's template folder),
then the platform's ``pucha/forms/…`` — so a plugin can replace one page for its type alone.
"""
from flask import abort, flash, g, redirect, request, url_for
from flask_appbuilder import ModelView, expose, has_access
from flask_appbuilder.urltools import get_filter_args, get_order_args
from flask_appbuilder.widgets import ListWidget
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import generate_csrf
from sqlalchemy import select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice

from app.errors import DomainError, on_error_redirect
from app.forms.package import MAX_PACKAGE_BYTES
from app.formtypes import commands, export, imports, listing, pages
from app.i18n_text import N_, display_label, gettext
from app.orgs.scope import OrgScopeFilter, current_viewer, load_scoped
from app.workflow.engine import available_transitions, bulk_counts

# A bulk action's flash lists at most this many forms it left alone, with the reason.
FLASH_SKIPPED = 5

# Translated in the import report's template: one set of words for the page's outcomes.
OUTCOME_LABELS = {"imported": N_("已导入"), "updated": N_("已更新"), "refused": N_("未导入")}

SELECTED_LABELS = {"approve": N_("审核通过选中"), "return": N_("退回选中")}


def _version_arg():
    value = request.form.get("version", "")
    return int(value) if value.isdigit() else None


def _same_list(target):
    """Back to the list page the action was taken on (its filters and page), never elsewhere."""
    if (target and target.startswith(url_for(".list"))
            and "//" not in target and "\\" not in target):
        return target
    return url_for(".list")


class FormListWidget(ListWidget):
    template = "pucha/forms/list_widget.html"

    def __init__(self, **kwargs):
        values = list(kwargs.get("value_columns") or [])
        kwargs["value_columns"] = values
        selectable = kwargs.get("selectable_status")
        # Rows the viewer may tick for 审核通过选中 / 退回选中: those it sees as 未审核.
        kwargs["selectable_any"] = bool(selectable) and any(
            v.get("_status") == selectable for v in values)
        super().__init__(**kwargs)


class FormTypeView(ModelView):
    """The pages of one form type; ``form_type_view(ft)`` makes the subclass for ``ft``."""

    form_type = None
    list_template = "pucha/forms/list.html"
    list_widget = FormListWidget
    include_route_methods = {"list", "detail", "upload", "transition", "bulk", "selected",
                             "edit_form", "delete_form", "export", "package"}
    method_permission_name = {
        "list": "read", "detail": "read", "export": "read", "package": "read",
        "upload": "write", "transition": "write", "bulk": "write", "selected": "write",
        "edit_form": "write", "delete_form": "write",
    }
    base_permissions = ["can_read", "can_write"]
    can_add = can_edit = can_delete = can_show = False
    base_filters = [["id", OrgScopeFilter, None]]
    base_order = ("updated_at", "desc")
    formatters_columns = {"updated_at": lambda v: v.strftime("%Y-%m-%d %H:%M") if v else ""}
    page_size = 20

    # --- templates: the type's own first ---------------------------------------------------
    def page(self, name):
        return [f"{self.form_type.name}/{name}", f"pucha/forms/{name}"]

    def render_template(self, template, **kwargs):
        # Our forms carry the CSRF token whether or not CSRFProtect put ``csrf_token`` into the
        # Jinja globals (it does not when WTF_CSRF_ENABLED is off, as in some tests).
        kwargs.setdefault("csrf_token", generate_csrf)
        ft = self.form_type
        kwargs.setdefault("schema", ft.schema)
        kwargs.setdefault("title_column", ft.title_name)
        return super().render_template(template, **kwargs)

    def _init_properties(self):
        super()._init_properties()
        listing.install_status_filter(self._filters, self.datamodel)

    def fresh_filters(self):
        """The list's search filters parsed from this request, in a new object (FAB keeps one
        per view instance, shared by concurrent requests)."""
        filters = listing.install_status_filter(self.datamodel.get_filters(self.search_columns),
                                                self.datamodel)
        get_filter_args(filters)
        return filters

    def current_query(self):
        """The list's query for this request (scope + search + order), unpaginated."""
        filters = self.fresh_filters().get_joined_filters(self._base_filters)
        order_column, direction = get_order_args().get(self.__class__.__name__, ("", ""))
        if order_column not in self.order_columns:
            order_column, direction = self.base_order
        query = self.datamodel.session.query(self.form_type.model)
        query = self.datamodel.apply_all(query, filters, order_column, direction)
        return query, (order_column, direction)

    def render_list_extras(self):
        ft = self.form_type
        org = current_viewer().org
        counts = bulk_counts(listing.session_of_app(), ft.workflow, org)
        return {"bulk": counts, "viewer": org, "packaged": ft.packaged,
                "bulk_transitions": ft.workflow.bulk_transitions,
                "selectable": bool(ft.workflow.status and ft.workflow.status.selectable),
                "searching": any(key.startswith("_flt_") for key in request.args),
                "export_args": request.args.to_dict(flat=False)}

    def _get_list_widget(self, *args, **kwargs):
        # The toolbar is drawn by the list widget, in FAB's pager row: one row above the data.
        status = self.form_type.workflow.status
        kwargs.setdefault("tools", self.render_list_extras())
        kwargs.setdefault("status_classes", status.colours if status else {})
        kwargs.setdefault("selectable_status", status.selectable if status else None)
        kwargs.setdefault("title_column", self.form_type.title_name)
        return super()._get_list_widget(*args, **kwargs)

    # --- pages --------------------------------------------------------------------------------
    @expose("/list/")
    @has_access
    def list(self):
        widgets = self._list()
        return self.render_template(self.list_template, title=self.list_title, widgets=widgets,
                                    **self.render_list_extras())

    @expose("/form/<int:pk>")
    @has_access
    def detail(self, pk):
        ft = self.form_type
        session = listing.session_of_app()
        form = load_scoped(session, ft.model, pk, missing=commands.MSG_FORM_NOT_FOUND)
        viewer = current_viewer()
        status = ft.workflow.status
        return self.render_template(
            self.page("detail.html"), title=display_label(ft.schema), form=form,
            status=listing.status_of(ft, form, viewer.path),
            status_classes=status.colours if status else {},
            fields=ft.schema.fields, values=form, groups=pages.grouped_rows(ft, form),
            table=ft.table, columns=ft.table.columns if ft.table is not None else [],
            transitions=available_transitions(ft.workflow, form, viewer),
            may_edit=ft.policy.may_edit(form, viewer),
            may_correct=ft.policy.may_correct(form, viewer),
            summary=ft.policy.summary(form, viewer),
            show_reason=ft.policy.shows_reason(form, viewer),
            packaged=ft.packaged, events=pages.timeline(session, ft, form))

    @expose("/package/<int:pk>")
    @has_access
    def package(self, pk):
        """The package file as the unit handed it in (原上报文件), streamed from the file store."""
        ft = self.form_type
        if not ft.packaged:
            abort(404)
        stored = load_scoped(listing.session_of_app(), ft.package_model, pk,
                             missing=imports.MSG_PACKAGE_NOT_FOUND)
        return imports.package_download(stored)

    @expose("/form/<int:pk>/do/<name>", methods=["POST"])
    @has_access
    @on_error_redirect(lambda pk, **_: url_for(".detail", pk=pk))
    def transition(self, pk, name):
        ft = self.form_type
        session = listing.session_of_app()
        form = load_scoped(session, ft.model, pk, missing=commands.MSG_FORM_NOT_FOUND)
        version = _version_arg()
        result = commands.transition(session, g.user, ft, name, [form.id],
                                     reason=request.form.get("reason"),
                                     expected_versions={form.id: version} if version else None)
        message = ft.policy.done_message(session, result, form)
        if message is None:
            labels = {t.name: gettext(t.label) for t in ft.workflow.transitions}
            message = gettext("已%(label)s：%(name)s", label=labels.get(name, name),
                              name=getattr(form, ft.title_name or "uuid", None) or form.uuid)
        flash(message, "success")
        return redirect(url_for(".detail", pk=pk))

    @expose("/bulk/<name>", methods=["POST"])
    @has_access
    @on_error_redirect(lambda **_: url_for(".list"))
    def bulk(self, name):
        ft = self.form_type
        labels = {t.name: t.bulk_label for t in ft.workflow.bulk_transitions}
        if name not in labels:
            abort(404)
        session = listing.session_of_app()
        result = commands.transition_all(session, g.user, ft, name)
        self.flash_result(session, gettext(labels[name]), result)
        return redirect(url_for(".list"))

    @expose("/selected/<name>", methods=["POST"])
    @has_access
    @on_error_redirect(lambda **_: _same_list(request.form.get("next")))
    def selected(self, name):
        """审核通过选中 / 退回选中: the forms ticked on the list, each checked on its own."""
        ft = self.form_type
        if name not in SELECTED_LABELS or not (ft.workflow.status and ft.workflow.status.selectable):
            abort(404)
        session = listing.session_of_app()
        ids = request.form.getlist("ids")
        versions = {key[len("version-"):]: value for key, value in request.form.items()
                    if key.startswith("version-")}
        result = commands.transition_selected(session, g.user, ft, name, ids,
                                              reason=request.form.get("reason"),
                                              expected_versions=versions)
        self.flash_result(session, gettext(SELECTED_LABELS[name]), result)
        return redirect(_same_list(request.form.get("next")))

    @expose("/upload", methods=["POST"])
    @has_access
    @on_error_redirect(lambda **_: url_for(".list"))
    def upload(self):
        ft = self.form_type
        if not ft.packaged:
            abort(404)
        files = []
        for storage in request.files.getlist(listing.UPLOAD_FIELD):
            if not storage or not storage.filename:
                continue
            # Read one byte more than allowed: a larger file is refused by the package reader as
            # too big without being held in memory in full.
            files.append((storage.filename, storage.stream.read(MAX_PACKAGE_BYTES + 1)))
        if not files:
            flash(gettext("请选择要导入的上报文件（.zip，可一次选择多个）"), "warning")
            return redirect(url_for(".list"))
        report = imports.import_packages(listing.session_of_app(), g.user, ft, files)
        title_label = display_label(ft.schema.field(ft.title_name)) if ft.title_name else ""
        return self.render_template(self.page("import_report.html"), title=_l("导入结果"),
                                    packages=pages.report_view(report), outcomes=OUTCOME_LABELS,
                                    title_label=title_label)

    @expose("/form/<int:pk>/edit", methods=["GET", "POST"])
    @has_access
    def edit_form(self, pk):
        ft = self.form_type
        session = listing.session_of_app()
        form = load_scoped(session, ft.model, pk, missing=commands.MSG_FORM_NOT_FOUND)
        viewer = current_viewer()
        correcting = ft.policy.may_correct(form, viewer)
        if not (ft.policy.may_edit(form, viewer) or correcting):
            flash(gettext("本单位当前不能修改该表单"), "danger")
            return redirect(url_for(".detail", pk=pk))
        template = self.page("edit.html")
        if request.method == "GET":
            return self.render_template(template, title=display_label(ft.schema),
                                        correcting=correcting, version=form.version,
                                        **pages.edit_context(ft, form, form.document))
        version = _version_arg()
        doc = ft.schema.normalize(pages.document_from_request(ft, form, request.form))
        errors = ft.schema.validate(doc)
        if not errors:
            try:
                commands.edit(session, g.user, ft, form.id, doc, version)
            except DomainError as error:
                # The page is drawn again with the problems beside their inputs, so a refusal is
                # answered here rather than by the error handler.
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
        return self.render_template(template, title=display_label(ft.schema),
                                    correcting=correcting, version=version or form.version,
                                    **pages.edit_context(ft, form, doc, errors))

    @expose("/form/<int:pk>/delete", methods=["POST"])
    @has_access
    @on_error_redirect(lambda pk, **_: url_for(".detail", pk=pk))
    def delete_form(self, pk):
        ft = self.form_type
        session = listing.session_of_app()
        form = load_scoped(session, ft.model, pk, missing=commands.MSG_FORM_NOT_FOUND)
        name = getattr(form, ft.title_name or "uuid", None) or form.uuid
        commands.delete_form(session, g.user, ft, form.id, _version_arg())
        flash(gettext("已删除：%(name)s", name=name), "success")
        return redirect(url_for(".list"))

    @expose("/export")
    @has_access
    def export(self):
        query, order = self.current_query()
        return export.download_report(listing.session_of_app(), self.form_type, g.user,
                                      current_viewer().org, query, order)

    # --- messages -----------------------------------------------------------------------------
    def flash_result(self, session, label, result):
        """What a bulk or selected action did, in one flash: how many forms, what it caused (the
        type's notes: codes issued, mails queued), and what was left alone and why."""
        ft = self.form_type
        parts = [gettext("%(label)s：共 %(count)s 份表单", label=label, count=result.count)]
        parts += ft.policy.result_notes(session, result)
        if result.left_out:
            parts.append(gettext("另有 %(count)s 份已退回的表单需逐份处理", count=result.left_out))
        if result.skipped:
            model = ft.model
            title = getattr(model, ft.title_name or "uuid")
            shown_ids = list(result.skipped)[:FLASH_SKIPPED]
            names = dict(session.execute(select(model.id, title)
                                         .where(model.id.in_(shown_ids))).all())
            shown = [f"{names.get(i) or i}：{why}" for i, why in list(result.skipped.items())[:FLASH_SKIPPED]]
            more = len(result.skipped) - len(shown)
            parts.append(gettext("%(count)s 份未处理：", count=len(result.skipped)) + "；".join(shown)
                         + (gettext("等") if more > 0 else ""))
        category = "success" if result.count and not result.skipped else (
            "warning" if result.skipped else "info")
        flash("。".join(parts), category)


def form_type_view(ft):
    """The ModelView class of ``ft``: route /<name>, class name ``ft.view_name``."""
    status = ft.workflow.status
    attrs = {
        "form_type": ft,
        "route_base": f"/{ft.name}",
        "datamodel": listing.FormInterface.of(ft),
        "list_title": _l(ft.title),
        "list_columns": list(listing.WORKFLOW_COLUMNS) + list(ft.listed),
        "order_columns": list(ft.ordered),
        "search_columns": list(ft.searched),
        "label_columns": listing.list_labels(ft),
        "search_form_extra_fields": {"stage": SelectField(
            _l("状态"), choices=[SelectChoice(s, _l(s)) for s in (status.labels if status else ())])},
    }
    return type(ft.view_name, (FormTypeView,), attrs)


def register(appbuilder, form_types):
    for ft in form_types:
        if not ft.machine:
            continue
        appbuilder.add_view(form_type_view(ft), ft.title, icon=ft.icon, label=_l(ft.title),
                            category=ft.category, category_icon="fa-list-alt",
                            category_label=_l(ft.category))


__all__ = ["FormTypeView", "form_type_view", "register"]
