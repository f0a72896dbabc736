"""Importing org units from CSV/xlsx: add, rename, re-parent, all-or-nothing refusal, CLI."""
import pytest
from sqlalchemy import Column, Integer, String, Table, func, insert, select

from app.audit import AuditEvent
from app.orgs.importer import OrgImportError, import_orgs
from app.orgs.models import Org, org_path_column
from tests.test_orgs import count, get, org_app, org_db_file, org_session  # noqa: F401

HEADER_ZH = "代码,名称,级别,类型,上级代码\n"
HEADER_EN = "code,name,level,kind,parent_code\n"


def write(tmp_path, text, name="orgs.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def snapshot(session):
    return sorted(session.execute(select(Org.code, Org.name, Org.level, Org.kind, Org.parent_id,
                                         Org.path)).all())


def audit_count(session, action="import_orgs"):
    return session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == action))


def test_import_adds_units(org_session, tmp_path):
    before = count(org_session)
    path = write(tmp_path, HEADER_ZH + "330199,钱塘新区,3,county,330100\n"
                 "bm7132,新疆生产建设兵团邮政管理局,2,bureau,bm7100\n")
    report = import_orgs(org_session, path)
    org_session.commit()
    assert report.added == ["330199", "bm7132"]
    assert count(org_session) == before + 2
    new = get(org_session, "330199")
    assert (new.parent.code, new.level, new.path) == ("330100", 3, "/000000/330000/330100/330199/")
    assert get(org_session, "bm7132").path == "/000000/bm7100/bm7132/"
    assert audit_count(org_session) == 1
    event = org_session.scalars(select(AuditEvent).where(AuditEvent.action == "import_orgs")).one()
    assert event.detail["added"] == ["330199", "bm7132"]


def test_new_unit_and_its_child_in_one_file(org_session, tmp_path):
    path = write(tmp_path, HEADER_EN + "bm8900,国家测试局,1,ministry,000000\n"
                 "bm8901,国家测试局浙江分局,2,bureau,bm8900\n")
    import_orgs(org_session, path)
    org_session.commit()
    assert get(org_session, "bm8901").path == "/000000/bm8900/bm8901/"


def test_level_and_kind_may_be_left_empty(org_session, tmp_path):
    path = write(tmp_path, HEADER_ZH + "330198,空类型区,,,330100\n")
    import_orgs(org_session, path)
    unit = get(org_session, "330198")
    assert (unit.level, unit.kind) == (3, "county")


def test_import_renames(org_session, tmp_path):
    path = write(tmp_path, HEADER_ZH + "330102,上城区（新）,3,县级,330100\n")
    report = import_orgs(org_session, path)
    org_session.commit()
    assert report.renamed == ["330102"] and not report.moved
    assert get(org_session, "330102").name == "上城区（新）"


def test_unchanged_rows_change_nothing(org_session, tmp_path):
    before = snapshot(org_session)
    report = import_orgs(org_session, write(tmp_path, HEADER_ZH + "330102,上城区,3,county,330100\n"))
    assert report.unchanged == 1 and not (report.added or report.renamed or report.moved)
    assert snapshot(org_session) == before


def throwaway_table(session, name, *columns):
    """A table in the models' metadata for one test (yields it; dropped and forgotten after)."""
    table = Table(name, Org.metadata, Column("id", Integer, primary_key=True), *columns,
                  Column("label", String(32)))
    table.create(session.connection())
    yield table
    session.rollback()
    table.drop(session.get_bind())
    Org.metadata.remove(table)


@pytest.fixture
def scoped_table(org_session):
    """A throwaway table with the two path columns a form plugin would have."""
    yield from throwaway_table(org_session, "tmp_scoped_thing",
                               org_path_column("scope_path"), org_path_column("holder_path"))


def test_reparent_moves_subtree_and_scoped_rows(org_session, tmp_path, scoped_table):
    org_session.execute(insert(scoped_table), [
        {"scope_path": "/000000/330000/330100/330102/", "holder_path": "/000000/330000/330100/",
         "label": "county form"},
        {"scope_path": "/000000/330000/330100/", "holder_path": "/000000/330000/",
         "label": "city form"},
        {"scope_path": "/000000/330000/330200/", "holder_path": "/000000/330000/330200/",
         "label": "other city"},
        {"scope_path": "/000000/330000/330100X/", "holder_path": None, "label": "prefix lookalike"},
    ])
    org_session.commit()
    hangzhou = get(org_session, "330100")
    # A hypothetical move of a whole city to another province: the deepest re-parent there is.
    path = write(tmp_path, HEADER_ZH + "330100,杭州市,2,city,310000\n")
    report = import_orgs(org_session, path)
    org_session.commit()
    assert report.moved == ["330100"]
    org_session.refresh(hangzhou)
    assert hangzhou.parent.code == "310000"
    assert hangzhou.path == "/000000/310000/330100/"
    assert get(org_session, "330102").path == "/000000/310000/330100/330102/"
    subtree = org_session.scalars(select(Org.path).where(Org.path.like("/000000/330000/330100/%")))
    assert list(subtree) == []
    rows = {r.label: r for r in org_session.execute(select(scoped_table))}
    assert rows["county form"].scope_path == "/000000/310000/330100/330102/"
    assert rows["county form"].holder_path == "/000000/310000/330100/"
    assert rows["city form"].scope_path == "/000000/310000/330100/"
    assert rows["city form"].holder_path == "/000000/330000/"
    assert rows["other city"].scope_path == "/000000/330000/330200/"
    assert rows["prefix lookalike"].scope_path == "/000000/330000/330100X/"
    assert report.paths_rewritten >= 4


@pytest.fixture
def named_unlike_table(org_session):
    """A marked path column with a name of its own, and a ``scope_path`` that is no org path."""
    yield from throwaway_table(org_session, "tmp_path_marks",
                               org_path_column("reviewer_unit_path"), Column("scope_path", String(128)))


def test_a_move_rewrites_the_marked_columns_not_those_named_like_paths(
        org_session, tmp_path, named_unlike_table):
    hangzhou_county = "/000000/330000/330100/330102/"
    org_session.execute(insert(named_unlike_table), [
        {"reviewer_unit_path": hangzhou_county, "scope_path": hangzhou_county, "label": "one"}])
    org_session.commit()
    import_orgs(org_session, write(tmp_path, HEADER_ZH + "330102,上城区,3,county,330200\n"))
    org_session.commit()
    row = org_session.execute(select(named_unlike_table)).one()
    assert row.reviewer_unit_path == "/000000/330000/330200/330102/"
    # Named like one, marked as none: an org move leaves it alone.
    assert row.scope_path == hangzhou_county


def test_reparent_county_between_cities(org_session, tmp_path):
    path = write(tmp_path, HEADER_ZH + "330102,上城区,3,county,330200\n")
    import_orgs(org_session, path)
    org_session.commit()
    assert get(org_session, "330102").path == "/000000/330000/330200/330102/"


def test_bad_file_is_refused_with_every_line_and_changes_nothing(org_session, tmp_path):
    before = snapshot(org_session)
    text = (HEADER_ZH
            + "330197,好的新区,3,county,330100\n"       # 2: fine on its own
            + "330196,孤儿区,3,county,330199\n"         # 3: parent missing
            + "330195,,3,county,330100\n"               # 4: empty name
            + "33019X,坏代码,3,county,330100\n"          # 5: bad code
            + "330194,级别错,2,county,330100\n"          # 6: wrong level
            + "330197,重复,3,county,330100\n"            # 7: duplicate of line 2
            + "330000,浙江省,2,province,330100\n"        # 8: cycle (and wrong level/kind)
            + "330193,类型错,3,village,330100\n"         # 9: unknown kind
            + "bm2940,挂错部门,2,bureau,bm7100\n"        # 10: bureau prefix
            + "330192,孙子区,4,county,330191\n"          # 11: parent appears later
            + "330191,后来者,3,county,330100\n")         # 12: fine
    path = write(tmp_path, text)
    with pytest.raises(OrgImportError) as caught:
        import_orgs(org_session, path)
    lines = caught.value.lines()
    message = str(caught.value)
    assert "第 3 行：上级代码 330199 不存在" in lines
    assert "第 4 行：名称为空" in lines
    assert any(line.startswith("第 5 行：代码 33019X 不符合") for line in lines)
    assert any(line.startswith("第 6 行：级别 2 应为") for line in lines)
    assert "第 7 行：代码 330197 与第 2 行重复" in lines
    assert any(line.startswith("第 8 行") for line in lines)
    assert any(line.startswith("第 9 行：类型 village 无效") for line in lines)
    assert any(line.startswith("第 10 行：") and "前 4 位" in line for line in lines)
    assert any(line.startswith("第 11 行：上级代码 330191 在本行之后") for line in lines)
    assert not any(line.startswith("第 2 行") or line.startswith("第 12 行") for line in lines)
    assert "任何内容均未生效" in message
    org_session.rollback()
    assert snapshot(org_session) == before
    assert audit_count(org_session) == 0


def test_cycle_is_refused(org_session, tmp_path):
    # Moving a ministry under its own bureau: a loop, whatever the levels say.
    path = write(tmp_path, HEADER_EN + "bm7100,国家邮政局,3,ministry,bm7104\n")
    with pytest.raises(OrgImportError) as caught:
        import_orgs(org_session, path)
    assert any("循环" in line or "级别" in line or "不能隶属" in line
               for line in caught.value.lines())


def test_level_change_of_a_unit_with_children_is_refused(org_session, tmp_path):
    path = write(tmp_path, HEADER_EN + "330100,杭州市,3,county,330200\n")
    with pytest.raises(OrgImportError) as caught:
        import_orgs(org_session, path)
    assert any("有下级单位" in line for line in caught.value.lines())


def test_missing_header_columns(org_session, tmp_path):
    with pytest.raises(OrgImportError) as caught:
        import_orgs(org_session, write(tmp_path, "代码,名字\n330199,x\n"))
    assert "表头缺少列" in str(caught.value)


def test_csv_in_gbk(org_session, tmp_path):
    path = write(tmp_path, HEADER_ZH + "330188,国标编码区,3,县级,330100\n", encoding="gbk")
    import_orgs(org_session, path)
    assert get(org_session, "330188").name == "国标编码区"


def test_csv_utf8_with_bom(org_session, tmp_path):
    path = write(tmp_path, "\ufeff" + HEADER_ZH + "330187,带签名区,3,county,330100\n")
    import_orgs(org_session, path)
    assert get(org_session, "330187").name == "带签名区"


def test_xlsx(org_session, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["代码", "名称", "级别", "类型", "上级代码"])
    sheet.append(["330186", "表格新区", 3, "county", "330100"])
    sheet.append(["110108", "海淀区（改）", 2, "county", "110000"])
    path = tmp_path / "orgs.xlsx"
    workbook.save(path)
    report = import_orgs(org_session, path)
    assert report.added == ["330186"] and report.renamed == ["110108"]
    assert get(org_session, "330186").path == "/000000/330000/330100/330186/"


def test_xlsx_bad_row_reports_sheet_row(org_session, tmp_path):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["code", "name", "level", "kind", "parent_code"])
    sheet.append(["330185", "好", 3, "county", "330100"])
    sheet.append(["330184", "坏", 3, "county", "339999"])
    path = tmp_path / "bad.xlsx"
    workbook.save(path)
    with pytest.raises(OrgImportError) as caught:
        import_orgs(org_session, path)
    assert caught.value.lines() == ["第 3 行：上级代码 339999 不存在"]


# --- CLI -----------------------------------------------------------------------------------------

def test_cli_import(org_app, org_session, tmp_path):
    runner = org_app.test_cli_runner()
    good = write(tmp_path, HEADER_ZH + "330173,命令行区,3,county,330100\n")
    result = runner.invoke(args=["pucha", "import-orgs", str(good)])
    assert result.exit_code == 0, result.output
    assert "新增 1 个" in result.output
    assert get(org_session, "330173").name == "命令行区"

    bad = write(tmp_path, HEADER_ZH + "330172,坏,3,county,330171\n", name="bad.csv")
    result = runner.invoke(args=["pucha", "import-orgs", str(bad)])
    assert result.exit_code == 1
    assert "第 2 行：上级代码 330171 不存在" in result.output
    assert org_session.scalars(select(Org).where(Org.code == "330172")).first() is None


def test_cli_load_orgs(org_app, org_session):
    runner = org_app.test_cli_runner()
    result = runner.invoke(args=["pucha", "load-orgs"])
    assert result.exit_code == 0, result.output
    assert f"共 {count(org_session)} 个，本次新增 0 个" in result.output


# --- org_changed: the tree announces, the areas above act ------------------------------------


def test_imported_units_get_their_accounts_in_the_same_transaction(app, session, tmp_path):
    """import-orgs announces the new unit (org_changed) and the accounts area gives it its
    preset account at once, for the parent to hand out from its account table."""
    from app.accounts.models import PuchaUser

    import_orgs(session, write(tmp_path, HEADER_ZH + "330199,钱塘新区,3,county,330100\n"))
    session.commit()
    account = session.scalars(select(PuchaUser).where(PuchaUser.username == "330199")).one()
    assert account.org.code == "330199"
    assert account.initial_password and account.must_change_password


def test_org_changed_tells_every_plugin_what_changed(app, session, tmp_path):
    from app import hookimpl
    from app.plugins import get_plugin_manager

    calls = []

    class Listener:
        @hookimpl
        def org_changed(self, session, added, moved, renamed, actor):
            calls.append((added, moved, renamed, actor))

    listener = Listener()
    pm = get_plugin_manager()
    pm.register(listener)
    try:
        import_orgs(session, write(tmp_path, HEADER_ZH + "330199,钱塘新区,3,county,330100\n"
                                   "330102,上城区（新名）,3,county,330100\n"
                                   "330106,西湖区,3,county,330200\n"))
        session.rollback()
    finally:
        pm.unregister(listener)
    assert calls == [(["330199"], ["330106"], ["330102"], None)]


def test_a_tree_loaded_before_setup_imports_without_accounts(org_session, tmp_path):
    """Before the roles exist there are no accounts to keep in step (setup makes them all)."""
    from app.accounts.models import PuchaUser

    report = import_orgs(org_session, write(tmp_path, HEADER_ZH + "330199,钱塘新区,3,county,330100\n"))
    org_session.commit()
    assert report.added == ["330199"]
    assert org_session.scalar(select(func.count(PuchaUser.id))) == 0
