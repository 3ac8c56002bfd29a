"""`flask alerts ...`: run pending alert checks, list the e-mail outbox."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core.timeutil import format_local
from . import services

alerts_cli = AppGroup("alerts", help="订阅提醒 (saved-search alerts)")


@alerts_cli.command("run")
def run_command() -> None:
    """Check newly published listings against the saved searches (safe to repeat)."""
    from .. import search

    search.catch_up()
    created = services.run_pending()
    left = services.pending_count()
    click.echo(f"新建通知 {created} 条；待处理检查 {left} 条。")


@alerts_cli.command("outbox")
@click.option("--limit", default=50, show_default=True)
def outbox_command(limit: int) -> None:
    """List the newest rows of the e-mail outbox (MAIL_SERVER unset: nothing is sent)."""
    rows = services.outbox(limit)
    if not rows:
        click.echo("邮件发件箱为空。")
    for row in rows:
        state = f"已发送 {format_local(row.sent_at)}" if row.sent_at else "未发送"
        click.echo(f"#{row.id} {format_local(row.created_at)} → {row.to_address} [{state}] {row.subject}")
