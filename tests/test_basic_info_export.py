"""导出上报表: the viewer's forms under the current query, as a formatted, streamed .xlsx."""
import io

from openpyxl import load_workbook

from tests.support.xlsx import data_rows
from tests.support.accounts import login, set_known_password
from tests.support.demo import demo  # noqa: F401 - fixture


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.get_data()))


def names(sheet):
    header = [c.value for c in sheet[2]]
    col = header.index("网站名称")
    return [row[col] for row in data_rows(sheet)]


def test_export_follows_the_current_query(client, session, demo):
    set_known_password(session, "330100")
    login(client, "330100")
    wb = workbook(client.get("/basic_info/export?_flt_2_site_name=上城区"
                             "&_oc_BasicInfoView=site_name&_od_BasicInfoView=asc"))
    sheet = wb.worksheets[0]
    assert sheet.freeze_panes == "A3"
    assert sheet["A1"].value.startswith("杭州市 政府网站基本信息上报表 20")
    header = [c.value for c in sheet[2]]
    assert header[:11] == ["序号", "填报人", "时间", "状态", "网站标识码", "省/部", "市", "县",
                           "填报单位", "网站名称", "ICP备案编号"]
    assert "负责人办公电话" in header and "联系人电子邮箱" in header
    assert sheet.column_dimensions["J"].width >= 10
    got = names(sheet)
    # Sorted as the database sorts (a Chinese collation on PostgreSQL orders by pinyin).
    from sqlalchemy import select

    from plugins.basic_info.models import BasicInfoForm
    in_db_order = list(session.scalars(
        select(BasicInfoForm.site_name).where(BasicInfoForm.site_name.in_(got))
        .order_by(BasicInfoForm.site_name)))
    assert got == in_db_order and len(got) == 7
    assert "杭州市人民政府" not in got and "杭州市西湖区人民政府" not in got
    rows = {r[header.index("网站名称")]: r for r in data_rows(sheet)}
    assert rows["杭州市上城区教育局"][3] == "未审核"
    assert rows["杭州市上城区文化和旅游局"][4].startswith("330102")
    assert [r[0] for r in data_rows(sheet)] == list(range(1, 8))

    columns = wb.worksheets[1]
    assert columns.freeze_panes == "A3"
    assert [c.value for c in columns[2]] == ["网站名称", "网站标识码", "分类", "栏目", "名称", "地址"]
    col_rows = data_rows(columns)
    assert {r[0] for r in col_rows} == set(got)
    assert {r[2] for r in col_rows} == {"信息发布类", "互动交流类", "办事服务类"}
    assert any(r[3] == "动态要闻" and r[5].startswith("http://") for r in col_rows)
    # Sheet 2 follows sheet 1's order, one form's rows together.
    firsts = []
    for r in col_rows:
        if not firsts or firsts[-1] != r[0]:
            firsts.append(r[0])
    assert firsts == got


def test_export_by_status_and_a_siblings_forms_are_absent(client, session, demo):
    set_known_password(session, "330100")
    login(client, "330100")
    assert names(workbook(client.get("/basic_info/export?_flt_0_stage=已办结")).worksheets[0]) \
        and set(names(workbook(client.get("/basic_info/export?_flt_0_stage=已办结"))
                      .worksheets[0])) == {"杭州市上城区文化和旅游局", "杭州市上城区住房和城乡建设局"}
    set_known_password(session, "330106")
    login(client, "330106")
    wb = workbook(client.get("/basic_info/export"))
    assert names(wb.worksheets[0]) == ["杭州市西湖区人民政府"]
    assert {r[0] for r in data_rows(wb.worksheets[1])} == {
        "杭州市西湖区人民政府"}
    set_known_password(session, "330102")
    login(client, "330102")
    got = names(workbook(client.get("/basic_info/export")).worksheets[0])
    assert len(got) == 7 and "杭州市西湖区人民政府" not in got and "杭州市人民政府" not in got


def test_export_writes_in_batches(app, session, demo):
    """The export reads rows with yield_per and writes write-only sheets (constant memory)."""
    from openpyxl import Workbook

    from app.formtypes import export
    from plugins.basic_info.models import BasicInfoForm
    from plugins.basic_info.plugin import FORM

    assert export.BATCH <= 5000
    query = session.query(BasicInfoForm).order_by(BasicInfoForm.id)
    fh, count = export.write_report(session, FORM, query, None)
    assert count == 10
    wb = load_workbook(fh)
    assert len(names(wb.worksheets[0])) == 10
    assert Workbook(write_only=True).write_only


def test_a_table_longer_than_excels_row_limit_continues_on_new_sheets(app, session, demo):
    """A national export's column table (~1.5 million rows) is longer than the 1,048,576 rows an
    Excel sheet holds: the rows continue on 续 sheets with the same title and header, none lost."""
    from app.formtypes import export
    from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm
    from plugins.basic_info.plugin import FORM

    query = session.query(BasicInfoForm).order_by(BasicInfoForm.id)
    total_rows = session.query(BasicInfoColumnRow).count()
    limit = 2 + 40  # title + header + 40 rows per sheet
    fh, count = export.write_report(session, FORM, query, None, max_rows=limit)
    wb = load_workbook(fh)
    column_sheets = [ws for ws in wb.worksheets if ws.title.startswith("栏目（系统）基本信息表")]
    assert len(column_sheets) == -(-total_rows // 40) > 1
    assert column_sheets[1].title.endswith("（续2）")
    written = 0
    for ws in column_sheets:
        assert ws.max_row <= limit and ws.freeze_panes == "A3"
        assert [c.value for c in ws[2]][:2] == ["网站名称", "网站标识码"]
        written += len(data_rows(ws))
    assert written == total_rows
    # The signature line ends the last 栏目 sheet only.
    assert _signature_rows(column_sheets[-1]) and not _signature_rows(column_sheets[0])
    assert len(names(wb.worksheets[0])) == count == 10


def _signature_rows(sheet):
    return [row for row in sheet.iter_rows(values_only=True)
            if any(isinstance(v, str) and v.startswith("填报单位（盖章）") for v in row)]


def _sheet_xml(data):
    """{sheet name: worksheet XML} and the workbook XML of an xlsx file."""
    import re
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        book = zf.read("xl/workbook.xml").decode()
        names = re.findall(r'<sheet [^>]*name="([^"]+)"', book)
        sheets = {name: zf.read(f"xl/worksheets/sheet{i}.xml").decode()
                  for i, name in enumerate(names, start=1)}
    return sheets, book


def test_export_prints_as_a_report_to_hand_upward(client, session, demo):
    """Landscape, one page wide, title and header repeated on every printed page, the unit and
    the date in the title, the signature line at the end, columns as wide as their content."""
    import datetime
    import re

    set_known_password(session, "330100")
    login(client, "330100")
    response = client.get("/basic_info/export")
    data = response.get_data()
    sheets, book = _sheet_xml(data)
    assert list(sheets) == ["政府网站基本信息表", "栏目（系统）基本信息表"]
    for index, (name, xml) in enumerate(sheets.items()):
        setup = re.search(r"<pageSetup [^>]*/>", xml).group(0)
        assert 'orientation="landscape"' in setup
        assert 'fitToWidth="1"' in setup and 'fitToHeight="0"' in setup
        assert '<pageSetUpPr fitToPage="1"/>' in xml
        assert (f'<definedName name="_xlnm.Print_Titles" localSheetId="{index}">'
                f"'{name}'!$1:$2</definedName>") in book
        assert "<cols>" in xml and 'customWidth="1"' in xml

    wb = workbook(response)
    today = datetime.date.today().isoformat()
    sheet, columns = wb.worksheets
    assert sheet["A1"].value == f"杭州市 政府网站基本信息上报表 {today}"
    assert columns["A1"].value == f"杭州市 栏目（系统）基本信息表 {today}"
    for ws in (sheet, columns):
        assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$2"
        rows = data_rows(ws)
        # One blank row after the data, then the signature line, and nothing else.
        assert ws.max_row == 2 + len(rows) + 2
        signature = [v for v in _signature_rows(ws)[0] if v]
        assert [v.split("：")[0] for v in signature] == ["填报单位（盖章）", "负责人", "日期"]
    header = [c.value for c in sheet[2]]
    widths = {h: sheet.column_dimensions[chr(ord("A") + i)].width for i, h in enumerate(header)
              if i < 26}
    # Chinese names count double: 网站名称 fits 杭州市上城区文化和旅游局 (12 characters).
    assert widths["网站名称"] >= 24 and widths["序号"] < widths["网站名称"]
    assert all(6 <= w <= 50 for w in widths.values())
    assert columns.column_dimensions["F"].width >= 30  # 地址: the longest URLs


def test_measured_widths_and_the_signature_line_in_the_writer():
    """RollingSheet measures CJK as two columns, caps long text, and keeps the held-back rows."""
    from openpyxl import Workbook

    from app.forms.xlsx import (MAX_WIDTH, WIDTH_SAMPLE_ROWS, RollingSheet, display_width,
                                fitted_width)

    assert display_width("杭州市") == 6 and display_width("abc") == 3
    assert display_width("ＡＢ") == 4 and fitted_width(["x" * 500]) == MAX_WIDTH
    wb = Workbook(write_only=True)
    sheet = RollingSheet(wb, "s", "t", [("名称", None), ("n", 7)], printable=True)
    for i in range(WIDTH_SAMPLE_ROWS + 10):
        sheet.append([f"单位{i}", i])
    sheet.finish([["填报单位（盖章）："]])
    out = io.BytesIO()
    wb.save(out)
    ws = load_workbook(io.BytesIO(out.getvalue())).active
    assert [r[1] for r in data_rows(ws)] == list(range(WIDTH_SAMPLE_ROWS + 10))
    assert ws.column_dimensions["A"].width == fitted_width(["单位499"])
    assert ws.column_dimensions["B"].width == 7
    assert ws.cell(ws.max_row, 1).value == "填报单位（盖章）："
