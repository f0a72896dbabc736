"""Row scope, proven by brute force: walk EVERY URL rule of the app as county 330106 and try to
read or change a sibling's (330102's) and a parent's (330100's) forms through it.

Every URL parameter that looks like a key gets the target's id (and the id of the package it came
in, and its UUID where a parameter is named so); every allowed method is tried, through the web
session (form posts) and through a JWT token (JSON). The targets' unique marker text must never
appear in a response (xlsx files are opened and read), and their version, stage, holder and
document must be unchanged afterwards.
"""
import io
import re
import zipfile

import pytest
from sqlalchemy import select

from tests.support.accounts import KNOWN_PASSWORD, api_token, get_user, login, set_known_password
from tests.support.scope import make_admin, make_unitless

ATTACKER = "330106"
MARKER = "ZQXMARKER"
SKIP_ENDPOINT = re.compile(r"logout", re.I)
PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
TRANSITION_NAMES = ["submit", "approve", "return", "delete", "edit"]


@pytest.fixture
def targets(session):
    """Three forms the attacker must not touch: a sibling's draft, a sibling's completed form,
    and the parent's own form waiting at the province."""
    from plugins.basic_info import commands
    from plugins.basic_info.demo import package_bytes, site_form
    from plugins.basic_info.models import BasicInfoForm

    county, city, province = (get_user(session, c) for c in ("330102", "330100", "330000"))
    get_user(session, ATTACKER)
    docs = [site_form(f"{MARKER}上城区甲网站", "a.hzsc.gov.cn", "否"),
            site_form(f"{MARKER}上城区乙网站", "b.hzsc.gov.cn", "否", variant=1)]
    report = commands.import_packages(session, county, [("t.zip", package_bytes(docs))])
    draft_id, done_id = [f.form_id for f in report.forms]
    commands.transition(session, county, "submit", [done_id])
    commands.transition(session, city, "approve", [done_id])
    commands.transition(session, province, "approve", [done_id])
    report = commands.import_packages(session, city, [("c.zip", package_bytes(
        [site_form(f"{MARKER}杭州市丙网站", "c.hangzhou.gov.cn", "否", variant=2)]))])
    parent_id = report.forms[0].form_id
    commands.transition(session, city, "submit", [parent_id])
    # The attacker has a form of its own, so its pages are not trivially empty.
    own = commands.import_packages(session, get_user(session, ATTACKER), [("own.zip", package_bytes(
        [site_form("杭州市西湖区人民政府", "www.hzxh.gov.cn", "是")]))])
    assert own.forms[0].form_id
    # An audit event of the sibling's that the attacker must not read on the 审计日志 page.
    from app import audit

    audit.record(session, "password_reset", "user", "330102", org_id=county.org_id,
                 reason=f"{MARKER}审计")
    session.commit()
    forms = session.execute(select(BasicInfoForm).where(
        BasicInfoForm.id.in_([draft_id, done_id, parent_id]))).scalars().all()
    return forms


def snapshot(session, forms):
    from plugins.basic_info.models import BasicInfoColumnRow, BasicInfoForm

    session.expire_all()
    out = {}
    for form in forms:
        row = session.get(BasicInfoForm, form.id)
        if row is None:
            out[form.id] = None
            continue
        rows = session.execute(select(BasicInfoColumnRow.name, BasicInfoColumnRow.address)
                               .where(BasicInfoColumnRow.form_id == form.id)
                               .order_by(BasicInfoColumnRow.id)).all()
        out[form.id] = (row.version, row.stage, row.holder_path, row.site_code, row.check_code,
                        row.site_name, row.principal_phone, repr(row.document), tuple(rows))
    return out


def param_values(kind, name, form):
    name_l = name.lower()
    if "uuid" in name_l:
        return [form.uuid]
    if name_l == "name":
        return TRANSITION_NAMES
    if kind in ("int", "path", None) and (name_l in ("pk", "id") or name_l.endswith("_id")
                                          or name_l.endswith("pk") or kind == "int"):
        values = [str(form.id)]
        if form.package_id:
            values.append(str(form.package_id))
        return values
    if name_l == "filename":
        return [f"{form.uuid}.zip"]
    return [str(form.id)]


def urls_for(rule, form):
    """Every URL of ``rule`` with its parameters replaced by the target's keys."""
    params = PARAM.findall(rule.rule)
    combos = [rule.rule]
    for kind, name in params:
        placeholder = re.compile(r"<(?:[^:<>]+:)?" + re.escape(name) + ">")
        combos = [placeholder.sub(value, url) for url in combos
                  for value in param_values(kind or None, name, form)]
    return combos


def body_text(response):
    data = response.get_data()
    text = data.decode("utf-8", "ignore")
    if data[:2] == b"PK":  # xlsx or zip: look inside
        try:
            from openpyxl import load_workbook

            wb = load_workbook(io.BytesIO(data), read_only=True)
            cells = [str(v) for ws in wb.worksheets for row in ws.iter_rows(values_only=True)
                     for v in row if v is not None]
            text += "\n".join(cells)
        except Exception:  # noqa: BLE001 - not a workbook: read the zip's members instead
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                for info in zf.infolist():
                    text += zf.read(info).decode("utf-8", "ignore")
    return text


def payloads(form):
    form_data = {"version": str(form.version), "reason": "越权测试", "name": "approve",
                 "ids": str(form.id), "rowid": str(form.id), "action": "delete",
                 "pk": str(form.id), "uuid": form.uuid, "f.site_name": "HACKED",
                 "f.principal_phone": "0571-11111111", "expected_version": str(form.version)}
    json_data = {"name": "approve", "ids": [form.id], "reason": "越权测试",
                 "expected_versions": {str(form.id): form.version}, "site_name": "HACKED",
                 "uuid": form.uuid, "pk": form.id, "version": form.version}
    return form_data, json_data


def walk(app, client, headers, forms, as_json, secrets=(MARKER,)):
    """Try every rule; return how many requests were made and which answers showed a secret."""
    tried = 0
    leaks = []
    for rule in app.url_map.iter_rules():
        if SKIP_ENDPOINT.search(rule.endpoint) or rule.endpoint == "static":
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        for form in forms:
            form_data, json_data = payloads(form)
            for url in urls_for(rule, form):
                for method in methods:
                    kwargs = {"headers": headers}
                    if method != "GET":
                        if as_json:
                            kwargs["json"] = json_data
                        else:
                            kwargs["data"] = dict(form_data)
                    tried += 1
                    try:
                        response = client.open(url, method=method, **kwargs)
                    except Exception:  # noqa: BLE001
                        # TESTING propagates view errors (e.g. FAB's action route raises on an
                        # unknown action name): a crash shows nothing, so it is no leak; the
                        # data check at the end still catches any change made before it.
                        from app.extensions import db

                        db.session.rollback()
                        continue
                    text = body_text(response)
                    if any(secret in text for secret in secrets):
                        leaks.append(f"{method} {url} -> {response.status_code}")
                    if method == "GET" and response.status_code == 200 and url.endswith(
                            f"/{form.id}"):
                        # A 200 on a key URL must not be the target's page in disguise.
                        assert form.uuid not in body_text(response), f"{method} {url}"
    return tried, leaks


@pytest.mark.slow
def test_county_cannot_reach_a_siblings_or_parents_forms(app, session, client, targets):
    before = snapshot(session, targets)
    set_known_password(session, ATTACKER)
    login(client, ATTACKER)
    tried, leaks = walk(app, client, {}, targets, as_json=False)
    assert not leaks, leaks
    # Still logged in as the attacker at the end: the walk really ran with its session.
    assert client.get("/basic_info/list/").status_code == 200
    assert snapshot(session, targets) == before

    api = app.test_client()
    response = api.post("/api/v1/security/login", json={
        "username": ATTACKER, "password": KNOWN_PASSWORD, "provider": "db"})
    headers = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
    tried_api, leaks = walk(app, api, headers, targets, as_json=True)
    assert not leaks, leaks
    assert api.get("/api/v1/basic_info/", headers=headers).status_code == 200
    assert snapshot(session, targets) == before
    assert tried > 200 and tried_api > 200


def test_the_walk_would_see_an_audit_leak(app, session, client, targets):
    """Control for the audit page: the sibling's parent reads the marked event there."""
    set_known_password(session, "330100")
    login(client, "330100")
    assert MARKER in body_text(client.get("/audit/"))
    assert MARKER in body_text(client.get("/audit/export"))


def test_the_walk_would_see_a_leak(app, session, client, targets):
    """Control: the parent unit DOES see the markers through the same helpers, so a leak to the
    attacker could not hide from the walk's checks."""
    set_known_password(session, "330100")
    login(client, "330100")
    html = body_text(client.get("/basic_info/list/"))
    assert MARKER in html
    xlsx = body_text(client.get("/basic_info/export"))
    assert MARKER in xlsx
    # The package download: the zip's forms are read, so a sibling fetching it would show.
    package = client.get(f"/basic_info/package/{targets[0].package_id}")
    assert package.status_code == 200 and MARKER in body_text(package)


def _secrets(forms):
    """What a viewer outside the forms' chain must never see: the marker, and the completed
    form's 网站标识码 and 校验码."""
    codes = [code for form in forms for code in (form.site_code, form.check_code) if code]
    assert len(codes) == 2
    return (MARKER, *codes)


@pytest.mark.parametrize("roles", [None, []], ids=["org-role", "no-role"])
def test_a_user_without_unit_or_admin_role_reaches_nothing(app, session, client, targets,
                                                           roles):
    """Row scope fails closed: no unit is not "administrator". Such a user (the account FAB's
    add form used to make: the 组织单位 role and no unit) walks every rule and finds nothing,
    changes nothing, and never sees a 校验码."""
    secrets = _secrets(targets)
    before = snapshot(session, targets)
    nobody = make_unitless(session, "nounit", roles=roles)
    set_known_password(session, nobody.username)
    login(client, nobody.username)
    tried, leaks = walk(app, client, {}, targets, as_json=False, secrets=secrets)
    assert not leaks, leaks
    assert snapshot(session, targets) == before

    api = app.test_client()
    headers = api_token(api, nobody.username, KNOWN_PASSWORD)
    tried_api, leaks = walk(app, api, headers, targets, as_json=True, secrets=secrets)
    assert not leaks, leaks
    assert snapshot(session, targets) == before
    assert tried > 200 and tried_api > 200

    if roles is None:
        # With the 组织单位 role the pages open, and are empty.
        listing = client.get("/basic_info/list/")
        assert listing.status_code == 200 and 'data-pk="' not in listing.get_data(as_text=True)
        for form in targets:
            assert client.get(f"/basic_info/form/{form.id}").status_code == 404
            assert api.get(f"/api/v1/basic_info/{form.id}", headers=headers).status_code == 404
        listed = api.get("/api/v1/basic_info/", headers=headers)
        assert listed.status_code == 200 and listed.get_json()["count"] == 0
        export = client.get("/basic_info/export")
        assert export.status_code == 200 and not any(s in body_text(export) for s in secrets)
        accounts = client.get("/accounts/list/").get_data(as_text=True)
        assert "330102" not in accounts and "330106" not in accounts
        assert client.get("/accounts/download/").status_code == 404
        assert client.get("/outbox/list/").status_code == 403
        orgs = client.get("/orgs/list/").get_data(as_text=True)
        assert "330102" not in orgs and "000000" not in orgs
        # Commands refuse it outright, whatever ids it names.
        upload = client.post("/basic_info/upload", data={"packages": (io.BytesIO(b"PK"), "x.zip")},
                             content_type="multipart/form-data", follow_redirects=True)
        assert "既不属于任何组织单位，也不是系统管理员" in upload.get_data(as_text=True)


def test_the_administrator_is_recognised_by_role(app, session, client, targets):
    """Control for the test above: an account with the administrator role and no unit sees every
    form, and the completed form's 校验码 on its detail page."""
    admin = make_admin(session, "admin2")
    set_known_password(session, admin.username)
    login(client, admin.username)
    assert MARKER in body_text(client.get("/basic_info/list/"))
    done = next(form for form in targets if form.check_code)
    assert done.check_code in client.get(f"/basic_info/form/{done.id}").get_data(as_text=True)
