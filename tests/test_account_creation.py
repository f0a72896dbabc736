"""Every way of creating or editing a user applies the password policy and gives a 组织单位
account its unit: FAB's 用户列表 → 添加 / 编辑 forms, FAB's /api/v1/security/users/, FAB's
`flask fab create-user` / `create-admin`, the project's CLI and the project's account API.

Each way is tried with ``11111111`` (refused with the policy's Chinese message) and with a 组织单位
account without a unit (refused); nothing is written by a refusal.
"""
import logging

import pytest
from flask_appbuilder.cli import fab
from sqlalchemy import func, select

from tests.support.accounts import api_token, audit_count, get_user, login, set_known_password

WEAK = "11111111"
GOOD = "Hefa2026abc"
POLICY = "密码必须同时包含字母和数字"
NEEDS_UNIT = "必须选择所属单位"


def _role_id(session, name):
    from flask_appbuilder.security.sqla.models import Role

    return session.execute(select(Role.id).where(Role.name == name)).scalar_one()


def _org_id(session, code):
    from app.orgs.models import Org

    return session.execute(select(Org.id).where(Org.code == code)).scalar_one()


def _exists(session, username):
    from app.accounts.models import PuchaUser

    session.expire_all()
    return bool(session.scalar(select(func.count(PuchaUser.id))
                              .where(PuchaUser.username == username)))


@pytest.fixture
def roles(small_app, db_session):
    return {"admin": _role_id(db_session, small_app.config["AUTH_ROLE_ADMIN"]),
            "org": _role_id(db_session, small_app.config["AUTH_ROLE_ORG"])}


# --- FAB's 用户列表 → 添加 / 编辑 -------------------------------------------------------------------
def _add_form(username, role_id, org_id=None, password=GOOD):
    data = {"username": username, "first_name": "测试", "last_name": username,
            "email": f"{username}@example.cn", "active": "y", "roles": str(role_id),
            "password": password, "conf_password": password}
    if org_id is not None:
        data["org"] = str(org_id)
    return data


def test_fab_add_form_has_a_unit_field_and_applies_the_policy(web, db_session, roles):
    set_known_password(db_session, "admin")
    login(web, "admin")
    page = web.get("/users/add")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    # The 单位 field lists the units (through the scoped org query).
    assert 'name="org"' in html and "上城区人民政府办公室" in html

    weak = web.post("/users/add", data=_add_form("weak1", roles["org"],
                                                 _org_id(db_session, "330102"), WEAK))
    assert weak.status_code == 200 and POLICY in weak.get_data(as_text=True)
    assert not _exists(db_session, "weak1")

    unitless = web.post("/users/add", data=_add_form("nounit1", roles["org"]))
    assert unitless.status_code == 200 and NEEDS_UNIT in unitless.get_data(as_text=True)
    assert not _exists(db_session, "nounit1")

    crafted = web.post("/users/add", data={**_add_form("crafted", roles["org"]), "org": "abc"})
    assert crafted.status_code == 200 and not _exists(db_session, "crafted")

    admin_with_unit = web.post("/users/add", data=_add_form(
        "admunit", roles["admin"], _org_id(db_session, "330102")))
    assert "系统管理员账号不能属于某个单位" in admin_with_unit.get_data(as_text=True)
    assert not _exists(db_session, "admunit")

    before = audit_count(db_session, "user_created")
    done = web.post("/users/add", data=_add_form("newunit", roles["org"],
                                                 _org_id(db_session, "330106")))
    assert done.status_code == 302
    user = get_user(db_session, "newunit")
    assert user.org.code == "330106" and user.must_change_password
    assert user.password.startswith("scrypt:") and user.initial_password is None
    assert audit_count(db_session, "user_created", "newunit") == before + 1


def test_fab_edit_form_keeps_a_unit_on_a_unit_account(web, db_session, roles):
    set_known_password(db_session, "admin")
    login(web, "admin")
    target = get_user(db_session, "330106")
    form = {"username": "330106", "first_name": target.first_name, "last_name": "330106",
            "email": target.email, "active": "y", "roles": str(roles["org"]), "org": ""}
    response = web.post(f"/users/edit/{target.id}", data=form)
    assert response.status_code == 200 and NEEDS_UNIT in response.get_data(as_text=True)
    assert get_user(db_session, "330106").org.code == "330106"

    # The same edit with the unit kept goes through, audited.
    form["org"] = str(target.org_id)
    form["first_name"] = "西湖区（改名）"
    assert web.post(f"/users/edit/{target.id}", data=form).status_code == 302
    assert get_user(db_session, "330106").first_name == "西湖区（改名）"
    assert audit_count(db_session, "user_updated", "330106") == 1


def test_a_unit_cannot_open_the_user_administration(web, db_session):
    set_known_password(db_session, "330100")
    login(web, "330100")
    for url in ("/users/list/", "/users/add"):
        assert web.get(url).status_code == 403


# --- FAB's REST API ----------------------------------------------------------------------------
def _api_user(username, role_id, org_id=None, password=GOOD):
    data = {"username": username, "first_name": "测试", "last_name": username,
            "email": f"{username}@example.cn", "roles": [role_id], "password": password}
    if org_id is not None:
        data["org_id"] = org_id
    return data


def test_security_api_applies_the_policy_and_the_unit(small_app, db_session, roles):
    api = small_app.test_client()
    set_known_password(db_session, "admin")
    headers = api_token(api, "admin", "Zhengque2026")
    url = "/api/v1/security/users/"

    weak = api.post(url, json=_api_user("apiweak", roles["org"], _org_id(db_session, "330102"),
                                         WEAK), headers=headers)
    assert weak.status_code == 400 and POLICY in str(weak.get_json())
    assert not _exists(db_session, "apiweak")

    unitless = api.post(url, json=_api_user("apinounit", roles["org"]), headers=headers)
    assert unitless.status_code == 400 and NEEDS_UNIT in unitless.get_json()["message"]
    assert not _exists(db_session, "apinounit")

    bad_org = api.post(url, json=_api_user("apibadorg", roles["org"], 999999), headers=headers)
    assert bad_org.status_code == 400 and not _exists(db_session, "apibadorg")
    for junk in (None, [], "x", {"username": 1},
                 {**_api_user("j1", roles["org"]), "org_id": "abc"},
                 {**_api_user("j2", roles["org"]), "roles": "x"},
                 {**_api_user("j3", roles["org"]), "roles": [999999]},
                 {**_api_user("j4", roles["org"]), "groups": [1]},
                 {**_api_user("j5", roles["org"]), "password": ["Hefa2026abc"]}):
        assert api.post(url, json=junk, headers=headers).status_code == 400, junk
    assert not any(_exists(db_session, f"j{n}") for n in range(1, 6))

    made = api.post(url, json=_api_user("apiok", roles["org"], _org_id(db_session, "330102")),
                    headers=headers)
    assert made.status_code == 201, made.get_json()
    user = get_user(db_session, "apiok")
    assert user.org.code == "330102" and user.password.startswith("scrypt:")
    assert audit_count(db_session, "user_created", "apiok") == 1
    assert api.post(url, json=_api_user("apiok", roles["org"], _org_id(db_session, "330102")),
                    headers=headers).status_code == 422

    # Editing: dropping the unit, or a weak password, is refused and changes nothing.
    put = f"{url}{user.id}"
    assert api.put(put, json={"org_id": None}, headers=headers).status_code == 400
    for junk in ({"org_id": "abc"}, {"roles": [999999]}, {"roles": []}, ["x"]):
        assert api.put(put, json=junk, headers=headers).status_code == 400, junk
    assert api.put(put, json={"password": WEAK}, headers=headers).status_code == 400
    assert api.put(put, json={"first_name": "改"}, headers=headers).status_code == 200
    user = get_user(db_session, "apiok")
    assert user.org.code == "330102" and user.first_name == "改"
    assert api.put(f"{url}999999", json={}, headers=headers).status_code == 404


# --- the command line --------------------------------------------------------------------------
def test_fab_cli_create_user_and_create_admin_go_through_the_checks(small_app, db_session,
                                                                   caplog):
    runner = small_app.test_cli_runner()
    caplog.set_level(logging.ERROR, logger="app.accounts.security")
    common = ["--firstname", "测", "--lastname", "试"]

    unit = runner.invoke(fab, ["create-user", "--role", small_app.config["AUTH_ROLE_ORG"],
                               "--username", "cliunit", "--email", "cliunit@example.cn",
                               "--password", GOOD, *common])
    assert "No user created" in unit.output
    assert not _exists(db_session, "cliunit")
    weak = runner.invoke(fab, ["create-admin", "--username", "cliweak", "--email",
                               "cliweak@example.cn", "--password", WEAK, *common])
    assert "No user created" in weak.output
    assert not _exists(db_session, "cliweak")
    assert NEEDS_UNIT in caplog.text and POLICY in caplog.text

    ok = runner.invoke(fab, ["create-admin", "--username", "cliadmin", "--email",
                             "cliadmin@example.cn", "--password", GOOD, *common])
    assert "created" in ok.output, ok.output
    admin = get_user(db_session, "cliadmin")
    assert [r.name for r in admin.roles] == [small_app.config["AUTH_ROLE_ADMIN"]]
    assert admin.org_id is None


def test_project_cli_create_admin_gets_a_generated_policy_password(small_app, db_session):
    from app.accounts.passwords import password_problems

    result = small_app.test_cli_runner().invoke(args=["pucha", "create-admin", "ops2"])
    assert result.exit_code == 0, result.output
    user = get_user(db_session, "ops2")
    assert user.initial_password in result.output
    assert password_problems(user.initial_password) == []
    assert [r.name for r in user.roles] == [small_app.config["AUTH_ROLE_ADMIN"]]


def test_project_account_api_applies_the_policy(small_app, db_session):
    api = small_app.test_client()
    set_known_password(db_session, "330102")
    headers = api_token(api, "330102", "Zhengque2026")
    response = api.post("/api/v1/account/password", headers=headers,
                        json={"old_password": "Zhengque2026", "new_password": WEAK})
    assert response.status_code == 400 and POLICY in response.get_json()["message"]
