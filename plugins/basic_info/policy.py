"""Who may do what with a 基本信息表, and what its pages add: the basic-info half of the machine
(app.formtypes builds the pages, the API and the export from the FormType in plugin.py)."""
from sqlalchemy import select

from app.formtypes.types import FormPolicy
from app.i18n_text import N_, gettext
from app.orgs.scope import as_viewer
from plugins.basic_info import workflow as review
from plugins.basic_info.models import BasicInfoForm


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
