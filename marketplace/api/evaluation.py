"""/api/v1 endpoints of 成果评价: the scoring model, requesting, the lists (mine / as assigner / as
expert), a request's detail, assigning the panel, submitting or revising a score sheet, closing,
cancelling, and the report PDF. Thin: parse, call `evaluation.services`, serialize; every endpoint
registered in the OpenAPI document through `openapi.register`."""

from __future__ import annotations

import io
from typing import Any

from flask import jsonify, request, send_file, url_for
from flask_login import login_required

from ..core.errors import NotFound, PermissionDenied, ValidationFailed
from ..evaluation import documents, scoring, services
from ..evaluation.models import EvaluationRequest, EvaluationStatus, MemberStatus
from ..extensions import db
from ..listings.models import Achievement
from . import bp, openapi
from .openapi import DATETIME, INTEGER, SECURED, STRING, TEXT, errors, json_content, labeled, nullable, ref
from .serializers import iso_utc
from .views import caller, committed, int_arg, json_body

REQUEST_KEYS = {"achievement_id", "purpose", "provider_org_id", "notes"}
SHEET_KEYS = {*scoring.DIMENSION_CODES, *(f"{c}_comment" for c in scoring.DIMENSION_CODES), "opinion"}
MAX_LIST = 100


def _only(body: dict[str, Any], allowed: set[str]) -> None:
    extra = sorted(set(body) - allowed)
    if extra:
        raise ValidationFailed(dict.fromkeys(extra, "不支持的字段，可用：" + "、".join(sorted(allowed))))


def _decimal(value) -> str | None:
    return None if value is None else f"{value:.2f}"


def serialize(item: EvaluationRequest, viewer: Any) -> dict[str, Any]:
    mine = services.member_of(item, viewer)
    result = services.result_of(item)
    data: dict[str, Any] = {
        "id": item.id,
        "achievement": {"id": item.achievement_id, "title": item.achievement.title},
        "organization": {"id": item.org_id, "name": item.organization.name},
        "provider": {"id": item.provider.id, "name": item.provider.name} if item.provider else None,
        "purpose": item.purpose,
        "notes": item.notes,
        "status": {"code": item.status, "label": item.status_label},
        "due_date": item.due_date.isoformat() if item.due_date else None,
        "created_at": iso_utc(item.created_at),
        "completed_at": iso_utc(item.completed_at),
        "panel": [
            {
                "expert_id": m.expert_id,
                "name": m.expert.name,
                "title": m.expert.title,
                "organization": m.expert.display_org,
                "status": {"code": m.status, "label": m.status_label},
                "withdrawn_reason": m.withdrawn_reason,
            }
            for m in item.members
        ],
        "overall": _decimal(item.overall),
        "grade": {"code": item.grade, "label": scoring.grade_text(item.grade)} if item.grade else None,
        "report_number": item.report_number,
        "badge_hidden": item.badge_hidden,
        "dimensions": None,
        "my_sheet": _sheet(mine) if mine is not None and mine.status == MemberStatus.SCORED.value else None,
        "url": url_for("evaluation.detail", request_id=item.id),
        "report_url": url_for("api.evaluation_report", request_id=item.id) if result else None,
    }
    if result is not None:
        data["dimensions"] = [
            {
                "code": r.dimension.code,
                "label": r.dimension.label,
                "weight": f"{r.dimension.weight:.2f}",
                "mean": _decimal(r.mean_2),
                "min": f"{r.minimum:.1f}",
                "max": f"{r.maximum:.1f}",
                "weighted": _decimal(r.weighted_2),
            }
            for r in result.dimensions
        ]
    return data


def _sheet(member) -> dict[str, Any]:
    sheet: dict[str, Any] = {"opinion": member.opinion, "submitted_at": iso_utc(member.submitted_at)}
    for row in member.scores:
        sheet[row.dimension] = f"{row.score:.1f}"
        sheet[f"{row.dimension}_comment"] = row.comment
    return sheet


@bp.get("/evaluations/model")
def evaluation_model():
    return jsonify(scoring.model_document())


@bp.post("/evaluations")
@login_required
def evaluation_create():
    if not services.requestable_achievements(caller()):
        raise PermissionDenied("只有拥有已发布科技成果的机构成员可以申请成果评价")
    body = json_body()
    _only(body, REQUEST_KEYS)
    raw_id = body.get("achievement_id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, int):
        raise ValidationFailed({"achievement_id": "须为整数编号"})
    achievement = db.session.get(Achievement, raw_id)
    item = services.create_request(caller(), achievement, body)
    location = url_for("evaluation.detail", request_id=item.id)
    return committed(lambda: serialize(item, caller()), 201, {"Location": location})


@bp.get("/evaluations")
@login_required
def evaluation_list():
    role = request.args.get("role", "mine")
    if role not in services.VIEWS:
        raise ValidationFailed({"role": "可选：mine（本机构的申请）、manage（由我组织）、expert（我的评审任务）"})
    limit = int_arg("limit", MAX_LIST, maximum=MAX_LIST)
    items = list(db.session.scalars(services.list_query(caller(), role).limit(limit)))
    return jsonify({"role": role, "items": [serialize(i, caller()) for i in items]})


@bp.get("/evaluations/<int:request_id>")
@login_required
def evaluation_detail(request_id: int):
    return jsonify(serialize(services.load(request_id, caller()), caller()))


@bp.post("/evaluations/<int:request_id>/panel")
@login_required
def evaluation_assign(request_id: int):
    item = services.load(request_id, caller())
    body = json_body()
    _only(body, {"experts", "due_date"})
    services.assign_panel(item, caller(), body.get("experts"), body.get("due_date"))
    return committed(lambda: serialize(item, caller()))


@bp.put("/evaluations/<int:request_id>/scores")
@login_required
def evaluation_scores(request_id: int):
    item = services.load(request_id, caller())
    body = json_body()
    _only(body, SHEET_KEYS)
    services.submit_scores(item, caller(), body)
    return committed(lambda: serialize(item, caller()))


@bp.post("/evaluations/<int:request_id>/close")
@login_required
def evaluation_close(request_id: int):
    item = services.load(request_id, caller())
    body = json_body(required=False)
    _only(body, {"withdrawn"})
    raw = body.get("withdrawn") or []
    if not isinstance(raw, list) or not all(isinstance(w, dict) for w in raw):
        raise ValidationFailed({"withdrawn": '须为列表：[{"expert_id": 1, "reason": "…"}]'})
    withdrawals = {str(w.get("expert_id")): w.get("reason") for w in raw}
    services.close_panel(item, caller(), withdrawals)
    return committed(lambda: serialize(item, caller()))


@bp.post("/evaluations/<int:request_id>/cancel")
@login_required
def evaluation_cancel(request_id: int):
    item = services.load(request_id, caller())
    body = json_body(required=False)
    _only(body, {"reason"})
    services.cancel(item, caller(), body.get("reason") if isinstance(body.get("reason"), str) else None)
    return committed(lambda: serialize(item, caller()))


@bp.get("/evaluations/<int:request_id>/report.pdf")
@login_required
def evaluation_report(request_id: int):
    item = db.session.get(EvaluationRequest, request_id)
    if item is None or item.status != EvaluationStatus.COMPLETED.value:
        raise NotFound("该成果评价尚未完成，没有评价报告")
    if not services.can_download_report(caller(), item):
        raise PermissionDenied("评价报告仅成果所属机构、评审专家、评价组织方、科技管理人员和管理员可以下载")
    return send_file(
        io.BytesIO(documents.render_report(item)),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=f"成果评价报告-{item.report_number}.pdf",
    )


# ---------------------------------------------------------------------------------------------
# OpenAPI

REQUEST_ID = {"name": "request_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
SCORE_IN = {
    "oneOf": [{"type": "number"}, {"type": "string"}],
    "description": "0–100，最多一位小数；超出范围返回 422“评分须在 0–100 之间”",
}
REF = {"type": "object", "properties": {"id": INTEGER, "name": STRING}}
SCHEMAS = {
    "EvaluationRequestInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["achievement_id", "purpose"],
        "properties": {
            "achievement_id": {**INTEGER, "description": "本机构已发布的科技成果"},
            "purpose": {**STRING, "maxLength": 200, "description": "评价目的"},
            "provider_org_id": {**nullable(INTEGER), "description": "已认证的成果评价服务机构；不填由平台组织"},
            "notes": {**TEXT, "maxLength": 2000},
        },
    },
    "EvaluationSheet": {
        "type": "object",
        "additionalProperties": False,
        "required": [*scoring.DIMENSION_CODES, *(f"{c}_comment" for c in scoring.DIMENSION_CODES), "opinion"],
        "properties": {
            **{
                c: {**SCORE_IN, "description": f"{scoring.BY_CODE[c].label}：{SCORE_IN['description']}"}
                for c in scoring.DIMENSION_CODES
            },
            **{
                f"{c}_comment": {**STRING, "description": f"{scoring.BY_CODE[c].label}评语"}
                for c in scoring.DIMENSION_CODES
            },
            "opinion": {**STRING, "description": "总体意见"},
        },
    },
    "Evaluation": {
        "type": "object",
        "required": ["id", "achievement", "organization", "status", "panel"],
        "properties": {
            "id": INTEGER,
            "achievement": {"type": "object", "properties": {"id": INTEGER, "title": STRING}},
            "organization": REF,
            "provider": nullable(REF),
            "purpose": STRING,
            "notes": TEXT,
            "status": labeled(EvaluationStatus),
            "due_date": nullable({"type": "string", "format": "date"}),
            "created_at": DATETIME,
            "completed_at": DATETIME,
            "panel": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "expert_id": INTEGER,
                        "name": STRING,
                        "title": TEXT,
                        "organization": STRING,
                        "status": labeled(MemberStatus),
                        "withdrawn_reason": TEXT,
                    },
                },
            },
            "overall": {**nullable(STRING), "description": "综合得分（两位小数），专家组关闭后才有"},
            "grade": nullable({"type": "object", "properties": {"code": STRING, "label": STRING}}),
            "report_number": TEXT,
            "badge_hidden": {"type": "boolean"},
            "dimensions": {
                **nullable({"type": "array", "items": {"type": "object"}}),
                "description": "各维度平均分、最低、最高、权重、加权得分；专家组关闭前为 null（评分不公开）",
            },
            "my_sheet": {**nullable({"type": "object"}), "description": "调用者本人（评审专家）的评分表"},
            "url": STRING,
            "report_url": nullable(STRING),
        },
    },
}


def paths() -> dict[str, Any]:
    one = json_content(ref("Evaluation"))
    tag = ["evaluation"]
    return {
        "/evaluations/model": {
            "get": {
                "operationId": "get_evaluation_model",
                "tags": tag,
                "summary": "成果评价模型：六个维度、权重、90/70/50/30 分的含义、等级与声明",
                "security": openapi.OPTIONAL_AUTH,
                "responses": {"200": {"description": "评分模型", **json_content({"type": "object"})}},
            }
        },
        "/evaluations": {
            "get": {
                "operationId": "list_evaluations",
                "tags": tag,
                "summary": "评价申请列表：mine 本机构的申请，manage 由我组织（管理员/评价机构），expert 我的评审任务",
                "security": SECURED,
                "parameters": [
                    openapi.query("role", "mine / manage / expert", {"type": "string", "enum": list(services.VIEWS)}),
                    openapi.query(
                        "limit", f"最多条数（1–{MAX_LIST}）", {"type": "integer", "minimum": 1, "maximum": MAX_LIST}
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "列表",
                        **json_content(
                            {
                                "type": "object",
                                "properties": {"role": STRING, "items": {"type": "array", "items": ref("Evaluation")}},
                            }
                        ),
                    },
                    **errors(401, 422),
                },
            },
            "post": {
                "operationId": "create_evaluation",
                "tags": tag,
                "summary": "申请成果评价（成果所属机构的成员；同一成果同时只能有一个进行中的申请）",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("EvaluationRequestInput"))},
                "responses": {"201": {"description": "已申请", **one}, **errors(400, 401, 403, 409, 422)},
            },
        },
        "/evaluations/{request_id}": {
            "parameters": [REQUEST_ID],
            "get": {
                "operationId": "get_evaluation",
                "tags": tag,
                "summary": "评价申请详情（申请机构、评价组织方、评审专家、科技管理人员、管理员）",
                "security": SECURED,
                "responses": {"200": {"description": "评价申请", **one}, **errors(401, 403, 404)},
            },
        },
        "/evaluations/{request_id}/panel": {
            "parameters": [REQUEST_ID],
            "post": {
                "operationId": "assign_evaluation_panel",
                "tags": tag,
                "summary": "组建评审专家组（管理员或选定的评价机构成员）：3–7 位无利益冲突的专家和截止日期",
                "security": SECURED,
                "requestBody": {
                    "required": True,
                    **json_content(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["experts", "due_date"],
                            "properties": {
                                "experts": {"type": "array", "items": INTEGER, "minItems": 3, "maxItems": 7},
                                "due_date": {"type": "string", "format": "date"},
                            },
                        }
                    ),
                },
                "responses": {"200": {"description": "已组建", **one}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/evaluations/{request_id}/scores": {
            "parameters": [REQUEST_ID],
            "put": {
                "operationId": "submit_evaluation_scores",
                "tags": tag,
                "summary": "提交或修改评分（本专家组的专家，专家组关闭前）",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("EvaluationSheet"))},
                "responses": {"200": {"description": "已保存", **one}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/evaluations/{request_id}/close": {
            "parameters": [REQUEST_ID],
            "post": {
                "operationId": "close_evaluation_panel",
                "tags": tag,
                "summary": "关闭专家组并计算结果、出具报告（全部评分，或至少 3 位评分且其余标记退出并说明原因）",
                "security": SECURED,
                "requestBody": {
                    "required": False,
                    **json_content(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "properties": {
                                "withdrawn": {
                                    "type": "array",
                                    "items": {
                                        "type": "object",
                                        "required": ["expert_id", "reason"],
                                        "properties": {"expert_id": INTEGER, "reason": STRING},
                                    },
                                }
                            },
                        }
                    ),
                },
                "responses": {"200": {"description": "已完成", **one}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/evaluations/{request_id}/cancel": {
            "parameters": [REQUEST_ID],
            "post": {
                "operationId": "cancel_evaluation",
                "tags": tag,
                "summary": "取消评价申请（申请机构的成员或管理员，专家组关闭前）",
                "security": SECURED,
                "requestBody": {
                    "required": False,
                    **json_content({"type": "object", "additionalProperties": False, "properties": {"reason": STRING}}),
                },
                "responses": {"200": {"description": "已取消", **one}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        "/evaluations/{request_id}/report.pdf": {
            "parameters": [REQUEST_ID],
            "get": {
                "operationId": "get_evaluation_report",
                "tags": tag,
                "summary": "成果评价报告 PDF（申请机构、评审专家、评价组织方、科技管理人员、管理员）",
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


openapi.register(paths, schemas=SCHEMAS, tags=[{"name": "evaluation", "description": "成果评价：专家组评分与评价报告"}])
