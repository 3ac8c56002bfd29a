"""`flask stats ...`: the Excel report, the figures in the terminal, and demo contracts."""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from ..core.errors import ValidationFailed
from . import query, report
from .params import parse_filters

stats_cli = AppGroup("stats", help="技术合同成交额统计 (turnover statistics)")


def _filters(year: int, period: str, district: str | None, direction: str, as_of: str | None) -> query.Filters:
    args = {"year": str(year), "period": period, "district": district or "", "direction": direction}
    if as_of:
        args["as_of"] = as_of
    try:
        return parse_filters(args)
    except ValidationFailed as exc:
        raise click.UsageError("；".join(exc.fields.values())) from exc


@stats_cli.command("report")
@click.option("--year", type=int, required=True, help="统计年度，如 2025")
@click.option("--period", default="", help="q1–q4 或 m1–m12；默认全年")
@click.option("--district", default=None, help="区县行政区划代码，如 371102；默认全市")
@click.option("--direction", default="output", show_default=True, help="output|input|foreign_output|foreign_input")
@click.option("--as-of", default=None, help="数据截至日 YYYY-MM-DD（变更、注销按该日状态）；默认当前")
@click.option("--out", "out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="输出文件 .xlsx")
def report_command(year: int, period: str, district: str | None, direction: str, as_of: str | None, out: Path) -> None:
    """Write the Excel report (the same figures as the dashboard)."""
    filters = _filters(year, period, district, direction, as_of)
    report.build_workbook(filters).save(out)
    total = query.figures(filters)
    click.echo(
        f"已生成 {out}：{filters.start} 至 {filters.end}，{report.scope_text(filters)}，"
        f"{total.count} 项，成交额 {total.contract_amount:.2f} 元，技术交易额 {total.tech_amount:.2f} 元。"
    )


@stats_cli.command("show")
@click.option("--year", type=int, required=True)
@click.option("--period", default="")
@click.option("--district", default=None)
@click.option("--direction", default="output", show_default=True)
@click.option("--group-by", "group", default="district", show_default=True)
def show_command(year: int, period: str, district: str | None, direction: str, group: str) -> None:
    """Print a breakdown in the terminal (元, exact)."""
    filters = _filters(year, period, district, direction, None)
    if group not in query.GROUPS:
        raise click.UsageError("分组须为 " + "、".join(query.GROUPS))
    for row in query.breakdown(filters, group):
        click.echo(f"{row.label:<24}\t{row.totals.count:>8} 项\t{row.totals.contract_amount:>20,.2f} 元")
    total = query.figures(filters)
    click.echo(f"{'合计':<24}\t{total.count:>8} 项\t{total.contract_amount:>20,.2f} 元")


@stats_cli.command("demo")
@click.option("--count", type=int, default=3000, show_default=True, help="contracts to create")
def demo_command(count: int) -> None:
    """Add demo registered contracts over several years (for the dashboard's charts)."""
    from . import demo

    created = demo.load(count=count)
    click.echo(f"已生成演示技术合同 {created} 项。")
