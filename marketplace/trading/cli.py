"""`flask trading tick`: close due auctions and conclude listings whose disclosure period ended.
Safe to run from several processes or machines at once (each row is claimed by one of them)."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

from . import services

trading_cli = AppGroup("trading", help="挂牌与竞价：到期结束拍卖、公示期满处理挂牌")


@trading_cli.command("tick")
@click.option("--loop", type=float, default=0, help="每隔多少秒重复一次（0 为只运行一次）")
def tick(loop: float) -> None:
    """Close every auction past its end and conclude every listing past its disclosure period."""
    while True:
        done = services.tick()
        click.echo(f"已结束拍卖 {done['auctions']} 场，已处理公示期满挂牌 {done['listings']} 项")
        if not loop:
            return
        time.sleep(loop)
