"""/api/v1 endpoints of the resources domain. Thin: parse, call `resources.services`, serialize; every
endpoint registered in the OpenAPI document through `openapi.register`.

Experts' phone and e-mail are omitted (not nulled) for callers who may not see them. An instrument's
bookings: everyone sees the approved slots (no requester); the owner organisation sees every
booking with its details; a requester sees its own."""

from __future__ import annotations

from typing import Any

from flask import jsonify, request, url_for
from flask_login import login_required

from ..core.errors import NotFound, PermissionDenied, ValidationFailed
from ..extensions import db
from ..listings.models import Achievement
from ..resources import queries, services
from ..resources.models import BookingStatus, Expert, Instrument, InstrumentBooking, InstrumentStatus
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
from .serializers import iso_utc, money
from .views import caller, committed, json_body

EXPERT_KEYS = {
    "name",
    "title",
    "organization_id",
    "org_name",
    "user_id",
    "self",
    "field_codes",
    "expertise",
    "achievements_text",
    "available_evaluation",
    "available_consulting",
    "phone",
    "email",
    "active",
}
INSTRUMENT_KEYS = {
    "name",
    "model",
    "manufacturer",
    "field_code",
    "specs",
    "district",
    "address",
    "fee",
    "fee_unit",
    "availability_notes",
    "status",
    "contact_name",
    "contact_phone",
    "contact_email",
}
BOOKING_KEYS = {"starts_at", "ends_at", "purpose", "sample_description"}
MAX_PER_PAGE = 100


def _only(body: dict[str, Any], allowed: set[str]) -> dict[str, Any]:
    extra = sorted(set(body) - allowed)
    if extra:
        raise ValidationFailed(dict.fromkeys(extra, "不支持的字段，可用：" + "、".join(sorted(allowed))))
    return body


def _page_args() -> tuple[int, int]:
    errors: dict[str, str] = {}
    values = []
    for key, default, maximum in (("page", 1, 1000), ("per_page", 20, MAX_PER_PAGE)):
        raw = request.args.get(key)
        if raw is None or raw == "":
            values.append(default)
        elif not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            errors[key] = f"{key} 须为正整数"
        elif int(raw) > maximum:
            errors[key] = f"{key} 不能超过{maximum}"
        else:
            values.append(int(raw))
    if errors:
        raise ValidationFailed(errors)
    return values[0], values[1]


def _page(page) -> dict[str, Any]:
    return {"page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages}


def serialize_expert(expert: Expert, viewer: Any) -> dict[str, Any]:
    taxonomy = services.taxonomy()
    out: dict[str, Any] = {
        "id": expert.id,
        "name": expert.name,
        "title": expert.title,
        "organization": {"id": expert.organization.id, "name": expert.organization.name}
        if expert.organization
        else None,
        "org_name": expert.display_org,
        "fields": [{"code": c, "label": taxonomy.field_path(c)} for c in expert.field_codes or []],
        "expertise": expert.expertise,
        "achievements_text": expert.achievements_text,
        "available_evaluation": bool(expert.available_evaluation),
        "available_consulting": bool(expert.available_consulting),
        "has_account": expert.user_id is not None,
        "active": bool(expert.active),
        "url": url_for("resources.expert", expert_id=expert.id),
    }
    if services.can_view_expert_contact(viewer, expert):
        out["phone"] = expert.phone
        out["email"] = expert.email
    return out


def _expert_body() -> dict[str, Any]:
    body = _only(json_body(), EXPERT_KEYS)
    if "field_codes" in body and not isinstance(body["field_codes"], list | str):
        raise ValidationFailed({"field_codes": '须为领域代码的数组，如 ["0105"]'})
    for key in ("available_evaluation", "available_consulting", "self", "active"):
        if key in body and not isinstance(body[key], bool):
            raise ValidationFailed({key: "须为 true 或 false"})
    return body


@bp.get("/experts")
def resources_experts():
    errors: dict[str, str] = {}
    args = queries.ExpertArgs.read(request.args, errors)
    try:
        page_no, per_page = _page_args()
    except ValidationFailed as exc:
        errors |= exc.fields
    if errors:
        raise ValidationFailed(errors)
    args.page = page_no
    page = queries.expert_page(args, per_page)
    user = caller()
    return jsonify({"items": [serialize_expert(e, user) for e in page.items], **_page(page)})


@bp.get("/experts/<int:expert_id>")
def resources_expert(expert_id: int):
    user = caller()
    expert = services.load_expert(expert_id, user)
    return jsonify(serialize_expert(expert, user))


@bp.post("/experts")
@login_required
def resources_expert_create():
    user = caller()
    body = _expert_body()
    body.pop("active", None)
    expert = services.create_expert(user, body)
    return committed(
        lambda: serialize_expert(expert, user), 201, {"Location": url_for("resources.expert", expert_id=expert.id)}
    )


@bp.patch("/experts/<int:expert_id>")
@login_required
def resources_expert_update(expert_id: int):
    user = caller()
    expert = services.load_expert(expert_id, user)
    if not services.can_edit_expert(user, expert):
        raise PermissionDenied("您无权修改该专家信息")
    body = _expert_body()
    active = body.pop("active", None)
    if body:
        services.update_expert(user, expert, body)
    if active is not None and active != expert.active:
        services.set_expert_active(user, expert, active)
    return committed(lambda: serialize_expert(expert, user))


def _achievement_for_team(achievement_id: int) -> Achievement:
    from ..core.policy import can_view_listing

    achievement = db.session.get(Achievement, achievement_id)
    if achievement is None or not can_view_listing(caller(), achievement):
        raise NotFound("成果不存在")
    return achievement


def _team(achievement: Achievement) -> dict[str, Any]:
    user = caller()
    return {
        "achievement_id": achievement.id,
        "items": [
            {"expert": serialize_expert(m.expert, user), "team_role": m.team_role}
            for m in services.team_of(achievement)
        ],
    }


@bp.get("/achievements/<int:achievement_id>/team")
def resources_team(achievement_id: int):
    return jsonify(_team(_achievement_for_team(achievement_id)))


@bp.post("/achievements/<int:achievement_id>/team")
@login_required
def resources_team_add(achievement_id: int):
    achievement = _achievement_for_team(achievement_id)
    if not services.can_manage_team(caller(), achievement):
        raise PermissionDenied("只有成果所属机构可以管理团队成员")
    body = _only(json_body(), {"expert_id", "team_role"})
    raw = body.get("expert_id")
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValidationFailed({"expert_id": "须为专家编号（整数）"})
    services.add_team_member(caller(), achievement, raw, body.get("team_role"))
    return committed(lambda: _team(achievement), 201)


@bp.delete("/achievements/<int:achievement_id>/team/<int:expert_id>")
@login_required
def resources_team_remove(achievement_id: int, expert_id: int):
    achievement = _achievement_for_team(achievement_id)
    services.remove_team_member(caller(), achievement, expert_id)
    return committed(lambda: _team(achievement))


# ---------------------------------------------------------------------------------------------
# Instruments and bookings


def serialize_instrument(instrument: Instrument) -> dict[str, Any]:
    taxonomy = services.taxonomy()
    return {
        "id": instrument.id,
        "name": instrument.name,
        "model": instrument.model,
        "manufacturer": instrument.manufacturer,
        "organization": {"id": instrument.organization.id, "name": instrument.organization.name},
        "field_code": instrument.field_code,
        "field": taxonomy.field_path(instrument.field_code) or None,
        "specs": instrument.specs,
        "district": instrument.district,
        "district_name": taxonomy.district_name(instrument.district) or None,
        "address": instrument.address,
        "fee": money(instrument.fee),
        "fee_unit": instrument.fee_unit,
        "fee_text": services.fee_text(instrument),
        "availability_notes": instrument.availability_notes,
        "status": {"code": instrument.status, "label": instrument.status_label},
        "contact_name": instrument.contact_name,
        "contact_phone": instrument.contact_phone,
        "contact_email": instrument.contact_email,
        "url": url_for("resources.instrument", instrument_id=instrument.id),
    }


def serialize_booking(booking: InstrumentBooking, viewer: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": booking.id,
        "instrument_id": booking.instrument_id,
        "starts_at": iso_utc(booking.starts_at),
        "ends_at": iso_utc(booking.ends_at),
        "status": {"code": booking.status, "label": booking.status_label},
    }
    if services.can_view_booking(viewer, booking):
        out |= {
            "requester_org": {"id": booking.requester_org.id, "name": booking.requester_org.name},
            "requester": booking.requester.name if booking.requester else None,
            "purpose": booking.purpose,
            "sample_description": booking.sample_description,
            "decline_reason": booking.decline_reason,
            "decided_at": iso_utc(booking.decided_at),
            "created_at": iso_utc(booking.created_at),
        }
    return out


def _instrument_body() -> dict[str, Any]:
    body = _only(json_body(), INSTRUMENT_KEYS)
    if body.get("fee") is not None and not isinstance(body["fee"], str):
        raise ValidationFailed({"fee": '金额须为十进制字符串，如 "300.00"'})
    return body


@bp.get("/instruments")
def resources_instruments():
    errors: dict[str, str] = {}
    args = queries.InstrumentArgs.read(request.args, errors)
    try:
        page_no, per_page = _page_args()
    except ValidationFailed as exc:
        errors |= exc.fields
    if errors:
        raise ValidationFailed(errors)
    args.page = page_no
    page = queries.instrument_page(args, caller(), per_page)
    return jsonify({"items": [serialize_instrument(i) for i in page.items], **_page(page)})


@bp.get("/instruments/<int:instrument_id>")
def resources_instrument(instrument_id: int):
    return jsonify(serialize_instrument(services.load_instrument(instrument_id, caller())))


@bp.post("/instruments")
@login_required
def resources_instrument_create():
    instrument = services.create_instrument(caller(), _instrument_body())
    location = url_for("resources.instrument", instrument_id=instrument.id)
    return committed(lambda: serialize_instrument(instrument), 201, {"Location": location})


@bp.patch("/instruments/<int:instrument_id>")
@login_required
def resources_instrument_update(instrument_id: int):
    instrument = services.load_instrument(instrument_id, caller())
    services.update_instrument(caller(), instrument, _instrument_body())
    return committed(lambda: serialize_instrument(instrument))


@bp.get("/instruments/<int:instrument_id>/bookings")
def resources_bookings(instrument_id: int):
    """Approved slots for everyone; the owner also sees pending requests, a requester its own."""
    user = caller()
    instrument = services.load_instrument(instrument_id, user)
    errors: dict[str, str] = {}
    bounds = {}
    for key in ("from", "to"):
        raw = request.args.get(key)
        if raw:
            try:
                bounds[key] = services.parse_local_datetime(raw)
            except ValueError as exc:
                errors[key] = str(exc)
    if errors:
        raise ValidationFailed(errors)
    from datetime import timedelta

    from ..core.timeutil import utcnow

    start = bounds.get("from", utcnow() - timedelta(days=7))
    end = bounds.get("to", start + timedelta(days=60))
    if end <= start:
        raise ValidationFailed({"to": "结束时间必须晚于开始时间"})
    if end - start > timedelta(days=370):
        raise ValidationFailed({"to": "一次最多查询一年"})
    items = services.bookings_between(instrument, start, end, user)
    return jsonify({"instrument_id": instrument.id, "items": [serialize_booking(b, user) for b in items]})


@bp.post("/instruments/<int:instrument_id>/bookings")
@login_required
def resources_booking_create(instrument_id: int):
    user = caller()
    instrument = services.load_instrument(instrument_id, user)
    booking = services.request_booking(user, instrument, _only(json_body(), BOOKING_KEYS))
    return committed(lambda: serialize_booking(booking, user), 201)


def _booking(booking_id: int) -> InstrumentBooking:
    booking = services.load_booking(booking_id)
    if not services.can_view_booking(caller(), booking):
        raise NotFound("预约不存在")
    return booking


@bp.post("/bookings/<int:booking_id>/approve")
@login_required
def resources_booking_approve(booking_id: int):
    booking = _booking(booking_id)
    json_body(required=False)
    services.approve_booking(caller(), booking)
    return committed(lambda: serialize_booking(booking, caller()))


@bp.post("/bookings/<int:booking_id>/decline")
@login_required
def resources_booking_decline(booking_id: int):
    booking = _booking(booking_id)
    body = _only(json_body(), {"reason"})
    services.decline_booking(caller(), booking, body.get("reason"))
    return committed(lambda: serialize_booking(booking, caller()))


@bp.post("/bookings/<int:booking_id>/cancel")
@login_required
def resources_booking_cancel(booking_id: int):
    booking = _booking(booking_id)
    body = _only(json_body(required=False), {"reason"})
    services.cancel_booking(caller(), booking, body.get("reason"))
    return committed(lambda: serialize_booking(booking, caller()))


# ---------------------------------------------------------------------------------------------
# OpenAPI

BOOL = {"type": "boolean"}
EXPERT_ID = {"name": "expert_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
ACHIEVEMENT_ID = {"name": "achievement_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
INSTRUMENT_ID = {"name": "instrument_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
BOOKING_ID = {"name": "booking_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
PAGE_PARAMS = [
    query("page", "页码（从 1 开始）", {"type": "integer", "minimum": 1}),
    query("per_page", "每页条数（最多 100）", {"type": "integer", "minimum": 1, "maximum": MAX_PER_PAGE}),
]
ORG_REF = nullable({"type": "object", "properties": {"id": INTEGER, "name": STRING}})


def _page_of(item: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["items", "page", "per_page", "total", "pages"],
        "properties": {
            "items": {"type": "array", "items": ref(item)},
            "page": INTEGER,
            "per_page": INTEGER,
            "total": INTEGER,
            "pages": INTEGER,
        },
    }


SCHEMAS: dict[str, Any] = {
    "Expert": {
        "type": "object",
        "required": ["id", "name", "org_name", "fields", "available_evaluation", "available_consulting", "active"],
        "properties": {
            "id": INTEGER,
            "name": STRING,
            "title": TEXT,
            "organization": ORG_REF,
            "org_name": STRING,
            "fields": {
                "type": "array",
                "items": {"type": "object", "properties": {"code": STRING, "label": STRING}},
            },
            "expertise": TEXT,
            "achievements_text": TEXT,
            "available_evaluation": BOOL,
            "available_consulting": BOOL,
            "has_account": BOOL,
            "active": BOOL,
            "phone": {
                **TEXT,
                "description": "仅管理员、科技管理部门、专家本人和其所在机构成员可见；其他调用者的响应中没有此字段",
            },
            "email": {**TEXT, "description": "同 phone"},
            "url": STRING,
        },
    },
    "ExpertInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": STRING,
            "title": TEXT,
            "organization_id": nullable(INTEGER),
            "org_name": TEXT,
            "user_id": {
                **nullable(INTEGER),
                "description": "关联账号：本人、本机构成员（机构管理员）或任意账号（管理员）",
            },
            "self": {**BOOL, "description": "true：创建本人的专家档案（关联调用者账号，每个账号一份）"},
            "field_codes": {"type": "array", "items": STRING, "description": "技术领域代码，1–8 个"},
            "expertise": STRING,
            "achievements_text": TEXT,
            "available_evaluation": BOOL,
            "available_consulting": BOOL,
            "phone": TEXT,
            "email": TEXT,
            "active": {**BOOL, "description": "仅修改时：false 停用（不删除），true 恢复"},
        },
    },
    "Instrument": {
        "type": "object",
        "required": ["id", "name", "organization", "status"],
        "properties": {
            "id": INTEGER,
            "name": STRING,
            "model": TEXT,
            "manufacturer": TEXT,
            "organization": ORG_REF,
            "field_code": TEXT,
            "field": TEXT,
            "specs": TEXT,
            "district": TEXT,
            "district_name": TEXT,
            "address": TEXT,
            "fee": AMOUNT,
            "fee_unit": TEXT,
            "fee_text": STRING,
            "availability_notes": TEXT,
            "status": labeled(InstrumentStatus),
            "contact_name": TEXT,
            "contact_phone": TEXT,
            "contact_email": TEXT,
            "url": STRING,
        },
    },
    "InstrumentInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "name": STRING,
            "model": TEXT,
            "manufacturer": TEXT,
            "field_code": TEXT,
            "specs": TEXT,
            "district": {**STRING, "description": "区县代码或名称"},
            "address": STRING,
            "fee": {**TEXT, "description": '收费金额（元），十进制字符串，如 "300.00"；不填为面议'},
            "fee_unit": {**TEXT, "description": "元/小时、元/样品 …（填写 fee 时必填）"},
            "availability_notes": TEXT,
            "status": {"type": "string", "enum": [m.value for m in InstrumentStatus]},
            "contact_name": TEXT,
            "contact_phone": TEXT,
            "contact_email": TEXT,
        },
    },
    "Booking": {
        "type": "object",
        "required": ["id", "instrument_id", "starts_at", "ends_at", "status"],
        "description": "requester_org 及以下字段只对仪器所属机构和申请方返回",
        "properties": {
            "id": INTEGER,
            "instrument_id": INTEGER,
            "starts_at": DATETIME,
            "ends_at": DATETIME,
            "status": labeled(BookingStatus),
            "requester_org": ORG_REF,
            "requester": TEXT,
            "purpose": TEXT,
            "sample_description": TEXT,
            "decline_reason": TEXT,
            "decided_at": DATETIME,
            "created_at": DATETIME,
        },
    },
    "Team": {
        "type": "object",
        "required": ["achievement_id", "items"],
        "properties": {
            "achievement_id": INTEGER,
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"expert": ref("Expert"), "team_role": TEXT}},
            },
        },
    },
}


def _op(
    op_id: str, summary: str, responses: dict[str, Any], *, secured: bool = False, body: str | None = None, **extra
):
    out: dict[str, Any] = {"operationId": op_id, "tags": ["resources"], "summary": summary, "responses": responses}
    if secured:
        out["security"] = SECURED
    if body:
        out["requestBody"] = {"required": True, **json_content(ref(body))}
    out.update(extra)
    return out


def _ok(schema: dict[str, Any], description: str = "成功") -> dict[str, Any]:
    return {"description": description, **json_content(schema)}


def paths() -> dict[str, Any]:
    return {
        "/experts": {
            "get": _op(
                "list_experts",
                "科技人才库：检索专家（中文全文检索 q，领域、可评价/可咨询、机构筛选，分页）",
                {"200": _ok(_page_of("Expert")), **errors(422)},
                parameters=[
                    query("q", "关键词：研究方向、代表性成果、姓名（经搜索索引；只取前 200 字）"),
                    query("field", "技术领域代码（一级代码含其二级领域）"),
                    query("evaluation", "1：只看可参与成果评价的专家"),
                    query("consulting", "1：只看可提供技术咨询的专家"),
                    query("org", "所在平台机构编号", INTEGER),
                    *PAGE_PARAMS,
                ],
            ),
            "post": _op(
                "create_expert",
                "添加专家（管理员：任意；机构管理员：本机构；个人：本人档案 self=true）",
                {"201": _ok(ref("Expert"), "已创建"), **errors(400, 401, 403, 422)},
                secured=True,
                body="ExpertInput",
            ),
        },
        "/experts/{expert_id}": {
            "parameters": [EXPERT_ID],
            "get": _op("get_expert", "专家详情（联系方式按权限返回）", {"200": _ok(ref("Expert")), **errors(404)}),
            "patch": _op(
                "update_expert",
                "修改专家（管理员、本机构管理员、专家本人）；active=false 停用",
                {"200": _ok(ref("Expert")), **errors(400, 401, 403, 404, 409, 422)},
                secured=True,
                body="ExpertInput",
            ),
        },
        "/achievements/{achievement_id}/team": {
            "parameters": [ACHIEVEMENT_ID],
            "get": _op("get_achievement_team", "成果团队成员", {"200": _ok(ref("Team")), **errors(404)}),
            "post": _op(
                "add_achievement_team_member",
                "添加团队成员（成果所属机构）",
                {"201": _ok(ref("Team"), "已添加"), **errors(400, 401, 403, 404, 422)},
                secured=True,
                requestBody={
                    "required": True,
                    **json_content(
                        {
                            "type": "object",
                            "required": ["expert_id"],
                            "additionalProperties": False,
                            "properties": {"expert_id": INTEGER, "team_role": TEXT},
                        }
                    ),
                },
            ),
        },
        "/achievements/{achievement_id}/team/{expert_id}": {
            "parameters": [ACHIEVEMENT_ID, EXPERT_ID],
            "delete": _op(
                "remove_achievement_team_member",
                "移除团队成员（成果所属机构）",
                {"200": _ok(ref("Team")), **errors(401, 403, 404)},
                secured=True,
            ),
        },
        "/instruments": {
            "get": _op(
                "list_instruments",
                "大型科学仪器共享：仪器目录（关键词、领域、区县、状态、机构筛选，分页）",
                {"200": _ok(_page_of("Instrument")), **errors(422)},
                parameters=[
                    query("q", "关键词：名称、型号、厂商、技术指标（只取前 100 字）"),
                    query("field", "技术领域代码"),
                    query("district", "区县代码"),
                    query("status", "available 或 maintenance"),
                    query("org", "所属机构编号", INTEGER),
                    *PAGE_PARAMS,
                ],
            ),
            "post": _op(
                "create_instrument",
                "发布共享仪器（已认证机构的成员）",
                {"201": _ok(ref("Instrument"), "已创建"), **errors(400, 401, 403, 422)},
                secured=True,
                body="InstrumentInput",
            ),
        },
        "/instruments/{instrument_id}": {
            "parameters": [INSTRUMENT_ID],
            "get": _op("get_instrument", "仪器详情", {"200": _ok(ref("Instrument")), **errors(404)}),
            "patch": _op(
                "update_instrument",
                "修改仪器（所属机构成员）",
                {"200": _ok(ref("Instrument")), **errors(400, 401, 403, 404, 422)},
                secured=True,
                body="InstrumentInput",
            ),
        },
        "/instruments/{instrument_id}/bookings": {
            "parameters": [INSTRUMENT_ID],
            "get": _op(
                "list_instrument_bookings",
                "仪器的预约：已确认时段对所有人公开；所属机构另见待确认申请及详情，申请方见自己的",
                {
                    "200": _ok(
                        {
                            "type": "object",
                            "properties": {
                                "instrument_id": INTEGER,
                                "items": {"type": "array", "items": ref("Booking")},
                            },
                        }
                    ),
                    **errors(404, 422),
                },
                parameters=[
                    query("from", "起始时间（ISO 8601；不带时区按北京时间），默认一周前", STRING),
                    query("to", "结束时间，默认 from 之后 60 天，最多一年", STRING),
                ],
            ),
            "post": _op(
                "request_instrument_booking",
                "申请预约（已加入机构的用户，仪器所属机构除外）；与已确认预约重叠时 409",
                {"201": _ok(ref("Booking"), "已提交，待确认"), **errors(400, 401, 403, 404, 409, 422)},
                secured=True,
                requestBody={
                    "required": True,
                    **json_content(
                        {
                            "type": "object",
                            "required": ["starts_at", "ends_at", "purpose"],
                            "additionalProperties": False,
                            "properties": {
                                "starts_at": {
                                    **STRING,
                                    "description": "ISO 8601；不带时区按北京时间，如 2026-12-10T09:00",
                                },
                                "ends_at": {**STRING, "description": "晚于 starts_at，时长 15 分钟至 14 天"},
                                "purpose": STRING,
                                "sample_description": TEXT,
                            },
                        }
                    ),
                },
            ),
        },
        "/bookings/{booking_id}/approve": {
            "parameters": [BOOKING_ID],
            "post": _op(
                "approve_instrument_booking",
                "确认预约（仪器所属机构）；与另一已确认预约重叠时 409，不作任何改变",
                {"200": _ok(ref("Booking")), **errors(401, 403, 404, 409)},
                secured=True,
            ),
        },
        "/bookings/{booking_id}/decline": {
            "parameters": [BOOKING_ID],
            "post": _op(
                "decline_instrument_booking",
                "拒绝预约（仪器所属机构，须填写原因）",
                {"200": _ok(ref("Booking")), **errors(400, 401, 403, 404, 409, 422)},
                secured=True,
                requestBody={
                    "required": True,
                    **json_content({"type": "object", "required": ["reason"], "properties": {"reason": STRING}}),
                },
            ),
        },
        "/bookings/{booking_id}/cancel": {
            "parameters": [BOOKING_ID],
            "post": _op(
                "cancel_instrument_booking",
                "取消预约（申请方；待确认或已确认的均可）",
                {"200": _ok(ref("Booking")), **errors(401, 403, 404, 409)},
                secured=True,
            ),
        },
    }


openapi.register(paths, schemas=SCHEMAS, tags=[{"name": "resources", "description": "科技人才库与大型科学仪器共享"}])
