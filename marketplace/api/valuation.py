"""/api/v1 endpoints of the valuation domain: pricing guidance (comparable registered contracts)
and 价值评估 worksheets (CRUD, compute-preview without saving, PDF). Thin: parse, call
`valuation.services` / `valuation.pricing`, serialize; every endpoint is in the OpenAPI document."""

from __future__ import annotations

import io
from typing import Any

from flask import request, send_file, url_for
from flask_login import login_required

from ..core.errors import PermissionDenied, ValidationFailed
from ..extensions import db
from ..valuation import documents, policy, pricing, services
from ..valuation.models import ValuationWorksheet
from . import bp, openapi
from .openapi import DATETIME, INTEGER, SECURED, STRING, errors, json_content, nullable, ref
from .serializers import iso_utc
from .views import caller, committed, int_arg, json_body

INPUT_KEYS = {
    "title",
    "subject",
    "achievement_id",
    "patent_number",
    "revenues",
    "share_pct",
    "discount_pct",
    "risk_pct",
    "life_years",
    "cost_items",
    "margin_pct",
    "obsolescence_mode",
    "functional_pct",
    "economic_pct",
    "cost_remaining_life",
    "cost_total_life",
}


def serialize(sheet: ValuationWorksheet) -> dict[str, Any]:
    return {
        "id": sheet.id,
        "title": sheet.title,
        "subject": sheet.subject,
        "org_id": sheet.org_id,
        "achievement_id": sheet.achievement_id,
        "patent_number": sheet.patent_number,
        "inputs": sheet.inputs,
        "results": sheet.results,
        "version": sheet.version,
        "created_at": iso_utc(sheet.created_at),
        "updated_at": iso_utc(sheet.updated_at),
        "pdf_url": url_for("api.valuation_worksheet_pdf", sheet_id=sheet.id),
    }


def _body() -> dict[str, Any]:
    body = json_body()
    extra = set(body) - INPUT_KEYS
    if extra:
        raise ValidationFailed(dict.fromkeys(sorted(extra), "不支持的字段"))
    for name in ("revenues", "cost_items"):
        if name in body and not isinstance(body[name], list):
            raise ValidationFailed({name: '须为数组，如 [{"year": "2027", "amount": "100"}]'})
    return body


@bp.get("/valuation/pricing")
@login_required
def valuation_pricing():
    user = caller()
    if not policy.can_use_pricing(user):
        raise PermissionDenied("技术定价参考面向机构成员、技术经纪人、科技管理人员和管理员")
    case = pricing.load_case(
        user, achievement_id=request.args.get("achievement"), contract_id=request.args.get("contract")
    )
    return pricing.as_json(pricing.guidance(case))


@bp.get("/valuation/worksheets")
@login_required
def valuation_worksheets():
    user = caller()
    if not policy.can_create_worksheet(user):
        raise PermissionDenied("只有机构成员和技术经纪人可以使用价值评估工作表")
    page = db.paginate(services.mine(user), page=int_arg("page", 1), per_page=services.PER_PAGE, error_out=False)
    return {"total": page.total, "page": page.page, "items": [serialize(s) for s in page.items]}


@bp.post("/valuation/worksheets")
@login_required
def valuation_worksheet_create():
    sheet = services.create(caller(), _body())
    return committed(lambda: serialize(sheet), status=201)


@bp.post("/valuation/worksheets/preview")
@login_required
def valuation_worksheet_preview():
    inputs, results = services.preview(caller(), _body())
    return {"inputs": inputs, "results": results}


@bp.get("/valuation/worksheets/<int:sheet_id>")
@login_required
def valuation_worksheet(sheet_id: int):
    return serialize(services.load(sheet_id, caller()))


@bp.put("/valuation/worksheets/<int:sheet_id>")
@login_required
def valuation_worksheet_update(sheet_id: int):
    user = caller()
    sheet = services.update(services.load(sheet_id, user, write=True), user, _body())
    return committed(lambda: serialize(sheet))


@bp.delete("/valuation/worksheets/<int:sheet_id>")
@login_required
def valuation_worksheet_delete(sheet_id: int):
    user = caller()
    services.delete(services.load(sheet_id, user, write=True), user)
    return committed(lambda: {"deleted": sheet_id})


@bp.get("/valuation/worksheets/<int:sheet_id>/pdf")
@login_required
def valuation_worksheet_pdf(sheet_id: int):
    sheet = services.load(sheet_id, caller())
    return send_file(
        io.BytesIO(documents.render_worksheet(sheet)),
        mimetype="application/pdf",
        download_name=f"worksheet-{documents.number_of(sheet)}.pdf",
    )


# ---------------------------------------------------------------------------------------------
# OpenAPI

SHEET_ID = {"name": "sheet_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
NUM = {"type": "string", "description": "十进制数字字符串（金额单位万元，比率单位 %）"}
ROW = {"type": "object", "properties": {"year": STRING, "amount": NUM}}
ITEM = {"type": "object", "properties": {"name": STRING, "amount": NUM}}
SCHEMAS = {
    "WorksheetInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["title", "revenues", "share_pct", "discount_pct", "life_years"],
        "properties": {
            "title": {**STRING, "maxLength": 200},
            "subject": STRING,
            "achievement_id": {**nullable(INTEGER), "description": "本机构的科技成果（可选）"},
            "patent_number": nullable(STRING),
            "revenues": {"type": "array", "items": ROW, "minItems": 1, "maxItems": 30, "description": "逐年收入预测"},
            "share_pct": {**NUM, "description": "技术分成率 0–100%"},
            "discount_pct": {**NUM, "description": "折现率 0–100%"},
            "risk_pct": {**NUM, "description": "风险调整（加到折现率），可空"},
            "life_years": {**NUM, "description": "剩余寿命（年，0–20，可为小数；最后不足一年按比例）"},
            "cost_items": {"type": "array", "items": ITEM, "maxItems": 30, "description": "重置成本项（成本法，可空）"},
            "margin_pct": NUM,
            "obsolescence_mode": {"type": "string", "enum": ["rates", "life"]},
            "functional_pct": NUM,
            "economic_pct": NUM,
            "cost_remaining_life": NUM,
            "cost_total_life": NUM,
        },
    },
    "WorksheetResults": {
        "type": "object",
        "required": ["income", "range", "disclaimer"],
        "properties": {
            "income": {"type": "object", "description": "rows: t, year, revenue, fraction, share_amount, factor, pv"},
            "cost": {"type": ["object", "null"]},
            "range": {"type": "object", "properties": {"low": STRING, "high": STRING}},
            "unit": STRING,
            "disclaimer": STRING,
        },
    },
    "Worksheet": {
        "type": "object",
        "required": ["id", "title", "inputs", "results", "version"],
        "properties": {
            "id": INTEGER,
            "title": STRING,
            "subject": STRING,
            "org_id": nullable(INTEGER),
            "achievement_id": nullable(INTEGER),
            "patent_number": nullable(STRING),
            "inputs": {"type": "object"},
            "results": ref("WorksheetResults"),
            "version": INTEGER,
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "pdf_url": STRING,
        },
    },
    "PricingGuidance": {
        "type": "object",
        "required": ["case", "count", "relaxed", "comparables"],
        "properties": {
            "case": {"type": "object"},
            "count": INTEGER,
            "few": {"type": "boolean"},
            "warning": nullable(STRING),
            "criteria": {"type": "array", "items": STRING},
            "relaxed": {"type": "array", "items": STRING, "description": "为凑足可比合同而放宽的条件"},
            "unit": STRING,
            "quartile_method": STRING,
            "stats": {
                "type": ["object", "null"],
                "properties": {k: STRING for k in ("min", "p25", "median", "p75", "max")},
            },
            "percentile": nullable(STRING),
            "comparables": {"type": "array", "items": {"type": "object"}},
        },
    },
}


def paths() -> dict[str, Any]:
    sheet = json_content(ref("Worksheet"))
    body = {"required": True, **json_content(ref("WorksheetInput"))}
    tag = ["valuation"]
    return {
        "/valuation/pricing": {
            "get": {
                "operationId": "get_pricing_guidance",
                "tags": tag,
                "summary": "技术定价参考：可比已登记技术合同、四分位数（万元）、放宽的条件",
                "description": "achievement 或 contract（草稿/待登记/已退回）二选一。仅科技管理人员、管理员、"
                "技术经纪人和本案所属机构成员可见。",
                "security": SECURED,
                "parameters": [
                    openapi.query("achievement", "科技成果编号", INTEGER),
                    openapi.query("contract", "技术合同编号", INTEGER),
                ],
                "responses": {
                    "200": {"description": "定价参考", **json_content(ref("PricingGuidance"))},
                    **errors(401, 403, 404, 409),
                },
            }
        },
        "/valuation/worksheets": {
            "get": {
                "operationId": "list_worksheets",
                "tags": tag,
                "summary": "本机构的价值评估工作表",
                "security": SECURED,
                "parameters": [openapi.query("page", "页码", {"type": "integer", "minimum": 1})],
                "responses": {
                    "200": {
                        "description": "工作表",
                        **json_content(
                            {
                                "type": "object",
                                "properties": {
                                    "total": INTEGER,
                                    "page": INTEGER,
                                    "items": {"type": "array", "items": ref("Worksheet")},
                                },
                            }
                        ),
                    },
                    **errors(401, 403, 422),
                },
            },
            "post": {
                "operationId": "create_worksheet",
                "tags": tag,
                "summary": "新建工作表（保存假设与计算结果）",
                "security": SECURED,
                "requestBody": body,
                "responses": {"201": {"description": "已保存", **sheet}, **errors(400, 401, 403, 422)},
            },
        },
        "/valuation/worksheets/preview": {
            "post": {
                "operationId": "preview_worksheet",
                "tags": tag,
                "summary": "试算：按假设计算结果，不保存",
                "security": SECURED,
                "requestBody": body,
                "responses": {
                    "200": {
                        "description": "结果",
                        **json_content(
                            {
                                "type": "object",
                                "properties": {"inputs": {"type": "object"}, "results": ref("WorksheetResults")},
                            }
                        ),
                    },
                    **errors(400, 401, 403, 422),
                },
            }
        },
        "/valuation/worksheets/{sheet_id}": {
            "parameters": [SHEET_ID],
            "get": {
                "operationId": "get_worksheet",
                "tags": tag,
                "summary": "工作表（创建机构的成员与管理员）",
                "security": SECURED,
                "responses": {"200": {"description": "工作表", **sheet}, **errors(401, 403, 404)},
            },
            "put": {
                "operationId": "update_worksheet",
                "tags": tag,
                "summary": "修改假设并重新计算（版本号加一）",
                "security": SECURED,
                "requestBody": body,
                "responses": {"200": {"description": "已保存", **sheet}, **errors(400, 401, 403, 404, 422)},
            },
            "delete": {
                "operationId": "delete_worksheet",
                "tags": tag,
                "summary": "删除工作表",
                "security": SECURED,
                "responses": {
                    "200": {
                        "description": "已删除",
                        **json_content({"type": "object", "properties": {"deleted": INTEGER}}),
                    },
                    **errors(401, 403, 404),
                },
            },
        },
        "/valuation/worksheets/{sheet_id}/pdf": {
            "parameters": [SHEET_ID],
            "get": {
                "operationId": "get_worksheet_pdf",
                "tags": tag,
                "summary": "工作表 PDF（假设、逐年计算、结果、免责声明）",
                "security": SECURED,
                "responses": {
                    "200": {
                        "description": "PDF",
                        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
                    },
                    **errors(401, 403, 404),
                },
            },
        },
    }


openapi.register(paths, schemas=SCHEMAS, tags=[{"name": "valuation", "description": "技术定价参考与价值评估工作表"}])
