"""`flask backup create DIR` / `flask backup restore DIR [--force]`."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import click
from flask.cli import AppGroup

from . import services
from .services import KEY_TABLES, BackupError

backup_cli = AppGroup("backup", help="备份与恢复：数据库、附件与清单 (backup and restore)")


@backup_cli.command("create")
@click.argument("directory", type=click.Path(file_okay=True, dir_okay=True, path_type=Path))
def create_command(directory: Path) -> None:
    """Back up the database and the uploaded files into DIRECTORY (new or empty); safe while
    the app runs."""
    try:
        created = services.create_backup(directory)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = created.manifest
    database, uploads = manifest["database"], manifest["uploads"]
    click.echo(
        f"备份完成：{created.path}\n"
        f"  数据库 {services.KIND_LABELS[database['kind']]}（迁移版本 {database['alembic_revision']}），"
        f"{database['file']} {services.human_bytes(database['bytes'])}，sha256 {database['sha256'][:16]}…\n"
        f"  附件 {uploads['files']} 个，{services.human_bytes(uploads['bytes'])}"
    )
    click.echo("  " + "，".join(f"{label} {manifest['row_counts'][key]}" for key, (_t, label) in KEY_TABLES.items()))


@backup_cli.command("restore")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="覆盖已有数据的目标数据库")
def restore_command(directory: Path, force: bool) -> None:
    """Restore a backup into this app's database and UPLOAD_DIR, migrate it to the current schema
    and rebuild the search index. Stop the app's workers first. Exit code 1 when refused or when
    the restored row counts differ from the backup's."""
    try:
        restored = services.restore_backup(directory, force=force)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    manifest = restored.manifest
    click.echo(
        f"已恢复 {manifest['created_at']} 的备份（迁移版本 {manifest['database']['alembic_revision']}"
        f" → {restored.revision}），附件 {manifest['uploads']['files']} 个，"
        f"搜索索引已重建（{restored.documents} 条文档）。"
    )
    click.echo(f"  {_pad('表', 10)}{_pad('备份', 10, right=True)}{_pad('恢复后', 10, right=True)}")
    for key, (_table, label) in KEY_TABLES.items():
        expected, got = manifest["row_counts"].get(key), restored.counts.get(key)
        mark = "" if expected == got else "  ≠ 不一致"
        click.echo(f"  {_pad(label, 10)}{expected!s:>10}{got!s:>10}{mark}")
    if restored.mismatches:
        click.echo("行数与备份清单不一致，请检查迁移日志。", err=True)
        sys.exit(1)


def _pad(value: str, width: int, right: bool = False) -> str:
    """Pad to a terminal width where a Chinese character takes two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in value)
    fill = " " * max(0, width - used)
    return fill + value if right else value + fill
