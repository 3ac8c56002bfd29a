"""`flask listings ...`"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from ..accounts.services import find_org
from ..core.errors import ServiceError
from ..extensions import db
from . import importer, services

listings_cli = AppGroup("listings", help="科技成果与技术需求 (listings)")


@listings_cli.command("expire")
def expire() -> None:
    """Mark published demands past their date as expired."""
    count = services.expire_due_demands()
    db.session.commit()
    click.echo(f"expired {count} demand(s)")


@listings_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--org", "org_name", required=True, help="导入到哪个机构（机构全称）")
@click.option(
    "--kind",
    type=click.Choice(importer.KINDS),
    default=None,
    help="achievement（科技成果）或 demand（技术需求）；不指定时按文件的列名判断，默认 achievement",
)
@click.option("--publish", is_flag=True, help="导入后直接发布（机构须已认证；审计记为系统审核通过）")
@click.option("--dry-run", is_flag=True, help="只检查每一行，不写入任何数据")
@click.option("--batch-size", default=importer.DEFAULT_BATCH_SIZE, show_default=True, hidden=True)
def import_listings(file: Path, org_name: str, kind: str | None, publish: bool, dry_run: bool, batch_size: int) -> None:
    """Import achievements or demands from FILE (.xlsx, .csv or .jsonl) as drafts of an organisation.

    Rows are created by the organisation's first active manager (else its first active
    university/enterprise member, else the first active admin). Rejected rows are listed with
    their line, column and reason; the exit code is 0 even then, and non-zero only when the file
    cannot be read or the import is refused before anything is written."""
    org = find_org(org_name)
    if org is None:
        raise click.ClickException(f"找不到机构“{org_name}”，请使用机构全称（flask orgs list 可查看）")
    try:
        if publish:
            importer.check_publishable_org(org)
        actor = importer.acting_user(org)
        parsed = importer.read_file(file.read_bytes(), file.name, kind)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from exc
    click.echo(
        f"导入{importer.KIND_LABELS[parsed.kind]}到“{org.name}”，导入人：{actor.name} <{actor.email}>"
        f"（{actor.role_label}）{'，仅检查不写入' if dry_run else ''}",
        err=True,
    )
    with click.progressbar(
        length=len(parsed.rows), label="导入中", file=sys.stderr, show_pos=True, show_percent=True
    ) as bar:
        try:
            result = importer.import_rows(
                parsed, org, actor, dry_run=dry_run, publish=publish, batch_size=batch_size, progress=bar.update
            )
        except ServiceError as exc:
            raise click.ClickException(exc.message) from exc
    _print_result(result)


def _print_result(result: importer.ImportResult) -> None:
    for warning in result.warnings:
        click.echo(f"注意：{warning}")
    for row in result.rejected_rows:
        for error in row.errors:
            click.echo(f"第{row.line}行 [{error.column}] {error.reason}")
    click.echo(result.summary() + f"，用时 {result.seconds:.1f} 秒")
