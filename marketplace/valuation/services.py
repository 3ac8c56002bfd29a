"""Worksheet rules: validate, compute, save (inputs + results, version), list, delete. Every
function flushes; the caller (a view or the API) commits once."""

from __future__ import annotations

from typing import Any

from sqlalchemy import or_, select

from ..core import audit
from ..core.errors import NotFound, PermissionDenied, ValidationFailed
from ..core.policy import belongs_to
from ..core.timeutil import local_today
from ..core.validators import validate_patent_number
from ..extensions import db
from ..listings.models import Achievement
from . import compute, policy
from .models import ValuationWorksheet

PER_PAGE = 20
META_KEYS = ("title", "subject", "achievement_id", "patent_number")


def preview(user: Any, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(cleaned inputs, results) without saving anything."""
    if not policy.can_create_worksheet(user):
        raise PermissionDenied("只有机构成员和技术经纪人可以使用价值评估工作表")
    inputs = compute.clean_inputs(data)
    return inputs, compute.compute(inputs)


def _meta(user: Any, data: dict[str, Any], errors: dict[str, str]) -> dict[str, Any]:
    title = str(data.get("title") or "").strip()
    if not title:
        errors["title"] = "请填写工作表名称"
    elif len(title) > 200:
        errors["title"] = "名称最多 200 字"
    subject = str(data.get("subject") or "").strip()[:5000]
    achievement = None
    raw_id = data.get("achievement_id")
    if raw_id not in (None, "", 0, "0"):
        try:
            achievement = db.session.get(Achievement, int(str(raw_id)))
        except ValueError:
            achievement = None
        if achievement is None or not belongs_to(user, achievement.org_id):
            errors["achievement_id"] = "只能选择本机构的科技成果"
            achievement = None
    number = str(data.get("patent_number") or "").strip()
    if number:
        try:
            number = validate_patent_number(number)
        except ValueError as exc:
            errors["patent_number"] = str(exc)
    return {"title": title, "subject": subject, "achievement": achievement, "patent_number": number or None}


def life_hint(achievement: Achievement | None, number: str | None) -> compute.LifeHint | None:
    numbers = [number] if number else []
    if achievement is not None:
        numbers += [n for n in achievement.patent_numbers if n != number]
    for n in numbers:
        hint = compute.patent_life(n, local_today())
        if hint is not None:
            return hint
    return None


def _clean(user: Any, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    errors: dict[str, str] = {}
    meta = _meta(user, data, errors)
    try:
        inputs = compute.clean_inputs(data)
    except ValidationFailed as exc:
        errors.update(exc.fields)
        inputs = {}
    if errors:
        raise ValidationFailed(errors)
    return meta, inputs


def create(user: Any, data: dict[str, Any]) -> ValuationWorksheet:
    if not policy.can_create_worksheet(user):
        raise PermissionDenied("只有机构成员和技术经纪人可以创建价值评估工作表")
    meta, inputs = _clean(user, data)
    org = user.active_org
    sheet = ValuationWorksheet(
        org_id=org.id if org else None,
        created_by_id=user.id,
        achievement_id=meta["achievement"].id if meta["achievement"] else None,
        patent_number=meta["patent_number"],
        title=meta["title"],
        subject=meta["subject"],
        inputs=inputs,
        results=compute.compute(inputs),
        version=1,
    )
    db.session.add(sheet)
    db.session.flush()
    audit.record(user, "create", sheet, details={"title": sheet.title})
    return sheet


def update(sheet: ValuationWorksheet, user: Any, data: dict[str, Any]) -> ValuationWorksheet:
    if not policy.can_edit_worksheet(user, sheet):
        raise PermissionDenied("只有创建机构的成员可以修改此工作表")
    meta, inputs = _clean(user, data)
    if (
        meta["achievement"] is None
        and sheet.achievement_id
        and str(data.get("achievement_id") or "") == str(sheet.achievement_id)
    ):
        meta["achievement"] = sheet.achievement  # kept (another member's own org is the same org)
    sheet.title = meta["title"]
    sheet.subject = meta["subject"]
    sheet.achievement_id = meta["achievement"].id if meta["achievement"] else None
    sheet.patent_number = meta["patent_number"]
    sheet.inputs = inputs
    sheet.results = compute.compute(inputs)
    sheet.version += 1
    db.session.flush()
    audit.record(user, "update", sheet, details={"version": sheet.version})
    return sheet


def delete(sheet: ValuationWorksheet, user: Any) -> None:
    if not policy.can_edit_worksheet(user, sheet):
        raise PermissionDenied("只有创建机构的成员可以删除此工作表")
    audit.record(user, "delete", sheet, details={"title": sheet.title, "version": sheet.version})
    db.session.delete(sheet)
    db.session.flush()


def load(sheet_id: int, user: Any, *, write: bool = False) -> ValuationWorksheet:
    sheet = db.session.get(ValuationWorksheet, sheet_id)
    if sheet is None:
        raise NotFound("工作表不存在或已删除")
    allowed = policy.can_edit_worksheet(user, sheet) if write else policy.can_view_worksheet(user, sheet)
    if not allowed:
        raise PermissionDenied("工作表仅创建机构的成员可见")
    return sheet


def mine(user: Any):
    """The worksheets the user may open: the organisation's (or, without one, their own)."""
    org = user.active_org
    stmt = select(ValuationWorksheet)
    if org is not None:
        stmt = stmt.where(ValuationWorksheet.org_id == org.id)
    else:
        stmt = stmt.where(or_(ValuationWorksheet.created_by_id == user.id), ValuationWorksheet.org_id.is_(None))
    return stmt.order_by(ValuationWorksheet.updated_at.desc(), ValuationWorksheet.id.desc())


def own_achievements(user: Any) -> list[Achievement]:
    org = user.active_org
    if org is None:
        return []
    stmt = select(Achievement).where(Achievement.org_id == org.id).order_by(Achievement.id.desc()).limit(200)
    return list(db.session.scalars(stmt).unique())


def form_data(sheet: ValuationWorksheet) -> dict[str, Any]:
    return {
        "title": sheet.title,
        "subject": sheet.subject,
        "achievement_id": sheet.achievement_id or "",
        "patent_number": sheet.patent_number or "",
        **sheet.inputs,
    }
