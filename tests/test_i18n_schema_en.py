"""The census schema in the English UI: every label has its English in the schema, and an
English session sees labels, 是/否, field errors, package refusals and role names in English,
while the Chinese UI, the filler and the CLI keep the Chinese."""
import html as html_module
import importlib
import io
import re

import pytest

from app.i18n import ROOT, compile_all
from tests.support.accounts import KNOWN_PASSWORD, api_token, login, set_known_password
from tests.support.demo import demo  # noqa: F401 - fixture
from tests.test_basic_info_views import bad_package  # noqa: F401 - fixture

CJK = re.compile(r"[\u4e00-\u9fff]")


def _schemas():
    """Every census schema a plugin declares (plugins/*/schema.py with a SCHEMA)."""
    found = []
    for path in sorted(ROOT.glob("plugins/*/schema.py")):
        module = importlib.import_module(f"plugins.{path.parent.name}.schema")
        if hasattr(module, "SCHEMA"):
            found.append(module.SCHEMA)
    assert found
    return found


def test_every_schema_label_has_english():
    missing = []
    for schema in _schemas():
        items = [schema, *schema.fields]
        for table in schema.tables:
            items += [table, *table.columns, *table.groups]
            items += [slot for group in table.groups for slot in group.slots]
        for item in items:
            where = f"{schema.name}: {type(item).__name__} {item.label}"
            if not item.label_en or CJK.search(item.label_en):
                missing.append(f"{where}: label_en")
            if getattr(item, "help", "") and not getattr(item, "help_en", ""):
                missing.append(f"{where}: help_en")
            if getattr(item, "choices", ()) and len(item.choices_en) != len(item.choices):
                missing.append(f"{where}: choices_en")
    assert missing == []


def test_phrases_stay_chinese_without_a_request():
    """The filler and the CLI see the Chinese: a phrase is a str, and localize without a
    request gives the default locale's text."""
    from app.forms.schema import Phrase
    from app.i18n_text import display_choice, display_label, localize
    from plugins.basic_info.schema import SCHEMA

    doc = SCHEMA.normalize({"uuid": "x", "fields": {"principal_phone": "87654321"}})
    error = next(e for e in SCHEMA.validate(doc) if e.path == "fields.principal_phone")
    assert isinstance(error.message, Phrase) and isinstance(error.message, str)
    assert error.message.startswith("负责人办公电话应为") and error.label == "负责人办公电话"
    assert localize(error.message) == error.message  # no app: the Chinese source
    assert display_label(SCHEMA.field("site_name")) == "网站名称"
    assert display_choice("是", SCHEMA.field("is_portal")) == "是"


@pytest.fixture
def english_client(client):
    compile_all()
    client.get("/lang/en")
    return client


def _texts(html, pattern):
    return [html_module.unescape(re.sub(r"<[^>]+>", "", t)).strip()
            for t in re.findall(pattern, html, re.S)]


def test_detail_and_edit_page_in_english(english_client, session, demo):
    set_known_password(session, "330102")
    login(english_client, "330102")
    form = demo["杭州市上城区人民政府"]
    detail = english_client.get(f"/basic_info/form/{form.id}").get_data(as_text=True)
    table = re.search(r'<table class="table table-bordered table-condensed basic-fields">(.*?)'
                      r"</table>", detail, re.S).group(1)
    headers = _texts(table, r"<th[^>]*>(.*?)</th>")
    assert "Website name" in headers and "Portal website?" in headers
    assert not [h for h in headers if CJK.search(h)], headers
    portal = re.search(r"Portal website\?</th><td>(.*?)</td>", table).group(1)
    assert portal == ("Yes" if form.is_portal == "是" else "No")
    columns = re.search(r'<table class="table table-bordered table-condensed column-rows">(.*?)'
                        r"<tbody>", detail, re.S).group(1)
    assert not CJK.search(html_module.unescape(columns)), columns

    edit = english_client.get(f"/basic_info/form/{form.id}/edit").get_data(as_text=True)
    labels = _texts(edit, r'<label for="f\.[a-z_]+">(.*?)</label>')
    assert "Head's office phone *" in labels and not [t for t in labels if CJK.search(t)]
    # 是/否 stay the stored values, shown as Yes/No.
    assert re.search(r'<option value="是"[^>]*>Yes</option>', edit)
    assert re.search(r'<option value="否"[^>]*>No</option>', edit)
    assert "One number only: area code-number" in edit  # the field's help_en

    data = {k: html_module.unescape(v) for k, v in
            re.findall(r'<input[^>]*name="([fc]\.[^"]+)"[^>]*value="([^"]*)"', edit)}
    data.update({"f.is_portal": "是", "version": str(form.version),
                 "f.principal_phone": "12345", "f.contact_email": "a@b@c",
                 "c.info.news.1.address": "not-a-url"})
    response = english_client.post(f"/basic_info/form/{form.id}/edit", data=data)
    assert response.status_code == 200
    errors = _texts(response.get_data(as_text=True),
                    r'class="[^"]*field-error[^"]*">(.*?)</(?:span|div|td)>')
    assert len(errors) == 3, errors
    assert not [e for e in errors if CJK.search(e)], errors
    assert any(e.startswith("Head's office phone should be \"area code-number\"") for e in errors)
    assert any(e.startswith("Contact's email takes one email address only") for e in errors)
    assert any(e.startswith("Information publishing — News, row 2, Address should be a full address") for e in errors)


def test_the_same_edit_errors_stay_chinese_in_the_chinese_ui(client, session, demo):
    compile_all()
    set_known_password(session, "330102")
    login(client, "330102")
    form = demo["杭州市上城区人民政府"]
    edit = client.get(f"/basic_info/form/{form.id}/edit").get_data(as_text=True)
    assert re.search(r'<option value="是"[^>]*>是</option>', edit) and "负责人办公电话" in edit
    data = {k: html_module.unescape(v) for k, v in
            re.findall(r'<input[^>]*name="([fc]\.[^"]+)"[^>]*value="([^"]*)"', edit)}
    data.update({"f.is_portal": "是", "version": str(form.version), "f.principal_phone": "12345"})
    html = client.post(f"/basic_info/form/{form.id}/edit", data=data).get_data(as_text=True)
    assert re.search(r'field-error[^>]*>负责人办公电话应为"区号-号码"', html_module.unescape(html))


def test_import_report_in_english(english_client, session, demo):
    """A refused package and a refused form: the refusal and the field errors in English."""
    set_known_password(session, "330102")
    login(english_client, "330102")
    response = english_client.post("/basic_info/upload", data={"packages": [
        (io.BytesIO(bad_package()), "first.zip"),
        (io.BytesIO(b"not a zip at all"), "broken.zip"),
    ]}, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    refusal = _texts(html, r'<div class="alert alert-danger package-error">(.*?)</div>')
    assert len(refusal) == 1 and "It is not a zip package" in refusal[0], refusal
    assert not CJK.search(refusal[0]), refusal
    errors = _texts(html, r'<ul class="form-errors">(.*?)</ul>')
    assert errors and not CJK.search(errors[0]), errors
    assert "Head's office phone should be" in errors[0]
    assert "Contact's email takes one email address only" in errors[0]


def test_api_import_answers_in_the_sessions_language(english_client, session, demo):
    set_known_password(session, "330102")
    headers = api_token(english_client, "330102", KNOWN_PASSWORD)
    response = english_client.post("/api/v1/basic_info/import", headers=headers, data={
        "packages": [(io.BytesIO(bad_package()), "a.zip"), (io.BytesIO(b"x" * 40), "b.zip")]},
        content_type="multipart/form-data")
    result = response.get_json()["result"]
    refused = [f for f in result["packages"][0]["forms"] if f["outcome"] == "refused"][0]
    messages = [e["message"] for e in refused["errors"]] + [result["packages"][1]["error"]]
    assert any(m.startswith("Head's office phone should be") for m in messages), messages
    assert not [m for m in messages if CJK.search(m)], messages
    assert {e["label"] for e in refused["errors"]} == {"Head's office phone", "Contact's email"}


def test_role_names_in_english(english_client, session):
    """The user list names each account's roles in the user's language (the roles themselves
    keep their Chinese names: config AUTH_ROLE_ADMIN / AUTH_ROLE_ORG)."""
    from app.i18n_text import ROLE_NAMES

    set_known_password(session, "admin")
    login(english_client, "admin")
    cells = _texts(english_client.get("/users/list/?psize_PuchaUserDBModelView=100&"
                                      "_oc_PuchaUserDBModelView=username&"
                                      "_od_PuchaUserDBModelView=asc").get_data(as_text=True),
                   r"<td>(.*?)</td>")
    assert "Organising unit" in cells and not set(ROLE_NAMES) & set(cells)
    admin = english_client.get("/users/list/?_flt_0_username=admin").get_data(as_text=True)
    assert "Administrator" in _texts(admin, r"<td>(.*?)</td>")
