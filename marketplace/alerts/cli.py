"""`flask alerts ...`: run pending alert checks, send and list the e-mail outbox."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core.timeutil import format_local
from . import mail, services

alerts_cli = AppGroup("alerts", help="订阅提醒 (saved-search alerts)")


@alerts_cli.command("run")
def run_command() -> None:
    """Check newly published listings against the saved searches (safe to repeat)."""
    from .. import search

    search.catch_up()
    created = services.run_pending()
    left = services.pending_count()
    click.echo(f"新建通知 {created} 条；待处理检查 {left} 条。")
    if mail.configured():
        click.echo(mail.send_pending().describe())


@alerts_cli.command("send")
@click.option("--limit", default=100, show_default=True, help="本次最多发送的邮件数")
def send_command(limit: int) -> None:
    """Send unsent mail from the e-mail outbox through MAIL_SERVER (safe to run from several
    workers at once on PostgreSQL)."""
    report = mail.send_pending(limit)
    click.echo(report.describe())
    click.echo(f"待发送 {mail.pending_count()} 封。")
    if not report.configured or report.stopped:
        raise SystemExit(1)


@alerts_cli.command("outbox")
@click.option("--limit", default=50, show_default=True)
def outbox_command(limit: int) -> None:
    """List the newest rows of the e-mail outbox (MAIL_SERVER unset: nothing is sent)."""
    rows = services.outbox(limit)
    if not rows:
        click.echo("邮件发件箱为空。")
    for row in rows:
        if row.sent_at:
            state = f"已发送 {format_local(row.sent_at)}"
        elif row.attempts:
            state = f"发送失败 {row.attempts} 次：{row.last_error}"
        else:
            state = "未发送"
        click.echo(f"#{row.id} {format_local(row.created_at)} → {row.to_address} [{state}] {row.subject}")
