"""Which website a form is about, and where it is: the rules behind the import report's warnings
and the completion's refusal (docs/basic-info.md, “一个网站一个标识码”).

- A website is identified by ``app.forms.schema.website_key`` of its 首页网址, stored on the form
  as ``site_key``. Two forms with one key are two reports of one website (seed 000 注意事项:
  每一个网站只需报送一份数据，并具有一个唯一的网站标识码).
- A form whose ICP备案编号 or 办公地址 names another province than the importing unit's is
  imported with a warning, never refused: a unit may run a website registered or hosted elsewhere.

What another unit's form reveals: inside the viewer's subtree everything the list shows (the site
name, the 网站标识码, the unit holding the form); outside it only what the spec already names for a
UUID held elsewhere — the importing unit — and the 网站标识码, which is public once issued.
"""
from __future__ import annotations

from sqlalchemy import and_, bindparam, func, or_, select, update

from app.audit import record
from app.forms.schema import website_key
from app.i18n_text import N_, gettext
from app.orgs.models import Org
from app.orgs.paths import level_of
from plugins.basic_info import workflow as review
from plugins.basic_info.models import BasicInfoForm

# Keys looked up per SELECT (with a package's UUIDs, well under every database's limit of bound
# parameters).
KEY_CHUNK = 2000
# Other forms of one website named in one warning.
SHOWN_PER_SITE = 3

# (the province's name in the org tree, its ICP备案 abbreviation(s), the names an address starts
# with). The ICP abbreviations are those of app.forms.kinds.ICP_PROVINCES.
PROVINCES = (
    ("北京市", "京", ("北京",)), ("天津市", "津", ("天津",)), ("河北省", "冀", ("河北",)),
    ("山西省", "晋", ("山西",)), ("内蒙古自治区", "蒙", ("内蒙古",)), ("辽宁省", "辽", ("辽宁",)),
    ("吉林省", "吉", ("吉林",)), ("黑龙江省", "黑", ("黑龙江",)), ("上海市", "沪", ("上海",)),
    ("江苏省", "苏", ("江苏",)), ("浙江省", "浙", ("浙江",)), ("安徽省", "皖", ("安徽",)),
    ("福建省", "闽", ("福建",)), ("江西省", "赣", ("江西",)), ("山东省", "鲁", ("山东",)),
    ("河南省", "豫", ("河南",)), ("湖北省", "鄂", ("湖北",)), ("湖南省", "湘", ("湖南",)),
    ("广东省", "粤", ("广东",)), ("广西壮族自治区", "桂", ("广西",)), ("海南省", "琼", ("海南",)),
    ("重庆市", "渝", ("重庆",)), ("四川省", "川蜀", ("四川",)), ("贵州省", "贵黔", ("贵州",)),
    ("云南省", "云滇", ("云南",)), ("西藏自治区", "藏", ("西藏",)), ("陕西省", "陕秦", ("陕西",)),
    ("甘肃省", "甘陇", ("甘肃",)), ("青海省", "青", ("青海",)), ("宁夏回族自治区", "宁", ("宁夏",)),
    ("新疆维吾尔自治区", "新", ("新疆",)),
)
# Units whose forms belong to a province without being one in the tree.
PROVINCE_ALIASES = {"新疆生产建设兵团": "新疆维吾尔自治区"}

_BY_ICP = {abbr: name for name, abbrs, _ in PROVINCES for abbr in abbrs}
_ADDRESS_PREFIXES = sorted(((prefix, name) for name, _, prefixes in PROVINCES
                            for prefix in prefixes + (name,)),
                           key=lambda item: -len(item[0]))


def home_province(region_name):
    """The province a unit's forms belong to, from its 省/部 stamp; None for a ministry or the
    national root (their websites may be anywhere)."""
    name = PROVINCE_ALIASES.get(region_name, region_name)
    return name if any(name == p for p, _, _ in PROVINCES) else None


def icp_province(icp_number):
    """The province of an ICP备案编号 (浙ICP备05070602号-1 → 浙江省); None for 无 or unknown."""
    text = (icp_number or "").strip()
    if "ICP备" not in text:
        return None
    return _BY_ICP.get(text[:1])


def address_province(address):
    """The province an address begins with (北京市海淀区… → 北京市); None when it does not begin
    with one. Only the beginning counts: streets are named after provinces (广州的北京路, 南京的
    山西路), so a province's name further on says nothing."""
    text = (address or "").strip().removeprefix("中国").lstrip()
    for prefix, name in _ADDRESS_PREFIXES:
        if text.startswith(prefix):
            return name
    return None


# (field, label, where its province is read, the warning) of the out-of-area checks.
_AREA_CHECKS = (
    ("icp_number", N_("ICP备案编号"), icp_province,
     N_("ICP备案编号“%(value)s”是%(other)s的备案，本单位属于%(own)s；请核实该网站是否应由本单位报送（已导入）")),
    ("office_address", N_("办公地址"), address_province,
     N_("办公地址“%(value)s”位于%(other)s，本单位属于%(own)s；请核实该网站是否应由本单位报送（已导入）")),
)


def out_of_area_warnings(fields, province):
    """Warnings ({path, label, message}) for a form imported by a unit of ``province`` whose ICP
    备案编号 or 办公地址 names another province."""
    if province is None:
        return []
    warnings = []
    for name, label, province_of, message in _AREA_CHECKS:
        other = province_of(fields.get(name))
        if other is not None and other != province:
            warnings.append({"path": f"fields.{name}", "label": gettext(label),
                             "message": gettext(message, value=fields.get(name), other=other,
                                                own=province)})
    return warnings


def forms_of_sites(session, keys, exclude_uuids=(), per_site=SHOWN_PER_SITE + 1):
    """{site_key: [row, ...]} of stored forms of the websites ``keys`` (any unit, any stage): at
    most ``per_site`` of each, those with a 网站标识码 first, then by id — however many forms a
    website has. Each row has id, uuid, site_name, site_code, scope_path, holder_path, stage, the
    importing unit's name and code. Forms whose UUID is in ``exclude_uuids`` (a package's own,
    at most UPLOAD_MAX_FORMS) are left out."""
    keys = sorted({k for k in keys if k})
    exclude = sorted(set(exclude_uuids))
    found = {}
    for start in range(0, len(keys), KEY_CHUNK):
        where = [BasicInfoForm.site_key.in_(keys[start:start + KEY_CHUNK])]
        if exclude:
            where.append(BasicInfoForm.uuid.not_in(exclude))
        rank = func.row_number().over(partition_by=BasicInfoForm.site_key,
                                      order_by=(BasicInfoForm.site_code.is_(None),
                                                BasicInfoForm.id))
        ranked = (select(BasicInfoForm.id, BasicInfoForm.uuid, BasicInfoForm.site_key,
                         BasicInfoForm.site_name, BasicInfoForm.site_code,
                         BasicInfoForm.scope_path, BasicInfoForm.holder_path, BasicInfoForm.stage,
                         Org.name.label("importer_name"), Org.code.label("importer_code"),
                         rank.label("rank"))
                  .join(Org, Org.id == BasicInfoForm.importer_id).where(*where).subquery())
        stmt = (select(ranked).where(ranked.c.rank <= per_site)
                .order_by(ranked.c.site_key, ranked.c.rank))
        for row in session.execute(stmt):
            found.setdefault(row.site_key, []).append(row)
    return found


def unit_names(session, paths):
    """{org path: (name, code)} for the units at ``paths``."""
    paths = sorted(set(paths))
    names = {}
    for start in range(0, len(paths), KEY_CHUNK):
        for path, name, code in session.execute(
                select(Org.path, Org.name, Org.code).where(Org.path.in_(paths[start:start + KEY_CHUNK]))):
            names[path] = (name, code)
    return names


def _covers(viewer_path, scope_path):
    """Whether a unit at ``viewer_path`` (None: an administrator) sees a form owned by
    ``scope_path`` (the Python twin of the org scope)."""
    return viewer_path is None or (scope_path or "").startswith(viewer_path)


def describe_other_form(row, viewer_path, holders):
    """One phrase naming another form of the same website, as much as ``viewer_path`` may see."""
    if _covers(viewer_path, row.scope_path):
        if row.site_code:
            return gettext("“%(name)s”（%(unit)s导入，已办结，网站标识码 %(code)s）",
                           name=row.site_name, unit=row.importer_name, code=row.site_code)
        holder, holder_code = holders.get(row.holder_path, ("", ""))
        return gettext("“%(name)s”（%(unit)s导入，尚未办结，现在由 %(holder)s（%(holder_code)s）处理）",
                       name=row.site_name, unit=row.importer_name, holder=holder,
                       holder_code=holder_code)
    if row.site_code:
        return gettext("其他单位 %(unit)s（%(unit_code)s）报送的表单（网站标识码 %(code)s）",
                       unit=row.importer_name, unit_code=row.importer_code, code=row.site_code)
    return gettext("其他单位 %(unit)s（%(unit_code)s）报送的表单（尚未办结）",
                   unit=row.importer_name, unit_code=row.importer_code)


def duplicate_warning(rows, viewer_path, holders, home_url):
    """The import report's warning for a form whose website already has the forms ``rows``."""
    shown = [describe_other_form(row, viewer_path, holders) for row in rows[:SHOWN_PER_SITE]]
    text = "；".join(shown)
    if len(rows) > SHOWN_PER_SITE:
        text += gettext("等多份表单")
    return {"path": "fields.home_url", "label": gettext("首页网址"), "message": gettext(
        "首页网址 %(url)s 与已有表单是同一网站：%(others)s。每个网站只报送一份、只有一个网站标识码，"
        "请核实后删除重复的表单（已导入）", url=home_url, others=text)}


def same_package_warning(home_url, title):
    return {"path": "fields.home_url", "label": gettext("首页网址"), "message": gettext(
        "首页网址 %(url)s 与本上报文件中的“%(title)s”是同一网站；每个网站只报送一份，"
        "请核实后删除重复的表单（已导入）", url=home_url, title=title)}


def fill_site_keys(session, batch=5000):
    """Write ``site_key`` on every form that lacks one (rows from before the column existed;
    `flask pucha basic-info-site-keys`, docs/basic-info.md). Batched, one commit per batch and
    one audit row in all; a form edited meanwhile (another version) is left for the next run.
    Returns (filled, websites that now show more than one form with a 网站标识码)."""
    table = BasicInfoForm.__table__
    stmt = (update(table)
            .where(table.c.id == bindparam("w_id"), table.c.version == bindparam("w_version"))
            .values(site_key=bindparam("v_site_key")))
    filled, last_id = 0, 0
    while True:
        rows = session.execute(
            select(BasicInfoForm.id, BasicInfoForm.version, BasicInfoForm.home_url)
            .where(BasicInfoForm.site_key.is_(None), BasicInfoForm.id > last_id)
            .order_by(BasicInfoForm.id).limit(batch)).all()
        if not rows:
            break
        last_id = rows[-1].id
        params = [{"w_id": r.id, "w_version": r.version, "v_site_key": website_key(r.home_url)}
                  for r in rows if website_key(r.home_url)]
        if params:
            session.execute(stmt, params)
            filled += len(params)
            record(session, "fill_site_keys", "basic_info", None,
                   detail={"filled": len(params), "first_id": rows[0].id, "last_id": last_id})
        session.commit()
    coded_twice = session.scalar(
        select(func.count()).select_from(
            select(BasicInfoForm.site_key)
            .where(BasicInfoForm.site_key.is_not(None), BasicInfoForm.site_code.is_not(None))
            .group_by(BasicInfoForm.site_key).having(func.count() > 1).subquery()))
    session.rollback()  # end the read
    return filled, coded_twice or 0


__all__ = ["fill_site_keys", "website_key", "home_province", "icp_province", "address_province",
           "out_of_area_warnings", "forms_of_sites", "unit_names", "describe_other_form",
           "duplicate_warning", "same_package_warning", "duplicate_site_refusals", "PROVINCES"]


def _completing(row):
    """Whether ``row`` completes now: completed without a code yet, or held open at level 1
    (where 提交 / 审核通过 completes, plugins.basic_info.workflow._move_up)."""
    if row.site_code is not None:
        return False
    if row.stage == review.COMPLETED:
        return True
    return row.stage in (review.DRAFT, review.PENDING, review.RETURNED) and \
        level_of(row.holder_path) <= 1


def _may_complete_where():
    """SQL keeping at least the rows ``_completing`` takes (and few others): a website without a
    code yet, completed or held at level 1 or above (a path of at most two codes, ``/a/b/``).
    Only narrows the read; ``_completing`` decides."""
    slashes = (func.length(BasicInfoForm.holder_path)
               - func.length(func.replace(BasicInfoForm.holder_path, "/", "")))
    return and_(BasicInfoForm.site_key.is_not(None), BasicInfoForm.site_code.is_(None),
                or_(BasicInfoForm.stage == review.COMPLETED, slashes <= 3))


def duplicate_site_refusals(session, form_ids, viewer_path=None, within=None):
    """{form id: message} for those of ``form_ids`` that would complete (now or in the approval
    being taken) although their website has a 网站标识码 already, or although an earlier form of
    the batch (lower id) of the same website completes with them. ``viewer_path`` (the acting
    unit's path; None for an administrator) decides how much the message says about a form
    outside the unit's subtree (plugins.basic_info.identity); ``within`` (an SQL condition, the
    actor's scope) leaves the other ids out. Reads only; a few queries, and a batch none of
    whose forms completes (全部审核 below the provinces) reads no row."""
    ids = sorted({int(i) for i in form_ids})
    rows = []
    where = [_may_complete_where()] if within is None else [_may_complete_where(), within]
    for start in range(0, len(ids), 10_000):
        rows.extend(session.execute(
            select(BasicInfoForm.id, BasicInfoForm.site_key, BasicInfoForm.site_name,
                   BasicInfoForm.home_url, BasicInfoForm.stage, BasicInfoForm.holder_path,
                   BasicInfoForm.site_code)
            .where(BasicInfoForm.id.in_(ids[start:start + 10_000]), *where)).all())
    rows = sorted((r for r in rows if r.site_key and _completing(r)), key=lambda r: r.id)
    if not rows:
        return {}
    stored = forms_of_sites(session, [r.site_key for r in rows])
    coded = {key: [f for f in found if f.site_code] for key, found in stored.items()}
    holders = unit_names(session, [f.holder_path for found in coded.values()
                                            for f in found])
    refusals, first = {}, {}
    for row in rows:
        others = coded.get(row.site_key) or []
        if others:
            refusals[row.id] = gettext(
                "“%(name)s”（编号 %(id)s）不能办结：首页网址 %(url)s 与%(other)s是同一网站，"
                "该网站已有网站标识码 %(code)s，每个网站只有一个网站标识码；请退回或删除重复的表单",
                name=row.site_name, id=row.id, url=row.home_url,
                other=describe_other_form(others[0], viewer_path, holders),
                code=others[0].site_code)
        elif row.site_key in first:
            refusals[row.id] = gettext(
                "“%(name)s”（编号 %(id)s）不能办结：首页网址 %(url)s 与同时办结的“%(other)s”"
                "（编号 %(other_id)s）是同一网站，每个网站只有一个网站标识码；请退回或删除重复的表单",
                name=row.site_name, id=row.id, url=row.home_url,
                other=first[row.site_key].site_name, other_id=first[row.site_key].id)
        else:
            first[row.site_key] = row
    return refusals
