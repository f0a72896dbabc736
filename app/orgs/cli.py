"""`flask pucha` commands of app.orgs."""
import sys
import time

import click
from sqlalchemy import func, select

from app.extensions import db
from app.orgs.importer import OrgImportError, import_orgs, load_default_tree
from app.orgs.models import Org


def register(group):
    """Add this area's commands to the `flask pucha` group."""

    @group.command("import-orgs")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False))
    def import_orgs_command(file):
        """从 CSV（UTF-8 或 GBK）或 Excel（.xlsx）文件导入组织机构：新增或修改单位。

        列：代码,名称,级别,类型,上级代码（或 code,name,level,kind,parent_code）。
        任何一行有错误时整个文件都不导入，并逐行列出错误。
        """
        try:
            report = import_orgs(db.session, file)
        except OrgImportError as exc:
            db.session.rollback()
            click.echo(exc.message(), err=True)
            sys.exit(1)
        db.session.commit()
        click.echo(f"组织机构导入完成：{report.summary()}")

    @group.command("load-orgs")
    @click.option("--refresh", is_flag=True,
                  help="同时把已有单位的名称和上级恢复为内置数据（默认只补充缺少的单位）")
    def load_orgs_command(refresh):
        """载入内置的全国组织机构树（可重复运行）。"""
        started = time.perf_counter()
        try:
            added = load_default_tree(db.session, refresh=refresh)
        except OrgImportError as exc:
            db.session.rollback()
            click.echo(exc.message(), err=True)
            sys.exit(1)
        db.session.commit()
        total = db.session.scalar(select(func.count(Org.id)))
        click.echo(f"组织机构：共 {total} 个，本次新增 {added} 个"
                   f"（用时 {time.perf_counter() - started:.2f} 秒）。")
