"""`flask pucha` commands of app.mail: the outbox worker."""
import logging
import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import db
from app.mail.worker import outbox_counts, send_due

log = logging.getLogger(__name__)


def _summary(sent, failed, counts):
    waiting = counts.get("queued", 0) + counts.get("sending", 0)
    return (f"邮件发送：本轮成功 {sent} 封，失败 {failed} 封；"
            f"发件箱中待发送 {waiting} 封，已放弃 {counts.get('failed', 0)} 封。")


@click.command("send-mail")
@click.option("--once", is_flag=True, help="只发送一轮后退出（适合由定时任务调用）")
@click.option("--interval", default=10.0, show_default=True, type=float,
              help="两轮之间等待的秒数")
@click.option("--limit", default=100, show_default=True, type=int, help="每轮最多发送的邮件数")
@with_appcontext
def send_mail(once, interval, limit):
    """发送发件箱中到期的邮件；默认持续运行，Ctrl-C 或 SIGTERM 停止。"""
    app = current_app._get_current_object()
    if once:
        sent, failed = send_due(app, limit=limit)
        click.echo(_summary(sent, failed, outbox_counts(db.session)))
        return

    stop = threading.Event()

    def _on_term(signum, frame):
        # Finish the message in hand, then leave: a row half-sent is only retried after its lease.
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_term)
    click.echo(f"邮件发送进程已启动，每 {interval:g} 秒检查一次发件箱；按 Ctrl-C 停止。")
    try:
        while not stop.is_set():
            try:
                sent, failed = send_due(app, limit=limit)
            except Exception:  # noqa: BLE001 - a database hiccup must not end the worker
                log.exception("mail pass failed")
                db.session.rollback()
                sent = failed = 0
            if sent or failed:
                click.echo(_summary(sent, failed, outbox_counts(db.session)))
                db.session.rollback()
            # A full pass means more is probably due: go again at once.
            if sent + failed < limit:
                stop.wait(interval)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
    click.echo("邮件发送进程已停止。")


def register(group):
    """Add this area's commands to the `flask pucha` group."""
    group.add_command(send_mail)
