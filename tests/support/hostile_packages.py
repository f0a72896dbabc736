"""Hostile packages, built for the tests and for ``bench/hostile.py`` (the same shapes, so the
benchmark measures the seconds of what the tests refuse and count): shapes that stay inside the
per-entry limits, and shapes refused from their headers alone.

Each builder returns zip bytes. The forms are the filler's own (``write_package``) wherever the
shape allows, so a package is refused for its size or its work, not for a broken format.
"""
import copy
import hashlib
import io
import json
import struct
import uuid as uuid_module
import zipfile

from app.forms.package import MANIFEST_NAME, write_package
from plugins.basic_info.schema import SCHEMA, example_form


def _write(forms):
    return write_package(forms, SCHEMA.name, SCHEMA.version, "pucha-filler", "1.0.0",
                         folder=SCHEMA.package_folder, title=SCHEMA.title)


def _form(index, **fields):
    form = example_form(uuid=str(uuid_module.UUID(int=index + 1, version=4)), variant=index)
    form["fields"].update(fields)
    return form


def padded_forms(count=4000, form_bytes=59 * 1024):
    """``count`` forms of about ``form_bytes`` each (the issue's shape: each under the ratio
    floor and the per-form limit), padded in 网站名称 so the title itself is huge."""
    base = len(json.dumps(_form(0), ensure_ascii=False, indent=2).encode())
    # 网站名称 is Chinese: three UTF-8 bytes a character; vary the text so it still compresses
    # well but not trivially.
    chars = max(0, (form_bytes - base) // 3)
    pad = ("网站名称填充" * (chars // 6 + 1))[:chars]
    return _write([_form(i, site_name=f"{i}{pad}") for i in range(count)])


def many_column_rows(count=50, rows_per_slot=100):
    """Forms whose every slot holds the schema's maximum number of short rows."""
    forms = []
    for i in range(count):
        form = _form(i)
        table = form["columns"]
        for group in table.values():
            for slot in group:
                group[slot] = [{"name": f"栏目{n}", "address": f"http://e.gov.cn/{n}"}
                               for n in range(rows_per_slot)]
        forms.append(form)
    return _write(forms)


def wide_meta(count=1000, lists=6000):
    """Forms whose unvalidated ``meta`` is a wide list of empty lists: the most Python objects
    per byte of JSON (each ``[],`` becomes a list). At the default size each form stays under
    the ratio floor."""
    forms = []
    for i in range(count):
        form = _form(i)
        form["meta"] = {"x": [[] for _ in range(lists)]}
        forms.append(form)
    return _write(forms)


def huge_forms(count=60, form_bytes=1000 * 1024):
    """Forms of just under the per-form limit, with text that compresses at an honest ratio."""
    forms = []
    for i in range(count):
        form = _form(i)
        base = len(json.dumps(form, ensure_ascii=False, indent=2).encode())
        # Hex digits of a hash chain: about 2:1 under deflate, far from any bomb ratio.
        text, seed = [], hashlib.sha256(str(i).encode()).digest()
        while len(text) * 64 < form_bytes - base - 64:
            seed = hashlib.sha256(seed).digest()
            text.append(seed.hex())
        form["meta"] = {"note": "".join(text)}
        forms.append(form)
    return _write(forms)


def deep_json(count=500, copies=40):
    """Forms nested to the allowed depth, many times over."""
    forms = []
    deep = "x"
    for _ in range(17):  # + fields/meta/document levels = the limit of 20
        deep = [deep]
    for i in range(count):
        form = _form(i)
        form["meta"] = {"deep": [copy.deepcopy(deep) for _ in range(copies)]}
        forms.append(form)
    return _write(forms)


# --- the lying central directory -------------------------------------------------------------


def _central_record(name, local_offset):
    raw = name.encode()
    # version made by / needed, flags, method, time, date, crc, sizes, name/extra/comment
    # lengths, disk, attributes, local header offset.
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0,
                       len(raw), 0, 0, 0, 0, 0, local_offset) + raw


def lying_directory(records=1_000_002, declared=2, zip64=False):
    """A zip whose central directory holds ``records`` records while the end record (or the
    ZIP64 end record) claims ``declared``: zipfile would parse every record before anyone
    could count them."""
    local = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, len(MANIFEST_NAME), 0)
    local += MANIFEST_NAME.encode()
    one = _central_record("f000000", 0)
    directory = one * records
    offset = len(local)
    tail = b""
    if zip64:
        zip64_end = struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0,
                                declared, declared, len(directory), offset)
        locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, offset + len(directory), 1)
        tail = zip64_end + locator
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                          0xFFFFFFFF, 0)
    else:
        end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, declared, declared, len(directory),
                          offset, 0)
    return local + directory + tail + end


def count_directory_records(data):
    """How many central-directory records ``data`` really holds (for the tests' own checks)."""
    return data.count(b"PK\x01\x02")


def honest_forms(count):
    """``count`` valid, realistic forms as the filler writes them."""
    return _write([_form(i, site_name=f"杭州市上城区测试网站{i}",
                         home_url=f"http://s{i}.hzsc.gov.cn/") for i in range(count)])


def invalid_forms(count=200):
    """Forms whose every field is wrong: the most error messages per form."""
    bad = {name: "x" * 199 for name in (f.name for f in SCHEMA.fields)}
    return _write([_form(i, **bad) for i in range(count)])


# --- refused from the headers alone (tests/test_package.py) -----------------------------------


def _one_entry_package(payload, compression=zipfile.ZIP_DEFLATED, listed=None):
    """A package whose manifest lists one form file holding ``payload`` (``listed``: the bytes
    the manifest describes instead, when it lies)."""
    form_uuid = str(uuid_module.UUID(int=1, version=4))
    name = f"{SCHEMA.package_folder}/测试_{form_uuid[:8]}.json"
    described = payload if listed is None else listed
    manifest = {
        "format": "pucha-package", "format_version": 1, "form_type": SCHEMA.name,
        "schema_version": SCHEMA.version, "client": {"name": "pucha-filler", "version": "1.0.0"},
        "created_at": "2015-03-01T22:09:46+08:00",
        "forms": [{"uuid": form_uuid, "file": name, "size": len(described),
                   "sha256": hashlib.sha256(described).hexdigest()}],
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        zf.writestr(MANIFEST_NAME, json.dumps(manifest, ensure_ascii=False).encode())
        zf.writestr(name, payload)
    return buf.getvalue()


def patch_sizes(data, entry_index, uncompressed):
    """Rewrite one entry's declared uncompressed size in its local and central headers."""
    data = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.infolist()[entry_index]
    data[info.header_offset + 22:info.header_offset + 26] = struct.pack("<I", uncompressed)
    pos, seen = 0, -1
    while seen < entry_index:
        pos = data.index(b"PK\x01\x02", pos + 1 if seen >= 0 else 0)
        seen += 1
    data[pos + 24:pos + 28] = struct.pack("<I", uncompressed)
    return bytes(data)


def many_entries(count=10_000):
    """A zip of ``count`` empty entries: too many, told from the end record alone."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        for i in range(count):
            zf.writestr(f"f{i}.json", b"")
    return buf.getvalue()


def declared_bomb(declared=1024 ** 3):
    """4 KB of form that declares ``declared`` bytes uncompressed (1 GB)."""
    return patch_sizes(_one_entry_package(b"{" + b" " * 4000 + b"}"), 1, declared)


def lying_bomb(megabytes=64, declared=5000):
    """``megabytes`` of zeros whose headers (and manifest) declare ``declared`` bytes."""
    bomb = _one_entry_package(b"\0" * (megabytes * 1024 * 1024), listed=b"\0" * declared)
    return patch_sizes(bomb, 1, declared)


def huge_json(megabytes=50):
    """One form of ``megabytes`` MB of JSON (a 50 KB zip), honest headers."""
    return _one_entry_package(b'{"uuid": "x", "pad": "' + b"a" * (megabytes * 1024 * 1024) + b'"}')


def deep_brackets(levels=100_000):
    """One stored form of ``levels`` nested arrays: past the ratio check to the depth check."""
    return _one_entry_package(b"[" * levels + b"]" * levels, compression=zipfile.ZIP_STORED)


# The attacks as the issue measured them, then the worst shapes that fit the default limits of
# one upload (config.py: 100 forms, 2 MiB uncompressed, 20,000 JSON values).
SHAPES = {
    "padded_forms_4000x59KB": padded_forms,
    "lying_directory_1000002": lying_directory,
    "lying_directory_zip64": lambda: lying_directory(zip64=True),
    "column_rows_50x1400": many_column_rows,
    "wide_meta_1000x6000": wide_meta,
    "huge_forms_60x1MB": huge_forms,
    "deep_json_500": deep_json,
    "honest_1000": lambda: honest_forms(1000),
    # within the limits
    "honest_100": lambda: honest_forms(100),
    "padded_forms_100x19KB": lambda: padded_forms(100, 19 * 1024),
    "invalid_forms_100": lambda: invalid_forms(100),
    "column_rows_2x1400": lambda: many_column_rows(2),
    "wide_meta_10x1800": lambda: wide_meta(10, 1800),
    "huge_forms_2x1MB": lambda: huge_forms(2),
    "deep_json_100": lambda: deep_json(100, 1),
    # refused from the headers, before much is read (tests/test_package.py)
    "many_entries_10000": many_entries,
    "declared_bomb_1GB": declared_bomb,
    "lying_bomb_64MB": lying_bomb,
    "huge_json_50MB": huge_json,
    "deep_brackets_100000": deep_brackets,
}

WITHIN_LIMITS = ("honest_100", "padded_forms_100x19KB", "invalid_forms_100", "column_rows_2x1400",
                 "wide_meta_10x1800", "huge_forms_2x1MB", "deep_json_100")


def reference_zip(entries):
    """A plain zip of ``(name, bytes)`` entries (no manifest checks)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries:
            zf.writestr(name, data)
    return buf.getvalue()
