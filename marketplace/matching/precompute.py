"""Precomputed recommendations for the brokers' board (MatchState / MatchResult).

What is stored
--------------
* Every published demand: its top `TOP_N` achievements (`recommend(demand, TOP_N)`), best first,
  with score and reasons. The board shows the first three that are still published, so a
  withdrawn candidate never leaves a demand empty-handed until the next refresh.
* Every published achievement: a `MatchState` row only. Nothing reads an achievement's list, so it
  is not stored; computing it serves to *propagate* (below).

How it stays fresh (invalidation in the listing's own transaction)
------------------------------------------------------------------
`search.enqueue(obj)` calls `invalidate(kind, id)` in the same transaction as the outbox row:
* the listing's own state becomes stale=2 (it changed);
* every demand whose cached list holds a changed achievement becomes stale=1
  (`ix_match_results_target`).
A change that rolls back leaves no mark, exactly like the outbox row.

A changed or new achievement may belong in lists that do not hold it yet. `refresh` recomputes
every achievement whose state is stale or missing (new) first, and marks the demands among its
new top candidates stale=1 (one level: recomputing those demands propagates nothing further;
nothing reads achievements' lists, so a new demand need not propagate either).

`refresh` claims a batch (stale=0, computed_at=NULL, committed), makes sure the search index has
applied every committed change, computes, and writes the results with computed_at in a second
transaction. A change committed meanwhile sets stale again, so it is never lost; a process that
dies between claim and write leaves computed_at NULL, which the next run picks up. Listings that
are no longer published lose their state and results. Changes of an organisation (its name, the
search outbox's `org_listings`) do not change scores and are ignored.

Who runs it: `flask matching refresh`, the `flask search worker` loop after each catch-up (not on
SQLite, which has one writer: see search_cli), a
bounded run after every request that changed a listing (once the response is sent, like the
search catch-up), and the board itself for the stale demands of the page it shows.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app, has_request_context
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from .. import search
from ..core.background import after_response
from ..core.taxonomy import ListingStatus
from ..core.timeutil import local_today, utcnow
from ..extensions import db
from ..listings.models import Achievement, Demand
from . import recommend
from .models import MatchResult, MatchState

TOP_N = 5  # candidates stored per demand (the board shows 3)
BATCH = 10  # listings per claim / write transaction
KINDS = ("achievement", "demand")  # achievements first: their propagation lands in the same run
MODELS = {"achievement": Achievement, "demand": Demand}
DEFAULTS = {
    "MATCH_REFRESH_AFTER_REQUEST": True,
    "MATCH_REFRESH_AFTER_REQUEST_SECONDS": 1.0,
    "MATCH_BOARD_REFRESH_SECONDS": 0.3,
}


def setting(name: str, app: Flask | None = None):
    return (app or current_app).config.get(name, DEFAULTS[name])


@dataclass
class Refreshed:
    computed: int = 0  # listings recomputed
    removed: int = 0  # states dropped: the listing is no longer published
    seeded: int = 0  # achievement states created without computing (first run)
    propagated: int = 0  # demand lists marked stale by new or changed achievements
    index_behind: bool = False  # the search index had not applied every change: stopped
    locked: bool = False  # another refresh of this node was running: skipped
    seconds: float = 0.0


# ---------------------------------------------------------------------------------------------
# Invalidation (called by search.enqueue, inside the listing's transaction)


def install(app: Flask) -> None:
    search.on_enqueue(app, invalidate)


def invalidate(kind: str, object_id: int) -> None:
    if kind not in MODELS:
        return  # organisations: names do not change scores
    quiet = {"synchronize_session": False}
    with db.session.no_autoflush:  # the caller's pending rows (the outbox row) stay pending
        marked = db.session.execute(
            update(MatchState)
            .where(MatchState.source_kind == kind, MatchState.source_id == object_id)
            .values(stale=2)
            .execution_options(**quiet)
        ).rowcount
        if kind == "achievement":
            holders = _lists_naming(object_id)
            marked += db.session.execute(
                update(MatchState)
                .where(MatchState.source_kind == "demand", MatchState.source_id.in_(holders), MatchState.stale < 1)
                .values(stale=1)
                .execution_options(**quiet)
            ).rowcount
        # A draft that was never published marks nothing and can enter no list: no refresh for it
        # (the refresh's look for listings without a state reads every published listing, 0.14 s
        # at 100,000 listings, after every draft saved).
        if (
            has_request_context()
            and setting("MATCH_REFRESH_AFTER_REQUEST")
            and (marked or _may_enter_lists(kind, object_id))
        ):
            _refresh_after_this_request()


def _may_enter_lists(kind: str, object_id: int) -> bool:
    """A change that marked no state still matters when the listing is public (it needs its own
    list and may enter others) or is an achievement some stored list still names."""
    listing = db.session.get(MODELS[kind], object_id)
    if listing is not None and search.is_public(listing):
        return True
    if kind != "achievement":
        return False
    return db.session.scalar(_lists_naming(object_id).limit(1)) is not None


def _lists_naming(achievement_id: int):
    """The demands whose stored recommendation list names this achievement."""
    return select(MatchResult.source_id).where(
        MatchResult.source_kind == "demand", MatchResult.target_id == achievement_id
    )


def _refresh_after_this_request() -> None:
    # Asked for after the search catch-up, so the index is current by the time this runs; the
    # worker, the board or the next change repairs a miss.
    after_response(
        "matching",
        lambda: refresh(budget_s=setting("MATCH_REFRESH_AFTER_REQUEST_SECONDS"), lock_wait=0.0, index_wait=0.5),
        "matching: refresh",
    )


# ---------------------------------------------------------------------------------------------
# Refresh


def refresh(
    limit: int | None = None,
    budget_s: float | None = None,
    *,
    demand_ids: list[int] | None = None,
    lock_wait: float | None = None,
    index_wait: float | None = None,
    batch: int = BATCH,
) -> Refreshed:
    """Recompute stale or missing states, achievements first, until none is left, `limit`
        listings were computed or `budget_s` seconds passed. `demand_ids`: only those demands (the
        board's page; no node lock, duplicates are harmless). `lock_wait`: seconds to wait for this
        node's refresh lock (None: block). `index_wait`: for the search catch-up lock. `batch`: listings
    per transaction (the budget is checked between batches, so a small one keeps it tight). Commits."""
    started = time.monotonic()
    deadline = started + budget_s if budget_s is not None else None
    result = Refreshed()
    with _node_lock(lock_wait if demand_ids is None else 0.0, skip=demand_ids is not None) as held:
        if not held:
            result.locked = True
            return result
        if demand_ids is None:
            result.seeded = _seed()
        kinds = ("demand",) if demand_ids is not None else KINDS
        misses = 0  # batches another process claimed first: a few, then leave the rest to it
        while (limit is None or result.computed < limit) and misses < 3:
            if deadline is not None and time.monotonic() >= deadline:
                break
            size = batch if limit is None else min(batch, limit - result.computed)
            kind, picked = next(((k, p) for k in kinds if (p := _work(k, size, demand_ids))), (None, []))
            if kind is None:
                break
            claimed = _claim(kind, picked)
            if not claimed:
                misses += 1
                continue
            if not _index_current(index_wait):
                _unclaim(kind, claimed)
                result.index_behind = True
                break
            _compute(kind, claimed, result)
    result.seconds = time.monotonic() - started
    return result


def pending() -> dict[str, int]:
    """How many listings of each kind wait for a refresh (stale, interrupted or new)."""
    out = {}
    for kind in KINDS:
        model = MODELS[kind]
        stale = select(func.count()).where(
            MatchState.source_kind == kind, or_(MatchState.stale > 0, MatchState.computed_at.is_(None))
        )
        missing = (
            select(func.count())
            .select_from(model)
            .outerjoin(MatchState, _state_join(kind, model))
            .where(_public(model), MatchState.source_id.is_(None))
        )
        out[kind] = (db.session.scalar(stale) or 0) + (db.session.scalar(missing) or 0)
    return out


def clear() -> None:
    """Forget everything (for `flask matching refresh --all`). Commits."""
    db.session.execute(delete(MatchResult))
    db.session.execute(delete(MatchState))
    db.session.commit()


def _public(model):
    condition = model.status == ListingStatus.PUBLISHED.value
    if model is Demand:
        condition = and_(condition, or_(Demand.valid_until.is_(None), Demand.valid_until >= local_today()))
    return condition


def _state_join(kind: str, model):
    return and_(MatchState.source_kind == kind, MatchState.source_id == model.id)


def _seed() -> int:
    """First run: give every published achievement a state without computing it. A demand list
    computed after this sees them all (the claim waits for the index); lists computed before
    (by the board, before any run) are marked stale. Later new achievements have no state and
    are propagated."""
    if db.session.scalar(select(MatchState.source_id).where(MatchState.source_kind == "achievement").limit(1)):
        return 0
    now = utcnow()
    ids = list(db.session.scalars(select(Achievement.id).where(_public(Achievement))))
    if not ids:
        return 0
    db.session.execute(
        insert(MatchState),
        [{"source_kind": "achievement", "source_id": i, "stale": 0, "computed_at": now} for i in ids],
    )
    db.session.execute(
        update(MatchState)
        .where(MatchState.source_kind == "demand", MatchState.stale == 0, MatchState.computed_at < now)
        .values(stale=1)
        .execution_options(synchronize_session=False)
    )
    try:
        db.session.commit()
    except IntegrityError:  # another node seeded at the same moment
        db.session.rollback()
        return 0
    return len(ids)


def _work(kind: str, size: int, only: list[int] | None) -> list[tuple[int, int | None]]:
    """(listing id, its stale level or None when it has no state), stale first, newest first."""
    model = MODELS[kind]
    stale = select(MatchState.source_id, MatchState.stale).where(
        MatchState.source_kind == kind, or_(MatchState.stale > 0, MatchState.computed_at.is_(None))
    )
    missing = (
        select(model.id)
        .outerjoin(MatchState, _state_join(kind, model))
        .where(_public(model), MatchState.source_id.is_(None))
    )
    if only is not None:
        stale = stale.where(MatchState.source_id.in_(only))
        missing = missing.where(model.id.in_(only))
    picked = [
        (r.source_id, r.stale)
        for r in db.session.execute(stale.order_by(MatchState.stale.desc(), MatchState.source_id.desc()).limit(size))
    ]
    if len(picked) < size:
        picked += [(i, None) for i in db.session.scalars(missing.order_by(model.id.desc()).limit(size - len(picked)))]
    return picked


def _claim(kind: str, picked: list[tuple[int, int | None]]) -> list[tuple[int, int | None]]:
    claimed = []
    for listing_id, stale in picked:
        if stale is None:
            try:
                with db.session.begin_nested():
                    db.session.add(MatchState(source_kind=kind, source_id=listing_id, stale=0, computed_at=None))
            except IntegrityError:  # another process created it meanwhile
                continue
        else:
            done = db.session.execute(
                update(MatchState)
                .where(MatchState.source_kind == kind, MatchState.source_id == listing_id, MatchState.stale == stale)
                .values(stale=0, computed_at=None)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount != 1:
                continue
        claimed.append((listing_id, stale))
    db.session.commit()
    return claimed


def _unclaim(kind: str, claimed: list[tuple[int, int | None]]) -> None:
    for listing_id, stale in claimed:
        db.session.execute(
            update(MatchState)
            .where(MatchState.source_kind == kind, MatchState.source_id == listing_id, MatchState.stale == 0)
            .values(stale=stale or 2)
            .execution_options(synchronize_session=False)
        )
    db.session.commit()


def _index_current(wait: float | None) -> bool:
    """Has the index applied every committed change (including those before our claim)?"""
    index = search.get_index()
    if not search.is_behind(index):
        return True
    # Interactive callers (a wait given) apply a bounded batch, like a search does.
    search.catch_up(
        index, wait=wait, max_rows=None if wait is None else search.setting("SEARCH_BEFORE_SEARCH_MAX_ROWS")
    )
    return not search.is_behind(index)


def _compute(kind: str, claimed: list[tuple[int, int | None]], result: Refreshed) -> None:
    model = MODELS[kind]
    ids = [listing_id for listing_id, _ in claimed]
    listings = {obj.id: obj for obj in db.session.scalars(select(model).where(model.id.in_(ids))).unique()}
    computed = {}
    for listing_id in ids:
        listing = listings.get(listing_id)
        if listing is not None and search.is_public(listing):
            computed[listing_id] = recommend(listing, TOP_N)
    now = utcnow()
    quiet = {"synchronize_session": False}
    for listing_id in ids:
        where = (MatchState.source_kind == kind, MatchState.source_id == listing_id)
        db.session.execute(
            delete(MatchResult)
            .where(MatchResult.source_kind == kind, MatchResult.source_id == listing_id)
            .execution_options(**quiet)
        )
        if listing_id not in computed:
            db.session.execute(delete(MatchState).where(*where).execution_options(**quiet))
            result.removed += 1
            continue
        matches = computed[listing_id]
        if kind == "demand":
            db.session.add_all(
                MatchResult(
                    source_kind=kind,
                    source_id=listing_id,
                    rank=rank,
                    target_id=m.id,
                    score=m.score,
                    reasons=m.reasons,
                    computed_at=now,
                )
                for rank, m in enumerate(matches, start=1)
            )
        elif matches:  # a new or changed achievement: the demands it now suits must see it
            marked = db.session.execute(
                update(MatchState)
                .where(
                    MatchState.source_kind == "demand",
                    MatchState.source_id.in_([m.id for m in matches]),
                    MatchState.stale == 0,
                )
                .values(stale=1)
                .execution_options(**quiet)
            )
            result.propagated += marked.rowcount or 0
        db.session.execute(update(MatchState).where(*where).values(computed_at=now).execution_options(**quiet))
        result.computed += 1
    db.session.commit()


@contextmanager
def _node_lock(wait: float | None, *, skip: bool = False) -> Iterator[bool]:
    """One full refresh per node at a time (beside the search index directory)."""
    if skip:
        yield True
        return
    path = Path(str(current_app.config["SEARCH_INDEX_DIR"]))
    lock_file = path.with_name(path.name + ".match.lock")
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_file, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = None if wait is None else time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if deadline is None else fcntl.LOCK_NB))
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:  # type: ignore[operator]
                    yield False
                    return
                time.sleep(0.02)
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
