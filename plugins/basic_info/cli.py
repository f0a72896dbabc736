"""`flask pucha import-package` and `flask pucha basic-info-transition`: the same commands the web
view calls, acting as an organising unit's account (username = org code)."""
import sys
from pathlib import Path
from types import SimpleNamespace

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from app.accounts.models import PuchaUser
from app.errors import DomainError
from app.extensions import db
from app.orgs.models import Org
from plugins.basic_info.commands import (import_packages, omitted_note, purge_refused_packages,
                                         transition, transition_all, warnings_omitted_note)
from plugins.basic_info.identity import fill_site_keys
from plugins.basic_info.models import WORKFLOW


def _actor_for(session, org_code):
    """The unit's preset account (username = org code); the CLI acts exactly as that account."""
    org = session.scalars(select(Org).where(Org.code == org_code)).first()
    if org is None:
        raise click.ClickException(f"未找到组织单位：{org_code}")
    user = session.scalars(select(PuchaUser).where(PuchaUser.username == org_code)).first()
    if user is None or user.org_id != org.id:
        user = session.scalars(select(PuchaUser).where(PuchaUser.org_id == org.id)
                               .order_by(PuchaUser.id)).first()
    if user is None:
        # A unit without an account still acts as itself; the audit trail names the CLI.
        user = SimpleNamespace(id=None, username=f"cli:{org_code}", org=org, org_id=org.id)
    return user


def print_report(report, echo=click.echo):
    """The per-form import report, in Chinese."""
    for package in report.packages:
        echo(f"上报文件：{package.filename}（存档编号 {package.package_id}）")
        if package.error:
            echo(f"  整个文件被拒绝：{package.error}")
            continue
        for index, form in enumerate(package.forms, start=1):
            title = form.title or "（未填写网站名称）"
            echo(f"  {index}. {title} [{form.uuid}] {form.outcome_label}"
                 + (f"，表单编号 {form.form_id}" if form.form_id else ""))
            for error in form.errors:
                echo(f"       - {error['message']}")
            if form.errors_omitted:
                echo(f"       - {omitted_note(form.errors_omitted)}")
            for warning in form.warnings:
                echo(f"       ! 提醒：{warning['message']}")
            if form.warnings_omitted:
                echo(f"       ! {warnings_omitted_note(form.warnings_omitted)}")
        echo(f"  小计：新导入 {package.imported} 份，覆盖更新 {package.updated} 份，"
             f"拒绝 {package.refused} 份")
    echo(f"合计：{report.summary()}")


@click.command("import-package")
@click.argument("org_code")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@with_appcontext
def import_package_command(org_code, files):
    """以组织单位 ORG_CODE 的身份导入基本信息表上报文件（可一次导入多个）。"""
    actor = _actor_for(db.session, org_code)
    uploads = [(Path(f).name, Path(f).read_bytes()) for f in files]
    try:
        report = import_packages(db.session, actor, uploads)
    except DomainError as exc:
        raise click.ClickException(str(exc))
    print_report(report)
    if not report.ok:
        sys.exit(1)


@click.command("basic-info-transition")
@click.argument("org_code")
@click.argument("action", type=click.Choice(["submit", "approve", "return"]))
@click.option("--all", "all_forms", is_flag=True, help="全部提交 / 全部审核（本单位可处理的全部表单）")
@click.option("--id", "ids", type=int, multiple=True, help="表单编号，可重复")
@click.option("--reason", default=None, help="退回原因（退回时必填）")
@with_appcontext
def transition_command(org_code, action, all_forms, ids, reason):
    """以组织单位 ORG_CODE 的身份对基本信息表执行 提交(submit) / 审核通过(approve) / 退回(return)。"""
    if all_forms == bool(ids):
        raise click.UsageError("请指定 --all 或至少一个 --id（二者选一）")
    actor = _actor_for(db.session, org_code)
    label = WORKFLOW.transition(action).label
    try:
        if all_forms:
            result = transition_all(db.session, actor, action)
        else:
            result = transition(db.session, actor, action, list(ids), reason=reason)
    except DomainError as exc:
        raise click.ClickException(str(exc))
    click.echo(f"{label}：已处理 {result.count} 份表单")
    for form_id, why in sorted(result.skipped.items()):
        click.echo(f"  跳过 {form_id}：{why}")


@click.command("purge-packages")
@click.option("--days", type=int, default=None,
              help="保存天数（默认取 PUCHA_REFUSED_PACKAGE_DAYS）")
@click.option("--dry-run", is_flag=True, help="只列出将被清理的文件，不删除")
@with_appcontext
def purge_packages_command(days, dry_run):
    """清理过期的、未导入任何表单的上报文件（导入过表单的上报文件永不清理）。"""
    days = current_app.config["REFUSED_PACKAGE_RETENTION_DAYS"] if days is None else days
    if days < 1:
        raise click.UsageError("保存天数至少为 1 天")
    purged = purge_refused_packages(db.session, days, dry_run=dry_run)
    for item in purged:
        click.echo(f"  {item['uploaded_at']} {item['filename']}（存档编号 {item['id']}，"
                   f"{item['size']:,} 字节）")
    total = sum(item["size"] for item in purged)
    verb = "将清理" if dry_run else "已清理"
    click.echo(f"{verb}保存超过 {days} 天、未导入任何表单的上报文件 {len(purged)} 个，共 {total:,} 字节")


@click.command("basic-info-site-keys")
@with_appcontext
def site_keys_command():
    """为升级前导入的基本信息表补写网站标识（规范化的首页网址），用于重复网站检查（可重复运行）。"""
    filled, coded_twice = fill_site_keys(db.session)
    click.echo(f"已补写网站标识 {filled} 份表单。")
    if coded_twice:
        click.echo(f"注意：有 {coded_twice} 个网站已有不止一个网站标识码，"
                   "请在“重复网站”页面查看并由组织单位处理。")


def register(group):
    group.add_command(site_keys_command)
    group.add_command(purge_packages_command)
    group.add_command(import_package_command)
    group.add_command(transition_command)
