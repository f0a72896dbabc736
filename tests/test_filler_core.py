"""The filler's GUI-free core: store, list model, validation, export, Excel, update check."""
import copy
import errno
import json
import os
import shutil
import socket
import subprocess
import sys
import urllib.request
import zipfile
from collections import Counter
from pathlib import Path
from unittest import mock

import pytest

from app.forms import package as package_module
from app.forms.package import read_package, validate_forms
from filler import __version__
from app.forms import atomic  # the writer the form store uses
from filler.core.excel import ROWS_SHEET, SITES_SHEET, import_workbook, read_workbook, write_template
from filler.core.export import ExportError, export_forms
from filler.core.listing import list_forms
from filler.core.settings import Settings
from filler.core.store import FormStore, StoreError
from filler.core.update import check_for_update, parse_version
from filler.core.validation import check, check_field
from plugins.basic_info.schema import SCHEMA, example_form
from tests.support.version_server import VersionServer

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def store(tmp_path):
    return FormStore(tmp_path / "data", SCHEMA).ensure()


def add_examples(store, count=3):
    return [store.add_document(example_form(variant=i)).uuid for i in range(count)]


# -- store -------------------------------------------------------------------------------------


def test_save_is_atomic_and_leaves_no_temporary_files(store):
    stored = store.new()
    stored.document["fields"]["site_name"] = "只填了名称"
    store.save(stored)
    path = store.path_for(stored.uuid)
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["format"] == "pucha-filler-form"
    assert raw["document"]["fields"]["site_name"] == "只填了名称"
    assert raw["revision"] == 1
    assert [p.name for p in store.forms_dir.iterdir()] == [path.name]
    # An incomplete form is saved as it is and comes back the same.
    assert store.load(stored.uuid).document == stored.document


@pytest.mark.parametrize("failing", ["fsync", "replace", "write"])
def test_a_crash_mid_write_keeps_the_old_file(store, monkeypatch, failing):
    stored = store.add_document(example_form())
    path = store.path_for(stored.uuid)
    before = path.read_bytes()
    stored.document["fields"]["site_name"] = "改了一半"

    def boom(*args, **kwargs):
        raise OSError(28, "No space left on device")

    if failing == "fsync":
        monkeypatch.setattr(atomic.os, "fsync", boom)
    elif failing == "replace":
        monkeypatch.setattr(atomic.os, "replace", boom)
    else:
        # The process dies while the bytes are being written: half a file reaches the disk.
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, handle):
                self.handle = handle

            def write(self, data):
                self.handle.write(data[: len(data) // 2])
                raise OSError(5, "Input/output error")

            def __getattr__(self, name):
                return getattr(self.handle, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.handle.close()

        monkeypatch.setattr(atomic.os, "fdopen", lambda fd, mode: HalfWriter(real_fdopen(fd, mode)))
    with pytest.raises(StoreError, match="保存失败"):
        store.save(stored)
    assert path.read_bytes() == before
    assert store.load(stored.uuid).document["fields"]["site_name"] == "杭州市上城区人民政府"
    assert sorted(p.name for p in store.forms_dir.iterdir()) == [path.name]


def test_the_data_folder_can_be_copied_to_another_computer(store, tmp_path):
    uuids = add_examples(store)
    draft = store.new()
    draft.document["fields"]["site_name"] = "草稿"
    store.save(draft)
    # "Another computer": a different absolute path, found through its own settings file.
    elsewhere = tmp_path / "另一台电脑" / "数据"
    shutil.copytree(store.root, elsewhere)
    settings = Settings(path=tmp_path / "other-home" / "settings.json", data_dir=str(elsewhere))
    settings.save()
    other = FormStore(Settings.load(settings.path).data_path, SCHEMA)
    assert sorted(other.uuids()) == sorted(uuids + [draft.uuid])
    for form_uuid in uuids:
        assert other.load(form_uuid).document == store.load(form_uuid).document
    listed = {s.uuid: s for s in list_forms(other)}
    assert listed[draft.uuid].name == "草稿" and not listed[draft.uuid].valid
    result = export_forms(other, uuids, tmp_path / "out.zip")
    assert sorted(result.exported) == sorted(uuids)


def test_list_model_names_validity_and_export_state(store, tmp_path):
    good = store.add_document(example_form(variant=1))
    bad_doc = example_form(variant=2)
    bad_doc["fields"]["principal_mobile"] = "1380000"
    bad = store.add_document(bad_doc)
    (store.forms_dir / "0b0e5b7e-5a1c-4c43-9f0e-3e7d0b5b6f10.json").write_text("{broken", encoding="utf-8")
    rows = {s.uuid: s for s in list_forms(store)}
    assert rows[good.uuid].name == "杭州市上城区民政局"
    assert rows[good.uuid].url == "http://mzj.hzsc.gov.cn/"
    assert rows[good.uuid].valid and rows[good.uuid].valid_text == "通过"
    assert not rows[bad.uuid].valid and rows[bad.uuid].valid_text == "未通过（1 处）"
    assert "负责人手机" in rows[bad.uuid].problem
    broken = rows["0b0e5b7e-5a1c-4c43-9f0e-3e7d0b5b6f10"]
    assert broken.broken and "损坏" in broken.problem
    assert rows[good.uuid].export_text == "未生成"

    export_forms(store, [good.uuid], tmp_path / "p.zip")
    summary = {s.uuid: s for s in list_forms(store)}[good.uuid]
    assert summary.export_state == "current" and summary.export_text.startswith("已生成 ")
    assert summary.exported_to == str(tmp_path / "p.zip")
    again = store.load(good.uuid)
    again.document["fields"]["contact_name"] = "韦小丽"
    store.save(again)
    assert {s.uuid: s for s in list_forms(store)}[good.uuid].export_text.startswith("生成后又修改")
    # Newest change first.
    assert list_forms(store)[0].uuid == good.uuid


def test_validation_messages_are_per_field(store):
    document = example_form()
    document["fields"].update(principal_phone="0571 87654321 转 808", contact_mobile="１３９０５７１０００２",
                              site_name="无", home_url="无", contact_email="a@b.cn; c@d.cn")
    document["columns"]["info"]["news"].append({"name": "政务动态", "address": "www.hzsc.gov.cn/zwdt"})
    report = check(SCHEMA, document)
    assert report.document["fields"]["principal_phone"] == "0571-87654321-808"
    assert report.document["fields"]["contact_mobile"] == "13905710002"
    assert report.for_field("site_name") == []  # 无 is accepted for free text
    assert "首页网址不能填写\"无\"" in report.field_message("home_url")
    assert "联系人电子邮箱只能填写一个邮箱地址" in report.field_message("contact_email")
    row = report.for_row("columns", "info", "news", 2)
    assert [e.path for e in row] == ["columns.info.news[2].address"]
    assert "信息发布类—动态要闻第 3 行地址" in row[0].message
    assert check_field(SCHEMA, "principal_mobile", "138 0571 0001") == ("13805710001", "")
    assert check_field(SCHEMA, "principal_mobile", "12345")[1].startswith("负责人手机应为")


def test_copy_as_new_changes_the_uuid_and_delete_goes_to_the_recycle_folder(store):
    original = store.add_document(example_form())
    copy_ = store.copy_as_new(original.uuid)
    assert copy_.uuid != original.uuid
    assert copy_.copied_from == original.uuid
    assert copy_.document["fields"] == original.document["fields"]
    assert copy_.document["columns"] == original.document["columns"]
    assert copy_.exported_at is None

    recycled = store.delete(copy_.uuid)
    assert recycled.parent == store.recycle_dir and recycled.exists()
    assert copy_.uuid not in store.uuids()
    assert store.restore(recycled).uuid == copy_.uuid
    assert copy_.uuid in store.uuids()


# -- export ------------------------------------------------------------------------------------


def test_export_packs_the_valid_forms_and_lists_the_refused(store, tmp_path):
    good = add_examples(store, 2)
    bad_doc = example_form(variant=2)
    bad_doc["fields"]["icp_number"] = "ICP备123号"
    bad_doc["columns"]["service"]["guide"] = []
    bad = store.add_document(bad_doc).uuid
    seen = []
    result = export_forms(store, good + [bad], tmp_path / "基本信息表.zip",
                          progress=lambda done, total, text: seen.append((done, total, text)))
    assert sorted(result.exported) == sorted(good)
    assert [r.uuid for r in result.refused] == [bad]
    reasons = "；".join(result.refused[0].reasons)
    assert "ICP备案编号" in reasons and "办事服务类—办事指南" in reasons
    assert result.refused[0].name == "杭州市上城区教育局"
    assert [d for d, _t, _x in seen] == sorted(d for d, _t, _x in seen) and seen[-1][0] == seen[-1][1]

    package = read_package(result.path, expected_form_type="basic_info")
    assert package.client == {"name": "pucha-filler", "version": __version__}
    forms = validate_forms(package, SCHEMA)
    assert sorted(f.uuid for f in forms) == sorted(good) and all(f.ok for f in forms)
    for form in forms:
        assert form.data == check(SCHEMA, store.load(form.uuid).document).document
    with zipfile.ZipFile(result.path) as zf:
        assert any(n.startswith("政府网站基本信息表/杭州市上城区人民政府_") for n in zf.namelist())

    with pytest.raises(ExportError, match="都未通过校验"):
        export_forms(store, [bad], tmp_path / "none.zip")
    assert not (tmp_path / "none.zip").exists()


def test_pack_500_forms_reads_each_form_once_and_writes_once(store, tmp_path, monkeypatch):
    """生成文件 of 500 forms is linear work: each form file read once, one package written.

    Counted, not timed (the seconds: ``python -m bench.filler``)."""
    from filler.core import store as store_module

    uuids = []
    for i in range(500):
        document = example_form(variant=i)
        document["fields"]["site_name"] = f"测试网站{i:03d}"
        uuids.append(store.add_document(document).uuid)
    reads = Counter()
    real_read = store_module.read_json
    monkeypatch.setattr(store_module, "read_json", lambda path: reads.update([Path(path)]) or real_read(path))
    writes = []
    real_write = package_module.atomic_write_bytes
    monkeypatch.setattr(package_module, "atomic_write_bytes",
                        lambda path, data: writes.append(Path(path)) or real_write(path, data))
    result = export_forms(store, uuids, tmp_path / "500.zip")
    assert len(result.exported) == 500 and not result.refused
    form_files = [store.path_for(form_uuid) for form_uuid in uuids]
    assert [reads[path] for path in form_files] == [1] * 500
    assert writes == [tmp_path / "500.zip"]
    assert len(read_package(result.path)) == 500


def test_packing_again_reads_the_export_records_once(store, tmp_path, monkeypatch):
    """After a first 生成文件 every form has an export record: packing them again must not read
    the whole record file once per form (it was quadratic: 2,000 forms 6.3 s of CPU)."""
    from filler.core import store as store_module

    uuids = add_examples(store, count=50)
    export_forms(store, uuids, tmp_path / "first.zip")
    reads = Counter()
    real_read = store_module.read_json
    monkeypatch.setattr(store_module, "read_json", lambda path: reads.update([Path(path)]) or real_read(path))
    export_forms(store, uuids, tmp_path / "again.zip")
    # Once for showing the forms' export state, once afresh for writing the new records.
    assert reads[store.exports_path] <= 2
    assert all(store.load(u).exported_to == str(tmp_path / "again.zip") for u in uuids)


def test_export_records_written_by_another_window_are_seen_and_kept(store, tmp_path):
    """The records are kept in memory between loads, yet what another filler window (or the
    command line) writes into exports.json is shown, and never overwritten by this window."""
    first, second = add_examples(store, 2)
    export_forms(store, [first], tmp_path / "this.zip")
    assert store.load(second).export_state == "never"  # this window has now read the records
    other_window = FormStore(store.root, SCHEMA)
    export_forms(other_window, [second], tmp_path / "other.zip")
    assert store.load(second).export_state == "current"
    assert store.load(second).exported_to == str(tmp_path / "other.zip")
    export_forms(store, [first], tmp_path / "this-again.zip")
    records = other_window.export_records()
    assert records[first]["to"] == str(tmp_path / "this-again.zip")
    assert records[second]["to"] == str(tmp_path / "other.zip")
    assert {s.uuid: s.export_state for s in list_forms(other_window)} == {first: "current", second: "current"}
    store.exports_path.write_text("{damaged", encoding="utf-8")  # by hand: only the column is lost
    assert store.load(first).export_state == "never"
    store.exports_path.unlink()
    assert [s.export_state for s in list_forms(store)] == ["never", "never"]


# -- Excel -------------------------------------------------------------------------------------


def fill_template(path, documents, breakage=None):
    """Write ``documents`` into a generated template the way a person would."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    sites, rows = wb[SITES_SHEET], wb[ROWS_SHEET]
    headers = [c.value for c in sites[1]]
    by_label = {f.label: f.name for f in SCHEMA.filler_fields()}
    row_number = 2
    for key, document in enumerate(documents, start=1):
        sites.cell(row=key + 1, column=1, value=key)
        for c, label in enumerate(headers[1:], start=2):
            if label not in by_label:
                continue  # 内部标识: a person filling the empty template leaves it blank
            value = document["fields"][by_label[label]]
            # Excel users type mobile numbers as numbers.
            if by_label[label].endswith("mobile"):
                value = int(value)
            sites.cell(row=key + 1, column=c, value=value)
        table = SCHEMA.table("columns")
        for group, slot in table.slots():
            for row in document["columns"][group.key][slot.key]:
                rows.cell(row=row_number, column=1, value=key)
                rows.cell(row=row_number, column=2, value=table.slot_label(group, slot))
                rows.cell(row=row_number, column=3, value=row["name"])
                rows.cell(row=row_number, column=4, value=row["address"])
                row_number += 1
    if breakage:
        breakage(sites, rows, row_number)
    wb.save(path)


def test_excel_template_round_trip(store, tmp_path):
    template = write_template(SCHEMA, tmp_path / "模板.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(template)
    assert wb.sheetnames == ["填写说明", SITES_SHEET, ROWS_SHEET]
    assert [c.value for c in wb[SITES_SHEET][1]][:3] == ["序号", "网站名称", "首页网址"]
    assert [c.value for c in wb[ROWS_SHEET][1]] == ["网站序号", "栏目类别", "名称", "地址"]
    wb.close()

    documents = [example_form(variant=i) for i in range(3)]
    fill_template(template, documents)
    result = import_workbook(store, template)
    assert result.errors == [], [e.text() for e in result.errors]
    assert len(result.saved) == 3
    imported = sorted((store.load(u).document for u in result.saved), key=lambda d: d["fields"]["site_name"])
    expected = sorted(documents, key=lambda d: d["fields"]["site_name"])
    for got, want in zip(imported, expected):
        assert got["fields"] == want["fields"]
        assert got["columns"] == want["columns"]
        assert got["uuid"] != want["uuid"]

    # The same sheet again matches the forms it made (by 首页网址): nothing new, nothing rewritten.
    revisions = {u: store.load(u).revision for u in result.saved}
    again = import_workbook(store, template)
    assert again.errors == [] and not again.saved and sorted(again.unchanged) == sorted(result.saved)
    assert len(store.uuids()) == 3
    assert {u: store.load(u).revision for u in result.saved} == revisions

    # Fixed in Excel and imported again: that form is updated, under its own UUID.
    from openpyxl import load_workbook

    wb = load_workbook(template)
    headers = [c.value for c in wb[SITES_SHEET][1]]
    wb[SITES_SHEET].cell(row=3, column=headers.index("办公地址") + 1, value="南宁市兴宁区民主路 1 号")
    wb.save(template)
    fixed = import_workbook(store, template)
    assert fixed.errors == [] and len(fixed.updated) == 1 and len(fixed.unchanged) == 2 and not fixed.created
    assert store.load(fixed.updated[0]).document["fields"]["office_address"] == "南宁市兴宁区民主路 1 号"
    assert len(store.uuids()) == 3


def test_excel_import_reports_every_problem_row_by_row_and_saves_nothing(store, tmp_path):
    template = write_template(SCHEMA, tmp_path / "模板.xlsx")
    documents = [example_form(variant=i) for i in range(3)]
    documents[1]["fields"]["principal_mobile"] = "1380771000"  # 10 digits
    documents[2]["columns"]["interaction"]["survey"] = []  # category left out

    def breakage(sites, rows, next_row):
        rows.cell(row=next_row, column=1, value=9)  # no such website
        rows.cell(row=next_row, column=2, value="信息发布类—动态要闻")
        rows.cell(row=next_row, column=3, value="要闻")
        rows.cell(row=next_row + 1, column=1, value=1)
        rows.cell(row=next_row + 1, column=2, value="新闻中心")  # not a category
        rows.cell(row=next_row + 2, column=1, value=1)
        rows.cell(row=next_row + 2, column=2, value="信息发布类-动态要闻")  # ASCII dash is fine
        rows.cell(row=next_row + 2, column=3, value="视频新闻")
        rows.cell(row=next_row + 2, column=4, value="hzsc.gov.cn/spxw")  # no scheme
        rows.cell(row=next_row + 3, column=1, value=2)
        rows.cell(row=next_row + 3, column=2, value="信息发布类—动态要闻")
        rows.cell(row=next_row + 3, column=3, value="无")
        rows.cell(row=next_row + 3, column=4, value="无")

    fill_template(template, documents, breakage)
    result = import_workbook(store, template)
    texts = [e.text() for e in result.errors]
    assert result.saved == [] and store.uuids() == []
    assert any(t.startswith("「网站基本信息」第 3 行：负责人手机应为") for t in texts), texts
    assert any(t.startswith("「网站基本信息」第 4 行：序号 3 的网站没有填写“互动交流类—调查征集”") for t in texts), texts
    assert any("网站序号 9 在「网站基本信息」中不存在" in t for t in texts), texts
    assert any("“新闻中心”不是可选的栏目类别" in t for t in texts), texts
    assert any("（网站序号 1）" in t and "动态要闻" in t and "地址应为" in t for t in texts), texts
    assert any("（网站序号 2）" in t and "不应再填写\"无\"" in t for t in texts), texts
    # Rows are reported in sheet order: websites first, then column rows.
    sheets = [e.sheet for e in result.errors]
    assert sheets == sorted(sheets, key=lambda s: s != SITES_SHEET)


def test_excel_import_refuses_a_workbook_that_is_not_the_template(store, tmp_path):
    from openpyxl import Workbook

    from filler.core.excel import ExcelError

    path = tmp_path / "随便.xlsx"
    Workbook().save(path)
    with pytest.raises(ExcelError, match="没有工作表「网站基本信息」"):
        read_workbook(SCHEMA, path)
    (tmp_path / "假的.xlsx").write_bytes(b"not a workbook")
    with pytest.raises(ExcelError, match="不是 Excel"):
        read_workbook(SCHEMA, tmp_path / "假的.xlsx")


def sheet_rows(path):
    """网站基本信息 as {header: value} per row, the way a person reads the exported sheet."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb[SITES_SHEET]
    headers = [c.value for c in ws[1]]
    rows = [dict(zip(headers, (c.value for c in row))) for row in ws.iter_rows(min_row=2) if row[0].value]
    wb.close()
    return headers, rows


def edit_sheet(path, edits):
    """``edits``: (Excel row, header, value) typed into 网站基本信息; saved as a spreadsheet saves."""
    from openpyxl import load_workbook

    wb = load_workbook(path)
    ws = wb[SITES_SHEET]
    headers = [c.value for c in ws[1]]
    for row, header, value in edits:
        ws.cell(row=row, column=headers.index(header) + 1).value = value  # None empties the cell
    wb.save(path)


def test_export_to_excel_and_back_updates_the_same_forms(store, tmp_path):
    """Forms typed in the editor → 导出到Excel → changed in Excel → imported: the same forms
    (same UUIDs) change, a new row makes a new form, and the sheet can go round again."""
    typed = add_examples(store, 2)
    draft = store.new()
    draft.document["fields"].update(site_name="只填了名称的草稿")
    store.save(draft)
    revisions = {u: store.load(u).revision for u in store.uuids()}

    # An empty template filled with a website the folder already has (typed by hand): refused.
    template = write_template(SCHEMA, tmp_path / "模板.xlsx")
    fill_template(template, [example_form(variant=0)])
    refused = import_workbook(store, template)
    assert not refused.saved and len(refused.errors) == 1
    assert "数据目录中已有该网站的表单“杭州市上城区人民政府”" in refused.errors[0].message
    assert "导出到Excel" in refused.errors[0].message

    from filler.core.excel import UUID_HEADER, export_workbook

    sheet, count, broken = export_workbook(store, tmp_path / "导出.xlsx")
    assert count == 3 and broken == []
    headers, rows = sheet_rows(sheet)
    assert headers[0] == "序号" and headers[-1] == UUID_HEADER
    assert sorted(r[UUID_HEADER] for r in rows) == sorted(store.uuids())
    by_uuid = {r[UUID_HEADER]: r for r in rows}
    assert by_uuid[typed[0]]["负责人手机"] == example_form(variant=0)["fields"]["principal_mobile"]

    # Unchanged, the sheet matches every form: the draft's problems are listed, nothing written.
    again = import_workbook(store, sheet)
    draft_key = str(rows.index(by_uuid[draft.uuid]) + 1)
    assert again.errors and all(e.site == draft_key for e in again.errors)
    assert again.saved == [] and {u: store.load(u).revision for u in store.uuids()} == revisions

    line = {r[UUID_HEADER]: i for i, r in enumerate(rows, start=2)}
    new_site = dict(example_form(variant=2)["fields"])
    edit_sheet(sheet, [
        (line[typed[0]], "办公地址", "无"),
        # A website's new address: the row's UUID says which form it is.
        (line[typed[1]], "首页网址", "https://mzj.nanning.gov.cn/"),
        (line[draft.uuid], "网站名称", "草稿改了名称"),
    ] + [(len(rows) + 2, label, new_site[name]) for label, name in
         [(f.label, f.name) for f in SCHEMA.filler_fields()]] + [(len(rows) + 2, "序号", 9)])
    from openpyxl import load_workbook

    wb = load_workbook(sheet)
    rows_ws = wb[ROWS_SHEET]
    next_row = rows_ws.max_row + 1
    table = SCHEMA.table("columns")
    for group, slot in table.slots():
        for row in example_form(variant=2)["columns"][group.key][slot.key]:
            rows_ws.append([9, table.slot_label(group, slot), row["name"], row["address"]])
    wb.save(sheet)
    assert rows_ws.max_row > next_row

    partial = import_workbook(store, sheet, only_valid=True)
    bad = [e for e in partial.errors]
    assert bad and all(e.site == draft_key for e in bad), [e.text() for e in bad]
    assert sorted(partial.updated) == sorted(typed) and len(partial.created) == 1
    assert len(store.uuids()) == 4
    assert store.load(typed[0]).document["fields"]["office_address"] == "无"
    assert store.load(typed[1]).document["fields"]["home_url"] == "https://mzj.nanning.gov.cn/"
    assert store.load(typed[1]).document["uuid"] == typed[1]
    assert store.load(draft.uuid).document["fields"]["site_name"] == "只填了名称的草稿"  # bad row: untouched
    assert store.load(partial.created[0]).origin == "excel"
    report = partial.report(imported=True)
    assert "已导入 3 个网站（新建 1 份，更新 2 份）" in report and "没有导入" in report
    assert f"「网站基本信息」第 {line[draft.uuid]} 行" in report

    # Round two: export again, import unchanged: the three good forms are unchanged.
    sheet2, count, _ = export_workbook(store, tmp_path / "导出2.xlsx")
    second = import_workbook(store, sheet2, only_valid=True)
    assert len(second.unchanged) == 3 and not second.updated and not second.created


def spreadsheet_save(path, tmp_path):
    """Open and save ``path`` in a real spreadsheet program (LibreOffice Calc, headless), as a
    user's Excel or WPS does before the sheet comes back."""
    tool = shutil.which("soffice")
    from tests.support.components import require

    require("LibreOffice Calc", tool is not None, "apt-get install -y --no-install-recommends libreoffice-calc-nogui")
    out = tmp_path / "saved"
    subprocess.run([tool, "--headless", "--norestore", f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",
                    "--convert-to", "xlsx:Calc MS Excel 2007 XML", "--outdir", str(out), str(path)],
                   check=True, timeout=300, capture_output=True, env=dict(os.environ, HOME=str(tmp_path)))
    saved = out / Path(path).name
    assert saved.stat().st_size > 5_000
    return saved


@pytest.mark.slow
def test_the_uuid_column_survives_a_spreadsheet_programs_save(store, tmp_path):
    from filler.core.excel import UUID_HEADER, export_workbook

    uuids = add_examples(store, 3)
    sheet, _, _ = export_workbook(store, tmp_path / "导出.xlsx")
    _, rows = sheet_rows(sheet)
    line = {r[UUID_HEADER]: i for i, r in enumerate(rows, start=2)}
    edit_sheet(sheet, [(line[uuids[1]], "负责人职务", "局长")])
    saved = spreadsheet_save(sheet, tmp_path)
    assert sorted(r[UUID_HEADER] for r in sheet_rows(saved)[1]) == sorted(uuids)
    result = import_workbook(store, saved)
    assert result.errors == [], [e.text() for e in result.errors]
    assert result.updated == [uuids[1]] and len(result.unchanged) == 2 and sorted(store.uuids()) == sorted(uuids)
    assert store.load(uuids[1]).document["fields"]["principal_title"] == "局长"

    # The empty template, filled and saved the same way, imported twice: no second form.
    template = write_template(SCHEMA, tmp_path / "模板.xlsx")
    fill_template(template, [example_form(variant=0)])
    for _ in range(2):
        result = import_workbook(FormStore(tmp_path / "另一个目录", SCHEMA), spreadsheet_save(template, tmp_path))
        assert result.errors == [], [e.text() for e in result.errors]
    assert len(FormStore(tmp_path / "另一个目录", SCHEMA).uuids()) == 1 and result.unchanged


def test_excel_row_whose_uuid_and_address_name_two_forms_is_refused(store, tmp_path):
    from filler.core.excel import UUID_HEADER, export_workbook

    first, second = add_examples(store, 2)
    sheet, _, _ = export_workbook(store, tmp_path / "导出.xlsx")
    _, rows = sheet_rows(sheet)
    line = {r[UUID_HEADER]: i for i, r in enumerate(rows, start=2)}
    other_url = store.load(second).document["fields"]["home_url"]
    # The first form's row given the second form's address (www. and https do not matter).
    edit_sheet(sheet, [(line[first], "首页网址", other_url.replace("http://", "https://www.")),
                       (line[second], "首页网址", "http://other.example.gov.cn/")])
    result = import_workbook(store, sheet)
    assert result.saved == []
    [error] = result.errors
    assert error.row == line[first] and error.column == "首页网址"
    assert "杭州市上城区人民政府" in error.message and first in error.message
    assert store.schema.title(store.load(second).document) in error.message and second in error.message


def test_excel_copied_row_and_damaged_uuid_are_named(store, tmp_path):
    from filler.core.excel import UUID_HEADER, export_workbook

    [only] = add_examples(store, 1)
    sheet, _, _ = export_workbook(store, tmp_path / "导出.xlsx")
    other = example_form(variant=1)["fields"]
    edit_sheet(sheet, [(3, f.label, other[f.name]) for f in SCHEMA.filler_fields()]
               + [(3, "序号", 2), (3, UUID_HEADER, only),  # a copied row that kept its 内部标识
                  (4, "序号", 3), (4, "网站名称", "x"), (4, UUID_HEADER, "不是内部标识")])
    texts = [e.text() for e in import_workbook(store, sheet).errors]
    assert any(t.startswith("「网站基本信息」第 3 行：内部标识与第 2 行相同") for t in texts), texts
    assert any(t.startswith("「网站基本信息」第 4 行：内部标识“不是内部标识”不正确") for t in texts), texts
    assert not any("对应同一份表单" in t for t in texts), texts  # one message for one mistake
    assert store.uuids() == [only]

    # A damaged form file: its row is refused up front, not half-way through the saving.
    store.path_for(only).write_text("{ damaged", encoding="utf-8")
    edit_sheet(sheet, [(row, header, None) for row in (3, 4)
                        for header in ["序号", UUID_HEADER] + [f.label for f in SCHEMA.filler_fields()]])
    result = import_workbook(store, sheet, only_valid=True)
    assert [e.text() for e in result.errors] == [
        f"「网站基本信息」第 2 行：数据目录中内部标识为 {only} 的表单文件已损坏，无法更新；"
        f"请先在客户端中删除它，或从另一份副本恢复这个文件"]
    assert result.saved == [] and store.path_for(only).read_text(encoding="utf-8") == "{ damaged"


def test_excel_only_valid_imports_the_good_websites_and_reports_the_rest(store, tmp_path):
    template = write_template(SCHEMA, tmp_path / "模板.xlsx")
    documents = [example_form(variant=i) for i in range(3)]
    documents[1]["fields"]["principal_mobile"] = "1380771000"

    def breakage(sites, rows, next_row):
        rows.cell(row=next_row, column=1, value=3)
        rows.cell(row=next_row, column=2, value="新闻中心")  # not a category: website 3 is bad too
        rows.cell(row=next_row + 1, column=1, value=7)  # belongs to no website: blocks none
        rows.cell(row=next_row + 1, column=2, value="信息发布类—动态要闻")

    fill_template(template, documents, breakage)
    assert import_workbook(store, template).saved == [] and store.uuids() == []
    result = import_workbook(store, template, only_valid=True)
    assert len(result.created) == 1 and store.uuids() == result.created
    assert store.load(result.created[0]).document["fields"]["site_name"] == documents[0]["fields"]["site_name"]
    assert [s.key for s in result.bad_sites] == ["2", "3"]
    report = result.report(imported=True)
    assert "序号 2（第 3 行）、序号 3（第 4 行）" in report
    assert "「网站基本信息」第 3 行：负责人手机应为" in report
    assert "网站序号 7 在「网站基本信息」中不存在" in report and "“新闻中心”不是可选的栏目类别" in report

    # Fixed and imported again (all rows right now): the good one is unchanged, the rest created.
    documents[1]["fields"]["principal_mobile"] = "13807710000"
    template = write_template(SCHEMA, tmp_path / "改正后.xlsx")
    fill_template(template, documents)
    again = import_workbook(store, template)
    assert again.errors == [] and again.unchanged == result.created and len(again.created) == 2
    assert len(store.uuids()) == 3


def test_excel_import_stops_cleanly_when_a_save_fails(store, tmp_path, monkeypatch):
    template = write_template(SCHEMA, tmp_path / "模板.xlsx")
    fill_template(template, [example_form(variant=i) for i in range(3)])
    real_save = FormStore.save
    calls = []

    def failing_save(self, stored):
        calls.append(stored.uuid)
        if len(calls) == 2:
            raise StoreError("保存失败：磁盘已满")
        return real_save(self, stored)

    monkeypatch.setattr(FormStore, "save", failing_save)
    result = import_workbook(store, template)
    assert len(result.saved) == 1 and store.uuids() == result.saved
    assert [e.text() for e in result.errors] == ["「网站基本信息」第 3 行：没有保存：保存失败：磁盘已满",
                                                 "「网站基本信息」第 4 行：没有保存：第 3 行保存失败后导入已停止"]
    assert [s.key for s in result.bad_sites] == ["2", "3"]
    assert not list(store.forms_dir.glob("*.tmp*")) and not list(store.forms_dir.glob(".*"))


# -- update check ------------------------------------------------------------------------------


def test_update_check_newer_same_and_offline():
    server = VersionServer({"latest": "1.2.0", "download_url": "/support/"})
    try:
        info = check_for_update(server.url, current="1.0.0")
        assert info.status == "newer" and info.latest == "1.2.0"
        assert info.download_url == server.url + "/support/"
        assert "发现新版本 1.2.0" in info.message()
        assert server.paths == ["/api/v1/client/version"]

        server.body = {"latest": "1.0.0", "download_url": "/support/"}
        assert check_for_update(server.url, current="1.0.0").status == "current"
        assert check_for_update(server.url, current="1.0.1").status == "current"

        server.body = b"<html>proxy login</html>"
        assert check_for_update(server.url, current="1.0.0").status == "offline"
        server.body, server.status = {"message": "Not found"}, 404
        assert check_for_update(server.url, current="1.0.0").status == "offline"
    finally:
        server.close()

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    asked = []
    real_urlopen = urllib.request.urlopen
    with mock.patch.object(urllib.request, "urlopen",
                           lambda request, timeout: asked.append(timeout) or real_urlopen(request, timeout=timeout)):
        info = check_for_update(f"http://127.0.0.1:{port}", current="1.0.0", timeout=2)
    assert info.status == "offline" and "离线" in info.message()
    # Refused by the machine at once (no wait for the timeout), and the timeout was passed on.
    assert os.strerror(errno.ECONNREFUSED) in info.detail and asked == [2]
    assert check_for_update("", current="1.0.0").status == "offline"
    assert parse_version("1.10.0") > parse_version("1.9.9") and parse_version("2.0") == parse_version("2.0.0")


def test_settings_round_trip_and_damaged_file(tmp_path):
    path = tmp_path / "s" / "settings.json"
    settings = Settings.load(path)
    assert settings.server_url == "http://127.0.0.1:8080"
    settings.data_dir = str(tmp_path / "数据")
    settings.server_url = "https://pucha.example.gov.cn"
    settings.save()
    again = Settings.load(path)
    assert again.data_path == tmp_path / "数据" and again.server_url == "https://pucha.example.gov.cn"
    path.write_text("{half", encoding="utf-8")
    assert Settings.load(path).server_url == "http://127.0.0.1:8080"


def test_data_folder_precedence_setting_then_environment_then_default(tmp_path, monkeypatch):
    """docs/filler.md §5: the saved setting wins over PUCHA_FILLER_DATA, which wins over the
    default (--data-dir, above them all, is the caller's: cli._store and FillerApp)."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PUCHA_FILLER_DATA", raising=False)
    settings = Settings(path=tmp_path / "settings.json")
    assert settings.data_path == tmp_path / "home" / "政府网站普查填报数据"
    assert settings.data_source == "默认位置"
    monkeypatch.setenv("PUCHA_FILLER_DATA", str(tmp_path / "env"))
    assert settings.data_path == tmp_path / "env" and settings.data_source == "环境变量 PUCHA_FILLER_DATA"
    settings.data_dir = str(tmp_path / "chosen")
    assert settings.data_path == tmp_path / "chosen" and settings.data_source == "设置中保存的位置"


def test_store_refuses_an_unwritable_place_with_a_chinese_message(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError, match="无法使用数据目录"):
        FormStore(blocker / "data", SCHEMA).ensure()


# -- no GUI, no web framework in the core --------------------------------------------------------


def test_core_and_headless_commands_import_no_gui_and_no_flask(tmp_path):
    code = f"""
import sys
import filler.core.atomic, filler.core.settings, filler.core.store, filler.core.listing
import filler.core.validation, filler.core.export, filler.core.excel, filler.core.update
from filler.cli import main
assert main(["--data-dir", {str(tmp_path / 'd')!r}, "excel-template", {str(tmp_path / 't.xlsx')!r}]) == 0
assert main(["--data-dir", {str(tmp_path / 'd')!r}, "list"]) == 0
banned = [m for m in sys.modules if m.split(".")[0] in
          ("tkinter", "_tkinter", "PySimpleGUI", "flask", "flask_appbuilder", "sqlalchemy", "filler.gui")
          or m.startswith("filler.gui")]
assert not banned, banned
print("clean")
"""
    env = dict(os.environ, PUCHA_FILLER_HOME=str(tmp_path / "home"))
    env.pop("DISPLAY", None)
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert "clean" in out.stdout
