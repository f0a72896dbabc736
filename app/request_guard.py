"""Crafted requests get a 4xx with a message, never a 500; and the project's own error pages.

FAB turns request arguments into numbers and list indexes without checking them
(``int(request.args[...])`` for ``page_<view>``/``psize_<view>``, ``_flt_<index>_<column>``
indexes into the column's filter list, rison ``q=(page:…)`` becomes an SQL OFFSET), and a key
bigger than the database's integer is an error inside the driver. Each of these is a 500 from a
URL anybody can type. Rather than patch every place FAB parses, this module checks what FAB will
parse, once, before any view runs, using FAB's own parsers: if they would fail, or a number is
outside what the database can hold, the request is refused with 400 (or 404 for a key that
cannot exist).
"""
import re

import prison
from flask import current_app, jsonify, render_template, request
from flask_appbuilder.urltools import get_filter_args, get_page_args, get_page_size_args
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import BadRequest, HTTPException, NotFound
from werkzeug.routing import IntegerConverter

from app.keys import MAX_KEY, whole_number

MAX_PAGE = 100_000
KEY_ARGUMENT = re.compile(r"^(pk|id|.*_id|.*_pk)$", re.I)


class KeyConverter(IntegerConverter):
    """``<int:…>`` that matches only numbers a key column can hold (others are a 404)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", MAX_KEY)
        super().__init__(url_map, *args, **kwargs)


def install(app):
    """Call right after ``Flask()``: the converter must be in place before any route is added."""
    app.url_map.converters["int"] = KeyConverter
    app.before_request(check_request_arguments)
    for status in (400, 403, 404, 405, 413, 429, 500):
        app.register_error_handler(status, error_response)


def check_request_arguments():
    _check_json_body()
    _check_fab_action()
    for name, value in (request.view_args or {}).items():
        if KEY_ARGUMENT.match(name) and isinstance(value, str) and not _is_key(value):
            raise NotFound()
    for name in request.args:
        if name.startswith(("page_", "psize_")):
            value = request.args.get(name, "")
            limit = MAX_PAGE if name.startswith("page_") else current_app.config.get(
                "FAB_API_MAX_PAGE_SIZE", 500)
            if not value.isdigit() or int(value) > limit or (name.startswith("psize_")
                                                              and int(value) == 0):
                raise BadRequest(gettext("分页参数 %(name)s 无效", name=name))
        elif name.startswith("_flt_"):
            _check_filters()
        elif name == "q" and request.path.startswith("/api/"):
            _check_rison(request.args.get("q", ""))
        elif name == "rowid":
            if not all(_is_key(v) for v in request.args.getlist("rowid")):
                raise BadRequest(gettext("参数 rowid 无效"))
    get_page_args()  # FAB's own parsers: what they refuse is refused here, as a 400
    get_page_size_args()


def _check_json_body():
    """Every JSON body this app accepts is an object; FAB's forms and our APIs index into it."""
    if request.method in ("GET", "HEAD", "OPTIONS") or not request.is_json:
        return
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(gettext("请求体应为 JSON 对象"))


def _check_fab_action():
    """FAB's list actions look the action up by name and call it: an unknown name is a 500 in
    FAB itself. Here it is a 404, and the selected row ids must be keys."""
    endpoint = request.endpoint or ""
    if not endpoint.endswith((".action", ".action_post")):
        return
    view = getattr(current_app.view_functions.get(endpoint), "__self__", None)
    actions = getattr(view, "actions", None)
    if actions is None:
        return
    if endpoint.endswith(".action_post"):
        name = request.form.get("action", "")
        if not all(_is_key(v) for v in request.form.getlist("rowid")):
            raise BadRequest(gettext("参数 rowid 无效"))
    else:
        name = (request.view_args or {}).get("name", "")
    if name not in actions:
        raise NotFound()


def _is_key(value):
    return whole_number(value) is not None


def _check_filters():
    view = getattr(current_app.view_functions.get(request.endpoint), "__self__", None)
    filters = getattr(view, "_filters", None)
    if filters is None:
        return
    try:
        # FAB parses the same arguments again when the list renders; it clears them first.
        get_filter_args(filters)
    except (IndexError, ValueError, KeyError, TypeError):
        raise BadRequest(gettext("筛选条件无效")) from None


def _check_rison(text):
    try:
        value = prison.loads(text)
    except Exception:  # noqa: BLE001 - prison raises bare ParserError/ValueError/IndexError
        raise BadRequest(gettext("查询参数 q 不是有效的 rison")) from None
    if not isinstance(value, dict):
        raise BadRequest(gettext("查询参数 q 应为对象"))
    for key, limit in (("page", MAX_PAGE), ("page_size", current_app.config.get(
            "FAB_API_MAX_PAGE_SIZE", 500))):
        number = value.get(key)
        if number is not None and (not isinstance(number, int) or isinstance(number, bool)
                                   or number < 0 or number > limit):
            raise BadRequest(gettext("查询参数 %(key)s 无效", key=key))


MESSAGES = {
    400: _l("请求无效"),
    403: _l("没有权限访问此页面"),
    404: _l("页面不存在"),
    405: _l("不支持此请求方式"),
    413: _l("上传的文件过大"),
    429: _l("请求过于频繁，请稍后再试"),
    500: _l("系统内部错误，请稍后再试或联系技术支持"),
}


def error_response(error):
    status = error.code if isinstance(error, HTTPException) else 500
    title = str(MESSAGES.get(status, MESSAGES[500]))
    detail = ""
    if isinstance(error, CSRFError):
        detail = gettext("页面已过期或请求不是从本系统的页面发出（CSRF 令牌缺失或无效），"
                         "请刷新页面后重试。")
    elif isinstance(error, HTTPException) and error.description and status != 500:
        # werkzeug's default English descriptions say nothing a user can act on; ours do.
        if error.description != type(error).description:
            detail = error.description
    if request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json":
        return jsonify(message=detail or title, status=status), status
    context = {"status": status, "title": title, "detail": detail}
    try:
        appbuilder = current_app.appbuilder
        page = render_template("pucha/error.html", appbuilder=appbuilder,
                               base_template=appbuilder.base_template, **context)
    except Exception:  # noqa: BLE001 - the error may have come before FAB set up the request
        page = render_template("pucha/error_plain.html", **context)
    return page, status
