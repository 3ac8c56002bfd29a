"""The rules of the resource databases: experts (科技人才库), achievement teams, shared instruments
(大型科学仪器共享) and their bookings. Services flush; the caller commits once (the booking
approval commits or rolls back itself, see `approve_booking`).

Booking states (every change audited, both sides notified):

  pending ─approve→ approved ─cancel→ cancelled
         ├decline→ declined (reason required)
         └cancel──→ cancelled

Two approved bookings of one instrument never overlap. The service refuses it with a clear
message, and the database enforces it whatever the interleaving (a PostgreSQL exclusion
constraint, SQLite triggers — see the migration); a violation becomes a 409 that changes nothing."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import search
from ..accounts.models import Organization, User
from ..alerts.services import notify
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.money import parse_amount
from ..core.policy import belongs_to, is_admin, is_authenticated, is_listing_owner, is_official
from ..core.taxonomy import MembershipStatus
from ..core.timeutil import LOCAL_TZ, format_local, utcnow
from ..core.validators import optional_value, parse_id, split_list, validate_email_address, validate_phone
from ..extensions import db
from ..listings.models import Achievement
from .models import AchievementExpert, BookingStatus, Expert, Instrument, InstrumentBooking, InstrumentStatus

CONTACT_HIDDEN = "登录并经授权后可见"
MAX_BOOKING = timedelta(days=14)
MIN_BOOKING = timedelta(minutes=15)
BOOKING_HORIZON = timedelta(days=366)
B = BookingStatus
BOOKING_TRANSITIONS: dict[str, set[str]] = {
    B.PENDING.value: {B.APPROVED.value, B.DECLINED.value, B.CANCELLED.value},
    B.APPROVED.value: {B.CANCELLED.value},
}


def taxonomy():
    return current_app.extensions["taxonomy"]


# ---------------------------------------------------------------------------------------------
# Policy (used by views, the API and tests)


def can_view_expert_contact(user: Any, expert: Expert) -> bool:
    """Phone and e-mail: administrators, officials, the expert themself and approved members of
    the expert's own organisation."""
    if is_admin(user) or is_official(user):
        return True
    if is_authenticated(user) and expert.user_id is not None and user.id == expert.user_id:
        return True
    return belongs_to(user, expert.organization_id)


def is_org_manager_of(user: Any, org_id: int | None) -> bool:
    return belongs_to(user, org_id) and bool(user.is_org_manager)


def can_edit_expert(user: Any, expert: Expert) -> bool:
    if is_admin(user):
        return True
    if is_authenticated(user) and expert.user_id is not None and user.id == expert.user_id:
        return True
    return is_org_manager_of(user, expert.organization_id)


def can_view_expert(user: Any, expert: Expert) -> bool:
    return expert.active or can_edit_expert(user, expert)


def can_create_expert(user: Any) -> bool:
    return is_authenticated(user)


def can_manage_team(user: Any, achievement: Achievement) -> bool:
    return is_admin(user) or is_listing_owner(user, achievement)


def own_expert(user: Any) -> Expert | None:
    if not is_authenticated(user):
        return None
    return db.session.scalar(select(Expert).where(Expert.user_id == user.id))


def load_expert(expert_id: int, user: Any) -> Expert:
    expert = db.session.get(Expert, expert_id)
    if expert is None or not can_view_expert(user, expert):
        raise NotFound("专家不存在或已停用")
    return expert


# ---------------------------------------------------------------------------------------------
# Experts


def _text(data: Mapping[str, Any], key: str, limit: int, label: str, errors: dict[str, str], required: bool = False):
    value = str(data.get(key) or "").strip()
    if required and not value:
        errors[key] = f"请填写{label}"
    elif len(value) > limit:
        errors[key] = f"{label}不能超过{limit}个字"
    return value or None


def _flag(raw: Any, default: bool) -> bool:
    if raw is None:
        return default
    if isinstance(raw, bool):
        return raw
    return str(raw).strip().lower() in ("1", "true", "on", "yes", "y", "是")


def _field_codes(raw: Any, errors: dict[str, str], key: str = "field_codes") -> list[str]:
    codes: list[str] = []
    for item in split_list(raw):
        field = taxonomy().parse_field(item)
        if field is None:
            errors[key] = f"技术领域“{item}”不存在，请从列表中选择"
            return []
        if field.code not in codes:
            codes.append(field.code)
    if not codes:
        errors[key] = "请至少选择一个技术领域"
    elif len(codes) > 8:
        errors[key] = "技术领域最多选择8个"
    return codes


def _clean_expert(data: Mapping[str, Any], expert: Expert | None = None) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        "name": _text(data, "name", 100, "姓名", errors, required=True),
        "title": _text(data, "title", 60, "职称", errors),
        "org_name": _text(data, "org_name", 200, "所在单位", errors),
        "expertise": _text(data, "expertise", 4000, "研究方向/专长", errors, required=True),
        "achievements_text": _text(data, "achievements_text", 8000, "代表性成果", errors),
        "field_codes": _field_codes(data.get("field_codes"), errors),
        "phone": optional_value(dict(data), "phone", validate_phone, errors),
        "email": optional_value(dict(data), "email", validate_email_address, errors),
        "available_evaluation": _flag(
            data.get("available_evaluation"), expert.available_evaluation if expert else True
        ),
        "available_consulting": _flag(
            data.get("available_consulting"), expert.available_consulting if expert else False
        ),
    }
    if errors:
        raise ValidationFailed(errors)
    return out


def _org_for(actor: User, data: Mapping[str, Any], current: int | None) -> int | None:
    """The platform organisation of the expert: administrators choose any; others only their own."""
    raw = data.get("organization_id", current)
    if raw in (None, "", 0, "0"):
        return None
    try:
        org_id = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed({"organization_id": "所在机构无效"}) from None
    if db.session.get(Organization, org_id) is None:
        raise ValidationFailed({"organization_id": "所在机构不存在"})
    if org_id != current and not is_admin(actor) and not belongs_to(actor, org_id):
        raise ValidationFailed({"organization_id": "只能选择您自己所在的机构"})
    return org_id


def _user_for(actor: User, data: Mapping[str, Any], org_id: int | None, expert: Expert | None) -> int | None:
    """The account the expert signs in with. Oneself; an administrator links any account; an
    organisation manager links an approved member of the organisation."""
    if _flag(data.get("self"), False):
        raw: Any = actor.id
    else:
        raw = data.get("user_id", expert.user_id if expert else None)
    if raw in (None, "", 0, "0"):
        return None
    try:
        user_id = int(raw)
    except (TypeError, ValueError):
        raise ValidationFailed({"user_id": "关联账号无效"}) from None
    user = db.session.get(User, user_id)
    if user is None:
        raise ValidationFailed({"user_id": "关联账号不存在"})
    if expert is None or user_id != expert.user_id:
        allowed = (
            user_id == actor.id
            or is_admin(actor)
            or (is_org_manager_of(actor, user.organization_id) and user.membership_status == MembershipStatus.ACTIVE)
        )
        if not allowed:
            raise ValidationFailed({"user_id": "只能关联您自己的账号或本机构成员的账号"})
        taken = db.session.scalar(select(Expert.id).where(Expert.user_id == user_id))
        if taken is not None:
            raise ValidationFailed({"user_id": "该账号已有专家档案，每个账号只能关联一个"})
    return user_id


def create_expert(actor: User, data: Mapping[str, Any]) -> Expert:
    """An administrator creates any expert; an organisation manager experts of the organisation;
    any signed-in user their own profile (`self=True`, linked to the account, one per user)."""
    if not can_create_expert(actor):
        raise PermissionDenied("请先登录")
    cleaned = _clean_expert(data)
    org_id = _org_for(actor, data, None)
    if "organization_id" not in data and actor.active_org is not None and not is_admin(actor):
        org_id = actor.active_org.id  # one's own organisation unless told otherwise
    user_id = _user_for(actor, data, org_id, None)
    if not is_admin(actor) and user_id != actor.id and not is_org_manager_of(actor, org_id):
        raise PermissionDenied("只有机构管理员可以为本机构添加专家；个人请创建自己的专家档案")
    if org_id is None and not cleaned["org_name"]:
        raise ValidationFailed({"org_name": "请填写所在单位"})
    expert = Expert(**cleaned, organization_id=org_id, user_id=user_id, created_by_id=actor.id, active=True)
    db.session.add(expert)
    db.session.flush()
    audit.record(actor, "create", expert, to_state="active", details={"name": expert.name})
    search.enqueue(expert)
    return expert


def update_expert(actor: User, expert: Expert, data: Mapping[str, Any]) -> Expert:
    if not can_edit_expert(actor, expert):
        raise PermissionDenied("您无权修改该专家信息")
    merged = {**expert_values(expert), **data}
    cleaned = _clean_expert(merged, expert)
    org_id = _org_for(actor, merged, expert.organization_id)
    user_id = _user_for(actor, merged, org_id, expert)
    if org_id is None and not cleaned["org_name"]:
        raise ValidationFailed({"org_name": "请填写所在单位"})
    cleaned.update(organization_id=org_id, user_id=user_id)
    changed = sorted(k for k, v in cleaned.items() if getattr(expert, k) != v)
    for key, value in cleaned.items():
        setattr(expert, key, value)
    db.session.flush()
    audit.record(actor, "update", expert, details={"changed": changed})
    search.enqueue(expert)
    return expert


def expert_values(expert: Expert) -> dict[str, Any]:
    keys = ("name", "title", "org_name", "expertise", "achievements_text", "field_codes", "phone", "email")
    out: dict[str, Any] = {key: getattr(expert, key) for key in keys}
    out.update(
        available_evaluation=expert.available_evaluation,
        available_consulting=expert.available_consulting,
        organization_id=expert.organization_id,
        user_id=expert.user_id,
    )
    return out


def set_expert_active(actor: User, expert: Expert, active: bool, reason: str | None = None) -> Expert:
    """停用/恢复 instead of deleting: a deactivated expert leaves the public list and the index."""
    if not can_edit_expert(actor, expert):
        raise PermissionDenied("您无权修改该专家信息")
    if expert.active == active:
        raise Conflict("该专家已停用" if not active else "该专家已是启用状态")
    expert.active = active
    db.session.flush()
    audit.record(
        actor,
        "enable" if active else "disable",
        expert,
        from_state="inactive" if active else "active",
        to_state="active" if active else "inactive",
        reason=(reason or "").strip() or None,
    )
    search.enqueue(expert)
    return expert


def field_score(expert: Expert, field_code: str | None) -> int:
    """2 for the exact field, 1 for the same top-level field, 0 otherwise."""
    if not field_code:
        return 0
    codes = expert.field_codes or []
    if field_code in codes:
        return 2
    top = field_code[:2]
    return 1 if any(code[:2] == top for code in codes) else 0


def evaluation_candidates(field_code: str | None, exclude_org_id: int | None) -> list[Expert]:
    """Experts who can sit on an evaluation panel: active, available for evaluation, with an
    enabled account; not of `exclude_org_id` (neither the expert's organisation nor the account's).
    Experts of the field first, then of the same top-level field, then the rest, by name."""
    stmt = (
        select(Expert)
        .join(User, User.id == Expert.user_id)
        .where(Expert.active.is_(True), Expert.available_evaluation.is_(True), User.is_disabled.is_(False))
    )
    if exclude_org_id is not None:
        stmt = stmt.where(
            or_(Expert.organization_id.is_(None), Expert.organization_id != exclude_org_id),
            or_(User.organization_id.is_(None), User.organization_id != exclude_org_id),
        )
    experts = list(db.session.scalars(stmt))
    return sorted(experts, key=lambda e: (-field_score(e, field_code), e.name, e.id))


def search_experts_db(
    *,
    field: str | None = None,
    evaluation: bool = False,
    consulting: bool = False,
    org_id: int | None = None,
    ids: list[int] | None = None,
):
    """The filtered SELECT of active experts (the text query goes through the search index)."""
    stmt = select(Expert).where(Expert.active.is_(True))
    if evaluation:
        stmt = stmt.where(Expert.available_evaluation.is_(True))
    if consulting:
        stmt = stmt.where(Expert.available_consulting.is_(True))
    if org_id:
        stmt = stmt.where(Expert.organization_id == org_id)
    if ids is not None:
        stmt = stmt.where(Expert.id.in_(ids or [-1]))
    return stmt


def filter_by_field(experts: list[Expert], field: str | None) -> list[Expert]:
    if not field:
        return experts
    wanted = set(taxonomy().field_and_descendants(field)) if taxonomy().field(field) else {field}
    return [e for e in experts if wanted & set(e.field_codes or [])]


def expert_achievements(expert: Expert, user: Any = None) -> list[tuple[Achievement, str | None]]:
    from ..core.policy import can_view_listing

    rows = db.session.execute(
        select(Achievement, AchievementExpert.team_role)
        .join(AchievementExpert, AchievementExpert.achievement_id == Achievement.id)
        .where(AchievementExpert.expert_id == expert.id)
        .order_by(Achievement.id.desc())
    ).all()
    return [(a, role) for a, role in rows if can_view_listing(user, a)]


# ---------------------------------------------------------------------------------------------
# Achievement teams


def team_of(achievement: Achievement) -> list[AchievementExpert]:
    stmt = (
        select(AchievementExpert)
        .join(Expert, Expert.id == AchievementExpert.expert_id)
        .where(AchievementExpert.achievement_id == achievement.id)
        .order_by(AchievementExpert.id)
    )
    return list(db.session.scalars(stmt))


def add_team_member(
    actor: User, achievement: Achievement, expert_id: Any, team_role: str | None = None
) -> AchievementExpert:
    if not can_manage_team(actor, achievement):
        raise PermissionDenied("只有成果所属机构可以管理团队成员")
    errors: dict[str, str] = {}
    pk = parse_id(expert_id)
    expert = db.session.get(Expert, pk) if pk else None
    if expert is None or not expert.active:
        errors["expert_id"] = "请选择人才库中已启用的专家"
    role = _text({"team_role": team_role}, "team_role", 60, "团队角色", errors)
    if errors:
        raise ValidationFailed(errors)
    assert expert is not None
    exists = db.session.scalar(
        select(AchievementExpert.id).where(
            AchievementExpert.achievement_id == achievement.id, AchievementExpert.expert_id == expert.id
        )
    )
    if exists is not None:
        raise ValidationFailed({"expert_id": f"{expert.name}已在团队中"})
    link = AchievementExpert(achievement_id=achievement.id, expert_id=expert.id, team_role=role)
    db.session.add(link)
    db.session.flush()
    audit.record(actor, "team_add", achievement, details={"expert_id": expert.id, "expert": expert.name, "role": role})
    return link


def remove_team_member(actor: User, achievement: Achievement, expert_id: int) -> None:
    if not can_manage_team(actor, achievement):
        raise PermissionDenied("只有成果所属机构可以管理团队成员")
    link = db.session.scalar(
        select(AchievementExpert).where(
            AchievementExpert.achievement_id == achievement.id, AchievementExpert.expert_id == expert_id
        )
    )
    if link is None:
        raise NotFound("该专家不在团队中")
    name = link.expert.name
    db.session.delete(link)
    db.session.flush()
    audit.record(actor, "team_remove", achievement, details={"expert_id": expert_id, "expert": name})


# ---------------------------------------------------------------------------------------------
# Instruments


def can_manage_instrument(user: Any, instrument: Instrument) -> bool:
    return is_admin(user) or belongs_to(user, instrument.org_id)


def can_create_instrument(user: Any) -> bool:
    org = user.active_org if is_authenticated(user) else None
    return org is not None and bool(org.verified)


def can_view_instrument(user: Any, instrument: Instrument) -> bool:
    return instrument.status != InstrumentStatus.RETIRED.value or can_manage_instrument(user, instrument)


def can_request_booking(user: Any, instrument: Instrument) -> bool:
    org = user.active_org if is_authenticated(user) else None
    return org is not None and org.id != instrument.org_id and instrument.status == InstrumentStatus.AVAILABLE.value


def load_instrument(instrument_id: int, user: Any) -> Instrument:
    instrument = db.session.get(Instrument, instrument_id)
    if instrument is None or not can_view_instrument(user, instrument):
        raise NotFound("仪器不存在或已停用")
    return instrument


def _clean_instrument(data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {
        "name": _text(data, "name", 200, "仪器名称", errors, required=True),
        "model": _text(data, "model", 100, "型号", errors),
        "manufacturer": _text(data, "manufacturer", 200, "生产厂商", errors),
        "specs": _text(data, "specs", 8000, "主要技术指标", errors),
        "address": _text(data, "address", 300, "存放地址", errors, required=True),
        "availability_notes": _text(data, "availability_notes", 4000, "开放时间说明", errors),
        "fee_unit": _text(data, "fee_unit", 30, "收费单位", errors),
        "contact_name": _text(data, "contact_name", 100, "联系人", errors),
        "contact_phone": optional_value(dict(data), "contact_phone", validate_phone, errors),
        "contact_email": optional_value(dict(data), "contact_email", validate_email_address, errors),
    }
    district_raw = str(data.get("district") or "").strip()
    district = taxonomy().parse_district(district_raw) if district_raw else None
    if district is None:
        errors["district"] = "请选择所在区县" if not district_raw else f"区县“{district_raw}”不存在，请从列表中选择"
    out["district"] = district.code if district else None
    field_raw = str(data.get("field_code") or "").strip()
    field = taxonomy().parse_field(field_raw) if field_raw else None
    if field_raw and field is None:
        errors["field_code"] = f"技术领域“{field_raw}”不存在，请从列表中选择"
    out["field_code"] = field.code if field else None
    fee_raw = str(data.get("fee") or "").strip()
    out["fee"] = None
    if fee_raw:
        try:
            out["fee"] = parse_amount(fee_raw)
        except ValueError as exc:
            errors["fee"] = str(exc)
        if not out["fee_unit"] and "fee_unit" not in errors:
            errors["fee_unit"] = "填写收费标准时请注明单位，如 元/小时、元/样品"
    status = InstrumentStatus.parse(data.get("status") or InstrumentStatus.AVAILABLE.value)
    if status is None:
        errors["status"] = "请选择仪器状态"
    out["status"] = status.value if status else None
    if errors:
        raise ValidationFailed(errors)
    return out


def create_instrument(actor: User, data: Mapping[str, Any]) -> Instrument:
    if not can_create_instrument(actor):
        raise PermissionDenied("只有已认证机构的成员可以发布共享仪器")
    cleaned = _clean_instrument(data)
    instrument = Instrument(**cleaned, org_id=actor.active_org.id, created_by_id=actor.id)
    db.session.add(instrument)
    db.session.flush()
    audit.record(actor, "create", instrument, to_state=instrument.status, details={"name": instrument.name})
    return instrument


def update_instrument(actor: User, instrument: Instrument, data: Mapping[str, Any]) -> Instrument:
    if not can_manage_instrument(actor, instrument):
        raise PermissionDenied("只有仪器所属机构可以修改仪器信息")
    current = {c: getattr(instrument, c) for c in _INSTRUMENT_KEYS}
    current["fee"] = str(instrument.fee) if instrument.fee is not None else ""
    cleaned = _clean_instrument({**current, **data})
    before = instrument.status
    changed = sorted(k for k, v in cleaned.items() if getattr(instrument, k) != v)
    for key, value in cleaned.items():
        setattr(instrument, key, value)
    db.session.flush()
    audit.record(
        actor,
        "update",
        instrument,
        from_state=before if before != instrument.status else None,
        to_state=instrument.status if before != instrument.status else None,
        details={"changed": changed},
    )
    return instrument


_INSTRUMENT_KEYS = (
    "name",
    "model",
    "manufacturer",
    "specs",
    "address",
    "availability_notes",
    "fee_unit",
    "contact_name",
    "contact_phone",
    "contact_email",
    "district",
    "field_code",
    "status",
)


def fee_text(instrument: Instrument) -> str:
    if instrument.fee is None:
        return "面议"
    amount = f"{instrument.fee:,.2f}".rstrip("0").rstrip(".")
    unit = instrument.fee_unit or ""
    return f"{amount} {unit}".strip() if unit.startswith("元") else f"{amount} 元{('/' + unit) if unit else ''}"


# ---------------------------------------------------------------------------------------------
# Bookings


def parse_local_datetime(raw: Any) -> datetime:
    """'2026-12-03 10:00', '2026-12-03T10:00' (a datetime-local input) or an ISO string with an
    offset; naive values are Asia/Shanghai. Returns naive UTC."""
    if isinstance(raw, datetime):
        value = raw
    else:
        text = str(raw or "").strip().replace("Z", "+00:00")
        if not text:
            raise ValueError("请填写时间")
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"时间“{raw}”格式不正确，请按 2026-12-03 09:30 填写") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=LOCAL_TZ)
    return value.astimezone(UTC).replace(tzinfo=None, second=0, microsecond=0)


def slot_text(starts_at: datetime, ends_at: datetime) -> str:
    start = format_local(starts_at)
    end = (
        format_local(ends_at, "%H:%M")
        if format_local(starts_at, "%Y%m%d") == format_local(ends_at, "%Y%m%d")
        else format_local(ends_at)
    )
    return f"{start}–{end}"


def overlapping_approved(instrument_id: int, starts_at: datetime, ends_at: datetime, exclude_id: int | None = None):
    stmt = select(InstrumentBooking).where(
        InstrumentBooking.instrument_id == instrument_id,
        InstrumentBooking.status == B.APPROVED.value,
        InstrumentBooking.starts_at < ends_at,
        InstrumentBooking.ends_at > starts_at,
    )
    if exclude_id is not None:
        stmt = stmt.where(InstrumentBooking.id != exclude_id)
    return db.session.scalars(stmt.order_by(InstrumentBooking.starts_at).limit(1)).first()


def _overlap_message(other: InstrumentBooking) -> str:
    return f"该时段已被预约：{slot_text(other.starts_at, other.ends_at)}，请选择其他时间"


def _clean_booking(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    errors: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, label in (("starts_at", "开始时间"), ("ends_at", "结束时间")):
        try:
            out[key] = parse_local_datetime(data.get(key))
        except ValueError as exc:
            errors[key] = str(exc).replace("请填写时间", f"请填写{label}")
    start, end = out.get("starts_at"), out.get("ends_at")
    if start is not None and start <= now:
        errors["starts_at"] = "开始时间必须晚于当前时间"
    elif start is not None and start > now + BOOKING_HORIZON:
        errors["starts_at"] = "只能预约一年以内的时段"
    if start is not None and end is not None and "ends_at" not in errors:
        if end <= start:
            errors["ends_at"] = "结束时间必须晚于开始时间"
        elif end - start < MIN_BOOKING:
            errors["ends_at"] = "预约时长至少15分钟"
        elif end - start > MAX_BOOKING:
            errors["ends_at"] = "单次预约不能超过14天"
    out["purpose"] = _text(data, "purpose", 2000, "使用目的", errors, required=True)
    out["sample_description"] = _text(data, "sample_description", 2000, "样品说明", errors)
    if errors:
        raise ValidationFailed(errors)
    return out


def _owner_members(instrument: Instrument) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.organization_id == instrument.org_id, User.membership_status == MembershipStatus.ACTIVE.value
            )
        )
    )


def _booking_url(booking: InstrumentBooking) -> str:
    return f"/instruments/{booking.instrument_id}#booking-{booking.id}"


def request_booking(
    actor: User, instrument: Instrument, data: Mapping[str, Any], now: datetime | None = None
) -> InstrumentBooking:
    """Any member of an active organisation other than the owner asks for a slot."""
    org = actor.active_org if is_authenticated(actor) else None
    if org is None:
        raise PermissionDenied("预约仪器需要先加入一个机构并通过审核")
    if org.id == instrument.org_id:
        raise PermissionDenied("本机构的仪器无需通过平台预约")
    if instrument.status != InstrumentStatus.AVAILABLE.value:
        raise Conflict(f"该仪器当前{instrument.status_label}，暂不接受预约")
    cleaned = _clean_booking(data, now or utcnow())
    other = overlapping_approved(instrument.id, cleaned["starts_at"], cleaned["ends_at"])
    if other is not None:
        message = _overlap_message(other)
        raise Conflict(message, {"starts_at": message})
    booking = InstrumentBooking(
        **cleaned, instrument_id=instrument.id, requester_id=actor.id, requester_org_id=org.id, status=B.PENDING.value
    )
    db.session.add(booking)
    db.session.flush()
    audit.record(
        actor,
        "booking_request",
        booking,
        to_state=B.PENDING.value,
        details={"slot": slot_text(booking.starts_at, booking.ends_at)},
    )
    notify(
        _owner_members(instrument),
        f"仪器预约申请：{instrument.name}",
        f"{org.name}申请使用 {instrument.name}，时段 {slot_text(booking.starts_at, booking.ends_at)}。用途：{booking.purpose}",
        _booking_url(booking),
    )
    return booking


def load_booking(booking_id: int) -> InstrumentBooking:
    booking = db.session.get(InstrumentBooking, booking_id)
    if booking is None:
        raise NotFound("预约不存在")
    return booking


def is_booking_requester(user: Any, booking: InstrumentBooking) -> bool:
    return is_authenticated(user) and (user.id == booking.requester_id or belongs_to(user, booking.requester_org_id))


def can_view_booking(user: Any, booking: InstrumentBooking) -> bool:
    return is_booking_requester(user, booking) or can_manage_instrument(user, booking.instrument)


def _transition(booking: InstrumentBooking, to: str) -> str:
    before = booking.status
    if to not in BOOKING_TRANSITIONS.get(before, set()):
        raise Conflict(f"预约当前为“{booking.status_label}”，不能{_VERB[to]}")
    return before


_VERB = {B.APPROVED.value: "确认", B.DECLINED.value: "拒绝", B.CANCELLED.value: "取消"}


def _claim(booking: InstrumentBooking, before: str, values: dict[str, Any]) -> None:
    """Conditional UPDATE: only from the state we read, so two deciders never both win."""
    result = db.session.execute(
        update(InstrumentBooking)
        .where(InstrumentBooking.id == booking.id, InstrumentBooking.status == before)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise Conflict("该预约已被其他人处理，请刷新页面")


def approve_booking(actor: User, booking: InstrumentBooking) -> InstrumentBooking:
    """Owner organisation confirms a pending request. The database refuses an overlap with
    another approved booking at the UPDATE (the constraint is not deferred); the refusal rolls the
    unit of work back, so nothing changes, and becomes a 409."""
    if not can_manage_instrument(actor, booking.instrument):
        raise PermissionDenied("只有仪器所属机构可以确认预约")
    booking_id = booking.id
    for attempt in (1, 2):
        before = _transition(booking, B.APPROVED.value)
        other = overlapping_approved(booking.instrument_id, booking.starts_at, booking.ends_at, exclude_id=booking.id)
        if other is not None:
            raise Conflict(_overlap_message(other))
        try:
            _claim(booking, before, {"status": B.APPROVED.value, "decided_by_id": actor.id, "decided_at": utcnow()})
            db.session.flush()
        except IntegrityError:
            db.session.rollback()
            booking = load_booking(booking_id)
            other = overlapping_approved(
                booking.instrument_id, booking.starts_at, booking.ends_at, exclude_id=booking_id
            )
            raise Conflict(_overlap_message(other) if other else "该时段已被预约，请刷新页面") from None
        except OperationalError:
            # SQLite: another writer committed after this transaction read; read again and retry.
            db.session.rollback()
            booking = load_booking(booking_id)
            if attempt == 2:
                raise Conflict("预约处理繁忙，请稍后重试") from None
            continue
        break
    db.session.refresh(booking)
    audit.record(actor, "booking_approve", booking, from_state=before, to_state=B.APPROVED.value)
    notify(
        [booking.requester],
        f"仪器预约已确认：{booking.instrument.name}",
        f"您预约的 {booking.instrument.name}（{slot_text(booking.starts_at, booking.ends_at)}）已确认。",
        _booking_url(booking),
    )
    return booking


def decline_booking(actor: User, booking: InstrumentBooking, reason: str | None) -> InstrumentBooking:
    if not can_manage_instrument(actor, booking.instrument):
        raise PermissionDenied("只有仪器所属机构可以拒绝预约")
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "请填写拒绝原因，申请方会看到它"})
    if len(reason) > 1000:
        raise ValidationFailed({"reason": "拒绝原因不能超过1000个字"})
    before = _transition(booking, B.DECLINED.value)
    _claim(
        booking,
        before,
        {"status": B.DECLINED.value, "decline_reason": reason, "decided_by_id": actor.id, "decided_at": utcnow()},
    )
    db.session.refresh(booking)
    audit.record(actor, "booking_decline", booking, from_state=before, to_state=B.DECLINED.value, reason=reason)
    notify(
        [booking.requester],
        f"仪器预约未通过：{booking.instrument.name}",
        f"您预约的 {booking.instrument.name}（{slot_text(booking.starts_at, booking.ends_at)}）未通过。原因：{reason}",
        _booking_url(booking),
    )
    return booking


def cancel_booking(actor: User, booking: InstrumentBooking, reason: str | None = None) -> InstrumentBooking:
    if not is_booking_requester(actor, booking):
        raise PermissionDenied("只有申请方可以取消预约")
    before = _transition(booking, B.CANCELLED.value)
    reason = (reason or "").strip() or None
    _claim(booking, before, {"status": B.CANCELLED.value})
    db.session.refresh(booking)
    audit.record(actor, "booking_cancel", booking, from_state=before, to_state=B.CANCELLED.value, reason=reason)
    notify(
        _owner_members(booking.instrument),
        f"仪器预约已取消：{booking.instrument.name}",
        f"{booking.requester_org.name}取消了 {slot_text(booking.starts_at, booking.ends_at)} 的预约。",
        _booking_url(booking),
    )
    return booking


def bookings_between(
    instrument: Instrument, start: datetime, end: datetime, user: Any = None
) -> list[InstrumentBooking]:
    """The calendar: approved bookings, the viewer's own pending ones, and every pending request
    for the owner organisation."""
    visible = [B.APPROVED.value]
    stmt = select(InstrumentBooking).where(
        InstrumentBooking.instrument_id == instrument.id,
        InstrumentBooking.starts_at < end,
        InstrumentBooking.ends_at > start,
    )
    if can_manage_instrument(user, instrument):
        stmt = stmt.where(InstrumentBooking.status.in_(visible + [B.PENDING.value]))
    elif is_authenticated(user) and user.active_org is not None:
        stmt = stmt.where(
            or_(
                InstrumentBooking.status.in_(visible),
                (InstrumentBooking.status == B.PENDING.value)
                & or_(
                    InstrumentBooking.requester_id == user.id, InstrumentBooking.requester_org_id == user.active_org.id
                ),
            )
        )
    elif is_authenticated(user):
        stmt = stmt.where(
            or_(
                InstrumentBooking.status.in_(visible),
                (InstrumentBooking.status == B.PENDING.value) & (InstrumentBooking.requester_id == user.id),
            )
        )
    else:
        stmt = stmt.where(InstrumentBooking.status.in_(visible))
    return list(db.session.scalars(stmt.order_by(InstrumentBooking.starts_at)))


def booking_requests(instrument: Instrument, statuses: tuple[str, ...] = (B.PENDING.value,)) -> list[InstrumentBooking]:
    stmt = (
        select(InstrumentBooking)
        .where(InstrumentBooking.instrument_id == instrument.id, InstrumentBooking.status.in_(statuses))
        .order_by(InstrumentBooking.starts_at)
    )
    return list(db.session.scalars(stmt))


def my_bookings(user: Any, limit: int = 100) -> list[InstrumentBooking]:
    if not is_authenticated(user):
        return []
    stmt = (
        select(InstrumentBooking)
        .where(InstrumentBooking.requester_id == user.id)
        .order_by(InstrumentBooking.created_at.desc())
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def pending_count(org_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(InstrumentBooking.id))
            .join(Instrument, Instrument.id == InstrumentBooking.instrument_id)
            .where(Instrument.org_id == org_id, InstrumentBooking.status == B.PENDING.value)
        )
        or 0
    )
