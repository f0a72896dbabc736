"""导出上报表: the forms a unit sees under its current query, as a formatted .xlsx.

Constant memory at national scale: the rows come from the database in batches (``yield_per``) as
plain tuples (no ORM objects), openpyxl's write-only mode (with lxml) keeps each sheet in a
temporary file rather than in memory, and the finished workbook is spooled to disk above a few
MB and handed to the client in chunks. 100,000 forms never sit in memory at once.

The caller passes the SAME filtered, ordered query the list page used (FAB filters with the org
scope as a base filter), so the export shows exactly what the unit searched for.

The report is handed upward on paper, signed and stamped: each sheet prints landscape, fitted to
one page's width, with its title and header rows repeated on every page; row 1 names the unit
and the date, row 2 is the header, the data starts on row 3, and the last sheet of each table
ends, after one blank row, with the 填报单位（盖章）/ 负责人 / 日期 line. Column widths are
measured from the header and the first rows (``RollingSheet`` with widths left to ``None``).
"""
import datetime
import tempfile

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.orm import aliased

from app import audit
from app.forms.xlsx import EXCEL_MAX_ROWS, SPOOL_BYTES, RollingSheet
from app.orgs.models import Org
from app.xlsx import xlsx_response
from plugins.basic_info.commands import OBJECT_TYPE
from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm
from plugins.basic_info.schema import COLUMNS_TABLE, SCHEMA
from plugins.basic_info.workflow import status_case

BATCH = 2000

# The list page's workflow columns, then the schema's list fields, then every other field: one
# definition (the schema) decides the rest of the sheet.
WORKFLOW_HEADERS = (("seq", "序号"), ("importer", "填报人"), ("updated_at", "时间"),
                    ("status", "状态"), ("site_code", "网站标识码"))
ROW_HEADERS = ("网站名称", "网站标识码", "分类", "栏目", "名称", "地址")
REPORT_TITLE = "政府网站基本信息上报表"
# Filled in by hand on the printed report.
SIGNATURE_PARTS = ("填报单位（盖章）：________________", "负责人：____________",
                   "日期：______年____月____日")


def sheet_fields():
    """Schema fields in sheet order: the list fields first (as on the list page), then the rest."""
    listed = SCHEMA.export_columns()
    names = {f.name for f in listed}
    return listed + [f for f in SCHEMA.export_columns(full=True) if f.name not in names]


def signature_row(columns):
    """The 填报单位（盖章）/ 负责人 / 日期 line, its three parts spread over ``columns`` cells."""
    row = [None] * max(columns, len(SIGNATURE_PARTS))
    step = max(1, columns // len(SIGNATURE_PARTS))
    for index, part in enumerate(SIGNATURE_PARTS):
        row[index * step] = part
    return row


def report_title(what, unit_name=None, day=None):
    """Row 1 of a sheet: "杭州市 政府网站基本信息上报表 2026-12-01"."""
    day = day or datetime.date.today()
    return f"{unit_name or '全国'} {what} {day:%Y-%m-%d}"


def _fmt_time(value):
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime.datetime) else value


def _slot_labels():
    return {(g.key, s.key): (g.label, s.label) for g, s in COLUMNS_TABLE.slots()}


def write_report(session, query, viewer_path, order=("updated_at", "desc"), unit_name=None,
                 out=None, max_rows=EXCEL_MAX_ROWS):
    """Write the report of ``query`` (a FAB-filtered ``Query`` over BasicInfoForm) into ``out``
    (default: a new spooled temporary file), rewound; returns ``(file, form_count)``.

    ``viewer_path`` decides the 状态 column (the status is derived from where the viewer stands);
    ``order`` is the list's (column, direction), used again to keep sheet 2 in sheet 1's order;
    ``unit_name`` is the exporting unit, named in each sheet's title (None: 全国).
    """
    out = out if out is not None else tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    fields = sheet_fields()
    importer = aliased(Org)
    status = status_case(BasicInfoForm, viewer_path).label("status")
    field_cols = [getattr(BasicInfoForm, f.name) for f in fields]
    rows_query = (query.outerjoin(importer, importer.id == BasicInfoForm.importer_id)
                  .with_entities(importer.name, BasicInfoForm.updated_at, status,
                                 BasicInfoForm.site_code, *field_cols)
                  .execution_options(yield_per=BATCH))

    wb = Workbook(write_only=True)
    headers = [(label, None) for _, label in WORKFLOW_HEADERS] + [(f.label, None) for f in fields]
    ws = RollingSheet(wb, "政府网站基本信息表", report_title(REPORT_TITLE, unit_name), headers,
                      max_rows, printable=True)
    count = 0
    for count, row in enumerate(rows_query, start=1):
        ws.append([count, row[0], _fmt_time(row[1]), *row[2:]])
    ws.finish([signature_row(len(headers))])

    ws2 = RollingSheet(wb, "栏目（系统）基本信息表", report_title(COLUMNS_TABLE.label, unit_name),
                       [(label, None) for label in ROW_HEADERS], max_rows, printable=True)
    labels = _slot_labels()
    for group, slot, site_name, site_code, name, address in _column_rows(session, query, order):
        group_label, slot_label = labels.get((group, slot), (group, slot))
        ws2.append([site_name, site_code, group_label, slot_label, name, address])
    ws2.finish([signature_row(len(ROW_HEADERS))])
    wb.save(out)
    out.seek(0)
    return out, count


def _column_rows(session, query, order):
    """Sheet 2's rows for the forms of ``query``, grouped per form in sheet 1's order."""
    order_name, direction = order or ("updated_at", "desc")
    order_attr = getattr(BasicInfoForm, order_name, None)
    if order_attr is None or not hasattr(order_attr, "property"):
        order_name, order_attr, direction = "id", BasicInfoForm.id, "desc"
    forms = (query.order_by(None)
             .with_entities(BasicInfoForm.id.label("fid"), BasicInfoForm.site_name.label("fname"),
                            BasicInfoForm.site_code.label("fcode"), order_attr.label("fsort"))
             .subquery())
    row = BasicInfoColumnRow
    sort = forms.c.fsort.desc() if direction == "desc" else forms.c.fsort.asc()
    fid = forms.c.fid.desc() if direction == "desc" else forms.c.fid.asc()
    stmt = (select(row.group, row.slot, forms.c.fname, forms.c.fcode, row.name, row.address)
            .join(forms, forms.c.fid == row.form_id)
            .order_by(sort, fid, row.id)
            .execution_options(yield_per=BATCH))
    yield from session.execute(stmt)


def report_filename(org=None):
    who = org.name if org is not None else "全国"
    return f"政府网站基本信息上报表_{who}_{datetime.datetime.now():%Y%m%d%H%M}.xlsx"


def download_report(session, actor, org, query, order):
    """The 导出上报表 download of ``org``'s viewer ``actor``: the workbook as a streamed response,
    and one ``download`` audit row (committed before the file is sent)."""
    fh, count = write_report(session, query, org.path if org is not None else None, order=order,
                             unit_name=org.name if org is not None else None)
    filename = report_filename(org)
    audit.record(session, "download", OBJECT_TYPE, None, actor=actor,
                 org_id=getattr(org, "id", None),
                 detail={"file": filename, "forms": count})
    session.commit()
    return xlsx_response(fh, filename)
