"""The brokers' matchmaking board (撮合看板) and introductions (引荐).

The board lists published, unexpired demands without an open deal (a deal on the demand that is
neither completed nor terminated; `OPEN_DEAL` below) with their cached top candidates
(`precompute`), filterable by field, district, introduced or not, and text. The demand's status is
always read live: a withdrawn demand leaves the board at once, and a cached candidate that is no
longer published is not shown. Stale or missing lists of the page are recomputed inline within
`MATCH_BOARD_REFRESH_SECONDS`; the rest show their older candidates flagged as updating.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import current_app, url_for
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from .. import search
from ..accounts.models import User
from ..alerts import services as alerts
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.taxonomy import DealStage, ListingStatus, MembershipStatus
from ..deals.models import Deal
from ..extensions import db
from ..listings import services as listings
from ..listings.models import Achievement, Demand
from . import policy, precompute
from .models import Introduction, MatchResult, MatchState

SHOWN = 3  # candidates per demand on the board
INLINE_BATCH = 4  # lists per inline refresh transaction: the budget overshoots by one batch at most
PER_PAGE_CHOICES = (20, 50)
SORTS = {"newest": "最新发布", "candidates": "候选最多", "score": "最佳匹配分"}
INTRODUCED = {"": "全部", "no": "未引荐", "yes": "已引荐"}
NOTE_MAX = 1000
CLOSED_DEAL_STAGES = (DealStage.COMPLETED.value, DealStage.TERMINATED.value)


@dataclass
class BoardFilter:
    q: str = ""
    field: str = ""
    district: str = ""
    introduced: str = ""  # "" | "no" | "yes"
    sort: str = "newest"
    page: int = 1
    per_page: int = PER_PAGE_CHOICES[0]


@dataclass
class Candidate:
    achievement: Achievement
    rank: int
    score: float
    reasons: list[str]
    introduced: bool = False

    @property
    def percent(self) -> int:
        return max(0, min(100, round(self.score * 100)))


@dataclass
class BoardRow:
    demand: Demand
    candidates: list[Candidate] = field(default_factory=list)
    introductions: int = 0
    state: str = "fresh"  # fresh | updating (older list shown) | computing (nothing yet)


@dataclass
class BoardPage:
    rows: list[BoardRow]
    page: Any  # flask_sqlalchemy Pagination of the demands
    refreshed: int = 0  # lists recomputed inline for this page


def board(f: BoardFilter) -> BoardPage:
    """One page of the board: one query for the demands (plus a count), one for their states,
    one for their candidates, one for their introductions."""
    page = db.paginate(_demands(f), page=max(f.page, 1), per_page=f.per_page, error_out=False)
    demands: list[Demand] = list(page.items)
    ids = [d.id for d in demands]
    states = _states(ids)
    refreshed = 0
    todo = [i for i in ids if i not in states or states[i].stale or states[i].computed_at is None]
    if todo:
        try:
            refreshed = precompute.refresh(
                demand_ids=todo,
                budget_s=precompute.setting("MATCH_BOARD_REFRESH_SECONDS"),
                index_wait=0.0,
                batch=INLINE_BATCH,
            ).computed
        except Exception:  # older candidates beat an error page
            db.session.rollback()
            current_app.logger.exception("matching: board refresh failed")
        if refreshed:  # the refresh committed: reload the page's rows and states in two queries
            db.session.scalars(select(Demand).where(Demand.id.in_(ids))).unique().all()
            states = _states(ids)
    candidates = _candidates(ids)
    counts, pairs = _introductions(ids)
    rows = []
    for demand in demands:
        state = states.get(demand.id)
        shown = candidates.get(demand.id, [])[:SHOWN]
        for c in shown:
            c.introduced = (demand.id, c.achievement.id) in pairs
        if state is None or (state.computed_at is None and not shown):
            label = "computing"
        elif state.stale or state.computed_at is None:
            label = "updating"
        else:
            label = "fresh"
        rows.append(BoardRow(demand, shown, counts.get(demand.id, 0), label))
    return BoardPage(rows, page, refreshed)


def _open_demands(f: BoardFilter | None = None):
    """Published, unexpired demands without an open deal (matching the filter's text, field and
    district)."""
    f = f or BoardFilter()
    stmt = listings.listing_query("demand", listings.ListingFilter(q=f.q, field=f.field, district=f.district))
    open_deal = select(Deal.id).where(Deal.demand_id == Demand.id, Deal.stage.not_in(CLOSED_DEAL_STAGES)).exists()
    return stmt.order_by(None).where(~open_deal)


def _demands(f: BoardFilter):
    stmt = _open_demands(f)
    introduced = select(Introduction.id).where(Introduction.demand_id == Demand.id).exists()
    if f.introduced == "yes":
        stmt = stmt.where(introduced)
    elif f.introduced == "no":
        stmt = stmt.where(~introduced)
    newest = (func.coalesce(Demand.published_at, Demand.created_at).desc(), Demand.id.desc())
    if f.sort in ("candidates", "score"):
        live = (
            select(
                MatchResult.source_id.label("demand_id"),
                func.count().label("n"),
                func.max(MatchResult.score).label("best"),
            )
            .join(Achievement, Achievement.id == MatchResult.target_id)
            .where(MatchResult.source_kind == "demand", Achievement.status == ListingStatus.PUBLISHED.value)
            .group_by(MatchResult.source_id)
            .subquery()
        )
        stmt = stmt.outerjoin(live, live.c.demand_id == Demand.id)
        key = live.c.n if f.sort == "candidates" else live.c.best
        return stmt.order_by(func.coalesce(key, 0).desc(), *newest)
    return stmt.order_by(*newest)


def _states(ids: list[int]) -> dict[int, MatchState]:
    if not ids:
        return {}
    stmt = select(MatchState).where(MatchState.source_kind == "demand", MatchState.source_id.in_(ids))
    return {s.source_id: s for s in db.session.scalars(stmt).all()}


def _candidates(ids: list[int]) -> dict[int, list[Candidate]]:
    """The cached candidates of the demands that are still published, best first: one query."""
    if not ids:
        return {}
    stmt = (
        select(MatchResult, Achievement)
        .join(Achievement, Achievement.id == MatchResult.target_id)
        .where(
            MatchResult.source_kind == "demand",
            MatchResult.source_id.in_(ids),
            Achievement.status == ListingStatus.PUBLISHED.value,
        )
        .order_by(MatchResult.source_id, MatchResult.rank)
    )
    out: dict[int, list[Candidate]] = {}
    for result, achievement in db.session.execute(stmt).unique():
        out.setdefault(result.source_id, []).append(
            Candidate(achievement, result.rank, result.score, list(result.reasons or []))
        )
    return out


def _introductions(ids: list[int]) -> tuple[dict[int, int], set[tuple[int, int]]]:
    if not ids:
        return {}, set()
    rows = db.session.execute(
        select(Introduction.demand_id, Introduction.achievement_id).where(Introduction.demand_id.in_(ids))
    ).all()
    counts: dict[int, int] = {}
    for demand_id, _ in rows:
        counts[demand_id] = counts.get(demand_id, 0) + 1
    return counts, {(d, a) for d, a in rows}


def summary(user: Any) -> dict[str, int]:
    """Headline figures for the board: open demands, of which introduced, and the user's
    introductions (every broker's for administrators)."""
    open_demands = _open_demands().subquery()
    total = db.session.scalar(select(func.count()).select_from(open_demands)) or 0
    introduced = (
        db.session.scalar(
            select(func.count(func.distinct(Introduction.demand_id))).where(
                Introduction.demand_id.in_(select(open_demands.c.id))
            )
        )
        or 0
    )
    return {
        "open": total,
        "introduced": introduced,
        "not_introduced": total - introduced,
        "introductions": db.session.scalar(_introductions_select(user, select(func.count(Introduction.id)))) or 0,
    }


# ---------------------------------------------------------------------------------------------
# Introductions


def introduce(broker: Any, demand_id: Any, achievement_id: Any, note: str | None = None) -> Introduction:
    """Record that `broker` introduced the achievement to the demand, audit it, and notify both
    organisations' members. Flushes; the caller commits."""
    if not policy.can_introduce(broker):
        raise PermissionDenied("只有技术经纪人和平台管理员可以引荐")
    demand = _published(Demand, demand_id, "技术需求")
    achievement = _published(Achievement, achievement_id, "科技成果")
    note = (note or "").strip() or None
    if note and len(note) > NOTE_MAX:
        raise ValidationFailed({"note": f"引荐说明不能超过{NOTE_MAX}个字"})
    if demand.org_id == achievement.org_id:
        raise Conflict("该成果与需求属于同一机构，无需引荐")
    existing = _existing(demand.id, achievement.id)
    if existing is not None:
        raise _already(existing)
    cached = db.session.scalar(
        select(MatchResult).where(
            MatchResult.source_kind == "demand",
            MatchResult.source_id == demand.id,
            MatchResult.target_id == achievement.id,
        )
    )
    org = getattr(broker, "active_org", None)
    intro = Introduction(
        demand_id=demand.id,
        achievement_id=achievement.id,
        broker_id=broker.id,
        broker_org_id=org.id if org else None,
        score=cached.score if cached else None,
        reasons=list(cached.reasons or []) if cached else [],
        note=note,
    )
    try:
        with db.session.begin_nested():
            db.session.add(intro)
    except IntegrityError:  # another broker, a moment earlier
        existing = _existing(demand.id, achievement.id)
        raise _already(existing) from None
    audit.record(
        broker,
        "introduce",
        intro,
        details={"demand_id": demand.id, "achievement_id": achievement.id, "score": intro.score},
    )
    _notify(broker, intro, demand, achievement)
    return intro


def _published(model, raw_id: Any, label: str):
    try:
        listing_id = int(raw_id)
    except (TypeError, ValueError):
        raise ValidationFailed({model.KIND: f"请选择要引荐的{label}"}) from None
    listing = db.session.get(model, listing_id)
    if listing is None:
        raise NotFound(f"该{label}不存在或已被删除")
    if not search.is_public(listing):
        raise Conflict(f"{label}《{listing.title}》已不在发布状态，不能引荐")
    return listing


def _existing(demand_id: int, achievement_id: int) -> Introduction | None:
    return db.session.scalar(
        select(Introduction).where(Introduction.demand_id == demand_id, Introduction.achievement_id == achievement_id)
    )


def _already(existing: Introduction | None) -> Conflict:
    if existing is None:
        return Conflict("该成果已引荐给这项需求，不能重复引荐")
    who = existing.broker.name if existing.broker else "其他经纪人"
    from ..core.timeutil import format_local

    return Conflict(f"该成果已由{who}于 {format_local(existing.created_at)} 引荐给这项需求，不能重复引荐")


def _members(org_id: int) -> list[User]:
    stmt = select(User).where(
        User.organization_id == org_id,
        User.membership_status == MembershipStatus.ACTIVE.value,
        User.is_disabled.is_(False),
    )
    return list(db.session.scalars(stmt))


def _notify(broker: Any, intro: Introduction, demand: Demand, achievement: Achievement) -> None:
    who = f"技术经纪人{broker.name}" if broker.role == "broker" else f"平台管理员{broker.name}"
    note = f"\n引荐说明：{intro.note}" if intro.note else ""
    score = f"（匹配得分 {intro.score:.2f}）" if intro.score is not None else ""
    alerts.notify(
        _members(demand.org_id),
        f"{who}为您的需求《{demand.title}》引荐了科技成果《{achievement.title}》"[:300],
        f"{who}认为{achievement.organization.name}的科技成果《{achievement.title}》"
        f"可能满足您的技术需求《{demand.title}》{score}。{note}",
        _url("achievement", achievement.id),
    )
    alerts.notify(
        _members(achievement.org_id),
        f"{who}将您的成果《{achievement.title}》引荐给了需求《{demand.title}》"[:300],
        f"{who}将您的科技成果《{achievement.title}》引荐给了{demand.organization.name}的技术需求"
        f"《{demand.title}》{score}。{note}",
        _url("demand", demand.id),
    )


def _url(kind: str, listing_id: int) -> str:
    try:
        return url_for(f"listings.{kind}_detail", listing_id=listing_id)
    except RuntimeError:
        return f"/{kind}s/{listing_id}"


def introductions_of(user: Any, page: int = 1, per_page: int = 30):
    """The user's introductions, newest first (all of them for administrators)."""
    if not policy.can_use_board(user):
        raise PermissionDenied("只有技术经纪人和平台管理员可以查看引荐记录")
    stmt = _introductions_select(user, select(Introduction))
    stmt = stmt.order_by(Introduction.created_at.desc(), Introduction.id.desc())
    return db.paginate(stmt, page=max(page, 1), per_page=per_page, error_out=False)


def _introductions_select(user: Any, stmt):
    return stmt if policy.sees_all_introductions(user) else stmt.where(Introduction.broker_id == user.id)


def deals_of_introductions(introduction_ids: list[int]) -> dict[int, Any]:
    """introduction id -> the newest deal opened from it (the deal room turns introductions into
    deals), for the 引荐记录 page's 项目 column."""
    from ..deals.models import Deal

    if not introduction_ids:
        return {}
    rows = db.session.scalars(select(Deal).where(Deal.introduction_id.in_(introduction_ids)).order_by(Deal.id))
    return {deal.introduction_id: deal for deal in rows}
