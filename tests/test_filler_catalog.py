"""The filler's catalogue of form types and what works per type: the store, the list, packages,
Excel over every table, the command line. No GUI here (tests/test_filler_gui.py drives the window)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.forms.package import read_package, validate_forms
from filler.core.catalog import load_catalog
from filler.core.excel import (ExcelError, detect_schema, export_workbook, import_workbook,
                               table_sheets, write_template)
from filler.core.export import ExportError, export_forms
from filler.core.listing import list_forms
from filler.core.store import FormStore
from plugins.basic_info.schema import SCHEMA as BUILTIN, example_form
from tests.support.filler_types import (CHECK_SCHEMA_CODE, WEB_ONLY_SCHEMA_CODE, activate, forget,
                                        install_sample_plugin, install_schema_distribution)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A site-packages of throwaway distributions: the sample plugin, a two-table form type, a
    web-only form type and one whose schema fails to import."""
    site = tmp_path / "site"
    install_sample_plugin(site)
    install_schema_distribution(site, "pucha_check_note", "site_check_note", CHECK_SCHEMA_CODE)
    install_schema_distribution(site, "pucha_web_only", "web_only_note", WEB_ONLY_SCHEMA_CODE)
    install_schema_distribution(site, "pucha_broken_schema", "broken_note",
                                "raise ImportError('缺少依赖 foo')\n")
    activate(site, monkeypatch)
    yield site
    forget("pucha_check_note", "pucha_web_only", "pucha_broken_schema")


@pytest.fixture
def types(site):
    catalog = load_catalog()
    return {schema.name: schema for schema in catalog}, catalog


def check_note(schema, site_name="上城区政府网", home_url="http://www.hzsc.gov.cn/"):
    doc = schema.new_document(blank_rows=0)
    doc["fields"].update(site_name=site_name, home_url=home_url, checked="是")
    doc["problems"]["content"]["dead_link"] = [
        {"what": "首页死链", "where": "http://www.hzsc.gov.cn/a/", "level": "严重"},
        {"what": "栏目页死链", "where": "http://www.hzsc.gov.cn/b/", "level": "一般"}]
    doc["problems"]["content"]["stale"] = [{"what": "无", "where": "无", "level": "无"}]
    doc["problems"]["service"]["reply"] = [{"what": "留言 3 天未回复", "where": "http://www.hzsc.gov.cn/ly/",
                                            "level": "一般"}]
    doc["fixes"]["all"]["steps"] = [{"step": "修复死链", "done": "是"}, {"step": "回复留言", "done": "否"}]
    return doc


# -- the catalogue -----------------------------------------------------------------------------


def test_catalogue_has_the_builtin_and_the_installed_packaged_types(types):
    by_name, catalog = types
    assert catalog.names()[0] == BUILTIN.name  # built-ins first: the default type stays the same
    assert {"sample_rectification_note", "site_check_note"} <= set(by_name)
    assert by_name["sample_rectification_note"].label == "网站整改记录"
    assert "web_only_note" not in by_name  # no package folder: not a form of the filler
    # The broken plugin is reported in Chinese and the others still load.
    assert len(catalog.problems) == 1
    assert "无法载入表单类型“broken_note”（pucha_broken_schema）" in catalog.problems[0]
    assert "缺少依赖 foo" in catalog.problems[0] and "已跳过" in catalog.problems[0]
    assert catalog.get("网站检查记录") is by_name["site_check_note"]
    with pytest.raises(Exception, match="没有表单类型“nothing”"):
        catalog.get("nothing")


def test_catalogue_names_a_module_without_a_schema_and_a_second_definition(tmp_path, monkeypatch):
    site = tmp_path / "other-site"
    install_schema_distribution(site, "pucha_no_schema", "no_schema", "VALUE = 1\n")
    install_schema_distribution(site, "pucha_same_name", "sitecheck_copy",
                                CHECK_SCHEMA_CODE.replace('label="网站检查记录"', 'label="另一份检查记录"'))
    install_schema_distribution(site, "pucha_check_note", "site_check_note", CHECK_SCHEMA_CODE)
    activate(site, monkeypatch)
    try:
        catalog = load_catalog()
    finally:
        forget("pucha_no_schema", "pucha_same_name", "pucha_check_note")
    assert [s.label for s in catalog if s.name == "site_check_note"] == ["网站检查记录"]
    assert catalog.problems == [
        "无法载入表单类型“no_schema”（pucha_no_schema）：“no_schema”（pucha_no_schema）中没有表单定义"
        "（应有 SCHEMA = FormSchema(...)）（已跳过，其他表单类型不受影响）",
        "表单类型“site_check_note”重复（“sitecheck_copy”（pucha_same_name）），已跳过，使用先找到的定义"]


def test_catalogue_without_installed_plugins_is_the_builtin_one():
    catalog = load_catalog(group="pucha.no_such_group")
    assert catalog.names() == [BUILTIN.name] and catalog.problems == []


def test_the_filler_names_no_form_type_and_imports_no_flask(tmp_path):
    named = [str(p.relative_to(REPO)) for p in (REPO / "filler").rglob("*")
             if p.is_file() and p.suffix in (".py", ".spec") and "basic_info" in p.read_text(encoding="utf-8")]
    assert named == []
    code = """
import sys
import filler.core.catalog, filler.core.store, filler.core.listing, filler.core.export, filler.core.excel
import filler.gui.app, filler.gui.main_window, filler.gui.editor, filler.cli
catalog = filler.core.catalog.load_catalog()
assert catalog.schemas, catalog.problems
banned = [m for m in sys.modules if m.split(".")[0] in ("flask", "flask_appbuilder", "sqlalchemy")]
assert not banned, banned
print("clean", len(catalog.schemas))
"""
    env = dict(os.environ, PUCHA_FILLER_HOME=str(tmp_path / "home"))
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "clean" in out.stdout


# -- one data folder, several types ------------------------------------------------------------


def test_a_folder_of_the_one_type_filler_opens_unchanged(tmp_path, types):
    by_name, catalog = types
    old = FormStore(tmp_path / "data", BUILTIN).ensure()  # as the one-type filler made it
    kept = old.add_document(example_form())
    bare = example_form(variant=1)  # a bare document copied in by hand names no type
    (old.forms_dir / f"{bare['uuid']}.json").write_text(json.dumps(bare), encoding="utf-8")
    before = {p.name: p.read_bytes() for p in old.forms_dir.iterdir()}

    store = FormStore(old.root, catalog.schemas).ensure()
    listed = {s.uuid: s for s in list_forms(store)}
    assert set(listed) == {kept.uuid, bare["uuid"]}
    assert {s.form_type for s in listed.values()} == {BUILTIN.name}
    assert listed[kept.uuid].type_label == BUILTIN.label and listed[kept.uuid].valid
    assert {p.name: p.read_bytes() for p in store.forms_dir.iterdir()} == before  # nothing moved


def test_forms_of_several_types_live_side_by_side(tmp_path, types):
    by_name, catalog = types
    check = by_name["site_check_note"]
    store = FormStore(tmp_path / "data", catalog.schemas).ensure()
    basic = store.add_document(example_form())
    note = store.new("sample_rectification_note")
    note.document["fields"].update(site_name="上城区政府网", home_url="http://www.hzsc.gov.cn/", note="已修复")
    store.save(note)
    checked = store.add_document(check_note(check), form_type=check.name)
    copied = store.copy_as_new(checked.uuid)
    assert store.load(copied.uuid).form_type == check.name

    listed = {s.uuid: s for s in list_forms(store)}
    assert {u: s.type_label for u, s in listed.items()} == {
        basic.uuid: BUILTIN.label, note.uuid: "网站整改记录", checked.uuid: "网站检查记录",
        copied.uuid: "网站检查记录"}
    assert all(s.valid for s in listed.values()), [s.problem for s in listed.values()]
    assert [s.uuid for s in list_forms(store, check.name)] != [] and \
        {s.form_type for s in list_forms(store, check.name)} == {check.name}
    assert sorted(store.uuids_of("sample_rectification_note")) == [note.uuid]

    # A type this filler does not know (its plugin removed) is listed, not dropped.
    alone = FormStore(store.root, BUILTIN)
    unknown = {s.uuid: s for s in list_forms(alone)}[note.uuid]
    assert unknown.broken and "表单类型“sample_rectification_note”不在本客户端中" in unknown.problem

    # A package holds one type: its own schema checks it, its manifest names it.
    out = export_forms(store, [checked.uuid, copied.uuid], tmp_path / "检查.zip")
    package = read_package(out.path)
    assert package.form_type == check.name and len(package) == 2
    assert all(r.ok for r in validate_forms(package, check))
    with pytest.raises(ExportError, match="一个上报文件只能包含一种表"):
        export_forms(store, [basic.uuid, checked.uuid], tmp_path / "混合.zip")


# -- Excel: every table ------------------------------------------------------------------------


def test_excel_has_a_sheet_per_table_and_round_trips_every_row(tmp_path, types):
    from openpyxl import load_workbook

    by_name, catalog = types
    check = by_name["site_check_note"]
    assert [name for _t, name in table_sheets(BUILTIN)] == ["栏目信息"]
    assert [name for _t, name in table_sheets(check)] == ["问题信息", "整改措施信息"]

    store = FormStore(tmp_path / "data", catalog.schemas).ensure()
    store.add_document(example_form())  # another type in the same folder: not exported
    made = [store.add_document(check_note(check, name, url), form_type=check.name).uuid
            for name, url in (("上城区政府网", "http://www.hzsc.gov.cn/"), ("上城区民政局", "http://mzj.hzsc.gov.cn/"))]
    store.save(store.load(made[1]))
    sheet, count, broken = export_workbook(store, tmp_path / "检查.xlsx", form_type=check.name)
    assert count == 2 and not broken
    wb = load_workbook(sheet)
    assert wb.sheetnames == ["填写说明", "网站基本信息", "问题信息", "整改措施信息"]
    assert [c.value for c in wb["问题信息"][1]] == ["网站序号", "问题类别", "问题描述", "问题网址", "严重程度"]
    assert [c.value for c in wb["整改措施信息"][1]] == ["网站序号", "整改措施类别", "措施", "是否完成"]
    # A row of a one-slot table needs no 类别; a wrong choice in a table cell is reported there.
    fixes = wb["整改措施信息"]
    fixes.cell(row=6, column=1, value=1)
    fixes.cell(row=6, column=3, value="更新栏目")
    fixes.cell(row=6, column=4, value="是")
    wb["问题信息"].cell(row=2, column=5, value="很严重")
    wb.save(sheet)

    assert detect_schema(sheet, catalog.schemas) is check
    result = import_workbook(store, sheet)
    texts = [e.text() for e in result.errors]
    assert len(texts) == 1 and texts[0].startswith("「问题信息」第 2 行：（网站序号 1）"), texts
    assert "严重程度应为“一般”或“严重”" in texts[0]
    wb = load_workbook(sheet)
    wb["问题信息"].cell(row=2, column=5, value="严重")
    wb.save(sheet)
    result = import_workbook(store, sheet)
    assert result.errors == [] and len(result.updated) == 1 and len(result.unchanged) == 1
    first = store.load(result.updated[0]).document
    assert first["fixes"]["all"]["steps"][-1] == {"step": "更新栏目", "done": "是"}
    assert first["problems"] == check_note(check)["problems"]
    assert len(store.uuids()) == 3

    # An empty template of the type, filled and imported into another folder: new forms.
    template = write_template(check, tmp_path / "模板.xlsx")
    other = FormStore(tmp_path / "另一个目录", catalog.schemas)
    wb = load_workbook(sheet)
    wb[wb.sheetnames[1]].delete_cols(wb[wb.sheetnames[1]].max_column)  # no 内部标识 column
    wb.save(template)
    fresh = import_workbook(other, template)
    assert fresh.errors == [] and len(fresh.created) == 2
    assert {store.load_known(other.path_for(u)).form_type for u in fresh.created} == {check.name}


def test_excel_of_a_type_without_tables_is_one_sheet_of_forms(tmp_path, types):
    from openpyxl import load_workbook

    by_name, catalog = types
    note = by_name["sample_rectification_note"]
    template = write_template(note, tmp_path / "整改.xlsx")
    wb = load_workbook(template)
    assert wb.sheetnames == ["填写说明", "网站基本信息"]
    ws = wb["网站基本信息"]
    assert [c.value for c in ws[1]] == ["序号", "网站名称", "首页网址", "整改情况", "内部标识"]
    ws.append([1, "上城区政府网", "http://www.hzsc.gov.cn/", "已修复死链"])
    wb.save(template)
    store = FormStore(tmp_path / "data", catalog.schemas)
    result = import_workbook(store, template)
    assert result.errors == [] and len(result.created) == 1
    stored = store.load(result.created[0])
    assert stored.form_type == note.name and stored.document["fields"]["note"] == "已修复死链"


def test_excel_of_no_known_type_is_refused(tmp_path, types):
    from openpyxl import Workbook

    _by_name, catalog = types
    path = tmp_path / "别的表.xlsx"
    wb = Workbook()
    wb.active.title = "网站基本信息"
    wb.active.append(["序号", "随便"])
    wb.save(path)
    with pytest.raises(ExcelError, match="不符合.*中任何一种表"):
        detect_schema(path, catalog.schemas)

    # A template of a known type with one header edited is still recognised, so that the import
    # can say which header is missing.
    from openpyxl import load_workbook

    from filler.core.excel import plan_import

    template = write_template(BUILTIN, tmp_path / "模板.xlsx")
    wb = load_workbook(template)
    headers = [c.value for c in wb["网站基本信息"][1]]
    wb["网站基本信息"].cell(row=1, column=headers.index("办公地址") + 1, value="地址")
    wb.save(template)
    assert detect_schema(template, catalog.schemas) is BUILTIN
    result = plan_import(FormStore(tmp_path / "data", catalog.schemas), template)
    assert [e.text() for e in result.errors] == [
        "「网站基本信息」第 1 行：缺少表头“办公地址”，请使用填报客户端生成的模板，不要修改表头"]


# -- the command line --------------------------------------------------------------------------


def run_cli(tmp_path, site, *args):
    env = dict(os.environ, PUCHA_FILLER_HOME=str(tmp_path / "home"), PYTHONIOENCODING="utf-8",
               PYTHONPATH=os.pathsep.join([str(site), str(REPO)]))
    env.pop("DISPLAY", None)
    return subprocess.run([sys.executable, "-m", "filler", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


def test_cli_lists_the_types_and_takes_one(tmp_path, site):
    out = run_cli(tmp_path, site, "list-types")
    assert out.returncode == 1  # the broken plugin is reported
    lines = out.stdout.splitlines()
    assert lines[0].startswith(f"{BUILTIN.name}  {BUILTIN.label}")
    assert any(line.startswith("site_check_note  网站检查记录") for line in lines)
    assert "缺少依赖 foo" in out.stderr

    data = tmp_path / "data"
    template = tmp_path / "检查模板.xlsx"
    assert run_cli(tmp_path, site, "--data-dir", str(data), "excel-template", "--type", "网站检查记录",
                   str(template)).returncode == 0
    from openpyxl import load_workbook

    assert load_workbook(template).sheetnames == ["填写说明", "网站基本信息", "问题信息", "整改措施信息"]
    out = run_cli(tmp_path, site, "--data-dir", str(data), "pack", "--type", "nothing", "--out",
                  str(tmp_path / "x.zip"))
    assert out.returncode == 2 and "没有表单类型“nothing”" in out.stderr

    from filler.core.catalog import load_catalog as fresh

    store = FormStore(data, fresh().schemas).ensure()
    store.add_document(example_form())
    made = store.add_document(check_note(store.schema_of("site_check_note")), form_type="site_check_note")
    out = run_cli(tmp_path, site, "--data-dir", str(data), "pack", "--type", "site_check_note",
                  "--out", str(tmp_path / "检查.zip"))
    assert out.returncode == 0, out.stdout + out.stderr
    assert list(read_package(tmp_path / "检查.zip").files) == [made.uuid]
    assert out.stderr.count("缺少依赖 foo") == 1  # the broken plugin, said once
    # --type with a form of another type: that form is refused, the package is of the type.
    basic = next(u for u in store.uuids() if u != made.uuid)
    out = run_cli(tmp_path, site, "--data-dir", str(data), "pack", "--type", "site_check_note",
                  "--out", str(tmp_path / "检查2.zip"), made.uuid, basic)
    assert out.returncode == 1 and f"这份表单是“{BUILTIN.label}”，不是“网站检查记录”" in out.stdout
    assert list(read_package(tmp_path / "检查2.zip").files) == [made.uuid]
    out = run_cli(tmp_path, site, "--data-dir", str(data), "validate", str(tmp_path / "检查.zip"))
    assert out.returncode == 0 and "共 1 份表单：1 份通过" in out.stdout
    out = run_cli(tmp_path, site, "--data-dir", str(data), "list", "--type", "网站检查记录")
    assert "（1 份表单）" in out.stdout and "网站检查记录" in out.stdout
    # Today's invocation, no type named: the first type, as before.
    out = run_cli(tmp_path, site, "--data-dir", str(data), "pack", "--out", str(tmp_path / "基本.zip"))
    assert out.returncode == 0 and read_package(tmp_path / "基本.zip").form_type == BUILTIN.name


# -- the web app imports what the filler makes of an external type with tables ---------------------


def test_a_two_table_type_goes_from_excel_through_the_filler_into_the_web_app(tmp_path, monkeypatch,
                                                                             national_db_file):
    """As tests/test_filler_roundtrip.py for the built-in type: Excel batch entry and the store
    make the forms, the filler packs them, the web app imports them through the plugin's own
    form type, every row of both tables intact."""
    from openpyxl import load_workbook

    from tests.support.filler_types import import_in_web_app, install_check_plugin

    site = tmp_path / "site"
    install_check_plugin(site)
    activate(site, monkeypatch)
    catalog = load_catalog()
    check = catalog.get("site_check_note")
    store = FormStore(tmp_path / "data", catalog.schemas).ensure()
    typed = store.add_document(check_note(check), form_type=check.name)

    # A second website through the Excel template: the first one exported, its rows re-keyed.
    sheet, _count, _broken = export_workbook(store, tmp_path / "导出.xlsx", form_type=check.name)
    wb = load_workbook(sheet)
    sites = wb["网站基本信息"]
    sites.cell(row=3, column=1, value=2)
    for column, value in enumerate(["上城区民政局", "http://mzj.hzsc.gov.cn/", "否"], start=2):
        sites.cell(row=3, column=column, value=value)
    for name in ("问题信息", "整改措施信息"):
        ws = wb[name]
        last = ws.max_row
        for r in range(2, last + 1):
            if ws.cell(row=r, column=1).value == 1:
                for c in range(1, ws.max_column + 1):
                    ws.cell(row=r + last, column=c, value=ws.cell(row=r, column=c).value)
                ws.cell(row=r + last, column=1, value=2)
    wb.save(sheet)
    result = import_workbook(store, sheet)
    assert result.errors == [] and len(result.created) == 1, [e.text() for e in result.errors]
    uuids = [typed.uuid] + result.created
    out = export_forms(store, uuids, tmp_path / "检查记录.zip")
    assert sorted(out.exported) == sorted(uuids) and not out.refused

    records = import_in_web_app(national_db_file, tmp_path, site, check.name, out.path,
                                "pucha_check_plugin.plugin:CheckNote", ("site_name",))
    assert set(records) == set(uuids)
    for form_uuid in uuids:
        expected = check.normalize(store.load(form_uuid).document)
        got = records[form_uuid]["document"]
        assert got["problems"] == expected["problems"] and got["fixes"] == expected["fixes"]
        assert records[form_uuid]["site_name"] == expected["fields"]["site_name"]
    assert records[result.created[0]]["site_name"] == "上城区民政局"
