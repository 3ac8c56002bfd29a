"""`flask search ...`: rebuild, check, stats, domain words, and the indexer loop."""

from __future__ import annotations

import json
import signal
import sys
import time

import click
from flask import current_app
from flask.cli import AppGroup

from . import search
from .extensions import db
from .matching import precompute

search_cli = AppGroup("search", help="全文检索索引 (search index)")

SHOW = 50  # keys listed per kind of drift


@search_cli.command("reindex")
@click.option("--if-needed", is_flag=True, help="only when the index is missing or empty (first start)")
@click.option("--procs", type=int, default=None, help="analysing processes (default: both cores for large builds)")
def reindex_command(if_needed: bool, procs: int | None) -> None:
    """Rebuild the index from the database; searches keep using the old one until the swap."""
    index = search.get_index()
    if if_needed and not search.needs_rebuild(index):
        caught = search.catch_up(index)
        click.echo(f"索引已存在，无需重建（补齐 {caught.applied} 条变更）。")
        return
    started = time.perf_counter()
    total = search.public_count()
    with click.progressbar(length=total, label="重建索引", file=sys.stderr, show_pos=True, show_percent=True) as bar:
        count = search.reindex(index, progress=bar.update, procs=procs)
    pruned = search.prune_outbox(index)
    click.echo(
        f"索引已重建：{count} 条文档，用时 {time.perf_counter() - started:.1f} 秒；"
        f"变更位置 {index.last_applied_id()}，清理过期变更记录 {pruned} 条。"
    )


@search_cli.command("check")
def check_command() -> None:
    """Compare the index with the database; exit code 1 when documents are missing, stale or extra."""
    drift = search.check()
    for label, keys in (("missing", drift.missing), ("stale", drift.stale), ("extra", drift.extra)):
        if keys:
            shown = " ".join(keys[:SHOW]) + (f" … (+{len(keys) - SHOW})" if len(keys) > SHOW else "")
            click.echo(f"{label} {len(keys)}: {shown}")
    if drift.pending:
        click.echo(f"({drift.pending} changing right now, not counted)")
    if not drift.clean:
        click.echo("索引与数据库不一致：运行 flask search reindex 重建。")
        sys.exit(1)
    click.echo("索引与数据库一致。")


@search_cli.command("stats")
@click.option("--json", "as_json", is_flag=True, help="machine-readable output")
def stats_command(as_json: bool) -> None:
    """The index's statistics and the outbox backlog."""
    index = search.get_index()
    data = {"index": index.stats(), "outbox": search.outbox_stats(index)}
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str, indent=2))
        return
    for section, values in data.items():
        click.echo(f"[{section}]")
        for key, value in values.items():
            click.echo(f"  {key}: {value}")
    if data["outbox"]["behind_retention"]:
        click.echo("注意：本索引落后于已清理的变更记录，请运行 flask search reindex。")


@search_cli.command("add-word")
@click.argument("words", nargs=-1, required=True)
def add_word_command(words: tuple[str, ...]) -> None:
    """Add domain terms (e.g. 氢冶金 软件定义卫星) that the segmenter keeps whole."""
    too_long = [w for w in words if len(w.strip()) > 50]
    if too_long:
        raise click.ClickException(f"词语不能超过50个字：{too_long[0]}")
    added = search.add_words(words)
    known = [w.strip() for w in words if w.strip() and w.strip() not in added]
    if added:
        click.echo(f"已添加：{' '.join(added)}")
    if known:
        click.echo(f"已存在：{' '.join(known)}")
    click.echo("请运行 flask search reindex 使已有文档按新词重新分词，并重启应用进程。")


@search_cli.command("worker")
@click.option("--interval", default=0.5, show_default=True, help="seconds between outbox polls")
@click.option("--once", is_flag=True, help="catch up completely, prune, and exit")
def worker_command(interval: float, once: bool) -> None:
    """Keep this node's index caught up with the outbox (for several app nodes), and the brokers'
    board's precomputed matches (`flask matching refresh`) fresh; stops on SIGTERM."""
    index = search.get_index()
    if search.needs_rebuild(index):
        click.echo("索引为空，先重建……", err=True)
        search.reindex(index)
    stopping = []

    def stop(signum, _frame):
        stopping.append(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    last_prune = 0.0
    # SQLite has one writer: a second process writing match lists makes the web requests' own
    # read-then-write transactions fail ("database is locked"). There, the refresh after each
    # request and on the board keep the lists fresh; PostgreSQL nodes refresh here too.
    matching = db.engine.dialect.name != "sqlite"
    try:
        while True:
            try:
                result = search.catch_up(index, wait=5.0)
                if result.applied:
                    click.echo(f"applied {result.applied} change(s), position {result.last_applied_id}", err=True)
                if matching:
                    matched = precompute.refresh(budget_s=None if once else 5.0, lock_wait=0.0, index_wait=5.0)
                    if matched.computed or matched.removed:
                        click.echo(f"matching: {matched.computed} list(s) recomputed", err=True)
                if time.monotonic() - last_prune > 3600:
                    pruned = search.prune_outbox(index)
                    last_prune = time.monotonic()
                    if pruned:
                        click.echo(f"pruned {pruned} old outbox row(s)", err=True)
            except Exception:  # a database restart must not end the worker
                current_app.logger.exception("search worker: catch-up failed")
            if once or stopping:
                break
            deadline = time.monotonic() + interval
            while not stopping and time.monotonic() < deadline:
                time.sleep(min(0.05, interval))
            if stopping:
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo("search worker stopped", err=True)
