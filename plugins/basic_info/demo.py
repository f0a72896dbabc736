"""Demo data for 政府网站基本信息表: one province (浙江) with forms in every status.

Everything is created THROUGH the business commands — packages written by the same package
writer the filler uses, imported by the units, then submitted, approved and returned — so the
demo's audit trails, 网站标识码, 校验码 and outbox mails are exactly what real use produces.

The demo units are real 浙江 units, so their accounts keep the random initial passwords every
unit's account gets when it is provisioned (generated per installation, app.accounts.provisioning);
the demo never writes a password. ``flask pucha setup`` prints the ones that still open the
accounts, like the administrator's; an account whose password was changed or reset keeps its state
however often setup runs again.
"""
import ast
import copy
import hashlib

from sqlalchemy import func, select

from app.accounts.commands import reset_password
from app.accounts.models import PuchaUser
from app.forms.package import write_package
from app.orgs.models import Org
from plugins.basic_info import commands
from plugins.basic_info.models import BasicInfoForm
from plugins.basic_info.schema import FORM_TYPE, SCHEMA, SCHEMA_VERSION, example_form

# Marker in meta: lets the loader see that the demo is already there (idempotent).
DEMO_CLIENT = "pucha-demo"

# The accounts to log in with (username = org code).
DEMO_ACCOUNTS = (
    "330102",  # 杭州市上城区 — county, imports and submits
    "330100",  # 杭州市 — city, reviews
    "330000",  # 浙江省 — province, last reviewer: completes
    "330106",  # 杭州市西湖区 — a sibling county (sees none of 上城区's forms)
)

# SHA-256 of the initial passwords earlier versions gave the demo accounts, published in the
# source and the user guide. An installation set up before still has them on every demo account
# nobody has logged in to; setup replaces them (an audited reset), never a password chosen since.
PUBLISHED_PASSWORD_SHA256 = frozenset({
    "d6f4cba38662d7241c5e712bc131b3df28c7ccfb7fb0b052037a31c0841c9e1d",
    "0e1986d4f7aaa42dc60a87b41d603d66bb10cafcdad92a5e726a4cd768034399",
    "f36c1ce50c2800e567c42d99c1d5fdede145e0781597f462aeaffe852054f521",
    "780e8a6d0cd413ee7c8ec17a28ea8bb9996e615552b65ddc26a7c985d79cfd30",
})

# (site name, host, portal?) of realistic websites of the demo units, by importing unit; every
# form carries its own unit's 浙江 address, telephone area code and ICP备案 (an import by 上城区
# of a site in another province would be flagged in the report: the demo shows none).
SITES = {
    "330102": [
        ("杭州市上城区人民政府", "www.hzsc.gov.cn", "是"),
        ("杭州市上城区教育局", "jyj.hzsc.gov.cn", "否"),
        ("杭州市上城区卫生健康局", "wjj.hzsc.gov.cn", "否"),
        ("杭州市上城区民政局", "mzj.hzsc.gov.cn", "否"),
        ("杭州市上城区市场监督管理局", "scjgj.hzsc.gov.cn", "否"),
        ("杭州市上城区文化和旅游局", "wlj.hzsc.gov.cn", "否"),
        ("杭州市上城区住房和城乡建设局", "zjj.hzsc.gov.cn", "否"),
    ],
    "330100": [("杭州市人民政府", "www.hangzhou.gov.cn", "是")],
    "330106": [("杭州市西湖区人民政府", "www.hzxh.gov.cn", "是")],
    "330200": [("宁波市人民政府", "www.ningbo.gov.cn", "是")],
}

# (办公地址, telephone area code) of each importing unit's websites.
UNIT_PLACES = {
    "330102": ("浙江省杭州市上城区市民街200号", "0571"),
    "330100": ("浙江省杭州市上城区解放东路18号", "0571"),
    "330106": ("浙江省杭州市西湖区文二西路1号", "0571"),
    "330200": ("浙江省宁波市鄞州区宁穿路2001号", "0574"),
}


def site_form(name, host, portal, variant=0, uuid=None, unit="330102"):
    """A valid, realistic form for the website ``name`` at ``host``, imported by ``unit``."""
    doc = example_form(uuid=uuid, variant=variant)
    fields = doc["fields"]
    old_host = fields["home_url"].rstrip("/")
    address, area = UNIT_PLACES[unit]
    fields.update({
        "site_name": name, "home_url": f"http://{host}/", "is_portal": portal,
        "supervisor_unit": name if portal == "否" else f"{name}办公室",
        "filing_unit": name if portal == "否" else f"{name}办公室",
        "icp_number": "浙ICP备05070602号-1" if portal == "是" else "无",
        "office_address": address,
        "principal_email": f"admin@{host.split('.', 1)[1]}",
        "contact_email": f"web@{host.split('.', 1)[1]}",
        "principal_phone": f"{area}-87654321", "contact_phone": f"{area}-87654322-808",
    })
    text = repr(doc["columns"]).replace(old_host, f"http://{host}")
    doc["columns"] = ast.literal_eval(text)
    doc["meta"] = {"client": DEMO_CLIENT}
    return doc


def package_bytes(forms, client=DEMO_CLIENT):
    """A package (zip bytes) of ``forms``, written exactly as the desktop filler writes one."""
    return write_package([copy.deepcopy(f) for f in forms], FORM_TYPE, SCHEMA_VERSION, client,
                         "1.0", folder=SCHEMA.package_folder, title=SCHEMA.title)


def _user(session, username):
    return session.execute(select(PuchaUser).where(PuchaUser.username == username)).scalars().one()


def demo_present(session):
    return bool(session.scalar(select(func.count()).select_from(BasicInfoForm).where(
        BasicInfoForm.site_name == SITES["330102"][0][0])))


def _import(session, user, forms):
    report = commands.import_packages(session, user, [("演示上报文件.zip", package_bytes(forms))])
    ids = [f.form_id for f in report.forms if f.form_id]
    if len(ids) != len(forms):
        raise RuntimeError(f"演示数据导入失败：{report.to_dict()}")
    return ids


def load(session, echo=print):
    """Load the demo (once). Returns False when it was already there."""
    codes = list(DEMO_ACCOUNTS) + ["330200"]
    found = set(session.execute(select(Org.code).where(Org.code.in_(codes))).scalars())
    if not set(codes) <= found:
        echo("未载入演示数据：组织机构中缺少浙江省的演示单位")
        return False
    if demo_present(session):
        echo("演示数据已存在，跳过。")
        _retire_published_passwords(session, echo)
        _echo_accounts(session, echo)
        return False

    county, city, province = (_user(session, c) for c in ("330102", "330100", "330000"))
    sibling, ningbo = _user(session, "330106"), _user(session, "330200")
    forms = [site_form(n, h, p, variant=i) for i, (n, h, p) in enumerate(SITES["330102"])]
    a_draft, b_city, c_prov, d_mid, e_back, f_done, g_done2 = _import(session, county, forms)

    def act(user, name, ids, reason=None):
        commands.transition(session, user, name, ids, reason=reason)

    # 上城区 submits everything but the draft; 杭州市 approves most and returns one.
    act(county, "submit", [b_city, c_prov, d_mid, e_back, f_done, g_done2])
    act(city, "return", [e_back], reason="栏目“规划计划”的地址无法访问，请核实后重新导入")
    act(city, "approve", [c_prov, d_mid, f_done, g_done2])
    # 浙江省 returns one to the middle level and completes two (网站标识码, 校验码, mails).
    act(province, "return", [d_mid], reason="网站主管单位名称与机构编制部门核定的名称不一致")
    act(province, "approve", [f_done, g_done2])
    # The city and a sibling county import their own websites; 宁波市 too (another city).
    [city_form] = _import(session, city, [site_form(*SITES["330100"][0], unit="330100")])
    act(city, "submit", [city_form])
    _import(session, sibling, [site_form(*SITES["330106"][0], variant=2, unit="330106")])
    _import(session, ningbo, [site_form(*SITES["330200"][0], variant=1, unit="330200")])

    echo("已载入演示数据：浙江省的基本信息表，覆盖 未提交 / 未审核 / 已审核 / 已退回 / 已办结 各状态。")
    _echo_accounts(session, echo)
    return True


def _retire_published_passwords(session, echo):
    """Reset every demo account that still opens with a password once published in the source."""
    for username in DEMO_ACCOUNTS:
        user = _user(session, username)
        if user.has_initial_password and hashlib.sha256(
                user.initial_password.encode("utf-8")).hexdigest() in PUBLISHED_PASSWORD_SHA256:
            reset_password(session, None, user, reason="演示账号的初始密码曾公开，安装时重新生成")
            echo(f"  {username} 的初始密码曾随源代码公开，已重新生成")


def _echo_accounts(session, echo):
    """Print the demo logins with the initial password that opens each account now (generated
    for this installation; after a reset, the new one); an account whose owner chose a password
    says so instead."""
    echo("演示账号（初始密码，首次登录须修改）：")
    for username in DEMO_ACCOUNTS:
        user = _user(session, username)
        shown = user.initial_password if user.has_initial_password else "（密码已由用户修改）"
        echo(f"  {username}  {user.org.name if user.org else ''}  {shown}")
    echo("  上报文件样例：docs/sample-package.zip")
