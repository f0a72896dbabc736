"""The REST API of every form type under /api/v1/<type>/ (JWT, documented in /api/v1/_openapi).

``register(appbuilder, form_types)`` adds one ``ModelRestApi`` per form type that declares its
commands. Scoped exactly like the web views: FAB's list and get go through ``base_filters`` with the one
``OrgScopeFilter``; the custom endpoints call the same commands, which load rows through the
scope themselves. FAB sets ``g.user`` for JWT calls after ``before_request``, so the forced
password change is enforced in the JWT user loader (app.accounts.security), not here.
"""
from types import SimpleNamespace

import prison
from flask import g, request
from flask_appbuilder.api import ModelRestApi, expose, protect
from flask_appbuilder.exceptions import FABException

from app.errors import api_safe
from app.forms.package import MAX_PACKAGE_BYTES
from app.formtypes import commands, export, imports, listing
from app.i18n_text import gettext
from app.orgs.scope import OrgScopeFilter, current_viewer, load_scoped

WORKFLOW_COLUMNS = ["id", "uuid", "version", "stage", "holder_path", "scope_path",
                    "importer.code", "importer.name", "imported_at", "updated_at"]


class FormTypeApi(ModelRestApi):
    """The REST API of one form type; ``form_type_api(ft)`` makes the subclass for ``ft``."""

    form_type = None
    allow_browser_login = False
    # Read through FAB (scoped by base_filters); every change through our endpoints and commands.
    include_route_methods = {"get_list", "get", "import_packages", "transition",
                             "transition_all", "export", "package"}
    method_permission_name = {
        "get_list": "read", "get": "read", "export": "read", "package": "read",
        "import_packages": "write", "transition": "write", "transition_all": "write",
    }
    base_filters = [["id", OrgScopeFilter, None]]
    base_order = ("updated_at", "desc")
    search_filters = {"stage": [listing.StatusFilter]}
    page_size = 20
    max_page_size = 500
    openapi_spec_methods = {
        "get_list": {"get": {"summary": "表单列表（本单位及下级导入的表单；状态按查看单位推导）",
                             "description": "过滤状态：`(filters:!((col:stage,opr:status,value:未审核)))`"}},
        "get": {"get": {"summary": "一份表单（含表格各行；按查看单位附加可见的信息）"}},
    }

    def _status(self, item):
        row = SimpleNamespace(stage=item.get("stage"), holder_path=item.get("holder_path") or "")
        return listing.status_of(self.form_type, row, listing.viewer_path())

    def pre_get_list(self, data):
        for item in data.get("result", []):
            item["status"] = self._status(item)

    def pre_get(self, data):
        ft = self.form_type
        item = data.get("result") or {}
        item["status"] = self._status(item)
        if ft.table is not None:
            item[ft.table.name] = ft.schema.table_rows(item.get("document") or {}, ft.table.name)
        # What the policy adds for this viewer (a credential) is never a column of show_columns.
        if "id" in item:
            stored = load_scoped(self.datamodel.session, ft.model, item["id"])
            item.update(ft.policy.api_extras(stored, current_viewer()))

    # --- helpers ------------------------------------------------------------------------------
    def _json(self):
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}

    # --- endpoints ----------------------------------------------------------------------------
    @expose("/import", methods=["POST"])
    @protect()
    @api_safe
    def import_packages(self):
        """Import one or several packages (zip) as the caller's unit.
        ---
        post:
          summary: 导入上报文件（可一次上传多个 zip）
          requestBody:
            required: true
            content:
              multipart/form-data:
                schema:
                  type: object
                  properties:
                    packages:
                      type: array
                      items: {type: string, format: binary}
          responses:
            200:
              description: 每个文件、每份表单的导入结果（新导入 / 已覆盖更新 / 已拒绝及错误，导入了但需核实的提醒 warnings：同一网站已有表单、其他省份的网站）
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      result: {type: object}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
        """
        if not self.form_type.packaged:
            return self.response_404()
        files = [(f.filename, f.stream.read(MAX_PACKAGE_BYTES + 1))
                 for f in request.files.getlist(listing.UPLOAD_FIELD) if f and f.filename]
        if not files:
            return self.response_400(message=gettext("请上传上报文件（字段名 packages，可多个）"))
        session = self.datamodel.session
        report = imports.import_packages(session, g.user, self.form_type, files)
        return self.response(200, result=report.to_dict())

    @expose("/package/<int:pk>", methods=["GET"])
    @protect()
    @api_safe
    def package(self, pk):
        """The package file as the unit handed it in.
        ---
        get:
          summary: 下载原上报文件（zip；编号为导入结果中的 package_id）
          parameters:
          - in: path
            name: pk
            schema: {type: integer}
          responses:
            200:
              description: 上报文件（与上传时逐字节相同）
              content:
                application/zip:
                  schema: {type: string, format: binary}
            401:
              $ref: '#/components/responses/401'
            404:
              $ref: '#/components/responses/404'
        """
        if not self.form_type.packaged:
            return self.response_404()
        stored = load_scoped(self.datamodel.session, self.form_type.package_model, pk,
                             missing=imports.MSG_PACKAGE_NOT_FOUND)
        return imports.package_download(stored)

    @expose("/transition", methods=["POST"])
    @protect()
    @api_safe
    def transition(self):
        """提交 / 审核通过 / 退回 forms.
        ---
        post:
          summary: 提交（submit）、审核通过（approve）或退回（return，必须填写原因）
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [name, ids]
                  properties:
                    name: {type: string, enum: [submit, approve, return]}
                    ids: {type: array, items: {type: integer}}
                    reason: {type: string}
                    expected_versions:
                      type: object
                      description: 表单编号 → 页面显示时的版本号；表单已变化时返回 409
                      additionalProperties: {type: integer}
          responses:
            200:
              description: 已处理的表单
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      ids: {type: array, items: {type: integer}}
                      count: {type: integer}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
            404:
              $ref: '#/components/responses/404'
            409:
              description: 表单已被其他单位处理，请刷新后重试
        """

        data = self._json()
        name, ids = data.get("name"), data.get("ids")
        names = [t.name for t in self.form_type.workflow.transitions]
        if name not in names or not isinstance(ids, list) or not ids:
            return self.response_400(message=gettext(
                "请提供 name（%(names)s）和 ids", names="/".join(names)))
        session = self.datamodel.session
        result = commands.transition(session, g.user, self.form_type, name, ids,
                                     reason=data.get("reason"),
                                     expected_versions=data.get("expected_versions") or None)
        return self.response(200, ids=result.ids, count=result.count)

    @expose("/transition_all", methods=["POST"])
    @protect()
    @api_safe
    def transition_all(self):
        """全部提交 / 全部审核.
        ---
        post:
          summary: 全部提交（submit）或全部审核（approve）本单位可处理的全部表单
          requestBody:
            required: true
            content:
              application/json:
                schema:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string, enum: [submit, approve]}
          responses:
            200:
              description: 处理的表单数
              content:
                application/json:
                  schema:
                    type: object
                    properties:
                      count: {type: integer}
                      skipped: {type: integer}
                      left_out:
                        type: integer
                        description: 留下未处理的已退回表单数（需逐份处理）
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
            403:
              $ref: '#/components/responses/403'
        """

        name = self._json().get("name")
        bulk = self.form_type.workflow.bulk_transitions
        if name not in [t.name for t in bulk]:
            return self.response_400(message=gettext("name 应为 %(names)s", names="、".join(
                f"{t.name}（{gettext(t.bulk_label)}）" for t in bulk)))
        session = self.datamodel.session
        result = commands.transition_all(session, g.user, self.form_type, name)
        return self.response(200, count=result.count, skipped=len(result.skipped),
                             left_out=result.left_out)

    @expose("/export", methods=["GET"])
    @protect()
    @api_safe
    def export(self):
        """导出上报表 under the same filters and order as the list.
        ---
        get:
          summary: 导出上报表（.xlsx；与列表相同的过滤和排序，q 参数为 rison）
          parameters:
          - in: query
            name: q
            schema: {type: string}
            description: 与列表相同的 rison 参数，如 (filters:!((col:site_name,opr:ct,value:上城)))
          responses:
            200:
              description: Excel 文件
              content:
                application/vnd.openxmlformats-officedocument.spreadsheetml.sheet:
                  schema: {type: string, format: binary}
            400:
              $ref: '#/components/responses/400'
            401:
              $ref: '#/components/responses/401'
        """
        try:
            args = prison.loads(request.args.get("q", "()")) if request.args.get("q") else {}
        except Exception:  # noqa: BLE001 - any rison error is the caller's
            return self.response_400(message=gettext("q 参数不是有效的 rison"))
        if not isinstance(args, dict):
            return self.response_400(message=gettext("q 参数不是有效的 rison"))
        try:
            filters = self._handle_filters_args(args).get_joined_filters(self._base_filters)
        except (FABException, KeyError, ValueError, IndexError, TypeError, AttributeError):
            # FAB resolves the column and operator by name: an unknown one is the caller's error.
            return self.response_400(message=gettext("q 参数中的筛选条件无效"))
        order_column = args.get("order_column") or self.base_order[0]
        direction = args.get("order_direction") or self.base_order[1]
        if order_column not in self.order_columns or direction not in ("asc", "desc"):
            order_column, direction = self.base_order
        session = self.datamodel.session
        query = self.datamodel.apply_all(session.query(self.form_type.model), filters,
                                         order_column, direction)
        return export.download_report(session, self.form_type, g.user, current_viewer().org,
                                      query, (order_column, direction))


def form_type_api(ft):
    """The ModelRestApi class of ``ft``: resource /api/v1/<name>/, class name ``ft.api_name``."""
    code = [ft.code_column] if ft.code_column else []
    fields = [f.name for f in ft.schema.fields if f.name not in ft.secret_columns]
    listed = [c for c in ft.listed if c not in listing.WORKFLOW_COLUMNS
              and c not in ft.secret_columns and c != ft.code_column]
    shown = ["last_reason"] + [c for c in ("completed_at",) if hasattr(ft.model, c)]
    attrs = {
        "form_type": ft,
        "resource_name": ft.name,
        "openapi_spec_tag": ft.title,
        "datamodel": listing.FormInterface.of(ft),
        "list_columns": WORKFLOW_COLUMNS + code + listed,
        "show_columns": WORKFLOW_COLUMNS + code + shown + fields + ["document"],
        "search_columns": list(ft.searched),
        "order_columns": list(ft.ordered),
    }
    return type(ft.api_name, (FormTypeApi,), attrs)


def register(appbuilder, form_types):
    for ft in form_types:
        if ft.machine:
            appbuilder.add_api(form_type_api(ft))
