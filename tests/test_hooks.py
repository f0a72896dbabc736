"""A test for each hook of app/hookspecs.py that the built-in plugin does not drive, through a
throwaway plugin registered for the test, asserting what a visitor, a user or a plugin's author
notices.

The other hooks are driven elsewhere: register_form_types by the sample plugin
(tests/test_plugins.py), register_workflows and after_transition by throwaway plugins
(tests/test_workflow.py, tests/test_basic_info_completion.py), register_views and
register_cli_commands by basic_info's own page (重复网站) and commands. register_cli_commands is
called once, when app/cli.py is first imported, so a plugin registered after that gets no
command: it has no throwaway test here.
"""
import pytest
from flask import jsonify
from flask_appbuilder.api import BaseApi, expose, safe

from app import hookimpl
from app.plugins import build_plugin_manager
from app.registry import FileGenerator, PublicLink, RegistrationError
from tests.conftest import base_overrides, sqlite_copy
from tests.support.accounts import KNOWN_PASSWORD, api_token, set_known_password


@pytest.fixture
def app_with(national_db_file, tmp_path):
    """``app_with(plugin)``: an app on a copy of the national database, built with the built-in
    plugins and ``plugin``; afterwards the process's plugin manager is the default again."""
    from app.extensions import db
    from app.factory import create_app
    from app.plugins import set_plugin_manager

    contexts = []

    def build(plugin):
        plugin_manager = build_plugin_manager(allowed_external="")
        plugin_manager.register(plugin, name="throwaway")
        application = create_app(base_overrides(sqlite_copy(national_db_file, tmp_path), tmp_path),
                                 plugin_manager=plugin_manager)
        context = application.app_context()
        context.push()
        contexts.append(context)
        return application

    yield build
    for context in reversed(contexts):
        db.session.remove()
        db.engine.dispose()
        context.pop()
    set_plugin_manager(None)


# --- public_links ------------------------------------------------------------------------------
class LinksPlugin:
    @hookimpl
    def public_links(self):
        return [PublicLink("标识码找回", "/siteid/lookup", "忘记网站标识码时按网址查询", order=20),
                PublicLink("技术支持中心", "https://support.example.gov.cn/", order=10)]


def test_public_links_appear_on_the_home_page_in_their_order(app_with):
    visitor = app_with(LinksPlugin()).test_client()
    page = visitor.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    support = html.index('href="https://support.example.gov.cn/"><strong>技术支持中心</strong>')
    lookup = html.index('href="/siteid/lookup"><strong>标识码找回</strong>')
    assert support < lookup  # order 10 before order 20, whatever order the plugin listed them
    assert "忘记网站标识码时按网址查询" in html


class BadLinkPlugin:
    @hookimpl
    def public_links(self):
        return [{"label": "技术支持中心", "url": "/support"}]


def test_a_public_link_that_is_not_a_public_link_stops_start_up(app_with):
    with pytest.raises(RegistrationError, match="public_links 需要 PublicLink，得到 dict"):
        app_with(BadLinkPlugin())


# --- register_file_generators ------------------------------------------------------------------
def _unit_sheet(org):
    return f"单位 {org.code}".encode()


UNIT_SHEET = FileGenerator(name="unit_sheet", label="单位信息表",
                           filename=lambda org: f"单位信息表_{org.code}.txt",
                           applies_to=lambda org: org.level >= 2, generate=_unit_sheet,
                           mimetype="text/plain")


class FilesPlugin:
    def __init__(self, *generators):
        self.generators = generators

    @hookimpl
    def register_file_generators(self, register):
        for generator in self.generators:
            register(generator)


def test_a_registered_file_generator_is_collected_with_what_it_makes(app_with):
    from app.extensions import db
    from app.orgs.models import Org
    from app.registry import file_generators

    app_with(FilesPlugin(UNIT_SHEET))
    session = db.session
    [generator] = [g for g in file_generators().values() if g.name == "unit_sheet"]
    county = session.query(Org).filter_by(code="330102").one()
    province = session.query(Org).filter_by(code="330000").one()
    assert generator.applies_to(county) and not generator.applies_to(province)
    assert generator.filename(county) == "单位信息表_330102.txt"
    assert generator.generate(county) == "单位 330102".encode()


@pytest.mark.parametrize("generators, message", [
    ((UNIT_SHEET, UNIT_SHEET), "register_file_generators: 名称 unit_sheet 重复注册"),
    (({"name": "unit_sheet"},), "register_file_generators 需要 FileGenerator，得到 dict"),
])
def test_a_duplicate_or_malformed_file_generator_stops_start_up(app_with, generators, message):
    with pytest.raises(RegistrationError) as refused:
        app_with(FilesPlugin(*generators))
    assert str(refused.value) == message


# --- register_apis -----------------------------------------------------------------------------
class PingApi(BaseApi):
    resource_name = "throwaway_ping"
    openapi_spec_tag = "Throwaway"
    base_permissions = set()  # public, as the filler's version check

    @expose("/", methods=["GET"])
    @safe
    def ping(self):
        """Answers that the plugin's API is there.
        ---
        get:
          responses:
            200:
              description: The plugin answers
        """
        return jsonify(message="插件接口可用")


class ApiPlugin:
    @hookimpl
    def register_apis(self, appbuilder):
        appbuilder.add_api(PingApi)


def test_a_registered_api_answers_and_is_in_the_openapi_document(app_with):
    from app.extensions import db

    application = app_with(ApiPlugin())
    client = application.test_client()
    response = client.get("/api/v1/throwaway_ping/")
    assert response.status_code == 200 and response.get_json() == {"message": "插件接口可用"}
    set_known_password(db.session, "330100")
    spec = client.get("/api/v1/_openapi", headers=api_token(client, "330100", KNOWN_PASSWORD))
    assert "/api/v1/throwaway_ping/" in spec.get_json()["paths"]


# --- load_demo_data ----------------------------------------------------------------------------
class DemoPlugin:
    def __init__(self):
        self.calls = 0

    @hookimpl
    def load_demo_data(self, session, echo):
        self.calls += 1
        echo("整改记录演示数据：已载入 2 条。")


def test_setup_loads_every_plugins_demo_data_unless_told_not_to(app_with):
    plugin = DemoPlugin()
    runner = app_with(plugin).test_cli_runner()
    shown = runner.invoke(args=["pucha", "setup"])
    assert shown.exit_code == 0, shown.output
    assert "整改记录演示数据：已载入 2 条。" in shown.output and plugin.calls == 1
    quiet = runner.invoke(args=["pucha", "setup", "--no-demo"])
    assert quiet.exit_code == 0, quiet.output
    assert "整改记录演示数据" not in quiet.output and plugin.calls == 1


# --- filler_release ----------------------------------------------------------------------------
class ReleasePlugin:
    @hookimpl
    def filler_release(self, session):
        from app.registry import FillerRelease

        return FillerRelease(version="9.9.9", download_url="https://mirror.example.gov.cn/")


def test_a_published_release_is_what_the_fillers_version_check_announces(app_with):
    visitor = app_with(ReleasePlugin()).test_client()
    answer = visitor.get("/api/v1/client/version")
    assert answer.status_code == 200
    assert answer.get_json() == {"latest": "9.9.9", "download_url": "https://mirror.example.gov.cn/"}
