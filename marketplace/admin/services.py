"""Read-only queries of the back office: dashboard figures, filtered lists of organisations,
users and join requests, and the audit log with its Chinese labels.

State changes are not made here: the views call the owning domain's services
(`listings.services.transition`, `accounts.services.set_verified` ...), so each rule lives once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import url_for
from sqlalchemy import Select, case, func, or_, select

from ..accounts.models import Organization, User
from ..core.audit import ACTION_LABELS, AuditLog
from ..core.taxonomy import ListingStatus, MembershipStatus, OrgType, Role
from ..core.timeutil import LOCAL_TZ, utcnow
from ..extensions import db
from ..listings.models import Achievement, Demand

OBJECT_TYPE_LABELS = {
    "achievement": "科技成果",
    "demand": "技术需求",
    "organization": "机构",
    "user": "用户",
    "api_token": "API 令牌",
    "attachment": "附件",
    "challenge": "揭榜挂帅",
    "challenge_application": "揭榜申请",
    "introduction": "引荐",
    "deal": "撮合项目",
    "tech_contract": "技术合同",
    "invoice": "发票",
}
ORG_STATE_LABELS = {"verified": "已认证", "unverified": "未认证"}
LISTING_TYPES = {"achievement", "demand"}


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _contains(text: str) -> str:
    return f"%{_escape_like(text.strip())}%"


def _count(stmt: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0


# ---------------------------------------------------------------------------------------------
# Dashboard


def pending_counts() -> dict[str, int]:
    """The back office's to-do figures, shown on the dashboard and in the navigation."""
    return {
        "achievements": _count(select(Achievement.id).where(Achievement.status == ListingStatus.PENDING.value)),
        "demands": _count(select(Demand.id).where(Demand.status == ListingStatus.PENDING.value)),
        "unverified_orgs": _count(select(Organization.id).where(Organization.verified.is_(False))),
        "join_requests": _count(join_requests_query()),
    }


def users_by_role() -> list[dict[str, Any]]:
    """Every role with its number of users and of disabled users, in the taxonomy's order."""
    rows = db.session.execute(
        select(User.role, func.count(User.id), func.sum(case((User.is_disabled.is_(True), 1), else_=0))).group_by(
            User.role
        )
    ).all()
    found = {role: (total, int(disabled or 0)) for role, total, disabled in rows}
    return [
        {
            "role": role.value,
            "label": role.label,
            "total": found.get(role.value, (0, 0))[0],
            "disabled": found.get(role.value, (0, 0))[1],
        }
        for role in Role
    ]


def waiting_label(since: datetime | None, now: datetime | None = None) -> str:
    """How long something has waited, the way a reviewer reads it: 刚刚 / 3 小时 / 2 天."""
    if since is None:
        return ""
    seconds = max(((now or utcnow()) - since).total_seconds(), 0)
    if seconds < 3600:
        return f"{int(seconds // 60)} 分钟" if seconds >= 60 else "刚刚"
    if seconds < 86400:
        return f"{int(seconds // 3600)} 小时"
    return f"{int(seconds // 86400)} 天"


# ---------------------------------------------------------------------------------------------
# Organisations and join requests


def org_query(q: str = "", verified: str = "", org_type: str = "") -> Select:
    """Organisations matching the filters, those waiting for verification first."""
    stmt = select(Organization)
    if q.strip():
        like = _contains(q)
        stmt = stmt.where(or_(Organization.name.ilike(like, escape="\\"), Organization.uscc.ilike(like, escape="\\")))
    if verified in ("1", "0"):
        stmt = stmt.where(Organization.verified.is_(verified == "1"))
    kind = OrgType.parse(org_type)
    if kind is not None:
        stmt = stmt.where(Organization.org_type == kind.value)
    return stmt.order_by(Organization.verified, Organization.created_at.desc(), Organization.id.desc())


def member_counts(org_ids: list[int]) -> dict[int, int]:
    """Approved members per organisation, for one page of organisations in one query."""
    if not org_ids:
        return {}
    rows = db.session.execute(
        select(User.organization_id, func.count(User.id))
        .where(User.organization_id.in_(org_ids), User.membership_status == MembershipStatus.ACTIVE.value)
        .group_by(User.organization_id)
    )
    return {org_id: count for org_id, count in rows}


def join_requests_query() -> Select:
    """Pending join requests across all organisations, oldest first."""
    return (
        select(User)
        .where(User.organization_id.is_not(None), User.membership_status == MembershipStatus.PENDING.value)
        .order_by(User.created_at, User.id)
    )


# ---------------------------------------------------------------------------------------------
# Users


def user_query(q: str = "", role: str = "", disabled: str = "", org_id: int | None = None) -> Select:
    stmt = select(User)
    if org_id is not None:
        stmt = stmt.where(User.organization_id == org_id)
    if q.strip():
        like = _contains(q)
        stmt = stmt.where(or_(User.email.ilike(like, escape="\\"), User.name.ilike(like, escape="\\")))
    wanted_role = Role.parse(role)
    if wanted_role is not None:
        stmt = stmt.where(User.role == wanted_role.value)
    if disabled in ("1", "0"):
        stmt = stmt.where(User.is_disabled.is_(disabled == "1"))
    return stmt.order_by(User.created_at.desc(), User.id.desc())


# ---------------------------------------------------------------------------------------------
# Audit log


@dataclass
class AuditFilter:
    object_type: str = ""
    object_id: int | None = None
    action: str = ""
    actor: str = ""  # part of the actor's email
    date_from: date | None = None  # local (Asia/Shanghai) dates, both inclusive
    date_to: date | None = None


def parse_date(raw: str | None) -> date | None:
    """'2025-03-01' -> date; raises ValueError with a Chinese message."""
    text = (raw or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"日期“{text}”格式不正确，应为 年-月-日，如 2025-03-01") from None


def local_day_start_utc(day: date) -> datetime:
    """The UTC instant (naive, as stored) at which `day` begins in Asia/Shanghai."""
    return datetime.combine(day, time.min, LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)


def audit_query(f: AuditFilter) -> Select:
    stmt = select(AuditLog)
    if f.object_type:
        stmt = stmt.where(AuditLog.object_type == f.object_type)
    if f.object_id is not None:
        stmt = stmt.where(AuditLog.object_id == f.object_id)
    if f.action:
        stmt = stmt.where(AuditLog.action == f.action)
    if f.actor.strip():
        actors = select(User.id).where(User.email.ilike(_contains(f.actor), escape="\\"))
        stmt = stmt.where(AuditLog.actor_id.in_(actors))
    if f.date_from:
        stmt = stmt.where(AuditLog.created_at >= local_day_start_utc(f.date_from))
    if f.date_to:
        stmt = stmt.where(AuditLog.created_at < local_day_start_utc(f.date_to + timedelta(days=1)))
    return stmt.order_by(AuditLog.created_at.desc(), AuditLog.id.desc())


def recent_audit(limit: int = 8) -> list[AuditLog]:
    return list(db.session.scalars(audit_query(AuditFilter()).limit(limit)))


def action_label(action: str) -> str:
    return ACTION_LABELS.get(action, action)


def state_label(object_type: str, state: str | None) -> str:
    if not state:
        return ""
    if object_type in LISTING_TYPES:
        return ListingStatus.label_of(state)
    if object_type == "organization":
        return ORG_STATE_LABELS.get(state, state)
    if object_type == "user":
        return MembershipStatus.label_of(state)
    return state


@dataclass
class AuditRow:
    """One audit entry dressed for display."""

    entry: AuditLog
    action_label: str
    object_type_label: str
    object_name: str
    object_url: str | None
    from_label: str
    to_label: str
    actor: User | None


def describe(entries: list[AuditLog], *, admin_links: bool) -> list[AuditRow]:
    """Labels, actor and object names for a page of entries, loaded in one query per type."""
    wanted: dict[str, set[int]] = {}
    for e in entries:
        if e.object_id is not None:
            wanted.setdefault(e.object_type, set()).add(e.object_id)
    user_ids = {e.actor_id for e in entries if e.actor_id} | wanted.get("user", set())
    users = {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    # (type, id) -> (display name, link); a missing key means the object is gone.
    objects: dict[tuple[str, int], tuple[str, str | None]] = {}
    for object_type, model, column in (
        ("achievement", Achievement, Achievement.title),
        ("demand", Demand, Demand.title),
        ("organization", Organization, Organization.name),
    ):
        ids = wanted.get(object_type)
        if ids:
            for object_id, name in db.session.execute(select(model.id, column).where(model.id.in_(ids))):
                objects[(object_type, object_id)] = (name, _object_url(object_type, object_id, name, admin_links))
    for user_id in wanted.get("user", set()):
        if user_id in users:
            user = users[user_id]
            url = url_for("admin.users", q=user.email) if admin_links else None
            objects[("user", user_id)] = (f"{user.name}（{user.email}）", url)
    rows = []
    for e in entries:
        name, url = objects.get((e.object_type, e.object_id), ("", None))
        rows.append(
            AuditRow(
                entry=e,
                action_label=action_label(e.action),
                object_type_label=OBJECT_TYPE_LABELS.get(e.object_type, e.object_type),
                object_name=name,
                object_url=url,
                from_label=state_label(e.object_type, e.from_state),
                to_label=state_label(e.object_type, e.to_state),
                actor=users.get(e.actor_id) if e.actor_id else None,
            )
        )
    return rows


def _object_url(object_type: str, object_id: int, name: str, admin_links: bool) -> str | None:
    if object_type == "achievement":
        return url_for("listings.achievement_detail", listing_id=object_id)
    if object_type == "demand":
        return url_for("listings.demand_detail", listing_id=object_id)
    if object_type == "organization" and admin_links:
        return url_for("admin.orgs", q=name)
    return None


def mail_query(state: str = "") -> Select:
    """The e-mail outbox, newest first, optionally by state (queued | failed | sent)."""
    from ..alerts.models import EmailOutbox

    stmt = select(EmailOutbox).order_by(EmailOutbox.id.desc())
    if state == "sent":
        stmt = stmt.where(EmailOutbox.sent_at.is_not(None))
    elif state == "queued":
        stmt = stmt.where(EmailOutbox.sent_at.is_(None), EmailOutbox.attempts == 0)
    elif state == "failed":
        stmt = stmt.where(EmailOutbox.sent_at.is_(None), EmailOutbox.attempts > 0)
    return stmt
