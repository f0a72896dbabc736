"""Web views of app.orgs: the org list every unit sees (its own subtree) and the admin's editor.

Two views rather than one, because permissions are per view: the organising-unit role gets every
permission of non-admin views, so a read-only view for everyone and an ``admin_only`` view for
adding and renaming keep the rule in the permission table instead of in template tricks.
Units are never deleted here: accounts, forms and audit rows point at them.
"""
from flask import current_app, g
from flask_appbuilder import ModelView
from flask_appbuilder.fields import QuerySelectField
from flask_appbuilder.models.sqla.filters import FilterInFunction
from flask_appbuilder.models.sqla.interface import SQLAInterface
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired

from app import audit
from app.orgs import changes
from app.orgs.importer import unit_problems
from app.orgs.models import KIND_LABELS, Org, kind_label
from app.orgs.scope import OrgScopeFilter, viewer_for

CATEGORY = "系统管理"
PARENT_KINDS = ("national", "province", "ministry", "xpcc", "city")

LABELS = {
    "code": _l("代码"),
    "name": _l("名称"),
    "level": _l("级别"),
    "kind": _l("类型"),
    "kind_label": _l("类型"),
    "parent": _l("上级单位"),
    "parent.name": _l("上级单位"),
    "parent.code": _l("上级代码"),
    "path": _l("路径"),
}


class OrgSubtreeFilter(OrgScopeFilter):
    """The org list's row scope: the viewer's unit and below (everything for an administrator,
    nothing for a user with neither). app.orgs.scope.OrgScopeFilter on the tree's own ``path``
    column instead of a copied ``scope_path``."""

    arg_name = "orgsubtree"
    column = "path"


class NamedEmptyChoice:
    """ModelView mixin: the empty choice of an optional select (上级单位, 单位) reads
    ``empty_choice_text`` instead of ``__None``. FAB gives it no text, and WTForms 3.2+ then
    shows the option's value."""

    empty_choice_text = _l("请选择单位")

    def _init_forms(self):
        super()._init_forms()
        for form in (self.add_form, self.edit_form):
            for unbound in vars(form).values():
                if getattr(unbound, "field_class", None) is QuerySelectField:
                    unbound.kwargs["blank_text"] = self.empty_choice_text


def _parent_kinds():
    return list(PARENT_KINDS)


class OrgView(ModelView):
    """组织机构: the viewer's own unit and everything below it."""

    route_base = "/orgs"
    datamodel = SQLAInterface(Org)
    base_filters = [["id", OrgSubtreeFilter, None]]
    base_order = ("path", "asc")
    base_permissions = ["can_list", "can_show"]
    include_route_methods = {"list", "show"}
    list_title = _l("组织机构")
    show_title = _l("组织机构详情")
    list_columns = ["code", "name", "level", "kind", "parent.name"]
    show_columns = ["code", "name", "level", "kind_label", "parent.code", "parent.name"]
    search_columns = ["code", "name", "level", "kind"]
    order_columns = ["code", "name", "level", "kind"]
    formatters_columns = {"kind": kind_label}
    label_columns = LABELS
    page_size = 50


class OrgAdminView(NamedEmptyChoice, ModelView):
    """组织机构维护: administrators add units (a new district, a new bureau) and rename them.

    Moving a unit under another parent rewrites the paths of its subtree and of every scoped
    row, so it goes through the import (`flask pucha import-orgs`), which does that in one
    transaction and reports it.
    """

    admin_only = True
    route_base = "/orgs/admin"
    datamodel = SQLAInterface(Org)
    base_filters = [["id", OrgSubtreeFilter, None]]
    base_order = ("path", "asc")
    base_permissions = ["can_list", "can_show", "can_add", "can_edit"]
    include_route_methods = {"list", "show", "add", "edit"}
    list_title = _l("组织机构维护")
    add_title = _l("新增组织机构")
    edit_title = _l("修改组织机构名称")
    show_title = _l("组织机构详情")
    list_columns = ["code", "name", "level", "kind", "parent.name"]
    show_columns = ["code", "name", "level", "kind_label", "parent.code", "parent.name", "path"]
    search_columns = ["code", "name", "level", "kind"]
    order_columns = ["code", "name", "level", "kind"]
    formatters_columns = {"kind": kind_label}
    add_columns = ["code", "name", "kind", "parent"]
    edit_columns = ["name"]
    label_columns = LABELS
    add_form_extra_fields = {
        "kind": SelectField(_l("类型"),
                            choices=[SelectChoice(k, _l(v)) for k, v in KIND_LABELS.items()
                                     if k != "national"],
                            validators=[DataRequired()]),
    }
    # FAB's form views read add_form_query_rel_fields (add_query_rel_fields is the REST API's).
    add_form_query_rel_fields = {"parent": [["kind", FilterInFunction, _parent_kinds]]}
    validators_columns = {"parent": [DataRequired(message=_l("请选择上级单位"))]}
    empty_choice_text = _l("请选择上级单位")
    description_columns = {
        "code": _l("行政区划代码（6 位数字）、部门代码 bm+4 位数字、兵团代码 bt+4 位数字"),
    }
    page_size = 50

    def _require_admin(self):
        if not viewer_for(g.user).is_admin:
            raise ValueError(gettext("只有系统管理员可以维护组织机构"))

    def pre_add(self, item):
        self._require_admin()
        session = current_app.appbuilder.session
        parent = item.parent
        code, name = (item.code or "").strip(), (item.name or "").strip()
        # The new object is already in the session through the parent backref; keep it out of
        # the validation queries so it does not count as an existing unit.
        with session.no_autoflush:
            if code and session.scalar(select(Org.id).where(Org.code == code)):
                raise ValueError(gettext("代码 %(code)s 已存在", code=code))
            problems = unit_problems(session, code, name, item.kind or "",
                                     parent.code if parent else "")
        if problems:
            raise ValueError("；".join(problems))
        item.code = code
        item.name = name
        item.level = parent.level + 1
        item.path = f"{parent.path}{code}/"
        audit.record(session, "add_org", "org", object_id=code, actor=g.user,
                     detail={"code": code, "name": name, "kind": item.kind,
                             "parent_code": parent.code})

    def post_add(self, item):
        # The areas above the tree do their part (accounts: the new unit's account at once, for
        # the parent to hand out from its account table), committed together.
        session = current_app.appbuilder.session
        changes.announce(session, added=[item.code], actor=g.user)
        session.commit()

    def pre_update(self, item):
        self._require_admin()
        item.name = (item.name or "").strip()
        if not item.name:
            raise ValueError(gettext("名称不能为空"))
        session = current_app.appbuilder.session
        audit.record(session, "rename_org", "org", object_id=item.code,
                     actor=g.user, detail={"code": item.code, "name": item.name})
        changes.announce(session, renamed=[item.code], actor=g.user)


def register(appbuilder):
    """Add this area's views and menu entries."""
    appbuilder.add_view(OrgView, "组织机构", icon="fa-sitemap", label=_l("组织机构"),
                        category=CATEGORY, category_label=_l("系统管理"), category_icon="fa-cogs")
    appbuilder.add_view(OrgAdminView, "组织机构维护", icon="fa-pencil", label=_l("组织机构维护"),
                        category=CATEGORY)
