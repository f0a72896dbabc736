"""Accounts: provisioning, the forced first password change (pages and JWT), resets and scope.

They run on ``small_app`` (tests/conftest.py): a small tree of their own (root, two provinces,
two cities, two counties), so they do not depend on the national data set.
"""
import pytest
from sqlalchemy import func, select

from tests.support.accounts import (
    KNOWN_PASSWORD as KNOWN,
    NEW_PASSWORD as NEW,
    SMALL_TREE,
    add_orgs,
    api_token,
    audit_count,
    get_user,
    set_known_password,
    web_login,
)


# --- provisioning ------------------------------------------------------------------------------
def test_every_unit_has_one_preset_account(db_session):
    from app.accounts.models import PuchaUser
    from app.accounts.passwords import CONFUSABLE

    for code, name, *_ in SMALL_TREE:
        user = get_user(db_session, code)
        assert user.first_name == name and user.last_name == code
        assert user.org.code == code
        assert user.password is None and len(user.initial_password) >= 8
        assert not CONFUSABLE & set(user.initial_password)
        assert user.must_change_password
        assert [r.name for r in user.roles] == ["组织单位"]
    total = db_session.scalar(select(func.count(PuchaUser.id)))
    assert total == len(SMALL_TREE) + 1  # + admin


def test_provisioning_is_idempotent_and_picks_up_new_units(db_session):
    from app.accounts.provisioning import ensure_admin, ensure_org_accounts

    assert ensure_org_accounts(db_session) == 0
    add_orgs(db_session, [("330108", "滨江区人民政府办公室", 3, "county", "330100")])
    assert ensure_org_accounts(db_session) == 1
    db_session.commit()
    assert get_user(db_session, "330108").org.code == "330108"
    name, password = ensure_admin(db_session)
    assert name == "admin" and password == get_user(db_session, "admin").initial_password
    set_known_password(db_session, "admin")
    assert ensure_admin(db_session) == ("admin", None)


def test_org_role_gets_everything_but_security_admin(small_app, db_session):
    from flask_appbuilder.security.sqla.models import Role

    from app.accounts.provisioning import ORG_ALLOWED_ON_SECURITY_VIEWS

    org_role = db_session.execute(select(Role).where(Role.name == "组织单位")).scalar_one()
    admin_role = db_session.execute(select(Role).where(Role.name == "系统管理员")).scalar_one()
    org_perms = {(p.permission.name, p.view_menu.name) for p in org_role.permissions}
    admin_perms = {(p.permission.name, p.view_menu.name) for p in admin_role.permissions}
    assert ("can_list", "AccountModelView") in org_perms
    assert ("can_change_password", "AccountApi") in org_perms
    assert ("can_this_form_get", "ChangePasswordView") in org_perms
    for view in ("RoleModelView", "UserDBModelView", "User", "Role", "AdminSetPasswordView"):
        assert not any(v == view for p, v in org_perms
                       if (p, v) not in ORG_ALLOWED_ON_SECURITY_VIEWS), view
        assert any(v == view for _, v in admin_perms), view
    # FAB pages nobody is offered (docs/security.md "FAB's pages"): not even the administrator.
    for view in ("PermissionModelView", "UserGroupModelView", "UserStatsChartView"):
        assert not any(v == view for _, v in admin_perms | org_perms), view
    assert ("can_add", "UserDBModelView") not in org_perms
    assert org_perms < admin_perms


def test_admin_only_views_are_withheld_from_units(small_app, db_session):
    from app.accounts.provisioning import admin_only_names

    excluded = admin_only_names(small_app.appbuilder)
    assert "AdminSetPasswordView" in excluded and "Security" in excluded
    assert "AccountModelView" not in excluded and "系统管理" not in excluded


# --- the forced change on pages ----------------------------------------------------------------
def test_first_web_login_forces_change_on_every_page(web, db_session):
    user = get_user(db_session, "330102")
    response = web_login(web, "330102", user.initial_password)
    assert response.status_code == 302
    for url in ("/", "/accounts/list/", "/users/userinfo/", "/accounts/download/"):
        response = web.get(url)
        assert response.status_code == 302, url
        assert response.headers["Location"].endswith("/account/password/"), url
    page = web.get("/account/password/")
    assert page.status_code == 200
    assert "必须修改初始密码" in page.get_data(as_text=True)
    # The locale switch and logout stay reachable.
    assert not web.get("/lang/en").headers.get("Location", "").endswith("/account/password/")


def test_weak_passwords_are_refused_with_reasons(web, db_session):
    initial = get_user(db_session, "330102").initial_password
    web_login(web, "330102", initial)
    cases = [
        ("abc12", "密码长度不能少于 8 位"),
        ("abcdefghij", "密码必须同时包含字母和数字"),
        ("1234567890", "密码必须同时包含字母和数字"),
        (initial, "新密码不能与初始密码相同"),
    ]
    for new, reason in cases:
        page = web.post("/account/password/", data={
            "old_password": initial, "password": new, "conf_password": new},
            follow_redirects=True)
        assert reason in page.get_data(as_text=True), new
        assert get_user(db_session, "330102").must_change_password
    page = web.post("/account/password/", data={
        "old_password": "wrong-old-1", "password": NEW, "conf_password": NEW})
    assert "原密码不正确" in page.get_data(as_text=True)
    page = web.post("/account/password/", data={
        "old_password": initial, "password": NEW, "conf_password": NEW + "x"})
    assert "两次输入的新密码不一致" in page.get_data(as_text=True)


def test_change_unlocks_every_page_and_hashes(web, db_session):
    initial = get_user(db_session, "330102").initial_password
    web_login(web, "330102", initial)
    response = web.post("/account/password/", data={
        "old_password": initial, "password": NEW, "conf_password": NEW})
    assert response.status_code == 302
    assert not response.headers["Location"].endswith("/account/password/")
    user = get_user(db_session, "330102")
    assert user.initial_password is None and user.password.startswith("scrypt:")
    assert not user.must_change_password and user.password_changed_at is not None
    assert web.get("/accounts/list/").status_code == 200
    assert audit_count(db_session, "password_changed", "330102") == 1
    # The old initial password no longer opens the account; the new one does.
    web.post("/logout/")
    web_login(web, "330102", initial)
    assert web.get("/accounts/list/").status_code == 302
    web_login(web, "330102", NEW)
    assert web.get("/accounts/list/").status_code == 200


# --- the forced change through the JWT API ----------------------------------------------------
def test_jwt_calls_refused_until_password_changed_through_api(web, db_session):
    initial = get_user(db_session, "330100").initial_password
    headers = api_token(web, "330100", initial)
    for url in ("/api/v1/account/330102/reset", ):
        response = web.post(url, headers=headers)
        assert response.status_code == 403
        assert response.get_json() == {"message": "首次登录必须修改初始密码",
                                       "code": "password_change_required"}
    response = web.get("/api/v1/menu/", headers=headers)
    assert response.status_code == 403
    assert response.get_json()["code"] == "password_change_required"
    assert get_user(db_session, "330102").initial_password is not None

    weak = web.post("/api/v1/account/password", headers=headers,
                    json={"old_password": initial, "new_password": "short1"})
    assert weak.status_code == 400
    assert "密码长度不能少于 8 位" in weak.get_json()["errors"]
    ok = web.post("/api/v1/account/password", headers=headers,
                  json={"old_password": initial, "new_password": NEW})
    assert ok.status_code == 200, ok.get_json()
    # Tokens issued before the change stop working; the fresh one in the answer works everywhere
    # its permissions allow.
    response = web.post("/api/v1/account/330102/reset", headers=headers)
    assert response.status_code == 401
    assert response.get_json()["code"] == "credentials_changed"
    headers = {"Authorization": f"Bearer {ok.get_json()['access_token']}"}
    response = web.post("/api/v1/account/330102/reset", headers=headers)
    assert response.status_code == 200
    assert len(response.get_json()["initial_password"]) >= 8


# --- a reset ends what the old password had opened ----------------------------------------------
def test_reset_ends_the_accounts_open_sessions_and_tokens(small_app, db_session):
    """A unit whose password leaked asks its parent for a reset: whoever logged in with the old
    password — in a browser or with an API token — is out at their next request."""
    set_known_password(db_session, "330100")
    set_known_password(db_session, "330102", NEW)
    holder = small_app.test_client()          # someone logged in as 330102 with the old password
    web_login(holder, "330102", NEW)
    assert holder.get("/accounts/list/").status_code == 200
    old_token = api_token(small_app.test_client(), "330102", NEW)
    assert small_app.test_client().get("/api/v1/menu/", headers=old_token).status_code == 200

    parent = small_app.test_client()
    parent_token = api_token(parent, "330100", KNOWN)
    assert parent.post("/api/v1/account/330102/reset", headers=parent_token).status_code == 200

    response = holder.get("/accounts/list/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert "登录已失效：本账号已退出登录，或密码已修改或被重置，请重新登录" in holder.get(
        response.headers["Location"]).get_data(as_text=True)
    assert holder.get("/accounts/list/").status_code == 302          # logged out for good
    response = small_app.test_client().get("/api/v1/menu/", headers=old_token)
    assert response.status_code == 401 and response.get_json()["code"] == "credentials_changed"
    # The parent's own session and token are untouched.
    sibling = parent.post("/api/v1/account/330106/reset", headers=parent_token)
    assert sibling.status_code == 200 and sibling.get_json()["username"] == "330106"
    assert sibling.get_json()["message"] == "密码已重置，用户登录后须修改"


def test_own_change_keeps_this_session_and_ends_the_others(small_app, db_session):
    set_known_password(db_session, "330102")
    here, elsewhere = small_app.test_client(), small_app.test_client()
    web_login(here, "330102", KNOWN)
    web_login(elsewhere, "330102", KNOWN)
    response = here.post("/account/password/", data={
        "old_password": KNOWN, "password": NEW, "conf_password": NEW})
    assert response.status_code == 302
    assert here.get("/accounts/list/").status_code == 200
    assert elsewhere.get("/accounts/list/").status_code == 302


# --- reset by the parent, refused to siblings and children -------------------------------------
def test_reset_by_parent_through_api(web, db_session):
    set_known_password(db_session, "330100")
    set_known_password(db_session, "330102", NEW)
    headers = api_token(web, "330100", KNOWN)
    response = web.post("/api/v1/account/330102/reset", headers=headers)
    assert response.status_code == 200
    new_initial = response.get_json()["initial_password"]
    user = get_user(db_session, "330102")
    assert user.initial_password == new_initial and user.password is None
    assert user.must_change_password
    assert audit_count(db_session, "password_reset", "330102") == 1
    # The old password is gone, the new initial one logs in (and must be changed).
    assert web.post("/api/v1/security/login", json={
        "username": "330102", "password": NEW, "provider": "db"}).status_code == 401
    api_token(web, "330102", new_initial)


@pytest.mark.parametrize("actor, target", [
    ("330106", "330102"),  # sibling
    ("330102", "330100"),  # child resetting its parent
    ("330200", "330102"),  # a cousin
    ("330000", "330102"),  # grandparent: only the DIRECT parent hands out accounts
    ("330100", "330100"),  # itself
])
def test_reset_refused_outside_direct_children_api(web, db_session, actor, target):
    set_known_password(db_session, actor)
    before = get_user(db_session, target).initial_password
    headers = api_token(web, actor, KNOWN)
    response = web.post(f"/api/v1/account/{target}/reset", headers=headers)
    assert response.status_code == 403
    assert get_user(db_session, target).initial_password == before
    assert audit_count(db_session, "password_reset", target) == 0


def test_admin_resets_anyone(web, db_session):
    set_known_password(db_session, "admin")
    headers = api_token(web, "admin", KNOWN)
    assert web.post("/api/v1/account/330102/reset", headers=headers).status_code == 200
    assert web.post("/api/v1/account/320000/reset", headers=headers).status_code == 200
    assert web.post("/api/v1/account/nobody/reset", headers=headers).status_code == 404


def test_web_list_shows_direct_children_only(web, db_session):
    set_known_password(db_session, "330100")
    web_login(web, "330100", KNOWN)
    page = web.get("/accounts/list/").get_data(as_text=True)
    assert "330102" in page and "330106" in page
    assert "330200" not in page and "330000" not in page and "320000" not in page
    assert "未修改" in page and "正常" in page


def test_web_reset_action_by_parent(web, db_session):
    set_known_password(db_session, "330100")
    set_known_password(db_session, "330106", NEW)
    web_login(web, "330100", KNOWN)
    target = get_user(db_session, "330106")
    page = web.post("/accounts/action_post", data={"action": "resetpassword",
                                                   "rowid": [str(target.id)]},
                    follow_redirects=True).get_data(as_text=True)
    user = get_user(db_session, "330106")
    assert user.initial_password and user.initial_password in page
    assert user.password is None and user.must_change_password
    assert audit_count(db_session, "password_reset", "330106") == 1


@pytest.mark.parametrize("actor, target", [("330106", "330102"), ("330102", "330100"),
                                           ("330200", "330106")])
def test_web_reset_action_refused_outside_scope(web, db_session, actor, target):
    """FAB's action_post loads rows without base filters: the scoped loader must refuse."""
    set_known_password(db_session, actor)
    set_known_password(db_session, target, NEW)
    web_login(web, actor, KNOWN)
    target_id = get_user(db_session, target).id
    page = web.post("/accounts/action_post", data={"action": "resetpassword",
                                                   "rowid": [str(target_id)]},
                    follow_redirects=True).get_data(as_text=True)
    assert "无权管理该账号" in page
    user = get_user(db_session, target)
    assert user.initial_password is None and user.password is not None
    assert audit_count(db_session, "password_reset", target) == 0


def test_reset_unlocks_the_account(db_session):
    import datetime

    from app.accounts import commands

    user = get_user(db_session, "330102")
    user.locked_until = datetime.datetime.now() + datetime.timedelta(hours=1)
    db_session.commit()
    parent = get_user(db_session, "330100")
    target = commands.load_managed_user(db_session, parent, username="330102")
    commands.reset_password(db_session, parent, target)
    db_session.commit()
    assert not get_user(db_session, "330102").is_locked


def test_admin_set_password_form_applies_policy(web, db_session):
    set_known_password(db_session, "admin")
    web_login(web, "admin", KNOWN)
    target = get_user(db_session, "330102")
    page = web.post(f"/resetpassword/form?pk={target.id}",
                    data={"password": "weakweak", "conf_password": "weakweak"},
                    follow_redirects=True).get_data(as_text=True)
    assert "密码必须同时包含字母和数字" in page
    assert get_user(db_session, "330102").initial_password is not None
    web.post(f"/resetpassword/form?pk={target.id}",
             data={"password": NEW, "conf_password": NEW})
    user = get_user(db_session, "330102")
    assert user.initial_password is None and user.must_change_password
    assert audit_count(db_session, "password_set", "330102") == 1


def test_unit_cannot_reach_security_admin(web, db_session):
    set_known_password(db_session, "330100")
    web_login(web, "330100", KNOWN)
    assert web.get("/users/list/").status_code == 403
    assert web.get("/roles/list/").status_code == 403
    target = get_user(db_session, "330102")
    web.post(f"/resetpassword/form?pk={target.id}",
             data={"password": NEW, "conf_password": NEW})
    assert get_user(db_session, "330102").initial_password is not None


# --- CLI ---------------------------------------------------------------------------------------
def test_cli_reset_password_and_create_admin(small_app, db_session):
    runner = small_app.test_cli_runner()
    set_known_password(db_session, "330102", NEW)
    result = runner.invoke(args=["pucha", "reset-password", "330102"])
    assert result.exit_code == 0, result.output
    user = get_user(db_session, "330102")
    assert user.initial_password in result.output and user.must_change_password
    assert audit_count(db_session, "password_reset", "330102") == 1
    assert runner.invoke(args=["pucha", "reset-password", "nobody"]).exit_code != 0

    result = runner.invoke(args=["pucha", "create-admin", "ops"])
    assert result.exit_code == 0, result.output
    ops = get_user(db_session, "ops")
    assert ops.initial_password in result.output and ops.org_id is None
    assert [r.name for r in ops.roles] == ["系统管理员"]
    assert runner.invoke(args=["pucha", "create-admin", "ops"]).exit_code != 0

    result = runner.invoke(args=["pucha", "sync-perms"])
    assert result.exit_code == 0, result.output
    assert "组织单位" in result.output
