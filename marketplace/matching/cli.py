"""`flask matching ...`: precomputed recommendations for the brokers' board."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from . import precompute

matching_cli = AppGroup("matching", help="撮合推荐预计算 (precomputed matches for the brokers' board)")


@matching_cli.command("refresh")
@click.option("--all", "everything", is_flag=True, help="forget every cached list and recompute all")
@click.option("--limit", type=int, default=None, help="compute at most N listings")
@click.option("--if-needed", is_flag=True, help="only when listings wait (first start: quick no-op otherwise)")
def refresh_command(everything: bool, limit: int | None, if_needed: bool) -> None:
    """Recompute the stale and missing recommendation lists (achievements first, then demands)."""
    if everything:
        precompute.clear()
    waiting = precompute.pending()
    if if_needed and not any(waiting.values()):
        click.echo("撮合推荐已是最新，无需计算。")
        return
    click.echo(f"待计算：科技成果 {waiting['achievement']} 条，技术需求 {waiting['demand']} 条", err=True)
    result = precompute.refresh(limit=limit, lock_wait=None, index_wait=None)
    rate = result.computed / result.seconds if result.seconds else 0.0
    click.echo(
        f"撮合推荐已更新：计算 {result.computed} 条（{rate:.1f} 条/秒，用时 {result.seconds:.1f} 秒），"
        f"移除 {result.removed} 条，新成果影响的需求 {result.propagated} 条"
        + (f"，登记已有成果 {result.seeded} 条" if result.seeded else "")
        + "。"
    )
    if result.index_behind:
        click.echo("注意：全文索引尚未追上数据库，请先运行 flask search worker --once 或 flask search reindex。")
    left = precompute.pending()
    if any(left.values()):
        click.echo(f"仍待计算：科技成果 {left['achievement']} 条，技术需求 {left['demand']} 条")


@matching_cli.command("stats")
def stats_command() -> None:
    """How many lists wait for a refresh."""
    waiting = precompute.pending()
    click.echo(f"待计算：科技成果 {waiting['achievement']} 条，技术需求 {waiting['demand']} 条")
