"""导出上报表: the viewer's forms under the current query, as a formatted, streamed .xlsx."""
import io

from openpyxl import load_workbook

from tests.test_basic_info_views import demo, login  # noqa: F401 - fixtures


def workbook(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype.endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in response.headers["Content-Disposition"]
    return load_workbook(io.BytesIO(response.get_data()))


def names(sheet):
    header = [c.value for c in sheet[2]]
    col = header.index("网站名称")
    return [row[col] for row in sheet.iter_rows(min_row=3, values_only=True)]


def test_export_follows_the_current_query(client, session, demo):
    login(client, session, "330100")
    wb = workbook(client.get("/basic_info/export?_flt_2_site_name=上城区"
                             "&_oc_BasicInfoView=site_name&_od_BasicInfoView=asc"))
    sheet = wb.worksheets[0]
    assert sheet.freeze_panes == "A3"
    assert "政府网站和栏目（系统）基本信息表" in sheet["A1"].value
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
    rows = {r[header.index("网站名称")]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert rows["杭州市上城区教育局"][3] == "未审核"
    assert rows["杭州市上城区文化和旅游局"][4].startswith("330102")
    assert [r[0] for r in sheet.iter_rows(min_row=3, values_only=True)] == list(range(1, 8))

    columns = wb.worksheets[1]
    assert columns.freeze_panes == "A3"
    assert [c.value for c in columns[2]] == ["网站名称", "网站标识码", "分类", "栏目", "名称", "地址"]
    col_rows = list(columns.iter_rows(min_row=3, values_only=True))
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
    login(client, session, "330100")
    assert names(workbook(client.get("/basic_info/export?_flt_0_stage=已办结")).worksheets[0]) \
        and set(names(workbook(client.get("/basic_info/export?_flt_0_stage=已办结"))
                      .worksheets[0])) == {"杭州市上城区文化和旅游局", "杭州市上城区住房和城乡建设局"}
    login(client, session, "330106")
    wb = workbook(client.get("/basic_info/export"))
    assert names(wb.worksheets[0]) == ["杭州市西湖区人民政府"]
    assert {r[0] for r in wb.worksheets[1].iter_rows(min_row=3, values_only=True)} == {
        "杭州市西湖区人民政府"}
    login(client, session, "330102")
    got = names(workbook(client.get("/basic_info/export")).worksheets[0])
    assert len(got) == 7 and "杭州市西湖区人民政府" not in got and "杭州市人民政府" not in got


def test_export_writes_in_batches(app, session, demo):
    """The export reads rows with yield_per and writes write-only sheets (constant memory)."""
    from openpyxl import Workbook

    from plugins.basic_info import export
    from plugins.basic_info.models import BasicInfoForm

    assert export.BATCH <= 5000
    query = session.query(BasicInfoForm).order_by(BasicInfoForm.id)
    fh, count = export.write_report(session, query, None)
    assert count == 10
    wb = load_workbook(fh)
    assert len(names(wb.worksheets[0])) == 10
    assert Workbook(write_only=True).write_only


def test_a_table_longer_than_excels_row_limit_continues_on_new_sheets(app, session, demo):
    """A national export's column table (~1.5 million rows) is longer than the 1,048,576 rows an
    Excel sheet holds: the rows continue on 续 sheets with the same title and header, none lost."""
    from plugins.basic_info import export
    from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm

    query = session.query(BasicInfoForm).order_by(BasicInfoForm.id)
    total_rows = session.query(BasicInfoColumnRow).count()
    limit = 2 + 40  # title + header + 40 rows per sheet
    fh, count = export.write_report(session, query, None, max_rows=limit)
    wb = load_workbook(fh)
    column_sheets = [ws for ws in wb.worksheets if ws.title.startswith("栏目（系统）基本信息表")]
    assert len(column_sheets) == -(-total_rows // 40) > 1
    assert column_sheets[1].title.endswith("（续2）")
    written = 0
    for ws in column_sheets:
        assert ws.max_row <= limit and ws.freeze_panes == "A3"
        assert [c.value for c in ws[2]][:2] == ["网站名称", "网站标识码"]
        written += ws.max_row - 2
    assert written == total_rows
    assert len(names(wb.worksheets[0])) == count == 10
