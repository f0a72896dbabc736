"""Throwaway form types for the filler's tests: installed as distributions with a `pucha.schemas`
entry point, found by the filler's catalogue exactly as a third-party plugin's schema would be."""
import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
FIXTURES = REPO / "tests" / "fixtures"
SAMPLE_PLUGIN = FIXTURES / "sample_plugin"

# 网站检查记录: two tables, one of two groups, one of a single slot; a choice column in each.
CHECK_SCHEMA_CODE = '''
from app.forms.schema import CHOICE, TEXT, URL, Field, FormSchema, Group, Slot, Table

SCHEMA = FormSchema(
    name="site_check_note",
    label="网站检查记录",
    version=1,
    fields=(
        Field("site_name", "网站名称", TEXT, max_length=100),
        Field("home_url", "首页网址", URL, max_length=300),
        Field("checked", "是否已自查", CHOICE, choices=("是", "否")),
    ),
    tables=(
        Table(name="problems", label="发现的问题", item_label="问题", none_column="what",
              groups=(
                  Group("content", "内容问题", slots=(Slot("dead_link", "死链"), Slot("stale", "长期未更新"))),
                  Group("service", "服务问题", slots=(Slot("reply", "留言未回复"),)),
              ),
              columns=(
                  Field("what", "问题描述", TEXT, accepts_none=True, max_length=200),
                  Field("where", "问题网址", URL, max_length=300),
                  Field("level", "严重程度", CHOICE, choices=("一般", "严重")),
              )),
        Table(name="fixes", label="整改措施", item_label="整改措施", none_column="step",
              groups=(Group("all", "整改", slots=(Slot("steps", "措施"),)),),
              columns=(
                  Field("step", "措施", TEXT, accepts_none=True, max_length=200),
                  Field("done", "是否完成", CHOICE, choices=("是", "否")),
              )),
    ),
    title_field="site_name",
    package_folder="网站检查记录",
)
'''

# Found by the catalogue but skipped: it declares no package (filled on the web only).
WEB_ONLY_SCHEMA_CODE = '''
from app.forms.schema import TEXT, Field, FormSchema

SCHEMA = FormSchema(name="web_only_note", label="只在网上填写的表", version=1,
                    fields=(Field("note", "说明", TEXT),), title_field="note")
'''


def install_schema_distribution(site: Path, package: str, entry_point: str, code: str) -> None:
    """A one-module distribution ``package`` whose ``pucha.schemas`` entry point is its module."""
    (site / package).mkdir(parents=True)
    (site / package / "__init__.py").write_text(code, encoding="utf-8")
    dist = site / f"{package}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {package.replace('_', '-')}\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[pucha.schemas]\n{entry_point} = {package}\n",
                                           encoding="utf-8")


def install_sample_plugin(site: Path) -> None:
    """The sample external plugin's distribution (tests/fixtures/sample_plugin) under ``site``."""
    shutil.copytree(SAMPLE_PLUGIN, site, dirs_exist_ok=True)


def activate(site: Path, monkeypatch) -> None:
    monkeypatch.syspath_prepend(str(site))
    importlib.invalidate_caches()


def forget(*packages) -> None:
    """Drop throwaway modules so another test's copy is imported afresh."""
    for name in list(sys.modules):
        if name.split(".")[0] in packages:
            del sys.modules[name]


# A whole external plugin around the two-table schema (网站检查记录), so that a package the filler
# makes of it can be imported by the web app: like tests/fixtures/sample_plugin, with tables.
CHECK_PLUGIN_CODE = '''
from flask_appbuilder import Model
from sqlalchemy import and_, case, literal

from app import hookimpl
from app.formtypes.records import FormRecord, PackageRecord
from app.formtypes.types import FormType
from app.schema_models import columns_mixin, schema_columns
from app.workflow.engine import StatusView, Transition, Workflow
from pucha_check_plugin.schema import SCHEMA

DRAFT, CONFIRMED = "draft", "confirmed"
STAGES = {DRAFT: "未确认", CONFIRMED: "已确认"}


class CheckPackage(PackageRecord, Model):
    __tablename__ = "test_check_package"


class CheckNote(columns_mixin("CheckColumns", schema_columns(SCHEMA)), FormRecord, Model):
    __tablename__ = "test_check_note"
    __package_table__ = "test_check_package"


WORKFLOW = Workflow(
    name="test_check", model=CheckNote, stages=STAGES,
    transitions=(Transition(
        name="confirm", label="确认", sources=(DRAFT,),
        allowed=lambda row, org: org is not None and row.holder_path == org.path,
        effect=lambda row, org: {"stage": CONFIRMED},
        where=lambda model, org: and_(model.holder_path == org.path)),),
    object_type="test_check_note",
    holder=lambda row: row.holder_path if row.stage == DRAFT else None,
    status=StatusView(labels=tuple(STAGES.values()), colours={},
                      of_row=lambda row, viewer_path: STAGES[row.stage],
                      sql=lambda model, viewer_path: case((model.stage == CONFIRMED, literal("已确认")),
                                                          else_=literal("未确认"))),
)


@hookimpl
def register_workflows(register):
    register(WORKFLOW)


FORM = FormType(name=SCHEMA.name, label=SCHEMA.label, schema=SCHEMA, model=CheckNote,
                workflow=WORKFLOW, package_kind=SCHEMA.name, package_model=CheckPackage,
                closed_stages=(CONFIRMED,))


@hookimpl
def register_form_types(register):
    register(FORM)
'''


def install_check_plugin(site: Path) -> None:
    """网站检查记录 as an external plugin: schema (for the filler) and hooks (for the web app)."""
    package = site / "pucha_check_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("", encoding="utf-8")
    (package / "schema.py").write_text(CHECK_SCHEMA_CODE, encoding="utf-8")
    (package / "plugin.py").write_text(CHECK_PLUGIN_CODE, encoding="utf-8")
    dist = site / "pucha_check_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: pucha-check-plugin\nVersion: 0.1\n",
                                   encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[pucha.plugins]\ntest_check = pucha_check_plugin.plugin\n\n"
        "[pucha.schemas]\nsite_check_note = pucha_check_plugin.schema\n", encoding="utf-8")


_UPLOAD_SCRIPT = """
import io, json, shutil, sys
from pathlib import Path
db_file, tmp, form_type, package, model, columns = sys.argv[1:7]
from app.factory import create_app
from app.plugins import build_plugin_manager
from tests.conftest import base_overrides
from tests.support.accounts import login, set_known_password
db_path = Path(tmp) / "pucha.db"
shutil.copy(db_file, db_path)
application = create_app(base_overrides(f"sqlite:///{db_path}", tmp), plugin_manager=build_plugin_manager())
with application.app_context():
    import importlib
    from app.accounts.provisioning import sync_roles
    from app.extensions import db
    module, _, name = model.partition(":")
    Model = getattr(importlib.import_module(module), name)
    db.create_all()
    sync_roles()
    county = application.test_client()
    set_known_password(db.session, "330102")
    login(county, "330102")
    package = Path(package)
    page = county.post(f"/{form_type}/upload", data={"packages": (io.BytesIO(package.read_bytes()), package.name)},
                       content_type="multipart/form-data").get_data(as_text=True)
    assert "已导入" in page, page
    rows = {r.uuid: {"document": r.document, **{c: getattr(r, c) for c in columns.split(",") if c}}
            for r in db.session.query(Model)}
    print(json.dumps(rows, ensure_ascii=False))
"""


def import_in_web_app(db_file: Path, tmp_path: Path, site: Path, form_type: str, package: Path,
                      model: str, columns=()) -> dict:
    """Upload ``package`` as 上城区 (330102) to a fresh app, on a copy of the national ``db_file``,
    with the plugins installed in ``site``; the page must say 已导入. Returns, per imported
    record of ``model`` ("module:Class"), its document and ``columns``.

    In a process of its own: a throwaway plugin's models would otherwise stay in the test
    session's shared metadata (every later ``create_all`` would make their tables)."""
    folder = tmp_path / "web"
    folder.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(REPO)]), PYTHONIOENCODING="utf-8")
    out = subprocess.run([sys.executable, "-c", _UPLOAD_SCRIPT, str(db_file), str(folder), form_type,
                          str(package), model, ",".join(columns)],
                         cwd=REPO, env=env, capture_output=True, text=True, encoding="utf-8", timeout=300)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
