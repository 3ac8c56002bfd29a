"""GET /api/v1/openapi.json: the OpenAPI 3.1 document of every /api/v1 endpoint.

Written by hand next to the views it describes; `tests/web/test_api.py` walks the URL map and
fails when an endpoint is missing here, and checks real responses against the schemas. Enum
values come from the taxonomy so the document cannot drift from what the API accepts."""

from __future__ import annotations

from typing import Any

from flask import jsonify

from ..core.taxonomy import (
    DemandType,
    IPType,
    LabeledEnum,
    ListingStatus,
    Maturity,
    MembershipStatus,
    OrgType,
    PriceKind,
    Role,
)
from ..core.taxonomy import TransferMode as TransferModeEnum
from ..listings.services import SORTS, TRANSITIONS
from ..search_params import (
    ALL_FILTER_PARAMS,
    FILTER_PARAMS,
    KIND_LABELS,
    MAX_PAGE,
    MAX_QUERY_CHARS,
    PRICE_BAND_LABELS,
    SORT_LABELS,
)
from . import bp

Schema = dict[str, Any]


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(schema: Schema) -> Schema:
    if "$ref" in schema:
        return {"oneOf": [schema, {"type": "null"}]}
    extra = {"enum": [*schema["enum"], None]} if "enum" in schema else {}
    return {**schema, "type": [schema["type"], "null"], **extra}


def codes(enum: type[LabeledEnum]) -> list[str]:
    return [m.value for m in enum]


def labeled(enum: type[LabeledEnum]) -> Schema:
    """{"code", "label"} of one enumeration member."""
    return {
        "type": "object",
        "required": ["code", "label"],
        "properties": {"code": {"type": "string", "enum": codes(enum)}, "label": {"type": "string"}},
    }


STRING = {"type": "string"}
TEXT = nullable(STRING)
INTEGER = {"type": "integer"}
DATETIME = nullable({"type": "string", "format": "date-time", "description": "UTC, ISO 8601 with 'Z'"})
AMOUNT = nullable(
    {
        "type": "string",
        "pattern": r"^\d+\.\d{2}$",
        "description": 'Decimal yuan as a string (never a float), e.g. "500000.00"',
    }
)

LISTING_ID = {"name": "listing_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}
SECURED = [{"bearerAuth": []}]
OPTIONAL_AUTH = [{}, {"bearerAuth": []}]

KINDS = {
    "achievement": {"plural": "achievements", "schema": "Achievement", "label": "科技成果"},
    "demand": {"plural": "demands", "schema": "Demand", "label": "技术需求"},
}


def error_response(description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": ref("Error")}}}


RESPONSES = {
    "BadRequest": error_response("请求有误：请求体不是 JSON 对象，或 CSRF 校验失败（code: csrf_failed）"),
    "Unauthorized": {
        **error_response("缺少有效的令牌或登录会话；令牌无效、已吊销或账号已停用"),
        "headers": {"WWW-Authenticate": {"schema": STRING}},
    },
    "Forbidden": error_response("无权执行此操作"),
    "NotFound": error_response("对象不存在"),
    "Conflict": error_response("当前状态不允许此操作（如非法的状态流转、机构未认证）"),
    "ValidationFailed": error_response("字段校验失败；error.fields 给出每个字段的原因"),
    "TooLarge": error_response("请求体超过大小限制（MAX_UPLOAD_MB，默认 20MB；code: too_large）"),
}


def errors(*statuses: int) -> dict[str, Schema]:
    names = {
        400: "BadRequest",
        401: "Unauthorized",
        403: "Forbidden",
        404: "NotFound",
        409: "Conflict",
        413: "TooLarge",
        422: "ValidationFailed",
    }
    return {str(s): {"$ref": f"#/components/responses/{names[s]}"} for s in statuses}


def json_content(schema: Schema) -> Schema:
    return {"content": {"application/json": {"schema": schema}}}


def query(name: str, description: str, schema: Schema | None = None) -> Schema:
    """An optional query parameter. An empty value counts as not given (as a search form sends
    it), so a parameter with a list of values also accepts ""."""
    schema = schema or STRING
    if "enum" in schema and "" not in schema["enum"]:
        schema = {**schema, "enum": [*schema["enum"], ""]}
    elif schema.get("type") == "integer":
        schema = {"anyOf": [schema, {"const": ""}], **({"default": schema["default"]} if "default" in schema else {})}
    return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}


def list_parameters(kind: str) -> list[Schema]:
    common = [
        query("q", "关键词，按空格分词匹配名称、简介/描述和关键词", {"type": "string", "maxLength": 200}),
        query("field", "技术领域代码（含下级领域），也可用名称"),
        query("district", "区县代码或名称"),
    ]
    if kind == "achievement":
        specific = [
            query("maturity", "成熟度", {"type": "string", "enum": codes(Maturity)}),
            query("transfer_mode", "转化方式", {"type": "string", "enum": codes(TransferModeEnum)}),
            query("ip_type", "知识产权类型", {"type": "string", "enum": codes(IPType)}),
            query("price_min", "价格下限（元，可带单位，如 50万）"),
            query("price_max", "价格上限（元，可带单位）"),
        ]
    else:
        specific = [
            query("demand_type", "需求类型", {"type": "string", "enum": codes(DemandType)}),
            query("budget_min", "预算下限（元，可带单位，如 10万）"),
            query("budget_max", "预算上限（元，可带单位）"),
        ]
    paging = [
        query("sort", "排序", {"type": "string", "enum": list(SORTS), "default": "newest"}),
        query("page", "页码", {"type": "integer", "minimum": 1, "default": 1}),
        query("per_page", "每页条数", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
        query("mine", "1：本机构的全部信息（任何状态，需登录）", {"type": "string", "enum": ["0", "1"]}),
        query("status", "与 mine=1 同用，按状态筛选", {"type": "string", "enum": codes(ListingStatus)}),
    ]
    return common + specific + paging


def listing_paths(kind: str) -> dict[str, Schema]:
    meta = KINDS[kind]
    plural, schema, label = meta["plural"], meta["schema"], meta["label"]
    item = json_content(ref(schema))
    action_body = {"required": False, **json_content(ref("ActionInput"))}
    actions = {
        "submit": ("提交审核（所属机构成员；机构须已认证）", "草稿或已撤回 → 待审核"),
        "withdraw": ("撤回（所属机构成员或管理员）", "待审核或已发布 → 已撤回"),
        "close": ("关闭（所属机构成员或管理员）", "已发布、已撤回或已过期 → 已关闭"),
    }
    paths: dict[str, Schema] = {
        f"/{plural}": {
            "get": {
                "operationId": f"list_{plural}",
                "tags": [plural],
                "summary": f"{label}列表（公开：仅已发布）",
                "security": OPTIONAL_AUTH,
                "parameters": list_parameters(kind),
                "responses": {
                    "200": {"description": "一页结果", **json_content(ref(f"{schema}Page"))},
                    **errors(401, 403, 422),
                },
            },
            "post": {
                "operationId": f"create_{kind}",
                "tags": [plural],
                "summary": f"新建{label}草稿",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref(f"{schema}Input"))},
                "responses": {
                    "201": {"description": "已创建草稿", "headers": {"Location": {"schema": STRING}}, **item},
                    **errors(400, 401, 403, 422),
                },
            },
        },
        f"/{plural}/{{listing_id}}": {
            "parameters": [LISTING_ID],
            "get": {
                "operationId": f"get_{kind}",
                "tags": [plural],
                "summary": f"{label}详情",
                "description": "已发布的信息任何人可看；其他状态仅所属机构、管理员和科技管理人员可看。",
                "security": OPTIONAL_AUTH,
                "responses": {"200": {"description": label, **item}, **errors(401, 403, 404)},
            },
            "patch": {
                "operationId": f"update_{kind}",
                "tags": [plural],
                "summary": f"修改{label}（草稿或已撤回）",
                "description": "只需给出要修改的字段；其余保留原值。校验失败时不做任何修改。",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref(f"{schema}Patch"))},
                "responses": {"200": {"description": "修改后的对象", **item}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
        f"/{plural}/{{listing_id}}/review": {
            "parameters": [LISTING_ID],
            "post": {
                "operationId": f"review_{kind}",
                "tags": [plural],
                "summary": "审核（平台管理员）",
                "description": "approve：待审核 → 已发布；reject：待审核 → 草稿，须填写原因。",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(ref("ReviewInput"))},
                "responses": {"200": {"description": "审核后的对象", **item}, **errors(400, 401, 403, 404, 409, 422)},
            },
        },
    }
    for action, (summary, description) in actions.items():
        paths[f"/{plural}/{{listing_id}}/{action}"] = {
            "parameters": [LISTING_ID],
            "post": {
                "operationId": f"{action}_{kind}",
                "tags": [plural],
                "summary": summary,
                "description": description,
                "security": SECURED,
                "requestBody": action_body,
                "responses": {"200": {"description": "操作后的对象", **item}, **errors(400, 401, 403, 404, 409, 422)},
            },
        }
    return paths


def search_paths() -> dict[str, Schema]:
    applies = {
        param: "、".join(kind for kind, params in FILTER_PARAMS.items() if param in params)
        for param in ALL_FILTER_PARAMS
    }
    parameters = [
        query(
            "q",
            "搜索词：中文、英文或混合，繁体与全角字符自动归一；引号中的内容按短语搜索；为空时按最新发布浏览",
            {"type": "string", "maxLength": MAX_QUERY_CHARS},
        ),
        query("type", "搜索对象", {"type": "string", "enum": list(KIND_LABELS), "default": "achievement"}),
        query("field", f"技术领域代码（一级如 01，或二级如 0105），也可用名称；适用于 {applies['field']}"),
        query("district", f"区县代码或名称；适用于 {applies['district']}"),
        query("maturity", "成熟度（仅 achievement）", {"type": "string", "enum": codes(Maturity)}),
        query("transfer_mode", "转化方式（仅 achievement）", {"type": "string", "enum": codes(TransferModeEnum)}),
        query("ip_type", "知识产权类型（仅 achievement）", {"type": "string", "enum": codes(IPType)}),
        query("demand_type", "需求类型（仅 demand）", {"type": "string", "enum": codes(DemandType)}),
        query(
            "price_band",
            "价格区间（成果价格或需求预算）：" + "、".join(f"{c}={label}" for c, label in PRICE_BAND_LABELS.items()),
            {"type": "string", "enum": list(PRICE_BAND_LABELS)},
        ),
        query("org_type", "机构类型（仅 organization）", {"type": "string", "enum": codes(OrgType)}),
        query(
            "sort",
            "排序："
            + "、".join(f"{k}={v}" for k, v in SORT_LABELS.items())
            + "；有搜索词时默认 relevance，否则 newest；"
            "机构不支持按价格排序",
            {"type": "string", "enum": list(SORT_LABELS)},
        ),
        query("page", "页码", {"type": "integer", "minimum": 1, "maximum": MAX_PAGE, "default": 1}),
        query("per_page", "每页条数", {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}),
    ]
    return {
        "/search": {
            "get": {
                "operationId": "search",
                "tags": ["search"],
                "summary": "全文搜索（公开：仅已发布的成果和需求、已认证的机构）",
                "description": (
                    "中文分词全文检索，返回高亮片段、分面计数和无结果时的建议词。筛选参数只适用于对应的 type，"
                    "用于其他 type 或取值无效时返回 422，error.fields 指出每个有误的参数。"
                ),
                "security": OPTIONAL_AUTH,
                "parameters": parameters,
                "responses": {
                    "200": {"description": "一页结果", **json_content(ref("SearchResult"))},
                    **errors(401, 422),
                },
            }
        }
    }


SEARCH_ITEM = {
    "id": INTEGER,
    "type": {"type": "string", "enum": list(KIND_LABELS)},
    "title": STRING,
    "title_highlight": {**STRING, "description": "HTML：已转义的标题，命中词包在 <mark> 中"},
    "summary": {**STRING, "description": "纯文本摘要（成果简介、需求描述或机构介绍，最多 200 字）"},
    "highlight": {**STRING, "description": "HTML：已转义的正文片段，命中词包在 <mark> 中；浏览模式为空"},
    "score": {"type": "number", "description": "相关度得分（同一次搜索内可比较）"},
    "url": {**STRING, "description": "网页地址"},
    "api_url": {**TEXT, "description": "API 详情地址；机构为 null"},
    "field": nullable(ref("Field")),
    "district": nullable(ref("District")),
    "organization": {**nullable(ref("OrganizationRef")), "description": "发布机构；机构条目为 null"},
    "price": {**nullable(ref("Price")), "description": "成果价格或需求预算；机构为 null"},
    "published_at": {**DATETIME, "description": "发布时间（机构为认证时间）"},
}
SEARCH_ITEM_EXTRA = {
    "maturity": nullable(ref("Maturity")),
    "ip_type": nullable(ref("IPType")),
    "transfer_modes": {"type": "array", "items": ref("TransferMode")},
    "demand_type": nullable(ref("DemandType")),
    "org_type": nullable(labeled(OrgType)),
}


PRICE_INPUT = {
    "description": "金额（元，可带单位 元/万元/亿元）、区间（如 100万-200万）、“面议”，或对象形式",
    "oneOf": [
        {"type": "string", "examples": ["50万元", "100万-200万", "面议"]},
        {
            "type": "object",
            "required": ["kind"],
            "additionalProperties": False,
            "properties": {
                "kind": {"type": "string", "enum": codes(PriceKind)},
                "low": {"type": ["string", "number", "null"]},
                "high": {"type": ["string", "number", "null"]},
            },
        },
    ],
}
LIST_INPUT = {
    "description": "数组，或以 ；;，,、 或空格分隔的字符串",
    "oneOf": [{"type": "array", "items": STRING}, STRING],
}
COMMON_INPUT = {
    "title": {"type": "string", "maxLength": 200},
    "field": {"type": "string", "description": "技术领域代码或名称（如 0303 或 先进制造›自动化与控制）"},
    "keywords": LIST_INPUT,
    "district": TEXT,
    "contact_name": TEXT,
    "contact_phone": TEXT,
    "contact_email": TEXT,
}
ACHIEVEMENT_INPUT = {
    **COMMON_INPUT,
    "summary": {"type": "string", "maxLength": 5000},
    "detail": TEXT,
    "problem": TEXT,
    "advantages": TEXT,
    "application_scope": TEXT,
    "team": TEXT,
    "maturity": {"type": "string", "enum": codes(Maturity), "description": "代码或中文名称"},
    "trl": {"type": ["integer", "string", "null"], "description": "1–9"},
    "ip_type": {"type": "string", "enum": codes(IPType), "description": "代码或中文名称"},
    "patent_numbers": {**LIST_INPUT, "description": "专利号（如 ZL201720001285.X），校验位会被检查"},
    "transfer_modes": {**LIST_INPUT, "description": "转化方式代码或名称：" + "、".join(codes(TransferModeEnum))},
    "price": PRICE_INPUT,
}
DEMAND_INPUT = {
    **COMMON_INPUT,
    "description": {"type": "string", "maxLength": 10000},
    "demand_type": {"type": "string", "enum": codes(DemandType), "description": "代码或中文名称"},
    "budget": PRICE_INPUT,
    "valid_until": nullable({"type": "string", "format": "date"}),
}


def input_schema(properties: Schema, required: list[str]) -> Schema:
    return {
        "type": "object",
        "additionalProperties": False,
        "required": required,
        "properties": properties,
        "description": "未列出的字段会被拒绝（422，error.fields 中指出）",
    }


LISTING_COMMON = {
    "id": INTEGER,
    "kind": {"type": "string", "enum": list(KINDS)},
    "title": STRING,
    "field": nullable(ref("Field")),
    "keywords": {"type": "array", "items": STRING},
    "district": nullable(ref("District")),
    "contact": {**nullable(ref("Contact")), "description": "仅对登录用户返回"},
    "organization": ref("OrganizationRef"),
    "status": labeled(ListingStatus),
    "review_reason": {**TEXT, "description": "驳回原因，仅所属机构和管理员可见"},
    "view_count": INTEGER,
    "created_at": DATETIME,
    "updated_at": DATETIME,
    "published_at": DATETIME,
    "allowed_actions": {
        "type": "array",
        "items": {"type": "string", "enum": list(TRANSITIONS)},
        "description": "当前调用者可执行的状态操作；approve/reject 通过 /review 执行",
    },
    "can_edit": {"type": "boolean"},
    "links": ref("Links"),
}
ACHIEVEMENT = {
    **LISTING_COMMON,
    "summary": STRING,
    "detail": {**TEXT, "description": "详细内容：仅已认证机构的登录用户、所属机构和管理员可见，否则为 null"},
    "problem": TEXT,
    "advantages": TEXT,
    "application_scope": TEXT,
    "team": TEXT,
    "maturity": nullable(ref("Maturity")),
    "trl": nullable(INTEGER),
    "ip_type": nullable(ref("IPType")),
    "patent_numbers": {"type": "array", "items": STRING},
    "transfer_modes": {"type": "array", "items": ref("TransferMode")},
    "price": ref("Price"),
}
DEMAND = {
    **LISTING_COMMON,
    "description": STRING,
    "demand_type": nullable(ref("DemandType")),
    "budget": ref("Price"),
    "valid_until": nullable({"type": "string", "format": "date"}),
}


def page_schema(item: str) -> Schema:
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


def closed_object(properties: Schema) -> Schema:
    return {"type": "object", "required": list(properties), "properties": properties}


SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message", "fields"],
                "properties": {
                    "code": {"type": "string", "examples": ["validation_failed", "csrf_failed", "unauthorized"]},
                    "message": {"type": "string", "description": "给人看的中文说明"},
                    "fields": {
                        "type": "object",
                        "additionalProperties": STRING,
                        "description": "字段名 → 中文原因；没有字段错误时为 {}",
                    },
                },
            }
        },
    },
    "Me": closed_object(
        {
            "id": INTEGER,
            "email": STRING,
            "name": STRING,
            "role": {"type": "string", "enum": codes(Role)},
            "role_label": STRING,
            "organization": nullable(ref("Organization")),
            "membership_status": nullable({"type": "string", "enum": codes(MembershipStatus)}),
        }
    ),
    "Organization": closed_object(
        {"id": INTEGER, "name": STRING, "type": labeled(OrgType), "verified": {"type": "boolean"}}
    ),
    "OrganizationRef": closed_object({"id": INTEGER, "name": STRING, "verified": {"type": "boolean"}}),
    "Field": closed_object(
        {"code": STRING, "name": STRING, "path": {**STRING, "examples": ["先进制造 › 自动化与控制"]}}
    ),
    "District": closed_object({"code": STRING, "name": STRING}),
    "Contact": closed_object({"name": TEXT, "phone": TEXT, "email": TEXT}),
    "Price": closed_object(
        {
            "kind": {"type": "string", "enum": codes(PriceKind)},
            "low": AMOUNT,
            "high": AMOUNT,
            "display": {**STRING, "examples": ["50 万元", "面议"]},
        }
    ),
    "Links": closed_object({"self": STRING, "html": TEXT, "collection": STRING}),
    "Maturity": labeled(Maturity),
    "IPType": labeled(IPType),
    "TransferMode": labeled(TransferModeEnum),
    "DemandType": labeled(DemandType),
    "Achievement": closed_object(ACHIEVEMENT),
    "Demand": closed_object(DEMAND),
    "AchievementPage": page_schema("Achievement"),
    "DemandPage": page_schema("Demand"),
    "SearchItem": {
        "type": "object",
        "required": list(SEARCH_ITEM),
        "properties": SEARCH_ITEM | SEARCH_ITEM_EXTRA,
        "description": "成果另有 maturity、ip_type、transfer_modes；需求另有 demand_type；机构另有 org_type",
    },
    "SearchResult": closed_object(
        {
            "type": {"type": "string", "enum": list(KIND_LABELS)},
            "q": {**STRING, "description": "实际搜索的词（去除控制字符、合并空白后）"},
            "sort": {"type": "string", "enum": list(SORT_LABELS)},
            "total": INTEGER,
            "page": INTEGER,
            "per_page": INTEGER,
            "pages": INTEGER,
            "items": {"type": "array", "items": ref("SearchItem")},
            "facets": {
                "type": "object",
                "description": "分面计数，按筛选参数名分组：参数名 → {代码: 条数}；field 同时含一级和二级领域代码",
                "additionalProperties": {"type": "object", "additionalProperties": INTEGER},
            },
            "suggestions": {"type": "array", "items": STRING, "description": "无结果或结果很少时建议的搜索词"},
            "took_ms": {"type": "number"},
        }
    ),
    "AchievementInput": input_schema(
        ACHIEVEMENT_INPUT, ["title", "summary", "field", "maturity", "ip_type", "transfer_modes"]
    ),
    "AchievementPatch": input_schema(ACHIEVEMENT_INPUT, []),
    "DemandInput": input_schema(DEMAND_INPUT, ["title", "description", "field", "demand_type"]),
    "DemandPatch": input_schema(DEMAND_INPUT, []),
    "ActionInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {"reason": {**TEXT, "maxLength": 2000}},
    },
    "ReviewInput": {
        "type": "object",
        "additionalProperties": False,
        "required": ["decision"],
        "properties": {
            "decision": {"type": "string", "enum": ["approve", "reject"]},
            "reason": {**TEXT, "maxLength": 2000, "description": "驳回时必填"},
        },
    },
}


def matches_paths() -> dict[str, Schema]:
    """GET /{plural}/{id}/matches: recommendations (marketplace/matching.py)."""
    item = closed_object(
        {
            "id": {"type": "integer"},
            "title": STRING,
            "score": {
                "type": "number",
                "description": "加权总分：文本相关度、领域、成熟度、价格、区县（权重见 MATCH_WEIGHTS）",
            },
            "reasons": {
                "type": "array",
                "items": STRING,
                "description": "中文推荐理由，如“共同关键词：直接还原、氢冶金”",
            },
            "url": {**STRING, "description": "网页地址"},
        }
    )
    body = json_content(closed_object({"items": {"type": "array", "items": item}}))
    paths: dict[str, Schema] = {}
    for kind, other in (("demand", "achievement"), ("achievement", "demand")):
        meta, target = KINDS[kind], KINDS[other]
        paths[f"/{meta['plural']}/{{listing_id}}/matches"] = {
            "parameters": [LISTING_ID],
            "get": {
                "operationId": f"{kind}_matches",
                "tags": [meta["plural"]],
                "summary": f"为该{meta['label']}推荐的{target['label']}（按得分排序，附推荐理由）",
                "description": (
                    f"该{meta['label']}须对调用者可见（规则同详情）；推荐对象只含已发布的{target['label']}，"
                    "不含本机构发布的信息。"
                ),
                "security": OPTIONAL_AUTH,
                "parameters": [
                    query(
                        "limit",
                        "返回条数，1–50，默认 10",
                        {"type": "integer", "minimum": 1, "maximum": 50, "default": 10},
                    )
                ],
                "responses": {"200": {"description": "推荐列表", **body}, **errors(401, 403, 404, 422)},
            },
        }
    return paths


def suggest_paths() -> dict[str, Schema]:
    """POST /suggest: keywords and a field for a listing being written (marketplace/api/suggest.py)."""
    scored = closed_object({"code": STRING, "name": STRING, "path": STRING, "score": {"type": "number"}})
    body = {
        "type": "object",
        "additionalProperties": False,
        "required": ["text"],
        "properties": {
            "text": {
                **STRING,
                "minLength": 1,
                "maxLength": 20000,
                "description": "成果简介或需求描述（最多 20,000 字）",
            },
            "title": {**STRING, "maxLength": 200, "description": "名称（可选，权重加倍）"},
            "kind": {"type": "string", "enum": ["achievement", "demand"], "default": "achievement"},
            "keywords": {"type": "array", "items": STRING, "description": "已填写的关键词，不再重复建议"},
        },
    }
    result = closed_object(
        {
            "kind": {"type": "string", "enum": ["achievement", "demand"]},
            "keywords": {
                "type": "array",
                "items": STRING,
                "description": "建议关键词（TF-IDF），最多 8 个，最好的在前",
            },
            "field": {
                **nullable(ref("Field")),
                "description": "建议的技术领域（把握较大时为二级领域）；文字太少时为 null",
            },
            "fields": {"type": "array", "items": scored, "description": "一级领域前 3 名及概率"},
        }
    )
    return {
        "/suggest": {
            "post": {
                "operationId": "suggest",
                "tags": ["suggest"],
                "summary": "发布时的关键词和技术领域建议（需登录，任何角色）",
                "description": "根据正在填写的文字建议关键词和技术领域，不保存任何内容。文字为空或超过 20,000 字时返回 422。",
                "security": SECURED,
                "requestBody": {"required": True, **json_content(body)},
                "responses": {"200": {"description": "建议", **json_content(result)}, **errors(400, 401, 422)},
            }
        }
    }


# Endpoint modules outside this file add their part of the document with `register()` when
# they are imported (deals, contracts, invoices): a function returning their paths, their
# component schemas and their tags.
_EXTENSIONS: list[tuple[Any, dict[str, Schema], list[Schema]]] = []


def register(paths: Any, schemas: dict[str, Schema] | None = None, tags: list[Schema] | None = None) -> None:
    _EXTENSIONS.append((paths, schemas or {}, tags or []))


def document() -> Schema:
    paths: dict[str, Schema] = {
        "/me": {
            "get": {
                "operationId": "get_me",
                "tags": ["me"],
                "summary": "当前调用者",
                "security": SECURED,
                "responses": {"200": {"description": "调用者", **json_content(ref("Me"))}, **errors(401)},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "get_openapi",
                "tags": ["meta"],
                "summary": "本文档（OpenAPI 3.1）",
                "security": OPTIONAL_AUTH,
                "responses": {
                    "200": {"description": "OpenAPI 文档", **json_content({"type": "object"})},
                    **errors(401),
                },
            }
        },
    }
    for kind in KINDS:
        paths |= listing_paths(kind)
    paths |= search_paths()
    paths |= suggest_paths()
    paths |= matches_paths()
    schemas = dict(SCHEMAS)
    extra_tags: list[Schema] = []
    for extension_paths, extension_schemas, extension_tags in _EXTENSIONS:
        paths |= extension_paths()
        schemas |= extension_schemas
        extra_tags += extension_tags
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "科技淘宝 API",
            "version": "1.0.0",
            "description": (
                "科技成果与技术需求的 JSON API。认证：`Authorization: Bearer <令牌>`（令牌由 "
                "`flask --app wsgi users token EMAIL` 生成，可吊销）；浏览器会话同样可用，但写操作须带 "
                'CSRF 令牌。错误统一为 {"error": {"code", "message", "fields"}}。金额为以元计的十进制'
                "字符串，时间为 UTC ISO 8601（带 Z）。"
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": SECURED,
        "tags": [
            {"name": "me"},
            {"name": "achievements", "description": "科技成果"},
            {"name": "demands", "description": "技术需求"},
            {"name": "search", "description": "全文搜索"},
            {"name": "suggest", "description": "发布建议"},
            *extra_tags,
            {"name": "meta"},
        ],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "API 令牌（kjtb_…），只存哈希，可吊销",
                }
            },
            "responses": RESPONSES,
            "schemas": schemas,
        },
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())
