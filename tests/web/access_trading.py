"""Access-matrix rows for the trading blueprint (挂牌/拍卖) and its API endpoints.

In this world the owner's university lists three achievements: one listing waits for review, one
is in its disclosure period (the enterprise registered interest), one went to auction between the
enterprise and the other member's university (no deposit, so both are qualified; the enterprise
bid once), and a fourth auction is sold to the enterprise (its 成交确认书 exists)."""

from __future__ import annotations

from datetime import timedelta

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.trading import services as trading
from tests.conftest import _advance, achievement_data
from tests.web.access_common import (
    ADMIN_ONLY,
    EVERYONE,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OWNER_OR_ADMIN,
    PRIVATE_LISTING,
    ROLES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)

RULES = {"transfer_mode": "license", "listing_price": "80万", "increment": "1万", "disclosure_days": "10"}


def _achievement(owner, n: int):
    item = listings.create_listing("achievement", owner, achievement_data(title=f"挂牌测试成果{n}", patent_numbers=""))
    _advance(item, owner, "published")
    return item


def _auction(owner, admin, buyers, n: int):
    listing = trading.create_listing(owner, _achievement(owner, n), RULES)
    trading.review_listing(listing, admin, True)
    for buyer in buyers:
        trading.register_interest(listing, buyer)
    listing.disclosure_end = utcnow() - timedelta(seconds=1)
    trading.conclude_listing(listing.id)
    return listing.auction


def extend_world(users: dict, ids: dict) -> dict:
    owner, enterprise, other, admin = users["owner"], users["enterprise"], users["other_member"], users["admin"]
    pending = trading.create_listing(owner, _achievement(owner, 1), RULES)
    public = trading.create_listing(owner, _achievement(owner, 2), RULES)
    trading.review_listing(public, admin, True)
    trading.register_interest(public, enterprise)
    live = _auction(owner, admin, [enterprise, other], 3)
    trading.place_bid(live.id, enterprise, "80万")
    sold = _auction(owner, admin, [enterprise, other], 4)
    trading.place_bid(sold.id, enterprise, "80万")
    trading.close_auction(sold.id, sold.ends_at)
    db.session.flush()
    return {"trade_pending": pending.id, "trade_public": public.id, "auction": live.id, "sold_auction": sold.id}


BUYERS = {A: LOGIN, O: OK, M: OK, E: OK, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
BIDDERS = {A: LOGIN, O: FORBIDDEN, M: OK, E: OK, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
CONFIRMATION = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: FORBIDDEN, F: OK, D: OK}
MISSING = dict.fromkeys(ROLES, NOT_FOUND)

CASES: list[tuple] = [
    ("trading.hall", "GET", "/trading", EVERYONE),
    ("trading.new_listing", "GET", "/trading/listings/new", BUYERS),
    ("trading.new_listing", "POST", "/trading/listings/new", BUYERS),
    ("trading.listing", "GET", "/trading/listings/{trade_pending}", PRIVATE_LISTING),
    ("trading.listing", "GET", "/trading/listings/{trade_public}", EVERYONE),
    ("trading.listing", "GET", "/trading/listings/999999", MISSING),
    # The seller and a buyer already registered are told why (a flash); non-buyers are refused.
    ("trading.interest", "POST", "/trading/listings/{trade_public}/interest", BUYERS),
    ("trading.review", "POST", "/trading/listings/{trade_pending}/review", ADMIN_ONLY),
    ("trading.extend", "POST", "/trading/listings/{trade_public}/extend", OWNER_OR_ADMIN),
    ("trading.withdraw", "POST", "/trading/listings/{trade_pending}/withdraw", OWNER_OR_ADMIN),
    ("trading.auction", "GET", "/trading/auctions/{auction}", EVERYONE),
    ("trading.auction", "GET", "/trading/auctions/999999", MISSING),
    ("trading.sign_up", "POST", "/trading/auctions/{auction}/signup", BUYERS),
    ("trading.bid", "POST", "/trading/auctions/{auction}/bids", BIDDERS),
    ("trading.qualify", "POST", "/trading/auctions/{auction}/qualify", ADMIN_ONLY),
    ("trading.confirmation", "GET", "/trading/auctions/{sold_auction}/confirmation.pdf", CONFIRMATION),
    ("trading.confirmation", "GET", "/trading/auctions/{auction}/confirmation.pdf", {**MISSING, A: LOGIN}),
    ("api.trading_listing_create", "POST", "/api/v1/listings", BUYERS),
    ("api.trading_listing_interest", "POST", "/api/v1/listings/{trade_public}/interest", BUYERS),
    # Not yet public: hidden from buyers; the seller is told it is not in disclosure (409).
    (
        "api.trading_listing_interest",
        "POST",
        "/api/v1/listings/{trade_pending}/interest",
        {A: LOGIN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN},
    ),
    ("api.auction_detail", "GET", "/api/v1/auctions/{auction}", EVERYONE),
    ("api.auction_detail", "GET", "/api/v1/auctions/999999", MISSING),
    ("api.auction_bids", "GET", "/api/v1/auctions/{auction}/bids", EVERYONE),
    ("api.auction_bid", "POST", "/api/v1/auctions/{auction}/bids", BIDDERS),
    ("api.auction_qualify", "POST", "/api/v1/auctions/{auction}/qualify", ADMIN_ONLY),
]
