"""The rules of 成果评价: requesting, assigning a panel, scoring, closing, cancelling, the badge.

State machine (every change through `transition`, audited; notifications to the parties):

  requested ─assign→ assigned ─(first score sheet)→ scoring ─close→ completed
  requested / assigned / scoring ─cancel→ cancelled

Who does what:
* the owner organisation's approved members request (one open request per achievement) and may
  cancel before the panel is closed, and hide or show the badge of a completed evaluation;
* the assigner — an admin, or an approved member of the chosen 成果评价 provider — picks 3–7
  experts (active, available for evaluation, with a login account, not from the owner
  organisation nor on the achievement's team), sets the due date, and closes the panel;
* each panel expert scores the six dimensions (see `scoring`), may revise until the close, and
  sees no other expert's sheet before it."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from sqlalchemy import Select, select

from ..accounts.models import Organization, User
from ..alerts.services import notify
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.policy import LISTING_ROLES, belongs_to, is_admin, is_authenticated, is_listing_owner, is_official
from ..core.taxonomy import ListingStatus, Role
from ..core.timeutil import local_today, to_local, utcnow
from ..core.validators import parse_id
from ..deals import services as deals
from ..deals.contracts import take_number
from ..extensions import db
from ..listings.models import Achievement
from ..providers import services as providers
from ..providers.models import ServiceOffering
from ..resources import services as resources
from ..resources.models import AchievementExpert, Expert
from . import scoring
from .models import (
    OPEN_STATES,
    EvaluationPanelMember,
    EvaluationRequest,
    EvaluationScore,
    EvaluationStatus,
    MemberStatus,
)

S = EvaluationStatus
CATEGORY = "evaluation"
PANEL_SIZE = (3, 7)
MIN_SCORED = 3
TEXT_LIMIT = 2000

# action -> (states it may start from, state it leads to); the audit action names reuse the
# labels of core.audit (邀请评审专家, 评分, 关闭, 撤回).
TRANSITIONS: dict[str, tuple[tuple[str, ...], EvaluationStatus]] = {
    "assign": ((S.REQUESTED.value,), S.ASSIGNED),
    "score": ((S.ASSIGNED.value,), S.SCORING),
    "close": ((S.SCORING.value,), S.COMPLETED),
    "cancel": (OPEN_STATES, S.CANCELLED),
}
AUDIT_ACTIONS = {"assign": "invite_reviewer", "score": "score", "close": "close", "cancel": "withdraw"}


# ---------------------------------------------------------------------------------------------
# Policy (used by views, the API and tests)


def is_requester(user: Any, request: EvaluationRequest) -> bool:
    """An approved member of the owner organisation (of a kind that lists achievements)."""
    return is_listing_owner(user, request)


def can_request(user: Any, achievement: Achievement) -> bool:
    return achievement.status == ListingStatus.PUBLISHED.value and is_listing_owner(user, achievement)


def can_manage(user: Any, request: EvaluationRequest) -> bool:
    """The assigner: an admin, or a member of the chosen provider organisation."""
    return is_admin(user) or (request.provider_org_id is not None and belongs_to(user, request.provider_org_id))


def member_of(request: EvaluationRequest, user: Any) -> EvaluationPanelMember | None:
    if not is_authenticated(user):
        return None
    return next((m for m in request.members if m.expert.user_id == user.id), None)


def can_view(user: Any, request: EvaluationRequest) -> bool:
    return (
        is_requester(user, request)
        or can_manage(user, request)
        or is_official(user)
        or member_of(request, user) is not None
    )


def can_download_report(user: Any, request: EvaluationRequest) -> bool:
    return request.status == S.COMPLETED.value and can_view(user, request)


def is_public(request: EvaluationRequest) -> bool:
    return request.status == S.COMPLETED.value and not request.badge_hidden


def load(request_id: int, user: Any) -> EvaluationRequest:
    request = db.session.get(EvaluationRequest, request_id)
    if request is None:
        raise NotFound("评价申请不存在")
    if not can_view(user, request):
        raise PermissionDenied("只有成果所属机构、评价机构、评审专家、科技管理人员和管理员可以查看评价申请")
    return request


def load_summary(request_id: int, user: Any) -> EvaluationRequest:
    """The public summary of a completed evaluation (hidden by its owner: only the parties)."""
    request = db.session.get(EvaluationRequest, request_id)
    if request is None or request.status != S.COMPLETED.value:
        raise NotFound("该成果评价不存在或尚未完成")
    if request.badge_hidden and not can_view(user, request):
        raise NotFound("该成果评价的结果未公开")
    return request


# ---------------------------------------------------------------------------------------------
# The one state-changing function


def transition(request: EvaluationRequest, action: str, actor: Any, reason: str | None = None, **details: Any):
    allowed, target = TRANSITIONS[action]
    if request.status not in allowed:
        raise Conflict(f"评价申请当前状态为“{request.status_label}”，不能{_ACTION_TEXT[action]}")
    before = request.status
    request.status = target.value
    audit.record(
        actor,
        AUDIT_ACTIONS[action],
        request,
        from_state=before,
        to_state=target.value,
        reason=reason,
        details=details or None,
    )
    return request


_ACTION_TEXT = {"assign": "组建专家组", "score": "开始评分", "close": "关闭专家组", "cancel": "取消"}


def _url(request: EvaluationRequest) -> str:
    return f"/evaluations/{request.id}"


def _owner_members(request: EvaluationRequest) -> list[User]:
    return deals.org_members(request.org_id)


def _managers(request: EvaluationRequest) -> list[User]:
    if request.provider_org_id is not None:
        return deals.org_members(request.provider_org_id)
    stmt = select(User).where(User.role == Role.ADMIN.value, User.is_disabled.is_(False))
    return list(db.session.scalars(stmt))


def _panel_users(request: EvaluationRequest) -> list[User]:
    return [m.expert.user for m in request.active_members if m.expert.user is not None]


# ---------------------------------------------------------------------------------------------
# Requesting


def provider_orgs() -> list[Organization]:
    """Verified organisations with an active 成果评价 offering."""
    stmt = (
        select(Organization)
        .join(ServiceOffering, ServiceOffering.org_id == Organization.id)
        .where(
            ServiceOffering.category == CATEGORY,
            ServiceOffering.active.is_(True),
            Organization.verified.is_(True),
        )
        .distinct()
        .order_by(Organization.name)
    )
    return list(db.session.scalars(stmt))


def requestable_achievements(user: Any) -> list[Achievement]:
    org = user.active_org if is_authenticated(user) else None
    if org is None or user.role not in LISTING_ROLES:
        return []
    stmt = (
        select(Achievement)
        .where(Achievement.org_id == org.id, Achievement.status == ListingStatus.PUBLISHED.value)
        .order_by(Achievement.published_at.desc(), Achievement.id.desc())
    )
    return list(db.session.scalars(stmt))


def open_request_of(achievement_id: int) -> EvaluationRequest | None:
    stmt = select(EvaluationRequest).where(
        EvaluationRequest.achievement_id == achievement_id, EvaluationRequest.status.in_(OPEN_STATES)
    )
    return db.session.scalars(stmt.limit(1)).first()


def _text(data: Mapping[str, Any], name: str, label: str, errors: dict[str, str], *, limit: int, required=False):
    raw = data.get(name)
    if raw is not None and not isinstance(raw, str):
        errors[name] = f"{label}须为文字"
        return None
    value = (raw or "").strip()
    if required and not value:
        errors[name] = f"请填写{label}"
    elif len(value) > limit:
        errors[name] = f"{label}不超过 {limit} 字"
    return value or None


def create_request(actor: Any, achievement: Achievement | None, data: Mapping[str, Any]) -> EvaluationRequest:
    """申请成果评价 for a published achievement of the actor's organisation."""
    if achievement is None:
        raise ValidationFailed({"achievement_id": "请选择本机构已发布的科技成果"})
    if not is_listing_owner(actor, achievement):
        raise PermissionDenied("只有成果所属机构的成员可以申请成果评价")
    if achievement.status != ListingStatus.PUBLISHED.value:
        raise ValidationFailed({"achievement_id": "只有已发布的科技成果可以申请评价"})
    errors: dict[str, str] = {}
    purpose = _text(data, "purpose", "评价目的", errors, limit=200, required=True)
    notes = _text(data, "notes", "补充说明", errors, limit=TEXT_LIMIT)
    provider_id = _provider_id(data.get("provider_org_id"), achievement, errors)
    if errors:
        raise ValidationFailed(errors)
    # Lock the achievement so two simultaneous requests cannot both see "no open request".
    db.session.execute(select(Achievement.id).where(Achievement.id == achievement.id).with_for_update())
    existing = open_request_of(achievement.id)
    if existing is not None:
        raise Conflict(f"该成果已有进行中的评价申请（编号 {existing.id}，{existing.status_label}）")
    request = EvaluationRequest(
        achievement_id=achievement.id,
        org_id=achievement.org_id,
        requested_by_id=actor.id,
        provider_org_id=provider_id,
        purpose=purpose,
        notes=notes,
        status=S.REQUESTED.value,
    )
    db.session.add(request)
    db.session.flush()
    audit.record(actor, "create", request, to_state=request.status, details={"achievement_id": achievement.id})
    notify(
        _managers(request),
        f"新的成果评价申请：“{achievement.title}”",
        f"{achievement.organization.name}申请成果评价（{purpose}），请组建评审专家组。",
        _url(request),
    )
    return request


def _provider_id(raw: Any, achievement: Achievement, errors: dict[str, str]) -> int | None:
    if raw in (None, "", 0, "0"):
        return None
    try:
        org_id = int(str(raw))
    except ValueError:
        errors["provider_org_id"] = "请选择列表中的评价机构"
        return None
    if org_id == achievement.org_id:
        errors["provider_org_id"] = "不能选择成果所属机构自己作为评价机构（利益冲突）"
    elif not providers.offers(org_id, CATEGORY):
        errors["provider_org_id"] = "该机构不是已认证的成果评价服务机构，请从列表中选择"
    return org_id


# ---------------------------------------------------------------------------------------------
# Assigning the panel


def candidate_experts(request: EvaluationRequest) -> list[Expert]:
    """Experts who may sit on this panel, those of the achievement's field first."""
    achievement = request.achievement
    experts = resources.evaluation_candidates(achievement.field_code, achievement.org_id)
    return [e for e in experts if _conflict(e, achievement) is None]


def _conflict(expert: Expert, achievement: Achievement) -> str | None:
    owner = achievement.organization.name
    if expert.organization_id == achievement.org_id:
        return f"{expert.name}来自成果所属机构（{owner}），存在利益冲突，不能参加评审"
    if expert.user is not None and expert.user.organization_id == achievement.org_id:
        return f"{expert.name}的账号属于成果所属机构（{owner}），存在利益冲突，不能参加评审"
    on_team = db.session.scalar(
        select(AchievementExpert.id).where(
            AchievementExpert.achievement_id == achievement.id, AchievementExpert.expert_id == expert.id
        )
    )
    if on_team:
        return f"{expert.name}是该成果的团队成员，存在利益冲突，不能参加评审"
    return None


def _expert_ids(raw: Any, errors: dict[str, str]) -> list[int]:
    if isinstance(raw, str):
        raw = [part for part in raw.replace("，", ",").split(",") if part.strip()]
    if not isinstance(raw, list | tuple):
        errors["experts"] = "请选择评审专家（专家编号列表）"
        return []
    ids: list[int] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, int | str) or parse_id(item) is None:
            errors["experts"] = f"专家编号须为整数：{item!r}"
            return []
        if int(item) not in ids:
            ids.append(int(item))
    return ids


def _due_date(raw: Any, errors: dict[str, str]) -> date | None:
    if raw in (None, ""):
        errors["due_date"] = "请设定评分截止日期"
        return None
    try:
        value = date.fromisoformat(str(raw).strip())
    except ValueError:
        errors["due_date"] = "截止日期格式应为 YYYY-MM-DD"
        return None
    if value < local_today():
        errors["due_date"] = "截止日期不能早于今天"
    return value


def assign_panel(request: EvaluationRequest, actor: Any, experts: Any, due_date: Any) -> EvaluationRequest:
    if not can_manage(actor, request):
        raise PermissionDenied("只有管理员或申请人选定的评价机构成员可以组建专家组")
    if request.status != S.REQUESTED.value:
        raise Conflict(f"评价申请当前状态为“{request.status_label}”，不能组建专家组")
    errors: dict[str, str] = {}
    ids = _expert_ids(experts, errors)
    due = _due_date(due_date, errors)
    chosen: list[Expert] = []
    if "experts" not in errors:
        problems = []
        for expert_id in ids:
            expert = db.session.get(Expert, expert_id)
            if expert is None:
                problems.append(f"专家编号 {expert_id} 不存在")
            elif not expert.active:
                problems.append(f"{expert.name}已停用")
            elif not expert.available_evaluation:
                problems.append(f"{expert.name}暂不接受成果评价邀请")
            elif expert.user is None or expert.user.is_disabled:
                problems.append(f"{expert.name}没有可用的平台账号，无法登录评分")
            elif (why := _conflict(expert, request.achievement)) is not None:
                problems.append(why)
            else:
                chosen.append(expert)
        if problems:
            errors["experts"] = "；".join(problems)
        elif not PANEL_SIZE[0] <= len(ids) <= PANEL_SIZE[1]:
            errors["experts"] = f"评审专家组须为 {PANEL_SIZE[0]}–{PANEL_SIZE[1]} 位专家（已选 {len(ids)} 位）"
    if errors:
        raise ValidationFailed(errors)
    for expert in chosen:
        request.members.append(EvaluationPanelMember(expert_id=expert.id, expert=expert))
    request.assigned_by_id = actor.id
    request.assigned_at = utcnow()
    request.due_date = due
    transition(request, "assign", actor, experts=[e.id for e in chosen], due_date=str(due))
    db.session.flush()
    title = request.achievement.title
    notify(
        _panel_users(request),
        f"成果评价邀请：“{title}”",
        f"您已被邀请参加成果评价专家组，请于 {due:%Y-%m-%d} 前完成评分。",
        f"{_url(request)}/score",
    )
    notify(_owner_members(request), f"“{title}”的评审专家组已组建", f"{len(chosen)} 位专家评审中。", _url(request))
    return request


# ---------------------------------------------------------------------------------------------
# Scoring


def parse_sheet(data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str], str]:
    """(scores by dimension, comments by dimension, opinion) or ValidationFailed with one
    reason per field: `<code>` for a score, `<code>_comment`, `opinion`."""
    errors: dict[str, str] = {}
    scores: dict[str, Any] = {}
    comments: dict[str, str] = {}
    for dim in scoring.DIMENSIONS:
        try:
            scores[dim.code] = scoring.parse_score(data.get(dim.code))
        except ValueError as exc:
            errors[dim.code] = str(exc)
        comments[dim.code] = _text(
            data, f"{dim.code}_comment", f"{dim.label}评语", errors, limit=TEXT_LIMIT, required=True
        )
    opinion = _text(data, "opinion", "总体意见", errors, limit=TEXT_LIMIT * 2, required=True)
    if errors:
        raise ValidationFailed(errors)
    return scores, comments, opinion or ""


def submit_scores(request: EvaluationRequest, actor: Any, data: Mapping[str, Any]) -> EvaluationPanelMember:
    member = member_of(request, actor)
    if member is None:
        raise PermissionDenied("只有本评价专家组的专家可以评分")
    if request.status not in (S.ASSIGNED.value, S.SCORING.value):
        raise Conflict(f"评价申请当前状态为“{request.status_label}”，评分不能再提交或修改")
    if member.status == MemberStatus.WITHDRAWN.value:
        raise Conflict("您已退出本评价专家组")
    scores, comments, opinion = parse_sheet(data)
    revising = member.status == MemberStatus.SCORED.value
    for code in scoring.DIMENSION_CODES:
        row = member.score_of(code)
        if row is None:
            member.scores.append(EvaluationScore(dimension=code, score=scores[code], comment=comments[code]))
        else:
            row.score, row.comment = scores[code], comments[code]
    member.opinion = opinion
    member.status = MemberStatus.SCORED.value
    now = utcnow()
    if revising:
        member.revised_at = now
    else:
        member.submitted_at = now
    if request.status == S.ASSIGNED.value:
        transition(request, "score", actor)
    audit.record(
        actor,
        "score",
        request,
        reason="修改评分" if revising else "提交评分",
        details={"expert_id": member.expert_id, **{k: str(v) for k, v in scores.items()}},
    )
    db.session.flush()
    return member


# ---------------------------------------------------------------------------------------------
# Closing, cancelling, the badge


def sheets_of(request: EvaluationRequest) -> list[dict[str, Any]]:
    return [{s.dimension: s.score for s in m.scores} for m in request.scored_members]


def result_of(request: EvaluationRequest) -> scoring.Result | None:
    """The panel's result; only once the panel is closed (scores are hidden before)."""
    if request.status != S.COMPLETED.value or not request.scored_members:
        return None
    return scoring.compute(sheets_of(request))


def close_panel(request: EvaluationRequest, actor: Any, withdrawals: Mapping[Any, Any] | None = None):
    """Close the panel: every active expert has scored, or at least three have and each missing
    one is marked withdrawn with a reason (`withdrawals`: expert id -> reason)."""
    if not can_manage(actor, request):
        raise PermissionDenied("只有组建专家组的管理员或评价机构成员可以关闭专家组")
    if request.status == S.ASSIGNED.value:
        raise Conflict("尚无专家提交评分，不能关闭专家组")
    if request.status != S.SCORING.value:
        raise Conflict(f"评价申请当前状态为“{request.status_label}”，不能关闭专家组")
    reasons = {parse_id(k): str(v or "").strip() for k, v in (withdrawals or {}).items() if parse_id(k)}
    missing = [m for m in request.active_members if m.status != MemberStatus.SCORED.value]
    errors: dict[str, str] = {}
    unexplained = [m.expert.name for m in missing if not reasons.get(m.expert_id)]
    if unexplained:
        errors["withdrawn"] = f"{'、'.join(unexplained)}尚未评分：请等待评分，或将其标记为退出并说明原因"
    elif len(request.scored_members) < MIN_SCORED:
        errors["withdrawn"] = (
            f"至少需要 {MIN_SCORED} 位专家的评分才能关闭专家组（现有 {len(request.scored_members)} 位）"
        )
    if errors:
        raise ValidationFailed(errors)
    for member in missing:
        member.status = MemberStatus.WITHDRAWN.value
        member.withdrawn_reason = reasons[member.expert_id]
    result = scoring.compute(sheets_of(request))
    now = utcnow()
    request.overall = result.overall
    request.grade = result.grade.code
    request.completed_at = now
    request.closed_by_id = actor.id
    request.report_number = f"PJ{to_local(now).year}{take_number('evaluation_report', '', to_local(now).year):06d}"
    transition(
        request,
        "close",
        actor,
        overall=str(result.overall),
        grade=result.grade.code,
        withdrawn={str(m.expert_id): m.withdrawn_reason for m in missing},
    )
    db.session.flush()
    title = request.achievement.title
    text = f"综合得分 {result.overall} 分，等级 {result.grade.text}，评价报告 {request.report_number} 可下载。"
    notify(_owner_members(request), f"“{title}”成果评价已完成", text, _url(request))
    notify(_panel_users(request), f"“{title}”评审专家组已关闭", text, _url(request))
    return request


def cancel(request: EvaluationRequest, actor: Any, reason: str | None = None) -> EvaluationRequest:
    if not (is_requester(actor, request) or is_admin(actor)):
        raise PermissionDenied("只有申请机构的成员或管理员可以取消评价申请")
    reason = (reason or "").strip()[:TEXT_LIMIT] or None
    transition(request, "cancel", actor, reason)
    request.cancelled_at = utcnow()
    request.cancel_reason = reason
    title = request.achievement.title
    notify(
        [*_panel_users(request), *_managers(request), *_owner_members(request)],
        f"“{title}”的成果评价申请已取消",
        reason or "",
        _url(request),
    )
    return request


def set_badge_hidden(request: EvaluationRequest, actor: Any, hidden: bool) -> EvaluationRequest:
    if not is_requester(actor, request):
        raise PermissionDenied("只有成果所属机构的成员可以设置评价标识")
    if request.status != S.COMPLETED.value:
        raise Conflict("只有已完成的成果评价有评价标识")
    if request.badge_hidden != hidden:
        request.badge_hidden = hidden
        audit.record(actor, "update", request, reason="隐藏评价标识" if hidden else "公开评价标识")
    return request


def badge_of(achievement_id: int) -> EvaluationRequest | None:
    """The latest completed, not hidden evaluation of an achievement (the listing's badge)."""
    stmt = (
        select(EvaluationRequest)
        .where(
            EvaluationRequest.achievement_id == achievement_id,
            EvaluationRequest.status == S.COMPLETED.value,
            EvaluationRequest.badge_hidden.is_(False),
        )
        .order_by(EvaluationRequest.completed_at.desc(), EvaluationRequest.id.desc())
    )
    return db.session.scalars(stmt.limit(1)).first()


def latest_completed(achievement_id: int) -> EvaluationRequest | None:
    stmt = (
        select(EvaluationRequest)
        .where(EvaluationRequest.achievement_id == achievement_id, EvaluationRequest.status == S.COMPLETED.value)
        .order_by(EvaluationRequest.completed_at.desc(), EvaluationRequest.id.desc())
    )
    return db.session.scalars(stmt.limit(1)).first()


# ---------------------------------------------------------------------------------------------
# Lists


VIEWS = {"mine": "本机构的评价申请", "manage": "待我组织的评价", "expert": "我的评审任务"}


def list_query(user: Any, view: str) -> Select:
    stmt = select(EvaluationRequest).order_by(EvaluationRequest.created_at.desc(), EvaluationRequest.id.desc())
    if view == "expert":
        return stmt.join(EvaluationPanelMember).join(Expert).where(Expert.user_id == user.id)
    if view == "manage":
        if is_admin(user):
            return stmt
        org = user.active_org
        return stmt.where(EvaluationRequest.provider_org_id == (org.id if org else -1))
    org = user.active_org if user.role in (Role.UNIVERSITY.value, Role.ENTERPRISE.value) else None
    return stmt.where(EvaluationRequest.org_id == (org.id if org else -1))


def tasks_of(user: Any) -> list[EvaluationPanelMember]:
    stmt = (
        select(EvaluationPanelMember)
        .join(Expert)
        .join(EvaluationRequest)
        .where(Expert.user_id == user.id)
        .order_by(EvaluationRequest.created_at.desc(), EvaluationPanelMember.id.desc())
    )
    return list(db.session.scalars(stmt))


def is_manager_anywhere(user: Any) -> bool:
    if is_admin(user):
        return True
    org = user.active_org if is_authenticated(user) else None
    return org is not None and providers.offers(org.id, CATEGORY)


def members_by_expert(request: EvaluationRequest) -> dict[int, EvaluationPanelMember]:
    return {m.expert_id: m for m in request.members}


def names(members: Iterable[EvaluationPanelMember]) -> str:
    return "、".join(m.expert.name for m in members)
