"""导出上报表 of any form type: the forms a unit sees under its current query, as a formatted .xlsx.

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

from sqlalchemy import literal

from app import audit
from app.forms.xlsx import EXCEL_MAX_ROWS, SPOOL_BYTES, RollingSheet
from app.orgs.models import Org
from app.xlsx import xlsx_response

BATCH = 2000

# The list page's workflow columns (and the type's code column), then the schema's list fields,
# then every other field: one definition (the schema) decides the rest of the sheet.
WORKFLOW_HEADERS = ("序号", "填报人", "时间", "状态")
# Sheet 2 names each row's form and where in the table it sits, then the table's columns.
ROW_PLACE_HEADERS = ("分类", "栏目")
# Filled in by hand on the printed report.
SIGNATURE_PARTS = ("填报单位（盖章）：________________", "负责人：____________",
                   "日期：______年____月____日")


def sheet_fields(schema):
    """Schema fields in sheet order: the list fields first (as on the list page), then the rest."""
    listed = schema.export_columns()
    names = {f.name for f in listed}
    return listed + [f for f in schema.export_columns(full=True) if f.name not in names]


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


def _slot_labels(table):
    return {(g.key, s.key): (g.label, s.label) for g, s in table.slots()}


def report_title_of(ft):
    return ft.report_title or f"{ft.title}上报表"


def write_report(session, ft, query, viewer_path, order=("updated_at", "desc"), unit_name=None,
                 out=None, max_rows=EXCEL_MAX_ROWS):
    """Write the report of ``query`` (a FAB-filtered ``Query`` over ``ft.model``) into ``out``
    (default: a new spooled temporary file), rewound; returns ``(file, form_count)``.

    ``viewer_path`` decides the 状态 column (the status is derived from where the viewer stands);
    ``order`` is the list's (column, direction), used again to keep sheet 2 in sheet 1's order;
    ``unit_name`` is the exporting unit, named in each sheet's title (None: 全国).
    """
    out = out if out is not None else tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    model, schema, table = ft.model, ft.schema, ft.table
    fields = sheet_fields(schema)
    importer = aliased(Org)
    status_view = ft.workflow.status
    status = (status_view.sql(model, viewer_path) if status_view is not None
              else model.stage).label("status")
    code = [getattr(model, ft.code_column)] if ft.code_column else []
    field_cols = [getattr(model, f.name) for f in fields]
    rows_query = (query.outerjoin(importer, importer.id == model.importer_id)
                  .with_entities(importer.name, model.updated_at, status, *code, *field_cols)
                  .execution_options(yield_per=BATCH))

    wb = Workbook(write_only=True)
    code_header = [str(ft.code_label)] if ft.code_column else []
    headers = [(label, None) for label in (*WORKFLOW_HEADERS, *code_header)] + [
        (f.label, None) for f in fields]
    ws = RollingSheet(wb, ft.title, report_title(report_title_of(ft), unit_name), headers,
                      max_rows, printable=True)
    count = 0
    for count, row in enumerate(rows_query, start=1):
        ws.append([count, row[0], _fmt_time(row[1]), *row[2:]])
    ws.finish([signature_row(len(headers))])

    if table is not None and ft.row_model is not None:
        title_label = schema.field(ft.title_name).label if ft.title_name else "表单"
        row_headers = (title_label, *code_header, *ROW_PLACE_HEADERS,
                       *(c.label for c in table.columns))
        ws2 = RollingSheet(wb, table.label, report_title(table.label, unit_name),
                           [(label, None) for label in row_headers], max_rows, printable=True)
        labels = _slot_labels(table)
        width = 1 + len(code_header)
        for row in _column_rows(session, ft, query, order):
            group, slot = row[0], row[1]
            group_label, slot_label = labels.get((group, slot), (group, slot))
            ws2.append([*row[2:2 + width], group_label, slot_label, *row[2 + width:]])
        ws2.finish([signature_row(len(row_headers))])
    wb.save(out)
    out.seek(0)
    return out, count


def _column_rows(session, ft, query, order):
    """Sheet 2's rows for the forms of ``query``, grouped per form in sheet 1's order:
    (group, slot, title, [code], *columns)."""
    model, row = ft.model, ft.row_model
    order_name, direction = order or ("updated_at", "desc")
    order_attr = getattr(model, order_name, None)
    if order_attr is None or not hasattr(order_attr, "property"):
        order_name, order_attr, direction = "id", model.id, "desc"
    title = getattr(model, ft.title_name) if ft.title_name else model.uuid
    code = getattr(model, ft.code_column) if ft.code_column else literal(None)
    forms = (query.order_by(None)
             .with_entities(model.id.label("fid"), title.label("fname"), code.label("fcode"),
                            order_attr.label("fsort"))
             .subquery())
    sort = forms.c.fsort.desc() if direction == "desc" else forms.c.fsort.asc()
    fid = forms.c.fid.desc() if direction == "desc" else forms.c.fid.asc()
    codes = [forms.c.fcode] if ft.code_column else []
    stmt = (select(row.group, row.slot, forms.c.fname, *codes,
                   *(getattr(row, c.name) for c in ft.table.columns))
            .join(forms, forms.c.fid == row.form_id)
            .order_by(sort, fid, row.id)
            .execution_options(yield_per=BATCH))
    yield from session.execute(stmt)


def report_filename(ft, org=None):
    who = org.name if org is not None else "全国"
    return f"{report_title_of(ft)}_{who}_{datetime.datetime.now():%Y%m%d%H%M}.xlsx"


def download_report(session, ft, actor, org, query, order):
    """The 导出上报表 download of ``org``'s viewer ``actor``: the workbook as a streamed response,
    and one ``download`` audit row (committed before the file is sent)."""
    fh, count = write_report(session, ft, query, org.path if org is not None else None,
                             order=order, unit_name=org.name if org is not None else None)
    filename = report_filename(ft, org)
    audit.record(session, "download", ft.object_type, None, actor=actor,
                 org_id=getattr(org, "id", None),
                 detail={"file": filename, "forms": count})
    session.commit()
    return xlsx_response(fh, filename)
