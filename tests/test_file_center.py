"""文件中心 → 我的协作组 (plugins/filecenter/unit_files.py): a unit's own folder holds the account
table of its direct sub-units, generated on each download, audited; a unit without sub-units sees
none; nobody downloads another unit's table through the file center."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from app.audit import AuditEvent
from tests.support.accounts import get_user, login, set_known_password

FILES = "/files/"
ACCOUNT_TABLE = "/files/generated/account_table"


@pytest.fixture
def as_unit(app, session):
    def client_for(username):
        set_known_password(session, username)
        client = app.test_client()
        login(client, username)
        return client
    return client_for


def _children(session, code):
    from app.orgs.models import Org

    parent = select(Org.id).where(Org.code == code).scalar_subquery()
    return set(session.execute(select(Org.code).where(Org.parent_id == parent)).scalars())


def _codes(data):
    ws = load_workbook(io.BytesIO(data)).active
    return {row[0]: row for row in ws.iter_rows(min_row=3, values_only=True)}


def test_a_county_finds_and_downloads_its_sub_units_account_table(as_unit, session):
    from app.orgs.models import Org

    county = session.execute(select(Org).where(Org.code == "330102")).scalar_one()
    child = Org(code="33010201", name="上城区某街道办事处", level=4, kind="county",
                parent_id=county.id, path=county.path + "33010201/")
    session.add(child)
    session.commit()
    client = as_unit("330102")
    page = client.get(FILES)
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "我的协作组" in text and "上城区（330102）" in text and "下级单位账号表" in text
    assert "330102-下级单位账号表.xlsx" in text

    response = client.get(ACCOUNT_TABLE)
    assert response.status_code == 200
    assert "filename*=UTF-8''330102-" in response.headers["Content-Disposition"]
    assert set(_codes(response.data)) == {"33010201"}
    event = session.execute(select(AuditEvent).where(AuditEvent.object_type == "account_table")
                            .order_by(AuditEvent.id.desc())).scalars().first()
    assert (event.action, event.object_id, event.actor_name) == ("download", "330102", "330102")
    assert event.detail["file"] == "330102-下级单位账号表.xlsx"
    assert event.scope_path == county.path


def test_the_table_shows_initial_passwords_until_changed(as_unit, session):
    client = as_unit("330100")
    rows = _codes(client.get(ACCOUNT_TABLE).data)
    assert set(rows) == _children(session, "330100") and {"330102", "330106"} <= set(rows)
    assert rows["330106"][4] == get_user(session, "330106").initial_password
    # The sub-unit replaces its initial password: the next download says so.
    set_known_password(session, "330102")
    rows = _codes(client.get(ACCOUNT_TABLE).data)
    assert rows["330102"][4] == "已修改"


def test_a_unit_without_sub_units_has_no_account_table(as_unit):
    client = as_unit("330106")
    text = client.get(FILES).get_data(as_text=True)
    assert "下级单位账号表" not in text and "不需要发放账号" in text
    assert client.get(ACCOUNT_TABLE).status_code == 404


def test_the_folder_is_the_acting_units_own(as_unit, session):
    # No unit in the URL: a city's download is its own table whatever it adds to the request.
    client = as_unit("330100")
    rows = _codes(client.get(ACCOUNT_TABLE + "?org=330000").data)
    assert set(rows) == _children(session, "330100")
    assert client.get("/files/generated/no_such_file").status_code == 404


def test_an_administrator_has_no_folder_of_its_own(as_unit):
    client = as_unit("admin")
    assert "没有自己的文件夹" in client.get(FILES).get_data(as_text=True)
    assert client.get(ACCOUNT_TABLE).status_code == 404


def test_nobody_logged_in_is_sent_to_the_login(app):
    client = app.test_client()
    assert client.get(FILES).status_code == 302
    assert client.get(ACCOUNT_TABLE).status_code == 302
