"""The form schema primitives and the basic_info schema: every rule, good and bad values."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.forms.schema import (
    NONE_VALUE,
    Field,
    FieldError,
    FormSchema,
    is_valid_uuid4,
    normalize_value,
)
from plugins.basic_info.schema import COLUMNS_TABLE, SCHEMA, example_form, new_form

ROOT = Path(__file__).resolve().parent.parent


def errors_for(doc, path=None):
    errors = SCHEMA.validate(SCHEMA.normalize(doc))
    if path is None:
        return errors
    return [e for e in errors if e.path == path]


def with_field(name, value):
    doc = example_form()
    doc["fields"][name] = value
    return doc


def check(name, value):
    """Errors for one field of an otherwise valid form."""
    return errors_for(with_field(name, value), f"fields.{name}")


# ---------------------------------------------------------------------------- the whole schema


def test_every_spec_field_is_defined_with_a_chinese_label():
    labels = {f.label for f in SCHEMA.fields}
    for label in ("网站名称", "首页网址", "网站主管单位", "填报单位", "是否门户网站", "ICP备案编号", "办公地址",
                  "负责人姓名", "负责人职务", "负责人办公电话", "负责人手机", "负责人电子邮箱",
                  "联系人姓名", "联系人办公电话", "联系人手机", "联系人电子邮箱", "省/部", "市", "县"):
        assert label in labels, label
    for f in SCHEMA.fields:
        assert f.name.isascii() and f.name == f.name.lower()


def test_columns_table_groups_and_slots():
    layout = [(g.label, [s.label for s in g.slots]) for g in COLUMNS_TABLE.groups]
    assert layout == [
        ("信息发布类", ["概况信息/机构职能", "动态要闻", "通知公告", "政策文件", "人事信息", "规划计划", "其他"]),
        ("互动交流类", ["政务咨询/领导信箱", "调查征集", "在线访谈", "其他"]),
        ("办事服务类", ["办事指南", "在线办事/申报系统", "查询系统"]),
    ]
    assert [c.name for c in COLUMNS_TABLE.columns] == ["name", "address"]


def test_hidden_fields_are_server_set_and_not_in_the_filler():
    assert SCHEMA.hidden_field_names() == ["province", "city", "county"]
    assert "province" not in [f.name for f in SCHEMA.filler_fields()]
    assert "province" not in new_form()["fields"]
    # The filler never has them, so their absence is no error ...
    assert errors_for(example_form()) == []
    # ... and the server may set them.
    doc = example_form()
    doc["fields"].update(province="浙江省", city="杭州市", county="上城区")
    assert SCHEMA.validate(doc, include_hidden=True) == []


def test_everything_else_derives_from_the_schema():
    assert SCHEMA.field_names(include_hidden=False)[:2] == ["site_name", "home_url"]
    assert [f.label for f in SCHEMA.export_columns()] == ["省/部", "市", "县", "填报单位", "网站名称", "ICP备案编号"]
    assert len(SCHEMA.export_columns(full=True)) == len(SCHEMA.fields)
    described = SCHEMA.describe()
    json.dumps(described, ensure_ascii=False)
    assert described["fields"][0]["label"] == "网站名称"
    assert described["tables"][0]["groups"][0]["slots"][1]["label"] == "动态要闻"
    rows = SCHEMA.table_rows(example_form(), "columns")
    assert rows[0]["group_label"] == "信息发布类" and rows[0]["slot_label"] == "概况信息/机构职能"
    assert {"name", "address", "position"} <= set(rows[0])
    assert SCHEMA.title(example_form()) == "杭州市上城区人民政府"


def test_schema_definition_errors_are_caught():
    with pytest.raises(ValueError):
        Field("x", "x", kind="nope")
    with pytest.raises(ValueError):
        Field("BadName", "x")
    with pytest.raises(ValueError):
        FormSchema("t", "t", 1, (Field("a", "a"), Field("a", "b")))
    with pytest.raises(ValueError):
        FormSchema("t", "t", 1, (Field("a", "a"),), list_fields=("b",))


# ---------------------------------------------------------------------------- documents


def test_new_form_has_a_fresh_uuid4_and_every_slot():
    a, b = new_form(), new_form()
    assert is_valid_uuid4(a["uuid"]) and a["uuid"] != b["uuid"]
    assert set(a["columns"]["info"]) == {"overview", "news", "notices", "policies", "personnel", "plans", "other"}
    assert a["columns"]["service"]["guide"] == [{"name": "", "address": ""}]
    # Every required item is reported, each by its own label.
    errors = SCHEMA.validate(a)
    labels = {e.label for e in errors}
    assert "网站名称" in labels and "联系人电子邮箱" in labels
    assert "信息发布类—动态要闻第 1 行名称" in labels


@pytest.mark.parametrize("variant", [0, 1, 2])
def test_example_forms_are_valid(variant):
    assert errors_for(example_form(variant=variant)) == []


def test_uuid_is_required_and_must_be_uuid4():
    doc = example_form()
    doc["uuid"] = "not-a-uuid"
    [err] = errors_for(doc, "uuid")
    assert "内部标识" in err.message
    doc["uuid"] = "6fa459ea-ee8a-3ca4-894e-db77e160355e"  # a UUID3
    assert errors_for(doc, "uuid")
    doc["uuid"] = example_form()["uuid"].upper()  # normalized to lower case
    assert errors_for(doc, "uuid") == []


def test_unknown_content_is_reported():
    doc = example_form()
    doc["fields"]["favourite_colour"] = "红"
    doc["extra"] = 1
    codes = {(e.path, e.code) for e in errors_for(doc)}
    assert ("fields.favourite_colour", "unknown") in codes
    assert ("extra", "unknown") in codes
    assert SCHEMA.validate([1, 2])[0].code == "type"
    assert SCHEMA.validate({"uuid": example_form()["uuid"]})  # no fields, no columns


def test_non_text_values_are_reported_by_field():
    doc = example_form()
    doc["fields"]["site_name"] = ["a", "b"]
    [err] = errors_for(doc, "fields.site_name")
    assert err.code == "type" and "网站名称" in err.message


def test_field_error_to_dict():
    err = FieldError("fields.x", "标签", "消息", "format")
    assert err.to_dict() == {"path": "fields.x", "label": "标签", "message": "消息", "code": "format"}
    assert str(err) == "消息"


# ---------------------------------------------------------------------------- text and 无

TEXT_FIELDS = ["site_name", "supervisor_unit", "filing_unit", "office_address",
               "principal_name", "principal_title", "contact_name"]
NO_NONE_FIELDS = ["home_url", "is_portal", "principal_phone", "principal_mobile", "principal_email",
                  "contact_phone", "contact_mobile", "contact_email"]


@pytest.mark.parametrize("name", TEXT_FIELDS)
def test_free_text_fields_are_required_and_accept_none(name):
    label = SCHEMA.field(name).label
    [err] = check(name, "")
    assert err.code == "required" and label in err.message and "无" in err.message
    [err] = check(name, "   \u3000")
    assert err.code == "required"
    assert check(name, "无") == []
    assert check(name, "無") == []


@pytest.mark.parametrize("name", NO_NONE_FIELDS)
def test_structured_fields_refuse_none(name):
    label = SCHEMA.field(name).label
    [err] = check(name, "无")
    assert err.code in ("none_not_allowed", "choice")
    assert label in err.message


def test_icp_accepts_none():
    assert check("icp_number", "无") == []


def test_text_length_limit_names_the_field():
    [err] = check("site_name", "政" * 101)
    assert err.code == "too_long" and "网站名称" in err.message and "100" in err.message
    assert check("site_name", "政" * 100) == []


def test_text_line_breaks_become_spaces_and_control_chars_refused():
    doc = SCHEMA.normalize(with_field("office_address", "北京市\r\n海淀区"))
    assert doc["fields"]["office_address"] == "北京市 海淀区"
    [err] = check("office_address", "北京\x07市")
    assert err.code == "format" and "办公地址" in err.message


# ---------------------------------------------------------------------------- 是否门户网站


@pytest.mark.parametrize("value", ["是", "否", " 是 "])
def test_is_portal_good(value):
    assert check("is_portal", value) == []


@pytest.mark.parametrize("value", ["Y", "是的", "yes"])
def test_is_portal_bad(value):
    [err] = check("is_portal", value)
    assert err.code == "choice" and "是否门户网站" in err.message and "“是”或“否”" in err.message


def test_is_portal_missing():
    [err] = check("is_portal", "")
    assert err.code == "required" and "请选择是否门户网站" in err.message


# ---------------------------------------------------------------------------- 首页网址


@pytest.mark.parametrize("value", [
    "http://www.gov.cn", "https://www.gov.cn/", "HTTP://WWW.GOV.CN/index.html",
    "http://www.hzsc.gov.cn:8080/col/col1/index.html?id=3#top", "http://10.1.2.3/portal/",
    "http://政府.中国/", "https://xn--fiqs8s.xn--fiqz9s/", "ｈｔｔｐ：／／ｗｗｗ．ｇｏｖ．ｃｎ／",
])
def test_url_good(value):
    assert check("home_url", value) == []


@pytest.mark.parametrize("value", [
    "www.gov.cn", "ftp://www.gov.cn/", "http://", "http://localhost/", "http://www.gov.cn /x",
    "http://www.gov.cn;http://www.beijing.gov.cn", "http://999.1.1.1/", "javascript:alert(1)",
    "http://www.gov.cn:99999/",
])
def test_url_bad(value):
    [err] = check("home_url", value)
    assert err.code == "format"
    assert err.message.startswith("首页网址应为以 http:// 或 https:// 开头的完整网址")


# ---------------------------------------------------------------------------- ICP备案编号


@pytest.mark.parametrize("value", [
    "京ICP备05070602号", "浙ICP备05070602号-1", "粤ICP备12345678号-12", "黔ICP备1234号",
    "滇ICP备12345678号", "陇ICP备12345678号", "新ICP备12345678号", "京icp备05070602号",
    "京ＩＣＰ备０５０７０６０２号－１", " 京ICP备 05070602号 ",
])
def test_icp_good(value):
    assert check("icp_number", value) == []


@pytest.mark.parametrize("value", [
    "ICP备05070602号", "港ICP备05070602号", "京ICP备05070602", "京ICP证030173号", "京ICP备号",
    "京ICP备05070602号-", "京ICP备05070602号-1-2", "京公网安备11010802020001号", "京ICP备ABC号",
])
def test_icp_bad(value):
    [err] = check("icp_number", value)
    assert err.code == "format"
    assert err.message.startswith('ICP备案编号应为"省份简称ICP备数字号"，可带"-序号"，如 浙ICP备05070602号-1')


def test_icp_normalized_to_canonical_form():
    doc = SCHEMA.normalize(with_field("icp_number", "京ｉｃｐ备０５０７０６０２号—１"))
    assert doc["fields"]["icp_number"] == "京ICP备05070602号-1"


# ---------------------------------------------------------------------------- 办公电话

PHONE_MESSAGE = '负责人办公电话应为"区号-号码"，可带分机号，如 010-12345678-123'


@pytest.mark.parametrize("value,normalized", [
    ("010-12345678", "010-12345678"),
    ("010-12345678-123", "010-12345678-123"),
    ("0571-8765432", "0571-8765432"),
    ("０１０－１２３４５６７８", "010-12345678"),
    ("010—12345678", "010-12345678"),
    ("(010)12345678", "010-12345678"),
    ("（0571）87654321", "0571-87654321"),
    ("010 - 12345678", "010-12345678"),
    ("010 12345678", "010-12345678"),
    ("010-12345678转808", "010-12345678-808"),
    ("0571-87654321 分机 12", "0571-87654321-12"),
])
def test_phone_good(value, normalized):
    doc = SCHEMA.normalize(with_field("principal_phone", value))
    assert doc["fields"]["principal_phone"] == normalized
    assert check("principal_phone", value) == []


@pytest.mark.parametrize("value", [
    "12345678", "010-123456", "010-123456789", "10-12345678", "01-12345678", "01234-1234567",
    "010-12345678-", "010-12345678-1234567", "13812345678", "abc",
])
def test_phone_bad(value):
    [err] = check("principal_phone", value)
    assert err.code == "format"
    assert err.message == PHONE_MESSAGE


@pytest.mark.parametrize("value", [
    "010-12345678;010-87654321", "010-12345678，010-87654321", "010-12345678/010-87654321",
    "010-12345678 010-87654321", "010-12345678、010-87654321", "010-12345678010-87654321",
])
def test_phone_only_one(value):
    [err] = check("principal_phone", value)
    assert err.code == "multiple"
    assert err.message.startswith("负责人办公电话只能填写一个号码")


def test_contact_phone_message_names_the_contact():
    [err] = check("contact_phone", "12345")
    assert err.message.startswith("联系人办公电话应为")


# ---------------------------------------------------------------------------- 手机


@pytest.mark.parametrize("value,normalized", [
    ("13812345678", "13812345678"),
    ("１３８１２３４５６７８", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("8613812345678", "13812345678"),
    (13812345678, "13812345678"),
    (13812345678.0, "13812345678"),
    ("17746549425", "17746549425"),
])
def test_mobile_good(value, normalized):
    doc = SCHEMA.normalize(with_field("principal_mobile", value))
    assert doc["fields"]["principal_mobile"] == normalized
    assert check("principal_mobile", value) == []


@pytest.mark.parametrize("value", ["1381234567", "138123456789", "23812345678", "1381234567a", "010-12345678"])
def test_mobile_bad(value):
    [err] = check("principal_mobile", value)
    assert err.code == "format"
    assert err.message == "负责人手机应为以 1 开头的 11 位手机号码，如 13812345678"


@pytest.mark.parametrize("value", [
    "13812345678;13912345678", "13812345678,13912345678", "13812345678/13912345678",
    "13812345678 13912345678", "1381234567813912345678",
])
def test_mobile_only_one(value):
    [err] = check("principal_mobile", value)
    assert err.code == "multiple" and err.message.startswith("负责人手机只能填写一个号码")


# ---------------------------------------------------------------------------- 电子邮箱


@pytest.mark.parametrize("value,normalized", [
    ("zhangsan@example.gov.cn", "zhangsan@example.gov.cn"),
    ("Zhang.San+cx@EXAMPLE.GOV.CN", "Zhang.San+cx@example.gov.cn"),
    ("ｚｓ＠ｈｚ．ｇｏｖ．ｃｎ", "zs@hz.gov.cn"),
    ("mailto:zs@hz.gov.cn", "zs@hz.gov.cn"),
    (" zs_01@mail.hz-sc.gov.cn ", "zs_01@mail.hz-sc.gov.cn"),
])
def test_email_good(value, normalized):
    doc = SCHEMA.normalize(with_field("contact_email", value))
    assert doc["fields"]["contact_email"] == normalized
    assert check("contact_email", value) == []


@pytest.mark.parametrize("value", [
    "zhangsan", "zhangsan@", "@example.gov.cn", "zs@hz", "zs@@hz.gov.cn", "zs..x@hz.gov.cn", ".zs@hz.gov.cn", "zs@-hz.gov.cn", "张三@hz.gov.cn",
])
def test_email_bad(value):
    [err] = check("contact_email", value)
    assert err.code in ("format", "multiple")
    assert err.message.startswith("联系人电子邮箱")
    assert "规范的电子邮箱地址" in err.message


@pytest.mark.parametrize("value", [
    "a@hz.gov.cn;b@hz.gov.cn", "a@hz.gov.cn,b@hz.gov.cn", "a@hz.gov.cn/b@hz.gov.cn",
    "a@hz.gov.cn b@hz.gov.cn", "a@hz.gov.cnb@hz.gov.cn", "a@hz.gov.cn；b@hz.gov.cn",
])
def test_email_only_one(value):
    [err] = check("contact_email", value)
    assert err.code == "multiple" and err.message.startswith("联系人电子邮箱只能填写一个邮箱地址")


# ---------------------------------------------------------------------------- columns table


def columns_doc(slot_rows, group="info", slot="news"):
    doc = example_form()
    doc["columns"][group][slot] = slot_rows
    return doc


def test_columns_none_row_accepted_with_empty_or_none_address():
    assert errors_for(columns_doc([{"name": "无", "address": "无"}])) == []
    assert errors_for(columns_doc([{"name": "无", "address": ""}])) == []
    assert errors_for(columns_doc([{"name": "无"}])) == []
    normalized = SCHEMA.normalize(columns_doc([{"name": " 無 ", "address": ""}]))
    assert normalized["columns"]["info"]["news"] == [{"name": "无", "address": "无"}]


def test_columns_none_row_with_an_address_is_refused():
    [err] = errors_for(columns_doc([{"name": "无", "address": "http://www.a.gov.cn/x/"}]))
    assert err.path == "columns.info.news[0].address" and err.code == "none_conflict"
    assert "信息发布类—动态要闻第 1 行" in err.message


def test_columns_none_row_beside_real_rows_is_refused():
    errors = errors_for(columns_doc([{"name": "工作动态", "address": "http://www.a.gov.cn/gzdt/"},
                                     {"name": "无", "address": "无"}]))
    assert [(e.path, e.code) for e in errors] == [("columns.info.news[1].name", "none_conflict")]


def test_columns_named_entry_needs_an_http_address():
    doc = columns_doc([{"name": "工作动态", "address": "http://www.a.gov.cn/gzdt/"},
                       {"name": "部门动态", "address": "http://www.a.gov.cn/bmdt/"},
                       {"name": "基层动态", "address": "www.a.gov.cn/jcdt"}])
    [err] = errors_for(doc)
    assert err.path == "columns.info.news[2].address"
    assert err.label == "信息发布类—动态要闻第 3 行地址"
    assert err.message.startswith("信息发布类—动态要闻第 3 行地址应为以 http:// 或 https:// 开头的完整网址")
    [err] = errors_for(columns_doc([{"name": "工作动态", "address": "无"}]))
    assert err.code == "none_not_allowed"
    [err] = errors_for(columns_doc([{"name": "工作动态", "address": ""}]))
    assert err.code == "required"


def test_columns_empty_name_is_required():
    [err] = errors_for(columns_doc([{"name": "", "address": "http://www.a.gov.cn/x/"}]))
    assert err.path == "columns.info.news[0].name" and err.code == "required"
    assert '确无此类栏目（系统）请填写"无"' in err.message


def test_columns_slot_needs_at_least_one_row_and_at_most_max():
    [err] = errors_for(columns_doc([], "service", "query"))
    assert err.path == "columns.service.query" and err.code == "rows"
    assert "办事服务类—查询系统至少应填写 1 行" in err.message
    many = [{"name": f"栏目{i}", "address": f"http://www.a.gov.cn/{i}/"} for i in range(101)]
    [err] = errors_for(columns_doc(many))
    assert err.code == "rows" and "最多" in err.message


def test_columns_structure_problems():
    doc = example_form()
    del doc["columns"]["interaction"]
    doc["columns"]["info"]["weather"] = []
    doc["columns"]["service"]["guide"] = [{"name": "办事指南", "address": "http://a.gov.cn/", "x": "1"}]
    paths = {(e.path, e.code) for e in errors_for(doc)}
    assert ("columns.interaction", "type") in paths
    assert ("columns.info.weather", "unknown") in paths
    assert ("columns.service.guide[0].x", "unknown") in paths
    doc = example_form()
    doc["columns"] = "无"
    assert errors_for(doc)[0].path == "columns"


def test_columns_table_shows_the_same_slot_in_two_groups_separately():
    doc = columns_doc([{"name": "", "address": ""}], "interaction", "other")
    [err] = errors_for(doc)
    assert err.path == "columns.interaction.other[0].name"
    assert err.label.startswith("互动交流类—其他")


# ---------------------------------------------------------------------------- normalization


def test_normalize_does_not_touch_the_input_and_keeps_chinese_punctuation():
    doc = with_field("office_address", " 北京市海淀区（中关村）１号，３层 ")
    before = json.dumps(doc, ensure_ascii=False)
    out = SCHEMA.normalize(doc)
    assert json.dumps(doc, ensure_ascii=False) == before
    assert out["fields"]["office_address"] == "北京市海淀区（中关村）1号，3层"


def test_normalize_builds_a_copy_that_shares_nothing_mutable_with_the_input():
    doc = example_form()
    doc["meta"] = {"client": {"name": "填报客户端"}, "edits": [1, 2]}
    doc["fields"]["extra"] = {"not": "a field"}
    doc["columns"]["info"]["news"].append(["not", "a row"])
    doc["columns"]["info"]["news"][0]["comment"] = ["unknown", "cell"]
    before = json.dumps(doc, ensure_ascii=False)
    out = SCHEMA.normalize(doc)
    assert out is not doc
    out["meta"]["client"]["name"] = "x"
    out["meta"]["edits"].append(3)
    out["fields"]["extra"]["not"] = "x"
    out["columns"]["info"]["news"][-1].append("x")
    out["columns"]["info"]["news"][0]["comment"].append("x")
    out["columns"]["info"]["news"][0]["name"] = "x"
    assert json.dumps(doc, ensure_ascii=False) == before
    assert list(out) == list(doc) and list(out["fields"]) == list(doc["fields"])


def test_normalize_removes_invisible_characters():
    assert normalize_value("text", "\ufeff杭州\u200b市\u00a0") == "杭州市"
    assert normalize_value("mobile", "\u200b13812345678") == "13812345678"


def test_normalize_leaves_malformed_shapes_for_validate():
    assert SCHEMA.normalize("oops") == "oops"
    doc = example_form()
    doc["columns"]["info"]["news"] = "x"
    assert SCHEMA.normalize(doc)["columns"]["info"]["news"] == "x"


def test_messages_are_chinese_and_name_the_field():
    doc = new_form()
    for err in SCHEMA.validate(doc):
        assert err.label in err.message
        assert any("\u4e00" <= ch <= "\u9fff" for ch in err.message)


def test_none_value_constant():
    assert NONE_VALUE == "无"


# ---------------------------------------------------------------------------- import weight


def test_importing_the_schema_and_package_does_not_import_web_or_gui_frameworks():
    code = (
        "import sys\n"
        "import app.forms.schema, app.forms.package, plugins.basic_info.schema\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('flask', 'flask_appbuilder', 'sqlalchemy', 'flask_sqlalchemy', 'PySimpleGUI', 'tkinter')]\n"
        "print(','.join(sorted(heavy)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == ""


def test_clean_returns_normalized_data_and_errors():
    doc = with_field("principal_mobile", "１３８ １２３４ ５６７８")
    data, errors = SCHEMA.clean(doc)
    assert errors == [] and data["fields"]["principal_mobile"] == "13812345678"
    data, errors = SCHEMA.clean(with_field("principal_mobile", "138"))
    assert [e.path for e in errors] == ["fields.principal_mobile"]


def test_website_key_names_one_website_however_its_address_is_written():
    from app.forms.schema import website_key

    same = ["http://www.hzsc.gov.cn/", "https://hzsc.gov.cn", "HTTP://WWW.HZSC.GOV.CN:80/",
            "https://www.hzsc.gov.cn:443/", "http://www.hzsc.gov.cn/?from=nav#top",
            "ｈｔｔｐ：／／ｗｗｗ．ｈｚｓｃ．ｇｏｖ．ｃｎ／"]
    assert {website_key(u) for u in same} == {"hzsc.gov.cn"}
    # A different port, a different path or a different host is another website.
    assert website_key("http://www.hzsc.gov.cn:8080/") == "hzsc.gov.cn:8080"
    assert website_key("http://www.hzsc.gov.cn/jyj/") == "hzsc.gov.cn/jyj"
    assert website_key("http://mzj.hzsc.gov.cn/") == "mzj.hzsc.gov.cn"
    assert website_key("无") is None and website_key("") is None and website_key(None) is None
