"""The national org tree: real data, folding rules, tree queries, loader speed and the web view."""
import csv
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select

from app.orgs.importer import DEFAULT_FILES, load_default_tree
from app.orgs.models import Org
from tests.conftest import app_in_context, base_overrides, build_database, sqlite_copy
from tests.support.pages import redirected
from tests.support.statements import StatementCounter


@pytest.fixture(scope="session")
def org_db_file(tmp_path_factory):
    """A database holding only the default org tree (no accounts), built once."""
    folder = tmp_path_factory.mktemp("orgs")
    path = folder / "orgs.db"
    build_database(f"sqlite:///{path}", folder, accounts=False)
    return path


@pytest.fixture
def org_app(org_db_file, tmp_path):
    db_url = sqlite_copy(org_db_file, tmp_path, "orgs.db")
    with app_in_context(base_overrides(db_url, tmp_path)) as application:
        yield application


@pytest.fixture
def org_session(org_app):
    from app.extensions import db

    return db.session


def get(session, code):
    return session.scalars(select(Org).where(Org.code == code)).one()


def count(session, **filters):
    stmt = select(func.count(Org.id))
    for key, value in filters.items():
        stmt = stmt.where(getattr(Org, key) == value)
    return session.scalar(stmt)


# --- the data ------------------------------------------------------------------------------------

def test_counts(org_session):
    total = count(org_session)
    assert 3200 <= total <= 3500
    assert count(org_session, level=0) == 1
    assert count(org_session, kind="province") == 31
    assert count(org_session, kind="city", level=2) >= 330
    assert count(org_session, kind="county") >= 2800
    assert count(org_session, kind="xpcc") == 1
    assert count(org_session, kind="division") == 14
    assert 60 <= count(org_session, kind="ministry") <= 90
    assert count(org_session, kind="bureau") >= 31


def test_no_taiwan_hongkong_macau_and_no_placeholders(org_session):
    codes = set(org_session.scalars(select(Org.code)))
    assert not codes & {"710000", "810000", "820000"}
    names = set(org_session.scalars(select(Org.name)))
    for placeholder in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
        assert placeholder not in names
    assert "110100" not in codes and "500200" not in codes and "419000" not in codes


@pytest.mark.parametrize("code,parent,level,kind,name", [
    ("330102", "330100", 3, "county", "上城区"),
    ("330100", "330000", 2, "city", "杭州市"),
    ("330000", "000000", 1, "province", "浙江省"),
    ("110108", "110000", 2, "county", "海淀区"),
    ("500229", "500000", 2, "county", "城口县"),
    ("419001", "410000", 2, "county", "济源市"),
    ("429004", "420000", 2, "county", "仙桃市"),
    ("659001", "650000", 2, "county", "石河子市"),
    ("460400", "460000", 2, "city", "儋州市"),
    ("bm7100", "000000", 1, "ministry", "国家邮政局"),
    ("bm7104", "bm7100", 2, "bureau", "山西省邮政管理局"),
    ("bm2900", "000000", 1, "ministry", "国家税务总局"),
    ("bm2903", "bm2900", 2, "bureau", "国家税务总局河北省税务局"),
    ("bm8000", "000000", 1, "ministry", "国务院台湾事务办公室"),
    ("bt0000", "000000", 1, "xpcc", "新疆生产建设兵团"),
    ("bt0100", "bt0000", 2, "division", "第一师"),
    ("bt1400", "bt0000", 2, "division", "第十四师"),
])
def test_real_units(org_session, code, parent, level, kind, name):
    org = get(org_session, code)
    assert (org.parent.code, org.level, org.kind, org.name) == (parent, level, kind, name)
    assert org.path == f"{org.parent.path}{code}/"


def test_prefectures_without_counties(org_session):
    from app.orgs.queries import children

    for code in ("441900", "442000", "460400", "620200"):  # 东莞 中山 儋州 嘉峪关
        assert children(org_session, get(org_session, code)) == []


def test_levels_follow_parents_and_paths(org_session):
    parents = {o.id: o for o in org_session.scalars(select(Org))}
    for org in parents.values():
        if org.parent_id is None:
            assert org.code == "000000" and org.path == "/000000/" and org.level == 0
            continue
        parent = parents[org.parent_id]
        assert org.level == parent.level + 1, org.code
        assert org.path == f"{parent.path}{org.code}/", org.code


def test_ministry_codes_step_by_100_and_end_of_2015_list(org_session):
    codes = sorted(org_session.scalars(select(Org.code).where(Org.kind == "ministry")))
    assert all(c[:2] == "bm" and c.endswith("00") for c in codes)
    assert len(set(codes)) == len(codes)
    # The 2015 list ended at bm8000 国台办; later bodies extend it without reusing codes.
    assert "bm8000" in codes
    for code in org_session.scalars(select(Org.code).where(Org.kind == "bureau")):
        assert get(org_session, code).parent.code[:4] == code[:4]


def test_shipped_files_are_consistent():
    seen = {}
    for data_file in DEFAULT_FILES:
        with data_file.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            assert reader.fieldnames == ["code", "name", "level", "kind", "parent_code"]
            for row in reader:
                assert row["code"] not in seen, row["code"]
                assert row["parent_code"] == "" or row["parent_code"] in seen, row
                seen[row["code"]] = row


# --- loading -------------------------------------------------------------------------------------

def test_reload_is_idempotent(org_session):
    before = count(org_session)
    assert load_default_tree(org_session) == 0
    assert load_default_tree(org_session, refresh=True) == 0
    org_session.commit()
    assert count(org_session) == before


def test_load_adds_only_missing_units_and_keeps_admin_renames(org_session):
    from sqlalchemy import delete

    org_session.execute(delete(Org).where(Org.code.in_(["330102", "330106"])))
    get(org_session, "330105").name = "改过的名字"
    org_session.commit()
    assert load_default_tree(org_session) == 2
    org_session.commit()
    assert get(org_session, "330102").path == "/000000/330000/330100/330102/"
    assert get(org_session, "330105").name == "改过的名字"
    load_default_tree(org_session, refresh=True)
    assert get(org_session, "330105").name == "拱墅区"


def test_full_load_is_set_based(tmp_path):
    with app_in_context(base_overrides(f"sqlite:///{tmp_path / 'fresh.db'}", tmp_path)):
        from app.extensions import db

        db.create_all()
        with StatementCounter(db.engine) as counter:
            added = load_default_tree(db.session)
            db.session.commit()
        assert added == db.session.scalar(select(func.count(Org.id))) > 3000
        # Set-based: a bounded number of statements for ~3,300 units, not one per unit.
        assert counter.count <= 25, counter.count


# --- queries -------------------------------------------------------------------------------------

def test_children_subtree_ancestors(org_session):
    from app.orgs import queries

    hangzhou = get(org_session, "330100")
    kids = queries.children(org_session, hangzhou)
    assert "330102" in [k.code for k in kids]
    assert all(k.parent_id == hangzhou.id for k in kids)

    zhejiang = get(org_session, "330000")
    tree = queries.subtree(org_session, zhejiang)
    codes = [o.code for o in tree]
    assert codes[0] == "330000" and "330102" in codes and "330100" in codes
    assert all(c.startswith("33") for c in codes)
    assert queries.subtree_count(org_session, zhejiang) == len(tree)
    assert "330000" not in [o.code for o in queries.subtree(org_session, zhejiang, False)]

    county = get(org_session, "330102")
    assert [o.code for o in queries.ancestors(org_session, county)] == [
        "000000", "330000", "330100"]
    assert [o.code for o in queries.ancestors(org_session, county, include_self=True)][-1] == \
        "330102"
    root = get(org_session, "000000")
    assert queries.subtree_count(org_session, root) == count(org_session)


def test_subtree_is_one_query(org_session, org_app):
    from sqlalchemy import event

    from app.extensions import db
    from app.orgs import queries

    statements = []
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(db.engine, "before_cursor_execute", listener)
    try:
        root = get(org_session, "000000")
        statements.clear()
        assert len(queries.subtree(org_session, root)) > 3000
        queries.ancestors(org_session, get(org_session, "330102"))
    finally:
        event.remove(db.engine, "before_cursor_execute", listener)
    assert len(statements) == 3  # subtree, the get, ancestors


@pytest.mark.parametrize("code,expected", [
    ("330102", ("浙江省", "杭州市", "上城区")),
    ("330100", ("浙江省", "杭州市", "")),
    ("330000", ("浙江省", "", "")),
    ("110108", ("北京市", "", "海淀区")),
    ("419001", ("河南省", "", "济源市")),
    ("bm2900", ("国家税务总局", "", "")),
    ("bm2903", ("国家税务总局", "国家税务总局河北省税务局", "")),
    ("bt0100", ("新疆生产建设兵团", "第一师", "")),
    ("000000", ("国务院办公厅", "", "")),
])
def test_region_names(org_session, code, expected):
    from app.orgs.queries import region_names

    assert region_names(get(org_session, code)) == expected


def test_region_names_is_one_query_per_unit_on_full_tree(org_session):
    from app.orgs.queries import region_names

    counties = list(org_session.scalars(select(Org).where(Org.kind == "county").limit(500)))
    with StatementCounter(org_session.get_bind()) as counter:
        for org in counties:
            region_names(org)
    # One query per unit for its whole chain, not one per ancestor.
    assert counter.count <= len(counties), counter.count


# --- the web view --------------------------------------------------------------------------------

def _scoped_codes(user):
    from flask import g

    from app.orgs.views import OrgView

    g.user = user
    view = next(v for v in __import__("flask").current_app.appbuilder.baseviews
                if isinstance(v, OrgView))
    _, rows = view.datamodel.query(view._base_filters, page_size=5000)
    return {o.code for o in rows}


class _User:
    is_authenticated = True

    def __init__(self, org, roles=()):
        self.org = org
        self.org_id = org.id if org is not None else None
        self.roles = [SimpleNamespace(name=name) for name in roles]


def test_scope_filter_limits_the_org_list(org_app, org_session):
    with org_app.test_request_context("/orgs/list/"):
        hangzhou = get(org_session, "330100")
        codes = _scoped_codes(_User(hangzhou))
        assert "330100" in codes and "330102" in codes
        assert "330200" not in codes and "330000" not in codes and "000000" not in codes
        # The administrator is recognised by its role; no unit without it sees nothing.
        assert len(_scoped_codes(_User(None, roles=["系统管理员"]))) == count(org_session)
        assert _scoped_codes(_User(None)) == set()
        assert _scoped_codes(_User(None, roles=["组织单位"])) == set()
        assert _scoped_codes(_User(get(org_session, "bm7100"))) == {
            "bm7100", *(f"bm71{n:02d}" for n in range(1, 32))}


def test_web_list_and_show_are_scoped(app, client, session):
    from tests.support.accounts import login, set_known_password

    set_known_password(session, "330100")
    login(client, "330100")
    page = client.get("/orgs/list/?psize_OrgView=100")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "上城区" in text and "杭州市" in text and "宁波市" not in text
    sibling = get(session, "330200")
    assert client.get(f"/orgs/show/{sibling.id}").status_code == 404
    own = get(session, "330102")
    assert "上城区" in client.get(f"/orgs/show/{own.id}").get_data(as_text=True)
    # Adding units is for administrators only.
    assert client.get("/orgs/admin/add").status_code == 403


def test_admin_adds_a_unit_on_the_web(app, client, session):
    from app.accounts.models import PuchaUser
    from tests.support.accounts import login, set_known_password

    admin = session.scalars(select(PuchaUser).where(PuchaUser.username == "admin")).one()
    assert [role.name for role in admin.roles] == [app.config["AUTH_ROLE_ADMIN"]]
    set_known_password(session, admin.username)
    login(client, admin.username)
    assert client.get("/orgs/admin/add").status_code == 200
    hangzhou = get(session, "330100")
    response = client.post("/orgs/admin/add", data={
        "code": "330199", "name": "测试新区", "kind": "county", "parent": str(hangzhou.id)})
    assert redirected(client, response, "/") == ["记录已添加"]
    session.expire_all()
    added = get(session, "330199")
    assert (added.level, added.path) == (3, "/000000/330000/330100/330199/")
    # The new unit's account exists at once, with an initial password for the parent to hand out.
    account = session.scalars(select(PuchaUser).where(PuchaUser.username == "330199")).one()
    assert account.org_id == added.id and account.initial_password and account.must_change_password
    response = client.post("/orgs/admin/add", data={
        "code": "3301", "name": "格式不对", "kind": "county", "parent": str(hangzhou.id)},
        follow_redirects=True)
    assert "不符合" in response.get_data(as_text=True)
    assert session.scalars(select(Org).where(Org.code == "3301")).first() is None
