"""The officials' statistics pages: the dashboard, the contract register behind every figure,
its CSV export and the Excel report. Officials and admins only; everyone else gets 403."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, render_template, request, send_file, stream_with_context, url_for

from ..core.errors import ValidationFailed
from ..core.guards import roles_required
from ..core.taxonomy import Role
from ..core.timeutil import format_local, local_today
from . import dashboard, query, report
from .params import PERIODS, parse_filters, parse_paging
from .query import DIRECTIONS, GROUPS, SORTS
from .taxonomy import contract_type_choices

bp = Blueprint("stats", __name__, url_prefix="/stats")

officials_only = roles_required(Role.OFFICIAL, Role.ADMIN, message="统计数据仅向科技管理部门和平台管理员开放")


def _choices() -> dict:
    taxonomy = current_app.extensions["taxonomy"]
    prefix = query.city_prefix()
    today = local_today()
    return {
        "districts": [(d.code, d.name) for d in taxonomy.districts if d.code.isdigit() and d.code.startswith(prefix)],
        "fields": [(f.code, f.name) for f in taxonomy.top_fields()],
        "contract_types": contract_type_choices(),
        "directions": DIRECTIONS,
        "periods": PERIODS,
        "years": list(range(today.year, today.year - 12, -1)),
        "groups": GROUPS,
        "sorts": SORTS,
    }


def _selection(args) -> tuple[query.Filters, dict[str, str]]:
    """The filters from the query string; on bad input the defaults and the reasons."""
    try:
        return parse_filters(args), {}
    except ValidationFailed as exc:
        return parse_filters({}), exc.fields


@bp.get("/")
@officials_only
def index():
    filters, errors = _selection(request.args)
    data = dashboard.build(filters)
    return (
        render_template(
            "stats/dashboard.html",
            data=data,
            chart_data=chart_data(data),
            f=data["filters"],
            errors=errors,
            args=request.args,
            choices=_choices(),
            group_labels=GROUPS,
        ),
        422 if errors else 200,
    )


@bp.get("/contracts")
@officials_only
def contracts():
    filters, errors = _selection(request.args)
    try:
        sort, page, per_page = parse_paging(request.args)
    except ValidationFailed as exc:
        errors = {**errors, **exc.fields}
        sort, page, per_page = "-registered", 1, 50
    items, totals = query.contract_rows(filters, sort, page, per_page)
    pages = max(1, -(-totals.count // per_page))
    return (
        render_template(
            "stats/contracts.html",
            items=items,
            totals=totals,
            f=filters,
            sort=sort,
            page=page,
            pages=pages,
            per_page=per_page,
            errors=errors,
            args=request.args,
            choices=_choices(),
            drill_label=query.label_of(filters.by, filters.key or "") if filters.by else "",
            format_local=format_local,
        ),
        422 if errors else 200,
    )


def _list_url(filters: query.Filters) -> str:
    return url_for("stats.contracts", **filters.query_args())


def chart_data(data: dict) -> dict:
    """What the charts draw (amounts as decimal strings of yuan) and where each element links."""

    def rows(items: list[query.Row]) -> list[dict]:
        return [
            {
                "label": r.label,
                "amount": str(r.totals.contract_amount),
                "count": r.totals.count,
                "url": _list_url(r.filters),
            }
            for r in items
        ]

    target = data["target"]
    return {
        "trend": {
            "rows": rows(data["trend"]["rows"]),
            "previous": [str(t.contract_amount) for t in data["trend"]["previous"]],
        },
        "target": {"ratio": str(target["ratio"]), "done": str(target["done"]), "target": str(target["target"])}
        if target and target["ratio"] is not None
        else None,
        "funnel": data["funnel"],
        "breakdowns": {group: rows(items) for group, items in data["breakdowns"].items()},
    }


CSV_HEADER = [
    "合同登记号",
    "项目名称",
    "登记时间",
    "签订日期",
    "合同类别",
    "合同类型",
    "卖方",
    "卖方性质",
    "卖方所在地",
    "买方",
    "买方性质",
    "买方所在地",
    "技术领域",
    "知识产权类型",
    "社会经济目标",
    "技术经纪人",
    "成交额（元）",
    "技术交易额（元）",
]


def csv_lines(filters: query.Filters, sort: str) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield "\ufeff"  # Excel opens UTF-8 CSV in Chinese only with a BOM
    writer.writerow(CSV_HEADER)
    count, amount, tech = 0, query.ZERO, query.ZERO
    for item in query.iter_contracts(filters, sort):
        writer.writerow(
            [
                item["registration_number"] or "",
                item["project_name"],
                format_local(item["registered_at"], "%Y-%m-%d %H:%M"),
                item["signed_on"].isoformat() if item["signed_on"] else "",
                item["contract_group_label"],
                item["contract_type_label"],
                item["seller_name"],
                item["seller_nature_label"],
                item["seller_region_label"],
                item["buyer_name"],
                item["buyer_nature_label"],
                item["buyer_region_label"],
                item["field_label"],
                item["ip_type_label"],
                item["objective_label"],
                item["broker_name"],
                f"{item['amount']:.2f}",
                f"{item['technology_amount']:.2f}",
            ]
        )
        count += 1
        amount += item["amount"]
        tech += item["technology_amount"]
        if count % 500 == 0:
            yield flush()
    writer.writerow(["合计", f"{count} 项"] + [""] * 14 + [f"{amount:.2f}", f"{tech:.2f}"])
    yield flush()


@bp.get("/contracts.csv")
@officials_only
def contracts_csv():
    filters = parse_filters(request.args)  # bad input: 422 with the reasons, never a half file
    sort, _, _ = parse_paging({"sort": request.args.get("sort", "")})
    name = f"技术合同登记_{filters.start:%Y%m%d}-{filters.end:%Y%m%d}.csv"
    response = Response(stream_with_context(csv_lines(filters, sort)), mimetype="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = _attachment(name)
    return response


@bp.get("/report.xlsx")
@officials_only
def report_xlsx():
    filters = parse_filters(request.args)
    workbook = report.build_workbook(filters)
    buffer = io.BytesIO()
    workbook.save(buffer)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        as_attachment=True,
        download_name=report.file_name(filters),
    )


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename=\"stats.csv\"; filename*=UTF-8''{quote(name)}"


@bp.app_template_filter("wan")
def wan(amount) -> str:
    """Decimal yuan as 万元 with two decimals (display only; half up)."""
    return report.wan_text(amount)


@bp.app_template_filter("pct")
def pct(value) -> str:
    if value is None:
        return "—"
    return f"{'+' if value > 0 else ''}{value}%"
