"""`flask pucha …`: the operator's commands. Plugins add theirs through register_cli_commands."""
import click
from alembic import command
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from app.accounts import cli as accounts_cli
from app.accounts.provisioning import ensure_admin, ensure_builtin_roles, ensure_org_accounts, sync_roles
from app.extensions import db
from app.mail import cli as mail_cli
from app.migrate import (MigrationError, alembic_config, current_by_branch, describe_difference,
                         new_revision, pending_differences, upgrade_database)
from app.orgs import cli as orgs_cli
from app.orgs.importer import load_default_tree
from app.orgs.models import Org
from app.plugins import get_plugin_manager
from app.workflow import cli as workflow_cli

pucha_cli = AppGroup("pucha", help="普查报送系统管理命令")


def _prepare_database():
    """Run the migrations, then give FAB its built-in roles (FAB_CREATE_DB is off: the schema
    is Alembic's, so FAB no longer makes its tables and roles at start-up). Echoes what ran."""


    try:
        adopted, applied = upgrade_database(current_app._get_current_object())
    except MigrationError as error:
        raise click.ClickException(str(error)) from None
    if adopted:
        click.echo("已接管由旧版本建立的数据库，记为已在版本：" + "、".join(adopted))
    for revision, description in applied:
        click.echo(f"已执行迁移 {revision}：{description}")
    _warn_about_drift()
    ensure_builtin_roles()
    db.session.commit()
    return applied


def _warn_about_drift():
    """A model changed without a revision (a field added to a schema, say) shows here, by name,
    instead of as a failing query later."""
    with db.engine.connect() as connection:
        differences = pending_differences(connection, db.metadata)
    for diff in differences:
        click.echo(f"警告：{describe_difference(diff)}", err=True)
    if differences:
        click.echo("模型与数据库不一致：需要新的迁移（flask pucha db-revision <分支> -m \"说明\"，"
                   "见 docs/migrations.md）。", err=True)


@pucha_cli.command("upgrade-db")
def upgrade_db():
    """执行数据库迁移，使数据库结构与当前版本一致（可重复运行，已有数据不受影响）。"""
    applied = _prepare_database()
    click.echo("数据库结构已是最新。" if not applied else f"数据库结构已更新（{len(applied)} 项迁移）。")


@pucha_cli.command("db-current")
def db_current():
    """显示数据库在每个迁移分支（平台和各插件）上所在的版本。"""


    with db.engine.connect() as connection:
        at = current_by_branch(connection, current_app.extensions["pucha.plugins"])
    for label, revision in at.items():
        click.echo(f"{label}: {revision}")
    if not at:
        click.echo("数据库尚未执行任何迁移。")


@pucha_cli.command("db-history")
def db_history():
    """列出全部迁移（平台和各插件的分支），最新的在前。"""


    command.history(alembic_config(current_app.extensions["pucha.plugins"]))


@pucha_cli.command("db-revision")
@click.argument("branch")
@click.option("-m", "--message", required=True, help="迁移说明")
def db_revision(branch, message):
    """（开发用）比较模型与数据库，在分支 BRANCH（pucha 或插件名）的目录里生成一个迁移文件。"""


    try:
        path = new_revision(current_app._get_current_object(), branch, message)
    except MigrationError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"已生成迁移文件 {path}，请检查后提交。")


@pucha_cli.command("setup")
@click.option("--demo/--no-demo", default=True, help="同时载入演示数据（默认载入）")
def setup(demo):
    """创建数据库，载入全国组织机构树及各单位账号、系统管理员和演示数据。

    可重复运行：已有的单位、账号和数据保持不变。
    """
    _prepare_database()
    session = db.session
    sync_roles()
    added = load_default_tree(session)
    created_accounts = ensure_org_accounts(session)
    admin_name, admin_password = ensure_admin(session)
    session.commit()
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
