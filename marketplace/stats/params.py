"""Query-string arguments -> Filters, with a Chinese reason per bad field (ValidationFailed, 422).

The same parser serves the dashboard, the register list, the exports and the API, so a bad
argument gets the same message everywhere and never a 500.

Periods: `from`/`to` (YYYY-MM-DD, inclusive, Asia/Shanghai) or `year` with an optional `period`
(q1..q4 or m1..m12); without either, the current year to date (the current year is always to
date: 1 January to today)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import current_app

from ..core.errors import ValidationFailed
from ..core.taxonomy import ContractType
from ..core.timeutil import local_today
from . import query
from .query import DIRECTIONS, GROUPS, MAX_PER_PAGE, SORTS, Filters
from .taxonomy import CONTRACT_GROUP_LABELS

EARLIEST = date(1985, 1, 1)  # the technology-contract registration system starts in 1985
MAX_DAYS = 366 * 50
PERIODS = {"": "全年", **{f"q{q}": f"第{q}季度" for q in range(1, 5)}, **{f"m{m}": f"{m}月" for m in range(1, 13)}}


def _text(args: Any, name: str, limit: int = 100) -> str:
    return str(args.get(name, "") or "").strip()[:limit]


def _date(raw: str, label: str, errors: dict[str, str], name: str) -> date | None:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{label}“{raw[:20]}”不是有效日期，格式应为 YYYY-MM-DD，如 2025-01-01"
        return None


def latest() -> date:
    return local_today() + timedelta(days=366)


def parse_period(args: Any, errors: dict[str, str]) -> tuple[date, date]:
    raw_from, raw_to = _text(args, "from"), _text(args, "to")
    if raw_from or raw_to:
        start = _date(raw_from, "起始日期", errors, "from") if raw_from else None
        end = _date(raw_to, "截止日期", errors, "to") if raw_to else None
        if raw_from and not raw_to and start:
            end = local_today()
        if raw_to and not raw_from and end:
            start = date(end.year, 1, 1)
        if start and end:
            if start > end:
                errors["from"] = "起始日期不能晚于截止日期"
            elif start < EARLIEST or end > latest():
                errors["from" if start < EARLIEST else "to"] = (
                    f"日期须在 {EARLIEST.isoformat()} 至 {latest().isoformat()} 之间"
                )
            elif (end - start).days > MAX_DAYS:
                errors["to"] = "统计区间不能超过 50 年"
            else:
                return start, end
        today = local_today()
        return date(today.year, 1, 1), today
    raw_year = _text(args, "year")
    today = local_today()
    year = today.year
    if raw_year:
        if not (raw_year.isascii() and raw_year.isdigit()) or not EARLIEST.year <= int(raw_year) <= latest().year:
            errors["year"] = f"年份须为 {EARLIEST.year}–{latest().year} 之间的四位数字"
        else:
            year = int(raw_year)
    period = _text(args, "period").lower()
    if period not in PERIODS:
        errors["period"] = "统计期间须为全年、q1–q4（季度）或 m1–m12（月份）"
        period = ""
    if period.startswith("q"):
        return query.quarter_period(year, int(period[1:]))
    if period.startswith("m"):
        return query.month_period(year, int(period[1:]))
    if year == today.year:  # the current year: to date, so 同比 compares like with like
        return date(year, 1, 1), today
    return query.year_period(year)


def parse_filters(args: Any, *, default_direction: str = "output") -> Filters:
    errors: dict[str, str] = {}
    start, end = parse_period(args, errors)
    taxonomy = current_app.extensions["taxonomy"]

    direction = _text(args, "direction") or default_direction
    if direction not in DIRECTIONS:
        errors["direction"] = "统计方向须为 " + "、".join(f"{k}（{v}）" for k, v in DIRECTIONS.items())

    district = _text(args, "district") or None
    if district:
        known = taxonomy.district(district)
        if known is None:
            errors["district"] = f"区县“{district}”不存在，请从列表中选择"
        elif not (
            district.isascii()
            and district.isdigit()
            and len(district) == 6
            and district.startswith(query.city_prefix())
        ):
            errors["district"] = f"“{known.name}”不是本市的行政区划（合同按 6 位行政区划代码统计），请选择区县"

    field = _text(args, "field") or None
    if field:
        found = taxonomy.field(field)
        if found is None or not found.is_top:
            errors["field"] = f"技术领域“{field}”不存在，请填写 01–11 的一级领域代码"

    contract_type = _text(args, "contract_type") or None
    if contract_type and contract_type not in CONTRACT_GROUP_LABELS and ContractType.parse(contract_type) is None:
        errors["contract_type"] = f"合同类型“{contract_type}”不存在"
    elif contract_type and contract_type not in CONTRACT_GROUP_LABELS:
        contract_type = ContractType.parse(contract_type).value

    as_of = None
    raw_as_of = _text(args, "as_of")
    if raw_as_of:
        as_of = _date(raw_as_of, "统计截止日（口径日）", errors, "as_of")
        if as_of and as_of < EARLIEST:
            errors["as_of"] = f"统计截止日不能早于 {EARLIEST.isoformat()}"

    by = _text(args, "by") or None
    key = None
    if by:
        if by not in GROUPS:
            errors["by"] = "分组须为 " + "、".join(GROUPS)
        key = _text(args, "key", 200)

    if errors:
        raise ValidationFailed(errors, message="统计条件有误：" + "；".join(errors.values()))
    return Filters(
        start=start,
        end=end,
        direction=direction,
        district=district,
        field=field,
        contract_type=contract_type,
        as_of=as_of,
        by=by,
        key=key,
        q=_text(args, "q", 100),
    )


def parse_group(args: Any, default: str = "month") -> str:
    group = _text(args, "group_by") or default
    if group not in GROUPS:
        raise ValidationFailed({"group_by": "分组须为 " + "、".join(f"{k}（{v}）" for k, v in GROUPS.items())})
    return group


def parse_paging(args: Any) -> tuple[str, int, int]:
    errors: dict[str, str] = {}
    sort = _text(args, "sort") or "-registered"
    if sort.lstrip("-") not in SORTS:
        errors["sort"] = "排序须为 " + "、".join(SORTS) + "（前加 - 为降序）"
    page, per_page = 1, 50
    raw_page, raw_per = _text(args, "page"), _text(args, "per_page")
    if raw_page:
        if not (raw_page.isascii() and raw_page.isdigit()) or not 1 <= int(raw_page) <= 1_000_000:
            errors["page"] = "页码须为正整数"
        else:
            page = int(raw_page)
    if raw_per:
        if not (raw_per.isascii() and raw_per.isdigit()) or not 1 <= int(raw_per) <= MAX_PER_PAGE:
            errors["per_page"] = f"每页条数须为 1–{MAX_PER_PAGE}"
        else:
            per_page = int(raw_per)
    if errors:
        raise ValidationFailed(errors, message="列表参数有误：" + "；".join(errors.values()))
    return sort, page, per_page
