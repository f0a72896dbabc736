"""The package format: round trips, Windows-made zips, and every hostile package refused cheaply."""
import hashlib
import io
import json
import os
import struct
import uuid
import warnings
import zipfile
import zlib

import pytest

from app.forms import package as pkg
from app.forms.package import (
    MANIFEST_NAME,
    PackageError,
    json_depth_exceeds,
    pack,
    read_package,
    validate_forms,
    write_package,
    write_package_file,
)
from plugins.basic_info.schema import SCHEMA, example_form
from tests.support.hostile_packages import (declared_bomb, deep_brackets, huge_json, lying_bomb,
                                            many_entries)
from tests.support.reading import counting_reads

def forms(n):
    return [example_form(variant=i) for i in range(n)]


def sample(n=1):
    return pack(SCHEMA, forms(n), "pucha-filler", "1.0.0")


def raw_zip(entries, compression=zipfile.ZIP_DEFLATED):
    """A zip with exactly these (name, bytes) entries."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=compression) as zf:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=(2015, 3, 1, 22, 9, 46))
            info.compress_type = compression
            zf.writestr(info, data)
    return buf.getvalue()


def manifest_for(items, **changes):
    manifest = {
        "format": "pucha-package",
        "format_version": 1,
        "form_type": "basic_info",
        "schema_version": 1,
        "client": {"name": "pucha-filler", "version": "1.0.0"},
        "created_at": "2015-03-01T22:09:46+08:00",
        "forms": [
            {"uuid": u, "file": f, "sha256": hashlib.sha256(p).hexdigest(), "size": len(p)}
            for u, f, p in items
        ],
    }
    manifest.update(changes)
    return json.dumps(manifest, ensure_ascii=False).encode("utf-8")


def package_of(items, extra=(), compression=zipfile.ZIP_DEFLATED, **changes):
    """A package whose manifest lists ``items`` = [(uuid, file, payload bytes)] truthfully."""
    entries = [(MANIFEST_NAME, manifest_for(items, **changes))] + [(f, p) for _, f, p in items] + list(extra)
    return raw_zip(entries, compression=compression)


def one_item(payload=None, form_uuid=None):
    form_uuid = form_uuid or str(uuid.uuid4())
    if payload is None:
        payload = json.dumps(example_form(uuid=form_uuid), ensure_ascii=False).encode("utf-8")
    return form_uuid, f"政府网站基本信息表/测试_{form_uuid[:8]}.json", payload


def entries_of(data):
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return [(info.filename, zf.read(info)) for info in zf.infolist()]


# Refused cheaply, counted (tests/support/reading.py) rather than timed: the seconds of the same
# shapes are measured by ``python -m bench.hostile`` (tests/support/hostile_packages.py).
END_RECORD_SEARCH = 22 + 65535  # the tail where the end record is looked for, as zipfile does


def size_of(data):
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    if hasattr(data, "getbuffer"):
        return len(data.getbuffer())
    return os.path.getsize(data)


def refused(data, code, *fragments, **kwargs):
    """Assert that reading ``data`` is refused with ``code`` and a Chinese message holding
    ``fragments``, having cost no more than a refusal may: the upload read about once (zipfile
    reads the end record and the directory again after the reader's own check), no entry
    inflated beyond its cap, no entry parsed twice. ``err.cost`` holds the counts."""
    with counting_reads() as cost:
        with pytest.raises(PackageError) as info:
            read_package(data, **kwargs)
    err = info.value
    err.cost = cost
    assert err.code == code, (err.code, err.message)
    for fragment in fragments:
        assert fragment in err.message, err.message
    assert cost.source_bytes <= 2 * (size_of(data) + END_RECORD_SEARCH), cost
    assert cost.directory_records <= pkg.MAX_ENTRIES, cost
    assert cost.inflated <= pkg.MAX_MANIFEST_BYTES + len(cost.opened) * (pkg.MAX_FORM_BYTES + 1), cost
    assert len(cost.parsed) <= len(cost.opened) and cost.parsed_chars <= cost.inflated, cost
    # Messages are for people: Chinese.
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err.message)
    return err


# ---------------------------------------------------------------------------- round trips


def test_round_trip_one_form():
    form = example_form()
    data = pack(SCHEMA, [form], "pucha-filler", "1.2.3")
    package = read_package(data, expected_form_type="basic_info")
    assert package.forms == [(form["uuid"], form)]
    m = package.manifest
    assert (m["format"], m["format_version"], m["form_type"], m["schema_version"]) == ("pucha-package", 1, "basic_info", 1)
    assert m["client"] == {"name": "pucha-filler", "version": "1.2.3"}
    assert m["created_at"] and package.created_at == m["created_at"]
    [listed] = m["forms"]
    assert listed["file"] == f"政府网站基本信息表/杭州市上城区人民政府_{form['uuid'][:8]}.json"
    assert listed["size"] > 0 and len(listed["sha256"]) == 64
    assert package.files == {form["uuid"]: listed["file"]}
    assert package.recovered_names == []


def test_written_entries_carry_the_utf8_flag_and_manifest_comes_first():
    with zipfile.ZipFile(io.BytesIO(sample(2))) as zf:
        infos = zf.infolist()
    assert infos[0].filename == MANIFEST_NAME
    for info in infos[1:]:
        assert info.flag_bits & 0x800
        assert info.compress_type == zipfile.ZIP_DEFLATED


def test_round_trip_500_forms_reads_each_entry_once():
    many = forms(500)
    data = pack(SCHEMA, many, "pucha-filler", "1.0.0")
    with counting_reads() as cost:
        package = read_package(data)
    results = validate_forms(package, SCHEMA)
    assert [u for u, _ in package.forms] == [f["uuid"] for f in many]
    assert [d for _, d in package.forms] == many
    assert all(r.ok for r in results)
    # Linear work, whatever the machine (the seconds: honest_100 and honest_1000 of bench.hostile):
    # the manifest and each form opened, inflated and parsed exactly once, the zip read about once.
    listed = [e["file"] for e in package.manifest["forms"]]
    assert cost.opened == [MANIFEST_NAME] + listed
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert cost.inflated == sum(info.file_size for info in zf.infolist())
    assert len(cost.parsed) == 501 and cost.directory_records == 501
    assert cost.source_bytes <= 2 * len(data)


def test_write_and_read_a_file_and_a_file_object(tmp_path):
    target = tmp_path / "out" / "上报.zip"
    many = forms(3)
    write_package_file(target, many, "basic_info", 1, "pucha-filler", "1.0.0",
                       folder=SCHEMA.package_folder, title=SCHEMA.title)
    assert [d for _, d in read_package(target).forms] == many
    assert [d for _, d in read_package(str(target)).forms] == many
    with open(target, "rb") as fh:
        assert len(read_package(fh)) == 3
    assert not list(tmp_path.glob("out/.pucha-*"))  # no temporary file left behind
    pack(SCHEMA, many, "pucha-filler", "1.0.0", path=tmp_path / "p.zip")
    assert len(read_package(tmp_path / "p.zip")) == 3


def test_plain_write_package_names_files_by_uuid():
    form = example_form()
    data = write_package([form], "basic_info", 1, "x", "1")
    assert read_package(data).files[form["uuid"]] == f"basic_info/{form['uuid']}.json"


def test_file_names_are_safe_for_windows():
    form = example_form()
    form["fields"]["site_name"] = 'a/b\\c:d*e?"f<g>h|i  j.'
    data = pack(SCHEMA, [form], "x", "1")
    name = read_package(data).files[form["uuid"]]
    assert name == f"政府网站基本信息表/a_b_c_d_e_f_g_h_i_j_{form['uuid'][:8]}.json"
    form["fields"]["site_name"] = ""
    assert "未命名" in read_package(pack(SCHEMA, [form], "x", "1")).files[form["uuid"]]


def test_writer_refuses_what_the_reader_would_refuse():
    with pytest.raises(PackageError) as e:
        write_package([], "basic_info", 1, "x", "1")
    assert e.value.code == "empty"
    form = example_form()
    with pytest.raises(PackageError) as e:
        write_package([form, dict(form)], "basic_info", 1, "x", "1")
    assert e.value.code == "duplicate_uuid" and form["uuid"] in e.value.message
    with pytest.raises(PackageError) as e:
        write_package([{"uuid": "abc"}], "basic_info", 1, "x", "1")
    assert e.value.code == "uuid"
    big = example_form()
    big["fields"]["office_address"] = "址" * pkg.MAX_FORM_BYTES
    with pytest.raises(PackageError) as e:
        write_package([big], "basic_info", 1, "x", "1")
    assert e.value.code == "form_too_large"


# ---------------------------------------------------------------------------- real-world zips


class WindowsGbkInfo(zipfile.ZipInfo):
    """An entry as a Chinese Windows zip tool writes it: the name in GBK, no UTF-8 flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("cp437"), self.flag_bits & ~0x800


def rezip_like_windows(data, top_folder=None, add_folders=True):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as out:
        names = set()
        for name, content in entries_of(data):
            if top_folder:
                name = f"{top_folder}/{name}"
            if add_folders and "/" in name:
                folder = name.rsplit("/", 1)[0] + "/"
                if folder not in names:
                    names.add(folder)
                    out.writestr(WindowsGbkInfo(folder.encode("gbk").decode("cp437")), b"")
            out.writestr(WindowsGbkInfo(name.encode("gbk").decode("cp437")), content)
    return buf.getvalue()


def test_package_rezipped_by_a_chinese_windows_tool_reads():
    original = sample(3)
    data = rezip_like_windows(original)
    # The simulation is faithful: GBK bytes on disk, no UTF-8 flag.
    assert "政府网站基本信息表".encode("gbk") in data
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert not any(info.flag_bits & 0x800 for info in zf.infolist())
    package = read_package(data)
    assert package.forms == read_package(original).forms
    assert any("政府网站基本信息表" in n for n in package.recovered_names)


def test_utf8_names_without_the_flag_read():
    class Utf8NoFlag(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):
            return self.filename.encode("utf-8"), self.flag_bits & ~0x800

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as out:
        for name, content in entries_of(sample(2)):
            out.writestr(Utf8NoFlag(name), content)
    assert len(read_package(buf.getvalue())) == 2


def test_package_unpacked_and_rezipped_inside_a_folder_reads():
    data = rezip_like_windows(sample(2), top_folder="上报文件")
    assert len(read_package(data)) == 2


def test_os_litter_is_ignored():
    entries = entries_of(sample(1)) + [("__MACOSX/._manifest.json", b"\0" * 10), ("Thumbs.db", b"x")]
    assert len(read_package(raw_zip(entries))) == 1


def test_stored_entries_read():
    assert len(read_package(raw_zip(entries_of(sample(2)), compression=zipfile.ZIP_STORED))) == 2


# ---------------------------------------------------------------------------- not ours


def test_not_a_zip():
    refused(b"hello, this is not a zip", "not_zip", "不是 zip")
    refused(b"", "not_zip")
    refused(b"Rar!\x1a\x07\x00" + b"\0" * 100, "not_zip", "RAR")
    refused(b"\xd0\xcf\x11\xe0" + b"\0" * 100, "not_zip", "Office")
    data = sample(2)
    refused(data[: len(data) // 2], "not_zip", "已损坏")


def test_zip_without_manifest():
    refused(raw_zip([("readme.txt", b"hi")]), "not_our_format", "manifest.json")


def test_manifest_of_another_format():
    item = one_item()
    refused(package_of([item], format="other"), "not_our_format", "不是本系统的上报文件")
    refused(raw_zip([(MANIFEST_NAME, b"[1, 2]")]), "not_our_format")


@pytest.mark.parametrize("version", [2, 0, "1", None, True])
def test_unknown_format_version(version):
    refused(package_of([one_item()], format_version=version), "format_version", "格式版本", "最新填报客户端")


def test_wrong_form_type():
    err = refused(sample(1), "form_type", "basic_info", expected_form_type="self_check")
    assert "self_check" in err.message
    with pytest.raises(PackageError):
        validate_forms(read_package(package_of([one_item()], form_type="inspection")), SCHEMA)


def test_bad_manifest_fields():
    item = one_item()
    refused(package_of([item], client="filler"), "bad_manifest", "client")
    refused(package_of([item], schema_version="v1"), "bad_manifest")
    refused(package_of([item], forms={}), "bad_manifest")
    refused(package_of([], forms=[]), "empty", "没有表单")
    bad = json.loads(manifest_for([item]))
    bad["forms"][0]["sha256"] = "xyz"
    refused(raw_zip([(MANIFEST_NAME, json.dumps(bad).encode()), item[1:]]), "bad_manifest", "第 1 项")


# ---------------------------------------------------------------------------- edited or damaged


def test_form_edited_by_hand_same_size():
    entries = entries_of(sample(2))
    name, content = entries[1]
    edited = content.replace("杭州市上城区人民政府".encode(), "杭州市下城区人民政府".encode(), 1)
    assert len(edited) == len(content) and edited != content
    entries[1] = (name, edited)
    err = refused(raw_zip(entries), "checksum", "校验码不一致", "手工修改")
    assert err.entry == name


def test_form_edited_by_hand_other_size():
    entries = entries_of(sample(1))
    name, content = entries[1]
    entries[1] = (name, content.replace("工作动态".encode(), "工作动态栏目".encode()))
    refused(raw_zip(entries), "checksum", "与清单不符")


def test_missing_form_file():
    entries = entries_of(sample(3))
    del entries[2]
    refused(raw_zip(entries), "missing_file", "缺少表单文件")


def test_extra_unexpected_entry():
    entries = entries_of(sample(1)) + [("政府网站基本信息表/偷偷加的.json", b"{}")]
    refused(raw_zip(entries), "extra_file", "偷偷加的.json", "清单以外")


def test_uuid_in_file_differs_from_manifest():
    other = str(uuid.uuid4())
    form_uuid, file, _ = one_item()
    payload = json.dumps(example_form(uuid=other)).encode()
    refused(package_of([(form_uuid, file, payload)]), "uuid_mismatch", "内部标识与清单不一致")


def test_duplicate_uuid_in_manifest():
    a = one_item()
    b = (a[0], "政府网站基本信息表/另一份.json", a[2])
    refused(package_of([a, b]), "duplicate_uuid", a[0])


def test_duplicate_entry_names():
    entries = entries_of(sample(1))
    with warnings.catch_warnings():  # zipfile may warn about the duplicate we want
        warnings.simplefilter("ignore")
        data = raw_zip(entries + entries[1:])
    refused(data, "duplicate_entry", "同名文件")


def test_damaged_compressed_data():
    data = bytearray(sample(1))
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as zf:
        info = zf.infolist()[1]
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    for i in range(start + 10, start + 40):
        data[i] ^= 0x5A
    refused(bytes(data), "damaged", "已损坏")


def test_encrypted_entry():
    entries = entries_of(sample(1))
    data = bytearray(raw_zip(entries))
    # Set the "encrypted" flag bit of the form's central directory record.
    cd = data.rfind(b"PK\x01\x02")
    flags = struct.unpack("<H", data[cd + 8:cd + 10])[0] | 0x1
    data[cd + 8:cd + 10] = struct.pack("<H", flags)
    refused(bytes(data), "encrypted", "加密")


# ---------------------------------------------------------------------------- bombs and sizes


def test_bomb_declared_1gb_actual_4kb():
    bomb = declared_bomb(1024 ** 3)
    assert len(bomb) < 8 * 1024
    err = refused(bomb, "entry_too_large", "过大")
    assert err.cost.opened == [MANIFEST_NAME]  # told from the header: the form never inflated


def test_bomb_with_honest_headers_is_refused_by_ratio():
    # 900 KB of spaces inflates from ~1 KB: under the per-form cap, far above any honest ratio.
    payload = b'{"uuid": "x", "pad": "' + b" " * (900 * 1024) + b'"}'
    data = package_of([one_item(payload=payload)])
    assert len(data) < 10 * 1024
    err = refused(data, "compression_ratio", "压缩炸弹")
    assert err.cost.opened == [MANIFEST_NAME]


def test_bomb_lying_small_declared_size_is_capped():
    # 64 MB of zeros declared as 5,000 bytes: reading stops at the declared size, the CRC fails.
    bomb = lying_bomb(megabytes=64, declared=5000)
    assert len(bomb) < 200 * 1024
    err = refused(bomb, "damaged", "已损坏")
    manifest_bytes = err.cost.parsed[0]
    assert err.cost.inflated <= manifest_bytes + 5001  # not the 64 MB


def test_stream_cap_holds_even_if_the_declared_size_is_ignored(monkeypatch):
    # Belt and braces: if a zip library ever trusted the data over the header, the read is still capped.
    monkeypatch.setattr(pkg, "_check_declared", lambda *a, **k: None)
    payload = b'{"pad": "' + b" " * (3 * 1024 * 1024) + b'"}'
    # Through read_package the manifest's own size refuses it first, before the form is opened ...
    err = refused(package_of([one_item(payload=payload)]), "entry_too_large")
    assert err.cost.opened == [MANIFEST_NAME]
    # ... so the cap itself is tested on the entry: it stops one byte past the limit.
    with zipfile.ZipFile(io.BytesIO(raw_zip([("big.json", payload)]))) as zf, counting_reads() as cost:
        with pytest.raises(PackageError) as info:
            pkg._read_capped(zf, zf.getinfo("big.json"), "big.json", 5000, "表单文件")
    assert info.value.code == "entry_too_large" and cost.inflated == 5001


def test_ten_thousand_entries():
    err = refused(many_entries(10_000), "too_many_entries", "10,000")
    # Told from the end record: zipfile never parsed the 10,000 records, only the tail was read.
    assert err.cost.directory_records == 0 and err.cost.source_bytes <= 8 + END_RECORD_SEARCH


def test_package_file_too_big_is_refused_by_size(tmp_path):
    big = tmp_path / "big.zip"
    with open(big, "wb") as fh:
        fh.write(b"PK\x03\x04")
        fh.truncate(pkg.MAX_PACKAGE_BYTES + 1)  # sparse: costs no disk
    refused(big, "package_too_large", "过大")


def test_50mb_json_is_refused_before_inflating():
    err = refused(huge_json(50), "entry_too_large", "过大")
    assert err.cost.opened == [MANIFEST_NAME]
    # Also when the manifest lies about the size: the zip's own header gives it away.
    payload = b'{"uuid": "x", "pad": "' + b"a" * (50 * 1024 * 1024) + b'"}'
    form_uuid, file, _ = one_item()
    lying = raw_zip([(MANIFEST_NAME, manifest_for([(form_uuid, file, b"{}")])), (file, payload)])
    err = refused(lying, "entry_too_large")
    assert err.cost.opened == [MANIFEST_NAME]


def test_total_uncompressed_size_is_capped(monkeypatch):
    monkeypatch.setattr(pkg, "MAX_TOTAL_BYTES", 10_000)
    refused(sample(5), "package_too_large", "解压后过大")


# ---------------------------------------------------------------------------- path tricks


@pytest.mark.parametrize("name,reason", [
    ("../evil.json", "上级目录"),
    ("政府网站基本信息表/../../evil.json", "上级目录"),
    ("/etc/passwd", "绝对路径"),
    ("C:\\x", "反斜杠"),
    ("C:/Windows/x.json", "盘符"),
    ("政府网站基本信息表\\a.json", "反斜杠"),
    ("./a.json", "上级目录"),
    ("a//b.json", "空的目录名"),
])
def test_path_tricks(name, reason):
    data = raw_zip(entries_of(sample(1)) + [(name, b"{}")])
    refused(data, "unsafe_path", "不安全", reason)


def test_path_with_nul():
    class NulName(zipfile.ZipInfo):
        def _encodeFilenameFlags(self):
            return b"evil.json\x00.txt", self.flag_bits

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, content in entries_of(sample(1)):
            zf.writestr(zipfile.ZipInfo(name), content)
        zf.writestr(NulName("placeholder"), b"{}")
    refused(buf.getvalue(), "unsafe_path", "空字符")


def test_path_tricks_in_the_manifest():
    form_uuid, _, payload = one_item()
    refused(package_of([(form_uuid, "../x.json", payload)]), "unsafe_path")


# ---------------------------------------------------------------------------- JSON shape


def test_deep_json_100000_levels():
    payload = b"[" * 100_000 + b"]" * 100_000
    # Stored, so it gets past the compression-ratio check to the depth check, which comes before
    # the recursive parser: only the manifest reaches json.loads ...
    err = refused(deep_brackets(100_000), "json_too_deep", "嵌套层次")
    assert len(err.cost.parsed) == 1
    # ... deflated, the ratio check refuses it even earlier, before inflating.
    err = refused(package_of([one_item(payload=payload)]), "compression_ratio")
    assert err.cost.opened == [MANIFEST_NAME]


def test_deep_json_manifest():
    refused(raw_zip([(MANIFEST_NAME, b"{" + b'"a":{' * 50 + b"}" * 51)]), "json_too_deep")


def test_depth_scanner_ignores_brackets_inside_strings():
    form = example_form()
    form["fields"]["site_name"] = "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[ {{{{{{{{{{{{{{{{{{{{{{{{{ \"\\\" [[[["
    assert read_package(pack(SCHEMA, [form], "x", "1")).forms[0][1] == form
    assert json_depth_exceeds("[" * 21 + "]" * 21)
    assert not json_depth_exceeds("[" * 20 + "]" * 20)
    assert not json_depth_exceeds('["' + "[" * 100 + '"]')


@pytest.mark.parametrize("payload", [b"[]", b'"text"', b"42", b"null"])
def test_non_object_json(payload):
    refused(package_of([one_item(payload=payload)]), "not_object", "不是 JSON 对象")


def test_invalid_json():
    refused(package_of([one_item(payload=b'{"uuid": ')]), "bad_json", "不是有效的 JSON")
    refused(package_of([one_item(payload=b'{"a": NaN}')]), "bad_json")


def test_invalid_utf8():
    refused(package_of([one_item(payload=b'{"a": "\xff\xfe\xb0"}')]), "encoding", "UTF-8")
    # A form saved as GBK by a text editor is not UTF-8 either.
    refused(package_of([one_item(payload='{"a": "政府"}'.encode("gbk"))]), "encoding")


# ---------------------------------------------------------------------------- validate_forms


def test_validate_forms_reports_per_form_with_the_schema_messages():
    good, bad = example_form(variant=0), example_form(variant=1)
    bad["fields"]["principal_phone"] = "12345678"
    bad["fields"]["contact_mobile"] = "１３９０５７１０００２"  # full-width, normalized
    results = validate_forms(read_package(pack(SCHEMA, [good, bad], "x", "1")), SCHEMA)
    assert [r.ok for r in results] == [True, False]
    [err] = results[1].errors
    assert err.path == "fields.principal_phone"
    assert err.message == '负责人办公电话应为"区号-号码"，可带分机号，如 010-12345678-123'
    assert results[1].data["fields"]["contact_mobile"] == "13905710002"
    assert results[1].title == "杭州市上城区民政局"
    assert results[1].to_dict()["errors"][0]["code"] == "format"
    # The same errors the filler gets from the schema directly.
    assert results[1].errors == SCHEMA.validate(SCHEMA.normalize(bad))


def test_committed_sample_package_reads_and_validates():
    from pathlib import Path

    sample_zip = Path(__file__).resolve().parent.parent / "docs" / "sample-package.zip"
    package = read_package(sample_zip, expected_form_type="basic_info")
    results = validate_forms(package, SCHEMA)
    assert len(results) == 3 and all(r.ok for r in results)


# ---------------------------------------------------------------------------- the lying directory


def _no_zipfile(monkeypatch):
    """Make any use of zipfile.ZipFile by the reader fail the test: the refusal must come first."""
    def refuse(*args, **kwargs):
        raise AssertionError("zipfile.ZipFile was reached")
    monkeypatch.setattr(pkg.zipfile, "ZipFile", refuse)


@pytest.mark.parametrize("zip64", [False, True])
def test_a_directory_larger_than_its_end_record_is_refused_before_zipfile(monkeypatch, zip64):
    from tests.support.hostile_packages import count_directory_records, lying_directory

    data = lying_directory(records=1_000_002, declared=2, zip64=zip64)
    assert len(data) > 50 * 1024 * 1024 and count_directory_records(data) == 1_000_002
    _no_zipfile(monkeypatch)
    err = refused(data, "directory_mismatch", "zip 目录")
    assert "2" in err.message
    # Refused from the end record's numbers: the 53 MB directory is never read.
    assert err.cost.source_bytes <= 8 + END_RECORD_SEARCH + 2 * 1024


def test_a_directory_walk_stops_one_record_past_the_declared_count(monkeypatch):
    from tests.support.hostile_packages import lying_directory

    calls = []
    original = pkg._RECORD.unpack_from
    monkeypatch.setattr(pkg, "_RECORD", type("R", (), {
        "size": pkg._RECORD.size,
        "unpack_from": staticmethod(lambda *a: calls.append(1) or original(*a))}))
    # Small enough to pass the size check (3 records may take up to 3 × 3 KB): the walk decides.
    refused(lying_directory(records=150, declared=3), "directory_mismatch", "比结尾记录声明的多")
    assert len(calls) == 3  # three records read, the fourth found, nothing more parsed


def test_a_directory_smaller_than_declared_or_elsewhere_is_refused(monkeypatch):
    from tests.support.hostile_packages import lying_directory

    refused(lying_directory(records=2, declared=5), "directory_mismatch")
    data = bytearray(sample(2))
    end = data.rfind(b"PK\x05\x06")
    offset = struct.unpack_from("<L", data, end + 16)[0]
    struct.pack_into("<L", data, end + 16, offset - 1)  # the directory "starts" a byte early
    refused(bytes(data), "directory_mismatch")


def test_a_directory_too_big_for_its_count_is_refused_without_reading_it(monkeypatch):
    from tests.support.hostile_packages import lying_directory

    data = lying_directory(records=10_000, declared=2)
    reads = []

    class Counting(io.BytesIO):
        def read(self, n=-1):
            out = super().read(n)
            reads.append(len(out))
            return out

    refused(Counting(data), "directory_mismatch")
    assert sum(reads) < 70 * 1024  # the end record's tail, never the 530 KB directory


def test_honest_zips_pass_the_directory_check():
    for data in (sample(3), rezip_like_windows(sample(2)), raw_zip([(MANIFEST_NAME, b"{}")])):
        pkg._check_directory(io.BytesIO(data), len(data))


# ---------------------------------------------------------------------------- one upload's budget


def budget(**limits):
    values = dict(max_forms=100, max_bytes=2 * 1024 * 1024, max_values=20_000)
    values.update(limits)
    return pkg.UploadBudget(**values)


def test_the_budget_is_shared_by_every_package_of_one_upload():
    shared = budget(max_forms=5)
    read_package(sample(3), budget=shared)
    assert shared.forms == 3 and shared.bytes > 0 and shared.values > 3 * 100
    err = refused(sample(3), "upload_too_many_forms", "一次最多导入 5 份", budget=shared)
    assert "分批" in err.message
    assert shared.forms == 3  # a refused package charges nothing


def test_too_many_forms_are_refused_before_any_form_is_inflated(monkeypatch):
    inflated = []
    real = pkg._read_capped
    monkeypatch.setattr(pkg, "_read_capped", lambda zf, info, *a: inflated.append(info.filename) or real(zf, info, *a))
    refused(sample(4), "upload_too_many_forms", budget=budget(max_forms=3))
    assert inflated == [MANIFEST_NAME]


def test_declared_bytes_over_the_budget_are_refused_before_inflating(monkeypatch):
    inflated = []
    real = pkg._read_capped
    monkeypatch.setattr(pkg, "_read_capped", lambda zf, info, *a: inflated.append(info.filename) or real(zf, info, *a))
    refused(sample(3), "upload_too_large", "解压后过大", budget=budget(max_bytes=4000))
    assert inflated == [MANIFEST_NAME]
    inflated.clear()
    refused(sample(3), "upload_too_large", budget=budget(max_bytes=100))
    assert inflated == []  # even the manifest is over


def test_json_values_over_the_budget_are_refused_before_parsing(monkeypatch):
    from tests.support.hostile_packages import wide_meta

    parsed = []
    real = pkg.json.loads
    monkeypatch.setattr(pkg.json, "loads", lambda text, **k: parsed.append(len(text)) or real(text, **k))
    err = refused(wide_meta(count=3, lists=9000), "upload_too_complex", "数据项过多", budget=budget())
    assert len(parsed) == 3 and err.entry  # the manifest and two forms; the third never parsed


def test_json_scan_counts_values_and_ignores_text():
    assert pkg.json_scan('{"a": [1, 2.5e3, -3, true, false, null, "x[{"]}') == (False, 10)
    assert pkg.json_scan("[]," * 1000)[1] == 1000
    assert pkg.json_scan("[" * 21 + "]" * 21) == (True, 21)
    assert pkg.json_scan('["[[[[[[[[[[[[[[[[[[[[[[[["]') == (False, 2)
    assert pkg.json_scan("[" * 100_000, value_limit=10) == (False, 100_000)


def test_the_issues_padded_forms_are_refused_by_the_upload_budget():
    from tests.support.hostile_packages import padded_forms

    data = padded_forms(count=101, form_bytes=59 * 1024)  # each under the ratio floor and 1 MB
    refused(data, "upload_too_many_forms", budget=budget())
    refused(padded_forms(count=60, form_bytes=59 * 1024), "upload_too_large", budget=budget())


def test_a_manifest_padded_beyond_what_its_forms_need_is_refused_before_parsing():
    items = [one_item()]
    data = package_of(items, padding=[[] for _ in range(5000)])  # readers ignore unknown keys
    read_package(data)  # a reader without a budget takes it
    refused(data, "upload_too_many_forms", "清单文件", budget=budget())


def test_a_refused_package_leaves_the_budget_as_it_was():
    shared = budget(max_values=1000)
    read_package(sample(2), budget=shared)
    spent = shared.snapshot()
    refused(sample(5), "upload_too_complex", budget=shared)
    assert shared.snapshot() == spent
