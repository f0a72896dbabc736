"""basic_info: 政府网站和栏目（系统）基本信息表 — hook implementations only."""
from app import hookimpl
from app.registry import FormType
from plugins.basic_info import models
from plugins.basic_info.schema import FORM_TYPE, SCHEMA


@hookimpl
def register_form_types(register):
    register(FormType(name=FORM_TYPE, label=SCHEMA.label, schema=SCHEMA,
                      model=models.BasicInfoForm, package_kind=FORM_TYPE,
                      workflow=models.WORKFLOW.name))


@hookimpl
def register_workflows(register):
    register(models.WORKFLOW)


@hookimpl
def register_cli_commands(group):
    from plugins.basic_info import cli

    cli.register(group)


@hookimpl
def after_transition(workflow, transition, object_ids, actor, session):
    # Only our own workflow completes websites; other plugins' transitions pass through.
    if workflow.name != models.WORKFLOW.name:
        return
    from plugins.basic_info.completion import on_transition

    on_transition(session, transition, object_ids, actor)


@hookimpl
def register_views(appbuilder):
    from plugins.basic_info import views

    views.register(appbuilder)


@hookimpl
def register_apis(appbuilder):
    from plugins.basic_info import api

    api.register(appbuilder)


@hookimpl
def load_demo_data(session, echo):
    from plugins.basic_info import demo

    demo.load(session, echo)
