"""The rules of first contact: who may start a thread on which listing, replies, read tracking,
the inbox and unread counts. Services flush; the view commits once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select

from ..accounts.models import User
from ..core import audit, policy
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.taxonomy import ListingStatus, Role
from ..core.timeutil import utcnow
from ..core.validators import parse_id
from ..extensions import db
from ..listings import services as listings
from ..listings.models import Achievement, Demand
from .models import Inquiry, InquiryKind, InquiryMessage

MESSAGE_MAX = 2000
# C0/C1 control characters except tab and newline; \r is dropped after CRLF is folded to LF.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_message(raw: Any, field: str = "message") -> str:
    text = _CONTROL.sub("", str(raw or "").replace("\r\n", "\n")).strip()
    if not text:
        raise ValidationFailed({field: "请填写留言内容"})
    if len(text) > MESSAGE_MAX:
        raise ValidationFailed({field: f"留言不能超过{MESSAGE_MAX}个字（当前{len(text)}个）"})
    return text


# ---------------------------------------------------------------------------------------------
# Who may start a thread


def inquiry_refusal(user: Any, achievement: Achievement) -> str | None:
    """Why `user` may not send a 合作意向 on `achievement`, or None if they may."""
    if not policy.is_authenticated(user) or user.role != Role.ENTERPRISE:
        return "只有企业成员可以发送合作意向"
    org = user.active_org
    if org is None:
        return "请先加入企业（且加入申请已获批准）后再发送合作意向"
    if not org.verified:
        return "您所在的企业尚未通过平台认证，认证后才能发送合作意向"
    if achievement.org_id == org.id:
        return "不能对本机构发布的成果发送合作意向"
    if achievement.status != ListingStatus.PUBLISHED:
        return "该科技成果未在公开发布状态，不能发送合作意向"
    return None


def offer_refusal(user: Any, demand: Demand) -> str | None:
    """Why `user` may not offer an achievement to `demand`, or None if they may."""
    if not policy.is_authenticated(user) or user.role != Role.UNIVERSITY:
        return "只有高校/院所成员可以向技术需求推荐成果"
    org = user.active_org
    if org is None or not org.is_research:
        return "请先加入高校或科研院所（且加入申请已获批准）后再推荐成果"
    if not org.verified:
        return "您所在的机构尚未通过平台认证，认证后才能推荐成果"
    if demand.org_id == org.id:
        return "不能向本机构发布的需求推荐成果"
    if demand.status != ListingStatus.PUBLISHED:
        return "该技术需求未在公开发布状态，不能推荐成果"
    return None


def _raise_refusal(reason: str, listing: Achievement | Demand) -> None:
    if listing.status != ListingStatus.PUBLISHED and "公开发布" in reason:
        raise Conflict(reason)
    raise PermissionDenied(reason)


def offerable_achievements(user: Any) -> list[Achievement]:
    """The published achievements of the user's organisation, newest first."""
    org = user.active_org if policy.is_authenticated(user) else None
    if org is None:
        return []
    stmt = (
        select(Achievement)
        .where(Achievement.org_id == org.id, Achievement.status == ListingStatus.PUBLISHED.value)
        .order_by(Achievement.published_at.desc(), Achievement.id.desc())
    )
    return list(db.session.scalars(stmt))


# ---------------------------------------------------------------------------------------------
# Threads and messages


def start_inquiry(user: User, achievement: Achievement, message: Any) -> Inquiry:
    reason = inquiry_refusal(user, achievement)
    if reason:
        _raise_refusal(reason, achievement)
    body = clean_message(message)
    return _open_thread(user, InquiryKind.ACHIEVEMENT_INQUIRY, achievement, None, body)


def start_offer(user: User, demand: Demand, achievement_id: Any, message: Any) -> Inquiry:
    reason = offer_refusal(user, demand)
    if reason:
        _raise_refusal(reason, demand)
    errors: dict[str, str] = {}
    achievement = None
    if (pk := parse_id(achievement_id)) is not None:
        achievement = db.session.get(Achievement, pk)
    if achievement is None or achievement.org_id != user.active_org.id or achievement.status != ListingStatus.PUBLISHED:
        errors["achievement_id"] = "请选择本机构已公开发布的科技成果"
    try:
        body = clean_message(message)
    except ValidationFailed as exc:
        errors.update(exc.fields)
    if errors:
        raise ValidationFailed(errors)
    return _open_thread(user, InquiryKind.DEMAND_OFFER, achievement, demand, body)


def _open_thread(user: User, kind: str, achievement: Achievement, demand: Demand | None, body: str) -> Inquiry:
    listing = demand or achievement
    now = utcnow()
    inquiry = Inquiry(
        kind=kind,
        achievement_id=achievement.id,
        demand_id=demand.id if demand else None,
        from_org_id=user.active_org.id,
        from_user_id=user.id,
        to_org_id=listing.org_id,
        subject=listing.title[:200],
        created_at=now,
        last_message_at=now,
    )
    db.session.add(inquiry)
    db.session.flush()
    _add_message(inquiry, user, body)
    audit.record(
        user,
        "inquire" if kind == InquiryKind.ACHIEVEMENT_INQUIRY else "offer",
        inquiry,
        details={
            "kind": kind,
            "achievement_id": achievement.id,
            "demand_id": demand.id if demand else None,
            "to_org_id": listing.org_id,
        },
    )
    return inquiry


def reply(user: User, inquiry: Inquiry, message: Any) -> InquiryMessage:
    if not policy.is_inquiry_party(user, inquiry):
        raise PermissionDenied("只有对接双方机构的成员可以回复")
    return _add_message(inquiry, user, clean_message(message))


def _add_message(inquiry: Inquiry, user: User, body: str) -> InquiryMessage:
    org_id = user.active_org.id
    msg = InquiryMessage(inquiry_id=inquiry.id, sender_user_id=user.id, sender_org_id=org_id, body=body)
    db.session.add(msg)
    db.session.flush()
    inquiry.last_message_at = msg.created_at
    _set_read(inquiry, org_id, msg.id)  # the sender has seen the thread up to here
    return msg


def get_inquiry(inquiry_id: int) -> Inquiry:
    inquiry = db.session.get(Inquiry, inquiry_id)
    if inquiry is None:
        raise NotFound("该对接消息不存在")
    return inquiry


def load_thread(inquiry_id: int, user: Any) -> Inquiry:
    inquiry = get_inquiry(inquiry_id)
    if not policy.can_view_inquiry(user, inquiry):
        raise PermissionDenied("只有对接双方机构的成员可以查看该消息")
    return inquiry


def mark_read(inquiry: Inquiry, user: Any) -> None:
    """Opening a thread marks it read for the user's organisation (admins leave no trace)."""
    if not policy.is_inquiry_party(user, inquiry):
        return
    last_id = db.session.scalar(select(func.max(InquiryMessage.id)).where(InquiryMessage.inquiry_id == inquiry.id))
    _set_read(inquiry, user.active_org.id, last_id or 0)


def _set_read(inquiry: Inquiry, org_id: int, message_id: int) -> None:
    if org_id == inquiry.from_org_id and message_id > inquiry.from_last_read_id:
        inquiry.from_last_read_id = message_id
    if org_id == inquiry.to_org_id and message_id > inquiry.to_last_read_id:
        inquiry.to_last_read_id = message_id


# ---------------------------------------------------------------------------------------------
# Inbox and counts


def _unread_condition(org_id: int):
    return and_(
        InquiryMessage.sender_org_id != org_id,
        or_(
            and_(Inquiry.from_org_id == org_id, InquiryMessage.id > Inquiry.from_last_read_id),
            and_(Inquiry.to_org_id == org_id, InquiryMessage.id > Inquiry.to_last_read_id),
        ),
    )


def unread_total(user: Any) -> int:
    """Unread messages across the organisation's threads: one query."""
    org = user.active_org if policy.is_authenticated(user) else None
    if org is None:
        return 0
    stmt = (
        select(func.count(InquiryMessage.id))
        .join(Inquiry, Inquiry.id == InquiryMessage.inquiry_id)
        .where(or_(Inquiry.from_org_id == org.id, Inquiry.to_org_id == org.id), _unread_condition(org.id))
    )
    return db.session.scalar(stmt) or 0


@dataclass
class InboxRow:
    inquiry: Inquiry
    other_org: Any
    unread: int
    received: bool  # the organisation is the listing owner's side


def inbox(user: Any, page: int):
    """The threads of the user's organisation, newest activity first, with unread counts."""
    org = user.active_org
    stmt = (
        select(Inquiry)
        .where(or_(Inquiry.from_org_id == org.id, Inquiry.to_org_id == org.id))
        .order_by(Inquiry.last_message_at.desc(), Inquiry.id.desc())
    )
    result = listings.paginate(stmt, page)
    ids = [inquiry.id for inquiry in result.items]
    counts: dict[int, int] = {}
    if ids:
        rows = db.session.execute(
            select(InquiryMessage.inquiry_id, func.count(InquiryMessage.id))
            .join(Inquiry, Inquiry.id == InquiryMessage.inquiry_id)
            .where(InquiryMessage.inquiry_id.in_(ids), _unread_condition(org.id))
            .group_by(InquiryMessage.inquiry_id)
        )
        counts = {inquiry_id: count for inquiry_id, count in rows}
    rows = [InboxRow(i, i.other_org(org.id), counts.get(i.id, 0), received=i.to_org_id == org.id) for i in result.items]
    return result, rows


def received_count(listing: Achievement | Demand) -> int:
    """How many threads a listing received (inquiries on an achievement, offers to a demand)."""
    if isinstance(listing, Demand):
        cond = Inquiry.demand_id == listing.id
    else:
        cond = and_(Inquiry.achievement_id == listing.id, Inquiry.kind == InquiryKind.ACHIEVEMENT_INQUIRY)
    return db.session.scalar(select(func.count(Inquiry.id)).where(cond)) or 0
