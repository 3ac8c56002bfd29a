"""/api/v1 endpoints for technology contracts (技术合同): record or update a deal's draft contract,
submit it for registration, register or return it (officials), record payments and refunds.

The same services as the web pages (marketplace.deals.contracts); amounts travel as decimal
strings ("123456.78"), never floats; a refusal is a JSON error and changes nothing."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import login_required

from ..core.errors import NotFound, ValidationFailed
from ..core.taxonomy import (
    ContractStatus,
    ContractType,
    IPType,
    LicenseScope,
    PartyNature,
    PaymentMode,
    SocioEconomicObjective,
)
from ..core.timeutil import local_today
from ..deals import contract_validation as rules
from ..deals import contracts
from ..deals.models import TechContract
from ..deals.policy import load_deal
from ..extensions import db
from . import bp, openapi
from .openapi import AMOUNT, DATETIME, INTEGER, STRING, TEXT, codes, errors, json_content, labeled, nullable, ref
from .serializers import enum, iso_date, iso_utc, money
from .views import caller, committed, json_body

# ---------------------------------------------------------------------------------------------
# JSON shapes


def _party(contract: TechContract, side: str) -> dict[str, Any]:
    return {
        "org_id": getattr(contract, f"{side}_org_id"),
        "name": getattr(contract, f"{side}_name"),
        "nature": enum(PartyNature, getattr(contract, f"{side}_nature")),
        "region": getattr(contract, f"{side}_region"),
    }


def contract_json(contract: TechContract) -> dict[str, Any]:
    status = contracts.payment_status(contract)
    member = ContractType.parse(contract.contract_type)
    next_due = status["next_due"]
    return {
        "id": contract.id,
        "deal_id": contract.deal_id,
        "project_name": contract.project_name,
        "contract_type": enum(ContractType, contract.contract_type),
        "contract_group": member.group_label if member else None,
        "license_scope": enum(LicenseScope, contract.license_scope),
        "seller": _party(contract, "seller"),
        "buyer": _party(contract, "buyer"),
        "amount": money(contract.amount),
        "non_tech_costs": money(contract.non_tech_costs),
        "non_tech_breakdown": {part: str(value) for part, value in (contract.non_tech_breakdown or {}).items()},
        "technology_amount": money(contract.technology_amount),
        "payment_mode": enum(PaymentMode, contract.payment_mode),
        "signed_on": iso_date(contract.signed_on),
        "valid_from": iso_date(contract.valid_from),
        "valid_to": iso_date(contract.valid_to),
        "field_code": contract.field_code,
        "ip_type": enum(IPType, contract.ip_type),
        "objective": enum(SocioEconomicObjective, contract.objective),
        "expected_investment": money(contract.expected_investment),
        "expected_output": money(contract.expected_output),
        "status": enum(ContractStatus, contract.status),
        "registration_number": contract.registration_number,
        "office_code": contract.office_code,
        "submitted_at": iso_utc(contract.submitted_at),
        "registered_at": iso_utc(contract.registered_at),
        "return_reason": contract.return_reason,
        "cancelled_at": iso_utc(contract.cancelled_at),
        "cancel_reason": contract.cancel_reason,
        "payment_status": {
            "paid": money(status["paid"]),
            "outstanding": money(status["outstanding"]),
            "overdue": money(status["overdue"]),
            "next_due": {"due_on": iso_date(next_due.due_on), "amount": money(status["next_due_rest"])}
            if next_due
            else None,
        },
        "installments": [
            {"due_on": iso_date(i.due_on), "amount": money(i.amount), "note": i.note} for i in contract.installments
        ],
        "payments": [payment_json(p) for p in contract.payments],
        "amendments": [
            {
                "kind": a.kind,
                "changes": a.changes,
                "reason": a.reason,
                "created_at": iso_utc(a.created_at),
            }
            for a in contract.amendments
        ],
        "links": {"html": url_for("deals.contract_detail", contract_id=contract.id)},
    }


def payment_json(payment: Any) -> dict[str, Any]:
    return {
        "id": payment.id,
        "paid_on": iso_date(payment.paid_on),
        "amount": money(payment.amount),
        "reference": payment.reference,
        "reason": payment.reason,
        "created_at": iso_utc(payment.created_at),
    }


# ---------------------------------------------------------------------------------------------
# Input


CONTRACT_KEYS = tuple(name for name in rules.CONTRACT_FIELDS if not name.startswith("cost_")) + ("non_tech_breakdown",)
COMPUTED_KEYS = {
    "technology_amount": "技术交易额由系统按 成交额 − 非技术性费用 计算，不能提交",
    "non_tech_costs": "非技术性费用合计由系统按明细计算，请提交 non_tech_breakdown",
}


def _refuse_unknown(body: dict[str, Any], allowed: tuple[str, ...]) -> None:
    fields = {key: COMPUTED_KEYS.get(key, "未知字段") for key in body if key not in allowed}
    if fields:
        raise ValidationFailed(fields)


def contract_input(body: dict[str, Any]) -> dict[str, Any]:
    """The API body as the service's flat field dict (non_tech_breakdown -> cost_<part>)."""
    _refuse_unknown(body, CONTRACT_KEYS)
    data = {key: body[key] for key in CONTRACT_KEYS if key in body and key != "non_tech_breakdown"}
    for key, value in data.items():
        if isinstance(value, dict | list | bool):
            raise ValidationFailed({key: "须为字符串"})
    if "non_tech_breakdown" in body:
        breakdown = body["non_tech_breakdown"]
        if not isinstance(breakdown, dict):
            raise ValidationFailed({"non_tech_breakdown": '须为对象，如 {"equipment": "20000.00"}'})
        unknown = sorted(set(breakdown) - set(rules.NON_TECH_PARTS))
        if unknown:
            raise ValidationFailed(
                {f"non_tech_breakdown.{k}": f"未知项目，可用：{'、'.join(rules.NON_TECH_PARTS)}" for k in unknown}
            )
        for part in rules.NON_TECH_PARTS:  # the breakdown replaces the stored one as a whole
            data[f"cost_{part}"] = breakdown.get(part) or ""
    return data


def _load(contract_id: int) -> TechContract:
    contract = db.session.get(TechContract, contract_id)
    if contract is None or contract.deal_id is None:
        raise NotFound("合同不存在")
    load_deal(contract.deal_id, caller())
    return contract


def _reason(body: dict[str, Any]) -> str | None:
    _refuse_unknown(body, ("reason",))
    reason = body.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed({"reason": "须为字符串"})
    return reason


# ---------------------------------------------------------------------------------------------
# Endpoints


@bp.post("/deals/<int:deal_id>/contract")
@login_required
def deal_contract_save(deal_id: int):
    user = caller()
    deal = load_deal(deal_id, user)
    data = contract_input(json_body())
    created = contracts.contract_of(deal) is None
    contract = contracts.save_draft(deal, user, data)
    headers = {"Location": url_for("api.contract_detail", contract_id=contract.id)} if created else None
    return committed(lambda: contract_json(contract), 201 if created else 200, headers)


@bp.get("/contracts/<int:contract_id>")
@login_required
def contract_detail(contract_id: int):
    return jsonify(contract_json(_load(contract_id)))


@bp.post("/contracts/<int:contract_id>/submit")
@login_required
def contract_submit(contract_id: int):
    contract = _load(contract_id)
    _refuse_unknown(json_body(required=False), ())
    contracts.submit(contract, caller())
    return committed(lambda: contract_json(contract))


@bp.post("/contracts/<int:contract_id>/register")
@login_required
def contract_register(contract_id: int):
    contract = _load(contract_id)
    _refuse_unknown(json_body(required=False), ())
    contract = contracts.register(contract, caller())
    return committed(lambda: contract_json(contract))


@bp.post("/contracts/<int:contract_id>/return")
@login_required
def contract_return(contract_id: int):
    contract = _load(contract_id)
    reason = _reason(json_body(required=False))
    contract = contracts.return_contract(contract, caller(), reason)
    return committed(lambda: contract_json(contract))


@bp.post("/contracts/<int:contract_id>/payments")
@login_required
def contract_payment(contract_id: int):
    contract = _load(contract_id)
    body = json_body()
    _refuse_unknown(body, ("paid_on", "amount", "reference", "reason"))
    for key in ("paid_on", "reference", "reason"):
        if body.get(key) is not None and not isinstance(body[key], str):
            raise ValidationFailed({key: "须为字符串"})
    payment = contracts.record_payment(
        contract,
        caller(),
        body.get("paid_on") if "paid_on" in body else local_today().isoformat(),
        body.get("amount"),
        body.get("reference"),
        body.get("reason"),
    )
    return committed(lambda: {"payment": payment_json(payment), "contract": contract_json(contract)}, 201)


# ---------------------------------------------------------------------------------------------
# OpenAPI


DATE = nullable({"type": "string", "format": "date"})
MONEY_IN = {
    "type": "string",
    "description": '金额（元）：十进制字符串，如 "123456.78"，也可带单位 "50万"；不接受浮点数',
}
CONTRACT_ID = {"name": "contract_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
DEAL_ID = {"name": "deal_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
PARTY = {
    "type": "object",
    "required": ["org_id", "name", "nature", "region"],
    "properties": {
        "org_id": nullable(INTEGER),
        "name": STRING,
        "nature": nullable(labeled(PartyNature)),
        "region": {"type": "string", "description": "6 位 GB/T 2260 行政区划代码"},
    },
}


def _paths() -> dict[str, Any]:
    contract = json_content(ref("TechContract"))
    reason_body = {"required": False, **json_content(ref("ContractReasonInput"))}

    def action(operation: str, summary: str, description: str, body: Any = None, statuses=(401, 403, 404, 409)):
        op: dict[str, Any] = {
            "operationId": operation,
            "tags": ["contracts"],
            "summary": summary,
            "description": description,
            "security": openapi.SECURED,
            "responses": {"200": {"description": "合同", **contract}, **errors(400, *statuses)},
        }
        if body:
            op["requestBody"] = body
        return {"parameters": [CONTRACT_ID], "post": op}

    return {
        "/deals/{deal_id}/contract": {
            "parameters": [DEAL_ID],
            "post": {
                "operationId": "save_deal_contract",
                "tags": ["contracts"],
                "summary": "录入或修改项目的技术合同草稿",
                "description": "项目的技术经纪人、卖方成员或管理员；仅草稿或已退回的合同可改。未提交的字段保留原值"
                "（新合同时由项目双方机构预填名称、性质和行政区划）。技术交易额 = 成交额 − 非技术性费用，由系统计算。",
                "security": openapi.SECURED,
                "requestBody": {"required": True, **json_content(ref("TechContractInput"))},
                "responses": {
                    "201": {"description": "已创建草稿", "headers": {"Location": {"schema": STRING}}, **contract},
                    "200": {"description": "已更新草稿", **contract},
                    **errors(400, 401, 403, 404, 409, 422),
                },
            },
        },
        "/contracts/{contract_id}": {
            "parameters": [CONTRACT_ID],
            "get": {
                "operationId": "get_contract",
                "tags": ["contracts"],
                "summary": "技术合同详情（含付款情况、分期计划、变更记录）",
                "description": "项目双方、负责的技术经纪人、科技管理人员和管理员可见。",
                "security": openapi.SECURED,
                "responses": {"200": {"description": "合同", **contract}, **errors(401, 403, 404)},
            },
        },
        "/contracts/{contract_id}/submit": action(
            "submit_contract",
            "提交认定登记",
            "卖方成员或项目的技术经纪人（及管理员）；草稿或已退回 → 待登记。须已填有效期限、技术领域和社会经济目标，"
            "否则 422。项目处于“签约”阶段时随之进入“登记”阶段。",
            statuses=(401, 403, 404, 409, 422),
        ),
        "/contracts/{contract_id}/register": action(
            "register_contract",
            "认定登记（科技管理人员）",
            "待登记 → 已登记，编列合同登记号（格式由 CONTRACT_NUMBER_FORMAT 配置，默认 年份 + 登记机构代码 + 6 位序号，"
            "按登记机构和年度连续编号、不重复、不跳号）。重复登记 409。",
        ),
        "/contracts/{contract_id}/return": action(
            "return_contract",
            "退回补正（科技管理人员）",
            "待登记 → 已退回，须填写原因。",
            reason_body,
            statuses=(401, 403, 404, 409, 422),
        ),
        "/contracts/{contract_id}/payments": {
            "parameters": [CONTRACT_ID],
            "post": {
                "operationId": "record_contract_payment",
                "tags": ["contracts"],
                "summary": "记录付款或退款",
                "description": "项目双方、负责的技术经纪人或管理员；合同须已提交登记。正数为付款，负数为退款（须填原因，"
                "不能超过已付金额）；付款记录不可删除。一次总付/分期支付的合同，付款合计不能超过成交额。",
                "security": openapi.SECURED,
                "requestBody": {"required": True, **json_content(ref("PaymentInput"))},
                "responses": {
                    "201": {"description": "已记录", **json_content(ref("PaymentRecorded"))},
                    **errors(400, 401, 403, 404, 409, 422),
                },
            },
        },
    }


def _schemas() -> dict[str, Any]:
    labeled_or_null = lambda enum_cls: nullable(labeled(enum_cls))  # noqa: E731
    contract_props = {
        "id": INTEGER,
        "deal_id": nullable(INTEGER),
        "project_name": STRING,
        "contract_type": labeled(ContractType),
        "contract_group": {**TEXT, "description": "统计大类：技术开发/转让/许可/咨询/服务"},
        "license_scope": labeled_or_null(LicenseScope),
        "seller": PARTY,
        "buyer": PARTY,
        "amount": {**AMOUNT, "description": "成交额（元）"},
        "non_tech_costs": {**AMOUNT, "description": "非技术性费用合计（元）"},
        "non_tech_breakdown": {
            "type": "object",
            "description": "非技术性费用明细：equipment 设备、instruments 仪器、parts 零部件、materials 原材料、other 其他",
            "properties": {part: {"type": "string"} for part in rules.NON_TECH_PARTS},
        },
        "technology_amount": {**AMOUNT, "description": "技术交易额 = 成交额 − 非技术性费用（元）"},
        "payment_mode": labeled(PaymentMode),
        "signed_on": DATE,
        "valid_from": DATE,
        "valid_to": DATE,
        "field_code": {**TEXT, "description": "技术领域（全国技术市场 11 个领域，01–11）"},
        "ip_type": labeled_or_null(IPType),
        "objective": labeled_or_null(SocioEconomicObjective),
        "expected_investment": {**AMOUNT, "description": "预计新增投入（技术转让合同）"},
        "expected_output": {**AMOUNT, "description": "预计新增产值（技术转让合同）"},
        "status": labeled(ContractStatus),
        "registration_number": {**TEXT, "description": "合同登记号（登记后）"},
        "office_code": TEXT,
        "submitted_at": DATETIME,
        "registered_at": DATETIME,
        "return_reason": TEXT,
        "cancelled_at": DATETIME,
        "cancel_reason": TEXT,
        "payment_status": {
            "type": "object",
            "required": ["paid", "outstanding", "overdue", "next_due"],
            "properties": {
                "paid": {**AMOUNT, "description": "已付（付款减退款）"},
                "outstanding": {**AMOUNT, "description": "未付 = 成交额 − 已付（不小于 0）"},
                "overdue": {**AMOUNT, "description": "逾期：今天（北京时间）之前到期的分期合计减已付（不小于 0）"},
                "next_due": nullable(
                    {
                        "type": "object",
                        "required": ["due_on", "amount"],
                        "properties": {"due_on": DATE, "amount": AMOUNT},
                    }
                ),
            },
        },
        "installments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["due_on", "amount", "note"],
                "properties": {"due_on": DATE, "amount": AMOUNT, "note": TEXT},
            },
        },
        "payments": {"type": "array", "items": ref("Payment")},
        "amendments": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kind", "changes", "reason", "created_at"],
                "properties": {
                    "kind": {"type": "string", "enum": ["amend", "cancel"]},
                    "changes": {
                        "type": "object",
                        "description": "字段 → [变更前, 变更后]（字符串）",
                        "additionalProperties": {"type": "array", "items": {"type": "string"}},
                    },
                    "reason": STRING,
                    "created_at": DATETIME,
                },
            },
        },
        "links": {"type": "object", "required": ["html"], "properties": {"html": STRING}},
    }
    string_or_null = {"type": ["string", "null"]}
    input_props = {
        "project_name": {"type": "string", "maxLength": 200},
        "contract_type": {"type": "string", "enum": codes(ContractType), "description": "代码或中文名"},
        "license_scope": {**string_or_null, "description": "许可方式：仅技术许可合同，exclusive/sole/ordinary"},
        "seller_name": STRING,
        "seller_nature": {"type": "string", "enum": codes(PartyNature)},
        "seller_region": {"type": "string", "pattern": r"^\d{6}$"},
        "buyer_name": STRING,
        "buyer_nature": {"type": "string", "enum": codes(PartyNature)},
        "buyer_region": {"type": "string", "pattern": r"^\d{6}$"},
        "amount": {**MONEY_IN, "description": "成交额（> 0，≤ 1 万亿元）。" + MONEY_IN["description"]},
        "non_tech_breakdown": {
            "type": "object",
            "additionalProperties": False,
            "description": "非技术性费用明细（每项 ≥ 0；合计不能大于成交额）；提交时整体替换原明细",
            "properties": {part: MONEY_IN for part in rules.NON_TECH_PARTS},
        },
        "payment_mode": {"type": "string", "enum": codes(PaymentMode)},
        "signed_on": {"type": "string", "format": "date", "description": "不晚于今天"},
        "valid_from": {"type": "string", "format": "date"},
        "valid_to": {"type": "string", "format": "date", "description": "不早于有效期起和签订日期"},
        "field_code": {"type": "string", "description": "技术领域代码 01–11（二级代码按所属一级计）"},
        "ip_type": {**string_or_null, "enum": [*codes(IPType), None]},
        "objective": {**string_or_null, "enum": [*codes(SocioEconomicObjective), None]},
        "expected_investment": {**MONEY_IN, "description": "预计新增投入：技术转让合同必填（≥ 0）"},
        "expected_output": {**MONEY_IN, "description": "预计新增产值：技术转让合同必填（≥ 0）"},
    }
    return {
        "TechContract": {"type": "object", "required": list(contract_props), "properties": contract_props},
        "TechContractInput": {
            "type": "object",
            "additionalProperties": False,
            "properties": input_props,
            "description": "新合同须有 project_name（默认项目名称）、contract_type、amount、signed_on；"
            "technology_amount 与 non_tech_costs 由系统计算，提交则 422。未列出的字段会被拒绝。",
        },
        "ContractReasonInput": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"reason": {"type": "string", "description": "退回原因（必填）"}},
        },
        "Payment": {
            "type": "object",
            "required": ["id", "paid_on", "amount", "reference", "reason", "created_at"],
            "properties": {
                "id": INTEGER,
                "paid_on": DATE,
                "amount": {**AMOUNT, "pattern": r"^-?\d+\.\d{2}$", "description": "正数付款，负数退款"},
                "reference": TEXT,
                "reason": TEXT,
                "created_at": DATETIME,
            },
        },
        "PaymentInput": {
            "type": "object",
            "additionalProperties": False,
            "required": ["amount"],
            "properties": {
                "paid_on": {"type": "string", "format": "date", "description": "付款日期，不晚于今天；默认今天"},
                "amount": {"type": "string", "description": '金额字符串：正数付款，负数退款，如 "-5000.00"；不能为 0'},
                "reference": {"type": "string", "maxLength": 100, "description": "银行凭证号"},
                "reason": {"type": "string", "description": "说明；退款必填"},
            },
        },
        "PaymentRecorded": {
            "type": "object",
            "required": ["payment", "contract"],
            "properties": {"payment": ref("Payment"), "contract": ref("TechContract")},
        },
    }


openapi.register(
    _paths,
    schemas=_schemas(),
    tags=[{"name": "contracts", "description": "技术合同：录入、认定登记、付款"}],
)
