"""/api/v1/stats/turnover: technology-contract turnover (技术合同成交额) for officials and admins.

The same query path as the dashboard (marketplace.stats.query): the rows partition the total,
so they add up to it exactly; amounts are decimal strings of yuan."""

from __future__ import annotations

from flask import jsonify, request

from ..core.errors import ValidationFailed
from ..core.guards import roles_required
from ..core.taxonomy import Role
from ..stats import query
from ..stats.params import parse_filters, parse_group
from . import bp, openapi
from .openapi import INTEGER, STRING, errors, json_content, ref
from .openapi import query as query_param

officials_only = roles_required(Role.OFFICIAL, Role.ADMIN, message="统计数据仅向科技管理部门和平台管理员开放")
API_GROUPS = (
    "month",
    "quarter",
    "district",
    "field",
    "contract_group",
    "contract_type",
    "ip_type",
    "seller_nature",
    "buyer_nature",
    "objective",
    "broker",
)


@bp.get("/stats/turnover")
@officials_only
def stats_turnover():
    filters = parse_filters(request.args)
    group = parse_group(request.args, default="month")
    if group not in API_GROUPS:
        raise ValidationFailed({"group_by": "分组须为 " + "、".join(API_GROUPS)})
    total = query.figures(filters)
    rows = query.breakdown(filters, group)
    return jsonify(
        {
            "from": filters.start.isoformat(),
            "to": filters.end.isoformat(),
            "direction": filters.direction,
            "group_by": group,
            "as_of": filters.as_of.isoformat() if filters.as_of else None,
            "total": total.as_json(),
            "rows": [row.as_json() for row in rows],
        }
    )


def _paths() -> dict:
    return {
        "/stats/turnover": {
            "get": {
                "operationId": "get_stats_turnover",
                "tags": ["stats"],
                "summary": "技术合同成交额统计（科技管理人员、管理员）",
                "description": "只统计已登记的技术合同；变更、注销按 as_of 当日的状态计（默认当前）。期间按北京时间的登记时间划分，"
                "from/to 均含当日。技术输出按卖方所在地、技术吸纳按买方所在地；涉外（港澳台及境外，行政区划代码 71/81/82 或 9 开头）"
                "另列为 foreign_output / foreign_input，并含在输出、吸纳中。rows 按 group_by 分组，相加恰等于 total（无值的合同单列一行，"
                "key 为空字符串）。金额为元的十进制字符串。参数错误返回 422，error.fields 给出每个参数的原因。",
                "security": openapi.SECURED,
                "parameters": [
                    query_param(
                        "from", "起始日期 YYYY-MM-DD（含）；缺省为当年 1 月 1 日", {"type": "string", "format": "date"}
                    ),
                    query_param("to", "截止日期 YYYY-MM-DD（含）；缺省为今天", {"type": "string", "format": "date"}),
                    query_param(
                        "direction", "统计方向，默认 output", {"type": "string", "enum": list(query.DIRECTIONS)}
                    ),
                    query_param("group_by", "分组，默认 month", {"type": "string", "enum": list(API_GROUPS)}),
                    query_param("district", "区县行政区划代码（本市，如 371102）；缺省为全市", STRING),
                    query_param("field", "技术领域一级代码 01–11", STRING),
                    query_param(
                        "contract_type", "合同类型代码或大类（dev/transfer/license/consulting/service）", STRING
                    ),
                    query_param("as_of", "数据截至日 YYYY-MM-DD；缺省为当前", {"type": "string", "format": "date"}),
                ],
                "responses": {
                    "200": {"description": "统计结果", **json_content(ref("StatsTurnover"))},
                    **errors(401, 403, 422),
                },
            }
        }
    }


AMOUNT_STRING = {
    "type": "string",
    "pattern": r"^\d+\.\d{2}$",
    "description": 'Decimal yuan as a string, e.g. "500000.00"',
}
TOTALS = {
    "count": INTEGER,
    "contract_amount": AMOUNT_STRING,
    "tech_amount": AMOUNT_STRING,
}

openapi.register(
    _paths,
    schemas={
        "StatsTotals": {"type": "object", "required": list(TOTALS), "properties": TOTALS},
        "StatsRow": {
            "type": "object",
            "required": ["key", "label", *TOTALS],
            "properties": {"key": STRING, "label": STRING, **TOTALS},
        },
        "StatsTurnover": {
            "type": "object",
            "required": ["from", "to", "direction", "group_by", "as_of", "total", "rows"],
            "properties": {
                "from": {"type": "string", "format": "date"},
                "to": {"type": "string", "format": "date"},
                "direction": {"type": "string", "enum": list(query.DIRECTIONS)},
                "group_by": {"type": "string", "enum": list(API_GROUPS)},
                "as_of": {"type": ["string", "null"], "format": "date"},
                "total": ref("StatsTotals"),
                "rows": {"type": "array", "items": ref("StatsRow")},
            },
        },
    },
    tags=[{"name": "stats", "description": "技术合同成交额统计"}],
)
