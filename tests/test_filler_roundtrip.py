"""A package made by the filler imports into the server field for field (SPEC §3.2: one format,
one implementation on both sides)."""
from pathlib import Path

from sqlalchemy import select

from app.accounts.models import PuchaUser
from filler.core.excel import import_workbook, write_template
from filler.core.export import export_forms
from filler.core.store import FormStore
from plugins.basic_info.commands import IMPORTED, import_packages
from plugins.basic_info.models import BasicInfoForm
from plugins.basic_info.schema import COLUMNS_TABLE, SCHEMA, example_form

COUNTY = "330102"  # 上城区, under 杭州市, under 浙江省


def test_filler_package_imports_field_for_field(app, session, tmp_path):
    store = FormStore(tmp_path / "data", SCHEMA).ensure()
    typed = example_form(variant=1)
    # What people type: full-width digits, a loose phone number, 无 where allowed, several rows.
    typed["fields"].update(principal_phone="（0771）5601234 转 12", contact_mobile="１８９ ７７１１ ０００４",
                           office_address="无")
    typed["columns"]["info"]["news"].append({"name": "县区动态", "address": "HTTP://mzj.hzsc.gov.cn/xqdt/"})
    uuids = [store.add_document(typed).uuid, store.add_document(example_form(variant=0)).uuid]
    copied = store.copy_as_new(uuids[1])
    copied.document["fields"]["site_name"] = "杭州市上城区人民政府（英文版）"
    copied.document["fields"]["home_url"] = "http://en.hzsc.gov.cn/"
    store.save(copied)
    uuids.append(copied.uuid)

    # One more through Excel batch entry.
    from tests.test_filler_core import fill_template

    template = write_template(SCHEMA, tmp_path / "模板.xlsx")
    fill_template(template, [example_form(variant=2)])
    excel = import_workbook(store, template)
    assert excel.ok, [e.text() for e in excel.errors]
    uuids += excel.saved

    result = export_forms(store, uuids, tmp_path / "上报文件.zip")
    assert not result.refused and len(result.exported) == 4
    data = Path(result.path).read_bytes()

    actor = session.scalars(select(PuchaUser).where(PuchaUser.username == COUNTY)).one()
    report = import_packages(session, actor, [(result.path.name, data)])
    package_report = report.packages[0]
    assert package_report.error is None, package_report.error
    assert [f.outcome for f in package_report.forms] == [IMPORTED] * 4, [f.errors for f in package_report.forms]

    session.expire_all()
    for form_uuid in uuids:
        expected = SCHEMA.normalize(store.load(form_uuid).document)
        assert SCHEMA.validate(expected) == []
        form = session.scalars(select(BasicInfoForm).where(BasicInfoForm.uuid == form_uuid)).one()
        for f in SCHEMA.filler_fields():
            assert getattr(form, f.name) == expected["fields"][f.name], (form_uuid, f.name)
        # Hidden fields come from the importing unit, never from the filler.
        assert form.province and form.city
        got_rows = sorted((r.group, r.slot, r.position, r.name, r.address) for r in form.rows)
        want_rows = sorted((r["group"], r["slot"], r["position"], r["name"], r["address"])
                           for r in SCHEMA.table_rows(expected, COLUMNS_TABLE.name))
        assert got_rows == want_rows, form_uuid
    typed_form = session.scalars(select(BasicInfoForm).where(BasicInfoForm.uuid == uuids[0])).one()
    assert typed_form.principal_phone == "0771-5601234-12"
    assert typed_form.contact_mobile == "18977110004"
    assert typed_form.office_address == "无"
