"""/api/v1 endpoints of 科技金融: products (list, create, read, update, publish/close, delete a
draft), financing applications (create, list, read, transition, attach materials, repayments),
field follows, roadshows (list, read, create, register/cancel, present, accept) and the officials'
figures. Thin: parse, call `finance.services`, serialize; every endpoint is in the OpenAPI
document (see the end of this module)."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import login_required

from ..core.errors import PermissionDenied, ValidationFailed
from ..core.policy import is_admin, is_official
from ..extensions import db
from ..finance import services, stats
from ..finance.models import (
    ApplicationStatus,
    FinanceApplication,
    FinanceProduct,
    ProductKind,
    ProductStatus,
    ProjectStatus,
    Roadshow,
)
from ..listings.models import Achievement
from . import bp, openapi
from .openapi import (
    AMOUNT,
    DATETIME,
    INTEGER,
    SECURED,
    STRING,
    TEXT,
    errors,
    json_content,
    labeled,
    nullable,
    query,
    ref,
)
from .serializers import iso_date, iso_utc, money
from .views import caller, committed, int_arg, json_body

PRODUCT_KEYS = {
    "kind",
    "title",
    "description",
    "requirements",
    "amount_min",
    "amount_max",
    "rate_min",
    "rate_max",
    "term_min",
    "term_max",
    "fields",
    "publish",
}
APPLICATION_KEYS = {"product_id", "amount_requested", "term_months", "purpose", *services.REF_FIELDS}
TRANSITION_KEYS = {
    "action",
    "note",
    "reason",
    "approved_amount",
    "approved_rate",
    "approved_term",
    "disbursed_amount",
    "disbursed_on",
}
ROADSHOW_KEYS = {"title", "starts_at", "registration_deadline", "place", "online_url", "capacity", "description"}


def _only(body: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    extra = set(body) - allowed
    if extra:
        raise ValidationFailed(dict.fromkeys(sorted(extra), "不支持的字段，可用：" + "、".join(sorted(allowed))))
    return body


def _rate(value) -> str | None:
    return None if value is None else f"{value:.4f}"


def serialize_product(product: FinanceProduct) -> dict[str, Any]:
    return {
        "id": product.id,
        "kind": {"code": product.kind, "label": product.kind_label},
        "title": product.title,
        "description": product.description,
        "institution": {"id": product.org_id, "name": product.organization.name},
        "amount_min": money(product.amount_min),
        "amount_max": money(product.amount_max),
        "rate_min": _rate(product.rate_min),
        "rate_max": _rate(product.rate_max),
        "term_min": product.term_min,
        "term_max": product.term_max,
        "requirements": product.requirements,
        "fields": list(product.fields or []),
        "status": {"code": product.status, "label": product.status_label},
        "published_at": iso_utc(product.published_at),
        "url": url_for("finance.product", product_id=product.id),
    }


def serialize_application(application: FinanceApplication, *, full: bool = True) -> dict[str, Any]:
    out = {
        "id": application.id,
        "product": {"id": application.product_id, "title": application.product.title, "kind": application.product.kind},
        "institution": {"id": application.institution_id, "name": application.institution.name},
        "applicant_org": {"id": application.org_id, "name": application.organization.name},
        "status": {"code": application.status, "label": application.status_label},
        "amount_requested": money(application.amount_requested),
        "term_months": application.term_months,
        "approved_amount": money(application.approved_amount),
        "approved_rate": _rate(application.approved_rate),
        "approved_term": application.approved_term,
        "disbursed_amount": money(application.disbursed_amount),
        "disbursed_on": iso_date(application.disbursed_on),
        "repaid_total": money(application.repaid_total),
        "outstanding": money(application.outstanding),
        "created_at": iso_utc(application.created_at),
        "url": url_for("finance.application", application_id=application.id),
    }
    if full:
        out |= {
            "purpose": application.purpose,
            "documents_note": application.documents_note,
            "response_note": application.response_note,
            "decline_reason": application.decline_reason,
            "attachments": [
                {"id": a.id, "kind": a.kind, "ref_id": a.ref_id, "label": a.label, "is_file": bool(a.stored_name)}
                for a in application.attachments
            ],
            "repayments": [
                {"id": r.id, "amount": money(r.amount), "paid_on": iso_date(r.paid_on), "note": r.note}
                for r in application.repayments
            ],
            "history": [
                {
                    "at": iso_utc(h["at"]),
                    "action": h["action"],
                    "label": h["label"],
                    "actor": h["actor"],
                    "from_state": h["from_state"],
                    "to_state": h["to_state"],
                    "reason": h["reason"],
                }
                for h in services.history(application)
            ],
        }
    return out


def serialize_roadshow(roadshow: Roadshow, viewer: Any) -> dict[str, Any]:
    organiser = services.is_organiser(viewer, roadshow)
    out = {
        "id": roadshow.id,
        "title": roadshow.title,
        "starts_at": iso_utc(roadshow.starts_at),
        "registration_deadline": iso_utc(roadshow.registration_deadline),
        "place": roadshow.place,
        "online_url": roadshow.online_url,
        "capacity": roadshow.capacity,
        "description": roadshow.description,
        "registered_count": len(roadshow.registrations),
        "registered": services.registration_of(roadshow, viewer) is not None,
        "past": roadshow.is_past(),
        "projects": [
            {"id": p.id, "achievement_id": p.achievement_id, "title": p.achievement.title, "status": p.status}
            for p in roadshow.projects
            if p.status == ProjectStatus.ACCEPTED.value or organiser
        ],
        "url": url_for("finance.roadshow", roadshow_id=roadshow.id),
    }
    if organiser:
        out["registrants"] = [{"user_id": r.user_id, "name": r.user.name} for r in roadshow.registrations]
    return out


# ---------------------------------------------------------------------------------------------
# Products


@bp.get("/finance/products")
def finance_products():
    page, per_page = int_arg("page", 1), int_arg("per_page", 20, maximum=100)
    items, total = services.catalogue(request.args, page, per_page)
    return jsonify({"total": total, "page": page, "per_page": per_page, "items": [serialize_product(p) for p in items]})


@bp.post("/finance/products")
@login_required
def finance_product_create():
    body = _only(json_body(), PRODUCT_KEYS)
    product = services.create_product(caller(), body)
    return committed(
        lambda: serialize_product(product), 201, {"Location": url_for("finance.product", product_id=product.id)}
    )


@bp.get("/finance/products/<int:product_id>")
def finance_product_detail(product_id: int):
    return jsonify(serialize_product(services.load_product(product_id, caller())))


@bp.patch("/finance/products/<int:product_id>")
@login_required
def finance_product_update(product_id: int):
    product = services.load_product(product_id, caller())
    body = _only(json_body(), PRODUCT_KEYS - {"publish"} | {"status"})
    action = body.pop("status", None)
    services.update_product(product, caller(), body)
    if action is not None:
        services.set_product_status(product, caller(), {"published": "publish", "closed": "close"}.get(action, action))
    return committed(lambda: serialize_product(product))


@bp.delete("/finance/products/<int:product_id>")
@login_required
def finance_product_delete(product_id: int):
    product = services.load_product(product_id, caller())
    services.delete_product(product, caller())
    db.session.commit()
    return "", 204


# ---------------------------------------------------------------------------------------------
# Applications


@bp.get("/finance/applications")
@login_required
def finance_applications():
    status = request.args.get("status") or None
    if status and ApplicationStatus.parse(status) is None:
        raise ValidationFailed({"status": "状态须为：" + "、".join(s.value for s in ApplicationStatus)})
    items = services.applications_for(caller(), status)
    return jsonify({"total": len(items), "items": [serialize_application(a, full=False) for a in items]})


@bp.post("/finance/applications")
@login_required
def finance_application_create():
    if services.applicant_org(caller()) is None:
        raise PermissionDenied("只有已认证机构（金融机构除外）的成员可以申请融资")
    body = _only(json_body(), APPLICATION_KEYS)
    raw = body.get("product_id")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationFailed({"product_id": "须为整数编号"})
    product = db.session.get(FinanceProduct, raw)
    if product is not None and product.status != ProductStatus.PUBLISHED.value:
        product = None
    application = services.create_application(caller(), product, body)
    return committed(
        lambda: serialize_application(application),
        201,
        {"Location": url_for("finance.application", application_id=application.id)},
    )


@bp.get("/finance/applications/<int:application_id>")
@login_required
def finance_application_detail(application_id: int):
    return jsonify(serialize_application(services.load_application(application_id, caller())))


@bp.post("/finance/applications/<int:application_id>/transitions")
@login_required
def finance_application_transition(application_id: int):
    application = services.load_application(application_id, caller())
    body = _only(json_body(), TRANSITION_KEYS)
    action = body.get("action")
    if action not in services.USER_ACTIONS:
        raise ValidationFailed({"action": "操作须为：" + "、".join(services.USER_ACTIONS)})
    services.transition(application, action, caller(), body)
    return committed(lambda: serialize_application(application))


@bp.post("/finance/applications/<int:application_id>/attachments")
@login_required
def finance_application_attach(application_id: int):
    application = services.load_application(application_id, caller())
    if request.mimetype == "multipart/form-data":
        data = {name: request.form.getlist(name) for name in services.REF_FIELDS}
        files = [(f.filename or "材料", f.read()) for f in request.files.getlist("file") if f]
    else:
        data, files = _only(json_body(), set(services.REF_FIELDS)), []
    services.attach(application, caller(), data, files)
    return committed(lambda: serialize_application(application), 201)


@bp.post("/finance/applications/<int:application_id>/repayments")
@login_required
def finance_application_repayment(application_id: int):
    application = services.load_application(application_id, caller())
    body = _only(json_body(), {"amount", "paid_on", "note"})
    services.record_repayment(application, caller(), body)
    return committed(lambda: serialize_application(application), 201)


# ---------------------------------------------------------------------------------------------
# Follows


def _follow(saved) -> dict[str, Any]:
    return {"id": saved.id, "field": saved.filters["field"], "name": saved.name, "active": saved.active}


@bp.get("/finance/follows")
@login_required
def finance_follows():
    return jsonify({"items": [_follow(s) for s in services.follows_of(caller())]})


@bp.post("/finance/follows")
@login_required
def finance_follow_create():
    body = _only(json_body(), {"field"})
    saved = services.follow_field(caller(), body.get("field"))
    return committed(lambda: _follow(saved), 201)


@bp.delete("/finance/follows/<int:saved_id>")
@login_required
def finance_follow_delete(saved_id: int):
    services.unfollow(caller(), saved_id)
    db.session.commit()
    return "", 204


# ---------------------------------------------------------------------------------------------
# Roadshows


@bp.get("/finance/roadshows")
def finance_roadshows():
    past = request.args.get("past") in ("1", "true")
    return jsonify({"items": [serialize_roadshow(r, caller()) for r in services.roadshows(not past)]})


@bp.post("/finance/roadshows")
@login_required
def finance_roadshow_create():
    body = _only(json_body(), ROADSHOW_KEYS)
    roadshow = services.create_roadshow(caller(), body)
    return committed(lambda: serialize_roadshow(roadshow, caller()), 201)


@bp.get("/finance/roadshows/<int:roadshow_id>")
def finance_roadshow_detail(roadshow_id: int):
    return jsonify(serialize_roadshow(services.load_roadshow(roadshow_id), caller()))


@bp.post("/finance/roadshows/<int:roadshow_id>/registration")
@login_required
def finance_roadshow_register(roadshow_id: int):
    roadshow = services.load_roadshow(roadshow_id)
    json_body(required=False)
    services.register(roadshow, caller())
    return committed(lambda: serialize_roadshow(roadshow, caller()), 201)


@bp.delete("/finance/roadshows/<int:roadshow_id>/registration")
@login_required
def finance_roadshow_cancel(roadshow_id: int):
    roadshow = services.load_roadshow(roadshow_id)
    services.cancel_registration(roadshow, caller())
    return committed(lambda: serialize_roadshow(roadshow, caller()))


@bp.post("/finance/roadshows/<int:roadshow_id>/projects")
@login_required
def finance_roadshow_present(roadshow_id: int):
    roadshow = services.load_roadshow(roadshow_id)
    body = _only(json_body(), {"achievement_id"})
    raw = body.get("achievement_id")
    achievement = db.session.get(Achievement, raw) if isinstance(raw, int) and not isinstance(raw, bool) else None
    services.apply_to_present(roadshow, caller(), achievement)
    return committed(lambda: serialize_roadshow(roadshow, caller()), 201)


@bp.post("/finance/roadshows/<int:roadshow_id>/projects/<int:project_id>/accept")
@login_required
def finance_roadshow_accept(roadshow_id: int, project_id: int):
    roadshow = services.load_roadshow(roadshow_id)
    services.accept_project(roadshow, caller(), project_id)
    return committed(lambda: serialize_roadshow(roadshow, caller()))


# ---------------------------------------------------------------------------------------------
# Statistics


@bp.get("/stats/finance")
@login_required
def finance_stats():
    if not (is_official(caller()) or is_admin(caller())):
        raise PermissionDenied("统计数据仅向科技管理部门和平台管理员开放")
    return jsonify(stats.as_json(stats.build(stats.parse_period(request.args))))


# ---------------------------------------------------------------------------------------------
# OpenAPI


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}


PRODUCT_ID, APPLICATION_ID, ROADSHOW_ID = _id("product_id"), _id("application_id"), _id("roadshow_id")
MONEY_IN = {"type": "string", "description": '金额（元），十进制字符串，可带单位，如 "3000000.00" 或 "300万"；不能为负'}
RATE_IN = {**nullable(STRING), "description": '年利率（%），如 "3.45"，最多 4 位小数，不能为负'}
RATE = {**nullable(STRING), "description": "年利率（%），4 位小数"}
IDS = {"type": "array", "items": INTEGER}
NAMED = {"type": "object", "properties": {"id": INTEGER, "name": STRING}}
SCHEMAS = {
    "FinanceProductInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "kind": {"type": "string", "enum": [k.value for k in ProductKind]},
            "title": STRING,
            "description": STRING,
            "requirements": TEXT,
            "amount_min": MONEY_IN,
            "amount_max": MONEY_IN,
            "rate_min": RATE_IN,
            "rate_max": RATE_IN,
            "term_min": {**INTEGER, "minimum": 1},
            "term_max": {**INTEGER, "minimum": 1},
            "fields": {"type": "array", "items": STRING, "description": "技术领域代码；空表示全部领域"},
            "publish": {"type": "boolean", "description": "创建后立即发布（仅创建时）"},
            "status": {"type": "string", "enum": ["published", "closed"], "description": "修改时：发布或下架"},
        },
    },
    "FinanceProduct": {
        "type": "object",
        "required": ["id", "kind", "title", "institution", "amount_min", "amount_max", "status"],
        "properties": {
            "id": INTEGER,
            "kind": labeled(ProductKind),
            "title": STRING,
            "description": STRING,
            "institution": NAMED,
            "amount_min": AMOUNT,
            "amount_max": AMOUNT,
            "rate_min": RATE,
            "rate_max": RATE,
            "term_min": INTEGER,
            "term_max": INTEGER,
            "requirements": TEXT,
            "fields": {"type": "array", "items": STRING},
            "status": labeled(ProductStatus),
            "published_at": DATETIME,
            "url": STRING,
        },
    },
    "FinanceApplicationInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["product_id", "amount_requested", "term_months", "purpose"],
        "properties": {
            "product_id": INTEGER,
            "amount_requested": {**MONEY_IN, "description": "须在产品额度范围内"},
            "term_months": INTEGER,
            "purpose": STRING,
            "contract_ids": {**IDS, "description": "本机构为一方的技术合同"},
            "patent_ids": {**IDS, "description": "本机构成果的专利"},
            "achievement_ids": {**IDS, "description": "本机构的科技成果"},
            "demand_ids": {**IDS, "description": "本机构的技术需求"},
        },
    },
    "FinanceApplication": {
        "type": "object",
        "required": ["id", "product", "institution", "applicant_org", "status", "amount_requested"],
        "properties": {
            "id": INTEGER,
            "product": {"type": "object", "properties": {"id": INTEGER, "title": STRING, "kind": STRING}},
            "institution": NAMED,
            "applicant_org": NAMED,
            "status": labeled(ApplicationStatus),
            "amount_requested": AMOUNT,
            "term_months": INTEGER,
            "approved_amount": AMOUNT,
            "approved_rate": RATE,
            "approved_term": nullable(INTEGER),
            "disbursed_amount": AMOUNT,
            "disbursed_on": nullable({"type": "string", "format": "date"}),
            "repaid_total": AMOUNT,
            "outstanding": AMOUNT,
            "created_at": DATETIME,
            "url": STRING,
            "purpose": STRING,
            "documents_note": TEXT,
            "response_note": TEXT,
            "decline_reason": TEXT,
            "attachments": {"type": "array", "items": {"type": "object"}},
            "repayments": {"type": "array", "items": {"type": "object"}},
            "history": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Roadshow": {
        "type": "object",
        "required": ["id", "title", "starts_at", "capacity", "registered_count"],
        "properties": {
            "id": INTEGER,
            "title": STRING,
            "starts_at": DATETIME,
            "registration_deadline": DATETIME,
            "place": TEXT,
            "online_url": TEXT,
            "capacity": INTEGER,
            "description": STRING,
            "registered_count": INTEGER,
            "registered": {"type": "boolean"},
            "past": {"type": "boolean"},
            "projects": {"type": "array", "items": {"type": "object"}},
            "registrants": {"type": "array", "items": {"type": "object"}, "description": "仅组织者可见"},
            "url": STRING,
        },
    },
}


def _op(op_id: str, summary: str, ok: dict[str, Any], errs: tuple[int, ...], *, body=None, secured=True, params=None):
    operation: dict[str, Any] = {
        "operationId": op_id,
        "tags": ["finance"],
        "summary": summary,
        "responses": {**ok, **errors(*errs)},
    }
    if secured:
        operation["security"] = SECURED
    if body is not None:
        operation["requestBody"] = {"required": True, **json_content(body)}
    if params:
        operation["parameters"] = params
    return operation


def _with_upload(operation: dict[str, Any]) -> dict[str, Any]:
    """The operation also takes multipart/form-data: files in `file` (PDF or images, judged by
    content; names made safe), the reference fields as form fields."""
    form = {
        "type": "object",
        "properties": {
            "file": {"type": "array", "items": {"type": "string", "format": "binary"}},
            **{name: {"type": "array", "items": INTEGER} for name in services.REF_FIELDS},
        },
    }
    operation["requestBody"]["content"]["multipart/form-data"] = {"schema": form}
    return operation


def _ok(code: int, description: str, schema=None) -> dict[str, Any]:
    return {str(code): {"description": description, **(json_content(schema) if schema else {})}}


def paths() -> dict[str, Any]:
    product, application, roadshow = ref("FinanceProduct"), ref("FinanceApplication"), ref("Roadshow")
    listing = {"type": "object", "properties": {"total": INTEGER, "items": {"type": "array", "items": product}}}
    follow = {
        "type": "object",
        "properties": {"id": INTEGER, "field": STRING, "name": STRING, "active": {"type": "boolean"}},
    }
    transition_body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["action"],
        "properties": {
            "action": {"type": "string", "enum": list(services.USER_ACTIONS)},
            "note": {**TEXT, "description": "request_documents：需补充的材料（必填）；respond：答复"},
            "reason": {**TEXT, "description": "decline：原因（必填）"},
            "approved_amount": {**MONEY_IN, "description": "approve：>0 且不超过申请金额"},
            "approved_rate": {**RATE_IN, "description": "approve：在产品利率范围内"},
            "approved_term": INTEGER,
            "disbursed_amount": {**MONEY_IN, "description": "disburse：不超过批准金额"},
            "disbursed_on": {"type": "string", "format": "date"},
        },
    }
    refs = {"type": "object", "additionalProperties": False, "properties": {k: IDS for k in services.REF_FIELDS}}
    repayment = {
        "type": "object",
        "additionalProperties": False,
        "required": ["amount", "paid_on"],
        "properties": {"amount": MONEY_IN, "paid_on": {"type": "string", "format": "date"}, "note": TEXT},
    }
    roadshow_in = {
        "type": "object",
        "additionalProperties": False,
        "required": ["title", "starts_at", "registration_deadline", "capacity", "description"],
        "properties": {
            "title": STRING,
            "starts_at": {"type": "string", "description": "北京时间，如 2026-12-20 14:30"},
            "registration_deadline": {"type": "string", "description": "北京时间，不晚于开始时间"},
            "place": TEXT,
            "online_url": TEXT,
            "capacity": {**INTEGER, "minimum": 1},
            "description": STRING,
        },
    }
    figures = {
        "type": "object",
        "description": "期间批准/投放额、统计日余额（按产品类型、机构）与科技成果转化贷款余额目标",
    }
    return {
        "/finance/products": {
            "get": _op(
                "list_finance_products",
                "已发布的金融产品（可按 kind、field、org、amount、q 筛选）",
                _ok(200, "产品", listing),
                (401, 422),
                secured=False,
                params=[
                    query("kind", "产品类型"),
                    query("field", "技术领域代码"),
                    query("org", "金融机构编号"),
                    query("amount", "融资金额"),
                    query("q", "关键词"),
                    query("page", "页码", {"type": "integer", "minimum": 1}),
                    query("per_page", "每页条数（1–100）", {"type": "integer", "minimum": 1, "maximum": 100}),
                ],
            ),
            "post": _op(
                "create_finance_product",
                "发布金融产品（经认证的金融机构成员）",
                _ok(201, "已创建", product),
                (400, 401, 403, 422),
                body=ref("FinanceProductInput"),
            ),
        },
        "/finance/products/{product_id}": {
            "parameters": [PRODUCT_ID],
            "get": _op("get_finance_product", "金融产品", _ok(200, "产品", product), (401, 404), secured=False),
            "patch": _op(
                "update_finance_product",
                "修改产品（本机构成员），可带 status 发布/下架",
                _ok(200, "已修改", product),
                (400, 401, 403, 404, 409, 422),
                body=ref("FinanceProductInput"),
            ),
            "delete": _op(
                "delete_finance_product", "删除草稿产品", {"204": {"description": "已删除"}}, (401, 403, 404, 409)
            ),
        },
        "/finance/applications": {
            "get": _op(
                "list_finance_applications",
                "融资申请：申请机构看本机构的，金融机构看收到的",
                _ok(
                    200,
                    "申请",
                    {
                        "type": "object",
                        "properties": {"total": INTEGER, "items": {"type": "array", "items": application}},
                    },
                ),
                (401, 422),
                params=[query("status", "状态")],
            ),
            "post": _op(
                "create_finance_application",
                "申请融资（已认证的非金融机构成员）",
                _ok(201, "已提交", application),
                (400, 401, 403, 422),
                body=ref("FinanceApplicationInput"),
            ),
        },
        "/finance/applications/{application_id}": {
            "parameters": [APPLICATION_ID],
            "get": _op("get_finance_application", "融资申请及办理记录", _ok(200, "申请", application), (401, 403, 404)),
        },
        "/finance/applications/{application_id}/transitions": {
            "parameters": [APPLICATION_ID],
            "post": _op(
                "transition_finance_application",
                "审批流转：review / request_documents / approve / decline / disburse（受理机构）；respond / withdraw（申请机构）",
                _ok(200, "已流转", application),
                (400, 401, 403, 404, 409, 422),
                body=transition_body,
            ),
        },
        "/finance/applications/{application_id}/attachments": {
            "parameters": [APPLICATION_ID],
            "post": _with_upload(
                _op(
                    "attach_finance_application",
                    "添加材料：本机构的合同/专利/成果/需求编号（JSON），或 multipart 上传文件（字段 file）",
                    _ok(201, "已添加", application),
                    (400, 401, 403, 404, 409, 413, 422),
                    body=refs,
                )
            ),
        },
        "/finance/applications/{application_id}/repayments": {
            "parameters": [APPLICATION_ID],
            "post": _op(
                "record_finance_repayment",
                "记录还款（放款机构；不超过未偿余额，还清即结清）",
                _ok(201, "已记录", application),
                (400, 401, 403, 404, 409, 422),
                body=repayment,
            ),
        },
        "/finance/follows": {
            "get": _op(
                "list_finance_follows",
                "我关注的技术领域",
                _ok(200, "关注", {"type": "object", "properties": {"items": {"type": "array", "items": follow}}}),
                (401,),
            ),
            "post": _op(
                "create_finance_follow",
                "关注技术领域（新成果发布时通知）",
                _ok(201, "已关注", follow),
                (400, 401, 409, 422),
                body={"type": "object", "required": ["field"], "properties": {"field": STRING}},
            ),
        },
        "/finance/follows/{saved_id}": {
            "parameters": [_id("saved_id")],
            "delete": _op("delete_finance_follow", "取消关注", {"204": {"description": "已取消"}}, (401, 403, 404)),
        },
        "/finance/roadshows": {
            "get": _op(
                "list_roadshows",
                "路演（past=1 为往期）",
                _ok(200, "路演", {"type": "object", "properties": {"items": {"type": "array", "items": roadshow}}}),
                (401,),
                secured=False,
                params=[query("past", "1：往期")],
            ),
            "post": _op(
                "create_roadshow",
                "发起路演（科技管理人员、管理员、金融机构）",
                _ok(201, "已创建", roadshow),
                (400, 401, 403, 422),
                body=roadshow_in,
            ),
        },
        "/finance/roadshows/{roadshow_id}": {
            "parameters": [ROADSHOW_ID],
            "get": _op(
                "get_roadshow",
                "路演详情（报名名单仅组织者可见）",
                _ok(200, "路演", roadshow),
                (401, 404),
                secured=False,
            ),
        },
        "/finance/roadshows/{roadshow_id}/registration": {
            "parameters": [ROADSHOW_ID],
            "post": _op(
                "register_roadshow",
                "报名（名额、截止时间、不可重复）",
                _ok(201, "已报名", roadshow),
                (400, 401, 404, 409),
            ),
            "delete": _op("cancel_roadshow_registration", "取消报名", _ok(200, "已取消", roadshow), (401, 404, 409)),
        },
        "/finance/roadshows/{roadshow_id}/projects": {
            "parameters": [ROADSHOW_ID],
            "post": _op(
                "present_at_roadshow",
                "申请路演本机构已发布的成果",
                _ok(201, "已申请", roadshow),
                (400, 401, 403, 404, 409, 422),
                body={"type": "object", "required": ["achievement_id"], "properties": {"achievement_id": INTEGER}},
            ),
        },
        "/finance/roadshows/{roadshow_id}/projects/{project_id}/accept": {
            "parameters": [ROADSHOW_ID, _id("project_id")],
            "post": _op(
                "accept_roadshow_project", "确认路演项目（组织者）", _ok(200, "已确认", roadshow), (401, 403, 404, 409)
            ),
        },
        "/stats/finance": {
            "get": _op(
                "get_finance_stats",
                "科技金融统计（科技管理人员、管理员）",
                _ok(200, "统计", figures),
                (401, 403, 422),
                params=[query("start", "起始日期"), query("end", "截止日期"), query("as_of", "余额统计日")],
            ),
        },
    }


openapi.register(
    paths,
    schemas=SCHEMAS,
    tags=[{"name": "finance", "description": "科技金融：金融产品、融资申请、领域关注、路演、统计"}],
)
