"""`flask pucha` commands of app.workflow."""
import click
from flask.cli import with_appcontext

from app.registry import workflows


@click.command("workflows")
@with_appcontext
def list_workflows():
    """列出插件注册的流程、状态和操作。"""
    registered = workflows()
    if not registered:
        click.echo("没有已注册的流程。")
        return
    for name, wf in sorted(registered.items()):
        click.echo(f"流程 {name}（对象：{wf.object_type or name}，模型：{wf.model.__name__}）")
        click.echo("  状态：" + "，".join(f"{k}={v}" for k, v in wf.stages.items()))
        for t in wf.transitions:
            extra = []
            if t.reason_required:
                extra.append("须填写原因")
            if t.bulk_label:
                extra.append(f"批量：{t.bulk_label}")
            sources = "/".join(t.sources)
            click.echo(f"  {t.name}「{t.label}」：{sources} → …"
                       + (f"（{'，'.join(extra)}）" if extra else ""))


def register(group):
    """Add this area's commands to the `flask pucha` group."""
    group.add_command(list_workflows)
