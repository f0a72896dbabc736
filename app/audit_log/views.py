"""审计日志: the audit trail as a page and an export, under 系统管理.

Both routes start from ``scoped_select(AuditEvent)``, the one org scope on the row's
``scope_path``: an administrator sees every event, a unit the events of its subtree. Both are
GETs that change nothing but the audit trail itself (an export is recorded as a download).
"""
from flask import current_app, g, request
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from app import audit
from app.audit import AuditEvent
from app.audit_log import listing
from app.orgs.scope import scoped_select
from app.xlsx import xlsx_response


def _session():
    return current_app.appbuilder.session


def scoped_events():
    """The viewer's events, through the one scope (which shows a user with neither a unit nor
    the administrator role nothing)."""
    return scoped_select(AuditEvent)


class AuditLogView(BaseView):
    route_base = "/audit"
    default_view = "list"
    list_template = "pucha/audit_log.html"

    def _render(self, filters, labels, **found):
        context = dict(rows=[], count=0, more=False, older=None, newer=None)
        context.update(found)
        status = 400 if filters.errors else 200
        return self.render_template(
            self.list_template, title=gettext("审计日志"), filters=filters,
            errors=filters.errors, actions=labels.action_choices(), cap=listing.COUNT_CAP,
            paged=filters.before is not None or filters.after is not None, **context), status

    @expose("/")
    @has_access
    def list(self):
        session = _session()
        filters = listing.parse_filters(request.args)
        labels = listing.Labels()
        if filters.errors:
            return self._render(filters, labels)
        stmt = listing.filtered_select(session, scoped_events(), filters)
        if filters.errors:
            return self._render(filters, labels)
        count, more = listing.capped_count(session, stmt)
        found = listing.page(session, stmt, filters)
        return self._render(filters, labels, rows=[listing.shown(r, labels) for r in found.rows],
                            count=count, more=more, older=found.older, newer=found.newer)

    @expose("/export")
    @has_access
    def export(self):
        session = _session()
        filters = listing.parse_filters(request.args)
        stmt = None if filters.errors else listing.filtered_select(session, scoped_events(),
                                                                    filters)
        if filters.errors:
            return self._render(filters, listing.Labels())
        fh, written, cut = listing.write_workbook(
            session, stmt, current_app.config["AUDIT_EXPORT_MAX_ROWS"])
        filename = gettext("审计日志") + f"_{audit.now():%Y%m%d%H%M}.xlsx"
        detail = {"file": filename, "events": written}
        if cut:
            detail["cut"] = True
        audit.record(session, "download", "audit_event", None, actor=g.user, detail=detail)
        session.commit()
        return xlsx_response(fh, filename)


def register(appbuilder):
    appbuilder.add_view(AuditLogView, "审计日志", icon="fa-history", label=_l("审计日志"),
                        category="系统管理", category_label=_l("系统管理"),
                        category_icon="fa-cogs")
