"""Invoices and PDF documents in /api/v1 (the same services as the deal page):

POST /deals/<id>/invoices            issue (the deal's brokers, admins) → 201 Invoice
GET  /invoices/<id>                  one invoice (whoever may view the deal)
POST /invoices/<id>/void             {"reason"} — unpaid only; the number stays taken
POST /invoices/<id>/paid             {"paid_on"?} — record payment
GET  /invoices/<id>.pdf              the invoice as PDF
GET  /contracts/<id>/certificate.pdf 技术合同登记证明 (409 until registered)

Amounts travel as decimal strings ("1234.50"); a JSON number for an amount, quantity or rate is
refused (floats lose fen)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, url_for
from flask_login import login_required

from ..core.errors import ValidationFailed
from ..core.money import capital_amount, to_yuan
from ..core.taxonomy import InvoiceKind, InvoiceStatus
from ..deals import invoices, pdf
from ..deals.invoice_views import certificate_filename, invoice_filename, pdf_response
from ..deals.models import Invoice
from ..deals.policy import load_deal
from . import bp, openapi
from .openapi import AMOUNT, DATETIME, INTEGER, SECURED, STRING, TEXT, errors, json_content, labeled, nullable, ref
from .serializers import iso_date, iso_utc
from .views import caller, committed, json_body

CREATE_KEYS = {"kind", "payer", "tax_rate", "issued_on", "due_on", "lines"}
LINE_KEYS = {"description", "quantity", "unit_price"}


def _amount(value: Any) -> str | None:
    return None if value is None else str(to_yuan(value))


def invoice_json(invoice: Invoice) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "kind": {"code": invoice.kind, "label": invoice.kind_label},
        "status": {"code": invoice.status, "label": invoice.status_label},
        "deal_id": invoice.deal_id,
        "payer": {
            "org_id": invoice.payer_org_id,
            "name": invoice.payer_name,
            "tax_id": invoice.payer_tax_id,
            "address": invoice.payer_address,
        },
        "payee": {
            "name": invoice.payee_name,
            "tax_id": invoice.payee_tax_id,
            "bank": invoice.payee_bank,
            "account": invoice.payee_account,
        },
        "issued_on": iso_date(invoice.issued_on),
        "due_on": iso_date(invoice.due_on),
        "paid_on": iso_date(invoice.paid_on),
        "tax_rate": invoices.plain(invoice.tax_rate),
        "subtotal": _amount(invoice.subtotal),
        "tax": _amount(invoice.tax),
        "total": _amount(invoice.total),
        "total_in_words": capital_amount(invoice.total),
        "void_reason": invoice.void_reason,
        "voided_at": iso_utc(invoice.voided_at),
        "created_at": iso_utc(invoice.created_at),
        "lines": [
            {
                "position": line.position,
                "description": line.description,
                "quantity": invoices.plain(line.quantity),
                "unit_price": _amount(line.unit_price),
                "amount": _amount(line.amount),
            }
            for line in invoice.lines
        ],
        "pdf_url": url_for("api.invoice_pdf", invoice_id=invoice.id),
    }


def _no_floats(data: dict[str, Any]) -> None:
    """Unknown keys and JSON numbers with a fraction are refused before the service runs."""
    problems: dict[str, str] = {}
    for key in sorted(set(data) - CREATE_KEYS):
        problems[key] = "不支持的字段，可用：" + "、".join(sorted(CREATE_KEYS))
    if isinstance(data.get("tax_rate"), float):
        problems["tax_rate"] = '税率请以字符串传递，如 "6"'
    lines = data.get("lines")
    if lines is not None and not isinstance(lines, list):
        problems["lines"] = "明细行须为数组"
    for index, line in enumerate(lines if isinstance(lines, list) else []):
        if not isinstance(line, dict):
            continue
        for key in sorted(set(line) - LINE_KEYS):
            problems[f"lines[{index}].{key}"] = "不支持的字段，可用：description、quantity、unit_price"
        for key in ("quantity", "unit_price"):
            if isinstance(line.get(key), float):
                problems[f"lines[{index}].{key}"] = '请以字符串传递数字，如 "1234.50"（浮点数会丢失精度）'
    if problems:
        raise ValidationFailed(problems)


@bp.post("/deals/<int:deal_id>/invoices")
@login_required
def deal_invoice_create(deal_id: int):
    deal = load_deal(deal_id, caller())
    data = json_body()
    _no_floats(data)
    invoice = invoices.create_invoice(
        deal,
        caller(),
        data.get("kind") or "",
        lines=data.get("lines") or None,
        tax_rate=data.get("tax_rate"),
        issued_on=data.get("issued_on"),
        due_on=data.get("due_on"),
        payer=data.get("payer"),
    )
    location = url_for("api.invoice_detail", invoice_id=invoice.id)
    return committed(lambda: invoice_json(invoice), 201, {"Location": location})


@bp.get("/invoices/<int:invoice_id>")
@login_required
def invoice_detail(invoice_id: int):
    return jsonify(invoice_json(invoices.load_invoice(invoice_id, caller())))


@bp.post("/invoices/<int:invoice_id>/void")
@login_required
def invoice_void(invoice_id: int):
    invoice = invoices.load_invoice(invoice_id, caller())
    data = json_body(required=False)
    reason = data.get("reason")
    if reason is not None and not isinstance(reason, str):
        raise ValidationFailed({"reason": "作废原因须为字符串"})
    invoices.void_invoice(invoice, caller(), reason)
    return committed(lambda: invoice_json(invoice))


@bp.post("/invoices/<int:invoice_id>/paid")
@login_required
def invoice_paid(invoice_id: int):
    invoice = invoices.load_invoice(invoice_id, caller())
    data = json_body(required=False)
    invoices.mark_paid(invoice, caller(), data.get("paid_on"))
    return committed(lambda: invoice_json(invoice))


@bp.get("/invoices/<int:invoice_id>.pdf")
@login_required
def invoice_pdf(invoice_id: int):
    invoice = invoices.load_invoice(invoice_id, caller())
    return pdf_response(pdf.render_invoice(invoice), *invoice_filename(invoice))


@bp.get("/contracts/<int:contract_id>/certificate.pdf")
@login_required
def contract_certificate_pdf(contract_id: int):
    contract = invoices.load_contract(contract_id, caller())
    return pdf_response(invoices.certificate_of(contract), *certificate_filename(contract))


# ---------------------------------------------------------------------------------------------
# OpenAPI

DATE = nullable({"type": "string", "format": "date", "description": "YYYY-MM-DD"})
DECIMAL_TEXT = {"type": "string", "pattern": r"^\d+(\.\d+)?$"}
INVOICE_ID = {"name": "invoice_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
DEAL_ID = {"name": "deal_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
CONTRACT_ID = {"name": "contract_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


def pdf_ok(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "headers": {
            "Content-Disposition": {
                "schema": STRING,
                "description": "attachment; filename=\"<ASCII>\"; filename*=UTF-8''<中文文件名>（RFC 5987）",
            }
        },
        "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}},
    }


SCHEMAS: dict[str, Any] = {
    "InvoiceLine": {
        "type": "object",
        "required": ["position", "description", "quantity", "unit_price", "amount"],
        "properties": {
            "position": INTEGER,
            "description": STRING,
            "quantity": {**DECIMAL_TEXT, "description": "数量（十进制字符串）"},
            "unit_price": AMOUNT,
            "amount": {**AMOUNT, "description": "数量 × 单价，四舍五入到分"},
        },
    },
    "Invoice": {
        "type": "object",
        "required": ["id", "number", "kind", "status", "deal_id", "subtotal", "tax", "total", "lines"],
        "properties": {
            "id": INTEGER,
            "number": {"type": "string", "description": "发票号码，按年连续编号，作废后保留不再使用"},
            "kind": labeled(InvoiceKind),
            "status": labeled(InvoiceStatus),
            "deal_id": INTEGER,
            "payer": {
                "type": "object",
                "properties": {"org_id": nullable(INTEGER), "name": STRING, "tax_id": TEXT, "address": TEXT},
            },
            "payee": {
                "type": "object",
                "properties": {"name": STRING, "tax_id": TEXT, "bank": TEXT, "account": TEXT},
            },
            "issued_on": DATE,
            "due_on": DATE,
            "paid_on": DATE,
            "tax_rate": {**DECIMAL_TEXT, "description": '税率（%），如 "6"'},
            "subtotal": AMOUNT,
            "tax": {**AMOUNT, "description": "小计 × 税率，四舍五入到分"},
            "total": {**AMOUNT, "description": "价税合计 = 小计 + 税额"},
            "total_in_words": {"type": "string", "description": "价税合计大写，如 壹拾贰万叁仟肆佰伍拾陆元柒角捌分"},
            "void_reason": TEXT,
            "voided_at": DATETIME,
            "created_at": DATETIME,
            "lines": {"type": "array", "items": ref("InvoiceLine")},
            "pdf_url": STRING,
        },
    },
    "InvoiceInput": {
        "type": "object",
        "required": ["kind"],
        "properties": {
            "kind": {"type": "string", "enum": [m.value for m in InvoiceKind], "description": "发票类别"},
            "payer": {
                "type": "string",
                "enum": ["seller", "buyer"],
                "description": "付款方。佣金发票默认按佣金约定；约定“双方各半”时必填，每张发票各收一半。"
                "平台服务费发票默认卖方。",
            },
            "tax_rate": {**DECIMAL_TEXT, "description": "税率（%），字符串；默认 INVOICE_TAX_RATE（6）"},
            "issued_on": {"type": "string", "format": "date", "description": "开票日期，默认今天（北京时间）"},
            "due_on": {"type": "string", "format": "date", "description": "付款期限，默认开票后 30 天"},
            "lines": {
                "type": "array",
                "maxItems": invoices.MAX_LINES,
                "description": "自定义明细行；省略时按佣金约定（比例 × 合同成交额，无合同时按预计成交额；或固定金额）"
                "或平台服务费率 × 已登记合同的技术交易额计算一行",
                "items": {
                    "type": "object",
                    "required": ["description", "unit_price"],
                    "properties": {
                        "description": {"type": "string", "maxLength": 300},
                        "quantity": {**DECIMAL_TEXT, "description": "数量，默认 1，最多三位小数"},
                        "unit_price": {**DECIMAL_TEXT, "description": "单价（元），十进制字符串"},
                    },
                },
            },
        },
    },
    "InvoiceVoidInput": {
        "type": "object",
        "required": ["reason"],
        "properties": {"reason": {"type": "string", "maxLength": 500, "description": "作废原因（必填）"}},
    },
    "InvoicePaidInput": {
        "type": "object",
        "properties": {"paid_on": {"type": "string", "format": "date", "description": "付款日期，默认今天"}},
    },
}


def paths() -> dict[str, Any]:
    item = json_content(ref("Invoice"))
    return {
        "/deals/{deal_id}/invoices": {
            "parameters": [DEAL_ID],
            "post": {
                "operationId": "create_invoice",
                "tags": ["invoices"],
                "summary": "开具发票（本项目的技术经纪人或管理员）",
                "description": "佣金发票要求项目已约定佣金，否则 422（该项目未约定佣金，不能开具佣金发票）。"
                "税额 = 小计 × 税率，四舍五入到分；价税合计 = 小计 + 税额。",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("InvoiceInput"))},
                "responses": {
                    "201": {"description": "已开具", "headers": {"Location": {"schema": STRING}}, **item},
                    **errors(400, 401, 403, 404, 409, 422),
                },
            },
        },
        "/invoices/{invoice_id}": {
            "parameters": [INVOICE_ID],
            "get": {
                "operationId": "get_invoice",
                "tags": ["invoices"],
                "summary": "发票详情（可查看该项目的用户）",
                "security": SECURED,
                "responses": {"200": {"description": "发票", **item}, **errors(401, 403, 404)},
            },
        },
        "/invoices/{invoice_id}/void": {
            "parameters": [INVOICE_ID],
            "post": {
                "operationId": "void_invoice",
                "tags": ["invoices"],
                "summary": "作废发票（须填写原因；号码保留不再使用）",
                "description": "只有未付款的发票可以作废；已付款的发票作废被拒绝（409）。",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("InvoiceVoidInput"))},
                "responses": {"200": {"description": "作废后的发票", **item}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/invoices/{invoice_id}/paid": {
            "parameters": [INVOICE_ID],
            "post": {
                "operationId": "mark_invoice_paid",
                "tags": ["invoices"],
                "summary": "登记发票已付款",
                "security": SECURED,
                "requestBody": {"required": False, **json_content(ref("InvoicePaidInput"))},
                "responses": {"200": {"description": "已付款的发票", **item}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/invoices/{invoice_id}.pdf": {
            "parameters": [INVOICE_ID],
            "get": {
                "operationId": "get_invoice_pdf",
                "tags": ["invoices"],
                "summary": "发票 PDF（平台结算凭证；作废的带“作废”水印）",
                "security": SECURED,
                "responses": {"200": pdf_ok("发票 PDF"), **errors(401, 403, 404)},
            },
        },
        "/contracts/{contract_id}/certificate.pdf": {
            "parameters": [CONTRACT_ID],
            "get": {
                "operationId": "get_contract_certificate_pdf",
                "tags": ["invoices"],
                "summary": "技术合同登记证明 PDF",
                "description": "合同登记后才有登记证明；未登记时 409。已注销的合同带“已注销”水印。",
                "security": SECURED,
                "responses": {"200": pdf_ok("登记证明 PDF"), **errors(401, 403, 404, 409)},
            },
        },
    }


openapi.register(paths, schemas=SCHEMAS, tags=[{"name": "invoices", "description": "发票与 PDF 文件"}])
