"""The rules of 揭榜挂帅: publish and review challenges, apply (揭榜) until the deadline, invite
reviewers, score, shortlist and decide; statistics and queries for the pages.

The deadline is compared with `now()` (naive UTC) — the one clock of this module, which tests
move by monkeypatching `utcnow` here. Every status change writes an audit record. Services
flush; the caller commits once."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from sqlalchemy import Select, case, func, or_, select

from ..accounts.models import Organization, User
from ..alerts import services as alerts
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from ..core.money import format_yuan
from ..core.policy import belongs_to, is_admin
from ..core.taxonomy import ListingStatus, MembershipStatus, OrgType
from ..core.timeutil import format_local, to_local, utcnow
from ..extensions import db
from ..listings.models import Achievement
from . import policy
from .models import (
    ApplicationScore,
    ApplicationStatus,
    Challenge,
    ChallengeApplication,
    ChallengeReviewer,
    ChallengeStatus,
)
from .validation import (
    DEFAULT_DEADLINE_TIME,
    clean_application,
    clean_challenge,
    clean_scores,
    clean_text,
)

S = ChallengeStatus
AS = ApplicationStatus


def now() -> datetime:
    return utcnow()


# ---------------------------------------------------------------------------------------------
# Loading


def get_challenge(challenge_id: int) -> Challenge:
    challenge = db.session.get(Challenge, challenge_id)
    if challenge is None:
        raise NotFound("该榜单不存在")
    return challenge


def load_visible(challenge_id: int, user: Any) -> Challenge:
    challenge = get_challenge(challenge_id)
    if not policy.can_view_challenge(user, challenge):
        raise PermissionDenied("该榜单尚未公开，只有发榜单位和管理员可以查看")
    return challenge


def get_application(application_id: int) -> ChallengeApplication:
    application = db.session.get(ChallengeApplication, application_id)
    if application is None:
        raise NotFound("该揭榜申请不存在")
    return application


def load_application(application_id: int, user: Any) -> ChallengeApplication:
    application = get_application(application_id)
    if not policy.can_view_application(user, application):
        raise PermissionDenied("揭榜方案仅对申请单位、发榜单位和受邀评审专家可见")
    return application


def application_of(challenge: Challenge, org_id: int | None) -> ChallengeApplication | None:
    if org_id is None:
        return None
    return next((a for a in challenge.applications if a.org_id == org_id), None)


# ---------------------------------------------------------------------------------------------
# Create and edit


def create_challenge(user: User, data: dict[str, Any]) -> Challenge:
    reason = policy.publish_refusal(user)
    if reason:
        raise PermissionDenied(reason)
    cleaned = clean_challenge(data, now=now())
    org = user.active_org
    if not cleaned.get("district"):
        cleaned["district"] = org.district
    challenge = Challenge(
        **cleaned,
        org_id=org.id,
        created_by_id=user.id,
        on_behalf_of_city=policy.is_official(user),
        status=S.DRAFT,
    )
    db.session.add(challenge)
    db.session.flush()
    audit.record(user, "create", challenge, to_state=S.DRAFT)
    return challenge


def update_challenge(challenge: Challenge, user: User, data: dict[str, Any]) -> Challenge:
    if not policy.is_publisher(user, challenge):
        raise PermissionDenied("只有发榜单位的成员可以修改榜单")
    if challenge.status not in policy.EDITABLE_STATES:
        raise Conflict(f"“{challenge.status_label}”状态的榜单不能修改，请先撤回")
    cleaned = clean_challenge(data, now=now())
    changed = sorted(k for k, v in cleaned.items() if getattr(challenge, k) != v)
    for key in changed:
        setattr(challenge, key, cleaned[key])
    if changed:
        audit.record(user, "update", challenge, details={"fields": changed})
    return challenge


def input_of(challenge: Challenge) -> dict[str, Any]:
    """The challenge as form values: the starting point of the edit form."""
    local = to_local(challenge.deadline)
    return {
        "title": challenge.title,
        "problem": challenge.problem,
        "indicators": challenge.indicators,
        "bounty": f"{Decimal(challenge.bounty).normalize():f}",
        "deadline_date": local.strftime("%Y-%m-%d") if local else "",
        "deadline_time": local.strftime("%H:%M") if local else DEFAULT_DEADLINE_TIME.strftime("%H:%M"),
        "criteria": [dict(c) for c in challenge.criteria or []],
        "eligible_org_types": list(challenge.eligible_org_types or []),
        "field": challenge.field_code or "",
        "district": challenge.district or "",
        "contact_name": challenge.contact_name or "",
        "contact_phone": challenge.contact_phone or "",
    }


# ---------------------------------------------------------------------------------------------
# The review workflow


@dataclass(frozen=True)
class Move:
    sources: tuple[str, ...]
    target: str
    who: str  # publisher | admin | publisher_or_admin
    needs_reason: bool = False


TRANSITIONS = {
    "submit": Move((S.DRAFT, S.REJECTED, S.WITHDRAWN), S.PENDING, "publisher"),
    "approve": Move((S.PENDING,), S.PUBLISHED, "admin"),
    "reject": Move((S.PENDING,), S.REJECTED, "admin", needs_reason=True),
    "withdraw": Move((S.PENDING, S.PUBLISHED), S.WITHDRAWN, "publisher_or_admin"),
}
ACTION_LABELS = {"submit": "提交审核", "approve": "审核通过", "reject": "驳回", "withdraw": "撤回"}


def _actor_ok(move: Move, challenge: Challenge, user: Any) -> bool:
    publisher = policy.is_publisher(user, challenge)
    admin = is_admin(user)
    return {"publisher": publisher, "admin": admin, "publisher_or_admin": publisher or admin}[move.who]


def allowed_actions(challenge: Challenge, user: Any) -> list[str]:
    actions = [a for a, m in TRANSITIONS.items() if challenge.status in m.sources and _actor_ok(m, challenge, user)]
    if challenge.status == S.PUBLISHED and active_applications(challenge):
        actions = [a for a in actions if a != "withdraw"]  # refused by transition(); don't offer it
    return actions


def transition(challenge: Challenge, action: str, user: User, reason: str | None = None) -> Challenge:
    move = TRANSITIONS.get(action)
    if move is None:
        raise ServiceError("未知的操作")
    label = ACTION_LABELS[action]
    if not _actor_ok(move, challenge, user):
        raise PermissionDenied(f"您不能对该榜单执行“{label}”")
    if challenge.status not in move.sources:
        raise Conflict(f"“{challenge.status_label}”状态的榜单不能{label}")
    errors: dict[str, str] = {}
    reason = clean_text(reason, "reason", errors)
    if move.needs_reason and not reason and not errors:
        errors["reason"] = "驳回时请填写原因，以便发榜单位修改"
    if errors:
        raise ValidationFailed(errors)
    if action in ("submit", "approve"):
        _check_publishable(challenge)
    if action == "withdraw" and challenge.status == S.PUBLISHED and active_applications(challenge):
        raise Conflict("已有单位揭榜，不能撤回榜单；截止后可在评审中选择“不设揭榜单位”并说明原因")
    source = challenge.status
    challenge.status = move.target
    if action == "submit":
        challenge.submitted_at = now()
        challenge.review_reason = None
    elif action == "approve":
        challenge.published_at = now()
        challenge.review_reason = None
    elif action == "reject":
        challenge.review_reason = reason
    audit.record(user, action, challenge, from_state=source, to_state=challenge.status, reason=reason)
    if action in ("approve", "reject"):
        _notify_publisher(challenge, action, reason)
    return challenge


def _check_publishable(challenge: Challenge) -> None:
    org = challenge.organization or db.session.get(Organization, challenge.org_id)
    if not org.verified:
        raise Conflict(f"“{org.name}”尚未通过平台认证，暂不能发布榜单")
    if challenge.deadline <= now():
        raise ValidationFailed(
            {"deadline_date": f"截止时间（北京时间 {format_local(challenge.deadline)}）已过，请先修改截止时间"}
        )


def _notify_publisher(challenge: Challenge, action: str, reason: str | None) -> None:
    recipients = [challenge.created_by] if challenge.created_by else _members(challenge.org_id)
    if action == "approve":
        title, body = f"榜单已发布：{challenge.title}", "您的揭榜挂帅榜单已通过审核，现已公开征集揭榜单位。"
    else:
        title, body = f"榜单被驳回：{challenge.title}", f"驳回原因：{reason}"
    alerts.notify(recipients, title, body, _url(challenge))


def review_queue() -> Select:
    return select(Challenge).where(Challenge.status == S.PENDING).order_by(Challenge.submitted_at, Challenge.id)


# ---------------------------------------------------------------------------------------------
# Applications (揭榜)


def apply(user: User, challenge: Challenge, data: dict[str, Any]) -> ChallengeApplication:
    reason = policy.apply_refusal(user, challenge, now())
    if reason:
        raise Conflict(reason) if challenge.status != S.PUBLISHED or "截止" in reason else PermissionDenied(reason)
    org = user.active_org
    existing = application_of(challenge, org.id)
    if existing is not None and existing.status != AS.WITHDRAWN:
        raise Conflict("本单位已揭榜该榜单（每个单位限一份申请），请在截止前修改已提交的申请")
    cleaned = _clean_application(user, data)
    if existing is not None:  # an organisation that withdrew may apply again before the deadline
        application = existing
        for key, value in cleaned.items():
            setattr(application, key, value)
        application.status = AS.SUBMITTED
        application.created_by_id = user.id
        from_state: str | None = AS.WITHDRAWN
    else:
        application = ChallengeApplication(
            challenge_id=challenge.id, org_id=org.id, created_by_id=user.id, status=AS.SUBMITTED, **cleaned
        )
        challenge.applications.append(application)  # the cascade adds it to the session
        from_state = None
    db.session.flush()
    audit.record(user, "apply", application, from_state=from_state, to_state=AS.SUBMITTED)
    alerts.notify(
        _members(challenge.org_id),
        f"新的揭榜申请：{challenge.title}",
        f"{org.name} 提交了揭榜申请。",
        _url(challenge),
        email=False,
    )
    return application


def update_application(user: User, application: ChallengeApplication, data: dict[str, Any]) -> ChallengeApplication:
    _check_changeable(user, application)
    cleaned = _clean_application(user, data)
    changed = sorted(k for k, v in cleaned.items() if getattr(application, k) != v)
    for key in changed:
        setattr(application, key, cleaned[key])
    if changed:
        audit.record(user, "update", application, details={"fields": changed})
    return application


def withdraw_application(user: User, application: ChallengeApplication) -> ChallengeApplication:
    _check_changeable(user, application)
    source = application.status
    application.status = AS.WITHDRAWN
    audit.record(user, "withdraw", application, from_state=source, to_state=AS.WITHDRAWN)
    return application


def _check_changeable(user: User, application: ChallengeApplication) -> None:
    if not belongs_to(user, application.org_id):
        raise PermissionDenied("只有申请单位的成员可以修改或撤回揭榜申请")
    if application.status not in (AS.SUBMITTED, AS.SHORTLISTED):
        raise Conflict(f"“{application.status_label}”的申请不能修改或撤回")
    if not policy.is_open(application.challenge, now()):
        raise Conflict("揭榜已截止（以北京时间为准），申请不能再修改或撤回")


def _clean_application(user: User, data: dict[str, Any]) -> dict[str, Any]:
    cleaned = clean_application(data)
    ids = cleaned["achievement_ids"]
    if ids:
        own = set(
            db.session.scalars(
                select(Achievement.id).where(
                    Achievement.id.in_(ids),
                    Achievement.org_id == user.active_org.id,
                    Achievement.status == ListingStatus.PUBLISHED.value,
                )
            )
        )
        if own != set(ids):
            raise ValidationFailed({"achievement_ids": "只能关联本单位已公开发布的科技成果"})
    return cleaned


def linkable_achievements(user: Any) -> list[Achievement]:
    org = user.active_org if getattr(user, "is_authenticated", False) else None
    if org is None:
        return []
    stmt = (
        select(Achievement)
        .where(Achievement.org_id == org.id, Achievement.status == ListingStatus.PUBLISHED.value)
        .order_by(Achievement.published_at.desc(), Achievement.id.desc())
        .limit(200)
    )
    return list(db.session.scalars(stmt))


def linked_achievements(application: ChallengeApplication) -> list[Achievement]:
    if not application.achievement_ids:
        return []
    return list(db.session.scalars(select(Achievement).where(Achievement.id.in_(application.achievement_ids))))


def active_applications(challenge: Challenge) -> list[ChallengeApplication]:
    return [a for a in challenge.applications if a.status != AS.WITHDRAWN]


# ---------------------------------------------------------------------------------------------
# Reviewers and scores


def invite_reviewer(user: User, challenge: Challenge, email: Any) -> ChallengeReviewer:
    if not policy.is_publisher(user, challenge):
        raise PermissionDenied("只有发榜单位的成员可以邀请评审专家")
    if not policy.can_invite(user, challenge):
        raise Conflict(f"“{challenge.status_label}”的榜单不能再邀请评审专家")
    address = str(email or "").strip().lower()
    if not address:
        raise ValidationFailed({"email": "请填写评审专家的注册邮箱"})
    expert = db.session.scalar(select(User).where(func.lower(User.email) == address))
    if expert is None or expert.is_disabled:
        raise ValidationFailed({"email": f"平台上没有邮箱为“{address}”的可用账号，请专家先注册"})
    if belongs_to(expert, challenge.org_id):
        raise ValidationFailed({"email": "本单位成员本身即可评分，无需邀请"})
    if application_of(challenge, expert.active_org.id if expert.active_org else None):
        raise ValidationFailed({"email": "该专家所在单位已揭榜，需回避，不能担任评审"})
    if policy.is_reviewer(expert, challenge):
        raise ValidationFailed({"email": f"{expert.name} 已是本榜单的评审专家"})
    reviewer = ChallengeReviewer(challenge_id=challenge.id, user_id=expert.id, invited_by_id=user.id, user=expert)
    challenge.reviewers.append(reviewer)
    db.session.flush()
    audit.record(user, "invite_reviewer", challenge, details={"reviewer_id": expert.id})
    alerts.notify(
        [expert],
        f"评审邀请：{challenge.title}",
        f"{challenge.organization.name} 邀请您担任揭榜挂帅榜单的评审专家，揭榜截止后即可评分。",
        _url(challenge),
    )
    return reviewer


def score(user: User, application: ChallengeApplication, raw_scores: list[Any], comment: Any) -> ApplicationScore:
    challenge = application.challenge
    if not (policy.is_publisher(user, challenge) or policy.is_reviewer(user, challenge)):
        raise PermissionDenied("只有发榜单位和受邀评审专家可以评分")
    if challenge.status == S.DECIDED:
        raise Conflict("结果已揭晓，评分不能再修改")
    if not policy.in_review(challenge, now()):
        raise Conflict("揭榜截止后才能评分")
    if application.status == AS.WITHDRAWN:
        raise Conflict("该申请已撤回，不能评分")
    cleaned = clean_scores(challenge.criteria, raw_scores, comment)
    row = db.session.scalar(
        select(ApplicationScore).where(
            ApplicationScore.application_id == application.id, ApplicationScore.reviewer_id == user.id
        )
    )
    if row is None:
        row = ApplicationScore(application_id=application.id, reviewer_id=user.id, **cleaned)
        application.scores.append(row)  # the cascade adds it to the session
    else:
        for key, value in cleaned.items():
            setattr(row, key, value)
    db.session.flush()
    audit.record(user, "score", application, details={"total": str(cleaned["total"])})
    return row


def score_of(application: ChallengeApplication, user: Any) -> ApplicationScore | None:
    return next((s for s in application.scores if s.reviewer_id == getattr(user, "id", None)), None)


def average_score(application: ChallengeApplication) -> Decimal | None:
    if not application.scores:
        return None
    total = sum((Decimal(s.total) for s in application.scores), Decimal(0)) / len(application.scores)
    return total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def set_shortlisted(user: User, application: ChallengeApplication, on: bool) -> ChallengeApplication:
    challenge = application.challenge
    if not policy.is_publisher(user, challenge):
        raise PermissionDenied("只有发榜单位的成员可以确定入围名单")
    if not policy.in_review(challenge, now()):
        raise Conflict("揭榜截止后、结果揭晓前才能调整入围名单")
    source, target = (AS.SUBMITTED, AS.SHORTLISTED) if on else (AS.SHORTLISTED, AS.SUBMITTED)
    if application.status != source:
        raise Conflict(f"“{application.status_label}”的申请不能{'入围' if on else '取消入围'}")
    application.status = target
    audit.record(user, "shortlist" if on else "unshortlist", application, from_state=source, to_state=target)
    return application


def decide(
    user: User, challenge: Challenge, winner_id: Any, no_winner_reason: Any = None, note: Any = None
) -> Challenge:
    """A winner (one application that is not withdrawn) or no winner with a reason. Every other
    application becomes 未入选; every applicant organisation's members hear the outcome with the
    reviewers' comments."""
    if not policy.is_publisher(user, challenge):
        raise PermissionDenied("只有发榜单位的成员可以确定揭榜结果")
    if challenge.status == S.DECIDED:
        raise Conflict("该榜单的结果已经揭晓")
    if not policy.in_review(challenge, now()):
        raise Conflict("揭榜截止后才能确定结果" if challenge.status == S.PUBLISHED else "该榜单不在评审阶段")
    errors: dict[str, str] = {}
    reason = clean_text(no_winner_reason, "no_winner_reason", errors)
    note = clean_text(note, "result_note", errors)
    winner = None
    if str(winner_id or "").strip() not in ("", "none"):
        winner = next((a for a in challenge.applications if str(a.id) == str(winner_id).strip()), None)
        if winner is None or winner.status == AS.WITHDRAWN:
            errors["winner"] = "请选择本榜单一份有效（未撤回）的揭榜申请"
    elif not reason and "no_winner_reason" not in errors:
        errors["no_winner_reason"] = "不设揭榜单位时请说明原因"
    if errors:
        raise ValidationFailed(errors)
    for application in challenge.applications:
        if application.status == AS.WITHDRAWN:
            continue
        source = application.status
        application.status = AS.WON if application is winner else AS.NOT_SELECTED
        audit.record(user, "decide", application, from_state=source, to_state=application.status)
    source = challenge.status
    challenge.status = S.DECIDED
    challenge.decided_at = now()
    challenge.winner_application_id = winner.id if winner else None
    challenge.no_winner_reason = None if winner else reason
    challenge.result_note = note
    audit.record(
        user,
        "decide",
        challenge,
        from_state=source,
        to_state=S.DECIDED,
        reason=None if winner else reason,
        details={"winner_application_id": winner.id if winner else None},
    )
    _notify_applicants(challenge, winner)
    return challenge


def _notify_applicants(challenge: Challenge, winner: ChallengeApplication | None) -> None:
    if winner:
        headline = f"揭榜结果：{winner.organization.name} 揭榜成功"
    else:
        headline = f"揭榜结果：本榜单不设揭榜单位。原因：{challenge.no_winner_reason}"
    for application in active_applications(challenge):
        outcome = "恭喜！贵单位揭榜成功。" if application is winner else "很遗憾，贵单位本次未入选。"
        comments = [s.comment for s in application.scores if s.comment]
        lines = [outcome, headline]
        if application.scores:
            lines.append(f"评审平均分：{average_score(application)}")
        if comments:
            lines.append("评审意见：")
            lines += [f"{i}. {c}" for i, c in enumerate(comments, start=1)]
        alerts.notify(
            _members(application.org_id),
            f"揭榜结果：{challenge.title}",
            "\n".join(lines),
            f"/challenges/applications/{application.id}",
        )


def _members(org_id: int) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.organization_id == org_id,
                User.membership_status == MembershipStatus.ACTIVE.value,
                User.is_disabled.is_(False),
            )
        )
    )


def _url(challenge: Challenge) -> str:
    # A path, not url_for: services also run from the CLI (demo data) without a request.
    return f"/challenges/{challenge.id}"


# ---------------------------------------------------------------------------------------------
# Statistics and queries


@dataclass
class Stats:
    applications: int
    by_org_type: list[tuple[str, int]]
    shortlisted: int
    average_total: Decimal | None  # shown once decided
    days_left: int | None  # None once closed
    closed: bool


def stats(challenge: Challenge, at: datetime | None = None) -> Stats:
    at = at or now()
    active = active_applications(challenge)
    types = Counter(a.organization.org_type for a in active)
    shortlisted = sum(1 for a in active if a.status in (AS.SHORTLISTED, AS.WON))
    average = None
    if challenge.status == S.DECIDED:
        totals = [Decimal(s.total) for a in active for s in a.scores]
        if totals:
            average = (sum(totals, Decimal(0)) / len(totals)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    closed = at >= challenge.deadline or challenge.status != S.PUBLISHED
    days_left = None if closed else max((challenge.deadline - at).days, 0)
    return Stats(
        applications=len(active),
        by_org_type=[(OrgType.label_of(code), n) for code, n in types.most_common()],
        shortlisted=shortlisted,
        average_total=average,
        days_left=days_left,
        closed=closed,
    )


def countdown(challenge: Challenge, at: datetime | None = None) -> str:
    """'还剩 3 天 5 小时' / '还剩 40 分钟' / '已截止'."""
    at = at or now()
    if at >= challenge.deadline:
        return "已截止"
    seconds = int((challenge.deadline - at).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    if days:
        return f"还剩 {days} 天 {hours} 小时"
    if hours:
        return f"还剩 {hours} 小时 {rest // 60} 分钟"
    return f"还剩 {max(rest // 60, 1)} 分钟"


def phase_label(challenge: Challenge, at: datetime | None = None) -> str:
    if challenge.status == S.PUBLISHED:
        return "征集中" if policy.is_open(challenge, at or now()) else "评审中"
    return challenge.status_label


SORTS = {"deadline": "截止时间最近", "newest": "最新发布", "bounty": "悬赏金额最高"}
LIST_STATUSES = {"open": "征集中", "review": "评审中", "decided": "已揭晓"}


def public_query(status: str = "", field: str = "", sort: str = "deadline") -> Select:
    at = now()
    stmt = select(Challenge).where(Challenge.status.in_(policy.PUBLIC_STATES))
    if status == "open":
        stmt = stmt.where(Challenge.status == S.PUBLISHED, Challenge.deadline > at)
    elif status == "review":
        stmt = stmt.where(Challenge.status == S.PUBLISHED, Challenge.deadline <= at)
    elif status == "decided":
        stmt = stmt.where(Challenge.status == S.DECIDED)
    if field:
        taxonomy = current_app.extensions["taxonomy"]
        stmt = stmt.where(Challenge.field_code.in_(taxonomy.field_and_descendants(field)))
    if sort == "newest":
        return stmt.order_by(Challenge.published_at.desc(), Challenge.id.desc())
    if sort == "bounty":
        return stmt.order_by(Challenge.bounty.desc(), Challenge.id.desc())
    # Open ones first by the nearest deadline, then the closed ones, most recently closed first.
    open_first = case((Challenge.deadline > at, Challenge.deadline))
    return stmt.order_by((Challenge.deadline <= at).asc(), open_first.asc(), Challenge.deadline.desc(), Challenge.id)


def application_counts(challenge_ids: list[int]) -> dict[int, int]:
    if not challenge_ids:
        return {}
    rows = db.session.execute(
        select(ChallengeApplication.challenge_id, func.count(ChallengeApplication.id))
        .where(ChallengeApplication.challenge_id.in_(challenge_ids), ChallengeApplication.status != AS.WITHDRAWN)
        .group_by(ChallengeApplication.challenge_id)
    )
    return dict(rows.all())


def paginate(stmt, page: int):
    per_page = current_app.config.get("PER_PAGE", 20)
    return db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False)


@dataclass
class Mine:
    published: list[Challenge]
    applications: list[ChallengeApplication]
    reviewing: list[Challenge]


def mine(user: User) -> Mine:
    org = user.active_org
    published: list[Challenge] = []
    applications: list[ChallengeApplication] = []
    if org is not None:
        published = list(
            db.session.scalars(select(Challenge).where(Challenge.org_id == org.id).order_by(Challenge.id.desc()))
        )
        applications = list(
            db.session.scalars(
                select(ChallengeApplication)
                .where(ChallengeApplication.org_id == org.id)
                .order_by(ChallengeApplication.id.desc())
            )
        )
    reviewing = list(
        db.session.scalars(
            select(Challenge)
            .join(ChallengeReviewer, ChallengeReviewer.challenge_id == Challenge.id)
            .where(
                ChallengeReviewer.user_id == user.id,
                or_(Challenge.status == S.PUBLISHED, Challenge.status == S.DECIDED),
            )
            .order_by(Challenge.deadline.desc())
        )
    )
    return Mine(published, applications, reviewing)


def bounty_text(challenge: Challenge) -> str:
    return format_yuan(challenge.bounty)
