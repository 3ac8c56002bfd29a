"""Demo 挂牌 and auctions for `flask demo load`: one listing in its disclosure period with an
interested buyer, one live auction between two enterprises (a week long, three bids so far), and
one closed auction with its winner and deal — all through the real services, with the clock
moved back where an earlier moment is needed."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ..accounts.models import User
from ..core.taxonomy import ListingStatus
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement
from . import services
from .models import TradeListing

RULES = {
    "transfer_mode": "transfer",
    "increment": "1万",
    "disclosure_days": "20",
    "extend_minutes": "5",
    "conditions": "受让方须具备相应生产条件，成交后 30 日内签订技术转让合同（演示）",
}


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise LookupError(f"demo user {email} missing: load the demo accounts first")
    return user


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the demo listings once (skipped when any trade listing exists). Returns how many."""
    if db.session.scalar(select(TradeListing.id).limit(1)) is not None:
        return 0
    admin, seller = _user("admin@demo.kjtb.cn"), _user("univ@demo.kjtb.cn")
    steel, port = _user("steel@demo.kjtb.cn"), _user("port@demo.kjtb.cn")
    achievements = list(
        db.session.scalars(
            select(Achievement)
            .where(Achievement.org_id == seller.active_org.id, Achievement.status == ListingStatus.PUBLISHED.value)
            .order_by(Achievement.id)
            .limit(3)
        )
    )
    if len(achievements) < 3:
        return 0
    now = utcnow()

    # 1. In its disclosure period, one buyer interested so far.
    disclosed = services.create_listing(seller, achievements[0], {**RULES, "listing_price": "80万", "deposit": ""})
    services.review_listing(disclosed, admin, True)
    services.register_interest(disclosed, steel)

    # 2. A live auction: two buyers were interested, so the disclosure ended in an auction.
    live = services.create_listing(
        seller,
        achievements[1],
        {**RULES, "listing_price": "120万", "reserve_price": "150万", "auction_minutes": "10080"},
    )
    services.review_listing(live, admin, True)
    for buyer in (steel, port):
        services.register_interest(live, buyer)
    live.disclosure_end = now - timedelta(hours=2)
    services.conclude_listing(live.id, now=now - timedelta(hours=1))
    auction = live.auction
    if auction is not None:
        for minutes, bidder, amount in ((50, steel, "120万"), (40, port, "125万"), (30, steel, "128万")):
            services.place_bid(auction.id, bidder, amount, now=now - timedelta(minutes=minutes))

    # 3. A closed auction: sold to the higher bidder, the deal continues in the deal room.
    closed = services.create_listing(
        seller, achievements[2], {**RULES, "listing_price": "60万", "auction_minutes": "60", "increment": "5000"}
    )
    services.review_listing(closed, admin, True)
    for buyer in (steel, port):
        services.register_interest(closed, buyer)
    start = now - timedelta(days=3)
    closed.disclosure_end = start - timedelta(minutes=1)
    services.conclude_listing(closed.id, now=start)
    done = closed.auction
    if done is not None:
        for minutes, bidder, amount in ((5, port, "60万"), (15, steel, "61万"), (25, port, "63.5万")):
            services.place_bid(done.id, bidder, amount, now=start + timedelta(minutes=minutes))
        services.close_auction(done.id, now=start + timedelta(hours=2))
    db.session.flush()
    return 3
