"""Raw input (a web form, an API body, demo data) -> clean column values for challenges,
applications and scores, or a ValidationFailed naming each bad field in Chinese.

The deadline is entered as a date and a time in Asia/Shanghai and stored as naive UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app

from ..core.errors import ValidationFailed
from ..core.money import parse_amount
from ..core.taxonomy import OrgType
from ..core.timeutil import LOCAL_TZ, to_local
from ..core.validators import optional_value, parse_id, validate_phone

CHALLENGE_FIELDS = (
    "title",
    "problem",
    "indicators",
    "bounty",
    "deadline_date",
    "deadline_time",
    "criteria",
    "eligible_org_types",
    "field",
    "district",
    "contact_name",
    "contact_phone",
)
APPLICATION_FIELDS = ("proposal", "team", "schedule", "budget", "achievement_ids")
FIELD_LABELS = {
    "title": "榜单名称",
    "problem": "需解决的问题",
    "indicators": "技术指标",
    "contact_name": "联系人",
    "proposal": "技术方案",
    "team": "团队情况",
    "schedule": "进度安排",
    "reason": "原因",
    "comment": "评审意见",
    "no_winner_reason": "不设揭榜单位的原因",
    "result_note": "结果说明",
}
TEXT_LIMITS = {
    "title": 200,
    "problem": 20000,
    "indicators": 20000,
    "contact_name": 100,
    "proposal": 20000,
    "team": 5000,
    "schedule": 5000,
    "reason": 2000,
    "comment": 2000,
    "no_winner_reason": 2000,
    "result_note": 2000,
}
MAX_BOUNTY = Decimal("1000000000000")  # 1e12 元
MAX_CRITERIA = 10
CRITERION_NAME_MAX = 50
ELIGIBLE_TYPES = (OrgType.UNIVERSITY, OrgType.INSTITUTE, OrgType.ENTERPRISE)
DEFAULT_DEADLINE_TIME = time(23, 59)
MAX_LINKED_ACHIEVEMENTS = 10
CENT = Decimal("0.01")


def clean_text(raw: Any, key: str, errors: dict[str, str], *, required: bool = False) -> str | None:
    """Trimmed text without control characters (newlines and tabs kept), within its limit."""
    value = "" if raw is None else str(raw).replace("\r\n", "\n")
    value = "".join(ch for ch in value if ch in "\n\t" or ch >= " ").strip()
    label, limit = FIELD_LABELS.get(key, key), TEXT_LIMITS.get(key, 5000)
    if required and not value:
        errors[key] = f"请填写{label}"
    elif len(value) > limit:
        errors[key] = f"{label}不能超过{limit}个字（当前{len(value)}个）"
    return value or None


def clean_challenge(data: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """Column values for a Challenge. With `now` (naive UTC) the deadline must lie after it."""
    unknown = sorted(set(data) - set(CHALLENGE_FIELDS) - {"field_code"})
    if unknown:
        raise ValidationFailed({key: "不支持的字段" for key in unknown})
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        "title": clean_text(data.get("title"), "title", errors, required=True),
        "problem": clean_text(data.get("problem"), "problem", errors, required=True),
        "indicators": clean_text(data.get("indicators"), "indicators", errors, required=True),
        "contact_name": clean_text(data.get("contact_name"), "contact_name", errors),
        "contact_phone": optional_value(data, "contact_phone", validate_phone, errors),
    }
    out["bounty"] = _bounty(data.get("bounty"), errors)
    out["deadline"] = _deadline(data.get("deadline_date"), data.get("deadline_time"), now, errors)
    out["criteria"] = clean_criteria(data.get("criteria"), errors)
    out["eligible_org_types"] = _eligible(data.get("eligible_org_types"), errors)
    _taxonomy(data, errors, out)
    if errors:
        raise ValidationFailed(errors)
    return out


def _bounty(raw: Any, errors: dict[str, str]) -> Decimal | None:
    if raw in (None, ""):
        errors["bounty"] = "请填写悬赏金额"
        return None
    try:
        amount = parse_amount(raw)
    except ValueError as exc:
        errors["bounty"] = str(exc)
        return None
    if amount <= 0:
        errors["bounty"] = "悬赏金额应大于0"
    elif amount > MAX_BOUNTY:
        errors["bounty"] = "悬赏金额不能超过1万亿元，请核对单位"
    return amount


def parse_deadline(raw_date: Any, raw_time: Any) -> datetime:
    """'2026-12-01' + '00:00' in Asia/Shanghai -> naive UTC 2026-11-30 16:00. ValueError in Chinese."""
    if isinstance(raw_date, datetime):
        raw_date = raw_date.date()
    if isinstance(raw_date, date):
        day = raw_date
    else:
        text = str(raw_date or "").strip().replace("/", "-").replace(".", "-")
        if not text:
            raise ValueError("请填写截止日期")
        try:
            day = date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
        except ValueError:
            raise ValueError(f"截止日期“{raw_date}”无法识别，请按 2026-12-31 的格式填写") from None
    if isinstance(raw_time, time):
        moment = raw_time
    else:
        text = str(raw_time or "").strip().replace("：", ":")
        try:
            moment = time.fromisoformat(text.zfill(5)) if text else DEFAULT_DEADLINE_TIME
        except ValueError:
            raise ValueError(f"截止时间“{raw_time}”无法识别，请按 17:00 的格式填写") from None
    local = datetime.combine(day, moment.replace(second=0, microsecond=0), tzinfo=LOCAL_TZ)
    return local.astimezone(UTC).replace(tzinfo=None)


def _deadline(raw_date: Any, raw_time: Any, now: datetime | None, errors: dict[str, str]) -> datetime | None:
    try:
        deadline = parse_deadline(raw_date, raw_time)
    except ValueError as exc:
        errors["deadline_time" if "时间" in str(exc) else "deadline_date"] = str(exc)
        return None
    if now is not None and deadline <= now:
        errors["deadline_date"] = f"截止时间（北京时间 {to_local(deadline):%Y-%m-%d %H:%M}）已过，请选择将来的时间"
    return deadline


def clean_criteria(raw: Any, errors: dict[str, str]) -> list[dict[str, Any]]:
    """1–10 named criteria with integer weights adding up to 100. Rows with neither a name nor a
    weight (the empty rows of the form) are skipped."""
    rows: list[tuple[str, Any]] = []
    for item in raw or []:
        name, weight = (item.get("name"), item.get("weight")) if isinstance(item, dict) else item
        name = str(name or "").strip()
        if name or str(weight or "").strip():
            rows.append((name, weight))
    if not rows:
        errors["criteria"] = "请至少填写一项评审标准及其权重"
        return []
    if len(rows) > MAX_CRITERIA:
        errors["criteria"] = f"评审标准最多{MAX_CRITERIA}项（当前{len(rows)}项）"
        return []
    criteria: list[dict[str, Any]] = []
    for index, (name, raw_weight) in enumerate(rows, start=1):
        if not name:
            errors["criteria"] = f"第{index}项评审标准缺少名称"
            return []
        if len(name) > CRITERION_NAME_MAX:
            errors["criteria"] = f"第{index}项评审标准名称不能超过{CRITERION_NAME_MAX}个字"
            return []
        try:
            weight = int(str(raw_weight).strip())
        except ValueError:
            errors["criteria"] = f"“{name}”的权重应为1到100之间的整数"
            return []
        if not 1 <= weight <= 100:
            errors["criteria"] = f"“{name}”的权重应为1到100之间的整数"
            return []
        if any(c["name"] == name for c in criteria):
            errors["criteria"] = f"评审标准“{name}”重复"
            return []
        criteria.append({"name": name, "weight": weight})
    total = sum(c["weight"] for c in criteria)
    if total != 100:
        errors["criteria"] = f"各项权重之和应为100（当前为{total}）"
    return criteria


def _eligible(raw: Any, errors: dict[str, str]) -> list[str]:
    values = [raw] if isinstance(raw, str) else list(raw or [])
    codes: list[str] = []
    for value in values:
        member = OrgType.parse(value)
        if member not in ELIGIBLE_TYPES:
            errors["eligible_org_types"] = "揭榜单位类型只能从 高校、科研院所、企业 中选择"
            return []
        if member.value not in codes:
            codes.append(member.value)
    if not codes:
        errors["eligible_org_types"] = "请至少选择一类可揭榜的单位"
    return codes


def _taxonomy(data: dict[str, Any], errors: dict[str, str], out: dict[str, Any]) -> None:
    taxonomy = current_app.extensions["taxonomy"]
    raw_field = data.get("field", data.get("field_code"))
    out["field_code"] = None
    if raw_field not in (None, ""):
        field = taxonomy.parse_field(raw_field)
        if field is None:
            errors["field"] = f"技术领域“{raw_field}”不在分类中"
        else:
            out["field_code"] = field.code
    raw_district = data.get("district")
    out["district"] = None
    if raw_district not in (None, ""):
        district = taxonomy.parse_district(raw_district)
        if district is None:
            errors["district"] = f"所在区县“{raw_district}”不在可选范围内"
        else:
            out["district"] = district.code


# ---------------------------------------------------------------------------------------------
# Applications and scores


def clean_application(data: dict[str, Any]) -> dict[str, Any]:
    """Column values for an application; linked achievements are checked by the service."""
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        "proposal": clean_text(data.get("proposal"), "proposal", errors, required=True),
        "team": clean_text(data.get("team"), "team", errors, required=True),
        "schedule": clean_text(data.get("schedule"), "schedule", errors, required=True),
        "budget": None,
        "achievement_ids": [],
    }
    if data.get("budget") not in (None, ""):
        try:
            out["budget"] = parse_amount(data["budget"])
        except ValueError as exc:
            errors["budget"] = str(exc)
        else:
            if out["budget"] > MAX_BOUNTY:
                errors["budget"] = "预算不能超过1万亿元，请核对单位"
    raw_ids = data.get("achievement_ids") or []
    raw_ids = [raw_ids] if isinstance(raw_ids, str | int) else raw_ids
    ids: list[int] = []
    for raw in raw_ids:
        if (pk := parse_id(raw)) is not None:
            if pk not in ids:
                ids.append(pk)
        elif str(raw).strip():
            errors["achievement_ids"] = "关联成果无效，请从本机构已发布的成果中选择"
    if len(ids) > MAX_LINKED_ACHIEVEMENTS:
        errors["achievement_ids"] = f"最多关联{MAX_LINKED_ACHIEVEMENTS}项成果"
    out["achievement_ids"] = ids
    if errors:
        raise ValidationFailed(errors)
    return out


def clean_scores(criteria: list[dict[str, Any]], raw_scores: list[Any], comment: Any) -> dict[str, Any]:
    """A 0–100 integer score per criterion (by position) -> scores, the weighted total
    (Σ score × weight / 100, two places) and the comment."""
    errors: dict[str, str] = {}
    scores: list[int] = []
    raw_scores = list(raw_scores or [])
    for index, criterion in enumerate(criteria):
        raw = str(raw_scores[index] if index < len(raw_scores) else "").strip()
        try:
            value = int(raw)
        except ValueError:
            value = -1
        if not 0 <= value <= 100:
            errors[f"score_{index}"] = f"“{criterion['name']}”的得分应为0到100之间的整数"
        scores.append(value)
    text = clean_text(comment, "comment", errors)
    if errors:
        raise ValidationFailed(errors)
    return {"scores": scores, "total": weighted_total(criteria, scores), "comment": text}


def weighted_total(criteria: list[dict[str, Any]], scores: list[int | float]) -> Decimal:
    total = sum(Decimal(str(s)) * int(c["weight"]) for c, s in zip(criteria, scores, strict=True)) / 100
    return Decimal(total).quantize(CENT, rounding=ROUND_HALF_UP)
