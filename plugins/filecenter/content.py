"""What an uploaded support file is, told by its first bytes, never by its name or the browser's
Content-Type (either is whatever the sender typed).

Each kind of support item accepts a few formats; the format found decides the stored suffix, the
Content-Type it is served with and the suffix of its download name. Only the first bytes are read
(``HEAD_BYTES``): the check costs the same for any size of file.
"""
from dataclasses import dataclass

from app.i18n_text import N_, gettext
from plugins.filecenter.models import INSTALLER, MANUAL, VIDEO

HEAD_BYTES = 64


@dataclass(frozen=True)
class Format:
    name: str
    suffix: str
    content_type: str


EXE = Format(N_("Windows 程序"), ".exe", "application/vnd.microsoft.portable-executable")
ZIP = Format(N_("zip 压缩包"), ".zip", "application/zip")
MP4 = Format(N_("MP4 视频"), ".mp4", "video/mp4")
PDF = Format(N_("PDF 文档"), ".pdf", "application/pdf")
DOCX = Format(N_("Word 文档"), ".docx",
              "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
XLSX = Format(N_("Excel 工作簿"), ".xlsx",
              "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")

ZIP_MAGIC = (b"PK\x03\x04",)
# Which formats each kind takes (shown to the administrator when a file is refused).
ACCEPTED = {
    INSTALLER: (EXE, ZIP),
    MANUAL: (PDF, DOCX, XLSX),
    VIDEO: (MP4,),
}


def sniff(head: bytes, filename: str, kind: str):
    """The format of a file of ``kind`` beginning with ``head``, or None when it is none that the
    kind accepts. DOCX and XLSX are both zips: the name's suffix tells them apart, the zip
    signature proves it is one (the zip's directory is never parsed here)."""
    lower = (filename or "").lower()
    if kind == INSTALLER:
        if head[:2] == b"MZ":
            return EXE
        if head[:4] in ZIP_MAGIC:
            return ZIP
    elif kind == VIDEO:
        # ISO base media: a 4-byte box size then the ``ftyp`` box type.
        if len(head) >= 12 and head[4:8] == b"ftyp":
            return MP4
    elif kind == MANUAL:
        if head[:5] == b"%PDF-":
            return PDF
        if head[:4] in ZIP_MAGIC:
            if lower.endswith(".docx"):
                return DOCX
            if lower.endswith(".xlsx"):
                return XLSX
    return None


def accepted_names(kind: str) -> str:
    # The list's separator and brackets are translated too, so the English message has none
    # of the Chinese punctuation.
    return gettext("、").join(gettext("%(name)s（%(note)s）", name=gettext(fmt.name), note=fmt.suffix)
                              for fmt in ACCEPTED.get(kind, ()))


def download_name(filename: str, fmt: Format) -> str:
    """The sender's name with the suffix of the format found: a PDF named ``手册.exe`` is saved as
    ``手册.pdf``, so what a visitor opens is what it says it is."""
    stem = filename
    dot = filename.rfind(".")
    if dot > 0:
        stem = filename[:dot]
    stem = stem.strip() or "下载"
    return stem[:255 - len(fmt.suffix)] + fmt.suffix
