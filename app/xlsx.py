"""Workbooks over the web: the safe cell writer (``app.forms.xlsx``, shared with the filler) and
the streamed download response every export uses."""
from urllib.parse import quote

from flask import Response

from app.forms.xlsx import (CHUNK, EXCEL_MAX_ROWS, SPOOL_BYTES, XLSX_MIMETYPE, RollingSheet,
                            header_cells, iter_file, safe_value, set_text, text_cell, title_cell)

__all__ = ["CHUNK", "EXCEL_MAX_ROWS", "SPOOL_BYTES", "XLSX_MIMETYPE", "RollingSheet",
           "header_cells", "iter_file", "safe_value", "set_text", "text_cell", "title_cell",
           "xlsx_response"]


def xlsx_response(fh, filename):
    """Stream the finished workbook ``fh`` (rewound or not) as an attachment named ``filename``;
    the file is closed (and, if temporary, deleted) when the response ends."""
    fh.seek(0, 2)
    size = fh.tell()
    fh.seek(0)
    headers = {
        "Content-Disposition": "attachment; filename=\"report.xlsx\"; "
                               f"filename*=UTF-8''{quote(filename)}",
        "Content-Length": str(size),
    }
    return Response(iter_file(fh), mimetype=XLSX_MIMETYPE, headers=headers)
