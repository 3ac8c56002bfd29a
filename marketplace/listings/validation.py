"""One place that turns raw listing input (a web form, an API body, an import row) into clean
column values, or a ValidationFailed naming each bad field in Chinese."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import current_app

from ..core.errors import ValidationFailed
from ..core.money import parse_price
from ..core.taxonomy import DemandType, IPType, Maturity, PriceKind, TransferMode
from ..core.validators import optional_value, split_list, validate_email_address, validate_patent_number, validate_phone

ACHIEVEMENT_FIELDS = (
    "title",
    "summary",
    "detail",
    "problem",
    "advantages",
    "application_scope",
    "field",
    "keywords",
    "maturity",
    "trl",
    "ip_type",
    "patent_numbers",
    "transfer_modes",
    "price",
    "district",
    "team",
    "contact_name",
    "contact_phone",
    "contact_email",
)
DEMAND_FIELDS = (
    "title",
    "description",
    "field",
    "keywords",
    "demand_type",
    "budget",
    "valid_until",
    "district",
    "contact_name",
    "contact_phone",
    "contact_email",
)
FIELD_LABELS = {
    "title": "名称",
    "summary": "简介",
    "detail": "详细内容",
    "problem": "解决的问题",
    "advantages": "技术优势",
    "application_scope": "应用范围",
    "field": "技术领域",
    "keywords": "关键词",
    "maturity": "成熟度",
    "trl": "技术就绪度(TRL)",
    "ip_type": "知识产权类型",
    "patent_numbers": "专利号",
    "transfer_modes": "转化方式",
    "price": "价格",
    "district": "所在区县",
    "team": "团队",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "contact_email": "联系邮箱",
    "description": "需求描述",
    "demand_type": "需求类型",
    "budget": "预算",
    "valid_until": "有效期至",
}
TEXT_LIMITS = {
    "title": 200,
    "summary": 10000,
    "detail": 20000,
    "problem": 5000,
    "advantages": 5000,
    "application_scope": 5000,
    "team": 5000,
    "description": 10000,
    "contact_name": 100,
    "contact_email": 200,
}
MAX_KEYWORDS = 10


def _text(data: dict[str, Any], key: str, errors: dict[str, str], *, required: bool = False) -> str | None:
    raw = data.get(key)
    value = "" if raw is None else str(raw).strip()
    # Control characters other than newlines and tabs never belong in listing text.
    value = "".join(ch for ch in value if ch in "\n\t" or ch >= " " or ch == "\r").replace("\r\n", "\n")
    if required and not value:
        errors[key] = f"请填写{FIELD_LABELS.get(key, key)}"
    elif len(value) > TEXT_LIMITS.get(key, 5000):
        errors[key] = f"{FIELD_LABELS.get(key, key)}不能超过{TEXT_LIMITS.get(key, 5000)}个字（当前{len(value)}个）"
    return value or None


def _enum(data, key, enum, errors, *, required=False):
    raw = data.get(key)
    if raw in (None, ""):
        if required:
            errors[key] = f"请选择{FIELD_LABELS[key]}"
        return None
    member = enum.parse(raw)
    if member is None:
        allowed = "、".join(m.label for m in enum)
        errors[key] = f"{FIELD_LABELS[key]}“{raw}”无效，可选：{allowed}"
        return None
    return member.value


def _common(data: dict[str, Any], errors: dict[str, str], out: dict[str, Any]) -> None:
    taxonomy = current_app.extensions["taxonomy"]
    out["title"] = _text(data, "title", errors, required=True)
    raw_field = data.get("field", data.get("field_code"))
    if raw_field in (None, ""):
        errors["field"] = "请选择技术领域"
    else:
        field = taxonomy.parse_field(raw_field)
        if field is None:
            errors["field"] = f"技术领域“{raw_field}”不在分类中"
        out["field_code"] = field.code if field else None
    keywords = split_list(data.get("keywords"))
    if len(keywords) > MAX_KEYWORDS:
        errors["keywords"] = f"关键词最多{MAX_KEYWORDS}个（当前{len(keywords)}个）"
    elif any(len(k) > 30 for k in keywords):
        errors["keywords"] = "每个关键词不能超过30个字"
    out["keywords"] = keywords
    raw_district = data.get("district")
    if raw_district not in (None, ""):
        district = taxonomy.parse_district(raw_district)
        if district is None:
            errors["district"] = f"所在区县“{raw_district}”不在可选范围内"
        out["district"] = district.code if district else None
    else:
        out["district"] = None
    out["contact_name"] = _text(data, "contact_name", errors)
    out["contact_phone"] = optional_value(data, "contact_phone", validate_phone, errors)
    out["contact_email"] = optional_value(data, "contact_email", validate_email_address, errors)


def _price(data, key, errors):
    raw = data.get(key)
    if isinstance(raw, dict):  # API form: {"kind": "range", "low": 100000, "high": 200000}
        kind = PriceKind.parse(raw.get("kind"))
        low, high = raw.get("low"), raw.get("high")
        if kind is None or kind == PriceKind.NEGOTIABLE:
            raw = "面议" if kind else raw.get("text", "")
        else:
            raw = f"{low}-{high}" if kind == PriceKind.RANGE else f"{low}"
    try:
        return parse_price(raw)
    except ValueError as exc:
        errors[key] = str(exc)
        return None


def clean_achievement(data: dict[str, Any]) -> dict[str, Any]:
    """Clean column values for an Achievement (an update merges the stored values first)."""
    _reject_unknown(data, ACHIEVEMENT_FIELDS + ("field_code",))
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    _common(data, errors, out)
    out["summary"] = _text(data, "summary", errors, required=True) or ""
    for key in ("detail", "problem", "advantages", "application_scope", "team"):
        out[key] = _text(data, key, errors)
    out["maturity"] = _enum(data, "maturity", Maturity, errors, required=True)
    trl = data.get("trl")
    if trl not in (None, ""):
        try:
            trl = int(str(trl).upper().removeprefix("TRL"))
        except ValueError:
            trl = -1
        if not 1 <= trl <= 9:
            errors["trl"] = "技术就绪度应为1到9之间的整数"
        out["trl"] = trl if 1 <= trl <= 9 else None
    else:
        out["trl"] = None
    out["ip_type"] = _enum(data, "ip_type", IPType, errors, required=True)
    numbers: list[str] = []
    for raw in split_list(data.get("patent_numbers")):
        try:
            number = validate_patent_number(raw)
        except ValueError as exc:
            errors["patent_numbers"] = str(exc)
            break
        if number not in numbers:
            numbers.append(number)
    out["patent_numbers"] = numbers
    if numbers and out["ip_type"] and not IPType(out["ip_type"]).is_patent:
        errors["patent_numbers"] = f"知识产权类型为“{IPType.label_of(out['ip_type'])}”时不应填写专利号，请核对类型"
    modes = []
    for raw in split_list(data.get("transfer_modes")):
        mode = TransferMode.parse(raw)
        if mode is None:
            errors["transfer_modes"] = f"转化方式“{raw}”无效，可选：" + "、".join(m.label for m in TransferMode)
            break
        if mode.value not in modes:
            modes.append(mode.value)
    if not modes and "transfer_modes" not in errors:
        errors["transfer_modes"] = "请至少选择一种转化方式"
    out["transfer_modes"] = modes
    price = _price(data, "price", errors)
    if price is not None:
        out["price_kind"], out["price_low"], out["price_high"] = price.kind.value, price.low, price.high
    return _finish(out, errors)


def clean_demand(data: dict[str, Any], *, today: date | None = None) -> dict[str, Any]:
    _reject_unknown(data, DEMAND_FIELDS + ("field_code",))
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    _common(data, errors, out)
    out["description"] = _text(data, "description", errors, required=True) or ""
    out["demand_type"] = _enum(data, "demand_type", DemandType, errors, required=True)
    budget = _price(data, "budget", errors)
    if budget is not None:
        out["budget_kind"], out["budget_low"], out["budget_high"] = budget.kind.value, budget.low, budget.high
    raw = data.get("valid_until")
    if raw in (None, ""):
        out["valid_until"] = None
    else:
        parsed = _parse_date(raw)
        if parsed is None:
            errors["valid_until"] = f"有效期“{raw}”无法识别，请按 2026-12-31 的格式填写"
        elif today is not None and parsed < today:
            errors["valid_until"] = "有效期不能早于今天"
        out["valid_until"] = parsed
    return _finish(out, errors)


def _parse_date(raw: object) -> date | None:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    text = str(raw).strip().replace("/", "-").replace(".", "-")
    text = text.replace("年", "-").replace("月", "-").replace("日", "")
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in text.split(" ")[0].split("-")))
    except ValueError:
        return None


def _reject_unknown(data: dict[str, Any], allowed: tuple[str, ...]) -> None:
    unknown = sorted(set(data) - set(allowed))
    if unknown:
        raise ValidationFailed(
            {key: "不支持的字段" for key in unknown}, message=f"包含不支持的字段：{'、'.join(unknown)}"
        )


def _finish(out: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    if errors:
        raise ValidationFailed(errors)
    return out
