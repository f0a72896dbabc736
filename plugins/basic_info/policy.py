"""Who may do what with a 基本信息表, and what its pages add: the basic-info half of the machine
(app.formtypes builds the pages, the API and the export from the FormType in plugin.py)."""
from sqlalchemy import select

from app.forms.schema import website_key
from app.formtypes.commands import FormError
from app.formtypes.types import FormPolicy
from app.i18n_text import N_, gettext
from app.orgs.queries import region_names
from app.orgs.scope import as_viewer, scope_clause
from app.keys import whole_number
from app.workflow.engine import acting_viewer
from plugins.basic_info import identity
from plugins.basic_info import workflow as review
from plugins.basic_info.models import BasicInfoForm

# The hidden fields an importing unit stamps on its forms (SPEC §3.1, seed 004 §5).
REGION_FIELDS = ("province", "city", "county")
# The transitions that may complete a form (at level 1), and so issue a 网站标识码.
COMPLETING_TRANSITIONS = ("submit", "approve")


class DuplicateSite(FormError):
    """The form's website already has a 网站标识码 (or gets one in the same batch)."""

    def __init__(self, refusals):
        self.refusals = dict(refusals)
        messages = [self.refusals[i] for i in sorted(self.refusals)]
        message = messages[0]
        if len(messages) > 1:
            message = gettext("%(first)s（另有 %(count)s 份表单同样不能办结）", first=message,
                              count=len(messages) - 1)
        super().__init__(message)



# Why 编辑 / 删除 is refused, as whole sentences (a verb slotted into a sentence does not
# translate): case -> (编辑, 删除).
_EDIT_REFUSALS = {
    "completed": (N_("表单已办结，不能编辑；如需修改请使用在线修改"),
                  N_("表单已办结，不能删除；如需修改请使用在线修改")),
    "not_importer": (N_("只有导入该表单的单位才能编辑"), N_("只有导入该表单的单位才能删除")),
    "returned_above": (N_("表单已被上级退回，但尚未退回到本单位，暂不能编辑"),
                       N_("表单已被上级退回，但尚未退回到本单位，暂不能删除")),
    "submitted": (N_("表单已提交上级审核，不能编辑"), N_("表单已提交上级审核，不能删除")),
    "other": (N_("当前状态下不能编辑该表单"), N_("当前状态下不能删除该表单")),
}


def edit_refusal(form, org, what):
    """The message refusing ``what`` ("edit" or "delete") on ``form`` to ``org``."""
    if form.stage == review.COMPLETED:
        case = "completed"
    elif org is None or form.scope_path != org.path:
        case = "not_importer"
    elif form.holder_path != org.path:
        case = "returned_above" if form.stage == review.RETURNED else "submitted"
    else:
        case = "other"
    deleting = what == "delete"
    return gettext(_EDIT_REFUSALS[case][deleting])





def may_see_check_code(form, viewer):
    """校验码 is a credential for the filing unit (it signs in to the self-check with it). It is
    shown after completion only, on the detail page and in the API's ``get`` (never in the list,
    the export or the API list), to the importing unit — which hands codes over when a mail
    bounced — and to administrators (by role). Upper units see the 网站标识码 but not the 校验码;
    a user with neither a unit nor the role never sees it."""
    if form.stage != review.COMPLETED or not form.check_code:
        return False
    viewer = as_viewer(viewer)
    return viewer.is_admin or (viewer.org is not None and form.scope_path == viewer.org.path)


def completed_codes(session, result):
    """The 网站标识码 of the forms ``result`` completed, in id order (issued in its transaction)."""
    done = [i for i in result.ids if result.to_stages.get(i) == review.COMPLETED]
    if not done:
        return []
    return list(session.scalars(select(BasicInfoForm.site_code)
                                .where(BasicInfoForm.id.in_(done)).order_by(BasicInfoForm.id)))


class BasicInfoPolicy(FormPolicy):
    def may_edit(self, record, viewer):
        return review.may_edit(record, as_viewer(viewer).org)

    def edit_refusal(self, record, viewer, verb):
        if verb == "edit" and record.stage == review.COMPLETED:
            return gettext("只有该表单审核链上的组织单位可以在线修改已办结的表单")
        return edit_refusal(record, as_viewer(viewer).org, verb)

    def stamp(self, session, org):
        return dict(zip(REGION_FIELDS, region_names(org, session)))

    def derived_values(self, document):
        # One website, one code: the normalised identity, kept with every write of the form.
        return {"site_key": website_key((document.get("fields") or {}).get("home_url"))}

    def reimport_refusal(self, existing):
        if existing.stage == review.COMPLETED:
            return gettext("该网站已办结（网站标识码 %(site_code)s），不再接受重新导入，"
                           "如需修改请在系统中在线修改", site_code=existing.code)
        return None

    def import_warnings(self, session, org, stamp, documents):
        return import_warnings(session, org, stamp.get("province"), documents)

    def transition_refusals(self, session, actor, name, ids):
        return duplicate_site_refusals(session, actor, name, ids)

    def refusal_error(self, refusals):
        return DuplicateSite(refusals)

    def may_correct(self, record, viewer):
        return review.may_correct(record, viewer)

    def shows_reason(self, record, viewer):
        """The last 退回 reason, to every unit below the holder on the form's chain."""
        viewer = as_viewer(viewer)
        below_holder = viewer.path is not None and viewer.path.startswith(record.holder_path)
        return (bool(record.last_reason) and record.stage == review.RETURNED
                and (below_holder or viewer.is_admin))

    def summary(self, record, viewer):
        items = []
        if record.site_code:
            items.append((N_("网站标识码"), record.site_code, "site-code"))
        if may_see_check_code(record, viewer):
            items.append((N_("校验码"), record.check_code, "check-code"))
        return items

    def api_extras(self, record, viewer):
        return {"check_code": record.check_code} if may_see_check_code(record, viewer) else {}

    def result_notes(self, session, result):
        completed = completed_codes(session, result)
        if not completed:
            return []
        return [gettext("其中 %(count)s 份已办结，已发放网站标识码并通知负责人和联系人",
                        count=len(completed))]

    def done_message(self, session, result, record):
        completed = completed_codes(session, result)
        if not completed:
            return None
        return gettext("已办结，网站标识码 %(code)s，已通知负责人和联系人", code=completed[0])


def import_warnings(session, org, province_name, docs):
    """{uuid: [warning, ...]} for the forms about to be written: another form of the same website
    (stored, of any unit and stage, or earlier in this package), and an ICP备案编号 or 办公地址 of
    another province than the importing unit's (plugins.basic_info.identity). Read before
    anything is written; two queries whatever the package holds."""
    keys = {doc["uuid"]: website_key(doc["fields"].get("home_url")) for doc in docs}
    stored = identity.forms_of_sites(session, keys.values(), exclude_uuids=keys)
    holders = identity.unit_names(session, [row.holder_path for rows in stored.values()
                                            for row in rows])
    province = identity.home_province(province_name)
    warnings = {}
    first_in_package = {}
    for doc in docs:
        fields, key = doc["fields"], keys[doc["uuid"]]
        found = []
        if stored.get(key):
            found.append(identity.duplicate_warning(stored[key], org.path, holders,
                                                    fields.get("home_url")))
        if key in first_in_package:
            found.append(identity.same_package_warning(fields.get("home_url"),
                                                       first_in_package[key]))
        elif key:
            first_in_package[key] = fields.get("site_name") or doc["uuid"]
        found += identity.out_of_area_warnings(fields, province)
        if found:
            warnings[doc["uuid"]] = found
    return warnings


def duplicate_site_refusals(session, actor, name, ids):
    """{id: why} for the forms ``name`` would complete although their website has a 网站标识码
    (one website, one code): checked before anything is written, so a single approval is refused
    cleanly and a bulk one leaves those forms out. Completion checks again under a lock."""
    if name not in COMPLETING_TRANSITIONS or isinstance(ids, (str, bytes, dict)):
        return {}
    keys = sorted({k for k in (whole_number(i, 1) for i in ids) if k is not None})
    if not keys:
        return {}
    viewer = acting_viewer(actor)
    # Only forms in the unit's scope: any other id is refused by the engine as not found, and
    # the message here must not describe a form the unit may not see.
    return identity.duplicate_site_refusals(session, keys, viewer.path,
                                            within=scope_clause(BasicInfoForm, viewer))
