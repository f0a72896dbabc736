"""The plugin system: built-ins and external plugins load the same way, failures stop start-up,
and a throwaway external plugin adds a working form type without touching app/."""
import inspect
import shutil
from pathlib import Path

import pluggy
import pytest

from app import hookspecs
from app.plugins import PluginLoadError, build_plugin_manager
from tests.support.accounts import KNOWN_PASSWORD, api_token, login, set_known_password

FIXTURE = Path(__file__).parent / "fixtures" / "sample_plugin"
ROOT = Path(__file__).resolve().parent.parent


def hook_names():
    return sorted(name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
                  if hasattr(fn, "pucha_spec"))


@pytest.fixture
def installed_sample_plugin(tmp_path, monkeypatch):
    """Install the sample plugin's distribution (code + entry point) onto sys.path."""
    site = tmp_path / "site"
    shutil.copytree(FIXTURE, site)
    monkeypatch.syspath_prepend(str(site))
    import importlib

    importlib.invalidate_caches()
    # The module stays imported after the test: importing it again would add its table's index
    # to the shared metadata a second time.
    yield site


def test_every_hook_is_documented_in_the_plugin_guide():
    guide = (ROOT / "docs" / "plugins.md").read_text(encoding="utf-8")
    names = hook_names()
    assert "register_form_types" in names and "after_transition" in names
    missing = [name for name in names if f"`{name}" not in guide]
    assert missing == []


def test_every_hook_has_a_one_line_docstring():
    for name in hook_names():
        doc = getattr(hookspecs, name).__doc__
        assert doc and len(doc.strip().splitlines()) == 1, name


def test_builtin_plugins_are_registered_like_external_ones():
    pm = build_plugin_manager(allowed_external="")
    assert pm.get_plugin("plugins.basic_info.plugin") is not None


def test_external_plugin_is_found_through_its_entry_point(installed_sample_plugin):
    pm = build_plugin_manager()
    assert pm.get_plugin("sample_rectification") is not None


def test_pucha_plugins_limits_which_external_plugins_load(installed_sample_plugin):
    pm = build_plugin_manager(allowed_external="some_other_plugin")
    assert pm.get_plugin("sample_rectification") is None


def install_distribution(site, package, entry_point, code, monkeypatch):
    """Put a one-module distribution with a `pucha.plugins` entry point on sys.path."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(code)
    dist = site / f"{package}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[pucha.plugins]\n{entry_point} = {package}\n")
    monkeypatch.syspath_prepend(str(site))


def test_a_plugin_that_fails_to_import_stops_start_up(tmp_path, monkeypatch):
    install_distribution(tmp_path / "site", "broken_plugin", "broken",
                         "raise ImportError('缺少依赖 foo')\n", monkeypatch)
    with pytest.raises(PluginLoadError) as exc:
        build_plugin_manager()
    assert "broken" in str(exc.value) and "缺少依赖 foo" in str(exc.value)


def test_a_misspelt_hook_implementation_stops_start_up(tmp_path, monkeypatch):
    install_distribution(
        tmp_path / "site", "typo_plugin", "typo",
        "from app import hookimpl\n\n@hookimpl\ndef register_form_type(register):\n    pass\n",
        monkeypatch)
    with pytest.raises(PluginLoadError) as exc:
        build_plugin_manager()
    assert "register_form_type" in str(exc.value)


def test_tracing_logs_every_hook_call(caplog):
    pm = build_plugin_manager(allowed_external="", trace=True)
    with caplog.at_level("WARNING", logger="app.plugins"):
        pm.hook.public_links()
    assert any("public_links" in record.getMessage() for record in caplog.records)


def test_sample_plugin_form_type_works_in_the_app(installed_sample_plugin, national_db_file,
                                                  tmp_path):
    """The external plugin declares only a schema, a workflow and a FormType: the platform gives
    it import, list, detail, edit, the transition (one and 全部), the export and the REST API,
    each through the org scope."""
    import io

    from openpyxl import load_workbook

    from app.factory import create_app
    from app.forms.package import write_package
    from app.registry import form_types, workflows
    from tests.conftest import base_overrides

    db_path = tmp_path / "pucha.db"
    shutil.copy(national_db_file, db_path)
    pm = build_plugin_manager()
    application = create_app(base_overrides(f"sqlite:///{db_path}", tmp_path), plugin_manager=pm)
    try:
        with application.app_context():
            from app.accounts.provisioning import sync_roles
            from app.audit import AuditEvent
            from app.extensions import db
            from app.migrate import upgrade_database
            from pucha_sample_plugin.plugin import RectificationNote
            from pucha_sample_plugin.schema import FORM_TYPE, SCHEMA

            # Its own revision folder creates its tables; nothing in app/ names them.
            _, applied = upgrade_database(application)
            assert [revision for revision, _ in applied] == ["sample_rectification_0001"]
            sync_roles()
            assert FORM_TYPE in form_types() and "sample_rectification" in workflows()

            note = SCHEMA.new_document()
            note["fields"].update(site_name="上城区政府网", home_url="http://www.hzsc.gov.cn/",
                                  note="已修复死链")
            package = write_package([note], FORM_TYPE, SCHEMA.version, "测试", "1.0",
                                    folder=SCHEMA.package_folder, title=SCHEMA.title)
            county = application.test_client()
            set_known_password(db.session, "330102")
            login(county, "330102")
            page = county.post(f"/{FORM_TYPE}/upload", data={
                               "packages": (io.BytesIO(package), "note.zip")},
                               content_type="multipart/form-data").get_data(as_text=True)
            assert "已导入" in page
            row = db.session.query(RectificationNote).one()
            assert row.scope_path.endswith("/330102/") and row.stage == "draft"
            assert row.note == "已修复死链"
            listing = county.get(f"/{FORM_TYPE}/list/").get_data(as_text=True)
            assert "网站整改记录" in listing and "已修复死链" in listing and "未确认" in listing
            assert "全部确认（1）" in listing
            detail = county.get(f"/{FORM_TYPE}/form/{row.id}").get_data(as_text=True)
            assert "整改情况" in detail and 'id="btn-confirm"' in detail and 'id="btn-edit"' in detail

            sibling = application.test_client()
            set_known_password(db.session, "330106")
            login(sibling, "330106")
            assert "已修复死链" not in sibling.get(f"/{FORM_TYPE}/list/").get_data(as_text=True)
            assert sibling.get(f"/{FORM_TYPE}/form/{row.id}").status_code == 404
            sibling.post(f"/{FORM_TYPE}/form/{row.id}/do/confirm")
            db.session.expire_all()
            assert db.session.get(RectificationNote, row.id).stage == "draft"

            # Edit: the schema drives the page and the check; the change is audited.
            edited = county.post(f"/{FORM_TYPE}/form/{row.id}/edit", data={
                "version": str(row.version),
                "f.site_name": "上城区政府网", "f.home_url": "http://www.hzsc.gov.cn/",
                "f.note": "已修复死链 3 处"})
            assert edited.status_code == 302
            db.session.expire_all()
            assert db.session.get(RectificationNote, row.id).note == "已修复死链 3 处"

            county.post(f"/{FORM_TYPE}/bulk/confirm")
            db.session.expire_all()
            assert db.session.get(RectificationNote, row.id).stage == "confirmed"
            event = db.session.query(AuditEvent).filter_by(object_type=FORM_TYPE,
                                                          action="confirm").one()
            assert event.from_stage == "draft" and event.to_stage == "confirmed"
            assert event.actor_name == "330102"

            book = load_workbook(io.BytesIO(county.get(f"/{FORM_TYPE}/export").data))
            values = [c.value for c in book.worksheets[0][3]]
            assert "已修复死链 3 处" in values and "已确认" in values

            api = application.test_client()
            headers = api_token(api, "330102", KNOWN_PASSWORD)
            listed = api.get(f"/api/v1/{FORM_TYPE}/", headers=headers).get_json()
            assert [r["note"] for r in listed["result"]] == ["已修复死链 3 处"]
            assert listed["result"][0]["status"] == "已确认"
            db.session.remove()
            db.engine.dispose()
    finally:
        from app.plugins import set_plugin_manager

        set_plugin_manager(None)
