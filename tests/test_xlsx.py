"""The safe cell writer: user text in every workbook the system writes stays text.

Hostile values go through 导出上报表 (sheet 1 and the 栏目 sheet), the account table and the
filler's template; each file is unzipped to prove no formula element exists, then reopened with
openpyxl to prove every value reads exactly as it was typed.
"""
import io

from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from app.forms.xlsx import (EXCEL_MAX_CHARS, REPLACEMENT, RollingSheet, set_text, storable_text,
                            text_cell)
from tests.support.xlsx import HOSTILE, assert_no_formulas, assert_reads_as_typed, cell_texts
from tests.support.accounts import get_user, login, set_known_password


def _saved(wb):
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_rolling_sheet_keeps_hostile_text_as_text():
    wb = Workbook(write_only=True)
    sheet = RollingSheet(wb, "s", HOSTILE[0], [(label, 10) for label in HOSTILE])
    sheet.append(list(HOSTILE))
    sheet.append([1, 2.5, None, "普通文本", "=1+1"])
    data = _saved(wb)
    assert_no_formulas(data)
    assert_reads_as_typed(data, HOSTILE + ("=1+1",))
    values = [v for v, _ in cell_texts(data)]
    assert 1 in values and 2.5 in values and "普通文本" in values


def test_unstorable_characters_are_replaced_and_long_text_is_cut():
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("s")
    ws.append([text_cell(ws, "a\x01b\x1fc"), text_cell(ws, "x" * (EXCEL_MAX_CHARS + 10))])
    RollingSheet(wb, "t", "title", [("a", 5)]).append(["=\x00"])
    data = _saved(wb)
    assert_no_formulas(data)
    values = [v for v, _ in cell_texts(data)]
    assert f"a{REPLACEMENT}b{REPLACEMENT}c" in values
    assert "x" * EXCEL_MAX_CHARS in values
    assert f"={REPLACEMENT}" in values


def test_set_text_on_a_normal_sheet():
    wb = Workbook()
    for row, text in enumerate(HOSTILE, start=1):
        set_text(wb.active.cell(row=row, column=1), text)
    data = _saved(wb)
    assert_no_formulas(data)
    assert_reads_as_typed(data, HOSTILE)


def test_export_writes_hostile_form_values_as_text(client, session):
    """导出上报表 through the web: 网站名称, 填报单位 and the 栏目 names of imported forms."""
    from plugins.basic_info import commands
    from plugins.basic_info.demo import package_bytes, site_form
    from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm

    docs = []
    for index, text in enumerate(HOSTILE):
        doc = site_form(f"网站{index}", f"s{index}.hzsc.gov.cn", "否", variant=index % 3)
        doc["fields"].update(site_name=text, filing_unit=text, supervisor_unit=text)
        doc["columns"]["info"]["news"][0]["name"] = text
        docs.append(doc)
    report = commands.import_packages(session, get_user(session, "330102"),
                                      [("hostile.zip", package_bytes(docs))])
    ids = [f.form_id for f in report.forms]
    assert all(ids), [f.errors for f in report.forms]
    # What the unit typed, as the schema kept it (leading tabs and returns are trimmed on input).
    stored = set(session.scalars(select(BasicInfoForm.site_name).where(BasicInfoForm.id.in_(ids))))
    stored |= set(session.scalars(select(BasicInfoForm.filing_unit).where(
        BasicInfoForm.id.in_(ids))))
    rows = set(session.scalars(select(BasicInfoColumnRow.name).where(
        BasicInfoColumnRow.form_id.in_(ids))))
    assert {"=cmd|' /C calc'!A0", "+1", "@SUM(A1)"} <= stored and "=1" in rows

    set_known_password(session, "330102")
    login(client, "330102")
    response = client.get("/basic_info/export")
    assert response.status_code == 200
    data = response.get_data()
    assert_no_formulas(data)
    assert_reads_as_typed(data, stored | rows)
    wb = load_workbook(io.BytesIO(data))
    sheet1 = {v for row in wb.worksheets[0].iter_rows(min_row=3, values_only=True) for v in row}
    sheet2 = {v for row in wb.worksheets[1].iter_rows(min_row=3, values_only=True) for v in row}
    assert stored <= sheet1 and HOSTILE[0] in sheet2 and "=1" in sheet2


def test_account_table_writes_hostile_unit_names_as_text(web, db_session):
    """Unit names come from an org import anyone with a CSV can prepare."""
    from app.accounts.account_table import build_account_table
    from app.orgs.models import Org

    parent = db_session.execute(select(Org).where(Org.code == "330100")).scalar_one()
    children = db_session.execute(select(Org).where(Org.parent_id == parent.id)
                                  .order_by(Org.code)).scalars().all()
    names = HOSTILE[:len(children)]
    for child, name in zip(children, names):
        child.name = name
    db_session.commit()
    data = build_account_table(db_session, parent)
    assert_no_formulas(data)
    assert_reads_as_typed(data, names)
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.freeze_panes == "A3" and ws["E3"].number_format == "@"
    assert "A1:F1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A1"].alignment.horizontal == "center"


def test_filler_template_writes_schema_text_as_text(tmp_path):
    """The filler's template writes labels and hints that plugins supply: text too."""
    import dataclasses

    from filler.core.excel import write_template
    from plugins.basic_info.schema import SCHEMA

    field = SCHEMA.filler_fields()[0]
    hostile = dataclasses.replace(field, label="=HYPERLINK(\"http://evil.example.com\")")
    schema = dataclasses.replace(SCHEMA, fields=tuple(
        hostile if f.name == field.name else f for f in SCHEMA.fields))
    data = write_template(schema, tmp_path / "t.xlsx").read_bytes()
    assert_no_formulas(data)
    assert_reads_as_typed(data, [hostile.label])


ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)  # surrogates included


@settings(max_examples=150, deadline=None)
@given(st.lists(ANY_TEXT | st.sampled_from(HOSTILE), min_size=1, max_size=8))
def test_any_text_stays_text(values):
    """Fuzz: whatever the text (controls, surrogates, formulas), the file opens, holds no formula
    and gives back the text as stored (unstorable characters replaced)."""
    wb = Workbook(write_only=True)
    sheet = RollingSheet(wb, "s", "t", [("a", 5)])
    sheet.append(values)
    data = _saved(wb)
    assert_no_formulas(data)
    ws = load_workbook(io.BytesIO(data)).active
    row = [c for c in next(ws.iter_rows(min_row=3, max_row=3))]
    by_column = {c.column: c for c in row}
    for index, value in enumerate(values, start=1):
        expected = storable_text(value)
        cell = by_column.get(index)
        if expected == "":
            assert cell is None or cell.value in (None, "")
            continue
        assert cell is not None and cell.value == expected, (value, cell and cell.value)
        assert cell.data_type == "s"
