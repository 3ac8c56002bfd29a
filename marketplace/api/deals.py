"""/api/v1 endpoints for deals: open one, read one, change its stage. Thin: parse the JSON,
call `deals.services`, serialize. Documented through openapi.register."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import login_required

from ..core.errors import ValidationFailed
from ..core.taxonomy import CommissionKind, CommissionPayer, DealStage
from ..deals import policy, services
from ..deals.models import Deal, DealEvent
from ..deals.policy import load_deal
from . import bp, openapi
from .openapi import AMOUNT, DATETIME, INTEGER, SECURED, STRING, TEXT, errors, json_content, labeled, nullable, ref
from .serializers import enum, iso_utc, money
from .views import caller, committed, json_body

EVENTS_SHOWN = 50
CREATE_KEYS = {
    "seller_org_id",
    "buyer_org_id",
    "title",
    "summary",
    "introduction_id",
    "achievement_id",
    "demand_id",
    "challenge_id",
    "expected_value",
    "commission",
}
COMMISSION_KEYS = {"kind", "rate", "amount", "payer"}


def _org(org) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "verified": bool(org.verified)}


def _event(event: DealEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "kind": event.kind,
        "body": event.body or "",
        "author": {"id": event.author.id, "name": event.author.name} if event.author else None,
        "created_at": iso_utc(event.created_at),
        "meeting_at": iso_utc(event.meeting_at),
        "from_stage": enum(DealStage, event.from_stage),
        "to_stage": enum(DealStage, event.to_stage),
        "file_name": event.file_name,
        "file_url": url_for("deals.file", deal_id=event.deal_id, event_id=event.id) if event.kind == "file" else None,
    }


def serialize(deal: Deal, viewer: Any) -> dict[str, Any]:
    return {
        "id": deal.id,
        "title": deal.title,
        "summary": deal.summary,
        "stage": enum(DealStage, deal.stage),
        "stage_changed_at": iso_utc(deal.stage_changed_at),
        "termination_reason": deal.termination_reason,
        "seller": _org(deal.seller_org),
        "buyer": _org(deal.buyer_org),
        "brokers": [{"id": b.user.id, "name": b.user.name, "lead": bool(b.lead)} for b in deal.brokers],
        "expected_value": money(deal.expected_value),
        "commission": {
            "kind": enum(CommissionKind, deal.commission_kind),
            "rate": str(deal.commission_rate) if deal.commission_rate is not None else None,
            "amount": money(deal.commission_amount),
            "payer": enum(CommissionPayer, deal.commission_payer),
        },
        "source": {
            "introduction_id": deal.introduction_id,
            "achievement_id": deal.achievement_id,
            "demand_id": deal.demand_id,
            "challenge_id": deal.challenge_id,
        },
        "allowed_stages": [after for after, _move in services.allowed_stages(deal, viewer)]
        if policy.can_work_on_deal(viewer, deal)
        else [],
        "created_at": iso_utc(deal.created_at),
        "url": url_for("deals.detail", deal_id=deal.id),
        "events": [_event(e) for e in services.events_of(deal, EVENTS_SHOWN)],
    }


def _create_input(body: dict[str, Any]) -> dict[str, Any]:
    """The JSON body in the shape open_deal_from_input takes; unknown keys refused."""
    problems = {key: "不支持的字段，可用：" + "、".join(sorted(CREATE_KEYS)) for key in set(body) - CREATE_KEYS}
    commission = body.get("commission") or {}
    if not isinstance(commission, dict):
        problems["commission"] = '佣金条款须为对象：{"kind", "rate", "amount", "payer"}'
        commission = {}
    for key in set(commission) - COMMISSION_KEYS:
        problems[f"commission.{key}"] = "不支持的字段，可用：kind、rate、amount、payer"
    for key in ("seller_org_id", "buyer_org_id", "introduction_id", "achievement_id", "demand_id", "challenge_id"):
        value = body.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            problems[key] = "须为整数编号"
    if body.get("title") is not None and not isinstance(body.get("title"), str):
        problems["title"] = "须为字符串"
    if problems:
        raise ValidationFailed(problems)
    return {
        **{key: body.get(key) for key in CREATE_KEYS - {"commission"}},
        "commission_kind": commission.get("kind") or "none",
        "commission_rate": commission.get("rate"),
        "commission_amount": commission.get("amount"),
        "commission_payer": commission.get("payer"),
    }


@bp.post("/deals")
@login_required
def deal_create():
    user = caller()
    data = _create_input(json_body())
    deal = services.open_deal_from_input(user, data)
    location = url_for("api.deal_detail", deal_id=deal.id)
    return committed(lambda: serialize(deal, user), 201, {"Location": location})


@bp.get("/deals/<int:deal_id>")
@login_required
def deal_detail(deal_id: int):
    user = caller()
    return jsonify(serialize(load_deal(deal_id, user), user))


@bp.post("/deals/<int:deal_id>/stage")
@login_required
def deal_stage(deal_id: int):
    user = caller()
    deal = load_deal(deal_id, user, write=True)
    body = json_body()
    extra = set(body) - {"stage", "reason"}
    if extra:
        raise ValidationFailed(dict.fromkeys(sorted(extra), "不支持的字段，可用：stage、reason"))
    if not isinstance(body.get("stage"), str) or not body["stage"]:
        raise ValidationFailed({"stage": "请给出目标阶段代码：" + "、".join(s.value for s in DealStage)})
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed({"reason": "须为字符串"})
    services.change_stage(deal, body["stage"], user, reason)
    return committed(lambda: serialize(deal, user))


# ---------------------------------------------------------------------------------------------
# OpenAPI

DEAL_ID = {"name": "deal_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
RATE = nullable({"type": "string", "pattern": r"^\d+(\.\d+)?$", "description": '百分比，字符串，如 "5.000"'})
ORG = {
    "type": "object",
    "required": ["id", "name", "verified"],
    "properties": {"id": INTEGER, "name": STRING, "verified": {"type": "boolean"}},
}
SCHEMAS = {
    "DealStage": labeled(DealStage),
    "DealEvent": {
        "type": "object",
        "required": ["id", "kind", "body", "author", "created_at"],
        "properties": {
            "id": INTEGER,
            "kind": {"type": "string", "enum": list(services.EVENT_KINDS)},
            "body": STRING,
            "author": nullable(
                {"type": "object", "required": ["id", "name"], "properties": {"id": INTEGER, "name": STRING}}
            ),
            "created_at": DATETIME,
            "meeting_at": {**DATETIME, "description": "会议时间（UTC）；仅 meeting"},
            "from_stage": nullable(ref("DealStage")),
            "to_stage": nullable(ref("DealStage")),
            "file_name": TEXT,
            "file_url": {**TEXT, "description": "文件下载地址（网页会话，按项目权限）；仅 file"},
        },
    },
    "Deal": {
        "type": "object",
        "required": [
            "id",
            "title",
            "stage",
            "stage_changed_at",
            "seller",
            "buyer",
            "brokers",
            "expected_value",
            "commission",
            "events",
        ],
        "properties": {
            "id": INTEGER,
            "title": STRING,
            "summary": TEXT,
            "stage": ref("DealStage"),
            "stage_changed_at": DATETIME,
            "termination_reason": TEXT,
            "seller": ORG,
            "buyer": ORG,
            "brokers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["id", "name", "lead"],
                    "properties": {"id": INTEGER, "name": STRING, "lead": {"type": "boolean"}},
                },
            },
            "expected_value": {**AMOUNT, "description": "预计成交额（元），十进制字符串"},
            "commission": {
                "type": "object",
                "required": ["kind", "rate", "amount", "payer"],
                "properties": {
                    "kind": labeled(CommissionKind),
                    "rate": RATE,
                    "amount": AMOUNT,
                    "payer": nullable(labeled(CommissionPayer)),
                },
            },
            "source": {
                "type": "object",
                "properties": {
                    k: nullable(INTEGER) for k in ("introduction_id", "achievement_id", "demand_id", "challenge_id")
                },
            },
            "allowed_stages": {
                "type": "array",
                "items": {"type": "string", "enum": [s.value for s in DealStage]},
                "description": "调用者现在可以变更到的阶段（已考虑合同登记状态）",
            },
            "created_at": DATETIME,
            "url": {**STRING, "description": "网页地址"},
            "events": {
                "type": "array",
                "items": ref("DealEvent"),
                "description": f"最近 {EVENTS_SHOWN} 条动态，新的在前",
            },
        },
    },
    "DealInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["title"],
        "description": "给出来源（introduction_id 等之一）时，来源决定的一方或双方以来源为准",
        "properties": {
            "seller_org_id": {**INTEGER, "description": "卖方机构（须已认证）"},
            "buyer_org_id": {**INTEGER, "description": "买方机构（须已认证，且不同于卖方）"},
            "title": {"type": "string", "maxLength": 200},
            "summary": {**TEXT, "maxLength": 5000},
            "introduction_id": {**INTEGER, "description": "经纪人引荐：卖方为成果所属机构，买方为需求所属机构"},
            "achievement_id": {**INTEGER, "description": "科技成果：卖方为成果所属机构"},
            "demand_id": {**INTEGER, "description": "技术需求：买方为需求所属机构"},
            "challenge_id": {**INTEGER, "description": "揭榜挂帅：卖方为揭榜成功单位，买方为发榜单位"},
            "expected_value": {
                **nullable({"type": "string"}),
                "description": '预计成交额（元），字符串，如 "1200000.00"；0 ≤ 值 ≤ 1 万亿；数字类型会被拒绝',
            },
            "commission": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "kind": {"type": "string", "enum": [k.value for k in CommissionKind], "default": "none"},
                    "rate": {**nullable({"type": "string"}), "description": "kind=rate 时必填：0 < 比例 ≤ 30（%）"},
                    "amount": {**nullable({"type": "string"}), "description": "kind=fixed 时必填：金额 > 0（元）"},
                    "payer": {
                        "type": "string",
                        "enum": [p.value for p in CommissionPayer],
                        "description": "kind 不为 none 时必填",
                    },
                },
            },
        },
    },
    "DealStageInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["stage"],
        "properties": {
            "stage": {"type": "string", "enum": [s.value for s in DealStage]},
            "reason": {**TEXT, "maxLength": 5000, "description": "终止或退回上一阶段时必填"},
        },
    },
}


def paths() -> dict[str, Any]:
    deal = json_content(ref("Deal"))
    return {
        "/deals": {
            "post": {
                "operationId": "create_deal",
                "tags": ["deals"],
                "summary": "开设项目（技术经纪人、管理员，或任一方机构的成员）",
                "description": "双方机构须已认证且不同；技术经纪人开设时成为牵头经纪人。新项目处于“意向”阶段。",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("DealInput"))},
                "responses": {
                    "201": {"description": "已开设", "headers": {"Location": {"schema": STRING}}, **deal},
                    **errors(400, 401, 403, 404, 422),
                },
            }
        },
        "/deals/{deal_id}": {
            "parameters": [DEAL_ID],
            "get": {
                "operationId": "get_deal",
                "tags": ["deals"],
                "summary": "项目详情（双方成员、负责的经纪人、科技管理人员和管理员）",
                "security": SECURED,
                "responses": {"200": {"description": "项目", **deal}, **errors(401, 403, 404)},
            },
        },
        "/deals/{deal_id}/stage": {
            "parameters": [DEAL_ID],
            "post": {
                "operationId": "change_deal_stage",
                "tags": ["deals"],
                "summary": "变更项目阶段",
                "description": (
                    "意向→洽谈→签约→登记→履约→完成，逐级推进（双方成员、经纪人、管理员）；经纪人和管理员可退回上一阶段"
                    "（须填原因）；未完成的项目可终止（须填原因）。进入“登记”须合同已提交或已登记，进入“履约”“完成”"
                    "须合同已登记，否则 409。"
                ),
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("DealStageInput"))},
                "responses": {"200": {"description": "变更后的项目", **deal}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
    }


openapi.register(paths, schemas=SCHEMAS, tags=[{"name": "deals", "description": "技术交易项目"}])
