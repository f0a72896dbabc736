"""Public pages: the home page (login, 技术支持中心, 标识码找回 links from plugins)."""
from flask_appbuilder import IndexView, expose

from app.public import client_api
from app.registry import public_links


class HomeView(IndexView):
    index_template = "pucha/index.html"

    @expose("/")
    def index(self):
        return self.render_template(self.index_template, appbuilder=self.appbuilder,
                                    links=public_links())


def register(appbuilder):
    """Public pages other than the home page: the filler's version check."""
    client_api.register(appbuilder)
