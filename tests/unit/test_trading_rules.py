"""挂牌 and 竞价 rules: the listing state machine, interest, auctions opened from interest, bid
validation (refusals change nothing), anti-sniping edges, closing (reserve met or not), deposits,
deals opened for the winner, idempotent closing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.core.timeutil import utcnow
from marketplace.deals.models import Deal
from marketplace.extensions import db
from marketplace.trading import services as trading
from marketplace.trading.models import Auction, Bid, TradeListing

LISTING = {
    "transfer_mode": "transfer",
    "listing_price": "100万",
    "deposit": "5万",
    "increment": "1万",
    "reserve_price": "120万",
    "disclosure_days": "10",
    "auction_minutes": "60",
    "extend_minutes": "5",
    "conditions": "受让方须为本市注册企业",
}


@pytest.fixture
def people(make_org, make_user, make_achievement):
    return make_people(make_org, make_user, make_achievement)


def make_people(make_org, make_user, make_achievement) -> dict:
    """A university seller with a published achievement, an admin, three verified enterprise
    buyers and one unverified."""
    seller = make_user("university", manager=True)
    achievement = make_achievement(owner=seller)
    return {
        "seller": seller,
        "achievement": achievement,
        "admin": make_user("admin", org=None),
        "b1": make_user("enterprise"),
        "b2": make_user("enterprise"),
        "b3": make_user("enterprise"),
        "unverified": make_user("enterprise", org=make_org(org_type="enterprise", verified=False)),
    }


def public_listing(people, **overrides) -> TradeListing:
    listing = trading.create_listing(people["seller"], people["achievement"], {**LISTING, **overrides})
    trading.review_listing(listing, people["admin"], True)
    db.session.commit()
    return listing


def end_disclosure(listing: TradeListing):
    listing.disclosure_end = utcnow() - timedelta(seconds=1)
    db.session.commit()
    return trading.conclude_listing(listing.id)


def live_auction(people, buyers=("b1", "b2"), qualify=True, **overrides) -> Auction:
    listing = public_listing(people, **overrides)
    for name in buyers:
        trading.register_interest(listing, people[name])
    end_disclosure(listing)
    db.session.commit()
    auction = listing.auction
    if qualify:
        for bidder in list(auction.bidders):
            if not bidder.qualified:
                trading.qualify(auction, people["admin"], bidder.id)
    db.session.commit()
    return auction


def state(auction: Auction) -> tuple:
    db.session.refresh(auction)
    bids = db.session.scalars(select(Bid.amount).where(Bid.auction_id == auction.id)).all()
    return (auction.current_price, auction.bid_count, auction.ends_at, auction.version, sorted(bids))


# ---------------------------------------------------------------------------------------------
# Listings


def test_a_listing_goes_public_after_review_with_its_disclosure_period(people):
    listing = trading.create_listing(people["seller"], people["achievement"], LISTING)
    assert listing.status == "pending"
    assert listing.listing_price == Decimal("1000000.00") and listing.deposit == Decimal("50000.00")
    trading.review_listing(listing, people["admin"], True)
    assert listing.status == "disclosure"
    assert listing.disclosure_end - listing.disclosure_start == timedelta(days=10)


def test_listing_input_is_checked_field_by_field(people):
    with pytest.raises(ValidationFailed) as info:
        trading.create_listing(
            people["seller"],
            people["achievement"],
            {"transfer_mode": "gift", "listing_price": "abc", "increment": "", "disclosure_days": "0"},
        )
    assert set(info.value.fields) == {"transfer_mode", "listing_price", "increment", "disclosure_days"}


def test_only_the_owner_lists_and_only_admins_review(people):
    with pytest.raises(PermissionDenied):
        trading.create_listing(people["b1"], people["achievement"], LISTING)
    listing = trading.create_listing(people["seller"], people["achievement"], LISTING)
    with pytest.raises(PermissionDenied):
        trading.review_listing(listing, people["seller"], True)
    with pytest.raises(ValidationFailed):
        trading.review_listing(listing, people["admin"], False)  # a rejection needs a reason
    trading.review_listing(listing, people["admin"], False, "材料不全")
    assert listing.status == "rejected"
    with pytest.raises(Conflict):
        trading.review_listing(listing, people["admin"], True)


def test_interest_needs_a_verified_buyer_outside_the_seller_during_disclosure(people):
    listing = public_listing(people)
    with pytest.raises(PermissionDenied):
        trading.register_interest(listing, people["unverified"])
    with pytest.raises(Conflict):
        trading.register_interest(listing, people["seller"])
    trading.register_interest(listing, people["b1"])
    with pytest.raises(Conflict):
        trading.register_interest(listing, people["b1"])  # once per organisation
    listing.disclosure_end = utcnow() - timedelta(seconds=1)
    with pytest.raises(Conflict):
        trading.register_interest(listing, people["b2"])


def test_one_buyer_means_agreement_at_the_listing_price_and_a_deal(people):
    listing = public_listing(people)
    trading.register_interest(listing, people["b1"])
    assert end_disclosure(listing) is listing
    db.session.commit()
    assert listing.status == "agreed"
    deal = db.session.get(Deal, listing.deal_id)
    assert deal.buyer_org_id == people["b1"].active_org.id and deal.seller_org_id == listing.org_id
    assert deal.expected_value == Decimal("1000000.00")


def test_no_buyer_means_unsold_then_extend_or_withdraw(people):
    listing = public_listing(people)
    end_disclosure(listing)
    assert listing.status == "unsold"
    trading.extend_listing(listing, people["seller"], "5")
    assert listing.status == "disclosure" and listing.disclosure_days == 5
    end_disclosure(listing)
    trading.withdraw_listing(listing, people["seller"])
    assert listing.status == "withdrawn"


def test_several_buyers_open_an_auction_with_the_listing_rules(people):
    auction = live_auction(people, buyers=("b1", "b2", "b3"), qualify=False)
    assert auction.listing.status == "auction"
    assert auction.starting_price == Decimal("1000000.00") and auction.reserve_price == Decimal("1200000.00")
    assert auction.ends_at - auction.starts_at == timedelta(minutes=60)
    codes = [b.code for b in auction.bidders]
    assert len(set(codes)) == 3 and all(b.deposit_status == "unpaid" and not b.qualified for b in auction.bidders)


def test_concluding_twice_does_nothing_the_second_time(people):
    listing = public_listing(people)
    trading.register_interest(listing, people["b1"])
    trading.register_interest(listing, people["b2"])
    end_disclosure(listing)
    db.session.commit()
    assert trading.conclude_listing(listing.id) is None
    assert len(db.session.scalars(select(Auction)).all()) == 1


# ---------------------------------------------------------------------------------------------
# Bids


def test_bids_must_meet_the_start_then_the_increment(people):
    auction = live_auction(people)
    with pytest.raises(ValidationFailed) as info:
        trading.place_bid(auction.id, people["b1"], "99万")
    assert "起拍价" in info.value.fields["amount"]
    trading.place_bid(auction.id, people["b1"], "100万")
    db.session.commit()
    before = state(auction)
    with pytest.raises(ValidationFailed) as info:
        trading.place_bid(auction.id, people["b2"], "1005000")
    assert "1,010,000" in info.value.fields["amount"] or "101" in info.value.fields["amount"]
    db.session.rollback()
    assert state(auction) == before
    trading.place_bid(auction.id, people["b2"], "101万")
    db.session.commit()
    assert auction.current_price == Decimal("1010000.00") and auction.bid_count == 2


@pytest.mark.parametrize("amount", ["abc", "", "-5", "1e9999", 12.5, True])
def test_non_numeric_amounts_are_refused_without_a_change(people, amount):
    auction = live_auction(people)
    before = state(auction)
    with pytest.raises(ValidationFailed) as info:
        trading.place_bid(auction.id, people["b1"], amount)
    assert "amount" in info.value.fields
    db.session.rollback()
    assert state(auction) == before


def test_unqualified_bidders_outsiders_and_the_seller_are_refused(people):
    auction = live_auction(people, qualify=False)
    before = state(auction)
    for who in ("b1", "b3", "seller", "admin"):
        with pytest.raises(PermissionDenied):
            trading.place_bid(auction.id, people[who], "200万")
        db.session.rollback()
    assert state(auction) == before


def test_no_bid_after_the_end_or_before_the_start(people):
    auction = live_auction(people)
    with pytest.raises(Conflict):
        trading.place_bid(auction.id, people["b1"], "100万", now=auction.ends_at)
    with pytest.raises(Conflict):
        trading.place_bid(auction.id, people["b1"], "100万", now=auction.starts_at - timedelta(seconds=1))


def test_a_bid_in_the_last_minutes_extends_the_end(people):
    auction = live_auction(people)
    end = auction.ends_at
    # 5 min 1 s before the end: outside the window, no extension.
    trading.place_bid(auction.id, people["b1"], "100万", now=end - timedelta(minutes=5, seconds=1))
    db.session.commit()
    assert auction.ends_at == end
    # exactly 5 min before the end: inside, the end moves 5 minutes later.
    bid = trading.place_bid(auction.id, people["b2"], "101万", now=end - timedelta(minutes=5))
    db.session.commit()
    assert auction.ends_at == end + timedelta(minutes=5) and bid.extended_to == auction.ends_at
    # the old end has no meaning now: a bid just after it is accepted, and extends again.
    trading.place_bid(auction.id, people["b1"], "102万", now=end + timedelta(seconds=1))
    db.session.commit()
    assert auction.ends_at == end + timedelta(minutes=10)


def test_no_extension_when_the_window_is_zero(people):
    auction = live_auction(people, extend_minutes="0")
    end = auction.ends_at
    trading.place_bid(auction.id, people["b1"], "100万", now=end - timedelta(seconds=1))
    db.session.commit()
    assert auction.ends_at == end


# ---------------------------------------------------------------------------------------------
# Closing


def test_the_highest_bid_meeting_the_reserve_wins_and_opens_a_deal(people):
    auction = live_auction(people, buyers=("b1", "b2", "b3"))
    trading.place_bid(auction.id, people["b1"], "110万")
    trading.place_bid(auction.id, people["b2"], "125万")
    db.session.commit()
    assert trading.close_auction(auction.id, auction.ends_at - timedelta(seconds=1)) is None  # not due
    closed = trading.close_auction(auction.id, auction.ends_at)
    db.session.commit()
    assert closed is auction and auction.status == "sold"
    assert auction.final_price == Decimal("1250000.00")
    assert auction.winner.org_id == people["b2"].active_org.id
    deal = db.session.get(Deal, auction.deal_id)
    assert deal.expected_value == Decimal("1250000.00") and deal.buyer_org_id == people["b2"].active_org.id
    deposits = {b.org_id: b.deposit_status for b in auction.bidders}
    assert deposits[people["b2"].active_org.id] == "applied"
    assert deposits[people["b1"].active_org.id] == "refund_due"
    assert deposits[people["b3"].active_org.id] == "refund_due"
    assert trading.close_auction(auction.id, auction.ends_at) is None  # a second tick changes nothing


def test_reserve_not_met_is_a_failed_auction_with_all_deposits_refunded(people):
    auction = live_auction(people)
    trading.place_bid(auction.id, people["b1"], "119万")
    db.session.commit()
    trading.close_auction(auction.id, auction.ends_at)
    db.session.commit()
    assert auction.status == "failed" and auction.winner_id is None and auction.deal_id is None
    assert {b.deposit_status for b in auction.bidders} == {"refund_due"}


def test_no_bids_is_a_failed_auction(people):
    auction = live_auction(people, reserve_price="")
    trading.close_auction(auction.id, auction.ends_at)
    assert auction.status == "failed"


def test_tick_closes_due_auctions_and_concludes_due_listings(people):
    auction = live_auction(people, reserve_price="")
    trading.place_bid(auction.id, people["b1"], "100万")
    db.session.commit()
    done = trading.tick(now=auction.ends_at + timedelta(seconds=1))
    assert done == {"auctions": 1, "listings": 0}
    db.session.refresh(auction)
    assert auction.status == "sold"
    assert trading.tick(now=auction.ends_at + timedelta(seconds=2)) == {"auctions": 0, "listings": 0}


def test_a_second_active_listing_of_one_achievement_is_refused(people):
    public_listing(people)
    with pytest.raises(Conflict):
        trading.create_listing(people["seller"], people["achievement"], LISTING)


def test_sign_up_then_qualify(people):
    auction = live_auction(people)
    bidder = trading.sign_up(auction, people["b3"])
    assert not bidder.qualified and bidder.deposit_status == "unpaid"
    with pytest.raises(PermissionDenied):
        trading.qualify(auction, people["seller"], bidder.id)
    trading.qualify(auction, people["admin"], bidder.id)
    assert bidder.qualified and bidder.deposit_status == "paid"
    with pytest.raises(Conflict):
        trading.sign_up(auction, people["b3"])
    with pytest.raises(Conflict):
        trading.sign_up(auction, people["seller"])
