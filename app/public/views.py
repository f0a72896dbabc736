"""Public pages: the home page (login, the census notice, the links plugins register through
``public_links``: 标识码找回, 技术支持中心 …) and the administrator's notice editor."""
from flask import current_app
from flask_appbuilder import IndexView, expose

from app.public import client_api, notice
from app.registry import public_links


class HomeView(IndexView):
    index_template = "pucha/index.html"

    @expose("/")
    def index(self):
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    links=public_links(),
                                    notice=notice.census_notice(self.appbuilder.session))


def register(appbuilder):
    """Public pages other than the home page (the filler's version check), and the notice editor.
    The public links are also offered in the navbar's top right for visitors (seed 004 §10:
    “首页右上方”)."""
    current_app.jinja_env.globals["pucha_public_links"] = public_links
    client_api.register(appbuilder)
    notice.register(appbuilder)
