"""The platform on a real PostgreSQL server, the production database (SPEC §9).

The national tree and its accounts are loaded on PostgreSQL by the same loaders as on SQLite
(tests/support/postgres.py builds it once per session), under a default collation that ignores
punctuation, as a zh_CN.UTF-8 server's does. The org path column must keep subtree range scans
exact there: these tests compare every subtree with SQLite's answer and with the parent links.
"""
import collections

import pytest
from sqlalchemy import create_engine, inspect, select, text

from tests.conftest import base_overrides

pytestmark = pytest.mark.postgres


@pytest.fixture
def sqlite_engine(national_db_file):
    engine = create_engine(f"sqlite:///{national_db_file}")
    yield engine
    engine.dispose()


def _orgs(conn):
    from app.orgs.models import Org

    return conn.execute(select(Org.id, Org.code, Org.parent_id, Org.level, Org.path)).all()


def _subtree_codes(conn, path):
    from app.orgs.models import Org

    return set(conn.execute(select(Org.code).where(Org.subtree_clause(path))).scalars())


def test_schema_is_created_on_an_empty_database(pg_database, tmp_path):
    from app.extensions import db
    from app.factory import create_app
    from tests.support.postgres import HOSTILE_ICU_LOCALE

    url = pg_database(icu_locale=HOSTILE_ICU_LOCALE)
    application = create_app(base_overrides(url, tmp_path))
    assert application.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql+psycopg://")
    with application.app_context():
        db.create_all()
        assert db.engine.dialect.name == "postgresql"
        tables = set(inspect(db.engine).get_table_names())
        assert {"org", "ab_user", "ab_role"} <= tables
        collation = db.session.execute(text(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE table_name = 'org' AND column_name = 'path'")).scalar_one()
        assert collation == "C"
        db.session.remove()
        db.engine.dispose()


def test_national_tree_and_accounts_load_on_postgres(pg_app, sqlite_engine):
    from app.accounts.models import PuchaUser
    from app.extensions import db
    from app.orgs.models import Org

    session = db.session
    org_count = session.scalar(select(db.func.count(Org.id)))
    with sqlite_engine.connect() as conn:
        sqlite_orgs = conn.scalar(select(db.func.count(Org.id)))
        sqlite_users = conn.scalar(select(db.func.count(PuchaUser.id)))
    assert org_count == sqlite_orgs
    assert org_count > 3000  # the real national tree, not a sample
    assert session.scalar(select(db.func.count(PuchaUser.id))) == sqlite_users
    # Every unit has exactly its own account, username = org code.
    orphans = session.scalar(
        select(db.func.count(Org.id)).where(~select(PuchaUser.id).where(
            PuchaUser.org_id == Org.id, PuchaUser.username == Org.code).exists()))
    assert orphans == 0
    # Chinese names survive the round trip.
    assert session.scalar(select(Org.name).where(Org.code == "330000")) == "浙江省"


def test_every_subtree_matches_sqlite_and_the_parent_links(pg_app, sqlite_engine):
    from app.extensions import db

    with db.engine.connect() as pg, sqlite_engine.connect() as lite:
        rows = _orgs(pg)
        assert sorted((r.code, r.path) for r in rows) == sorted((r.code, r.path) for r in _orgs(lite))

        # The truth from parent links alone, independent of paths and collations.
        children = collections.defaultdict(list)
        code_of = {r.id: r.code for r in rows}
        for r in rows:
            children[r.parent_id].append(r.id)

        def descendants(org_id):
            found, stack = {code_of[org_id]}, [org_id]
            while stack:
                for child in children[stack.pop()]:
                    found.add(code_of[child])
                    stack.append(child)
            return found

        # Every unit that has sub-units (national, provinces, ministries, cities …), and a sample
        # of leaves.
        checked = [r for r in rows if children[r.id]] + [r for r in rows if not children[r.id]][::97]
        assert len(checked) > 300
        for r in checked:
            expected = descendants(r.id)
            assert _subtree_codes(pg, r.path) == expected, r.code
            assert _subtree_codes(lite, r.path) == expected, r.code


def test_path_collation_c_keeps_the_range_scan_exact(pg_app):
    """Under the database's own (punctuation-ignoring) collation the range would lose rows; the
    column's collation "C" gives the exact subtree and lets the unique index serve it."""
    from app.extensions import db
    from app.orgs.models import Org, path_upper_bound

    session = db.session
    provider = session.execute(text(
        "SELECT datlocprovider FROM pg_database WHERE datname = current_database()")).scalar_one()
    assert provider == "i"  # the test database really has the hostile ICU default collation

    zhejiang = session.execute(select(Org).where(Org.code == "330000")).scalar_one()
    low, high = zhejiang.path, path_upper_bound(zhejiang.path)
    exact = session.scalar(select(db.func.count(Org.id)).where(Org.path.startswith(low, autoescape=True)))
    assert exact > 90  # the province, its cities and counties

    by_column = session.execute(text(
        "SELECT count(*) FROM org WHERE path >= :low AND path < :high"),
        {"low": low, "high": high}).scalar_one()
    by_database_default = session.execute(text(
        'SELECT count(*) FROM org WHERE path COLLATE "default" >= :low '
        'AND path COLLATE "default" < :high'), {"low": low, "high": high}).scalar_one()
    assert by_column == exact
    assert by_database_default < exact  # proves the collation matters, so the test means something

    county = session.execute(select(Org).where(Org.code == "330102")).scalar_one()
    session.execute(text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(session.execute(text(
        "EXPLAIN SELECT id FROM org WHERE path >= :low AND path < :high"),
        {"low": county.path, "high": path_upper_bound(county.path)}).scalars())
    session.rollback()
    assert "Index" in plan and "Seq Scan" not in plan, plan


def test_a_county_logs_in_on_postgres(pg_app):
    from app.accounts.models import PuchaUser
    from app.extensions import db

    user = db.session.execute(select(PuchaUser).where(PuchaUser.username == "330102")).scalar_one()
    password = user.initial_password
    assert password
    client = pg_app.test_client()
    response = client.post("/login/", data={"username": "330102", "password": password},
                           follow_redirects=True)
    assert response.status_code == 200
    # A first login ends on the forced password change, not in the admin.
    from app.accounts.views import CHANGE_PASSWORD_URL

    assert response.request.path == CHANGE_PASSWORD_URL, response.get_data(as_text=True)[:2000]
    assert "修改初始密码" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(
        select(PuchaUser.login_count).where(PuchaUser.username == "330102")) == 1
