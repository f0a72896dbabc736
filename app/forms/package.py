"""The package: the zip a filing unit hands to its organising unit (format v1).

One implementation, used by the desktop filler to write packages and by the server to read
them, so both sides agree byte for byte. The format is documented in docs/package-format.md.

Reading is defensive because a package arrives by e-mail, USB stick or QQ and may have been
re-zipped by a Chinese Windows tool, edited by hand, damaged, or built to hurt the server. Every
whole-package problem raises ``PackageError`` with a Chinese message for the user; checks run
cheapest first (file size, the zip's end record, the central directory, declared sizes, the
manifest) so that a hostile file is refused before much is inflated or parsed. Schema validation
of each form is not done while reading: ``validate_forms`` runs it so the filler and the server
report the same errors.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

from app.forms.atomic import atomic_write_bytes
from app.forms.schema import FieldError, Phrase, _t, is_valid_uuid4, pair

# --------------------------------------------------------------------------------------------
# Format constants

FORMAT_NAME = "pucha-package"
FORMAT_VERSION = 1
SUPPORTED_FORMAT_VERSIONS = (1,)
MANIFEST_NAME = "manifest.json"

# --------------------------------------------------------------------------------------------
# Limits. A real package is a few KB per form; every limit is far above honest use and far below
# what would hurt the server.

MAX_PACKAGE_BYTES = 64 * 1024 * 1024  # the zip file itself
MAX_FORMS = 5_000  # forms in one package
MAX_ENTRIES = MAX_FORMS + 100  # zip entries: forms, manifest, folders, OS litter
MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # ~200 bytes per listed form, 5,000 forms ≈ 1 MB
MAX_FORM_BYTES = 1024 * 1024  # one form's JSON; a real one is 3–10 KB
MAX_TOTAL_BYTES = 256 * 1024 * 1024  # all entries together, uncompressed
MAX_COMPRESSION_RATIO = 100  # uncompressed / compressed, for entries above the next size
RATIO_CHECK_MIN_BYTES = 64 * 1024  # small entries have noisy ratios and cannot hurt anyone
MAX_JSON_DEPTH = 20  # nesting of objects/arrays; a form needs 5
MAX_NAME_LENGTH = 255  # characters in one entry name
# One central-directory record: 46 fixed bytes, then name, extra field and comment. Ours carry a
# name of at most MAX_NAME_LENGTH characters (4 UTF-8 bytes each at worst) and no extra data;
# Windows tools add timestamps and a Unicode path (well under 1 KB each).
MAX_DIRECTORY_RECORD_BYTES = 46 + 3 * 1024
# A manifest lists 4 keys and an object per form (each key and value a JSON value), plus its own
# dozen or so: what it may hold when an upload may hold N forms.
MANIFEST_VALUES_PER_FORM = 9
MANIFEST_FIXED_VALUES = 32
READ_CHUNK_BYTES = 64 * 1024  # streaming unit while inflating

ALLOWED_COMPRESSION = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
# Files that operating systems add when a user unpacks and re-packs a zip; skipped, never read.
IGNORED_BASENAMES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
IGNORED_TOP_FOLDERS = frozenset({"__MACOSX"})

_UTF8_FLAG = 0x800
_ENCRYPTED_FLAG = 0x1
_SHA256_RE = re.compile(r"[0-9a-f]{64}")
_RESUBMIT = _t("请在填报客户端中重新“生成文件”后再提交")
# What a message names: the manifest or one form's file.
_MANIFEST_FILE = pair("清单文件", "The manifest file")
_FORM_FILE = pair("表单文件", "The form file")


class PackageError(ValueError):
    """A whole package is refused. ``message`` is Chinese and meant for the user (a ``Phrase``,
    so the web can show it in English); ``code`` is stable for tests and statistics; ``entry``
    names the zip entry involved."""

    def __init__(self, message: str, code: str = "invalid", entry: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.entry = entry

    def __str__(self) -> str:
        return self.message


# --------------------------------------------------------------------------------------------
# The cost of one upload


@dataclass
class UploadBudget:
    """What one upload (every package of one request together) may cost the server.

    Charged from the central directory's declared sizes before anything is inflated, and from a
    scan of each form's JSON before it is parsed, so a package that would exceed it is refused
    having cost little. The server builds one per request from its settings; the filler reads
    without one.
    """

    max_forms: int
    max_bytes: int  # uncompressed: manifests and forms, as declared (the read is capped to it)
    max_values: int  # JSON values (strings, numbers, objects, arrays …) in all forms
    forms: int = 0
    bytes: int = 0
    values: int = 0

    def charge(self, forms: int, size: int) -> None:
        if self.forms + forms > self.max_forms:
            raise PackageError(
                _t('本次上传的表单过多：连同本文件共 %(count)s 份，一次最多导入 %(max)s 份。请分批上传；一个上报文件超过 %(max)s 份时，请在填报客户端中分批“生成文件”', count=f"{self.forms + forms:,}", max=f"{self.max_forms:,}"), "upload_too_many_forms")
        if self.bytes + size > self.max_bytes:
            raise PackageError(
                _t('本次上传的上报文件解压后过大：连同本文件共 %(size)s 字节，一次最多导入 %(max)s 字节（正常表单每份 3–10 KB）。请分批上传', size=f"{self.bytes + size:,}", max=f"{self.max_bytes:,}"), "upload_too_large")
        self.forms += forms
        self.bytes += size

    def values_left(self) -> int:
        return self.max_values - self.values

    def too_many_forms(self) -> PackageError:
        return PackageError(
            _t('本次上传的表单过多：清单文件列出的内容超过一次最多导入的 %(max)s 份表单。请分批上传；一个上报文件超过 %(max)s 份时，请在填报客户端中分批“生成文件”', max=f"{self.max_forms:,}"),
            "upload_too_many_forms", MANIFEST_NAME)

    def too_complex(self, name: str) -> PackageError:
        return PackageError(
            _t('表单文件“%(name)s”数据项过多：本次上传的全部表单最多 %(max)s 个数据项（正常表单每份约 150 个），已拒绝导入。请分批上传', name=_show(name), max=f"{self.max_values:,}"), "upload_too_complex", name)

    def snapshot(self) -> tuple:
        return self.forms, self.bytes, self.values

    def restore(self, snapshot: tuple) -> None:
        self.forms, self.bytes, self.values = snapshot


# --------------------------------------------------------------------------------------------
# Results


@dataclass
class PackageForm:
    """One form read from a package, integrity already verified."""

    uuid: str
    file: str
    data: dict
    sha256: str
    size: int


@dataclass
class Package:
    manifest: dict
    entries: list = field(default_factory=list)
    # Entry names that had to be recovered from a non-UTF-8 encoding (GBK from Chinese Windows).
    recovered_names: list = field(default_factory=list)

    @property
    def forms(self) -> list:
        """``[(uuid, form dict), ...]`` in manifest order."""
        return [(e.uuid, e.data) for e in self.entries]

    @property
    def files(self) -> dict:
        return {e.uuid: e.file for e in self.entries}

    @property
    def form_type(self) -> str:
        return self.manifest["form_type"]

    @property
    def schema_version(self) -> int:
        return self.manifest["schema_version"]

    @property
    def client(self) -> dict:
        return self.manifest["client"]

    @property
    def created_at(self) -> str:
        return self.manifest["created_at"]

    def __len__(self) -> int:
        return len(self.entries)


@dataclass
class FormResult:
    """Schema validation of one form of a package: ``data`` is the normalized form."""

    uuid: str
    file: str
    title: str
    data: Any
    errors: list

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"uuid": self.uuid, "file": self.file, "title": self.title, "ok": self.ok,
                "errors": [e.to_dict() for e in self.errors]}


# --------------------------------------------------------------------------------------------
# JSON helpers shared by writer and reader

# Strings go first, whole, so brackets and digits inside text do not count.
_JSON_STRING_RE = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
# Numbers, true, false, null. Written to begin with one character class, so that the regex engine
# skips ahead to the next candidate character instead of trying each branch at every position
# (what it matches is exactly ``[-0-9][-+.0-9eE]*|true|false|null``; a third of the time).
_JSON_SCALAR_RE = re.compile(r"[-0-9tfn](?:(?<=[-0-9])[-+.0-9eE]*|(?<=t)rue|(?<=f)alse|(?<=n)ull)")


def json_scan(text: str, depth_limit: int = MAX_JSON_DEPTH,
              value_limit: Optional[int] = None) -> tuple:
    """``(too_deep, values)``: whether brackets nest deeper than ``depth_limit``, and how many
    JSON values (strings, numbers, literals, objects, arrays; object keys count too) the text
    holds. The nesting is not looked at when the values are already over ``value_limit``.

    Runs before ``json.loads`` because the parser recurses (``[[[[…`` 100,000 deep would end in
    a RecursionError after a lot of work) and because what parsing, copying and storing a form
    costs grows with its values, not its bytes: ``[],`` is three bytes and one Python list.
    Counting is done by ``str`` methods and the regex engine, with no Python step per token; the
    nesting by peeling bracket pairs (``_nests_deeper``). An honest 3 KB form costs ~0.1 ms, a
    third of the token walk it replaced (tests/test_package_fuzz.py checks they agree).
    """
    bare, strings = _without_strings(text)
    scalars = _JSON_SCALAR_RE.subn("", bare)[1]
    values = strings + scalars + bare.count("[") + bare.count("{")
    if value_limit is not None and values > value_limit:
        return False, values
    return _nests_deeper(bare, depth_limit), values


def _without_strings(text: str) -> tuple:
    """``(text without its JSON strings, how many there were)``, as ``_JSON_STRING_RE.subn``
    gives it. Text without a backslash (no escapes: nearly every form) is cut at its quotes
    instead, several times faster; a last quote left unpaired stays, as the regex leaves it."""
    if "\\" in text:
        return _JSON_STRING_RE.subn("", text)
    parts = text.split('"')
    quotes = len(parts) - 1
    if quotes % 2:
        return "".join(parts[0:-1:2]) + '"' + parts[-1], quotes // 2
    return "".join(parts[0::2]), quotes // 2


_NOT_BRACKET_RE = re.compile(r"[^\[\]{}]+")
# Deletes every ASCII character but the four brackets (str.translate: one pass in C).
_KEEP_BRACKETS = {code: None for code in range(128) if chr(code) not in "[]{}"}
_INNERMOST_PAIR_RE = re.compile(r"\[\]|\{\}")


def _nests_deeper(bare: str, limit: int) -> bool:
    """Whether the brackets of ``bare`` (JSON text without its strings) nest deeper than
    ``limit``. Each round peels every innermost pair off, so well-nested brackets are gone after
    as many rounds as they nest deep: an honest form is settled by a few regex passes over its
    brackets alone. Brackets that do not pair up (damaged or hostile text) are walked one by one,
    the walk stopping at the first level beyond the limit."""
    brackets = bare.translate(_KEEP_BRACKETS)
    if not brackets.isascii():  # text outside strings that is not ASCII: not JSON anyway
        brackets = _NOT_BRACKET_RE.sub("", bare)
    left = brackets
    for _round in range(limit):
        if not left:
            return False
        left, peeled = _INNERMOST_PAIR_RE.subn("", left)
        if not peeled:
            break
    if not left:
        return False
    depth = 0
    for char in brackets:
        if char in "[{":
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


def json_depth_exceeds(text: str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True as soon as brackets nest deeper than ``limit`` (see ``json_scan``)."""
    return json_scan(text, limit)[0]


def _reject_constant(name):
    raise ValueError(f"非法的数值 {name}")


def _dump(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2).encode("utf-8")


def _show(name: str) -> str:
    """A file name safe to put in a message: control characters made visible, length bounded."""
    shown = re.sub(r"[\x00-\x1f\x7f]", "?", name)
    return shown if len(shown) <= 80 else shown[:77] + "…"


# --------------------------------------------------------------------------------------------
# Writing

_UNSAFE_FILENAME_RE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]+')


def safe_file_title(title: str, max_chars: int = 40) -> str:
    """A title usable in a file name on Windows, macOS and Linux (Chinese kept)."""
    text = _UNSAFE_FILENAME_RE.sub("_", title or "")
    text = re.sub(r"\s+", "_", text).strip("._ ")
    return text[:max_chars].rstrip("._ ") or "未命名"


def _now_iso() -> str:
    return datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")


def write_package(
    forms: Iterable[dict],
    form_type: str,
    schema_version: int,
    client_name: str,
    client_version: str,
    *,
    folder: Optional[str] = None,
    title: Optional[Callable[[dict], str]] = None,
    created_at: Optional[str] = None,
) -> bytes:
    """Build a package and return the zip bytes.

    ``forms`` are form documents, each with a UUID4 ``uuid``. ``folder`` is the readable folder
    the forms go in (default: ``form_type``); ``title(form)`` gives the readable part of each
    file name (default: none, the file is named by its UUID). Raises ``PackageError`` when the
    forms could not be read back by ``read_package`` (bad or duplicate UUID, too many, too big).
    """
    forms = list(forms)
    if not forms:
        raise PackageError(_t('没有可生成上报文件的表单'), "empty")
    if len(forms) > MAX_FORMS:
        raise PackageError(_t('一个上报文件最多包含 %(max)s 份表单，现有 %(count)s 份，请分批生成', max=MAX_FORMS, count=len(forms)), "too_many_forms")
    if not isinstance(form_type, str) or not form_type:
        raise PackageError(_t('缺少表单类型'), "form_type")
    folder = safe_file_title(folder or form_type, max_chars=60)
    created_at = created_at or _now_iso()

    listed, payloads, seen_uuids, seen_files = [], [], set(), set()
    for index, form in enumerate(forms, start=1):
        if not isinstance(form, dict):
            raise PackageError(_t('第 %(index)s 份表单不是 JSON 对象，无法生成上报文件', index=index), "not_object")
        form_uuid = form.get("uuid")
        if not is_valid_uuid4(form_uuid):
            raise PackageError(_t('第 %(index)s 份表单缺少有效的内部标识（uuid），无法生成上报文件', index=index), "uuid")
        if form_uuid in seen_uuids:
            raise PackageError(_t('内部标识 %(uuid)s 重复：同一份表单不能在一个上报文件中出现两次', uuid=form_uuid), "duplicate_uuid")
        seen_uuids.add(form_uuid)
        payload = _dump(form)
        name_for_user = (title(form) if title else "") or form_uuid
        if len(payload) > MAX_FORM_BYTES:
            raise PackageError(_t('表单“%(name)s”内容过大（超过 %(kb)s KB），无法生成上报文件', name=name_for_user, kb=MAX_FORM_BYTES // 1024), "form_too_large")
        if json_depth_exceeds(payload.decode("utf-8")):
            raise PackageError(_t('表单“%(name)s”嵌套层次过深，无法生成上报文件', name=name_for_user), "json_too_deep")
        stem = f"{safe_file_title(title(form))}_{form_uuid[:8]}" if title else form_uuid
        file_name = f"{folder}/{stem}.json"
        if file_name in seen_files:  # same title and same UUID prefix: fall back to the full UUID
            file_name = f"{folder}/{safe_file_title(title(form)) if title else 'form'}_{form_uuid}.json"
        seen_files.add(file_name)
        listed.append({
            "uuid": form_uuid,
            "file": file_name,
            "sha256": hashlib.sha256(payload).hexdigest(),
            "size": len(payload),
        })
        payloads.append((file_name, payload))

    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "form_type": form_type,
        "schema_version": schema_version,
        "client": {"name": client_name, "version": client_version},
        "created_at": created_at,
        "forms": listed,
    }
    try:
        stamp = datetime.fromisoformat(created_at).timetuple()[:6]
    except ValueError:
        stamp = datetime.now().timetuple()[:6]
    stamp = max(stamp, (1980, 1, 1, 0, 0, 0))  # zip timestamps start in 1980

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        # The manifest first, so a reader (or a person) meets it before the forms.
        for name, data in [(MANIFEST_NAME, _dump(manifest))] + payloads:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            # zipfile sets the UTF-8 flag (0x800) itself for every non-ASCII name; ASCII names
            # read the same either way.
            zf.writestr(info, data)
    return buffer.getvalue()


def write_package_file(path: Union[str, os.PathLike], forms: Iterable[dict], form_type: str,
                       schema_version: int, client_name: str, client_version: str, **kwargs) -> Path:
    """Write a package to ``path`` atomically (a half-written zip never replaces a good one)."""
    data = write_package(forms, form_type, schema_version, client_name, client_version, **kwargs)
    return atomic_write_bytes(path, data)


def pack(schema, forms: Iterable[dict], client_name: str, client_version: str,
         path: Union[str, os.PathLike, None] = None, created_at: Optional[str] = None) -> bytes:
    """Write a package for ``schema``'s form type, with readable names from the schema
    (``政府网站基本信息表/<网站名称>_<uuid前8位>.json``). Also writes ``path`` when given."""
    kwargs = dict(folder=schema.package_folder or schema.name, title=schema.title, created_at=created_at)
    data = write_package(forms, schema.name, schema.version, client_name, client_version, **kwargs)
    if path is not None:
        atomic_write_bytes(path, data)
    return data


# --------------------------------------------------------------------------------------------
# Reading


def _open_source(source) -> tuple:
    """Return (binary file object, size, close?) for bytes, a path or a file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        return io.BytesIO(data), len(data), False
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        try:
            size = path.stat().st_size
        except OSError as exc:
            raise PackageError(_t('无法读取上报文件：%(error)s', error=exc.strerror or exc), "io") from exc
        if size > MAX_PACKAGE_BYTES:
            raise PackageError(_too_big_package(size), "package_too_large")
        return open(path, "rb"), size, True
    if hasattr(source, "read") and hasattr(source, "seek"):
        source.seek(0, io.SEEK_END)
        size = source.tell()
        source.seek(0)
        return source, size, False
    raise TypeError("read_package needs bytes, a path or a binary file object")


def _too_big_package(size: int) -> Phrase:
    return _t("上报文件过大（%(mb)s MB，上限 %(max_mb)s MB），不是填报客户端生成的正常文件",
              mb=f"{size / 1024 / 1024:.1f}", max_mb=MAX_PACKAGE_BYTES // 1024 // 1024)


def _sniff(head: bytes) -> None:
    """Refuse what is obviously not a zip, naming what it is when we can tell."""
    if head.startswith(b"PK\x03\x04") or head.startswith(b"PK\x05\x06"):
        return
    if head.startswith(b"Rar!"):
        kind = pair("RAR 压缩包", "a RAR archive")
    elif head.startswith(b"7z\xbc\xaf\x27\x1c"):
        kind = pair("7z 压缩包", "a 7z archive")
    elif head.startswith(b"\x1f\x8b"):
        kind = pair("gzip 压缩文件", "a gzip file")
    elif head.startswith(b"\xd0\xcf\x11\xe0"):
        kind = pair("Office 97-2003 文档（如 .xls/.doc）", "an Office 97-2003 document (.xls/.doc)")
    elif head.startswith(b"%PDF"):
        kind = pair("PDF 文档", "a PDF document")
    else:
        kind = None
    what = _t("该文件是%(kind)s，", kind=kind) if kind else ""
    raise PackageError(_t('%(what)s不是 zip 格式的上报文件。请提交填报客户端“生成文件”得到的 .zip 文件', what=what), "not_zip")


_END = struct.Struct("<4s4H2LH")  # end of central directory record
_END64 = struct.Struct("<4sQ2H2L4Q")  # ZIP64 end of central directory record
_END64_LOCATOR_BYTES = 20
_RECORD = struct.Struct("<4s6H3L5H2L")  # central directory record, before its name
_DAMAGED_DIRECTORY = _t("上报文件的 zip 目录已损坏或被改动过，无法打开。%(resubmit)s", resubmit=_RESUBMIT)


def _too_many_entries(count: int) -> PackageError:
    return PackageError(
        _t('压缩包中的文件过多（%(count)s 个，上限 %(max)s 个），不是填报客户端生成的正常文件，已拒绝导入', count=f"{count:,}", max=f"{MAX_ENTRIES:,}"),
        "too_many_entries")


def _end_record(fh, size: int) -> Optional[tuple]:
    """``(entries, directory size, directory offset, where the directory must end)`` from the
    end record, the ZIP64 one when the classic fields overflow, found the way ``zipfile`` finds
    them; ``None`` when there is no end record (``zipfile`` then refuses the file itself)."""
    tail_len = min(size, _END.size + 65535)
    fh.seek(size - tail_len)
    tail = fh.read(tail_len)
    pos = tail.rfind(b"PK\x05\x06")
    if pos < 0 or pos + _END.size > len(tail):
        return None
    _sig, disk, cd_disk, on_disk, entries, cd_size, cd_offset, _comment = _END.unpack_from(tail, pos)
    where = size - tail_len + pos
    if 0xFFFF in (on_disk, entries) or 0xFFFFFFFF in (cd_size, cd_offset):
        # zipfile reads the ZIP64 end record right before the locator, itself right before the
        # end record; so do we, to judge the very numbers zipfile will use.
        where64 = where - _END64_LOCATOR_BYTES - _END64.size
        if where64 < 0:
            raise PackageError(_DAMAGED_DIRECTORY, "directory_mismatch")
        fh.seek(where64)
        record = fh.read(_END64.size)
        if record[:4] != b"PK\x06\x06":
            raise PackageError(_DAMAGED_DIRECTORY, "directory_mismatch")
        (_sig, _len, _made, _need, disk, cd_disk, on_disk, entries, cd_size,
         cd_offset) = _END64.unpack(record)
        where = where64
    if disk or cd_disk or on_disk != entries:
        raise PackageError(_t('上报文件是分卷压缩包，不支持导入。%(resubmit)s', resubmit=_RESUBMIT), "not_zip")
    return entries, cd_size, cd_offset, where


def _check_directory(fh, size: int) -> None:
    """Refuse a central directory that is not the one the end record declares, before
    ``zipfile`` parses it.

    ``zipfile`` reads every record in the directory's declared byte size whatever the declared
    count says: a 53 MB file whose end record claims 2 entries while its directory holds
    1,000,002 cost 5 s and 450 MB before any count could be checked. Here the declared count is
    checked first, then the declared size against that count and against the file (the
    directory must end exactly where the end record begins), then the records are walked by
    their lengths, never further than one record past the declared count.
    """
    end = _end_record(fh, size)
    if end is None:
        return
    entries, cd_size, cd_offset, cd_end = end
    if entries > MAX_ENTRIES:
        raise _too_many_entries(entries)
    if cd_size > entries * MAX_DIRECTORY_RECORD_BYTES or cd_size > cd_end or cd_offset != cd_end - cd_size:
        raise PackageError(
            _t('上报文件的 zip 目录与结尾记录不符（结尾记录声明 %(entries)s 个文件，目录却有 %(size)s 字节），文件可能被篡改或已损坏，已拒绝导入', entries=f"{entries:,}", size=f"{cd_size:,}"), "directory_mismatch")
    fh.seek(cd_offset)
    directory = fh.read(cd_size)
    pos = count = 0
    while pos < len(directory):
        if count == entries:
            raise PackageError(
                _t('上报文件的 zip 目录中的文件比结尾记录声明的多（声明 %(entries)s 个），文件可能被篡改或已损坏，已拒绝导入', entries=f"{entries:,}"), "directory_mismatch")
        if pos + _RECORD.size > len(directory) or directory[pos:pos + 4] != b"PK\x01\x02":
            raise PackageError(_DAMAGED_DIRECTORY, "directory_mismatch")
        fields = _RECORD.unpack_from(directory, pos)
        pos += _RECORD.size + fields[10] + fields[11] + fields[12]  # name, extra, comment
        count += 1
    if pos != len(directory) or count != entries:
        raise PackageError(_DAMAGED_DIRECTORY, "directory_mismatch")


def _entry_name(info: zipfile.ZipInfo) -> tuple:
    """The real name of an entry and whether it had to be recovered.

    Without the UTF-8 flag Python decodes names as cp437. Chinese Windows tools write GBK there
    (seed 004 §16) and some tools write UTF-8 without setting the flag, so undo cp437 and try
    UTF-8, then GB18030 (a superset of GBK), per entry.
    """
    if info.flag_bits & _UTF8_FLAG:
        return info.orig_filename, False
    try:
        raw = info.orig_filename.encode("cp437")
    except UnicodeEncodeError:
        return info.orig_filename, False
    if raw.isascii():
        return info.orig_filename, False
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding), True
        except UnicodeDecodeError:
            continue
    raise PackageError(_t('压缩包中的文件名无法识别（%(name)s），文件可能已损坏。%(resubmit)s', name=_show(info.orig_filename), resubmit=_RESUBMIT), "bad_name")


def _check_path(name: str) -> None:
    """Refuse names that could escape a folder if anyone ever extracted them, or that no
    writer of ours produces."""
    reason = None
    if "\x00" in name or re.search(r"[\x01-\x1f\x7f]", name):
        reason = pair("包含空字符或控制字符", "it holds null or control characters")
    elif "\\" in name:
        reason = pair("包含反斜杠“\\”", "it holds a backslash “\\”")
    elif name.startswith("/"):
        reason = pair("使用了绝对路径", "it is an absolute path")
    elif re.match(r"[A-Za-z]:", name):
        reason = pair("包含盘符", "it names a drive")
    elif any(part in ("..", ".") for part in name.split("/")):
        reason = pair("包含“..”等上级目录", "it climbs to a parent folder with “..”")
    elif "//" in name.rstrip("/") or name == "":
        reason = pair("包含空的目录名", "it has an empty folder name")
    elif len(name) > MAX_NAME_LENGTH:
        reason = _t("超过 %(max)s 个字符", max=MAX_NAME_LENGTH)
    if reason:
        raise PackageError(_t('压缩包中的文件名“%(name)s”不安全（%(reason)s），已拒绝导入。%(resubmit)s', name=_show(name), reason=reason, resubmit=_RESUBMIT), "unsafe_path", name)


def _is_ignored(name: str) -> bool:
    parts = name.split("/")
    return parts[0] in IGNORED_TOP_FOLDERS or parts[-1] in IGNORED_BASENAMES


def _check_declared(info: zipfile.ZipInfo, name: str, limit: int, what: Phrase) -> None:
    """Refuse on the central directory's word alone, before inflating anything."""
    if info.flag_bits & _ENCRYPTED_FLAG:
        raise PackageError(_t('压缩包中的文件“%(name)s”已加密，无法导入。%(resubmit)s', name=_show(name), resubmit=_RESUBMIT), "encrypted", name)
    if info.compress_type not in ALLOWED_COMPRESSION:
        raise PackageError(_t('压缩包中的文件“%(name)s”使用了不支持的压缩方式，无法导入。%(resubmit)s', name=_show(name), resubmit=_RESUBMIT), "compression", name)
    if info.file_size > limit:
        raise PackageError(
            _t('%(what)s“%(name)s”过大（解压后 %(size)s 字节，上限 %(limit)s 字节），不是填报客户端生成的正常文件，已拒绝导入', what=what, name=_show(name), size=f"{info.file_size:,}", limit=f"{limit:,}"), "entry_too_large", name)
    if info.file_size > RATIO_CHECK_MIN_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
        raise PackageError(
            _t('压缩包中的文件“%(name)s”压缩比异常（疑似压缩炸弹），已拒绝导入', name=_show(name)), "compression_ratio", name)


def _read_capped(zf: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limit: int, what: Phrase) -> bytes:
    """Inflate one entry, never more than ``limit`` bytes whatever its header says."""
    chunks, total = [], 0
    try:
        with zf.open(info) as fh:
            while True:
                chunk = fh.read(min(READ_CHUNK_BYTES, limit + 1 - total))
                if not chunk:
                    break
                total += len(chunk)
                if total > limit:
                    raise PackageError(
                        _t('%(what)s“%(name)s”解压后超过 %(limit)s 字节（疑似压缩炸弹），已拒绝导入', what=what, name=_show(name), limit=f"{limit:,}"),
                        "entry_too_large", name)
                chunks.append(chunk)
    except PackageError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, NotImplementedError, ValueError) as exc:
        raise PackageError(_t('压缩包中的文件“%(name)s”已损坏，无法读取（%(error)s）。%(resubmit)s', name=_show(name), error=exc, resubmit=_RESUBMIT), "damaged", name) from exc
    return b"".join(chunks)


def _parse_json(raw: bytes, name: str, what: Phrase, value_limit: Optional[int] = None,
                too_many: Optional[Callable[[], PackageError]] = None) -> tuple:
    """``(parsed JSON, its value count)``; ``too_many()`` is raised when the text holds more than
    ``value_limit`` values, before it is parsed."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PackageError(_t('%(what)s“%(name)s”不是 UTF-8 编码，文件可能被手工修改或已损坏。%(resubmit)s', what=what, name=_show(name), resubmit=_RESUBMIT), "encoding", name) from exc
    too_deep, values = json_scan(text, value_limit=value_limit)
    if too_deep:
        raise PackageError(_t('%(what)s“%(name)s”的嵌套层次超过 %(depth)s 层，不是填报客户端生成的正常文件，已拒绝导入', what=what, name=_show(name), depth=MAX_JSON_DEPTH), "json_too_deep", name)
    if value_limit is not None and values > value_limit:
        raise too_many()
    try:
        return json.loads(text, parse_constant=_reject_constant), values
    except (ValueError, RecursionError) as exc:
        raise PackageError(_t('%(what)s“%(name)s”不是有效的 JSON，文件可能被手工修改或已损坏。%(resubmit)s', what=what, name=_show(name), resubmit=_RESUBMIT), "bad_json", name) from exc


def _check_manifest(manifest: Any, expected_form_type: Optional[str]) -> list:
    """Check the manifest's shape and return its form list."""
    if not isinstance(manifest, dict):
        raise PackageError(_t('清单文件 manifest.json 的内容不正确，不是本系统的上报文件'), "not_our_format", MANIFEST_NAME)
    if manifest.get("format") != FORMAT_NAME:
        raise PackageError(_t('这不是本系统的上报文件（清单中的格式标识不符）。请提交填报客户端“生成文件”得到的 .zip 文件'), "not_our_format", MANIFEST_NAME)
    version = manifest.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version not in SUPPORTED_FORMAT_VERSIONS:
        supported = "、".join(str(v) for v in SUPPORTED_FORMAT_VERSIONS)
        raise PackageError(
            _t('上报文件的格式版本（%(version)s）不受支持，本系统支持的版本为 %(supported)s。请使用技术支持中心提供的最新填报客户端重新生成文件', version=_show(str(version)), supported=supported), "format_version", MANIFEST_NAME)
    form_type = manifest.get("form_type")
    if not isinstance(form_type, str) or not form_type:
        raise PackageError(_t('上报文件的清单缺少表单类型（form_type）'), "bad_manifest", MANIFEST_NAME)
    if expected_form_type is not None and form_type != expected_form_type:
        raise PackageError(
            _t('该上报文件的表单类型为“%(form_type)s”，不能导入到“%(expected)s”中', form_type=_show(form_type), expected=expected_form_type), "form_type", MANIFEST_NAME)
    schema_version = manifest.get("schema_version")
    if isinstance(schema_version, bool) or not isinstance(schema_version, int) or schema_version < 1:
        raise PackageError(_t('上报文件的清单缺少有效的表单版本（schema_version）'), "bad_manifest", MANIFEST_NAME)
    client = manifest.get("client")
    if not isinstance(client, dict) or not all(isinstance(client.get(k), str) for k in ("name", "version")):
        raise PackageError(_t('上报文件的清单缺少生成它的客户端信息（client）'), "bad_manifest", MANIFEST_NAME)
    if not isinstance(manifest.get("created_at"), str):
        raise PackageError(_t('上报文件的清单缺少生成时间（created_at）'), "bad_manifest", MANIFEST_NAME)
    forms = manifest.get("forms")
    if not isinstance(forms, list):
        raise PackageError(_t('上报文件的清单缺少表单列表（forms）'), "bad_manifest", MANIFEST_NAME)
    if not forms:
        raise PackageError(_t('上报文件中没有表单'), "empty", MANIFEST_NAME)
    if len(forms) > MAX_FORMS:
        raise PackageError(_t('一个上报文件最多包含 %(max)s 份表单，该文件有 %(count)s 份，请分批生成', max=MAX_FORMS, count=len(forms)), "too_many_forms", MANIFEST_NAME)
    seen_uuids, seen_files = set(), set()
    for index, item in enumerate(forms, start=1):
        ok = (isinstance(item, dict) and isinstance(item.get("file"), str)
              and isinstance(item.get("sha256"), str) and _SHA256_RE.fullmatch(item["sha256"])
              and isinstance(item.get("size"), int) and not isinstance(item.get("size"), bool)
              and item["size"] >= 0)
        if not ok or not is_valid_uuid4(item.get("uuid")):
            raise PackageError(_t('上报文件清单中第 %(index)s 项表单信息不完整或格式不正确，文件可能被手工修改过。%(resubmit)s', index=index, resubmit=_RESUBMIT), "bad_manifest", MANIFEST_NAME)
        if item["uuid"] in seen_uuids:
            raise PackageError(_t('上报文件中内部标识 %(uuid)s 出现了两次，文件可能被手工修改过。%(resubmit)s', uuid=item['uuid'], resubmit=_RESUBMIT), "duplicate_uuid", MANIFEST_NAME)
        if item["file"] in seen_files:
            raise PackageError(_t('上报文件清单中文件“%(file)s”出现了两次，文件可能被手工修改过。%(resubmit)s', file=_show(item['file']), resubmit=_RESUBMIT), "bad_manifest", MANIFEST_NAME)
        seen_uuids.add(item["uuid"])
        seen_files.add(item["file"])
        _check_path(item["file"])
        if item["size"] > MAX_FORM_BYTES:
            raise PackageError(_t('表单文件“%(file)s”过大（%(size)s 字节，上限 %(max)s 字节），已拒绝导入', file=_show(item['file']), size=f"{item['size']:,}", max=f"{MAX_FORM_BYTES:,}"), "entry_too_large", item["file"])
    return forms


def read_package(source, expected_form_type: Optional[str] = None,
                 budget: Optional[UploadBudget] = None) -> Package:
    """Read and verify a package from bytes, a path or a binary file object.

    Returns a ``Package`` whose forms passed every integrity check (listed in the manifest,
    checksum and size match, valid UTF-8 JSON objects whose ``uuid`` matches). Raises
    ``PackageError`` for any whole-package problem; then nothing of the package may be used.
    ``budget`` is charged with what the package costs and refuses it when the upload it belongs
    to would cost more (see ``UploadBudget``).
    """
    fh, size, close = _open_source(source)
    spent = budget.snapshot() if budget is not None else None
    try:
        return _read(fh, size, expected_form_type, budget)
    except PackageError:
        if budget is not None:
            budget.restore(spent)  # a refused package costs the rest of the upload nothing
        raise
    finally:
        if close:
            fh.close()


def _read(fh, size: int, expected_form_type: Optional[str], budget: Optional[UploadBudget]) -> Package:
    if size > MAX_PACKAGE_BYTES:
        raise PackageError(_too_big_package(size), "package_too_large")
    if size == 0:
        raise PackageError(_t('上报文件是空文件，请重新生成后提交'), "not_zip")
    fh.seek(0)
    _sniff(fh.read(8))
    _check_directory(fh, size)
    fh.seek(0)
    try:
        zf = zipfile.ZipFile(fh)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError, ValueError, struct.error,
            NotImplementedError) as exc:  # NotImplementedError: an entry needs a newer zip version
        raise PackageError(_t('上报文件不是有效的 zip 压缩包或已损坏，无法打开。%(resubmit)s', resubmit=_RESUBMIT), "not_zip") from exc
    with zf:
        return _read_zip(zf, expected_form_type, budget)


def _read_zip(zf: zipfile.ZipFile, expected_form_type: Optional[str],
              budget: Optional[UploadBudget]) -> Package:
    infos = zf.infolist()
    if len(infos) > MAX_ENTRIES:  # a directory without an end record zipfile still read
        raise _too_many_entries(len(infos))

    files, recovered = {}, []
    for info in infos:
        name, was_recovered = _entry_name(info)
        _check_path(name)
        if was_recovered:
            recovered.append(name)
        if name.endswith("/") or _is_ignored(name):
            continue  # folders carry nothing; OS litter is never read
        if name in files:
            raise PackageError(_t('压缩包中有两个同名文件“%(name)s”，文件可能被手工修改过。%(resubmit)s', name=_show(name), resubmit=_RESUBMIT), "duplicate_entry", name)
        files[name] = info

    # Unpacking and re-zipping the folder (Windows "发送到 压缩文件夹", 7-Zip) nests everything
    # one level down; accept that one level, nothing else.
    prefix = ""
    if MANIFEST_NAME not in files:
        nested = [n for n in files if n.count("/") == 1 and n.endswith("/" + MANIFEST_NAME)]
        if len(nested) == 1 and all(n.startswith(nested[0][: -len(MANIFEST_NAME)]) for n in files):
            prefix = nested[0][: -len(MANIFEST_NAME)]
        else:
            raise PackageError(
                _t('压缩包中没有清单文件 manifest.json，不是本系统的上报文件。请提交填报客户端“生成文件”得到的 .zip 文件'),
                "not_our_format")

    manifest_info = files.pop(prefix + MANIFEST_NAME)
    _check_declared(manifest_info, MANIFEST_NAME, MAX_MANIFEST_BYTES, _MANIFEST_FILE)
    manifest_values = None
    if budget is not None:
        budget.charge(0, manifest_info.file_size)
        # The manifest's own values do not count against the forms' budget, but it may hold no
        # more than the budget's forms need: a manifest padded with values costs like a form.
        manifest_values = MANIFEST_FIXED_VALUES + MANIFEST_VALUES_PER_FORM * budget.max_forms
    manifest, _values = _parse_json(
        _read_capped(zf, manifest_info, MANIFEST_NAME, MAX_MANIFEST_BYTES, _MANIFEST_FILE),
        MANIFEST_NAME, _MANIFEST_FILE, manifest_values, lambda: budget.too_many_forms())
    listed = _check_manifest(manifest, expected_form_type)
    if budget is not None:
        budget.charge(len(listed), 0)

    # Everything about sizes and the file list is settled before any form is inflated.
    total = manifest_info.file_size
    plan = []
    for item in listed:
        name = prefix + item["file"]
        info = files.pop(name, None)
        if info is None:
            raise PackageError(
                _t('上报文件缺少表单文件“%(file)s”，文件可能被手工修改或已损坏。%(resubmit)s', file=_show(item['file']), resubmit=_RESUBMIT), "missing_file", item["file"])
        _check_declared(info, item["file"], MAX_FORM_BYTES, _FORM_FILE)
        if info.file_size != item["size"]:
            raise PackageError(
                _t('表单文件“%(file)s”的大小与清单不符，文件可能被手工修改或已损坏。%(resubmit)s', file=_show(item['file']), resubmit=_RESUBMIT), "checksum", item["file"])
        total += info.file_size
        plan.append((item, info))
    if files:
        extra = sorted(files)[0]
        more = _t("等 %(count)s 个", count=len(files)) if len(files) > 1 else ""
        raise PackageError(
            _t('上报文件中有清单以外的文件“%(file)s”%(more)s，文件可能被手工修改过。%(resubmit)s', file=_show(extra), more=more, resubmit=_RESUBMIT), "extra_file", extra)
    if total > MAX_TOTAL_BYTES:
        raise PackageError(
            _t('上报文件解压后过大（%(size)s 字节，上限 %(max)s 字节），已拒绝导入', size=f"{total:,}", max=f"{MAX_TOTAL_BYTES:,}"), "package_too_large")
    if budget is not None:
        budget.charge(0, total - manifest_info.file_size)

    entries = []
    for item, info in plan:
        name = item["file"]
        raw = _read_capped(zf, info, name, min(MAX_FORM_BYTES, item["size"]), _FORM_FILE)
        if len(raw) != item["size"] or hashlib.sha256(raw).hexdigest() != item["sha256"]:
            raise PackageError(
                _t('表单文件“%(name)s”的内容与清单中的校验码不一致，文件可能被手工修改或已损坏。%(resubmit)s', name=_show(name), resubmit=_RESUBMIT), "checksum", name)
        if budget is None:
            data, _values = _parse_json(raw, name, _FORM_FILE)
        else:
            data, values = _parse_json(raw, name, _FORM_FILE, budget.values_left(),
                                       lambda: budget.too_complex(name))
            budget.values += values
        if not isinstance(data, dict):
            raise PackageError(_t('表单文件“%(name)s”的内容不是 JSON 对象。%(resubmit)s', name=_show(name), resubmit=_RESUBMIT), "not_object", name)
        if data.get("uuid") != item["uuid"]:
            raise PackageError(
                _t('表单文件“%(name)s”中的内部标识与清单不一致，文件可能被手工修改过。%(resubmit)s', name=_show(name), resubmit=_RESUBMIT), "uuid_mismatch", name)
        entries.append(PackageForm(item["uuid"], name, data, item["sha256"], item["size"]))
    return Package(manifest=manifest, entries=entries, recovered_names=recovered)


# --------------------------------------------------------------------------------------------
# Schema validation, the same on both sides


def validate_forms(package: Package, schema) -> list:
    """Normalize and validate every form of ``package`` with ``schema``; one ``FormResult`` each.

    Raises ``PackageError`` when the package is of another form type. Hidden (server-set)
    fields are not validated: the server sets them on import.
    """
    if package.form_type != schema.name:
        raise PackageError(
            _t('该上报文件的表单类型为“%(form_type)s”，不是“%(form)s”', form_type=_show(package.form_type), form=schema.text_label), "form_type", MANIFEST_NAME)
    results = []
    for entry in package.entries:
        data = schema.normalize(entry.data)
        errors = schema.validate(data)
        results.append(FormResult(entry.uuid, entry.file, schema.title(data), data, errors))
    return results


__all__ = [
    "FORMAT_NAME", "FORMAT_VERSION", "MANIFEST_NAME",
    "MAX_PACKAGE_BYTES", "MAX_FORMS", "MAX_ENTRIES", "MAX_MANIFEST_BYTES", "MAX_FORM_BYTES",
    "MAX_TOTAL_BYTES", "MAX_COMPRESSION_RATIO", "RATIO_CHECK_MIN_BYTES", "MAX_JSON_DEPTH",
    "MAX_NAME_LENGTH", "MAX_DIRECTORY_RECORD_BYTES", "PackageError", "UploadBudget", "Package", "PackageForm", "FormResult", "FieldError",
    "write_package", "write_package_file", "pack", "read_package", "validate_forms",
    "json_depth_exceeds", "json_scan", "safe_file_title",
]
