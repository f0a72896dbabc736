"""The census notice (普查通知) an administrator writes and the home page shows.

Stored in ``public_setting`` (one row, key ``census_notice``), changed only through
``set_census_notice``: one transaction with its audit row (the text before and after). The home
page prints it as text, escaped by Jinja, its line breaks kept by CSS: no HTML from the notice
reaches the page (docs/security.md "The census notice").
"""
from flask import current_app, flash, g, redirect, request, url_for
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from app import audit
from app.errors import Invalid
from app.i18n_text import N_, gettext
from app.orgs.scope import administrators_only
from app.public.models import PublicSetting, store_setting
from app.transactions import unit_of_work

NOTICE_KEY = "census_notice"
NOTICE_MAX = 2000
MSG_TOO_LONG = N_("普查通知过长：%(length)s 个字符，最多 %(max)s 个")


def census_notice(session):
    """The notice's text ("" when none was ever set). A read only: it must not flush whatever
    else the request's session holds (the home page is where a refused form redirects to)."""
    with session.no_autoflush:
        value = session.execute(select(PublicSetting.value).where(
            PublicSetting.key == NOTICE_KEY)).scalar_one_or_none()
    return value or ""


def clean_notice(text):
    """Line ends made one kind, trailing blanks dropped; Invalid when longer than NOTICE_MAX."""
    if not isinstance(text, str):
        text = ""
    text = "\n".join(line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n")
                     .split("\n")).strip()
    if len(text) > NOTICE_MAX:
        raise Invalid(gettext(MSG_TOO_LONG, length=len(text), max=NOTICE_MAX))
    return text


def set_census_notice(session, actor, text):
    """Replace the notice (empty: none) with its audit row, in one transaction. Returns whether it
    changed."""
    text = clean_notice(text)
    with unit_of_work(session):
        row = session.get(PublicSetting, NOTICE_KEY)
        before = row.value if row is not None else ""
        if before == text:
            return False
        store_setting(session, NOTICE_KEY, text, actor)
        audit.record(session, "census_notice_changed", "public_setting", NOTICE_KEY, actor=actor,
                     detail={"before": before, "after": text})
    return True


class CensusNoticeView(BaseView):
    """系统管理 → 首页普查通知: the administrator edits the notice the home page shows."""

    # Read by the platform's permission sync: only the administrator role gets this view.
    admin_only = True
    route_base = "/admin/notice"
    default_view = "edit"

    def create_blueprint(self, appbuilder, *args, **kwargs):
        return administrators_only(super().create_blueprint(appbuilder, *args, **kwargs))

    def _page(self, text, error=None, status=200):
        return self.render_template("pucha/notice.html", title=_l("首页普查通知"), text=text,
                                    error=error, notice_max=NOTICE_MAX), status

    @expose("/", methods=["GET"])
    @has_access
    def edit(self):
        return self._page(census_notice(current_app.appbuilder.session))

    @expose("/", methods=["POST"])
    @has_access
    def save(self):
        text = request.form.get("notice", "")
        try:
            changed = set_census_notice(current_app.appbuilder.session, g.user, text)
        except Invalid as error:
            return self._page(text[:NOTICE_MAX * 2], error=str(error), status=422)
        flash(gettext("首页普查通知已保存") if changed else gettext("普查通知没有改变"), "info")
        return redirect(url_for(".edit"))


def register(appbuilder):
    appbuilder.add_view(CensusNoticeView, "首页普查通知", icon="fa-bullhorn",
                        label=_l("首页普查通知"), category="系统管理",
                        category_label=_l("系统管理"), category_icon="fa-cogs")
