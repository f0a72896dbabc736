"""The file store (app/files/storage.py): crash-safe writes, byte budgets, keys no user text can
steer, streamed reads; and the stored packages served through it."""
import hashlib
import io
import os

import pytest
from flask import Flask
from sqlalchemy import select

from app.errors import NotFound
from app.files import storage
from app.files.storage import FileStore, FileTooLarge, InvalidKey, clean_filename
from tests.support.accounts import KNOWN_PASSWORD, api_token, login, set_known_password

NS = "basic_info/packages"


@pytest.fixture
def store(tmp_path):
    return FileStore(tmp_path / "files")


def visible_files(store):
    """Every file under the store's root, temporary ones included."""
    return sorted(str(p.relative_to(store.root)) for p in store.root.rglob("*") if p.is_file())


# --- keys -------------------------------------------------------------------------------------


def test_put_keeps_bytes_under_a_content_addressed_key(store):
    data = b"PK\x03\x04 some package"
    blob = store.put(data, namespace=NS, suffix=".zip")
    digest = hashlib.sha256(data).hexdigest()
    assert blob.key == f"{NS}/{digest[:2]}/{digest}.zip"
    assert blob.sha256 == digest and blob.size == len(data)
    assert store.exists(blob.key) and store.size(blob.key) == len(data)
    with store.open(blob.key) as fh:
        assert fh.read() == data
    # The same bytes again: the same key, kept once.
    assert store.put(data, namespace=NS, suffix=".zip") == blob
    assert visible_files(store) == [blob.key]


@pytest.mark.parametrize("key", [
    "../../etc/passwd", "/etc/passwd", "basic_info/packages/../../../x",
    "basic_info/packages/ab/" + "a" * 64 + ".zip",  # shard does not match the digest
    "basic_info/packages/aa/" + "a" * 63 + ".zip", "basic_info/packages/aa/" + "A" * 64,
    "Basic/aa/" + "a" * 64, "basic_info/packages/aa/" + "a" * 64 + ".zip/../x", "", None,
    "basic_info\\packages\\aa\\" + "a" * 64,
])
def test_a_key_the_store_did_not_make_is_refused(store, key):
    with pytest.raises(InvalidKey):
        store.path(key)
    with pytest.raises(InvalidKey):
        store.open(key)
    with pytest.raises(InvalidKey):
        store.delete(key)


@pytest.mark.parametrize("namespace, suffix", [
    ("../x", ".zip"), ("/abs", ""), ("a/../b", ""), ("上报", ""), ("a", "/x"), ("a", ".zip/.."),
    ("", ".zip"), ("a", "zip"),
])
def test_namespaces_and_suffixes_are_the_codes_never_user_text(store, namespace, suffix):
    with pytest.raises(ValueError):
        store.put(b"x", namespace=namespace, suffix=suffix)
    with pytest.raises(ValueError):
        store.put_stream(io.BytesIO(b"x"), namespace=namespace, suffix=suffix)
    assert not store.root.exists() or visible_files(store) == []


def test_a_crafted_filename_never_reaches_the_disk(app, session):
    """The upload's name is only a label: the package lands under its digest."""
    from plugins.basic_info.commands import import_packages
    from plugins.basic_info.models import StoredPackage
    from tests.test_basic_info_import import actor

    report = import_packages(session, actor(session, "330102"),
                             [("../../../../etc/evil\x00.zip", b"PK\x03\x04x")])
    stored = session.get(StoredPackage, report.packages[0].package_id)
    assert stored.filename == "evil?.zip"
    digest = hashlib.sha256(b"PK\x03\x04x").hexdigest()
    assert stored.storage_key == f"{NS}/{digest[:2]}/{digest}.zip"
    root = app.config["FILE_STORAGE_DIR"]
    assert [p.name for p in root.rglob("*") if p.is_file()] == [f"{digest}.zip"]


def test_clean_filename_keeps_the_last_part_without_control_characters():
    assert clean_filename("C:\\用户\\桌面\\上城区.zip") == "上城区.zip"
    assert clean_filename("a/b\x07c.zip") == "b?c.zip"
    assert clean_filename("", "未命名.zip") == "未命名.zip"
    assert len(clean_filename("名" * 400)) == 255


# --- crash safety -------------------------------------------------------------------------------


class Breaks(io.RawIOBase):
    """A stream that delivers ``good`` bytes and then fails, as a dropped connection does."""

    def __init__(self, good):
        self.left = good

    def readable(self):
        return True

    def read(self, size=-1):
        if self.left <= 0:
            raise ConnectionResetError("client went away")
        n = min(self.left, size if size and size > 0 else self.left)
        self.left -= n
        return b"x" * n


def test_a_write_failing_midway_leaves_no_file_at_all(store):
    with pytest.raises(ConnectionResetError):
        store.put_stream(Breaks(3 * storage.CHUNK_BYTES + 5), namespace=NS, suffix=".zip")
    assert visible_files(store) == []


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_a_crash_at_the_rename_leaves_no_partial_file_visible(store, monkeypatch, step):
    """Killed after the bytes were written but before (or while) they were renamed into place:
    the key has no file, and nothing else is left but what the failure could not remove."""
    data = b"y" * (storage.CHUNK_BYTES * 2)
    key = store.key_for(hashlib.sha256(data).hexdigest(), namespace=NS, suffix=".zip")

    def boom(*args, **kwargs):
        raise OSError("power cut")

    monkeypatch.setattr(storage.os, step, boom)
    with pytest.raises(OSError):
        store.put_stream(io.BytesIO(data), namespace=NS, suffix=".zip")
    monkeypatch.undo()
    assert not store.exists(key)
    assert visible_files(store) == []
    # put (bytes known up front) goes through the same temporary-file-and-rename writer.
    monkeypatch.setattr("app.forms.atomic.os." + step, boom)
    with pytest.raises(OSError):
        store.put(data, namespace=NS, suffix=".zip")
    monkeypatch.undo()
    assert not store.exists(key) and visible_files(store) == []


def test_a_temporary_file_a_killed_process_left_is_never_a_key(store):
    blob = store.put_stream(io.BytesIO(b"whole"), namespace=NS, suffix=".zip")
    (store.root / NS / ".upload-leftover.tmp").write_bytes(b"half")
    with pytest.raises(InvalidKey):
        store.path(f"{NS}/.upload-leftover.tmp")
    assert store.exists(blob.key)


# --- the byte budget --------------------------------------------------------------------------


def test_a_stream_within_the_budget_is_kept(store):
    data = os.urandom(storage.CHUNK_BYTES + 17)
    blob = store.put_stream(io.BytesIO(data), namespace=NS, suffix=".zip", max_bytes=len(data))
    assert blob.sha256 == hashlib.sha256(data).hexdigest() and blob.size == len(data)
    with store.open(blob.key) as fh:
        assert fh.read() == data


def test_a_stream_over_the_budget_stops_there_and_keeps_nothing(store):
    class Endless(io.RawIOBase):
        read_bytes = 0

        def readable(self):
            return True

        def read(self, size=-1):
            Endless.read_bytes += size
            return b"z" * size

    with pytest.raises(FileTooLarge) as refused:
        store.put_stream(Endless(), namespace=NS, max_bytes=1_000_000, chunk=64 * 1024)
    assert refused.value.status == 413 and "1000000" in str(refused.value)
    # It read one chunk past the budget, not the endless rest.
    assert Endless.read_bytes <= 1_000_000 + 64 * 1024
    assert visible_files(store) == []


def test_a_stream_whose_bytes_are_kept_already_is_not_written_twice(store):
    first = store.put(b"same", namespace=NS)
    again = store.put_stream(io.BytesIO(b"same"), namespace=NS)
    assert again == first and visible_files(store) == [first.key]


# --- reads and deletes --------------------------------------------------------------------------


def test_delete_and_a_missing_file(store):
    blob = store.put(b"gone soon", namespace=NS, suffix=".zip")
    assert store.delete(blob.key) is True
    assert store.delete(blob.key) is False and not store.exists(blob.key)
    with pytest.raises(NotFound):
        store.open(blob.key)


def test_a_large_file_is_streamed_in_chunks_not_read_whole(store):
    data = os.urandom(8 * 1024 * 1024)
    blob = store.put_stream(io.BytesIO(data), namespace=NS, suffix=".zip")
    flask_app = Flask(__name__)
    with flask_app.test_request_context("/"):
        response = store.response(blob.key, download_name="大文件.zip", mimetype="application/zip")
        assert response.is_streamed and response.direct_passthrough
        assert response.content_length == len(data)
        # The body is an iterator over the open file, not the bytes.
        assert not isinstance(response.response, (bytes, list))
        chunks = list(response.response)
        response.close()
    assert len(chunks) > 100 and max(len(c) for c in chunks) <= 64 * 1024
    assert b"".join(chunks) == data
    assert "filename*=UTF-8''%E5%A4%A7%E6%96%87%E4%BB%B6.zip" in response.headers[
        "Content-Disposition"]


def test_downloads_answer_conditional_and_range_requests(store):
    blob = store.put(b"0123456789" * 100, namespace=NS, suffix=".zip")
    flask_app = Flask(__name__)
    with flask_app.test_request_context("/", headers={"Range": "bytes=10-19"}):
        response = store.response(blob.key, download_name="a.zip")
        assert response.status_code == 206 and b"".join(response.response) == b"0123456789"
        response.close()
    with flask_app.test_request_context("/", headers={"If-None-Match": f'"{blob.sha256}"'}):
        response = store.response(blob.key, download_name="a.zip")
        assert response.status_code == 304
        response.close()


# --- packages through the store -------------------------------------------------------------------


def _import(session, code, name, data):
    from plugins.basic_info.commands import import_packages
    from tests.test_basic_info_import import actor

    return import_packages(session, actor(session, code), [(name, data)]).packages[0]


def test_a_unit_downloads_the_package_it_handed_in_byte_for_byte(app, session, client):
    from plugins.basic_info.demo import package_bytes, site_form
    from plugins.basic_info.models import BasicInfoForm

    data = package_bytes([site_form("上城区测试网站", "t.hzsc.gov.cn", "否")])
    package = _import(session, "330102", "上城区.zip", data)
    set_known_password(session, "330102")
    login(client, "330102")
    response = client.get(f"/basic_info/package/{package.package_id}")
    assert response.status_code == 200 and response.data == data
    assert response.mimetype == "application/zip"
    assert "attachment" in response.headers["Content-Disposition"]
    assert "%E4%B8%8A%E5%9F%8E%E5%8C%BA.zip" in response.headers["Content-Disposition"]
    # The form's detail page links to it.
    form_id = session.scalars(select(BasicInfoForm.id).where(
        BasicInfoForm.package_id == package.package_id)).one()
    page = client.get(f"/basic_info/form/{form_id}").get_data(as_text=True)
    assert f"/basic_info/package/{package.package_id}" in page and "下载原上报文件" in page

    # The parent unit sees it too; the REST API serves the same bytes.
    set_known_password(session, "330100")
    api = app.test_client()
    headers = api_token(api, "330100", KNOWN_PASSWORD)
    response = api.get(f"/api/v1/basic_info/package/{package.package_id}", headers=headers)
    assert response.status_code == 200 and response.data == data


def test_a_sibling_cannot_download_another_units_package(app, session, client):
    package = _import(session, "330102", "上城区.zip", b"PK\x03\x04secret")
    set_known_password(session, "330106")
    login(client, "330106")
    response = client.get(f"/basic_info/package/{package.package_id}")
    assert response.status_code == 404 and b"secret" not in response.data
    assert (f"未找到上报文件（编号 {package.package_id}），或不在本单位管辖范围内"
            in response.get_data(as_text=True))

    set_known_password(session, "330106")
    api = app.test_client()
    headers = api_token(api, "330106", KNOWN_PASSWORD)
    response = api.get(f"/api/v1/basic_info/package/{package.package_id}", headers=headers)
    assert response.status_code == 404 and b"secret" not in response.data


def test_a_package_whose_file_is_gone_answers_404_not_500(app, session):
    from plugins.basic_info.models import StoredPackage

    package = _import(session, "330102", "坏.zip", b"PK\x03\x04purged")
    stored = session.get(StoredPackage, package.package_id)
    storage.current_store().delete(stored.storage_key)
    set_known_password(session, "330102")
    api = app.test_client()
    headers = api_token(api, "330102", KNOWN_PASSWORD)
    response = api.get(f"/api/v1/basic_info/package/{package.package_id}", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["message"] == "文件不存在或已被清理"
