"""Throwaway form types for the filler's tests: installed as distributions with a `pucha.schemas`
entry point, found by the filler's catalogue exactly as a third-party plugin's schema would be."""
import importlib
import shutil
import sys
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
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
