"""The basic_info REST API: documented, JWT-only, scoped like the pages."""
import io

import prison
from openpyxl import load_workbook

from tests.support.accounts import KNOWN_PASSWORD, api_token, set_known_password
from tests.support.xlsx import data_rows
from tests.support.demo import demo  # noqa: F401 - fixture
from tests.test_basic_info_views import bad_package  # noqa: F401 - fixture


def test_openapi_lists_the_routes(client, session):
    set_known_password(session, "330100")
    response = client.get("/api/v1/_openapi", headers=api_token(client, "330100", KNOWN_PASSWORD))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    spec = response.get_json()
    for path in ("/api/v1/basic_info/", "/api/v1/basic_info/{pk}", "/api/v1/basic_info/import",
                 "/api/v1/basic_info/transition", "/api/v1/basic_info/transition_all",
                 "/api/v1/basic_info/export"):
        assert path in spec["paths"], path
    assert "post" in spec["paths"]["/api/v1/basic_info/transition"]
    assert "put" not in spec["paths"].get("/api/v1/basic_info/{pk}", {})
    assert "delete" not in spec["paths"].get("/api/v1/basic_info/{pk}", {})


def test_list_is_scoped_with_derived_status(client, session, demo):
    set_known_password(session, "330102")
    headers = api_token(client, "330102", KNOWN_PASSWORD)
    data = client.get("/api/v1/basic_info/?q=" + prison.dumps({"page_size": 100}),
                      headers=headers).get_json()
    assert data["count"] == 7
    status = {r["site_name"]: r["status"] for r in data["result"]}
    assert status["杭州市上城区教育局"] == "已审核" and status["杭州市上城区人民政府"] == "未提交"
    set_known_password(session, "330106")
    headers = api_token(client, "330106", KNOWN_PASSWORD)
    data = client.get("/api/v1/basic_info/", headers=headers).get_json()
    assert [r["site_name"] for r in data["result"]] == ["杭州市西湖区人民政府"]


def test_list_filters_by_status_like_the_page(client, session, demo):
    set_known_password(session, "330100")
    headers = api_token(client, "330100", KNOWN_PASSWORD)
    q = prison.dumps({"filters": [{"col": "stage", "opr": "status", "value": "未审核"}]})
    data = client.get(f"/api/v1/basic_info/?q={q}", headers=headers).get_json()
    assert [r["site_name"] for r in data["result"]] == ["杭州市上城区教育局"]


def test_get_one_scoped(client, session, demo):
    done = demo["杭州市上城区文化和旅游局"]
    set_known_password(session, "330102")
    headers = api_token(client, "330102", KNOWN_PASSWORD)
    item = client.get(f"/api/v1/basic_info/{done.id}", headers=headers).get_json()["result"]
    assert item["status"] == "已办结" and item["site_code"] == done.site_code
    assert item["check_code"] == done.check_code  # the importing unit
    assert any(r["slot_label"] == "动态要闻" for r in item["columns"])
    set_known_password(session, "330100")
    headers = api_token(client, "330100", KNOWN_PASSWORD)
    item = client.get(f"/api/v1/basic_info/{done.id}", headers=headers).get_json()["result"]
    assert "check_code" not in item
    set_known_password(session, "330106")
    headers = api_token(client, "330106", KNOWN_PASSWORD)
    assert client.get(f"/api/v1/basic_info/{done.id}", headers=headers).status_code == 404


def test_transitions_with_versions(client, session, demo):
    form = demo["杭州市上城区教育局"]
    set_known_password(session, "330106")
    headers = api_token(client, "330106", KNOWN_PASSWORD)
    response = client.post("/api/v1/basic_info/transition", headers=headers,
                           json={"name": "approve", "ids": [form.id]})
    assert response.status_code == 404
    set_known_password(session, "330100")
    headers = api_token(client, "330100", KNOWN_PASSWORD)
    response = client.post("/api/v1/basic_info/transition", headers=headers, json={
        "name": "approve", "ids": [form.id], "expected_versions": {str(form.id): form.version - 1}})
    assert response.status_code == 409
    assert response.get_json()["message"] == "表单已被其他单位处理，请刷新后重试"
    response = client.post("/api/v1/basic_info/transition", headers=headers,
                           json={"name": "return", "ids": [form.id]})
    assert response.status_code == 400 and "原因" in response.get_json()["message"]
    response = client.post("/api/v1/basic_info/transition", headers=headers, json={
        "name": "approve", "ids": [form.id], "expected_versions": {str(form.id): form.version}})
    assert response.status_code == 200 and response.get_json()["count"] == 1
    response = client.post("/api/v1/basic_info/transition_all", headers=headers,
                           json={"name": "approve"})
    # 民政局, returned to the city by the province, is left for a decision of its own.
    assert response.status_code == 200 and response.get_json()["count"] == 0
    assert response.get_json()["left_out"] == 1
    set_known_password(session, "330000")
    headers = api_token(client, "330000", KNOWN_PASSWORD)
    response = client.post("/api/v1/basic_info/transition_all", headers=headers,
                           json={"name": "approve"})
    assert response.get_json()["count"] == 3
    session.expire_all()
    assert form.stage == "completed" and form.site_code


def test_import_reports_every_form(client, session, demo):
    set_known_password(session, "330102")
    headers = api_token(client, "330102", KNOWN_PASSWORD)
    response = client.post("/api/v1/basic_info/import", headers=headers,
                           data={"packages": [(io.BytesIO(bad_package()), "a.zip")]},
                           content_type="multipart/form-data")
    result = response.get_json()["result"]
    assert result["imported"] == 1 and result["refused"] == 1
    refused = [f for f in result["packages"][0]["forms"] if f["outcome"] == "refused"][0]
    assert any("负责人办公电话" in e["message"] for e in refused["errors"])


def test_export_follows_the_rison_query(client, session, demo):
    set_known_password(session, "330100")
    headers = api_token(client, "330100", KNOWN_PASSWORD)
    q = prison.dumps({"filters": [{"col": "site_name", "opr": "ct", "value": "教育"}]})
    response = client.get(f"/api/v1/basic_info/export?q={q}", headers=headers)
    wb = load_workbook(io.BytesIO(response.get_data()))
    values = data_rows(wb.worksheets[0])
    assert len(values) == 1 and "杭州市上城区教育局" in values[0]


def test_unauthenticated_and_must_change_password_refused(client, session, demo):
    from app.accounts.models import PuchaUser

    assert client.get("/api/v1/basic_info/").status_code == 401
    user = session.query(PuchaUser).filter_by(username="330102").one()
    user.password = None
    user.initial_password = "Chushi2468ab"
    user.must_change_password = True
    session.commit()
    response = client.post("/api/v1/security/login", json={
        "username": "330102", "password": "Chushi2468ab", "provider": "db"})
    assert response.status_code == 200
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    response = client.get("/api/v1/basic_info/", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["code"] == "password_change_required"
    response = client.post("/api/v1/basic_info/transition_all", headers=headers,
                           json={"name": "submit"})
    assert response.status_code == 403
