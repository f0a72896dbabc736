"""政府网站和栏目（系统）基本信息表 as a form type: the data app.formtypes builds its pages, API,
export, import and transitions from."""
from flask_babel import lazy_gettext as _l

from app.formtypes.types import FormType
from app.i18n_text import N_
from plugins.basic_info import models
from plugins.basic_info import workflow as review
from plugins.basic_info.policy import BasicInfoPolicy
from plugins.basic_info.schema import FORM_TYPE, SCHEMA

FORM = FormType(
    name=FORM_TYPE, label=SCHEMA.label, short_label=N_("政府网站基本信息表"), schema=SCHEMA,
    model=models.BasicInfoForm, row_model=models.BasicInfoColumnRow, workflow=models.WORKFLOW,
    policy=BasicInfoPolicy(), package_kind=FORM_TYPE, package_model=models.StoredPackage,
    list_columns=("site_code", "province", "city", "county", "filing_unit", "site_name",
                  "icp_number"),
    search_columns=("site_name", "site_code", "filing_unit", "stage", "holder_path", "province",
                    "city", "county"),
    order_columns=("updated_at", "status", "holder_name", "site_code", "province", "city",
                   "county", "filing_unit", "site_name", "icp_number"),
    title_column="site_name", code_column="site_code", code_label=_l("网站标识码"),
    report_title="政府网站基本信息上报表",
    closed_stages=(review.COMPLETED,),
    initial_stage=review.DRAFT,
    action_labels={
        "codes_issued": N_("发放网站标识码"), "issue_codes": N_("发放网站标识码"),
        "mail_queued": N_("通知邮件"), "mail_sent": N_("已发送网站标识码邮件"),
        "mail_failed": N_("网站标识码邮件发送失败"),
        "site_codes_recovery": N_("标识码找回"), "site_verify": N_("客户端校验网站标识码"),
    },
)
