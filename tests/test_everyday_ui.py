"""What administrators and units read on the account, user, role and org pages: no raw FAB
internals (None, microseconds, __None, can_list on …), nothing offered that leads nowhere, and
the FAB pages a census administrator does not need not offered at all."""
import datetime
import re

import pytest
from sqlalchemy import select

from tests.support.accounts import login, set_known_password

LEAF, CITY = "330102", "330100"
MICROSECONDS = re.compile(r"\d{2}:\d{2}:\d{2}\.\d+")


def _text(response):
    return response.get_data(as_text=True)


def _shown(response):
    """The page without its scripts (FAB's search widget carries a datetime in its JSON)."""
    return re.sub(r"<script.*?</script>", "", _text(response), flags=re.S)


def test_last_login_reads_to_the_minute_or_never(small_app):
    from app.accounts import display

    with small_app.test_request_context():
        assert display.last_login(None) == "从未登录"
        assert display.last_login(datetime.datetime(2026, 12, 1, 18, 31, 5, 123456)) == \
            "2026-12-01 18:31"
        assert display.moment(None) == ""
        assert display.yes_no(True) == "是" and display.yes_no(False) == "否"


def test_account_and_user_pages_show_last_login_the_same_way(web, db_session):
    from tests.support.accounts import get_user

    set_known_password(db_session, "admin")
    login(web, "admin")
    admin = get_user(db_session, "admin")
    stamp = admin.last_login.strftime("%Y-%m-%d %H:%M")
    for url in ("/accounts/list/", "/users/list/", f"/users/show/{admin.id}"):
        page = _shown(web.get(url))
        assert stamp in page, url
        assert not MICROSECONDS.search(page), url
        assert ">None<" not in page and "None\n" not in page, url
    accounts = _text(web.get("/accounts/list/"))
    assert "从未登录" in accounts
    user_page = _text(web.get(f"/users/show/{get_user(db_session, LEAF).id}"))
    assert "从未登录" in user_page and "True" not in user_page and "[组织单位]" not in user_page


def test_a_unit_without_sub_units_is_offered_no_account_table(web, db_session):
    set_known_password(db_session, LEAF)
    login(web, LEAF)
    page = _text(web.get("/accounts/list/"))
    assert "下载下级账号表" not in page
    assert "resetpassword_menu_item" not in page and "unlock_menu_item" not in page
    assert "本单位没有下级单位，不需要发放账号" in page
    response = web.get("/accounts/download/")
    assert response.status_code == 302 and response.headers["Location"].endswith("/accounts/list/")
    assert "本单位没有下级单位" in _text(web.get("/accounts/list/"))


def test_a_unit_with_sub_units_keeps_its_table_and_actions(web, db_session):
    set_known_password(db_session, CITY)
    login(web, CITY)
    page = _text(web.get("/accounts/list/"))
    assert "下载下级账号表" in page and "resetpassword_menu_item" in page
    assert web.get("/accounts/download/").status_code == 200


def test_a_mistyped_unit_code_for_the_account_table_says_so(web, db_session):
    set_known_password(db_session, "admin")
    login(web, "admin")
    response = web.get("/accounts/download/?org=zz999")
    assert response.status_code == 302 and response.headers["Location"].endswith("/accounts/list/")
    assert "没有代码为“zz999”的单位" in _text(web.get("/accounts/list/"))
    # An over-long code is echoed cut.
    web.get("/accounts/download/?org=" + "9" * 5000)
    assert "9" * 21 not in _text(web.get("/accounts/list/"))


def test_new_unit_form_offers_only_possible_parents_and_no_none(web, db_session):
    set_known_password(db_session, "admin")
    login(web, "admin")
    page = _text(web.get("/orgs/admin/add"))
    assert ">__None<" not in page and "请选择上级单位" in page
    parent_select = re.search(r'<select[^>]*name="parent".*?</select>', page, re.S).group(0)
    assert "杭州市人民政府办公厅" in parent_select and "上城区" not in parent_select
    response = web.post("/orgs/admin/add", data={"code": "330199", "name": "测试新区",
                                                  "kind": "county", "parent": "__None"})
    assert response.status_code == 200 and "请选择上级单位" in _text(response)
    assert ">__None<" not in _text(web.get("/users/add"))


def test_roles_page_is_read_only_and_in_words(web, db_session):
    set_known_password(db_session, "admin")
    login(web, "admin")
    page = _text(web.get("/roles/list/"))
    assert "系统管理 › 账号管理" in page and "组织单位" in page and "未登录访客" in page
    assert not re.search(r"can \w+ on \w+|menu access on|Copy Role|复制角色", page)
    for url in ("/roles/add", "/roles/edit/1", "/roles/delete/1"):
        assert web.get(url).status_code == 404, url


def test_fab_pages_an_administrator_does_not_need_are_not_offered(web, db_session, small_app):
    from flask_appbuilder.security.sqla.models import Role

    set_known_password(db_session, "admin")
    login(web, "admin")
    home = _text(web.get("/accounts/list/"))
    for label in ("用户列表", "角色列表"):
        assert label in home
    for label in ("用户组列表", "用户统计", "基本权限", "视图/菜单"):
        assert label not in home, label
    for url in ("/userstatschartview/chart/", "/permissions/list/", "/viewmenus/list/",
                "/permissionviews/list/"):
        assert web.get(url).status_code == 404, url
    # Registered by FAB whatever the settings, granted to nobody.
    assert web.get("/groups/list/").status_code == 403
    for role in db_session.execute(select(Role)).scalars():
        assert not [pv for pv in role.permissions
                    if pv.view_menu.name in ("UserGroupModelView", "List Groups")], role.name


@pytest.mark.parametrize("username", ["330106", "339999"])
def test_login_page_keeps_the_name_and_counts_attempts_alike(web, db_session, username):
    """A name with an account and one without get the same page after a failed attempt."""
    for expected_left in (4, 3):
        web.post("/login/", data={"username": username, "password": "Cuowu2026x"})
        page = _text(web.get("/login/"))
        assert f'value="{username}"' in page
        assert f"最多还可尝试 {expected_left} 次" in page
    assert "初始密码绝不含数字 0、1 和字母 O、o、l、I" in page
