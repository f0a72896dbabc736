"""The account table of a unit's direct sub-units (xlsx), from the web, the CLI and the code."""
import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.accounts.account_table import HEADERS, build_account_table
from tests.support.statements import StatementCounter
from tests.support.accounts import KNOWN_PASSWORD as KNOWN
from tests.support.accounts import NEW_PASSWORD as NEW
from tests.support.accounts import api_token, audit_count, get_user, set_known_password, web_login


def _org(session, code):
    from app.orgs.models import Org

    return session.execute(select(Org).where(Org.code == code)).scalar_one()


def _rows(data):
    ws = load_workbook(io.BytesIO(data)).active
    return ws, {row[0]: row for row in ws.iter_rows(min_row=3, values_only=True)}


def test_table_lists_direct_children_with_initial_passwords(db_session):
    ws, rows = _rows(build_account_table(db_session, _org(db_session, "330100")))
    assert "杭州市人民政府办公厅" in ws["A1"].value and "330100" in ws["A1"].value
    assert [c.value for c in ws[2]] == list(HEADERS)
    assert ws.freeze_panes == "A3"
    assert ws.column_dimensions["B"].width >= 30
    assert set(rows) == {"330102", "330106"}
    row = rows["330102"]
    assert row[1] == "上城区人民政府办公室" and row[2].startswith("县级") and row[3] == "330102"
    assert row[4] == get_user(db_session, "330102").initial_password
    assert row[5] == "正常"


def test_table_of_province_excludes_grandchildren(db_session):
    _, rows = _rows(build_account_table(db_session, _org(db_session, "330000")))
    assert set(rows) == {"330100", "330200"}


def test_table_shows_changed_then_new_initial_after_reset(web, db_session):
    from app.accounts import commands

    initial = get_user(db_session, "330102").initial_password
    headers = api_token(web, "330102", initial)
    assert web.post("/api/v1/account/password", headers=headers,
                    json={"old_password": initial, "new_password": NEW}).status_code == 200
    _, rows = _rows(build_account_table(db_session, _org(db_session, "330100")))
    assert rows["330102"][4] == "已修改"
    assert initial not in {r[4] for r in rows.values()}

    parent = get_user(db_session, "330100")
    target = commands.load_managed_user(db_session, parent, username="330102")
    new_initial = commands.reset_password(db_session, parent, target)
    db_session.commit()
    _, rows = _rows(build_account_table(db_session, _org(db_session, "330100")))
    assert rows["330102"][4] == new_initial


def test_table_shows_locked_and_missing_accounts(db_session):
    import datetime

    from app.accounts.models import PuchaUser
    from tests.support.accounts import add_orgs

    user = get_user(db_session, "330106")
    user.locked_until = datetime.datetime.now() + datetime.timedelta(minutes=5)
    add_orgs(db_session, [("330108", "滨江区人民政府办公室", 3, "county", "330100")])
    db_session.commit()
    assert db_session.scalar(select(func.count(PuchaUser.id)).where(
        PuchaUser.username == "330108")) == 0
    _, rows = _rows(build_account_table(db_session, _org(db_session, "330100")))
    assert rows["330106"][5] == "已锁定"
    assert rows["330108"][5] == "未开通" and rows["330108"][4] in (None, "")


def test_web_download_by_unit_and_admin(web, db_session):
    set_known_password(db_session, "330100")
    web_login(web, "330100", KNOWN)
    response = web.get("/accounts/download/")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    _, rows = _rows(response.data)
    assert set(rows) == {"330102", "330106"}
    # A unit cannot ask for another unit's table.
    assert web.get("/accounts/download/?org=330000").status_code == 403
    assert audit_count(db_session, "download", "330100") == 1
    assert "下载下级账号表" in web.get("/accounts/list/").get_data(as_text=True)

    web.post("/logout/")
    set_known_password(db_session, "admin")
    web_login(web, "admin", KNOWN)
    _, rows = _rows(web.get("/accounts/download/").data)
    assert set(rows) == {"330000", "320000"}
    _, rows = _rows(web.get("/accounts/download/?org=330100").data)
    assert set(rows) == {"330102", "330106"}


def test_cli_account_table(small_app, db_session, tmp_path):
    out = tmp_path / "table.xlsx"
    result = small_app.test_cli_runner().invoke(
        args=["pucha", "account-table", "330100", "-o", str(out)])
    assert result.exit_code == 0, result.output
    _, rows = _rows(out.read_bytes())
    assert rows["330106"][4] == get_user(db_session, "330106").initial_password
    result = small_app.test_cli_runner().invoke(
        args=["pucha", "account-table", "999999", "-o", str(out)])
    assert result.exit_code != 0 and "不存在" in result.output


@pytest.mark.slow
def test_national_provisioning_is_set_based(tmp_path):
    """The full tree gets its ~3,300 accounts set-based: a bounded number of statements."""
    from app.accounts.models import PuchaUser
    from app.accounts.provisioning import ensure_org_accounts, sync_roles
    from app.extensions import db
    from app.factory import create_app
    from app.orgs.importer import load_default_tree
    from app.orgs.models import Org
    from tests.conftest import base_overrides

    application = create_app(base_overrides(f"sqlite:///{tmp_path / 'n.db'}", tmp_path))
    with application.app_context():
        db.create_all()
        sync_roles()
        load_default_tree(db.session)
        db.session.commit()
        with StatementCounter(db.engine) as counter:
            created = ensure_org_accounts(db.session)
            db.session.commit()
        units = db.session.scalar(select(func.count(Org.id)))
        assert created == units > 3000
        # Set-based: a bounded number of statements for ~3,300 accounts, not one per unit.
        assert counter.count <= 20, counter.count
        assert db.session.scalar(select(func.count(PuchaUser.id)).where(
            PuchaUser.org_id.is_not(None))) == units
        _, rows = _rows(build_account_table(db.session, _org(db.session, "330000")))
        assert "330100" in rows and len(rows["330100"][4]) >= 8
        db.session.remove()
        db.engine.dispose()
