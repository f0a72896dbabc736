"""Excel batch entry for units with many websites: a template made from the schema (empty, or
filled with the forms of the data folder: 导出到Excel), and its import.

The workbook has one row per website (one form) on 网站基本信息, then one sheet per table of the
schema whose rows are keyed by the website's 序号 (for the basic-info form: 栏目信息, see
``table_sheets`` for how a table's sheet is named), and a 填写说明 sheet. The workbook does not
name its form type: an import finds it from the headers (``detect_schema``). The last column of 网站基本信息, 内部标识, carries the form's
UUID, so that a sheet fixed in Excel and imported again updates the forms it made instead of
making a second form per website (FAQ §18: one form per website; the server overwrites by UUID).
A row without 内部标识 is matched by its website (``website_key`` of 首页网址) to a form that an
earlier Excel import made; a form typed in the editor is never overwritten that way.

Import checks every row before it writes anything. By default it is all or nothing: when any row
has a problem, every problem is listed row by row in Chinese and no form is written. The user may
instead import only the websites whose rows are all right (``only_valid``); the others are listed
with sheet, Excel row and what is wrong. Each form is written atomically by the store.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from app.forms.schema import NONE_VALUE, URL, FormSchema, is_valid_uuid4, website_key
from app.forms.xlsx import set_header, set_text
from filler.core.store import FormStore, StoredForm, StoreError
from filler.core.validation import parse_row_path

SITES_SHEET = "网站基本信息"
# The sheet of a table whose rows are 栏目（系统）, as the basic-info template has always called it;
# every table's sheet is named the same way from its own word for a row (``table_sheets``).
ROWS_SHEET = "栏目信息"
HELP_SHEET = "填写说明"
KEY_HEADER = "序号"
UUID_HEADER = "内部标识"
ROW_KEY_HEADER = "网站序号"
SHEET_NAME_MAX = 31  # Excel's limit
_SHEET_FORBIDDEN_RE = re.compile(r"[\\/?*\[\]:：]")
_PARENTHESES_RE = re.compile(r"（[^）]*）|\([^)]*\)")
TEMPLATE_ROWS = 500  # rows formatted as text and given drop-downs; more rows still import
EXCEL_ORIGIN = "excel"  # StoredForm.origin of a form an import made
UUID_GREY = "808080"

_DASHES_RE = re.compile(r"[\s\-－—–‐‑‒―﹣−_/／]")


class ExcelError(Exception):
    """The workbook as a whole cannot be used (Chinese message)."""


@dataclass
class RowError:
    sheet: str
    row: int
    message: str
    column: str = ""
    # The 序号 of the website the problem belongs to (that website is not imported), or None for a
    # row that belongs to no website of the sheet.
    site: Optional[str] = None

    def text(self) -> str:
        where = f"「{self.sheet}」第 {self.row} 行" if self.row else f"「{self.sheet}」"
        if self.column and self.column not in self.message:
            where += f"“{self.column}”列"
        return f"{where}：{self.message}"


@dataclass
class SheetSite:
    """One website of the sheet: its row, its document, and which form it becomes."""

    key: str
    row: int
    document: dict
    # The UUID of the form this row updates or creates; the document carries it too.
    target: str = ""
    exists: bool = False  # the target is a form of the data folder (update), else a new form


@dataclass
class ExcelImport:
    schema: Optional[FormSchema] = None  # the form type of the workbook
    sites: list = field(default_factory=list)
    errors: list = field(default_factory=list)
    saved: list = field(default_factory=list)  # UUIDs written to the store
    created: list = field(default_factory=list)
    updated: list = field(default_factory=list)
    unchanged: list = field(default_factory=list)  # matched a form that already says the same

    @property
    def ok(self) -> bool:
        return not self.errors

    def _bad_keys(self) -> set:
        return {e.site for e in self.errors if e.site is not None}

    @property
    def good_sites(self) -> list:
        bad = self._bad_keys()
        return [site for site in self.sites if site.key not in bad]

    @property
    def bad_sites(self) -> list:
        bad = self._bad_keys()
        return [site for site in self.sites if site.key in bad]

    def summary(self) -> str:
        parts = []
        for label, items in (("新建", self.created), ("更新", self.updated), ("内容未变", self.unchanged)):
            if items:
                parts.append(f"{label} {len(items)} 份")
        return "，".join(parts) or "没有导入表单"

    def report(self, imported: bool) -> str:
        """The row-by-row report the window shows and the user can copy or save."""
        if imported:
            lines = [f"已导入 {len(self.created) + len(self.updated) + len(self.unchanged)} 个网站（{self.summary()}）。"]
            bad = self.bad_sites
            if bad:
                lines.append(f"以下 {len(bad)} 个网站有问题，没有导入：" + "、".join(
                    f"序号 {site.key}（第 {site.row} 行）" for site in bad))
            lines.append(f"改正以下 {len(self.errors)} 处问题后可以再次导入同一个表格，已导入的网站会被更新而不会重复：")
        else:
            lines = [f"未导入任何表单。请改正以下 {len(self.errors)} 处问题后重新导入："]
        return "\n".join(lines + ["", self.problems()])

    def problems(self) -> str:
        """Every problem, numbered, one a line: sheet, Excel row, column, what is wrong."""
        return "\n".join(f"{i}. {e.text()}" for i, e in enumerate(self.errors, start=1))


def _slot_choices(table) -> list:
    return [(table, group, slot, table.slot_label(group, slot)) for group, slot in table.slots()]


def row_word(table) -> str:
    """What one row of the table is, short: 栏目（系统） → 栏目 (headers and sheet names)."""
    return _PARENTHESES_RE.sub("", table.item_label).strip() or table.item_label


def slot_header(table) -> str:
    """The header of the column that says which slot a row belongs to: 栏目类别."""
    return f"{row_word(table)}类别"


def _sheet_name(text: str) -> str:
    return _SHEET_FORBIDDEN_RE.sub("", text)[:SHEET_NAME_MAX]


def table_sheets(schema: FormSchema) -> list:
    """``(table, sheet name)`` for each table: "<row word>信息" (栏目信息), or the table's own
    label where two tables would share a name."""
    taken = {HELP_SHEET, SITES_SHEET}
    out = []
    for table in schema.tables:
        name = _sheet_name(f"{row_word(table)}信息")
        if name in taken:
            name = _sheet_name(table.label)
        number = 2
        while name in taken:
            name = _sheet_name(table.label)[:SHEET_NAME_MAX - 3] + f"（{number}）"
            number += 1
        taken.add(name)
        out.append((table, name))
    return out


def _row_headers(table) -> list:
    return [ROW_KEY_HEADER, slot_header(table)] + [c.label for c in table.columns]


def _url_field(schema: FormSchema):
    return next((f for f in schema.filler_fields() if f.kind == URL), None)


# --------------------------------------------------------------------------------------------
# Template (empty, or the forms of the data folder)


def write_template(schema: FormSchema, path, documents=()) -> Path:
    """The batch entry workbook; ``documents`` (each with its UUID) fill it, one website a row."""
    from openpyxl import Workbook

    documents = list(documents)
    wb = Workbook()
    help_ws = wb.active
    help_ws.title = HELP_SHEET
    slot_rows = _help_sheet(schema, help_ws)
    _sites_sheet(schema, wb.create_sheet(SITES_SHEET), documents)
    for table, sheet in table_sheets(schema):
        _rows_sheet(table, wb.create_sheet(sheet), documents, *slot_rows[table.name])
    wb.active = 1 if documents else 0
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def _help_sheet(schema: FormSchema, ws) -> dict:
    """填写说明; returns, per table, the rows that list its slots (its drop-down's source)."""
    from openpyxl.styles import Alignment, Font

    wrap = Alignment(wrap_text=True, vertical="top")
    sheets = table_sheets(schema)
    lines = [
        (f"{schema.label} 批量填写模板", ""),
        ("怎么填", f"每个网站在「{SITES_SHEET}」中填一行，“{KEY_HEADER}”写 1、2、3……（不能重复）。"),
    ]
    for table, sheet in sheets:
        word, none = row_word(table), table.column(table.none_column).label
        lines += [
            ("", f"每个网站的{table.item_label}在「{sheet}」中每个{word}填一行，“{ROW_KEY_HEADER}”写该网站的序号，"
                 f"“{slot_header(table)}”从下拉列表中选择。一个{slot_header(table)}可以填多行。"),
            ("", f'网站确无某类{word}时，该类填一行，{none}填写"{NONE_VALUE}"，其他各项填写"{NONE_VALUE}"或留空。'),
        ]
    lines += [
        ("", f'所有信息项均为必填项，如确无内容请填写"{NONE_VALUE}"。'),
        ("", "填好后在填报客户端点击“从Excel导入”。客户端逐行列出问题；可以改正后重新导入，"
             "也可以选择“只导入正确的行”。"),
        ("", f"“{UUID_HEADER}”（最后一列）由客户端填写，对应数据目录中的一份表单：请勿修改。新增网站时留空；"
             f"复制一行来填写另一个网站时，请清空这一格。"),
        ("", "同一个表格改正后再次导入，会更新上次导入的表单（按内部标识，或按首页网址），不会重复。"
             "“导出到Excel”可以把已有的表单导出为这个格式，修改后再导入。"),
        ("", "请勿修改表头，请勿删除或重命名工作表。"),
        ("", ""),
        ("信息项", "填写要求"),
    ]
    bold_rows = [len(lines)]
    for f in schema.filler_fields():
        lines.append((f.label, f.hint() + (f"。{f.help}" if f.help else "")))
    slot_rows = {}
    for table, sheet in sheets:
        lines.append(("", ""))
        lines.append((slot_header(table), f"「{sheet}」中可选的{slot_header(table)}（下拉列表的内容）"))
        bold_rows.append(len(lines))
        first = len(lines) + 1
        for _table, _group, _slot, label in _slot_choices(table):
            lines.append((label, ""))
        slot_rows[table.name] = (first, len(lines))
        for col in table.columns:
            lines.append((f"{row_word(table)}{col.label}", col.hint()))
    for r, (a, b) in enumerate(lines, start=1):
        set_text(ws.cell(row=r, column=1), a or None)
        set_text(ws.cell(row=r, column=2), b or None).alignment = wrap
    ws["A1"].font = Font(bold=True, size=14)
    for r in bold_rows:
        ws.cell(row=r, column=1).font = Font(bold=True)
        ws.cell(row=r, column=2).font = Font(bold=True)
    ws.column_dimensions["A"].width = 30
    ws.column_dimensions["B"].width = 100
    return slot_rows


def _choice_list(ws, field, cells: str) -> None:
    """A drop-down of the field's choices over ``cells`` (e.g. "C2:C501")."""
    from openpyxl.worksheet.datavalidation import DataValidation

    dv = DataValidation(type="list", formula1='"' + ",".join(field.choices) + '"', allow_blank=True)
    dv.error = f"{field.label}应为{field.hint()}"
    dv.add(cells)
    ws.add_data_validation(dv)


def _sites_sheet(schema: FormSchema, ws, documents: list) -> None:
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter

    fields = schema.filler_fields()
    last_row = max(TEMPLATE_ROWS, len(documents) + 100) + 1
    headers = [KEY_HEADER] + [f.label for f in fields] + [UUID_HEADER]
    uuid_column = len(headers)
    for c, label in enumerate(headers, start=1):
        cell = set_header(ws.cell(row=1, column=c), label)
        letter = get_column_letter(c)
        ws.column_dimensions[letter].width = 8 if c == 1 else max(14, min(40, len(label) * 2 + 6))
        # Text cells keep the 0 of 0571-… and the 11 digits of a mobile number as typed.
        if c > 1:
            for r in range(2, last_row + 1):
                ws.cell(row=r, column=c).number_format = "@"
        if c == uuid_column:
            # Grey, last and explained: a value the user leaves alone, yet an ordinary column,
            # so Excel, WPS and LibreOffice all keep it on save.
            cell.fill = PatternFill("solid", fgColor=UUID_GREY)
            cell.comment = Comment("客户端用它找到对应的表单，请勿修改。新增网站时留空；"
                                   "复制一行来填写另一个网站时请清空此格。", "填报客户端")
            ws.column_dimensions[letter].width = 40
        elif c > 1:
            f = fields[c - 2]
            cell.comment = Comment(f.hint() + (f"\n{f.help}" if f.help else ""), "填报客户端")
            if f.choices:  # a drop-down wherever the editor has one
                _choice_list(ws, f, f"{letter}2:{letter}{last_row}")
    grey = Font(color=UUID_GREY)
    for r, document in enumerate(documents, start=2):
        ws.cell(row=r, column=1, value=r - 1)
        values = document.get("fields") if isinstance(document.get("fields"), dict) else {}
        for c, f in enumerate(fields, start=2):
            value = values.get(f.name)
            set_text(ws.cell(row=r, column=c), value if value not in (None, "") else None)
        set_text(ws.cell(row=r, column=uuid_column), document.get("uuid")).font = grey
    ws.freeze_panes = "B2"


def _rows_sheet(table, ws, documents: list, first_slot_row: int, last_slot_row: int) -> None:
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    lines = []  # (site 序号, slot label, row)
    for key, document in enumerate(documents, start=1):
        value = document.get(table.name) if isinstance(document.get(table.name), dict) else {}
        for group, slot in table.slots():
            slot_rows = (value.get(group.key) or {}).get(slot.key) or []
            for row in slot_rows:
                if isinstance(row, dict) and any(str(v).strip() for v in row.values() if v is not None):
                    lines.append((key, table.slot_label(group, slot), row))
    last_row = max(TEMPLATE_ROWS * 4, len(lines) + 400) + 1
    widths = [10, 30, 30, 50]
    for c, label in enumerate(_row_headers(table), start=1):
        cell = set_header(ws.cell(row=1, column=c), label)
        letter = get_column_letter(c)
        ws.column_dimensions[letter].width = widths[c - 1] if c <= len(widths) else 30
        if c > 2:
            col = table.columns[c - 3]
            cell.comment = Comment(col.hint(), "填报客户端")
            for r in range(2, last_row + 1):
                ws.cell(row=r, column=c).number_format = "@"
            if col.choices:
                _choice_list(ws, col, f"{letter}2:{letter}{last_row}")
    dv = DataValidation(type="list", formula1=f"'{HELP_SHEET}'!$A${first_slot_row}:$A${last_slot_row}",
                        allow_blank=True)
    dv.error = f"请从下拉列表中选择{slot_header(table)}"
    dv.add(f"B2:B{last_row}")
    ws.add_data_validation(dv)
    for r, (key, label, row) in enumerate(lines, start=2):
        ws.cell(row=r, column=1, value=key)
        set_text(ws.cell(row=r, column=2), label)
        for c, col in enumerate(table.columns, start=3):
            value = row.get(col.name)
            set_text(ws.cell(row=r, column=c), value if value not in (None, "") else None)
    ws.freeze_panes = "A2"


def export_workbook(store: FormStore, path, uuids=None, form_type: Optional[str] = None) -> tuple:
    """导出到Excel: the forms of one type (``form_type``; else the type of the given forms, or
    the store's default type) in the batch entry workbook, each with its 内部标识, so that the
    sheet edited in Excel and imported again updates them. Returns (path, number of forms
    written, files that could not be read)."""
    wanted = set(uuids) if uuids is not None else None
    if form_type is None and wanted:
        types = {item.form_type for item in store.load_all()
                 if isinstance(item, StoredForm) and item.uuid in wanted}
        if len(types) > 1:
            raise ExcelError("所选表单属于不同的表：" + "、".join(store.schema_of(t).label for t in sorted(types))
                             + "。一个 Excel 表格只能包含一种表，请只选择同一种表的表单")
        form_type = next(iter(types), None)
    schema = store.schema_of(form_type)
    documents, broken = [], []
    for item in store.load_all(schema.name):
        if not isinstance(item, StoredForm):
            if wanted is None or item.path.stem in wanted:
                broken.append(item)
        elif wanted is None or item.uuid in wanted:
            documents.append(item.document)
    documents.sort(key=lambda d: (schema.title(d), d.get("uuid", "")))
    return write_template(schema, path, documents), len(documents), broken


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
    header or the header is absent (内部标识 in a template made before it existed)."""
    for r, values in enumerate(ws.iter_rows(min_row=2, values_only=True), start=2):
        values = list(values)
        if not any(_text(v) for v in values):
            continue

        def cell(label, values=values):
            i = positions.get(label)
            return values[i] if i is not None and i < len(values) else None

        yield r, cell


def _slot_key(label: str) -> str:
    return _DASHES_RE.sub("", label)


@dataclass
class FolderForm:
    uuid: str
    title: str
    website: Optional[str]  # website_key of its 首页网址
    from_excel: bool

    def name(self) -> str:
        return f"“{self.title or '（未填写网站名称）'}”（内部标识 {self.uuid}）"


class FolderIndex:
    """The data folder's forms as import matches them: by UUID and by website."""

    def __init__(self, forms=(), unreadable=()):
        self.by_uuid = {}
        self.by_website = {}
        self.unreadable = set(unreadable)  # UUIDs whose form file is damaged
        for form in forms:
            self.by_uuid[form.uuid] = form
            if form.website:
                self.by_website.setdefault(form.website, []).append(form)

    @classmethod
    def of(cls, store: FormStore, schema: Optional[FormSchema] = None) -> "FolderIndex":
        """The forms of ``schema``'s type (default: the store's default type): a form of another
        type is another form, even of the same website."""
        schema = schema or store.schema
        url_field = _url_field(schema)
        forms, unreadable = [], []
        for item in store.load_all(schema.name):
            if not isinstance(item, StoredForm):
                unreadable.append(item.path.stem)
                continue
            values = item.document.get("fields") if isinstance(item.document.get("fields"), dict) else {}
            url = values.get(url_field.name) if url_field else None
            forms.append(FolderForm(item.uuid, schema.title(item.document), website_key(url),
                                    item.origin == EXCEL_ORIGIN))
        return cls(forms, unreadable)


def _open_workbook(path):
    from openpyxl import load_workbook

    try:
        return load_workbook(Path(path), read_only=True, data_only=True)
    except FileNotFoundError as exc:
        raise ExcelError(f"找不到文件“{path}”") from exc
    except Exception as exc:  # openpyxl raises many types for a file that is not xlsx
        raise ExcelError(f"无法打开“{Path(path).name}”：它不是 Excel 2007 及以上版本的 .xlsx 文件，或已损坏"
                         f"（若是 .xls，请在 Excel 中另存为 .xlsx）") from exc


def _header(ws) -> set:
    row = next(ws.iter_rows(min_row=1, max_row=1, values_only=True), None) or ()
    return {_text(v) for v in row if _text(v)}


def detect_schema(path, schemas) -> FormSchema:
    """The form type a filled workbook is of: the one whose sheets and headers it has most of
    (the workbook names no type, so a template made by any version of the filler is
    recognised). With one schema, that one (a wrong workbook is then reported header by header
    on import)."""
    schemas = list(schemas)
    if len(schemas) == 1:
        return schemas[0]
    wb = _open_workbook(path)
    try:
        headers = {name: _header(wb[name]) for name in wb.sheetnames}
    finally:
        wb.close()

    def wanted(schema) -> dict:
        need = {SITES_SHEET: {KEY_HEADER} | {f.label for f in schema.filler_fields()}}
        for table, sheet in table_sheets(schema):
            need[sheet] = set(_row_headers(table))
        return need

    def share(schema) -> float:
        """How much of what the type's workbook has this one has (1.0: all of it)."""
        need = wanted(schema)
        found = sum(len(labels & headers.get(sheet, set())) for sheet, labels in need.items())
        return found / sum(len(labels) for labels in need.values())

    scores = [(share(schema), sum(len(labels) for labels in wanted(schema).values()), schema)
              for schema in schemas]
    # A type whose headers are a part of another's fits that one's workbook too: the one that
    # uses most of the workbook is meant. A workbook with a header or two edited is still
    # recognised, so that the import can name what is missing.
    best, _size, schema = max(scores, key=lambda item: item[:2])
    if best < 0.5:
        raise ExcelError(f"“{Path(path).name}”不是填报客户端的 Excel 模板，或它的表头被修改过：它不符合"
                         + "、".join(f"“{s.label}”" for s in schemas)
                         + "中任何一种表。请使用填报客户端“下载Excel模板”生成的模板")
    return schema


def read_workbook(schema: FormSchema, path, folder: Optional[FolderIndex] = None) -> ExcelImport:
    """Turn a filled template into documents matched to the data folder's forms, or row-by-row
    errors. Saves nothing."""
    result = ExcelImport(schema=schema)
    errors = result.errors
    wb = _open_workbook(path)
    try:
        sheets = table_sheets(schema)
        for sheet in [SITES_SHEET] + [name for _table, name in sheets]:
            if sheet not in wb.sheetnames:
                raise ExcelError(f"工作簿中没有工作表「{sheet}」，请使用填报客户端“下载Excel模板”生成的模板")
        fields = schema.filler_fields()
        sites_ws = wb[SITES_SHEET]
        site_cols = _header_map(sites_ws, [KEY_HEADER] + [f.label for f in fields], SITES_SHEET, errors)
        row_cols = {table.name: _header_map(wb[sheet], _row_headers(table), sheet, errors)
                    for table, sheet in sheets}
        if site_cols is None or None in row_cols.values():
            return result
        sites, uuids = _read_sites(schema, sites_ws, site_cols, errors)
        row_origin = {}
        for table, sheet in sheets:
            row_origin.update(_read_rows(table, sheet, wb[sheet], row_cols[table.name], sites, errors))
        _validate_and_match(schema, result, sites, uuids, row_origin, folder or FolderIndex())
        order = {name: i for i, name in enumerate([SITES_SHEET] + [name for _table, name in sheets])}
        errors.sort(key=lambda e: (order.get(e.sheet, len(order)), e.row))
        return result
    finally:
        wb.close()


def _read_sites(schema: FormSchema, ws, positions: dict, errors: list) -> tuple:
    """序号 → SheetSite (document not yet normalized), and 序号 → the 内部标识 typed in the row."""
    sites, uuids = {}, {}
    for r, cell in _data_rows(ws, positions):
        key = _text(cell(KEY_HEADER))
        if not key:
            errors.append(RowError(SITES_SHEET, r, f"请填写“{KEY_HEADER}”（1、2、3……），其他工作表用它对应网站",
                                   KEY_HEADER))
            continue
        if key in sites:
            # The table rows of this 序号 cannot be told apart: neither website is imported.
            errors.append(RowError(SITES_SHEET, r, f"序号 {key} 与第 {sites[key].row} 行重复，每个网站的序号应不同"
                                                   f"（这两行都没有导入）", KEY_HEADER, site=key))
            continue
        document = schema.new_document(blank_rows=0)
        for f in schema.filler_fields():
            value = cell(f.label)
            # Keep what Excel gives (numbers included): the schema's normalizer turns
            # 13812345678.0 into text the same way the server would.
            document["fields"][f.name] = "" if value is None else value
        sites[key] = SheetSite(key=key, row=r, document=document)
        uuids[key] = _text(cell(UUID_HEADER)).lower()
    return sites, uuids


def _read_rows(table, sheet: str, ws, positions: dict, sites: dict, errors: list) -> dict:
    """Append each row of one table's sheet to its website's document; returns where each row
    came from."""
    word, header = row_word(table), slot_header(table)
    choices = _slot_choices(table)
    slot_by_key = {_slot_key(label): (group, slot) for _t, group, slot, label in choices}
    only = (choices[0][1], choices[0][2]) if len(choices) == 1 else None
    row_origin = {}  # (site key, table, group, slot, index) → (sheet, excel row)
    for r, cell in _data_rows(ws, positions):
        key = _text(cell(ROW_KEY_HEADER))
        if not key:
            errors.append(RowError(sheet, r, f"请填写“{ROW_KEY_HEADER}”，即该{word}所属网站在「{SITES_SHEET}」中的序号",
                                   ROW_KEY_HEADER))
            continue
        if key not in sites:
            errors.append(RowError(sheet, r, f"网站序号 {key} 在「{SITES_SHEET}」中不存在", ROW_KEY_HEADER))
            continue
        label = _text(cell(header))
        # A table of one slot needs no choice: a blank cell means that slot.
        target = slot_by_key.get(_slot_key(label)) if label else only
        if target is None:
            what = f"“{label}”不是可选的{header}" if label else f"请填写“{header}”"
            errors.append(RowError(sheet, r, f"（网站序号 {key}）{what}，请从下拉列表中选择（可选项见「{HELP_SHEET}」）",
                                   header, site=key))
            continue
        group, slot = target
        slot_rows = sites[key].document[table.name][group.key][slot.key]
        slot_rows.append({c.name: ("" if cell(c.label) is None else cell(c.label)) for c in table.columns})
        row_origin[(key, table.name, group.key, slot.key, len(slot_rows) - 1)] = (sheet, r)
    return row_origin


def _validate_and_match(schema: FormSchema, result: ExcelImport, sites: dict, uuids: dict,
                        row_origin: dict, folder: FolderIndex) -> None:
    errors = result.errors
    url_field = _url_field(schema)
    url_label = url_field.label if url_field else "首页网址"
    seen_urls, seen_uuids, seen_targets = {}, {}, {}
    for key, site in sites.items():
        r = site.row
        site.document = schema.normalize(site.document)
        for error in schema.validate(site.document):
            errors.append(_map_error(schema, error, key, r, row_origin))
        website = website_key(site.document["fields"].get(url_field.name, "")) if url_field else None
        typed = uuids.get(key, "")
        told = False  # one message for one mistake: a copied row is not also "the same form twice"
        if website in seen_urls:
            errors.append(RowError(SITES_SHEET, r, f"{url_label}与第 {seen_urls[website]} 行相同；每个网站只需填写一份",
                                   url_label, site=key))
            told = True
        if typed in seen_uuids:
            errors.append(RowError(SITES_SHEET, r, f"内部标识与第 {seen_uuids[typed]} 行相同；复制一行来填写另一个网站时，"
                                                   f"请清空“{UUID_HEADER}”", UUID_HEADER, site=key))
            told = True
        if website:
            seen_urls.setdefault(website, r)
        if typed:
            seen_uuids.setdefault(typed, r)
        error = _match(site, typed, folder, folder.by_website.get(website, []) if website else [], url_label)
        if error:
            errors.append(error)
        elif site.target in seen_targets and not told:
            errors.append(RowError(SITES_SHEET, r, f"与第 {seen_targets[site.target]} 行对应同一份表单"
                                                   f"（内部标识 {site.target}）；每个网站只需填写一行",
                                   UUID_HEADER, site=key))
        seen_targets.setdefault(site.target, r)
        result.sites.append(site)


def _match(site: SheetSite, typed: str, folder: FolderIndex, same_website: list, url_label: str) -> Optional[RowError]:
    """Decide which form the row becomes (``site.target``, ``site.exists``); an error when the
    row cannot be matched safely."""
    def refuse(message, column):
        return RowError(SITES_SHEET, site.row, message, column, site=site.key)

    site.target = site.document["uuid"]  # a new form unless matched below
    if typed:
        if not is_valid_uuid4(typed):
            return refuse(f"内部标识“{typed}”不正确：它由客户端填写，请勿修改；新增的网站请留空", UUID_HEADER)
        if typed in folder.unreadable:
            return refuse(f"数据目录中内部标识为 {typed} 的表单文件已损坏，无法更新；请先在客户端中删除它，"
                          f"或从另一份副本恢复这个文件", UUID_HEADER)
        own = folder.by_uuid.get(typed)
        # A UUID unknown here (the sheet came from another computer) still names the form: it is
        # created under that UUID, so the server keeps updating the same record.
        site.target, site.exists = typed, own is not None
        site.document["uuid"] = typed
        clash = [f for f in same_website if f.uuid != typed]
        if clash:
            this = own.name() if own else f"内部标识 {typed}（数据目录中没有这份表单）"
            return refuse(f"本行的内部标识对应表单{this}，但{url_label}与数据目录中的另一份表单{clash[0].name()}相同；"
                          f"每个网站只需一份表单，请改正{url_label}，或删除其中一份表单", url_label)
        return None
    if not same_website:
        return None
    if len(same_website) == 1 and same_website[0].from_excel:
        site.target, site.exists = same_website[0].uuid, True
        site.document["uuid"] = site.target
        return None
    return refuse(f"数据目录中已有该网站的表单{same_website[0].name()}（{url_label}相同），它不是从 Excel 导入的，"
                  f"本行又没有内部标识；每个网站只需一份表单。请用“导出到Excel”得到带内部标识的表格后在其中修改，"
                  f"或在客户端中修改已有表单，或从 Excel 中删除此行", url_label)


def _map_error(schema: FormSchema, error, key: str, site_row: int, row_origin: dict) -> RowError:
    if error.path.startswith("fields."):
        return RowError(SITES_SHEET, site_row, error.message, error.label, site=key)
    parts = parse_row_path(error.path)
    if parts and parts["index"] is not None:
        origin = row_origin.get((key, parts["table"], parts["group"], parts["slot"], parts["index"]))
        if origin:
            sheet, row = origin
            # The schema counts rows within a slot ("第 2 行"); in Excel the sheet row is what
            # the user can find, so say which website and drop the slot-relative numbering.
            message = re.sub(r"第 \d+ 行", "", error.message, count=1)
            column = ""
            if parts["column"]:
                column = schema.table(parts["table"]).column(parts["column"]).label  # the sheet's header
            return RowError(sheet, row, f"（网站序号 {key}）{message}", column, site=key)
    if parts:
        message = error.message
        if error.code == "rows":
            table = schema.table(parts["table"])
            sheet = dict((t.name, name) for t, name in table_sheets(schema))[table.name]
            message = (f"序号 {key} 的网站没有填写“{error.label}”；请在「{sheet}」中添加，"
                       f'确无此类{row_word(table)}时{table.column(table.none_column).label}填写"{NONE_VALUE}"')
        return RowError(SITES_SHEET, site_row, message, site=key)  # the message names the slot
    return RowError(SITES_SHEET, site_row, error.message, error.label, site=key)


def plan_import(store: FormStore, path, form_type: Optional[str] = None) -> ExcelImport:
    """Read the workbook (of ``form_type``, or of the type its headers show) against the data
    folder's forms of that type: each website matched to the form it becomes, every problem
    listed. Writes nothing."""
    schema = store.schema_of(form_type) if form_type else detect_schema(path, store.schemas.values())
    result = read_workbook(schema, path, FolderIndex.of(store, schema))
    if not result.sites and not result.errors:
        result.errors.append(RowError(SITES_SHEET, 0, "没有找到要导入的网站，请在第 2 行起每行填写一个网站"))
    return result


def save_import(store: FormStore, result: ExcelImport, only_valid: bool = False) -> ExcelImport:
    """Save the planned websites: all of them when every row is right; with ``only_valid``, the
    websites whose rows are all right even when others are not.

    A row matched to a form of the data folder replaces that form's document (its UUID kept);
    a form whose content is already what the sheet says is left alone (its revision, and with it
    its 已生成 state, unchanged). Each form is one atomic write; a failed write stops the import
    and is reported, the forms written before it stay complete."""
    if result.errors and not only_valid:
        return result
    sites = result.good_sites
    if not sites:
        return result
    store.ensure()
    for position, site in enumerate(sites):
        try:
            _save_site(store, site, result)
        except StoreError as exc:
            result.errors.append(RowError(SITES_SHEET, site.row, f"没有保存：{exc}", site=site.key))
            for rest in sites[position + 1:]:
                result.errors.append(RowError(SITES_SHEET, rest.row, f"没有保存：第 {site.row} 行保存失败后导入已停止",
                                              site=rest.key))
            break
    return result


def import_workbook(store: FormStore, path, only_valid: bool = False,
                    form_type: Optional[str] = None) -> ExcelImport:
    """Read the workbook and save one form per website (see ``save_import``)."""
    return save_import(store, plan_import(store, path, form_type), only_valid)


def _save_site(store: FormStore, site: SheetSite, result: ExcelImport) -> None:
    if not site.exists:
        stored = store.add_document(site.document, origin=EXCEL_ORIGIN, form_type=result.schema.name)
        result.created.append(stored.uuid)
        result.saved.append(stored.uuid)
        return
    stored = store.load(site.target)
    if result.schema.normalize(stored.document) == site.document:
        result.unchanged.append(stored.uuid)
        return
    stored.document = site.document
    store.save(stored)
    result.updated.append(stored.uuid)
    result.saved.append(stored.uuid)
