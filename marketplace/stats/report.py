"""The Excel report (openpyxl), laid out like a government statistical table: a title, the
period and 口径, the unit (万元), two header rows, subtotals and a total row; a sheet per
breakdown plus the contract list.

Amount cells hold the exact figure in 万元 (yuan / 10000, to the fen: six decimals) and are
*displayed* with two decimals, rounded half up — so the numbers equal the dashboard to the fen,
and a formula over the cells sums exact values."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from ..core.timeutil import format_local, local_today, utcnow
from . import dashboard, query
from .query import DIRECTIONS, GROUPS, Filters, Row, Totals
from .taxonomy import CONTRACT_GROUP_LABELS, contract_group_members

WAN = Decimal(10000)
ROUNDING_NOTE = (
    "注：金额按元精确汇总后折算为万元；表中显示保留两位小数（四舍五入），单元格内为精确值，"
    "故合计与分项显示值之和可能相差 0.01。"
)
MAX_LIST_ROWS = 20000

THIN = Side(style="thin", color="808080")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
HEAD_FILL = PatternFill("solid", fgColor="DCE6F1")
TOTAL_FILL = PatternFill("solid", fgColor="F2F2F2")
SUBTOTAL_FILL = PatternFill("solid", fgColor="F7F9FC")
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
AMOUNT_FORMAT = "#,##0.00"


def to_wan(amount: Decimal) -> Decimal:
    """Exact 万元 (six decimals = to the fen)."""
    return (Decimal(amount) / WAN).quantize(Decimal("0.000001"))


def wan_text(amount: Any) -> str:
    if amount is None:
        return "—"
    return f"{(Decimal(amount) / WAN).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


def city_name() -> str:
    return str(current_app.config.get("STATS_CITY_NAME", "日照市"))


def scope_text(filters: Filters) -> str:
    taxonomy = current_app.extensions["taxonomy"]
    parts = [DIRECTIONS[filters.direction]]
    if filters.district:
        parts.append(taxonomy.district_name(filters.district))
    if filters.field:
        parts.append(taxonomy.field_path(filters.field))
    if filters.contract_type:
        parts.append(
            CONTRACT_GROUP_LABELS.get(filters.contract_type) or query.label_of("contract_type", filters.contract_type)
        )
    return "，".join(parts)


def file_name(filters: Filters) -> str:
    return f"技术合同成交额统计_{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.xlsx"


def _period_line(filters: Filters) -> str:
    as_of = (filters.as_of or local_today()).isoformat()
    return (
        f"统计期间：{filters.start.isoformat()} 至 {filters.end.isoformat()}　"
        f"口径：{scope_text(filters)}　数据截至：{as_of}　单位：万元"
    )


def _sheet_head(ws, title: str, filters: Filters, header: list[tuple[str, list[str]]]) -> int:
    """Title, period line and two header rows; returns the first data row."""
    width = sum(max(1, len(subs)) for _, subs in header)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=width)
    ws.cell(1, 1, title).font = Font(size=15, bold=True)
    ws.cell(1, 1).alignment = CENTER
    ws.row_dimensions[1].height = 30
    ws.merge_cells(start_row=2, start_column=1, end_row=2, end_column=width)
    ws.cell(2, 1, _period_line(filters)).alignment = Alignment(horizontal="left")
    column = 1
    for label, subs in header:
        if subs:
            ws.merge_cells(start_row=3, start_column=column, end_row=3, end_column=column + len(subs) - 1)
            ws.cell(3, column, label)
            for offset, sub in enumerate(subs):
                ws.cell(4, column + offset, sub)
            column += len(subs)
        else:
            ws.merge_cells(start_row=3, start_column=column, end_row=4, end_column=column)
            ws.cell(3, column, label)
            column += 1
    for row in (3, 4):
        for col in range(1, width + 1):
            cell = ws.cell(row, col)
            cell.font = Font(bold=True)
            cell.fill = HEAD_FILL
            cell.alignment = CENTER
            cell.border = BORDER
    return 5


TABLE_HEADER = [
    ("序号", []),
    ("项目", []),
    ("合同", ["项数", "占比（%）"]),
    ("合同成交额", ["金额", "占比（%）"]),
    ("技术交易额", ["金额", "占比（%）"]),
    ("平均每项成交额", []),
]


def _share(part: Decimal | int, whole: Decimal | int) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _write_row(ws, row: int, number: Any, label: str, totals: Totals, whole: Totals, style: str = "") -> None:
    values = [
        number,
        label,
        totals.count,
        _share(totals.count, whole.count),
        to_wan(totals.contract_amount),
        _share(totals.contract_amount, whole.contract_amount),
        to_wan(totals.tech_amount),
        _share(totals.tech_amount, whole.tech_amount),
        to_wan(totals.average),
    ]
    for col, value in enumerate(values, start=1):
        cell = ws.cell(row, col, value)
        cell.border = BORDER
        if col in (5, 7, 9):
            cell.number_format = AMOUNT_FORMAT
        elif col in (4, 6, 8):
            cell.number_format = "0.00"
        if style == "total":
            cell.font = Font(bold=True)
            cell.fill = TOTAL_FILL
        elif style == "subtotal":
            cell.font = Font(bold=True)
            cell.fill = SUBTOTAL_FILL
    if style == "detail":
        ws.cell(row, 2).alignment = Alignment(indent=2)


def _finish(ws, row: int, widths: list[int]) -> None:
    ws.cell(row + 1, 1, ROUNDING_NOTE).font = Font(size=9, color="555555")
    ws.cell(
        row + 2, 1, f"制表：{city_name()}科学技术局（科技淘宝平台自动生成）　制表时间：{format_local(utcnow())}"
    ).font = Font(size=9, color="555555")
    for index, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "C5"


def breakdown_sheet(wb: Workbook, filters: Filters, group: str, rows: list[Row], total: Totals) -> None:
    ws = wb.create_sheet(f"按{GROUPS[group]}")
    title = f"{city_name()}技术合同成交额统计表（按{GROUPS[group]}）"
    row = _sheet_head(ws, title, filters, TABLE_HEADER)
    _write_row(ws, row, "", "合计", total, total, "total")
    row += 1
    for number, item in enumerate(rows, start=1):
        _write_row(ws, row, number, item.label, item.totals, total)
        row += 1
    _finish(ws, row, [6, 34, 10, 10, 16, 10, 16, 10, 16])


def contract_type_sheet(wb: Workbook, filters: Filters, rows: list[Row], total: Totals) -> None:
    """大类 with a subtotal row each, the types under it."""
    ws = wb.create_sheet("按合同类型")
    title = f"{city_name()}技术合同成交额统计表（按合同类型）"
    row = _sheet_head(ws, title, filters, TABLE_HEADER)
    _write_row(ws, row, "", "合计", total, total, "total")
    row += 1
    by_type = {r.key: r for r in rows}
    numerals = "一二三四五六七八九十"
    for index, (group, label) in enumerate(CONTRACT_GROUP_LABELS.items()):
        members = [by_type.pop(code) for code in contract_group_members(group) if code in by_type]
        subtotal = sum((m.totals for m in members), Totals())
        _write_row(ws, row, numerals[index], f"{label}小计", subtotal, total, "subtotal")
        row += 1
        for member in members:
            _write_row(ws, row, "", member.label, member.totals, total, "detail")
            row += 1
    for other in by_type.values():  # codes outside the taxonomy, kept so the total adds up
        _write_row(ws, row, "", other.label, other.totals, total)
        row += 1
    _finish(ws, row, [6, 34, 10, 10, 16, 10, 16, 10, 16])


def summary_sheet(wb: Workbook, filters: Filters, cards: list[dashboard.Kpi]) -> None:
    ws = wb.active
    ws.title = "总表"
    header = [
        ("序号", []),
        ("指标", []),
        ("本期", ["项数", "成交额", "技术交易额", "平均每项"]),
        ("上年同期", ["项数", "成交额"]),
        ("同比增长（%）", []),
        ("上期", ["成交额"]),
        ("环比增长（%）", []),
    ]
    row = _sheet_head(ws, f"{city_name()}技术合同成交额统计总表", filters, header)
    for number, card in enumerate(cards, start=1):
        values = [
            number,
            card.label,
            card.totals.count,
            to_wan(card.totals.contract_amount),
            to_wan(card.totals.tech_amount),
            to_wan(card.totals.average),
            card.previous_year.count,
            to_wan(card.previous_year.contract_amount),
            card.yoy,
            to_wan(card.previous_period.contract_amount),
            card.pop,
        ]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row, col, value)
            cell.border = BORDER
            if col in (4, 5, 6, 8, 10):
                cell.number_format = AMOUNT_FORMAT
        row += 1
    ws.cell(
        row + 1, 1, "说明：技术输出按卖方所在地、技术吸纳按买方所在地统计；涉外指港澳台及境外，已含在输出、吸纳合计中。"
    )
    ws.cell(row + 1, 1).font = Font(size=9, color="555555")
    _finish(ws, row + 1, [6, 34, 9, 16, 16, 14, 9, 16, 12, 16, 12])


def list_sheet(wb: Workbook, filters: Filters) -> None:
    ws = wb.create_sheet("合同明细")
    header = [
        ("序号", []),
        ("合同登记号", []),
        ("项目名称", []),
        ("登记日期", []),
        ("合同类型", []),
        ("卖方", []),
        ("买方", []),
        ("技术领域", []),
        ("成交额", []),
        ("技术交易额", []),
    ]
    row = _sheet_head(ws, f"{city_name()}技术合同登记明细", filters, header)
    for count, item in enumerate(query.iter_contracts(filters), start=1):
        if count > MAX_LIST_ROWS:
            ws.cell(row, 1, f"（仅列前 {MAX_LIST_ROWS} 项，完整清单请在统计页面导出 CSV）")
            row += 1
            break
        values = [
            count,
            item["registration_number"],
            item["project_name"],
            format_local(item["registered_at"], "%Y-%m-%d"),
            item["contract_type_label"],
            item["seller_name"],
            item["buyer_name"],
            item["field_label"],
            to_wan(item["amount"]),
            to_wan(item["technology_amount"]),
        ]
        for col, value in enumerate(values, start=1):
            cell = ws.cell(row, col, value)
            if col in (9, 10):
                cell.number_format = AMOUNT_FORMAT
        row += 1
    for index, width in enumerate([6, 20, 36, 12, 16, 28, 28, 22, 14, 14], start=1):
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.freeze_panes = "C5"


def build_workbook(filters: Filters) -> Workbook:
    filters = filters.with_(by=None, key=None, q="")
    wb = Workbook()
    summary_sheet(wb, filters, dashboard.kpis(filters))
    total = query.figures(filters)
    breakdown_sheet(wb, filters, "month", query.breakdown(filters, "month"), total)
    for group in dashboard.BREAKDOWNS:
        if group == "contract_group":
            continue
        rows = query.breakdown(filters, group)
        if group == "contract_type":
            contract_type_sheet(wb, filters, rows, total)
        else:
            breakdown_sheet(wb, filters, group, rows, total)
    list_sheet(wb, filters)
    wb.properties.title = f"{city_name()}技术合同成交额统计"
    wb.properties.creator = "科技淘宝"
    return wb
