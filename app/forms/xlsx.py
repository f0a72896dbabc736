"""The one safe cell writer: every workbook the system writes (reports, account tables, the
filler's template, the audit export) puts its values into cells through this module.

User text always stays text. openpyxl turns any string that begins with ``=`` into a live formula
(``<f>``) and a string such as ``#N/A`` into an error value; Excel and other spreadsheet programs
would act on ``=HYPERLINK(...)`` or ``=cmd|' /C calc'!A0`` typed into a form. A string that
begins with one of ``= + - @``, a tab, a carriage return or ``#`` is therefore written as an
explicit string cell (an inline string, ``t="inlineStr"``): no formula element, no quote prepended,
the cell reads exactly as typed. Characters that an xlsx file cannot hold at all (C0 controls
other than tab, newline and carriage return, lone surrogates, U+FFFE and U+FFFF) are replaced by
U+FFFD, so one stray character in an audit row cannot break a whole export.

Flask-free on purpose (like the rest of ``app.forms``): the desktop filler imports it too. The web
response around a finished file lives in ``app.xlsx``.
"""
from __future__ import annotations

import re
import unicodedata
from typing import Iterable, Iterator, Optional

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

# Excel opens at most 1,048,576 rows per sheet; a national export's column table is longer.
EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767
SPOOL_BYTES = 8 * 1024 * 1024
CHUNK = 256 * 1024
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# One search per string: a leading character a spreadsheet may read as the start of a formula or
# an error value, or any character the file format cannot store.
_UNSTORABLE = "\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff"
_NEEDS_CARE = re.compile(f"^[=+\\-@\t\r#]|[{_UNSTORABLE}]")
_ILLEGAL = re.compile(f"[{_UNSTORABLE}]")
REPLACEMENT = "\ufffd"

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="305496")
HEADER_ALIGNMENT = Alignment(horizontal="center", vertical="center", wrap_text=True)
TITLE_FONT = Font(bold=True, size=14)

# Column widths measured from the content: wide (CJK) characters count two, as a printed page
# shows them; a column is never narrower than MIN_WIDTH nor wider than MAX_WIDTH (a 300-character
# address wraps rather than making the page unreadable).
MIN_WIDTH = 6
MAX_WIDTH = 50
WIDTH_PADDING = 2
# Rows read before a measured sheet starts: a write-only sheet writes its column widths before
# its first row, so the widths come from the header and this many leading rows (a bounded buffer,
# whatever the sheet's length).
WIDTH_SAMPLE_ROWS = 500


def storable_text(value: str) -> str:
    """``value`` as an xlsx cell can hold it: unstorable control characters replaced, and cut at
    Excel's 32,767 characters per cell."""
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub(REPLACEMENT, value)
    return value[:EXCEL_MAX_CHARS]


def text_cell(ws, value, *, font=None, fill=None, alignment=None, border=None,
              number_format=None) -> WriteOnlyCell:
    """A write-only cell that holds ``value`` (any object, shown by ``str``) as plain text."""
    cell = WriteOnlyCell(ws, value=storable_text(str(value)))
    cell.data_type = "s"
    _style(cell, font, fill, alignment, border, number_format)
    return cell


def set_text(cell, value):
    """Put ``value`` into a cell of a normal (not write-only) sheet as plain text; None clears it."""
    if value is None:
        cell.value = None
        return cell
    cell.value = storable_text(str(value))
    cell.data_type = "s"
    return cell


def safe_value(ws, value):
    """What to append for ``value`` in a write-only row: strings that need care become explicit
    text cells; numbers, dates and ordinary strings pass through unchanged (the fast path)."""
    if isinstance(value, str) and _NEEDS_CARE.search(value):
        return text_cell(ws, value)
    return value


def _style(cell, font, fill, alignment, border, number_format):
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment
    if border is not None:
        cell.border = border
    if number_format is not None:
        cell.number_format = number_format


def display_width(value) -> int:
    """How many Latin-character columns ``value`` takes on screen and on paper: East Asian wide
    and full-width characters count two."""
    text = "" if value is None else str(value)
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def fitted_width(values: Iterable) -> int:
    """A column width that fits the widest of ``values`` (header and content), within bounds."""
    widest = max((display_width(v) for v in values), default=0)
    return max(MIN_WIDTH, min(MAX_WIDTH, widest + WIDTH_PADDING))


def set_printable(ws, title_rows: str = "1:2") -> None:
    """Page setup for a report that is printed and handed upward: landscape A4, every column on
    one page's width (as many pages down as it takes), the title and header rows repeated on each
    printed page. Works on write-only sheets too (written when the sheet is closed)."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = "9"  # A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_title_rows = title_rows


def header_cells(ws, labels: Iterable, font=HEADER_FONT, fill=HEADER_FILL,
                 alignment=HEADER_ALIGNMENT, border=None) -> list:
    """A header row: bold labels on a coloured band (one look for every workbook)."""
    return [text_cell(ws, label, font=font, fill=fill, alignment=alignment, border=border)
            for label in labels]


def title_cell(ws, text, font=TITLE_FONT, alignment=None) -> WriteOnlyCell:
    return text_cell(ws, text, font=font, alignment=alignment)


def set_header(cell, label, font=HEADER_FONT, fill=HEADER_FILL, alignment=HEADER_ALIGNMENT):
    """The same header look on a cell of a normal sheet (the filler's template)."""
    set_text(cell, label)
    cell.font, cell.fill, cell.alignment = font, fill, alignment
    return cell


class RollingSheet:
    """A write-only sheet with a title row and a header row that continues on a new sheet —
    名称（续2）, （续3）… with the same title and header — when Excel's row limit is reached, so
    every file the system writes opens in Excel. Every value goes through ``safe_value``.

    ``headers`` are (label, width) pairs; a width of ``None`` is measured (``fitted_width``) from
    the label and the first ``WIDTH_SAMPLE_ROWS`` rows, which are held back until then — such a
    sheet must be ended with ``finish()``. ``cell_style`` (keyword arguments of ``text_cell``)
    styles every body cell, and writes every value as text; leave it out for large exports, where
    unstyled plain values are several times faster. ``header_style``/``title_style`` override the
    header and title look; ``on_new_sheet(ws)`` adds sheet settings (merges, print titles);
    ``printable`` gives every sheet the page setup of ``set_printable``.
    """

    def __init__(self, wb, name, title, headers, max_rows=EXCEL_MAX_ROWS, *, cell_style=None,
                 header_style=None, title_style=None, on_new_sheet=None, printable=False):
        self.wb, self.name, self.title, self.headers = wb, name, title, list(headers)
        self.max_rows, self.sheets = max_rows, 0
        self.cell_style = cell_style
        self.header_style = header_style or {}
        self.title_style = title_style or {}
        self.on_new_sheet = on_new_sheet
        self.printable = printable
        self.widths = [width for _, width in self.headers]
        self.ws = None
        # Rows held back while the widths are measured; None once the sheet has started.
        self._sample: Optional[list] = [] if None in self.widths else None
        if self._sample is None:
            self._next_sheet()

    def _next_sheet(self):
        self.sheets += 1
        name = self.name if self.sheets == 1 else f"{self.name[:25]}（续{self.sheets}）"
        ws = self.wb.create_sheet(name)
        for index, width in enumerate(self.widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        # Row 1 is the title, row 2 the header; freezing at A3 keeps both in view while scrolling.
        ws.freeze_panes = "A3"
        if self.printable:
            set_printable(ws)
        if self.on_new_sheet is not None:
            self.on_new_sheet(ws)
        ws.append([title_cell(ws, self.title, **self.title_style)])
        ws.append(header_cells(ws, [label for label, _ in self.headers], **self.header_style))
        self.ws, self.rows = ws, 2

    def _start(self):
        """Measure the columns on the held-back rows, start the first sheet and write them."""
        sample, self._sample = self._sample, None
        for index, (label, width) in enumerate(self.headers):
            if width is None:
                self.widths[index] = fitted_width(
                    [label] + [row[index] for row in sample if index < len(row)])
        self._next_sheet()
        for values in sample:
            self._write(values)

    def append(self, values):
        if self._sample is not None:
            self._sample.append(list(values))
            if len(self._sample) >= WIDTH_SAMPLE_ROWS:
                self._start()
            return
        self._write(values)

    def _write(self, values):
        if self.rows >= self.max_rows:
            self._next_sheet()
        ws = self.ws
        if self.cell_style is None:
            self.ws.append([safe_value(ws, v) for v in values])
        else:
            self.ws.append([None if v is None else text_cell(ws, v, **self.cell_style)
                            for v in values])
        self.rows += 1

    def finish(self, footer=()):
        """Write what is held back and end the sheet; ``footer`` rows (lists of values, written
        as text) follow the last data row after one blank row, on one sheet together."""
        if self._sample is not None:
            self._start()
        footer = [list(row) for row in footer]
        if not footer:
            return
        if self.rows + 1 + len(footer) > self.max_rows:
            self._next_sheet()
        ws = self.ws
        ws.append([])
        for row in footer:
            ws.append([None if v is None else text_cell(ws, v) for v in row])
        self.rows += 1 + len(footer)


def iter_file(fh, chunk=CHUNK) -> Iterator[bytes]:
    """Hand a finished file to the client piece by piece, then close (and delete) it."""
    try:
        while True:
            data = fh.read(chunk)
            if not data:
                break
            yield data
    finally:
        fh.close()
