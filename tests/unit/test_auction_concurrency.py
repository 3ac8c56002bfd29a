"""Many bids on one auction from several processes at once (PostgreSQL: SQLite serialises
writers, so it cannot show the race). Whatever interleaving happens, the final state must be the
one a single queue of bids would give: accepted bids strictly increasing by at least the
increment in acceptance order, the current price the highest accepted bid, bid_count the number
of accepted bids, and the winner the bidder of the highest bid."""

from __future__ import annotations

import multiprocessing
import os
import random
import tempfile
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.trading import services as trading
from marketplace.trading.models import Auction, Bid
from tests.unit.test_trading_rules import live_auction

PROCESSES = 4
BIDDERS_PER_PROCESS = 3
ATTEMPTS = 25


def _is_postgresql(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].startswith(("postgresql", "postgres"))


def _bid_share(url: str, auction_id: int, user_ids: list[int], barrier, results) -> None:
    """Runs in a spawned process: its own app and connection pool; bids at the price it last
    saw plus one to three increments, so many bids collide on the same price."""
    from marketplace import create_app
    from marketplace.accounts.models import User
    from marketplace.core.errors import ServiceError

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url,
        UPLOAD_DIR=tempfile.mkdtemp(),
        SEARCH_INDEX_DIR=tempfile.mkdtemp(),
        WTF_CSRF_ENABLED=False,
    )
    accepted = refused = 0
    with app.app_context():
        try:
            users = [db.session.get(User, uid) for uid in user_ids]
            barrier.wait(timeout=60)
            for n in range(ATTEMPTS):
                user = users[n % len(users)]
                auction = db.session.get(Auction, auction_id)
                db.session.refresh(auction)
                amount = auction.minimum_bid() + auction.increment * random.randint(0, 2)
                db.session.rollback()  # read done; the bid starts its own transaction
                try:
                    trading.place_bid(auction_id, user, str(amount))
                    db.session.commit()
                    accepted += 1
                except ServiceError:
                    db.session.rollback()
                    refused += 1
            results.put(("ok", accepted, refused))
        except Exception as exc:  # report to the parent, which fails the test
            db.session.rollback()
            results.put(("error", f"{os.getpid()}: {exc!r}", 0))
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.skipif(
    not _is_postgresql(os.environ.get("TEST_DATABASE_URL")),
    reason="needs TEST_DATABASE_URL=postgresql://… (SQLite serialises writers, so it cannot show the race)",
)
def test_concurrent_bids_from_several_processes_leave_a_consistent_auction(app, make_user, people_for_race):
    people = people_for_race
    extra = [make_user("enterprise") for _ in range(PROCESSES * BIDDERS_PER_PROCESS - 2)]
    for i, user in enumerate(extra):
        people[f"x{i}"] = user
    buyers = ("b1", "b2", *(f"x{i}" for i in range(len(extra))))
    auction = live_auction(people, buyers=buyers, extend_minutes="0")
    auction_id, increment = auction.id, auction.increment
    user_ids = [people[name].id for name in buyers]
    db.session.commit()
    db.session.remove()  # hold no connection (or lock) while the children work

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [
        context.Process(target=_bid_share, args=(url, auction_id, user_ids[n::PROCESSES], barrier, results))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [r for r in reports if r[0] != "ok"] == []
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES
    accepted = sum(r[1] for r in reports)
    refused = sum(r[2] for r in reports)
    assert accepted + refused == PROCESSES * ATTEMPTS
    assert accepted > PROCESSES  # the race was real: several processes got bids in
    assert refused > 0  # and some bids lost it

    auction = db.session.get(Auction, auction_id)
    bids = db.session.scalars(select(Bid).where(Bid.auction_id == auction_id).order_by(Bid.seq)).all()
    assert len(bids) == accepted == auction.bid_count == auction.version
    assert [b.seq for b in bids] == list(range(1, accepted + 1))
    for before, after in zip(bids, bids[1:], strict=False):
        assert after.amount >= before.amount + increment  # strictly increasing, by the increment
    assert bids[0].amount >= auction.starting_price
    assert auction.current_price == bids[-1].amount == max(b.amount for b in bids)

    closed = trading.close_auction(auction_id, now=utcnow() + timedelta(days=1))
    db.session.commit()
    assert closed is not None and closed.status in ("sold", "failed")
    if closed.status == "sold":
        assert closed.winner_id == bids[-1].bidder_id
        assert closed.final_price == bids[-1].amount
    else:
        assert bids[-1].amount < Decimal(closed.reserve_price)


@pytest.fixture
def people_for_race(make_org, make_user, make_achievement):
    seller = make_user("university", manager=True)
    return {
        "seller": seller,
        "achievement": make_achievement(owner=seller),
        "admin": make_user("admin", org=None),
        "b1": make_user("enterprise"),
        "b2": make_user("enterprise"),
    }


def _tick(url: str, barrier, results) -> None:
    from marketplace import create_app

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url,
        UPLOAD_DIR=tempfile.mkdtemp(),
        SEARCH_INDEX_DIR=tempfile.mkdtemp(),
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        try:
            barrier.wait(timeout=60)
            results.put(("ok", trading.tick()["auctions"], 0))
        except Exception as exc:
            results.put(("error", f"{os.getpid()}: {exc!r}", 0))
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.skipif(
    not _is_postgresql(os.environ.get("TEST_DATABASE_URL")),
    reason="needs TEST_DATABASE_URL=postgresql://… (SQLite serialises writers, so it cannot show the race)",
)
def test_ticks_from_several_processes_close_each_auction_once(app, make_achievement, people_for_race):
    from marketplace.core.audit import AuditLog
    from marketplace.deals.models import Deal

    people = people_for_race
    ids = []
    for n in range(6):
        people["achievement"] = make_achievement(owner=people["seller"], patent_numbers="", title=f"竞价成果{n}")
        auction = live_auction(people, reserve_price="")
        trading.place_bid(auction.id, people["b1" if n % 2 else "b2"], "100万")
        auction.ends_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
        ids.append(auction.id)
    db.session.remove()

    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [context.Process(target=_tick, args=(url, barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    reports = [results.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert [r for r in reports if r[0] != "ok"] == []
    assert sum(r[1] for r in reports) == len(ids)  # each closed by exactly one process
    closes = db.session.scalars(
        select(AuditLog.object_id).where(AuditLog.object_type == "auction", AuditLog.action == "close")
    ).all()
    assert sorted(closes) == sorted(ids)
    assert db.session.scalar(select(func.count(Deal.id))) == len(ids)
    assert {a.status for a in db.session.scalars(select(Auction))} == {"sold"}
