"""Field kinds as objects (app/forms/kinds.py): the registry, the new number and yes/no kinds,
a plugin's own kind, and the typed columns the model gets from them."""
import re
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, bindparam, create_engine, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, declarative_base
from sqlalchemy.schema import CreateTable

from app.forms.kinds import (
    INTEGER,
    SCORE,
    TEXT,
    URL,
    YES_NO,
    FieldKind,
    PatternKind,
    field_kinds,
    kind_named,
)
from app.forms.schema import Field, FormSchema, Group, Slot, Table, new_uuid, pair
from app.kind_columns import column_type
from app.schema_models import columns_mixin, schema_columns, table_row_columns

ROOT = Path(__file__).resolve().parent.parent


def ddl(sql_type, dialect):
    return sql_type.compile(dialect=dialect)


def problem(field, value):
    """(code, Chinese message) for ``value`` as typed, or None."""
    return field.check(field.normalize(value))


# ---------------------------------------------------------------------------- the registry


def test_every_built_in_kind_is_registered_with_its_names():
    kinds = field_kinds()
    for name in ("text", "url", "choice", "phone", "mobile", "email", "icp", "integer", "score",
                 "yes_no"):
        assert kinds[name].name == name
        assert kinds[name].label and kinds[name].label.en, name


def test_a_field_names_its_kind_and_holds_the_kind_object():
    url = Field("home", "首页", "url")
    assert url.kind == URL and url.field_kind is kind_named(URL)
    # A kind object or class is taken too, and stored by its name.
    assert Field("a", "a", kind_named(URL)).kind == URL
    assert Field("a", "a", type(kind_named(URL))).kind == URL


def test_an_unknown_kind_fails_when_the_schema_is_defined():
    with pytest.raises(ValueError) as error:
        Field("count", "数量", kind="intger")
    assert "field count: unknown field kind 'intger'" in str(error.value)
    assert "integer" in str(error.value)  # the defined kinds are listed


def test_a_kind_name_taken_by_another_class_is_refused():
    with pytest.raises(ValueError, match="defined twice"):
        type("OtherUrl", (FieldKind,), {"name": URL})
    assert type(kind_named(URL)).__name__ == "UrlKind"


def test_a_plugin_kind_with_a_storage_of_its_own_gets_its_column_type():
    """A kind whose values need another column type names a storage, which the plugin's models
    module registers on the server; the kind itself stays free of SQLAlchemy."""
    from sqlalchemy import Date

    from app import kind_columns
    from app.forms import kinds
    from app.forms.kinds import ColumnSpec

    class DayKind(FieldKind):
        name = "test_day"
        label = pair("日期", "date")

        def column(self, field):
            return ColumnSpec("test_date")

    make_date = lambda: Date()  # noqa: E731 - one storage factory, named for the registry
    try:
        field = Field("day", "日期", "test_day")
        with pytest.raises(ValueError, match="no column storage 'test_date'"):
            column_type(field)
        kind_columns.register_storage("test_date", make_date)
        kind_columns.register_storage("test_date", make_date)  # a module imported twice
        with pytest.raises(ValueError, match="already registered"):
            kind_columns.register_storage("test_date", lambda: Date())
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            assert ddl(column_type(field), dialect) == "DATE"
    finally:
        kind_columns.STORAGES.pop("test_date", None)
        kinds._REGISTRY.pop("test_day", None)


def test_a_plugin_kind_registers_itself_and_serves_fields():
    class PostcodeKind(PatternKind):
        name = "test_postcode"
        label = pair("邮政编码", "postcode")
        default_example = "310000"
        pattern = re.compile(r"\d{6}")

    try:
        field = Field("postcode", "邮政编码", "test_postcode")
        assert field.field_kind.__class__ is PostcodeKind
        assert field.normalize("３１００００") == "310000"
        assert problem(field, "31000")[0] == "format"
        assert problem(field, "310000") is None
        assert str(column_type(field).compile(dialect=sqlite.dialect())) == "VARCHAR(200)"
        # The same class defined again (a module imported twice) replaces itself.
        again = type("PostcodeKind", (PatternKind,), {
            "name": "test_postcode", "__qualname__": PostcodeKind.__qualname__,
            "__module__": PostcodeKind.__module__})
        assert kind_named("test_postcode").__class__ is again
    finally:
        from app.forms import kinds

        kinds._REGISTRY.pop("test_postcode", None)


def test_a_kind_defined_in_a_schema_module_works_without_flask_or_sqlalchemy(tmp_path):
    """What the filler does: import a plugin's schema module alone, no plugin manager."""
    (tmp_path / "postcode_schema.py").write_text(textwrap.dedent('''
        import re
        from app.forms.kinds import PatternKind
        from app.forms.schema import Field, FormSchema, pair

        class PostcodeKind(PatternKind):
            name = "postcode"
            label = pair("邮政编码", "postcode")
            default_example = "310000"
            pattern = re.compile(r"\\d{6}")

        SCHEMA = FormSchema("postcode_form", "邮编表", 1,
                            (Field("postcode", "邮政编码", "postcode"),))
    '''), encoding="utf-8")
    code = textwrap.dedent(f'''
        import sys
        sys.path[:0] = [{str(ROOT)!r}, {str(tmp_path)!r}]
        from postcode_schema import SCHEMA
        from app.forms.kinds import field_kinds
        from app.forms.schema import new_uuid
        assert "postcode" in field_kinds()
        doc = {{"uuid": new_uuid(), "fields": {{"postcode": "３１００００"}}}}
        data = SCHEMA.normalize(doc)
        assert data["fields"]["postcode"] == "310000" and SCHEMA.validate(data) == []
        bad = SCHEMA.validate(SCHEMA.normalize({{"uuid": new_uuid(), "fields": {{"postcode": "31"}}}}))
        assert [e.code for e in bad] == ["format"], bad
        heavy = [m for m in sys.modules if m.split(".")[0] in ("flask", "sqlalchemy", "flask_appbuilder")]
        print(",".join(heavy))
    ''')
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_full_width_is_folded_but_superscripts_and_circled_digits_are_not():
    """The full-width table, not NFKC: NFKC would make plausible values of what is not one."""
    from app.forms.schema import normalize_value

    assert normalize_value("email", "ａ＠ｈｚｓｃ．ｇｏｖ．ｃｎ") == "a@hzsc.gov.cn"
    assert normalize_value("email", "a²b@hzsc.gov.cn") == "a²b@hzsc.gov.cn"
    assert normalize_value("mobile", "①3812345678") == "①3812345678"
    assert normalize_value(INTEGER, "１２") == "12" and normalize_value(INTEGER, "¹²") == "¹²"
    assert normalize_value(INTEGER, "١٢") == "١٢"  # other scripts' digits are not read either


# ---------------------------------------------------------------------------- integer

COUNT = Field("count", "栏目数量", INTEGER, min_value=0, max_value=500, label_en="Number of columns")


@pytest.mark.parametrize("typed, normalized", [
    ("12", "12"), ("１２", "12"), (" 12 ", "12"), ("1,234", "1234"), ("+7", "7"), ("007", "7"),
    ("12.0", "12"), (12, "12"), (12.0, "12"), ("-3", "-3"), ("无", "无"), ("", ""),
])
def test_integer_normalize(typed, normalized):
    assert COUNT.normalize(typed) == normalized


def test_integer_messages():
    assert problem(COUNT, "12.5") == ("format", "栏目数量应为0 至 500 之间的整数，如 10")
    assert problem(COUNT, "501") == ("range", "栏目数量应为0 至 500 之间的整数，如 10，不能填写“501”")


def test_integer_hint_example_and_english_text():
    assert str(COUNT.hint()) == "0 至 500 之间的整数，如 10"
    assert str(Field("n", "n", INTEGER, min_value=100).hint()) == "不小于 100 的整数，如 100"
    assert str(Field("n", "n", INTEGER, max_value=5).hint()) == "不大于 5 的整数，如 5"
    assert str(Field("n", "n", INTEGER).hint()) == "整数，如 10"
    english = {"%(min)s 至 %(max)s 之间的整数，如 %(example)s":
               "a whole number from %(min)s to %(max)s, e.g. %(example)s"}
    assert COUNT.hint().translated(english.get) == "a whole number from 0 to 500, e.g. 10"
    assert COUNT.field_kind.label == "整数" and COUNT.field_kind.label.en == "whole number"
    assert COUNT.widget == "number" and COUNT.choice_values == ()


def test_integer_definition_errors():
    with pytest.raises(ValueError, match="min_value is above max_value"):
        Field("n", "n", INTEGER, min_value=5, max_value=1)
    with pytest.raises(ValueError, match="must be an int"):
        Field("n", "n", INTEGER, max_value=1.5)
    with pytest.raises(ValueError, match="no step"):
        Field("n", "n", INTEGER, step=2)
    with pytest.raises(ValueError, match="cannot accept 无"):
        Field("n", "n", INTEGER, accepts_none=True)
    with pytest.raises(ValueError, match="only to number kinds"):
        Field("t", "t", TEXT, max_value=3)


def test_integer_column_type_on_sqlite_and_postgresql():
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert ddl(column_type(COUNT), dialect) == "INTEGER"
        assert ddl(column_type(Field("n", "n", INTEGER)), dialect) == "BIGINT"
        assert ddl(column_type(Field("n", "n", INTEGER, min_value=0, max_value=2 ** 40)),
                   dialect) == "BIGINT"


# ---------------------------------------------------------------------------- score

MARK = Field("mark", "得分", SCORE, max_value=10, step="0.5", label_en="Mark")


@pytest.mark.parametrize("typed, normalized", [
    ("8.5", "8.5"), ("8.50", "8.5"), ("８.５", "8.5"), ("8.5分", "8.5"), (" 8.5 分", "8.5"),
    ("10.0", "10"), (7.5, "7.5"), (8, "8"), (".5", "0.5"), ("0", "0"), ("", ""),
])
def test_score_normalize(typed, normalized):
    assert MARK.normalize(typed) == normalized


def test_score_messages():
    assert problem(MARK, "7.3") == (
        "step", "得分应为0 至 10 之间的分数，须为 0.5 的整数倍，如 10，不能填写“7.3”")


@pytest.mark.parametrize("field, typed, code", [
    (COUNT, "500", None), (COUNT, "0", None), (COUNT, "-1", "range"), (COUNT, "十二", "format"),
    (COUNT, "", "required"), (COUNT, "无", "none_not_allowed"),
    (Field("n", "数量", INTEGER), str(2 ** 63), "range"), (Field("n", "数量", INTEGER), "-42", None),
    (MARK, "8.5", None), (MARK, "10", None), (MARK, "0", None), (MARK, "10.5", "range"),
    (MARK, "-0.5", "range"), (MARK, "优", "format"), (MARK, "", "required"),
    (Field("m", "m", SCORE, max_value=5), "4.5", "step"),  # the default step is 1
])
def test_number_checks(field, typed, code):
    found = problem(field, typed)
    assert (found and found[0]) == code


def test_score_hint_and_english_text():
    assert str(MARK.hint()) == "0 至 10 之间的分数，须为 0.5 的整数倍，如 10"
    assert MARK.field_kind.label.en == "score" and MARK.widget == "number"
    assert MARK.describe()["max_value"] == 10 and MARK.describe()["step"] == "0.5"


def test_score_definition_errors():
    with pytest.raises(ValueError, match="needs max_value"):
        Field("m", "m", SCORE)
    with pytest.raises(ValueError, match="multiples"):
        Field("m", "m", SCORE, max_value=10, step="0.3")
    with pytest.raises(ValueError, match="must be numbers"):
        Field("m", "m", SCORE, max_value="ten")


def test_score_column_type_is_numeric_exact_to_the_step():
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert ddl(column_type(MARK), dialect) == "NUMERIC(3, 1)"
        assert ddl(column_type(Field("m", "m", SCORE, max_value=100, step="0.25")),
                   dialect) == "NUMERIC(5, 2)"
        assert ddl(column_type(Field("m", "m", SCORE, max_value=5)), dialect) == "NUMERIC(1, 0)"


# ---------------------------------------------------------------------------- yes/no

OPEN = Field("is_open", "是否开设", YES_NO, label_en="Open?")


@pytest.mark.parametrize("typed", ["是", "Yes", "YES", "y", "true", "T", "1", 1, True, "√", " 是 "])
def test_yes_no_reads_yes(typed):
    assert OPEN.normalize(typed) == "是"


@pytest.mark.parametrize("typed", ["否", "No", "n", "FALSE", "0", 0, False, "×"])
def test_yes_no_reads_no(typed):
    assert OPEN.normalize(typed) == "否"


def test_yes_no_is_a_choice_of_two():
    assert OPEN.choices == ("是", "否") and OPEN.choices_en == ("Yes", "No")
    assert OPEN.widget == "choice" and OPEN.choice_values == ("是", "否")
    assert str(OPEN.hint()) == "“是”或“否”" and OPEN.hint().params["first"].en == "“Yes”"
    assert problem(OPEN, "Yes") is None
    code, message = problem(OPEN, "也许")
    assert code == "choice" and message == "是否开设应为“是”或“否”，不能填写“也许”"
    assert problem(OPEN, "") == ("required", "请选择是否开设：“是”或“否”")
    assert OPEN.field_kind.label.en == "yes/no"
    with pytest.raises(ValueError, match="choices are 是/否"):
        Field("x", "x", YES_NO, choices=("有", "没有"))


def test_yes_no_column_is_boolean():
    for dialect in (sqlite.dialect(), postgresql.dialect()):
        assert ddl(column_type(OPEN), dialect) == "BOOLEAN"


# ---------------------------------------------------------------------------- typed columns

SELF_CHECK = FormSchema(
    name="kinds_self_check", label="自查表", version=1,
    fields=(Field("site_name", "网站名称", TEXT, max_length=100), COUNT, MARK, OPEN,
            Field("note", "备注", TEXT, required=False)),
    tables=(Table("items", "指标", groups=(Group("main", "主要指标", (Slot("a", "可用性"),)),),
                  columns=(Field("name", "指标", TEXT, accepts_none=True),
                           Field("score", "得分", SCORE, max_value=5, step="0.5", required=False),
                           Field("veto", "单项否决", YES_NO, required=False))),),
)


def test_a_document_of_the_new_kinds_normalizes_and_validates():
    doc = {"uuid": new_uuid(),
           "fields": {"site_name": "某网站", "count": "１２", "mark": 8.5, "is_open": "Y", "note": ""},
           "items": {"main": {"a": [{"name": "首页可用", "score": "4.5分", "veto": "N"}]}}}
    data, errors = SELF_CHECK.clean(doc)
    assert errors == []
    assert data["fields"] == {"site_name": "某网站", "count": "12", "mark": "8.5", "is_open": "是",
                              "note": ""}
    assert data["items"]["main"]["a"] == [{"name": "首页可用", "score": "4.5", "veto": "否"}]
    data["items"]["main"]["a"][0]["score"] = "4.2"
    [error] = SELF_CHECK.validate(data)
    assert (error.path, error.code) == ("items.main.a[0].score", "step")
    assert error.message.startswith("主要指标—可用性第 1 行得分应为")


def _self_check_models():
    Base = declarative_base()

    class SelfCheck(columns_mixin("SelfCheckColumns", schema_columns(SELF_CHECK)), Base):
        __tablename__ = "self_check"
        id = Column(Integer, primary_key=True)

    class Item(columns_mixin("ItemColumns", table_row_columns(SELF_CHECK.table("items"))), Base):
        __tablename__ = "self_check_item"
        id = Column(Integer, primary_key=True)

    return Base, SelfCheck, Item


def test_typed_columns_ddl():
    _, SelfCheck, Item = _self_check_models()
    create = str(CreateTable(SelfCheck.__table__).compile(dialect=sqlite.dialect()))
    assert "count INTEGER" in create and "mark NUMERIC(3, 1)" in create
    assert "is_open BOOLEAN" in create and "site_name VARCHAR(100)" in create
    pg = str(CreateTable(Item.__table__).compile(dialect=postgresql.dialect()))
    assert "score NUMERIC(2, 1)" in pg and "veto BOOLEAN" in pg


def round_trip(engine):
    Base, SelfCheck, Item = _self_check_models()
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        # The document's text goes in as it is; empty text is NULL.
        session.add_all([SelfCheck(site_name="甲", count="12", mark="8.5", is_open="是", note=""),
                         SelfCheck(site_name="乙", count="", mark="", is_open="否"),
                         Item(name="首页可用", score="4.5", veto="")])
        session.commit()
    with Session(engine) as session:
        first, second = session.scalars(select(SelfCheck).order_by(SelfCheck.id)).all()
        assert (first.count, first.mark, first.is_open) == (12, Decimal("8.5"), "是")
        assert (second.count, second.mark, second.is_open) == (None, None, "否")
        assert session.scalars(select(Item.veto)).one() is None
        # SQL sees numbers and booleans: sums and comparisons work in the database.
        raw = session.connection().exec_driver_sql(
            "SELECT count + 1, mark * 2, is_open FROM self_check ORDER BY id").all()
        assert [tuple(r) for r in raw] == [(13, 17, True), (None, None, False)]
        # Core statements as the generic import writes them: insert(table) and an update whose
        # values are bind parameters take the document's text too.
        table = SelfCheck.__table__
        session.execute(insert(table), [{"site_name": "丙", "count": "3", "mark": "1.5",
                                         "is_open": "否"}])
        session.execute(update(table).where(table.c.site_name == "丙")
                        .values({name: bindparam(f"v_{name}") for name in ("count", "is_open")}),
                        {"v_count": "4", "v_is_open": "是"})
        assert session.execute(select(table.c.count, table.c.mark, table.c.is_open)
                               .where(table.c.site_name == "丙")).one() == (4, Decimal("1.5"), "是")
    Base.metadata.drop_all(engine)
    engine.dispose()


def test_typed_columns_round_trip_on_sqlite():
    round_trip(create_engine("sqlite://"))


def test_the_excel_export_writes_numbers_as_numbers_and_yes_no_as_text():
    """What the columns give back is what the report's RollingSheet writes (app/formtypes/export.py
    appends the column values as they come)."""
    import io

    from openpyxl import Workbook, load_workbook

    from app.forms.xlsx import RollingSheet

    engine = create_engine("sqlite://")
    Base, SelfCheck, _ = _self_check_models()
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add(SelfCheck(site_name="甲", count="12", mark="8.5", is_open="是"))
        session.commit()
        values = session.execute(select(SelfCheck.site_name, SelfCheck.count, SelfCheck.mark,
                                        SelfCheck.is_open)).one()
    wb = Workbook(write_only=True)
    sheet = RollingSheet(wb, "自查表", "自查表", [(label, None) for label in "甲乙丙丁"])
    sheet.append(list(values))
    sheet.finish()
    out = io.BytesIO()
    wb.save(out)
    cells = list(load_workbook(out).active.iter_rows(min_row=3, values_only=True))[0]
    assert cells == ("甲", 12, 8.5, "是")


@pytest.mark.postgres
def test_typed_columns_round_trip_on_postgresql(pg_database):
    round_trip(create_engine(pg_database()))


def test_basic_info_columns_stay_strings_of_the_declared_length():
    from plugins.basic_info.schema import COLUMNS_TABLE, SCHEMA

    columns = {**schema_columns(SCHEMA), **table_row_columns(COLUMNS_TABLE)}
    fields = {f.name: f for f in (*SCHEMA.fields, *COLUMNS_TABLE.columns)}
    for name, column in columns.items():
        for dialect in (sqlite.dialect(), postgresql.dialect()):
            assert ddl(column.type, dialect) == f"VARCHAR({fields[name].max_length})", name
