"""basic_info: 政府网站和栏目（系统）基本信息表 — hook implementations only."""
from pathlib import Path

from app import hookimpl
from plugins.basic_info import cli, completion, demo, duplicates, models, public
from plugins.basic_info.form_type import FORM


@hookimpl
def register_form_types(register):
    register(FORM)


@hookimpl
def register_workflows(register):
    register(models.WORKFLOW)


@hookimpl
def register_migrations(register):
    register("basic_info", Path(__file__).resolve().parent / "migrations")


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
    # The list, detail, edit, import, transitions, export and API come from app.formtypes; 重复网站
    # and the public 标识码找回 are basic information's own.
    duplicates.register(appbuilder)
    public.register(appbuilder)


@hookimpl
def register_apis(appbuilder):
    public.register_apis(appbuilder)


@hookimpl
def public_links():
    return public.public_links()


@hookimpl
def load_demo_data(session, echo):
    demo.load(session, echo)
