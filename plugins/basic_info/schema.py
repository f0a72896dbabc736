"""政府网站和栏目（系统）基本信息表: the one definition of form 1 (SPEC §3.1).

The filler's editor, the package, the server's import validation, the model, the list and the
Excel export all read this module; adding a field is one edit here. No Flask, no GUI imports.
Each label and help text has its English beside it (``label_en``/``help_en``/``choices_en``) for
the web's English UI; the filler and the export use the Chinese.
"""
from app.forms.schema import (
    CHOICE,
    EMAIL,
    ICP,
    MOBILE,
    PHONE,
    TEXT,
    URL,
    Field,
    FormSchema,
    Group,
    Slot,
    Table,
)

FORM_TYPE = "basic_info"
SCHEMA_VERSION = 1

_ONE_PHONE_EN = "One number only: area code-number, optionally with an extension"
_ONE_MOBILE_EN = "One 11-digit mobile number only"
_ONE_EMAIL_EN = ("One address only; the website ID code and check code are sent here once the "
                 "form is completed")

# Every item is required; free-text items accept 无 (seed 000: 如确无内容请填写"无").
_FIELDS = (
    Field("site_name", "网站名称", TEXT, accepts_none=True, max_length=100,
          example="杭州市上城区人民政府",
          help="网站首页显示的完整名称",
          label_en="Website name", help_en="The full name shown on the website's home page"),
    Field("home_url", "首页网址", URL, max_length=300,
          example="http://www.hzsc.gov.cn/",
          help="网站首页的完整地址，以 http:// 或 https:// 开头",
          label_en="Home page URL",
          help_en="The full address of the home page, starting with http:// or https://"),
    Field("supervisor_unit", "网站主管单位", TEXT, accepts_none=True, max_length=100,
          example="杭州市上城区人民政府办公室", label_en="Supervising unit"),
    Field("filing_unit", "填报单位", TEXT, accepts_none=True, max_length=100,
          example="杭州市上城区人民政府办公室", label_en="Filing unit"),
    Field("is_portal", "是否门户网站", CHOICE, choices=("是", "否"),
          help="本级政府门户网站选“是”，部门网站选“否”",
          label_en="Portal website?", choices_en=("Yes", "No"),
          help_en="“Yes” for this level's government portal, “No” for a department's website"),
    Field("icp_number", "ICP备案编号", ICP, accepts_none=True, max_length=40,
          example="浙ICP备05070602号-1",
          help='工业和信息化部备案编号，如 浙ICP备05070602号-1；确未备案请填写"无"',
          label_en="ICP filing number",
          help_en="The filing number from the Ministry of Industry and Information Technology, "
                  "e.g. 浙ICP备05070602号-1; if the site is not filed, write \"无\" (none)"),
    Field("office_address", "办公地址", TEXT, accepts_none=True, max_length=200,
          example="浙江省杭州市上城区市民街200号", label_en="Office address"),
    Field("principal_name", "负责人姓名", TEXT, accepts_none=True, max_length=50, example="张三",
          label_en="Head's name"),
    Field("principal_title", "负责人职务", TEXT, accepts_none=True, max_length=50, example="办公室主任",
          label_en="Head's position"),
    Field("principal_phone", "负责人办公电话", PHONE, max_length=30,
          help="只填一个号码：区号-号码，可带分机号",
          label_en="Head's office phone", help_en=_ONE_PHONE_EN),
    Field("principal_mobile", "负责人手机", MOBILE, max_length=20, help="只填一个 11 位手机号码",
          label_en="Head's mobile", help_en=_ONE_MOBILE_EN),
    Field("principal_email", "负责人电子邮箱", EMAIL, max_length=254,
          help="只填一个邮箱；办结后网站标识码和校验码将发送到此邮箱",
          label_en="Head's email", help_en=_ONE_EMAIL_EN),
    Field("contact_name", "联系人姓名", TEXT, accepts_none=True, max_length=50, example="李四",
          label_en="Contact's name"),
    Field("contact_phone", "联系人办公电话", PHONE, max_length=30,
          help="只填一个号码：区号-号码，可带分机号",
          label_en="Contact's office phone", help_en=_ONE_PHONE_EN),
    Field("contact_mobile", "联系人手机", MOBILE, max_length=20, help="只填一个 11 位手机号码",
          label_en="Contact's mobile", help_en=_ONE_MOBILE_EN),
    Field("contact_email", "联系人电子邮箱", EMAIL, max_length=254,
          help="只填一个邮箱；办结后网站标识码和校验码将发送到此邮箱",
          label_en="Contact's email", help_en=_ONE_EMAIL_EN),
    # Set on import from the importing unit (seed 004 §5); never shown in the filler.
    Field("province", "省/部", TEXT, required=False, hidden=True, max_length=100,
          label_en="Province/Ministry"),
    Field("city", "市", TEXT, required=False, hidden=True, max_length=100, label_en="City"),
    Field("county", "县", TEXT, required=False, hidden=True, max_length=100, label_en="County"),
)

COLUMNS_TABLE = Table(
    name="columns",
    label="栏目（系统）基本信息表",
    help='每类栏目（系统）填写名称和地址，可填多行；网站确无此类栏目时名称填写"无"，地址填写"无"或留空',
    label_en="Column (System) Basic Information Form",
    item_label="栏目（系统）",
    item_label_en="column (system)",
    help_en="For each kind of column (system) give its name and address, one row each; where the "
            "site has none of a kind, write \"无\" (none) as the name and leave the address empty or "
            "write \"无\" there too",
    groups=(
        Group("info", "信息发布类", label_en="Information publishing", slots=(
            Slot("overview", "概况信息/机构职能", label_en="Overview / Functions"),
            Slot("news", "动态要闻", label_en="News"),
            Slot("notices", "通知公告", label_en="Notices"),
            Slot("policies", "政策文件", label_en="Policy documents"),
            Slot("personnel", "人事信息", label_en="Personnel"),
            Slot("plans", "规划计划", label_en="Plans"),
            Slot("other", "其他", label_en="Other"),
        )),
        Group("interaction", "互动交流类", label_en="Interaction", slots=(
            Slot("consultation", "政务咨询/领导信箱", label_en="Enquiries / Leaders' mailbox"),
            Slot("survey", "调查征集", label_en="Surveys and consultations"),
            Slot("interview", "在线访谈", label_en="Online interviews"),
            Slot("other", "其他", label_en="Other"),
        )),
        Group("service", "办事服务类", label_en="Services", slots=(
            Slot("guide", "办事指南", label_en="Service guides"),
            Slot("online", "在线办事/申报系统", label_en="Online services / Application systems"),
            Slot("query", "查询系统", label_en="Query systems"),
        )),
    ),
    columns=(
        Field("name", "名称", TEXT, accepts_none=True, max_length=100, example="动态要闻",
              label_en="Name"),
        Field("address", "地址", URL, max_length=500, example="http://www.hzsc.gov.cn/col/col1/",
              label_en="Address"),
    ),
    none_column="name",
    min_rows=1,
    max_rows=100,
)

SCHEMA = FormSchema(
    name=FORM_TYPE,
    label="政府网站和栏目（系统）基本信息表",
    version=SCHEMA_VERSION,
    fields=_FIELDS,
    tables=(COLUMNS_TABLE,),
    # The list page and 导出上报表 show these after the workflow columns (SPEC §3.3).
    list_fields=("province", "city", "county", "filing_unit", "site_name", "icp_number"),
    title_field="site_name",
    package_folder="政府网站基本信息表",
    help='表单所有信息项均为必填项，如确无内容请填写"无"',
    label_en="Government Website and Column (System) Basic Information Form",
    help_en='Every item of the form is required; where there is genuinely nothing, write "无" (none)',
)


def new_form(uuid=None):
    """An empty 基本信息表 with a fresh UUID4 and one blank row in every column slot."""
    return SCHEMA.new_document(uuid=uuid)


def example_form(uuid=None, variant=0):
    """A small, realistic, valid form of a website of 杭州市上城区 (the county the tests and the
    sample package import as, so its ICP备案 and 办公地址 are 浙江's); every ``variant`` is a
    different website (0–2: three bureaus; 3 and up: more of the same kinds, each its own 首页网址)."""
    sites = [
        {
            "site_name": "杭州市上城区人民政府", "home_url": "http://www.hzsc.gov.cn/",
            "supervisor_unit": "杭州市上城区人民政府办公室", "filing_unit": "杭州市上城区人民政府办公室",
            "is_portal": "是", "icp_number": "浙ICP备05070602号-1",
            "office_address": "浙江省杭州市上城区市民街200号",
            "principal_name": "王建国", "principal_title": "办公室主任",
            "principal_phone": "0571-87654321", "principal_mobile": "13805710001",
            "principal_email": "wangjg@hzsc.gov.cn",
            "contact_name": "陈晓梅", "contact_phone": "0571-87654322-808",
            "contact_mobile": "13905710002", "contact_email": "chenxm@hzsc.gov.cn",
            "host": "http://www.hzsc.gov.cn",
        },
        {
            "site_name": "杭州市上城区民政局", "home_url": "http://mzj.hzsc.gov.cn/",
            "supervisor_unit": "杭州市上城区民政局", "filing_unit": "杭州市上城区民政局",
            "is_portal": "否", "icp_number": "浙ICP备12003456号",
            "office_address": "浙江省杭州市上城区解放路88号",
            "principal_name": "黄志强", "principal_title": "副局长",
            "principal_phone": "0571-85601234", "principal_mobile": "13705710003",
            "principal_email": "huangzq@hzsc.gov.cn",
            "contact_name": "韦丽", "contact_phone": "0571-85601235",
            "contact_mobile": "18957110004", "contact_email": "weili@hzsc.gov.cn",
            "host": "http://mzj.hzsc.gov.cn",
        },
        {
            "site_name": "杭州市上城区教育局", "home_url": "https://jyj.hzsc.gov.cn/",
            "supervisor_unit": "杭州市上城区教育局", "filing_unit": "杭州市上城区教育局",
            "is_portal": "否", "icp_number": "浙ICP备10029578号-2",
            "office_address": "浙江省杭州市上城区清泰街568号",
            "principal_name": "刘洋", "principal_title": "信息中心主任",
            "principal_phone": "0571-88487001", "principal_mobile": "13605710005",
            "principal_email": "liuyang@hzsc.gov.cn",
            "contact_name": "赵敏", "contact_phone": "0571-88487002-12",
            "contact_mobile": "15805710006", "contact_email": "zhaomin@hzsc.gov.cn",
            "host": "https://jyj.hzsc.gov.cn",
        },
    ]
    site = dict(sites[variant % len(sites)])
    host = site.pop("host")
    if variant >= len(sites):
        # Each variant is its own website (one website, one code): www.hzsc.gov.cn,
        # www-1.hzsc.gov.cn, www-2.hzsc.gov.cn …
        scheme, _, name = host.partition("://")
        sub, _, domain = name.partition(".")
        host = f"{scheme}://{sub}-{variant // len(sites)}.{domain}"
        site["home_url"] = f"{host}/"
    doc = new_form(uuid=uuid)
    doc["fields"].update(site)

    def entry(name, path):
        return {"name": name, "address": f"{host}/{path}"}

    none = [{"name": "无", "address": "无"}]
    doc["columns"] = {
        "info": {
            "overview": [entry("机构概况", "jggk/")],
            "news": [entry("工作动态", "gzdt/"), entry("部门动态", "bmdt/")],
            "notices": [entry("通知公告", "tzgg/")],
            "policies": [entry("政策文件", "zcwj/")],
            "personnel": [entry("人事信息", "rsxx/")],
            "plans": [entry("规划计划", "ghjh/")] if variant % 3 != 1 else none,
            "other": none,
        },
        "interaction": {
            "consultation": [entry("领导信箱", "ldxx/")],
            "survey": [entry("民意征集", "myzj/")] if variant % 3 == 0 else none,
            "interview": [entry("在线访谈", "zxft/")] if variant % 3 == 2 else none,
            "other": none,
        },
        "service": {
            "guide": [entry("办事指南", "bszn/")],
            "online": [entry("网上办事大厅", "wsbs/")] if variant % 3 != 1 else none,
            "query": [entry("办件查询", "bjcx/")] if variant % 3 == 0 else none,
        },
    }
    return doc
