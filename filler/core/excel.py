"""Excel batch entry for units with many websites: a template made from the schema, and its import.

The template has one row per website on 网站基本信息, the column rows on 栏目信息 keyed by the
website's 序号, and a 填写说明 sheet. Import is all or nothing: when any row has a problem, every
problem is listed row by row in Chinese and no form is created, so fixing the sheet and importing
again can never leave half the websites in the data folder twice (FAQ §18: one form per website).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from app.forms.schema import CHOICE, NONE_VALUE, FormSchema, website_key
from app.forms.xlsx import set_header, set_text
from filler.core.store import FormStore, StoreError
from filler.core.validation import parse_row_path

SITES_SHEET = "网站基本信息"
ROWS_SHEET = "栏目信息"
HELP_SHEET = "填写说明"
KEY_HEADER = "序号"
ROW_KEY_HEADER = "网站序号"
SLOT_HEADER = "栏目类别"
TEMPLATE_ROWS = 500  # rows formatted as text and given drop-downs; more rows still import

_DASHES_RE = re.compile(r"[\s\-－—–‐‑‒―﹣−_/／]")


class ExcelError(Exception):
    """The workbook as a whole cannot be used (Chinese message)."""


@dataclass
class RowError:
    sheet: str
    row: int
    message: str
    column: str = ""

    def text(self) -> str:
        where = f"「{self.sheet}」第 {self.row} 行" if self.row else f"「{self.sheet}」"
        return f"{where}：{self.message}"


@dataclass
class ExcelImport:
    documents: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    saved: list = field(default_factory=list)  # UUIDs written to the store

    @property
    def ok(self) -> bool:
        return not self.errors


# --------------------------------------------------------------------------------------------
# Template


def _slot_choices(schema: FormSchema) -> list:
    out = []
    for table in schema.tables:
        for group, slot in table.slots():
            out.append((table, group, slot, table.slot_label(group, slot)))
    return out


def write_template(schema: FormSchema, path) -> Path:
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    wrap = Alignment(wrap_text=True, vertical="top")
    fields = schema.filler_fields()
    slots = _slot_choices(schema)

    wb = Workbook()
    help_ws = wb.active
    help_ws.title = HELP_SHEET
    sites = wb.create_sheet(SITES_SHEET)
    rows_ws = wb.create_sheet(ROWS_SHEET)

    # -- 填写说明 -----------------------------------------------------------------------------
    lines = [
        (f"{schema.label} 批量填写模板", ""),
        ("怎么填", f"每个网站在「{SITES_SHEET}」中填一行，“{KEY_HEADER}”写 1、2、3……（不能重复）。"),
        ("", f"每个网站的栏目（系统）在「{ROWS_SHEET}」中每个栏目填一行，“{ROW_KEY_HEADER}”写该网站的序号，"
             f"“{SLOT_HEADER}”从下拉列表中选择。一个栏目类别可以填多行。"),
        ("", f'所有信息项均为必填项，如确无内容请填写"{NONE_VALUE}"；网站确无某类栏目时，'
             f'该类填一行，名称填写"{NONE_VALUE}"，地址填写"{NONE_VALUE}"或留空。'),
        ("", "填好后在填报客户端点击“从Excel导入”。有任何错误时不会导入，客户端会逐行列出问题，改正后重新导入即可。"),
        ("", "导入后每个网站成为一份表单，可以在客户端中继续修改，然后“生成文件”。"),
        ("", "请勿修改表头，请勿删除或重命名工作表。"),
        ("", ""),
        ("信息项", "填写要求"),
    ]
    for f in fields:
        lines.append((f.label, f.hint() + (f"。{f.help}" if f.help else "")))
    lines.append(("", ""))
    lines.append((SLOT_HEADER, "可选的栏目类别（下拉列表的内容）"))
    first_slot_row = len(lines) + 1
    for _table, _group, _slot, label in slots:
        lines.append((label, ""))
    last_slot_row = len(lines)
    for table in schema.tables:
        for col in table.columns:
            lines.append((f"栏目{col.label}", col.hint()))
    for r, (a, b) in enumerate(lines, start=1):
        set_text(help_ws.cell(row=r, column=1), a or None)
        cell = set_text(help_ws.cell(row=r, column=2), b or None)
        cell.alignment = wrap
    help_ws["A1"].font = Font(bold=True, size=14)
    for r in (9, first_slot_row - 1):
        help_ws.cell(row=r, column=1).font = Font(bold=True)
        help_ws.cell(row=r, column=2).font = Font(bold=True)
    help_ws.column_dimensions["A"].width = 30
    help_ws.column_dimensions["B"].width = 100

    # -- 网站基本信息 -------------------------------------------------------------------------
    headers = [KEY_HEADER] + [f.label for f in fields]
    for c, label in enumerate(headers, start=1):
        cell = set_header(sites.cell(row=1, column=c), label)
        letter = get_column_letter(c)
        sites.column_dimensions[letter].width = 8 if c == 1 else max(14, min(40, len(label) * 2 + 6))
        if c > 1:
            f = fields[c - 2]
            cell.comment = Comment(f.hint() + (f"\n{f.help}" if f.help else ""), "填报客户端")
            # Text cells keep the 0 of 0571-… and the 11 digits of a mobile number as typed.
            for r in range(2, TEMPLATE_ROWS + 2):
                sites.cell(row=r, column=c).number_format = "@"
            if f.kind == CHOICE:
                dv = DataValidation(type="list", formula1='"' + ",".join(f.choices) + '"', allow_blank=True)
                dv.error = f"{f.label}应为{f.hint()}"
                dv.add(f"{letter}2:{letter}{TEMPLATE_ROWS + 1}")
                sites.add_data_validation(dv)
    sites.freeze_panes = "B2"

    # -- 栏目信息 -----------------------------------------------------------------------------
    table = schema.tables[0] if schema.tables else None
    row_headers = [ROW_KEY_HEADER, SLOT_HEADER] + ([c.label for c in table.columns] if table else [])
    widths = [10, 30, 30, 50]
    for c, label in enumerate(row_headers, start=1):
        cell = set_header(rows_ws.cell(row=1, column=c), label)
        rows_ws.column_dimensions[get_column_letter(c)].width = widths[c - 1] if c <= len(widths) else 30
        if c > 2:
            col = table.columns[c - 3]
            cell.comment = Comment(col.hint(), "填报客户端")
            for r in range(2, TEMPLATE_ROWS * 4 + 2):
                rows_ws.cell(row=r, column=c).number_format = "@"
    dv = DataValidation(type="list", formula1=f"'{HELP_SHEET}'!$A${first_slot_row}:$A${last_slot_row}",
                        allow_blank=True)
    dv.error = "请从下拉列表中选择栏目类别"
    dv.add(f"B2:B{TEMPLATE_ROWS * 4 + 1}")
    rows_ws.add_data_validation(dv)
    rows_ws.freeze_panes = "A2"

    wb.active = 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


# --------------------------------------------------------------------------------------------
# Import


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _header_map(ws, required: list, sheet: str, errors: list) -> Optional[dict]:
    rows = ws.iter_rows(min_row=1, max_row=1, values_only=True)
    header = next(rows, None) or ()
    positions = {}
    for index, value in enumerate(header):
        label = _text(value)
        if label and label not in positions:
            positions[label] = index
    missing = [label for label in required if label not in positions]
    if missing:
        errors.append(RowError(sheet, 1, "缺少表头“" + "”“".join(missing) + "”，请使用填报客户端生成的模板，不要修改表头"))
        return None
    return positions


def _data_rows(ws, positions: dict):
    """Each row below the header that is not blank, as (its Excel row number, ``cell``):
    ``cell(label)`` is the value under that header, None where the row has fewer cells than the
    header."""
    for r, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        values = list(values)
        if not any(_text(v) for v in values):
            continue

        def cell(label, values=values):
            i = positions[label]
            return values[i] if i < len(values) else None

        yield r, cell


def _slot_key(label: str) -> str:
    return _DASHES_RE.sub("", label)


def read_workbook(schema: FormSchema, path, existing_urls: Optional[dict] = None) -> ExcelImport:
    """Turn a filled template into documents, or row-by-row errors. Saves nothing."""
    from openpyxl import load_workbook

    result = ExcelImport()
    errors = result.errors
    try:
        wb = load_workbook(Path(path), read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise ExcelError(f"找不到文件“{path}”") from exc
    except Exception as exc:  # openpyxl raises many types for a file that is not xlsx
        raise ExcelError(f"无法打开“{Path(path).name}”：它不是 Excel 2007 及以上版本的 .xlsx 文件，或已损坏"
                         f"（若是 .xls，请在 Excel 中另存为 .xlsx）") from exc
    try:
        for sheet in (SITES_SHEET, ROWS_SHEET):
            if sheet not in wb.sheetnames:
                raise ExcelError(f"工作簿中没有工作表「{sheet}」，请使用填报客户端“下载Excel模板”生成的模板")
        fields = schema.filler_fields()
        table = schema.tables[0] if schema.tables else None
        sites_ws, rows_ws = wb[SITES_SHEET], wb[ROWS_SHEET]
        site_cols = _header_map(sites_ws, [KEY_HEADER] + [f.label for f in fields], SITES_SHEET, errors)
        row_cols = _header_map(rows_ws, [ROW_KEY_HEADER, SLOT_HEADER] + ([c.label for c in table.columns] if table else []),
                               ROWS_SHEET, errors)
        if site_cols is None or row_cols is None:
            return result

        # -- websites -------------------------------------------------------------------------
        sites = {}  # 序号 → (excel row, document)
        order = []
        for r, cell in _data_rows(sites_ws, site_cols):
            key = _text(cell(KEY_HEADER))
            if not key:
                errors.append(RowError(SITES_SHEET, r, f"请填写“{KEY_HEADER}”（1、2、3……），「{ROWS_SHEET}」用它对应网站"))
                continue
            if key in sites:
                errors.append(RowError(SITES_SHEET, r, f"序号 {key} 与第 {sites[key][0]} 行重复，每个网站的序号应不同"))
                continue
            document = schema.new_document(blank_rows=0)
            for f in fields:
                value = cell(f.label)
                # Keep what Excel gives (numbers included): the schema's normalizer turns
                # 13812345678.0 into text the same way the server would.
                document["fields"][f.name] = "" if value is None else value
            sites[key] = (r, document)
            order.append(key)

        # -- column rows ----------------------------------------------------------------------
        slot_by_key = {}
        for t, group, slot, label in _slot_choices(schema):
            slot_by_key[_slot_key(label)] = (t, group, slot)
        row_origin = {}  # (site key, table, group, slot, index) → excel row
        for r, cell in _data_rows(rows_ws, row_cols):
            key = _text(cell(ROW_KEY_HEADER))
            if not key:
                errors.append(RowError(ROWS_SHEET, r, f"请填写“{ROW_KEY_HEADER}”，即该栏目所属网站在「{SITES_SHEET}」中的序号"))
                continue
            if key not in sites:
                errors.append(RowError(ROWS_SHEET, r, f"网站序号 {key} 在「{SITES_SHEET}」中不存在"))
                continue
            label = _text(cell(SLOT_HEADER))
            target = slot_by_key.get(_slot_key(label)) if label else None
            if target is None:
                what = f"“{label}”不是可选的栏目类别" if label else f"请填写“{SLOT_HEADER}”"
                errors.append(RowError(ROWS_SHEET, r, f"{what}，请从下拉列表中选择（可选项见「{HELP_SHEET}」）"))
                continue
            t, group, slot = target
            document = sites[key][1]
            slot_rows = document[t.name][group.key][slot.key]
            slot_rows.append({c.name: ("" if cell(c.label) is None else cell(c.label)) for c in t.columns})
            row_origin[(key, t.name, group.key, slot.key, len(slot_rows) - 1)] = r

        # -- validation, mapped back to rows --------------------------------------------------
        url_field = next((f for f in fields if f.kind == "url"), None)
        seen_urls = {}
        for key in order:
            r, document = sites[key]
            normalized = schema.normalize(document)
            for error in schema.validate(normalized):
                errors.append(_map_error(error, key, r, row_origin))
            if url_field:
                url = normalized["fields"].get(url_field.name, "")
                canonical = website_key(url)
                if canonical:
                    if canonical in seen_urls:
                        errors.append(RowError(SITES_SHEET, r, f"{url_field.label}与第 {seen_urls[canonical]} 行相同；每个网站只需填写一份"))
                    elif existing_urls and canonical in existing_urls:
                        errors.append(RowError(
                            SITES_SHEET, r,
                            f"数据目录中已有该网站的表单“{existing_urls[canonical]}”（{url_field.label}相同）；"
                            f"每个网站只需一份表单，请在客户端中修改已有表单，或从 Excel 中删除此行"))
                    seen_urls[canonical] = r
            result.documents.append(normalized)
        errors.sort(key=lambda e: (0 if e.sheet == SITES_SHEET else 1, e.row))
        return result
    finally:
        wb.close()


def _map_error(error, key: str, site_row: int, row_origin: dict) -> RowError:
    if error.path.startswith("fields."):
        return RowError(SITES_SHEET, site_row, error.message, error.label)
    parts = parse_row_path(error.path)
    if parts and parts["index"] is not None:
        origin = row_origin.get((key, parts["table"], parts["group"], parts["slot"], parts["index"]))
        if origin:
            # The schema counts rows within a slot ("第 2 行"); in Excel the sheet row is what
            # the user can find, so say which website and drop the slot-relative numbering.
            message = re.sub(r"第 \d+ 行", "", error.message, count=1)
            return RowError(ROWS_SHEET, origin, f"（网站序号 {key}）{message}", error.label)
    if parts:
        message = error.message
        if error.code == "rows":
            message = (f"序号 {key} 的网站没有填写“{error.label}”；请在「{ROWS_SHEET}」中添加，"
                       f'确无此类栏目时名称填写"{NONE_VALUE}"')
        return RowError(SITES_SHEET, site_row, message, error.label)
    return RowError(SITES_SHEET, site_row, error.message, error.label)


def import_workbook(store: FormStore, path) -> ExcelImport:
    """Read the workbook and, only when every row is right, save one form per website."""
    existing = {}
    url_field = next((f for f in store.schema.filler_fields() if f.kind == "url"), None)
    if url_field:
        for item in store.load_all():
            document = getattr(item, "document", None)
            if not document:
                continue
            url = document.get("fields", {}).get(url_field.name)
            key = website_key(url)
            if key:
                existing[key] = store.schema.title(document) or url
    result = read_workbook(store.schema, path, existing_urls=existing)
    if result.errors:
        return result
    if not result.documents:
        result.errors.append(RowError(SITES_SHEET, 0, "没有找到要导入的网站，请在第 2 行起每行填写一个网站"))
        return result
    store.ensure()
    for document in result.documents:
        try:
            stored = store.add_document(document)
        except StoreError as exc:
            result.errors.append(RowError(SITES_SHEET, 0, str(exc)))
            break
        result.saved.append(stored.uuid)
    return result
