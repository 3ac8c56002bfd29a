"""Precomputed matches: invalidation in the listing's transaction, propagation of new achievements,
clean-up of withdrawn listings, idempotent refresh."""

from __future__ import annotations

from sqlalchemy import select

from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.matching import board, precompute
from marketplace.matching.models import MatchResult, MatchState
from tests.unit.test_matching import HYDROGEN_ACHIEVEMENT, HYDROGEN_DEMAND

PUMP_DEMAND = {
    "title": "深远海养殖网箱自动投喂系统",
    "description": "寻求深远海养殖网箱的自动投喂技术，实现远程控制与精准投喂。",
    "field": "0601",
    "keywords": "深远海养殖；自动投喂",
    "demand_type": "co_develop",
    "budget": "面议",
}


def state(kind: str, listing_id: int) -> MatchState | None:
    db.session.expire_all()
    return db.session.get(MatchState, (kind, listing_id))


def cached(demand_id: int) -> list[int]:
    stmt = select(MatchResult.target_id).where(MatchResult.source_kind == "demand", MatchResult.source_id == demand_id)
    return list(db.session.scalars(stmt.order_by(MatchResult.rank)))


def test_refresh_caches_the_top_candidates_with_reasons_and_is_idempotent(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    first = precompute.refresh()
    assert first.computed >= 1
    assert cached(demand.id) == [steel.id]
    row = db.session.scalar(select(MatchResult).where(MatchResult.source_id == demand.id))
    assert row.rank == 1 and row.score > 0.5
    assert row.reasons[0].startswith("共同关键词：") and "领域一致" in row.reasons
    assert state("demand", demand.id).stale == 0 and state("demand", demand.id).computed_at is not None
    assert state("achievement", steel.id) is not None  # seeded: nothing to propagate on a first run
    assert precompute.pending() == {"achievement": 0, "demand": 0}
    again = precompute.refresh()
    assert (again.computed, again.removed, again.propagated) == (0, 0, 0)
    assert cached(demand.id) == [steel.id]


def test_editing_or_withdrawing_a_candidate_marks_the_demands_that_list_it(
    index, make_demand, make_achievement, make_user
):
    owner = make_user("university")
    steel = make_achievement(owner=owner, **HYDROGEN_ACHIEVEMENT)
    demand = make_demand(**HYDROGEN_DEMAND)
    unrelated = make_demand(**PUMP_DEMAND)
    precompute.refresh()
    assert state("demand", demand.id).stale == 0
    listings.transition(steel, "withdraw", owner)
    db.session.commit()
    assert state("achievement", steel.id).stale == 2  # itself
    assert state("demand", demand.id).stale == 1  # a list that holds it
    assert state("demand", unrelated.id).stale == 0  # a list that does not
    result = precompute.refresh()
    assert result.removed == 1  # the withdrawn achievement's own state
    assert state("achievement", steel.id) is None
    assert cached(demand.id) == [] and state("demand", demand.id).stale == 0


def test_a_change_that_rolls_back_marks_nothing(index, make_demand, make_achievement, make_user):
    owner = make_user("university")
    steel = make_achievement(owner=owner, **HYDROGEN_ACHIEVEMENT)
    demand = make_demand(**HYDROGEN_DEMAND)
    precompute.refresh()
    listings.transition(steel, "withdraw", owner)
    db.session.rollback()
    assert state("demand", demand.id).stale == 0
    assert state("achievement", steel.id).stale == 0


def test_a_newly_published_achievement_reaches_a_matching_demands_cached_list(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    make_achievement(
        title="高炉炼铁余热回收系统", summary="回收高炉炼铁过程的余热。", field="0502", keywords="余热回收"
    )
    precompute.refresh()
    before = cached(demand.id)
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    assert state("demand", demand.id).stale == 0  # the demand itself did not change ...
    result = precompute.refresh()
    assert result.propagated == 1  # ... the new achievement marked it
    assert cached(demand.id)[0] == steel.id and steel.id not in before
    assert precompute.refresh().computed == 0  # one level only: no cascade back


def test_a_withdrawn_demand_leaves_the_board_at_once_and_its_cache_after_refresh(
    index, make_demand, make_achievement, make_user
):
    enterprise = make_user("enterprise")
    demand = make_demand(owner=enterprise, **HYDROGEN_DEMAND)
    other = make_demand(**PUMP_DEMAND)
    make_achievement(**HYDROGEN_ACHIEVEMENT)
    precompute.refresh()
    assert {r.demand.id for r in board.board(board.BoardFilter()).rows} == {demand.id, other.id}
    listings.transition(demand, "withdraw", enterprise)
    db.session.commit()
    # No refresh has run yet: the board reads the demand's live status.
    assert [r.demand.id for r in board.board(board.BoardFilter()).rows] == [other.id]
    precompute.refresh()
    assert cached(demand.id) == [] and state("demand", demand.id) is None


def test_a_candidate_no_longer_published_is_not_shown_even_while_cached(
    index, make_demand, make_achievement, make_user, app
):
    owner = make_user("university")
    steel = make_achievement(owner=owner, **HYDROGEN_ACHIEVEMENT)
    demand = make_demand(**HYDROGEN_DEMAND)
    precompute.refresh()
    app.config["MATCH_BOARD_REFRESH_SECONDS"] = 0.0  # no inline refresh: the cache stays old
    try:
        listings.transition(steel, "withdraw", owner)
        db.session.commit()
        assert cached(demand.id) == [steel.id]
        (row,) = board.board(board.BoardFilter()).rows
        assert row.candidates == [] and row.state == "updating"
    finally:
        app.config.pop("MATCH_BOARD_REFRESH_SECONDS")


def test_the_board_computes_a_missing_list_inline(index, make_demand, make_achievement):
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    demand = make_demand(**HYDROGEN_DEMAND)
    page = board.board(board.BoardFilter())
    assert page.refreshed == 1
    (row,) = page.rows
    assert row.state == "fresh" and [c.achievement.id for c in row.candidates] == [steel.id]
    assert state("demand", demand.id).stale == 0


def test_an_interrupted_refresh_is_picked_up_again(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    make_achievement(**HYDROGEN_ACHIEVEMENT)
    precompute.refresh()
    # A process claimed the list (stale=0, computed_at=NULL) and died before writing.
    row = state("demand", demand.id)
    row.computed_at = None
    db.session.commit()
    assert precompute.pending()["demand"] == 1
    assert precompute.refresh().computed == 1
    assert state("demand", demand.id).computed_at is not None


def test_limit_bounds_a_refresh(index, make_demand, make_achievement):
    make_achievement(**HYDROGEN_ACHIEVEMENT)
    for i in range(3):
        make_demand(**{**HYDROGEN_DEMAND, "title": f"氢冶金需求{i}"})
    assert precompute.refresh(limit=2).computed == 2
    assert precompute.pending()["demand"] == 1
    assert precompute.refresh().computed == 1
