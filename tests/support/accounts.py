"""Test helpers for accounts: give an org account a known password, log a client in (pages or
JWT; logging in changes nothing, the password is set apart), count audit rows, and the small org
tree of the account tests (``small_app`` in tests/conftest.py)."""
from sqlalchemy import func, select

KNOWN_PASSWORD = "Zhengque2026"
NEW_PASSWORD = "Xinmima2026"  # what a user picks to replace KNOWN_PASSWORD

# Root, two provinces, two cities, two counties: enough for every scope rule without the
# national data set.
SMALL_TREE = [
    # code, name, level, kind, parent
    ("000000", "国务院办公厅", 0, "national", None),
    ("330000", "浙江省人民政府办公厅", 1, "province", "000000"),
    ("320000", "江苏省人民政府办公厅", 1, "province", "000000"),
    ("330100", "杭州市人民政府办公厅", 2, "city", "330000"),
    ("330200", "宁波市人民政府办公厅", 2, "city", "330000"),
    ("330102", "上城区人民政府办公室", 3, "county", "330100"),
    ("330106", "西湖区人民政府办公室", 3, "county", "330100"),
]


def add_orgs(session, rows):
    from app.orgs.models import Org

    by_code = {o.code: o for o in session.execute(select(Org)).scalars()}
    for code, name, level, kind, parent in rows:
        parent_org = by_code.get(parent)
        path = (parent_org.path if parent_org else "/") + code + "/"
        org = Org(code=code, name=name, level=level, kind=kind, path=path,
                  parent_id=parent_org.id if parent_org else None)
        session.add(org)
        session.flush()
        by_code[code] = org
    return by_code


def get_user(session, username):
    from app.accounts.models import PuchaUser

    session.expire_all()
    return session.execute(select(PuchaUser).where(PuchaUser.username == username)).scalar_one()


def set_known_password(session, username, password=KNOWN_PASSWORD):
    """Act as if the user had already replaced the initial password with ``password``: hashed
    the way the product hashes a chosen password (``hash_password``), committed."""
    from app.accounts.passwords import hash_password

    user = get_user(session, username)
    user.password = hash_password(password)
    user.initial_password = None
    user.must_change_password = False
    session.commit()
    return user


def login(client, username, password=KNOWN_PASSWORD):
    """Log ``client`` in on the web form as ``username`` (logging out whoever it was: FAB's login
    page sends a logged-in user away). Changes nothing in the database: a test that needs the
    account to have ``password`` says so with ``set_known_password`` first."""
    client.post("/logout/")
    response = web_login(client, username, password)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    assert not response.headers["Location"].startswith("/login/"), (
        f"{username} was not logged in: sent back to {response.headers['Location']}")
    return client


def web_login(client, username, password):
    return client.post("/login/", data={"username": username, "password": password})


def api_token(client, username, password):
    response = client.post("/api/v1/security/login", json={
        "username": username, "password": password, "provider": "db"})
    assert response.status_code == 200, response.get_json()
    return {"Authorization": f"Bearer {response.get_json()['access_token']}"}


def audit_count(session, action, object_id=None):
    from app.audit import AuditEvent

    stmt = select(func.count(AuditEvent.id)).where(AuditEvent.action == action)
    if object_id is not None:
        stmt = stmt.where(AuditEvent.object_id == object_id)
    return session.scalar(stmt)
