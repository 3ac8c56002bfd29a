"""/api/v1 endpoints of the providers domain (the "1+7+N" service system): offerings, a provider's
figures, service requests, their transitions and the rating. Thin: parse, call
`providers.services`, serialize; every endpoint registered in the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import login_required

from ..core.errors import ValidationFailed
from ..core.taxonomy import ServiceCategory
from ..extensions import db
from ..providers import services
from ..providers.models import ContactPreference, RequestStatus, ServiceOffering, ServiceRequest
from . import bp, openapi
from .openapi import DATETIME, INTEGER, SECURED, STRING, TEXT, errors, json_content, labeled, nullable, page_schema, ref
from .serializers import enum, iso_date, iso_utc, organization
from .views import caller, committed, int_arg, json_body

OFFERING_KEYS = set(services.OFFERING_FIELDS)
REQUEST_KEYS = {"subject", "description", "desired_date", "contact_preference", "achievement_id", "demand_id"}
TRANSITION_KEYS = {"action", "note", "reason", "result"}
RATING_KEYS = {"score", "comment"}
MAX_PER_PAGE = 100


def _district(code: str | None) -> dict[str, str] | None:
    if not code:
        return None
    return {"code": code, "name": services._taxonomy().district_name(code)}


def serialize_offering(o: ServiceOffering) -> dict[str, Any]:
    return {
        "id": o.id,
        "title": o.title,
        "category": enum(ServiceCategory, o.category),
        "description": o.description,
        "price_note": o.price_note,
        "district": _district(o.district),
        "turnaround_days": o.turnaround_days,
        "active": bool(o.active),
        "provider": organization(o.organization),
        "created_at": iso_utc(o.created_at),
        "updated_at": iso_utc(o.updated_at),
        "url": url_for("providers.offering", offering_id=o.id),
    }


def serialize_request(r: ServiceRequest, viewer: Any) -> dict[str, Any]:
    rating = r.rating
    return {
        "id": r.id,
        "offering": {
            "id": r.offering_id,
            "title": r.offering.title,
            "category": enum(ServiceCategory, r.offering.category),
        },
        "provider": organization(r.provider),
        "requester": organization(r.requester_org),
        "subject": r.subject,
        "description": r.description,
        "desired_date": iso_date(r.desired_date),
        "contact_preference": enum(ContactPreference, r.contact_preference),
        "achievement_id": r.achievement_id,
        "demand_id": r.demand_id,
        "status": enum(RequestStatus, r.status),
        "quote_note": r.quote_note,
        "decline_reason": r.decline_reason,
        "cancel_reason": r.cancel_reason,
        "result_text": r.result_text,
        "result_file": {"name": r.result_file_name, "url": url_for("providers.result_file", request_id=r.id)}
        if r.result_file_path
        else None,
        "created_at": iso_utc(r.created_at),
        "responded_at": iso_utc(r.responded_at),
        "response_seconds": r.response_seconds,
        "started_at": iso_utc(r.started_at),
        "completed_at": iso_utc(r.completed_at),
        "closed_at": iso_utc(r.closed_at),
        "rating": {"score": rating.score, "comment": rating.comment, "created_at": iso_utc(rating.created_at)}
        if rating
        else None,
        "allowed_actions": services.allowed_actions(viewer, r),
        "url": url_for("providers.request_detail", request_id=r.id),
    }


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = set(body) - allowed
    if extra:
        raise ValidationFailed(dict.fromkeys(sorted(extra), "不支持的字段，可用：" + "、".join(sorted(allowed))))


def _page_args() -> tuple[int, int]:
    return int_arg("page", 1), int_arg("per_page", 20, maximum=MAX_PER_PAGE)


def _page_body(page, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"items": items, "page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages}


@bp.get("/services/offerings")
def services_offerings():
    f = services.CatalogueFilters.parse(request.args)
    f.page, per_page = _page_args()
    page = services.catalogue(f, per_page)
    return jsonify(_page_body(page, [serialize_offering(o) for o in page.items]))


@bp.post("/services/offerings")
@login_required
def services_offering_create():
    services.require_publisher(caller())
    body = json_body()
    _only(body, OFFERING_KEYS)
    offering = services.create_offering(caller(), body)
    location = url_for("providers.offering", offering_id=offering.id)
    return committed(lambda: serialize_offering(offering), 201, {"Location": location})


@bp.get("/services/offerings/<int:offering_id>")
def services_offering_detail(offering_id: int):
    return jsonify(serialize_offering(services.load_offering(offering_id, caller())))


@bp.patch("/services/offerings/<int:offering_id>")
@login_required
def services_offering_update(offering_id: int):
    offering = services.load_offering(offering_id, caller())
    body = json_body()
    _only(body, OFFERING_KEYS | {"active"})
    active = body.pop("active", None)
    if active is not None and not isinstance(active, bool):
        raise ValidationFailed({"active": "须为 true 或 false"})
    services.update_offering(offering, caller(), body)
    if active is not None and active != offering.active:
        services.set_offering_active(offering, caller(), active)
    return committed(lambda: serialize_offering(offering))


@bp.post("/services/offerings/<int:offering_id>/deactivate")
@login_required
def services_offering_deactivate(offering_id: int):
    offering = services.load_offering(offering_id, caller())
    json_body(required=False)
    services.set_offering_active(offering, caller(), False)
    return committed(lambda: serialize_offering(offering))


@bp.get("/services/providers/<int:org_id>")
def services_provider(org_id: int):
    org = services.load_provider(org_id)
    stats = services.provider_stats([org.id])[org.id]
    offerings = services.offerings_of(org.id) if org.verified else []
    return jsonify(
        {
            "provider": organization(org),
            **stats.as_dict(),
            "offerings": [serialize_offering(o) for o in offerings],
            "recent_reviews": [
                {
                    "score": r.score,
                    "comment": r.comment,
                    "offering_id": r.offering_id,
                    "created_at": iso_utc(r.created_at),
                }
                for r in services.recent_reviews(org.id)
            ],
        }
    )


@bp.post("/services/offerings/<int:offering_id>/requests")
@login_required
def services_request_create(offering_id: int):
    offering = services.load_offering(offering_id, caller())
    body = json_body()
    _only(body, REQUEST_KEYS)
    req = services.create_request(caller(), offering, body)
    location = url_for("providers.request_detail", request_id=req.id)
    return committed(lambda: serialize_request(req, caller()), 201, {"Location": location})


@bp.get("/services/requests")
@login_required
def services_requests():
    side = request.args.get("as", "requester")
    if side not in services.SIDES:
        raise ValidationFailed({"as": "可选：requester（本机构提交的）或 provider（本机构收到的）"})
    raw_status = request.args.get("status")
    status = services.parse_status(raw_status)
    if raw_status and status is None:
        raise ValidationFailed({"status": "状态可选：" + "、".join(s.value for s in RequestStatus)})
    page_no, per_page = _page_args()
    page = db.paginate(
        services.requests_query(caller(), side, status), page=page_no, per_page=per_page, error_out=False
    )
    return jsonify(_page_body(page, [serialize_request(r, caller()) for r in page.items]))


@bp.get("/services/requests/<int:request_id>")
@login_required
def services_request_detail(request_id: int):
    return jsonify(serialize_request(services.load_request(request_id, caller()), caller()))


@bp.post("/services/requests/<int:request_id>/transition")
@login_required
def services_request_transition(request_id: int):
    req = services.load_request(request_id, caller())
    body = json_body()
    _only(body, TRANSITION_KEYS)
    services.transition(req, str(body.get("action") or ""), caller(), body)
    return committed(lambda: serialize_request(req, caller()))


@bp.post("/services/requests/<int:request_id>/rating")
@login_required
def services_request_rate(request_id: int):
    req = services.load_request(request_id, caller())
    body = json_body()
    _only(body, RATING_KEYS)
    if "score" in body and (isinstance(body["score"], bool) or not isinstance(body["score"], int)):
        raise ValidationFailed({"score": "评分须为 1–5 的整数"})
    services.rate(req, caller(), body.get("score"), body.get("comment"))
    return committed(lambda: serialize_request(req, caller()), 201)


# ---------------------------------------------------------------------------------------------
# OpenAPI

OFFERING_ID = {"name": "offering_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
REQUEST_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
ORG_ID = {"name": "org_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
ORG = {"type": "object", "properties": {"id": INTEGER, "name": STRING, "verified": {"type": "boolean"}}}
DECIMAL_TEXT = {**nullable(STRING), "description": '一位小数的十进制字符串，如 "4.3"；无数据时为 null'}
CATEGORY_CODES = ", ".join(c.value for c in ServiceCategory)
SCHEMAS = {
    "ServiceOfferingInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "category": {"type": "string", "enum": [c.value for c in ServiceCategory], "description": "服务类别"},
            "title": {"type": "string", "maxLength": 200},
            "description": {"type": "string", "maxLength": services.MAX_TEXT},
            "price_note": {**TEXT, "maxLength": 200, "description": "收费说明"},
            "district": {**TEXT, "description": "服务区域（区县代码或名称），空为全市"},
            "turnaround_days": {**nullable(INTEGER), "minimum": 1, "maximum": 365},
            "active": {"type": "boolean", "description": "仅用于修改：上架/下架"},
        },
    },
    "ServiceOffering": {
        "type": "object",
        "required": ["id", "title", "category", "active", "provider"],
        "properties": {
            "id": INTEGER,
            "title": STRING,
            "category": labeled(ServiceCategory),
            "description": TEXT,
            "price_note": TEXT,
            "district": nullable({"type": "object", "properties": {"code": STRING, "name": STRING}}),
            "turnaround_days": nullable(INTEGER),
            "active": {"type": "boolean"},
            "provider": ORG,
            "created_at": DATETIME,
            "updated_at": DATETIME,
            "url": STRING,
        },
    },
    "ServiceProvider": {
        "type": "object",
        "required": ["provider", "rating_count", "completed_count", "offerings"],
        "properties": {
            "provider": ORG,
            "average_rating": DECIMAL_TEXT,
            "rating_count": INTEGER,
            "average_response_hours": DECIMAL_TEXT,
            "median_response_hours": DECIMAL_TEXT,
            "responded_count": INTEGER,
            "completed_count": INTEGER,
            "request_count": INTEGER,
            "offerings": {"type": "array", "items": ref("ServiceOffering")},
            "recent_reviews": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"score": INTEGER, "comment": TEXT, "offering_id": INTEGER, "created_at": DATETIME},
                },
            },
        },
    },
    "ServiceRequestInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["subject", "description"],
        "properties": {
            "subject": {"type": "string", "maxLength": 200},
            "description": {"type": "string", "maxLength": services.MAX_TEXT},
            "desired_date": {**nullable({"type": "string", "format": "date"}), "description": "不早于今天"},
            "contact_preference": {"type": "string", "enum": [c.value for c in ContactPreference]},
            "achievement_id": {**nullable(INTEGER), "description": "本机构的科技成果（与 demand_id 二选一）"},
            "demand_id": {**nullable(INTEGER), "description": "本机构的技术需求"},
        },
    },
    "ServiceRequest": {
        "type": "object",
        "required": ["id", "offering", "provider", "requester", "subject", "status", "allowed_actions"],
        "properties": {
            "id": INTEGER,
            "offering": {
                "type": "object",
                "properties": {"id": INTEGER, "title": STRING, "category": labeled(ServiceCategory)},
            },
            "provider": ORG,
            "requester": ORG,
            "subject": STRING,
            "description": STRING,
            "desired_date": nullable({"type": "string", "format": "date"}),
            "contact_preference": labeled(ContactPreference),
            "achievement_id": nullable(INTEGER),
            "demand_id": nullable(INTEGER),
            "status": labeled(RequestStatus),
            "quote_note": TEXT,
            "decline_reason": TEXT,
            "cancel_reason": TEXT,
            "result_text": TEXT,
            "result_file": nullable({"type": "object", "properties": {"name": STRING, "url": STRING}}),
            "created_at": DATETIME,
            "responded_at": {**DATETIME, "description": "首次响应（受理或婉拒）时间"},
            "response_seconds": nullable(INTEGER),
            "started_at": DATETIME,
            "completed_at": DATETIME,
            "closed_at": DATETIME,
            "rating": nullable(
                {"type": "object", "properties": {"score": INTEGER, "comment": TEXT, "created_at": DATETIME}}
            ),
            "allowed_actions": {
                "type": "array",
                "items": {"type": "string", "enum": list(services.TRANSITIONS)},
                "description": "调用者现在可以执行的操作",
            },
            "url": STRING,
        },
    },
    "ServiceRequestPage": page_schema("ServiceRequest"),
    "ServiceOfferingPage": page_schema("ServiceOffering"),
}


def paths() -> dict[str, Any]:
    offering = json_content(ref("ServiceOffering"))
    req = json_content(ref("ServiceRequest"))
    paging = [
        openapi.query("page", "页码", {"type": "integer", "minimum": 1}),
        openapi.query(
            "per_page", f"每页条数（1–{MAX_PER_PAGE}）", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}
        ),
    ]
    tags = ["services"]
    return {
        "/services/offerings": {
            "get": {
                "operationId": "list_service_offerings",
                "tags": tags,
                "summary": "服务目录：已认证机构上架的服务",
                "security": openapi.OPTIONAL_AUTH,
                "parameters": [
                    openapi.query("category", f"服务类别：{CATEGORY_CODES}"),
                    openapi.query("district", "服务区域（区县代码或名称；不限区域的服务总会包含）"),
                    openapi.query("q", "关键词：服务名称、内容、机构名称"),
                    openapi.query("sort", "rating（评分，默认）/ response（响应快）/ newest（最新）"),
                    *paging,
                ],
                "responses": {
                    "200": {"description": "服务", **json_content(ref("ServiceOfferingPage"))},
                    **errors(401, 422),
                },
            },
            "post": {
                "operationId": "create_service_offering",
                "tags": tags,
                "summary": "发布服务（已认证机构的机构管理员）",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("ServiceOfferingInput"))},
                "responses": {"201": {"description": "已发布", **offering}, **errors(400, 401, 403, 422)},
            },
        },
        "/services/offerings/{offering_id}": {
            "parameters": [OFFERING_ID],
            "get": {
                "operationId": "get_service_offering",
                "tags": tags,
                "summary": "服务详情（已下架的仅本机构管理员和平台管理员可见）",
                "security": openapi.OPTIONAL_AUTH,
                "responses": {"200": {"description": "服务", **offering}, **errors(404)},
            },
            "patch": {
                "operationId": "update_service_offering",
                "tags": tags,
                "summary": "修改服务；active 上架/下架（本机构管理员或平台管理员）",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("ServiceOfferingInput"))},
                "responses": {"200": {"description": "已保存", **offering}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/services/offerings/{offering_id}/deactivate": {
            "parameters": [OFFERING_ID],
            "post": {
                "operationId": "deactivate_service_offering",
                "tags": tags,
                "summary": "下架服务（本机构管理员或平台管理员）",
                "security": SECURED,
                "responses": {"200": {"description": "已下架", **offering}, **errors(400, 401, 403, 404, 409)},
            },
        },
        "/services/offerings/{offering_id}/requests": {
            "parameters": [OFFERING_ID],
            "post": {
                "operationId": "create_service_request",
                "tags": tags,
                "summary": "提交服务请求（有所属机构的用户，不能向本机构的服务提交）",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("ServiceRequestInput"))},
                "responses": {"201": {"description": "已提交", **req}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/services/providers/{org_id}": {
            "parameters": [ORG_ID],
            "get": {
                "operationId": "get_service_provider",
                "tags": tags,
                "summary": "服务机构概况：平均评分、平均/中位响应时间（小时）、完成数、服务与最新评价",
                "security": openapi.OPTIONAL_AUTH,
                "responses": {
                    "200": {"description": "服务机构", **json_content(ref("ServiceProvider"))},
                    **errors(404),
                },
            },
        },
        "/services/requests": {
            "get": {
                "operationId": "list_service_requests",
                "tags": tags,
                "summary": "本机构的服务请求：as=requester 提交的（默认），as=provider 收到的",
                "security": SECURED,
                "parameters": [
                    openapi.query("as", "requester 或 provider"),
                    openapi.query("status", "状态：" + ", ".join(s.value for s in RequestStatus)),
                    *paging,
                ],
                "responses": {
                    "200": {"description": "服务请求", **json_content(ref("ServiceRequestPage"))},
                    **errors(401, 403, 422),
                },
            },
        },
        "/services/requests/{request_id}": {
            "parameters": [REQUEST_ID],
            "get": {
                "operationId": "get_service_request",
                "tags": tags,
                "summary": "服务请求详情（双方机构成员；平台管理员只读）",
                "security": SECURED,
                "responses": {"200": {"description": "服务请求", **req}, **errors(401, 403, 404)},
            },
        },
        "/services/requests/{request_id}/transition": {
            "parameters": [REQUEST_ID],
            "post": {
                "operationId": "transition_service_request",
                "tags": tags,
                "summary": "变更服务请求状态",
                "description": (
                    "action: accept（受理，可带 note 报价/方案）、decline（婉拒，reason 必填）、start（开始服务）、"
                    "complete（完成，result 必填）由服务机构成员执行；cancel（取消，可带 reason）由请求方在完成前执行。"
                    "不允许的状态流转返回 409，状态不变。成果文件请在网页上传。"
                ),
                "security": SECURED,
                "requestBody": {
                    "required": True,
                    **json_content(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["action"],
                            "properties": {
                                "action": {"type": "string", "enum": list(services.TRANSITIONS)},
                                "note": TEXT,
                                "reason": TEXT,
                                "result": TEXT,
                            },
                        }
                    ),
                },
                "responses": {"200": {"description": "已变更", **req}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/services/requests/{request_id}/rating": {
            "parameters": [REQUEST_ID],
            "post": {
                "operationId": "rate_service_request",
                "tags": tags,
                "summary": "评价已完成的服务（请求方，每个请求一次，1–5 星）",
                "security": SECURED,
                "requestBody": {
                    "required": True,
                    **json_content(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["score"],
                            "properties": {"score": {"type": "integer", "minimum": 1, "maximum": 5}, "comment": TEXT},
                        }
                    ),
                },
                "responses": {"201": {"description": "已评价", **req}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
    }


openapi.register(
    paths, schemas=SCHEMAS, tags=[{"name": "services", "description": "科技服务（1+7+N）：服务机构、服务请求与评价"}]
)
