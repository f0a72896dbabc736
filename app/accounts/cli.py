"""`flask pucha` commands of app.accounts."""
from pathlib import Path

import click
from sqlalchemy import select

from app import audit
from app.accounts import commands
from app.accounts.account_table import build_account_table, table_filename
from app.accounts.provisioning import create_admin, sync_roles
from app.extensions import db
from app.orgs.models import Org


def _fail(message):
    raise click.ClickException(message)


def _on_account(username, operation):
    """Run ``operation(session, user)`` on account USERNAME and commit; refusals end the
    command with their message."""
    try:
        result = operation(db.session, commands.find_user(db.session, username))
    except commands.AccountError as error:
        db.session.rollback()
        _fail("；".join(error.messages))
    db.session.commit()
    return result


def register(group):
    """Add this area's commands to the `flask pucha` group."""

    @group.command("account-table")
    @click.argument("org_code")
    @click.option("-o", "--output", "output", type=click.Path(dir_okay=False), default=None,
                  help="输出文件（默认 <单位代码>-下级单位账号表.xlsx）")
    def account_table(org_code, output):
        """生成单位 ORG_CODE 的下级单位账号表（xlsx）：初始密码在修改前显示，修改后显示“已修改”。"""
        org = db.session.execute(select(Org).where(Org.code == org_code)).scalars().first()
        if org is None:
            _fail(f"单位代码 {org_code} 不存在")
        path = Path(output or table_filename(org))
        path.write_bytes(build_account_table(db.session, org))
        audit.record(db.session, "download", "account_table", org.code,
                     detail={"by": "cli", "file": str(path)})
        db.session.commit()
        click.echo(f"已写出 {org.name}（{org.code}）的下级单位账号表：{path}")

    @group.command("reset-password")
    @click.argument("username")
    @click.option("--reason", default=None, help="重置原因（写入审计记录）")
    def reset_password_cmd(username, reason):
        """将账号 USERNAME 重置为新的初始密码并显示；该账号下次登录须修改密码。"""
        password = _on_account(username, lambda session, user: commands.reset_password(
            session, None, user, reason=reason))
        click.echo(f"账号 {username} 的新初始密码：{password}（登录后须修改）")

    @group.command("unlock")
    @click.argument("username")
    @click.option("--reason", default=None, help="解锁原因（写入审计记录）")
    def unlock_cmd(username, reason):
        """解除账号 USERNAME 因多次登录失败而设的锁定（各地址及全账号），密码不变。"""
        lifted = _on_account(username, lambda session, user: commands.unlock_account(
            session, None, user, reason=reason))
        addresses = "、".join(lifted["addresses"]) or "无"
        account = lifted["account"] or "无"
        click.echo(f"账号 {username} 已解锁（原锁定地址：{addresses}；全账号锁定：{account}），密码不变。")

    @group.command("sync-perms")
    def sync_perms():
        """创建角色并同步全部视图权限（安装或升级后运行一次）。"""
        admin_role, org_role = sync_roles()
        db.session.commit()
        click.echo(f"权限已同步：{admin_role.name} {len(admin_role.permissions)} 项，"
                   f"{org_role.name} {len(org_role.permissions)} 项。")

    @group.command("create-admin")
    @click.argument("username")
    @click.option("--email", default=None, help="管理员邮箱（可选）")
    def create_admin_cmd(username, email):
        """新建系统管理员账号 USERNAME，生成初始密码（首次登录须修改）。"""
        try:
            _, password = create_admin(db.session, username, email=email)
        except (ValueError, RuntimeError) as error:
            db.session.rollback()
            _fail(str(error))
        db.session.commit()
        click.echo(f"管理员 {username} 已创建，初始密码：{password}（首次登录须修改）")
