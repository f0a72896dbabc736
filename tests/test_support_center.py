"""技术支持中心 (plugins/filecenter): an administrator publishes and retires the filler installer,
manuals and videos, edits the FAQ and the hotline; a visitor without an account downloads them,
the SHA-256 the page shows matching the bytes; the filler's version check announces the newest
published installer. Hostile uploads (a script named .exe, a PE named .pdf, an oversized file,
names with folders and control characters) are refused or neutralised; every change has its
audit row and needs the CSRF token."""
import hashlib
import io
import re

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from plugins.filecenter import commands
from plugins.filecenter.models import FaqEntry, SupportItem
from tests.support.accounts import login, set_known_password

# Chinese characters and the full-width punctuation that goes with them (：（）、).
CHINESE = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
ADMIN_PAGE = "/admin/support/"
PUBLISH = "/admin/support/items"
PE = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + bytes(range(256)) * 40
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 4000
PDF = b"%PDF-1.7\n" + b"1 0 obj <<>> endobj\n" * 50


@pytest.fixture
def admin(app, session):
    set_known_password(session, "admin")
    client = app.test_client()
    login(client, "admin")
    return client


def publish(client, data, kind="installer", filename="报送系统客户端.exe", title="填报客户端",
            version="1.2.0", note=""):
    return client.post(PUBLISH, data={"kind": kind, "title": title, "version": version,
                                      "note": note, "file": (io.BytesIO(data), filename)},
                       content_type="multipart/form-data")


def events(session, action):
    session.expire_all()
    return session.scalars(select(AuditEvent).where(AuditEvent.action == action)).all()


def test_a_visitor_downloads_the_published_installer_and_its_sha256_matches(app, session, admin):
    assert publish(admin, PE, note="修复若干问题\n<b>不是 HTML</b>").status_code == 303
    item = session.scalars(select(SupportItem)).one()
    assert item.sha256 == hashlib.sha256(PE).hexdigest() and item.size == len(PE)
    assert item.filename == "报送系统客户端.exe" and "报送系统客户端" not in item.storage_key
    [event] = events(session, "support_item_published")
    assert event.actor_name == "admin" and event.detail["sha256"] == item.sha256

    visitor = app.test_client()
    page = visitor.get("/support/").get_data(as_text=True)
    assert item.sha256 in page and "1.2.0" in page and "&lt;b&gt;不是 HTML&lt;/b&gt;" in page
    download = visitor.get(f"/support/files/{item.id}")
    assert download.status_code == 200
    assert hashlib.sha256(download.get_data()).hexdigest() == item.sha256
    # The Chinese name survives as RFC 5987 filename*, an ASCII fallback beside it.
    disposition = download.headers["Content-Disposition"]
    assert disposition.startswith("attachment") and "filename*=UTF-8''" in disposition
    assert download.headers["Content-Type"] == "application/vnd.microsoft.portable-executable"
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    # Nothing is written for a download.
    assert events(session, "support_item_published") == [event]

    # The filler's version check now points here.
    answer = visitor.get("/api/v1/client/version").get_json()
    assert answer == {"latest": "1.2.0", "download_url": "/support/"}
    # The home page links to the center.
    assert 'href="/support/"' in visitor.get("/").get_data(as_text=True)


def test_the_version_check_falls_back_to_config_and_follows_retirement(app, session, admin):
    config = app.config
    fallback = {"latest": config["FILLER_LATEST_VERSION"],
                "download_url": config["FILLER_DOWNLOAD_URL"]}
    visitor = app.test_client()
    assert visitor.get("/api/v1/client/version").get_json() == fallback
    publish(admin, PE, version="1.2.0")
    publish(admin, PE + b"new", version="1.3.0")
    assert visitor.get("/api/v1/client/version").get_json()["latest"] == "1.3.0"
    newest = session.scalars(select(SupportItem).where(SupportItem.version == "1.3.0")).one()
    assert admin.post(f"/admin/support/items/{newest.id}/retire").status_code == 303
    assert visitor.get("/api/v1/client/version").get_json()["latest"] == "1.2.0"
    assert visitor.get(f"/support/files/{newest.id}").status_code == 404
    assert len(events(session, "support_item_retired")) == 1
    # Retiring again changes nothing and writes nothing.
    admin.post(f"/admin/support/items/{newest.id}/retire")
    assert len(events(session, "support_item_retired")) == 1


@pytest.mark.parametrize("kind,data,filename,why", [
    ("installer", b"#!/bin/sh\nrm -rf /\n", "setup.exe", "a script named .exe"),
    ("installer", b"<html><script>alert(1)</script>", "setup.exe", "HTML named .exe"),
    ("manual", PE, "手册.pdf", "a Windows program named .pdf"),
    ("manual", b"PK\x03\x04" + b"\x00" * 100, "手册.zip", "a zip that is no DOCX/XLSX"),
    ("video", PDF, "教程.mp4", "a PDF named .mp4"),
    ("video", b"", "教程.mp4", "an empty file"),
])
def test_a_file_whose_content_is_not_the_kinds_format_is_refused(admin, session, kind, data,
                                                                  filename, why):
    refused = publish(admin, data, kind=kind, filename=filename, version="1.0")
    assert refused.status_code == 422, why
    text = refused.get_data(as_text=True)
    assert "不是可接受的格式" in text or "请选择要上传的文件" in text
    assert session.scalars(select(SupportItem)).all() == []
    assert events(session, "support_item_published") == []


def test_hostile_file_names_become_labels_with_the_found_suffix(app, session, admin):
    answer = publish(admin, PDF, kind="manual", version="", title="手册",
                     filename="..\\..\\etc/pass\x07wd\t手册.exe")
    assert answer.status_code == 303, answer.get_data(as_text=True).split("support-error")[-1][:300]
    item = session.scalars(select(SupportItem)).one()
    # The folders are gone, control characters replaced, the suffix is the content's.
    assert item.filename == "pass?wd?手册.pdf"
    assert item.filename.endswith(".pdf") and item.content_type == "application/pdf"
    assert item.storage_key.startswith("filecenter/support/") and item.storage_key.endswith(".pdf")
    download = app.test_client().get(f"/support/files/{item.id}")
    assert download.status_code == 200 and "\n" not in download.headers["Content-Disposition"]


def test_an_oversized_upload_is_refused_and_nothing_is_kept(app, session, admin, tmp_path):
    app.config["SUPPORT_UPLOAD_MAX_BYTES"] = 1024
    refused = publish(admin, PE)
    assert refused.status_code == 413 and "文件超过大小上限" in refused.get_data(as_text=True)
    assert session.scalars(select(SupportItem)).all() == []
    store = app.config["FILE_STORAGE_DIR"] / "filecenter" / "support"
    assert [p for p in store.rglob("*") if p.is_file()] == []


def test_bad_metadata_is_refused_with_a_message(admin, session):
    assert publish(admin, PE, version="").status_code == 422  # an installer needs a version
    assert publish(admin, PE, version="1.0; rm").status_code == 422
    assert publish(admin, PE, title="").status_code == 422
    assert publish(admin, PE, title="字" * 201).status_code == 422
    assert publish(admin, PE, kind="evil").status_code == 422
    assert admin.post(PUBLISH, data={"kind": "installer", "title": "x", "version": "1"}
                      ).status_code == 422  # no file at all
    assert session.scalars(select(SupportItem)).all() == []


def test_a_video_plays_in_place_with_range_requests(app, session, admin):
    assert publish(admin, MP4, kind="video", filename="导入演示.mp4", version="",
                   title="导入演示").status_code == 303
    item = session.scalars(select(SupportItem)).one()
    visitor = app.test_client()
    assert f"/support/videos/{item.id}" in visitor.get("/support/").get_data(as_text=True)
    part = visitor.get(f"/support/videos/{item.id}", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and part.get_data() == MP4[:100]
    assert part.headers["Content-Type"] == "video/mp4"
    assert part.headers["Content-Disposition"].startswith("inline")


def test_the_faq_and_contact_are_edited_with_audit_rows_and_shown_escaped(app, session, admin):
    assert admin.post("/admin/support/faq", data={
        "question": "<script>x</script>安装时提示缺少组件？", "answer": "请安装 VC 运行库。\n再试一次"}
    ).status_code == 303
    assert admin.post("/admin/support/contact", data={
        "hotline": "010-82356408", "mail": "support@example.gov.cn"}).status_code == 303
    page = app.test_client().get("/support/").get_data(as_text=True)
    assert "<script>x</script>" not in page and "&lt;script&gt;x&lt;/script&gt;" in page
    assert "010-82356408" in page and "support@example.gov.cn" in page
    assert len(events(session, "support_faq_added")) == 1
    assert len(events(session, "support_contact_changed")) == 1
    entry = session.scalars(select(FaqEntry)).one()
    assert admin.post(f"/admin/support/faq/{entry.id}/delete").status_code == 303
    assert session.scalars(select(FaqEntry)).all() == []
    assert len(events(session, "support_faq_deleted")) == 1
    # Overlong or missing input: a message, no change.
    assert admin.post("/admin/support/faq", data={"question": "", "answer": "a"}).status_code == 422
    assert admin.post("/admin/support/contact", data={"hotline": "1" * 201, "mail": ""}
                      ).status_code == 422
    # A deleted or unknown entry: back to the page with the message, never 500.
    for url in (f"/admin/support/faq/{entry.id}/delete", "/admin/support/items/999999/retire"):
        gone = admin.post(url)
        assert gone.status_code == 302 and gone.headers["Location"].endswith(ADMIN_PAGE)
    assert "没有这条常见问题" in admin.get(ADMIN_PAGE).get_data(as_text=True)


def test_the_contact_falls_back_to_config(app, session):
    app.config.update(SUPPORT_HOTLINE="400-000-0000", SUPPORT_MAIL="")
    with app.test_request_context():
        assert commands.contact(session) == ("400-000-0000", "")


def test_the_user_guide_is_a_page_and_a_download(app):
    visitor = app.test_client()
    page = visitor.get("/support/guide/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>" in html and "<table>" in html and 'src="images/' in html
    image = html.split('src="images/', 1)[1].split('"', 1)[0]
    assert visitor.get(f"/support/guide/images/{image}").status_code == 200
    for name in ("..%2Fuser-guide.md", "x.md", ".png", "..%2F..%2Fconfig.png", "nope.png"):
        assert visitor.get(f"/support/guide/images/{name}").status_code == 404, name
    download = visitor.get("/support/guide/download")
    assert download.status_code == 200 and download.get_data().startswith(b"# ")
    assert "filename*=UTF-8''" in download.headers["Content-Disposition"]


def test_only_an_administrator_publishes_and_every_change_needs_the_csrf_token(app, session,
                                                                              admin):
    visitor = app.test_client()
    assert visitor.get(ADMIN_PAGE).status_code in (302, 401)
    assert publish(visitor, PE).status_code in (302, 401, 403)
    set_known_password(session, "330102")
    unit = app.test_client()
    login(unit, "330102")
    assert unit.get(ADMIN_PAGE).status_code == 403
    assert publish(unit, PE).status_code == 403
    assert admin.post(PUBLISH, data={"kind": "installer", "title": "x", "version": "1",
                                     "file": (io.BytesIO(PE), "a.exe")},
                      content_type="multipart/form-data", csrf=False).status_code == 400
    assert admin.post("/admin/support/contact", data={"hotline": "1"}, csrf=False
                      ).status_code == 400
    assert session.scalars(select(SupportItem)).all() == []


def test_the_pages_answer_in_english_too(app, session, admin):
    publish(admin, PE)
    publish(admin, PDF, kind="manual", filename="操作手册.pdf", title="操作手册", version="")
    publish(admin, MP4, kind="video", filename="导入演示.mp4", title="导入演示", version="")
    admin.post("/admin/support/faq", data={"question": "安装时提示缺少组件？", "answer": "请安装运行库"})
    admin.post("/admin/support/contact", data={"hotline": "010-82356408", "mail": "s@example.cn"})
    admin.get("/lang/en")
    assert admin.get(ADMIN_PAGE).status_code == 200
    refused = publish(admin, PDF, kind="video", filename="demo.pdf", title="demo", version="")
    assert refused.status_code == 422
    assert not CHINESE.search(_message(refused)), _message(refused)
    # The admin's own name (系统管理员) is data too.
    assert not CHINESE.search(_without_data(refused.get_data(as_text=True), "系统管理员"))
    visitor = app.test_client()
    visitor.get("/lang/en")
    page = visitor.get("/support/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="installer-sha256"' in html
    assert "Support centre" in html and "Filler installer" in html and "Hotline: " in html
    assert "Q: 安装时提示缺少组件？" in html and " bytes)" in html
    assert not CHINESE.search(_without_data(html)), CHINESE.findall(_without_data(html))
    assert visitor.get("/support/guide/").status_code == 200


def _without_data(html, *more):
    """The page without what was published in the test above and the language menu's own name:
    whatever Chinese is left is the interface's."""
    for data in ("报送系统客户端.exe", "填报客户端", "操作手册.pdf", "操作手册", "导入演示.mp4",
                 "导入演示", "安装时提示缺少组件？", "请安装运行库", "简体中文", *more):
        html = html.replace(data, "")
    return html


def _message(response):
    """The refusal shown in the admin page's error box."""
    html = response.get_data(as_text=True)
    return html.split('id="support-error">', 1)[1].split("</div>", 1)[0]
