"""`flask pucha …`: the operator's commands. Plugins add theirs through register_cli_commands."""
import click
from flask.cli import AppGroup

from app.accounts import cli as accounts_cli
from app.mail import cli as mail_cli
from app.orgs import cli as orgs_cli
from app.plugins import get_plugin_manager
from app.workflow import cli as workflow_cli

pucha_cli = AppGroup("pucha", help="普查报送系统管理命令")


def _upgrade_schema():
    from app.extensions import db
    from app.schema_upgrade import SchemaUpgradeError, upgrade

    try:
        return upgrade(db.engine, db.metadata)
    except SchemaUpgradeError as error:
        raise click.ClickException(str(error)) from None


@pucha_cli.command("upgrade-db")
def upgrade_db():
    """创建缺少的表、补上新增的列（可重复运行，已有数据不受影响）。"""
    done = _upgrade_schema()
    for line in done:
        click.echo(line)
    click.echo("数据库结构已是最新。" if not done else f"数据库结构已更新（{len(done)} 项）。")


@pucha_cli.command("setup")
@click.option("--demo/--no-demo", default=True, help="同时载入演示数据（默认载入）")
def setup(demo):
    """创建数据库，载入全国组织机构树及各单位账号、系统管理员和演示数据。

    可重复运行：已有的单位、账号和数据保持不变。
    """
    from app.accounts.provisioning import ensure_admin, ensure_org_accounts, sync_roles
    from app.extensions import db
    from app.orgs.importer import load_default_tree
    from app.plugins import get_plugin_manager

    for line in _upgrade_schema():
        click.echo(line)
    session = db.session
    sync_roles()
    added = load_default_tree(session)
    created_accounts = ensure_org_accounts(session)
    admin_name, admin_password = ensure_admin(session)
    session.commit()
    from sqlalchemy import func, select

    from app.orgs.models import Org

    total = session.scalar(select(func.count(Org.id)))
    click.echo(f"组织机构：共 {total} 个（本次新增 {added} 个）；新建账号 {created_accounts} 个。")
    if demo:
        get_plugin_manager().hook.load_demo_data(session=session, echo=click.echo)
        session.commit()
    if admin_password:
        click.echo(f"管理员账号：{admin_name}  初始密码：{admin_password}（首次登录须修改）")
    else:
        click.echo(f"管理员账号：{admin_name}（密码已由管理员修改）")


def _add_commands():
    for area in (orgs_cli, accounts_cli, workflow_cli, mail_cli):
        area.register(pucha_cli)
    get_plugin_manager().hook.register_cli_commands(group=pucha_cli)


_add_commands()
