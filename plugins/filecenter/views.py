"""技术支持中心: the public page (no login) and the administrator's page that publishes to it.

Public (seed 000 §三): ``/support/`` lists the published installer (with version, size and
SHA-256), manuals, video tutorials, the hotline and mail and the FAQ; ``/support/files/<id>``
downloads a file, ``/support/videos/<id>`` plays one in place (Range requests), ``/support/guide/``
is the user guide as a page and ``/support/guide/download`` as a file. Nothing is counted per
visitor: a download is a read of the file store only.

文件中心 (logged in): ``/files/`` is 我的协作组 with the unit's own folder, the files the platform
generates for it (plugins/filecenter/unit_files.py); ``/files/generated/<name>`` downloads one,
audited.

Administrator only: ``/admin/support/`` (系统管理 → 技术支持中心) publishes and retires files,
edits the FAQ and the hotline and mail; every change goes through plugins/filecenter/commands.py.
"""
import io
import os

from flask import (abort, current_app, flash, g, redirect, request, send_file,
                   send_from_directory, url_for)
from flask_appbuilder import BaseView, expose, has_access
from flask_babel import lazy_gettext as _l

from app.errors import Invalid, on_error_redirect
from app.files.storage import FileTooLarge, current_store
from app.orgs.scope import require_acting_viewer
from app.i18n_text import gettext
from app.orgs.scope import administrators_only
from app.registry import FillerRelease, PublicLink
from plugins.filecenter import commands, guide, unit_files
from plugins.filecenter.models import INSTALLER, KINDS, MANUAL, VIDEO

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")
SUPPORT_URL = "/support/"
KIND_LABELS = {INSTALLER: _l("安装程序"), MANUAL: _l("使用手册"), VIDEO: _l("视频教程")}
GUIDE_DOWNLOAD_NAME = "报送系统使用指南.md"


def _session():
    return current_app.appbuilder.session


def _guide_file():
    return current_app.config.get("SUPPORT_GUIDE_FILE")


class SupportCenterView(BaseView):
    """技术支持中心 (public)."""

    route_base = "/support"
    template_folder = TEMPLATES
    default_view = "index"

    @expose("/", methods=["GET"])
    def index(self):
        session = _session()
        hotline, mail = commands.contact(session)
        return self.render_template(
            "filecenter/support.html", items=commands.published_items(session),
            installer=commands.current_installer(session), faq=commands.faq_entries(session),
            hotline=hotline, mail=mail, kinds=KINDS, kind_labels=KIND_LABELS,
            has_guide=guide.rendered(_guide_file()) is not None)

    @expose("/files/<int:item_id>", methods=["GET"])
    def download(self, item_id):
        item = commands.published_item(_session(), item_id)
        return current_store().response(item.storage_key, download_name=item.filename,
                                        mimetype=item.content_type)

    @expose("/videos/<int:item_id>", methods=["GET"])
    def play(self, item_id):
        item = commands.published_item(_session(), item_id)
        if item.kind != VIDEO:
            abort(404)
        return current_store().response(item.storage_key, download_name=item.filename,
                                        mimetype=item.content_type, inline=True)

    @expose("/guide/", methods=["GET"])
    def guide_page(self):
        html = guide.rendered(_guide_file())
        if html is None:
            abort(404)
        return self.render_template("filecenter/guide.html", guide_html=html)

    @expose("/guide/download", methods=["GET"])
    def guide_download(self):
        path = _guide_file()
        if not path or not os.path.isfile(path):
            abort(404)
        return send_from_directory(os.path.dirname(path), os.path.basename(path),
                                   as_attachment=True, download_name=GUIDE_DOWNLOAD_NAME,
                                   mimetype="text/markdown; charset=utf-8", max_age=0)

    @expose("/guide/images/<name>", methods=["GET"])
    def guide_image(self, name):
        # Only the guide's own screenshots: a name with a folder or another suffix is a 404
        # (send_from_directory refuses any path outside the folder as well).
        path = _guide_file()
        if not path or not name.endswith(".png") or "/" in name or name.startswith("."):
            abort(404)
        return send_from_directory(os.path.join(os.path.dirname(path), "images"), name,
                                   mimetype="image/png")


def _back_to_manage(**_view_args):
    return url_for("SupportAdminView.manage")


class SupportAdminView(BaseView):
    """系统管理 → 技术支持中心: publish and retire files, edit the FAQ and the contact details."""

    admin_only = True
    route_base = "/admin/support"
    template_folder = TEMPLATES
    default_view = "manage"

    def create_blueprint(self, appbuilder, *args, **kwargs):
        return administrators_only(super().create_blueprint(appbuilder, *args, **kwargs))

    def _page(self, error=None, status=200, form=None):
        session = _session()
        hotline, mail = commands.contact(session)
        return self.render_template(
            "filecenter/admin.html", title=_l("技术支持中心"), items=commands.all_items(session),
            faq=commands.faq_entries(session), hotline=hotline, mail=mail, kinds=KINDS,
            kind_labels=KIND_LABELS, error=error, form=form or {},
            upload_limit=commands.upload_limit(), limits=commands), status

    def _done(self, message):
        flash(message, "info")
        return redirect(url_for(".manage"), code=303)

    @expose("/", methods=["GET"])
    @has_access
    def manage(self):
        return self._page()

    @expose("/items", methods=["POST"])
    @has_access
    def publish(self):
        upload = request.files.get("file")
        form = {key: request.form.get(key, "")[:commands.NOTE_MAX]
                for key in ("kind", "title", "version", "note")}
        try:
            item = commands.publish_item(
                _session(), g.user, kind=form["kind"], title=form["title"],
                version=form["version"], note=form["note"],
                stream=upload.stream if upload else None,
                filename=upload.filename if upload else "")
        except FileTooLarge as error:
            return self._page(error=str(error), status=413, form=form)
        except Invalid as error:
            return self._page(error=str(error), status=422, form=form)
        return self._done(gettext("已发布：%(title)s", title=item.title))

    @expose("/items/<int:item_id>/retire", methods=["POST"])
    @has_access
    @on_error_redirect(_back_to_manage)
    def retire(self, item_id):
        changed = commands.retire_item(_session(), g.user, item_id)
        return self._done(gettext("已下架") if changed else gettext("此文件早已下架"))

    @expose("/faq", methods=["POST"])
    @has_access
    def add_faq(self):
        try:
            commands.add_faq(_session(), g.user, request.form.get("question", ""),
                             request.form.get("answer", ""))
        except Invalid as error:
            return self._page(error=str(error), status=422)
        return self._done(gettext("常见问题已添加"))

    @expose("/faq/<int:entry_id>/delete", methods=["POST"])
    @has_access
    @on_error_redirect(_back_to_manage)
    def delete_faq(self, entry_id):
        commands.delete_faq(_session(), g.user, entry_id)
        return self._done(gettext("常见问题已删除"))

    @expose("/contact", methods=["POST"])
    @has_access
    def save_contact(self):
        try:
            changed = commands.set_contact(_session(), g.user, request.form.get("hotline", ""),
                                           request.form.get("mail", ""))
        except Invalid as error:
            return self._page(error=str(error), status=422)
        return self._done(gettext("服务热线和邮箱已保存") if changed
                          else gettext("服务热线和邮箱没有改变"))


class FileCenterView(BaseView):
    """文件中心 → 我的协作组: the acting unit's own folder and its generated files."""

    route_base = "/files"
    template_folder = TEMPLATES
    default_view = "index"

    @expose("/", methods=["GET"])
    @has_access
    def index(self):
        viewer = require_acting_viewer(g.user)
        return self.render_template("filecenter/files.html", title=_l("文件中心"),
                                    org=viewer.org, files=unit_files.folder_files(g.user))

    @expose("/generated/<name>", methods=["GET"])
    @has_access
    def generated(self, name):
        generator, filename, data = unit_files.download_generated(_session(), g.user, name)
        return send_file(io.BytesIO(data), as_attachment=True, download_name=filename,
                         mimetype=generator.mimetype, max_age=0)


def register(appbuilder):
    appbuilder.add_view_no_menu(SupportCenterView)
    appbuilder.add_view(FileCenterView, "文件中心", icon="fa-folder-open", label=_l("文件中心"))
    appbuilder.add_view(SupportAdminView, "技术支持中心", icon="fa-life-ring",
                        label=_l("技术支持中心"), category="系统管理",
                        category_label=_l("系统管理"), category_icon="fa-cogs")


def public_links():
    return [PublicLink(label=_l("技术支持中心"), url=SUPPORT_URL, order=30,
                       description=_l("下载填报客户端、使用手册和视频教程，查看常见问题和服务热线"))]


def filler_release(session):
    installer = commands.current_installer(session)
    if installer is None:
        return None
    return FillerRelease(version=installer.version, download_url=SUPPORT_URL)
