"""Per-object rules for 揭榜挂帅, used by the views, the services and the tests alike.

Rules that depend on the clock take `now` (naive UTC) from the caller — services.now() — so the
deadline is decided in one place and tests can move time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..core.policy import belongs_to, is_admin, is_authenticated, is_official
from ..core.taxonomy import OrgType, Role
from .models import ApplicationStatus, ChallengeStatus

PUBLIC_STATES = (ChallengeStatus.PUBLISHED, ChallengeStatus.DECIDED)
EDITABLE_STATES = (ChallengeStatus.DRAFT, ChallengeStatus.REJECTED, ChallengeStatus.WITHDRAWN)
APPLICANT_ROLES = (Role.UNIVERSITY, Role.ENTERPRISE)


def publish_refusal(user: Any) -> str | None:
    """Why `user` may not publish challenges, or None: members of verified enterprises, and
    officials (who publish on behalf of the city)."""
    if not is_authenticated(user) or user.role not in (Role.ENTERPRISE, Role.OFFICIAL):
        return "只有已认证企业的成员或科技管理部门的工作人员可以发布揭榜挂帅榜单"
    org = user.active_org
    if org is None:
        return "请先加入机构（且加入申请已获批准）后再发布榜单"
    if user.role == Role.ENTERPRISE and (org.org_type != OrgType.ENTERPRISE or not org.verified):
        return f"“{org.name}”尚未通过平台认证，认证后才能发布榜单"
    return None


def can_publish(user: Any) -> bool:
    return publish_refusal(user) is None


def is_publisher(user: Any, challenge: Any) -> bool:
    """A member of the publishing organisation."""
    return belongs_to(user, challenge.org_id)


def is_reviewer(user: Any, challenge: Any) -> bool:
    return is_authenticated(user) and any(r.user_id == user.id for r in challenge.reviewers)


def can_view_challenge(user: Any, challenge: Any) -> bool:
    if challenge.status in PUBLIC_STATES:
        return True
    return is_admin(user) or is_official(user) or is_publisher(user, challenge)


def can_edit(user: Any, challenge: Any) -> bool:
    return is_publisher(user, challenge) and challenge.status in EDITABLE_STATES


def is_open(challenge: Any, now: datetime) -> bool:
    """Published and before the deadline: applications accepted and editable."""
    return challenge.status == ChallengeStatus.PUBLISHED and now < challenge.deadline


def in_review(challenge: Any, now: datetime) -> bool:
    """Published and past the deadline (评审中): scoring, shortlisting and the decision."""
    return challenge.status == ChallengeStatus.PUBLISHED and now >= challenge.deadline


def apply_refusal(user: Any, challenge: Any, now: datetime) -> str | None:
    """Why `user` may not apply (揭榜) for `challenge`, or None if they may."""
    if not is_authenticated(user) or user.role not in APPLICANT_ROLES:
        return "只有高校、科研院所和企业的成员可以揭榜"
    org = user.active_org
    if org is None:
        return "请先加入机构（且加入申请已获批准）后再揭榜"
    if not org.verified:
        return f"“{org.name}”尚未通过平台认证，认证后才能揭榜"
    if org.id == challenge.org_id:
        return "不能揭本单位发布的榜"
    if org.org_type not in (challenge.eligible_org_types or []):
        allowed = "、".join(OrgType.label_of(code) for code in challenge.eligible_org_types or [])
        return f"本榜单只接受以下类型的单位揭榜：{allowed}"
    if challenge.status != ChallengeStatus.PUBLISHED:
        return "该榜单未在发布状态，不能揭榜"
    if now >= challenge.deadline:
        return "揭榜已截止（以北京时间为准），不再接受申请"
    return None


def can_apply(user: Any, challenge: Any, now: datetime) -> bool:
    return apply_refusal(user, challenge, now) is None


def can_change_application(user: Any, application: Any, now: datetime) -> bool:
    """The applicant organisation edits or withdraws its application until the deadline."""
    return (
        belongs_to(user, application.org_id)
        and application.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.SHORTLISTED)
        and is_open(application.challenge, now)
    )


def can_score(user: Any, challenge: Any, now: datetime) -> bool:
    """The publisher's members and invited reviewers, once applications have closed."""
    return in_review(challenge, now) and (is_publisher(user, challenge) or is_reviewer(user, challenge))


def can_decide(user: Any, challenge: Any, now: datetime) -> bool:
    """Shortlisting and the decision: the publisher's members, once applications have closed."""
    return in_review(challenge, now) and is_publisher(user, challenge)


def can_invite(user: Any, challenge: Any) -> bool:
    return is_publisher(user, challenge) and challenge.status in (
        ChallengeStatus.DRAFT,
        ChallengeStatus.PENDING,
        ChallengeStatus.REJECTED,
        ChallengeStatus.PUBLISHED,
    )


def can_view_application(user: Any, application: Any) -> bool:
    """A proposal is confidential: its own organisation, the publisher, invited reviewers and
    administrators / officials (read-only)."""
    challenge = application.challenge
    return (
        belongs_to(user, application.org_id)
        or is_publisher(user, challenge)
        or is_reviewer(user, challenge)
        or is_admin(user)
        or is_official(user)
    )


def can_view_scores(user: Any, application: Any) -> bool:
    """Every reviewer's scores: the publisher, reviewers and admins at any time; the applicant
    once the result is out."""
    challenge = application.challenge
    if is_publisher(user, challenge) or is_reviewer(user, challenge) or is_admin(user):
        return True
    return belongs_to(user, application.org_id) and challenge.status == ChallengeStatus.DECIDED
