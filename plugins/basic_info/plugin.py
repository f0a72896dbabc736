"""basic_info: 政府网站和栏目（系统）基本信息表 — hook implementations only."""
from flask_babel import lazy_gettext as _l

from app import hookimpl
from app.formtypes.types import FormCommands, FormType
from app.i18n_text import N_
from plugins.basic_info import cli, commands, completion, demo, duplicates, models
from plugins.basic_info import workflow as review
from plugins.basic_info.policy import BasicInfoPolicy
from plugins.basic_info.schema import FORM_TYPE, SCHEMA

FORM = FormType(
    name=FORM_TYPE, label=SCHEMA.label, short_label=N_("政府网站基本信息表"), schema=SCHEMA,
    model=models.BasicInfoForm, row_model=models.BasicInfoColumnRow, workflow=models.WORKFLOW,
    policy=BasicInfoPolicy(), package_kind=FORM_TYPE,
    commands=FormCommands(
        import_packages=commands.import_packages, transition=commands.transition,
        transition_all=commands.transition_all,
        transition_selected=commands.transition_selected, edit=commands.edit_form,
        delete=commands.delete_form, bulk_counts=commands.bulk_counts),
    list_columns=("site_code", "province", "city", "county", "filing_unit", "site_name",
                  "icp_number"),
    search_columns=("site_name", "site_code", "filing_unit", "stage", "holder_path", "province",
                    "city", "county"),
    order_columns=("updated_at", "status", "holder_name", "site_code", "province", "city",
                   "county", "filing_unit", "site_name", "icp_number"),
    title_column="site_name", code_column="site_code", code_label=_l("网站标识码"),
    report_title="政府网站基本信息上报表",
    closed_stages=(review.COMPLETED,),
    action_labels={
        "codes_issued": N_("发放网站标识码"), "issue_codes": N_("发放网站标识码"),
        "mail_queued": N_("通知邮件"), "mail_sent": N_("已发送网站标识码邮件"),
        "mail_failed": N_("网站标识码邮件发送失败"),
    },
)


@hookimpl
def register_form_types(register):
    register(FORM)


@hookimpl
def register_workflows(register):
    register(models.WORKFLOW)


@hookimpl
def register_cli_commands(group):
    cli.register(group)


@hookimpl
def after_transition(workflow, transition, object_ids, actor, session):
    # Only our own workflow completes websites; other plugins' transitions pass through.
    if workflow.name != models.WORKFLOW.name:
        return
    completion.on_transition(session, transition, object_ids, actor)


@hookimpl
def register_views(appbuilder):
    # The list, detail, edit, import, transitions, export and API come from app.formtypes; this
    # page is basic information's own.
    duplicates.register(appbuilder)


@hookimpl
def load_demo_data(session, echo):
    demo.load(session, echo)
