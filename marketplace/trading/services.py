"""The rules of 挂牌 and 竞价: listing, review, disclosure, interest, auctions, bids, closing.

State machines (every change audited):

  挂牌  pending ─approve→ disclosure ─(period ends)→ agreed   (one buyer: 协议转让, deal opened)
              └reject→ rejected             ├──────→ auction  (several buyers: an auction opens)
                                            └──────→ unsold ─extend→ disclosure
        pending / disclosure / unsold ─withdraw→ withdrawn
  拍卖  open ─(ends_at passed, tick or lazily on access)→ sold (winner, price, deal) | failed (流拍)

Bids change the auction in ONE function, `place_bid`, serialised per auction (see there).
Closing (`close_auction`, `conclude_listing`) claims the row with a conditional UPDATE, so
several `flask trading tick` processes and lazy closes on page views never close twice."""

from __future__ import annotations

import random
import string
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import OperationalError

from ..accounts.models import Organization, User
from ..alerts.services import notify
from ..core import audit
from ..core.errors import Conflict, NotFound, PermissionDenied, ServiceError, ValidationFailed
from ..core.faultpoints import pause_point
from ..core.money import format_yuan, parse_amount
from ..core.policy import belongs_to, is_admin, is_authenticated, is_official
from ..core.taxonomy import ListingStatus, Role, TransferMode
from ..core.timeutil import utcnow
from ..deals import policy as deal_policy
from ..deals import services as deals
from ..extensions import db
from ..listings.models import Achievement
from .models import (
    Auction,
    AuctionPhase,
    AuctionStatus,
    Bid,
    Bidder,
    DepositStatus,
    ListingInterest,
    TradeListing,
    TradeListingStatus,
)

L = TradeListingStatus
BUYER_ROLES = (Role.UNIVERSITY.value, Role.ENTERPRISE.value)
DISCLOSURE_DAYS = (1, 90)
AUCTION_MINUTES = (5, 60 * 24 * 14)
EXTEND_MINUTES = (0, 60)


# ---------------------------------------------------------------------------------------------
# Policy (used by views, the API and tests)


def is_seller(user: Any, org_id: int) -> bool:
    return is_authenticated(user) and user.role in BUYER_ROLES and belongs_to(user, org_id)


def can_view_trade_listing(user: Any, listing: TradeListing) -> bool:
    if listing.status not in (L.PENDING.value, L.REJECTED.value):
        return True
    return is_admin(user) or is_official(user) or is_seller(user, listing.org_id)


def can_buy(user: Any) -> bool:
    """A member of a verified organisation (university or enterprise)."""
    org = user.active_org if is_authenticated(user) else None
    return user is not None and getattr(user, "role", None) in BUYER_ROLES and org is not None and bool(org.verified)


def can_see_confirmation(user: Any, auction: Auction) -> bool:
    if auction.status != AuctionStatus.SOLD.value or auction.winner is None:
        return False
    return (
        is_admin(user)
        or is_official(user)
        or belongs_to(user, auction.seller_org_id)
        or belongs_to(user, auction.winner.org_id)
    )


def load_listing(listing_id: int, user: Any) -> TradeListing:
    listing = db.session.get(TradeListing, listing_id)
    if listing is None:
        raise NotFound("挂牌项目不存在")
    if not can_view_trade_listing(user, listing):
        raise PermissionDenied("该挂牌尚未公示，只有挂牌方和管理员可以查看")
    return listing


def load_auction(auction_id: int) -> Auction:
    auction = db.session.get(Auction, auction_id)
    if auction is None:
        raise NotFound("拍卖不存在")
    return auction


def own_bidder(auction: Auction, user: Any) -> Bidder | None:
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        return None
    return next((b for b in auction.bidders if b.org_id == org.id), None)


# ---------------------------------------------------------------------------------------------
# Listings


def _int_in(raw: Any, name: str, bounds: tuple[int, int], label: str, errors: dict[str, str], default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        errors[name] = f"{label}须为整数"
        return default
    if not bounds[0] <= value <= bounds[1]:
        errors[name] = f"{label}须在 {bounds[0]}–{bounds[1]} 之间"
    return value


def _amount(raw: Any, name: str, label: str, errors: dict[str, str], *, required: bool) -> Decimal | None:
    if raw in (None, ""):
        if required:
            errors[name] = f"请填写{label}"
        return None
    if isinstance(raw, float | bool):
        errors[name] = f'{label}须为十进制字符串，如 "500000.00"'
        return None
    try:
        value = parse_amount(raw)
    except ValueError as exc:
        errors[name] = str(exc)
        return None
    if required and value <= 0:
        errors[name] = f"{label}须大于 0"
    return value


def parse_listing_input(achievement: Achievement | None, data: Mapping[str, Any]) -> dict[str, Any]:
    errors: dict[str, str] = {}
    if achievement is None:
        errors["achievement_id"] = "请选择本机构已发布的科技成果"
    mode = TransferMode.parse(data.get("transfer_mode"))
    if mode is None:
        errors["transfer_mode"] = "请选择交易方式：" + "、".join(m.label for m in TransferMode)
    price = _amount(data.get("listing_price"), "listing_price", "挂牌价", errors, required=True)
    deposit = _amount(data.get("deposit"), "deposit", "保证金", errors, required=False)
    increment = _amount(data.get("increment"), "increment", "加价幅度", errors, required=True)
    reserve = _amount(data.get("reserve_price"), "reserve_price", "保留价", errors, required=False)
    days = _int_in(data.get("disclosure_days"), "disclosure_days", DISCLOSURE_DAYS, "公示期（天）", errors, 20)
    minutes = _int_in(data.get("auction_minutes"), "auction_minutes", AUCTION_MINUTES, "竞价时长（分钟）", errors, 60)
    extend = _int_in(data.get("extend_minutes"), "extend_minutes", EXTEND_MINUTES, "延时（分钟）", errors, 5)
    if price is not None and deposit is not None and deposit > price:
        errors["deposit"] = "保证金不能高于挂牌价"
    if price is not None and reserve is not None and 0 < reserve < price:
        errors["reserve_price"] = "保留价不能低于挂牌价（起拍价）"
    conditions = str(data.get("conditions") or "").strip()
    if len(conditions) > 5000:
        errors["conditions"] = "受让条件不超过 5000 字"
    if errors:
        raise ValidationFailed(errors)
    return {
        "transfer_mode": mode.value,
        "listing_price": price,
        "deposit": deposit or None,
        "increment": increment,
        "reserve_price": reserve or None,
        "disclosure_days": days,
        "auction_minutes": minutes,
        "extend_minutes": extend,
        "conditions": conditions or None,
    }


def create_listing(actor: Any, achievement: Achievement | None, data: Mapping[str, Any]) -> TradeListing:
    """挂牌: the owner of a published achievement submits it for admin review."""
    if achievement is not None and not is_seller(actor, achievement.org_id):
        raise PermissionDenied("只有成果所属机构的成员可以挂牌")
    if not (is_authenticated(actor) and actor.role in BUYER_ROLES and actor.active_org):
        raise PermissionDenied("只有高校/院所或企业的机构成员可以挂牌")
    if achievement is not None and achievement.status != ListingStatus.PUBLISHED.value:
        raise ValidationFailed({"achievement_id": "只有已发布的科技成果可以挂牌"})
    clean = parse_listing_input(achievement, data)
    assert achievement is not None
    active = db.session.scalar(
        select(TradeListing.id).where(
            TradeListing.achievement_id == achievement.id,
            TradeListing.status.in_([L.PENDING.value, L.DISCLOSURE.value, L.AUCTION.value]),
        )
    )
    if active:
        raise Conflict(f"该成果已有进行中的挂牌（编号 {active}）")
    listing = TradeListing(
        achievement_id=achievement.id,
        org_id=achievement.org_id,
        created_by_id=actor.id,
        title=achievement.title,
        status=L.PENDING.value,
        **clean,
    )
    db.session.add(listing)
    db.session.flush()
    audit.record(actor, "create", listing, to_state=listing.status)
    return listing


def _set_status(listing: TradeListing, to: TradeListingStatus, actor: Any, action: str, reason: str | None = None):
    before = listing.status
    listing.status = to.value
    audit.record(actor, action, listing, from_state=before, to_state=to.value, reason=reason)


def review_listing(listing: TradeListing, admin: Any, approve: bool, reason: str | None = None) -> TradeListing:
    if not is_admin(admin):
        raise PermissionDenied("只有平台管理员可以审核挂牌")
    if listing.status != L.PENDING.value:
        raise Conflict(f"挂牌当前状态为“{listing.status_label}”，不在待审核状态")
    if approve:
        _open_disclosure(listing, admin, "approve")
    else:
        if not (reason or "").strip():
            raise ValidationFailed({"reason": "驳回时请说明原因"})
        listing.review_reason = reason
        _set_status(listing, L.REJECTED, admin, "reject", reason)
    notify(
        _members(listing.org_id),
        f"挂牌“{listing.title}”{'已通过审核，开始公示' if approve else '未通过审核'}",
        reason or "",
        f"/trading/listings/{listing.id}",
    )
    return listing


def _open_disclosure(listing: TradeListing, actor: Any, action: str) -> None:
    now = utcnow()
    listing.disclosure_start = now
    listing.disclosure_end = now + timedelta(days=listing.disclosure_days)
    _set_status(listing, L.DISCLOSURE, actor, action)


def extend_listing(listing: TradeListing, actor: Any, days: Any = None) -> TradeListing:
    if not (is_admin(actor) or is_seller(actor, listing.org_id)):
        raise PermissionDenied("只有挂牌方或管理员可以延期")
    if listing.status != L.UNSOLD.value:
        raise Conflict("只有公示期满无人受让的挂牌可以延期")
    errors: dict[str, str] = {}
    listing.disclosure_days = _int_in(days, "days", DISCLOSURE_DAYS, "延期天数", errors, listing.disclosure_days)
    if errors:
        raise ValidationFailed(errors)
    _open_disclosure(listing, actor, "reopen")
    return listing


def withdraw_listing(listing: TradeListing, actor: Any, reason: str | None = None) -> TradeListing:
    if not (is_admin(actor) or is_seller(actor, listing.org_id)):
        raise PermissionDenied("只有挂牌方或管理员可以撤回")
    if listing.status not in (L.PENDING.value, L.DISCLOSURE.value, L.UNSOLD.value):
        raise Conflict(f"挂牌当前状态为“{listing.status_label}”，不能撤回")
    _set_status(listing, L.WITHDRAWN, actor, "withdraw", reason)
    return listing


def register_interest(listing: TradeListing, actor: Any) -> ListingInterest:
    """意向受让 during the disclosure period, by a member of a verified organisation."""
    if not can_buy(actor):
        raise PermissionDenied("只有已认证机构（高校/院所、企业）的成员可以登记受让意向")
    if belongs_to(actor, listing.org_id):
        raise Conflict("挂牌方不能登记受让本机构的挂牌")
    if listing.status != L.DISCLOSURE.value or (listing.disclosure_end and utcnow() >= listing.disclosure_end):
        raise Conflict("该挂牌不在公示期，不能登记意向")
    org = actor.active_org
    if any(i.org_id == org.id for i in listing.interests):
        raise Conflict("本机构已登记受让意向")
    interest = ListingInterest(listing_id=listing.id, org_id=org.id, user_id=actor.id)
    db.session.add(interest)
    db.session.flush()
    db.session.refresh(listing, ["interests"])
    audit.record(actor, "apply", listing, reason="意向受让", details={"org_id": org.id})
    return interest


def _claim(model: Any, row_id: int, column: Any, seen: str, to: str) -> bool:
    """UPDATE … SET status = :to WHERE id = :id AND status = :seen — atomic on both databases,
    so of several processes closing the same row exactly one wins."""
    result = db.session.execute(
        update(model)
        .where(model.id == row_id, column == seen)
        .values(status=to)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount == 1


def conclude_listing(listing_id: int, now: datetime | None = None) -> TradeListing | None:
    """At the end of the disclosure period: one buyer → 协议转让 (a deal at the listing price),
    several → an auction among them, none → unsold. Returns the listing if this call concluded it."""
    now = now or utcnow()
    listing = db.session.scalars(
        select(TradeListing)
        .where(TradeListing.id == listing_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if listing is None or listing.status != L.DISCLOSURE.value or listing.disclosure_end > now:
        return None
    count = len(listing.interests)
    to = L.AGREED if count == 1 else L.AUCTION if count > 1 else L.UNSOLD
    if not _claim(TradeListing, listing.id, TradeListing.status, L.DISCLOSURE.value, to.value):
        return None
    db.session.refresh(listing)
    audit.record(None, "expire", listing, from_state=L.DISCLOSURE.value, to_state=to.value, reason="公示期满")
    seller_members = _members(listing.org_id)
    if to is L.AGREED:
        buyer = listing.interests[0].organization
        deal = _open_trade_deal(listing, buyer, listing.listing_price, "协议转让")
        listing.deal_id = getattr(deal, "id", None)
        notify(
            [*seller_members, *_members(buyer.id)],
            f"“{listing.title}”公示期满，协议转让",
            f"仅一家意向受让方（{buyer.name}），按挂牌价 {format_yuan(listing.listing_price)} 协议转让。",
            f"/deals/{deal.id}" if deal else f"/trading/listings/{listing.id}",
        )
    elif to is L.AUCTION:
        auction = open_auction(listing, now)
        buyers = [u for i in listing.interests for u in _members(i.org_id)]
        notify(
            [*seller_members, *buyers],
            f"“{listing.title}”转入竞价",
            f"{count} 家意向受让方，{'缴纳保证金并经资格确认后' if auction.deposit else ''}可参加竞价。",
            f"/trading/auctions/{auction.id}",
        )
    else:
        notify(
            seller_members,
            f"“{listing.title}”公示期满无人受让",
            "可延长公示期或撤回挂牌。",
            f"/trading/listings/{listing.id}",
        )
    return listing


# ---------------------------------------------------------------------------------------------
# Auctions


def open_auction(listing: TradeListing, now: datetime | None = None, *, starts_at: datetime | None = None) -> Auction:
    """The auction of a listing, among the organisations that registered interest."""
    starts = starts_at or now or utcnow()
    auction = Auction(
        listing_id=listing.id,
        achievement_id=listing.achievement_id,
        seller_org_id=listing.org_id,
        created_by_id=listing.created_by_id,
        title=listing.title,
        starting_price=listing.listing_price,
        reserve_price=listing.reserve_price,
        increment=listing.increment,
        deposit=listing.deposit,
        starts_at=starts,
        ends_at=starts + timedelta(minutes=listing.auction_minutes),
        extend_minutes=listing.extend_minutes,
        status=AuctionStatus.OPEN.value,
    )
    db.session.add(auction)
    db.session.flush()
    for interest in listing.interests:
        _add_bidder(auction, interest.organization, interest.user_id)
    audit.record(None, "create", auction, to_state=auction.status, details={"listing_id": listing.id})
    return auction


def _new_code(auction: Auction) -> str:
    taken = set(db.session.scalars(select(Bidder.code).where(Bidder.auction_id == auction.id)))
    rng = random.SystemRandom()
    while True:
        code = f"{rng.choice(string.ascii_uppercase)}{rng.randint(1, 99)}"
        if code not in taken:
            return code


def _add_bidder(auction: Auction, org: Organization, user_id: int | None) -> Bidder:
    no_deposit = not auction.deposit
    bidder = Bidder(
        auction_id=auction.id,
        org_id=org.id,
        user_id=user_id,
        code=_new_code(auction),
        qualified=no_deposit,  # nothing to pay: qualified at sign-up
        qualified_at=utcnow() if no_deposit else None,
        deposit_status=DepositStatus.NONE.value if no_deposit else DepositStatus.UNPAID.value,
    )
    db.session.add(bidder)
    db.session.flush()
    db.session.refresh(auction, ["bidders"])
    return bidder


def sign_up(auction: Auction, actor: Any) -> Bidder:
    """报名: a verified buyer organisation joins an auction before it ends."""
    if not can_buy(actor):
        raise PermissionDenied("只有已认证机构（高校/院所、企业）的成员可以报名竞买")
    if belongs_to(actor, auction.seller_org_id):
        raise Conflict("卖方不能报名竞买自己的拍卖")
    if auction.phase() is AuctionPhase.ENDED:
        raise Conflict("拍卖已结束，不能报名")
    if own_bidder(auction, actor) is not None:
        raise Conflict("本机构已报名")
    bidder = _add_bidder(auction, actor.active_org, actor.id)
    audit.record(actor, "apply", auction, reason="报名竞买", details={"bidder": bidder.code})
    return bidder


def qualify(auction: Auction, admin: Any, bidder_id: Any) -> Bidder:
    """资格确认: the admin records the bidder's deposit as paid; the bidder may then bid."""
    if not is_admin(admin):
        raise PermissionDenied("只有平台管理员可以确认竞买资格")
    try:
        bidder_id = int(bidder_id)
    except (TypeError, ValueError):
        raise ValidationFailed({"bidder_id": "请给出竞买人编号（整数）"}) from None
    bidder = next((b for b in auction.bidders if b.id == bidder_id), None)
    if bidder is None:
        raise ValidationFailed({"bidder_id": "该拍卖没有这个竞买人"})
    if auction.phase() is AuctionPhase.ENDED:
        raise Conflict("拍卖已结束")
    if bidder.qualified:
        raise Conflict(f"{bidder.label} 已具备竞买资格")
    bidder.qualified = True
    bidder.qualified_at = utcnow()
    bidder.qualified_by_id = admin.id
    if auction.deposit:
        bidder.deposit_status = DepositStatus.PAID.value
    audit.record(admin, "approve", auction, reason="确认竞买资格（保证金已缴纳）", details={"bidder": bidder.code})
    notify(
        _members(bidder.org_id),
        f"“{auction.title}”竞买资格已确认",
        f"您的竞买号为 {bidder.label}。",
        f"/trading/auctions/{auction.id}",
    )
    return bidder


def _lock_auction(auction_id: int) -> Auction:
    auction = db.session.scalars(
        select(Auction).where(Auction.id == auction_id).with_for_update().execution_options(populate_existing=True)
    ).first()
    if auction is None:
        raise NotFound("拍卖不存在")
    return auction


def require_bidder(auction: Auction, actor: Any) -> Bidder:
    """The actor's qualified Bidder of this auction, or PermissionDenied (sellers included)."""
    if belongs_to(actor, auction.seller_org_id):
        raise PermissionDenied("卖方不能参与本拍卖的竞价")
    bidder = own_bidder(auction, actor)
    if bidder is None or not bidder.qualified or actor.role not in BUYER_ROLES:
        raise PermissionDenied("您尚未取得本场拍卖的竞买资格（须报名并由管理员确认保证金已缴纳）")
    return bidder


def place_bid(auction_id: int, actor: Any, raw_amount: Any, now: datetime | None = None) -> Bid:
    """Accept one bid, or refuse it leaving the auction exactly as it was.

    Serialisation: the auction row is read with SELECT … FOR UPDATE, so on PostgreSQL bids on
    one auction queue behind each other and each sees the price the previous one left. The
    change itself is one UPDATE … WHERE id = :id AND version = :seen: on SQLite, which ignores
    FOR UPDATE but lets only one writer in at a time, a bid that read a price another bid has
    since replaced updates no row (or gets SQLITE_BUSY) and is refused as a conflict instead of
    overwriting the newer price. Either way accepted bids are strictly increasing, the current
    price is the last accepted bid and bid_count the number of bid rows."""
    now = now or utcnow()
    try:
        auction = _lock_auction(auction_id)
        if auction.status != AuctionStatus.OPEN.value or now >= auction.ends_at:
            raise Conflict("拍卖已结束，不再接受出价")
        if now < auction.starts_at:
            raise Conflict("拍卖尚未开始")
        bidder = require_bidder(auction, actor)
        errors: dict[str, str] = {}
        amount = _amount(raw_amount, "amount", "出价", errors, required=True)
        if errors or amount is None:
            raise ValidationFailed(errors)
        minimum = auction.minimum_bid()
        if amount < minimum:
            what = (
                "起拍价"
                if auction.current_price is None
                else f"当前价 {format_yuan(auction.current_price)} 加最小加价幅度"
            )
            raise ValidationFailed({"amount": f"出价须不低于 {format_yuan(minimum)}（{what}）"})
        seen = auction.version
        remaining = auction.ends_at - now
        window = timedelta(minutes=auction.extend_minutes)
        # 延时: a bid in the last N minutes moves the end N minutes later.
        new_end = auction.ends_at + window if auction.extend_minutes and remaining <= window else auction.ends_at
        result = db.session.execute(
            update(Auction)
            .where(Auction.id == auction.id, Auction.version == seen, Auction.status == AuctionStatus.OPEN.value)
            .values(
                current_price=amount,
                bid_count=Auction.bid_count + 1,
                version=Auction.version + 1,
                ends_at=new_end,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict("有人刚刚出了更高的价，请刷新后重新出价")
        bid = Bid(
            auction_id=auction.id,
            bidder_id=bidder.id,
            user_id=actor.id,
            seq=seen + 1,
            amount=amount,
            created_at=now,
            extended_to=new_end if new_end != auction.ends_at else None,
        )
        db.session.add(bid)
        db.session.flush()
        pause_point("trading.bid.before_commit")  # tests only: see core.faultpoints
    except OperationalError:
        db.session.rollback()
        raise Conflict("出价繁忙，请稍后重试") from None
    db.session.refresh(auction)
    return bid


def bids_of(auction: Auction, limit: int | None = None) -> list[Bid]:
    stmt = select(Bid).where(Bid.auction_id == auction.id).order_by(Bid.seq.desc())
    if limit:
        stmt = stmt.limit(limit)
    return list(db.session.scalars(stmt))


def leading_bid(auction: Auction) -> Bid | None:
    return db.session.scalars(select(Bid).where(Bid.auction_id == auction.id).order_by(Bid.seq.desc()).limit(1)).first()


def close_auction(auction_id: int, now: datetime | None = None) -> Auction | None:
    """Close an auction whose end has passed: 成交 to the highest bid when it meets the reserve,
    otherwise 流拍. Returns the auction if this call closed it, None if it was not due or was
    closed by someone else (another tick process, a page view)."""
    now = now or utcnow()
    auction = _lock_auction(auction_id)
    if auction.status != AuctionStatus.OPEN.value or now < auction.ends_at:
        return None
    top = leading_bid(auction)
    sold = top is not None and (auction.reserve_price is None or top.amount >= auction.reserve_price)
    to = AuctionStatus.SOLD if sold else AuctionStatus.FAILED
    # The claim also names the version read: a bid accepted meanwhile (SQLite) makes it miss.
    claimed = db.session.execute(
        update(Auction)
        .where(Auction.id == auction.id, Auction.status == AuctionStatus.OPEN.value, Auction.version == auction.version)
        .where(Auction.ends_at <= now)
        .values(status=to.value)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        return None
    db.session.refresh(auction)
    auction.closed_at = now
    winner = top.bidder if sold and top else None
    for bidder in auction.bidders:
        if bidder.deposit_status == DepositStatus.PAID.value:
            bidder.deposit_status = DepositStatus.APPLIED.value if bidder is winner else DepositStatus.REFUND_DUE.value
    reason = "竞价成交" if sold else ("无人出价" if top is None else "最高出价未达保留价")
    audit.record(None, "close", auction, from_state=AuctionStatus.OPEN.value, to_state=to.value, reason=reason)
    everyone = [u for b in auction.bidders for u in _members(b.org_id)]
    seller = _members(auction.seller_org_id)
    if winner is not None and top is not None:
        auction.winner_id = winner.id
        auction.final_price = top.amount
        deal = _open_trade_deal(auction, winner.organization, top.amount, "竞价成交")
        auction.deal_id = getattr(deal, "id", None)
        notify(
            [*seller, *everyone],
            f"“{auction.title}”竞价成交",
            f"成交价 {format_yuan(top.amount)}，买受人 {winner.label}。未成交竞买人的保证金将予退还。",
            f"/trading/auctions/{auction.id}",
        )
    else:
        notify(
            [*seller, *everyone],
            f"“{auction.title}”流拍",
            f"{reason}；保证金将予退还。",
            f"/trading/auctions/{auction.id}",
        )
    if auction.listing is not None:
        audit.record(None, "close", auction.listing, reason=f"拍卖{to.label}", details={"auction_id": auction.id})
    db.session.flush()
    return auction


def close_if_due(auction: Auction) -> Auction:
    """Lazy closing on access: a page or API read closes an auction past its end (committed by
    the caller). Safe against a concurrent tick: only one closes it."""
    if auction.status == AuctionStatus.OPEN.value and utcnow() >= auction.ends_at:
        try:
            close_auction(auction.id)
            db.session.commit()
        except (ServiceError, OperationalError):
            # SQLite: another writer (a tick, a bid) got in first; whoever it is, the row is
            # consistent, and the next read or tick closes it.
            db.session.rollback()
        db.session.refresh(auction)
    return auction


def conclude_if_due(listing: TradeListing) -> TradeListing:
    if listing.status == L.DISCLOSURE.value and listing.disclosure_end and utcnow() >= listing.disclosure_end:
        try:
            conclude_listing(listing.id)
            db.session.commit()
        except (ServiceError, OperationalError):
            db.session.rollback()
        db.session.refresh(listing)
    return listing


def tick(now: datetime | None = None) -> dict[str, int]:
    """Close every due auction and conclude every listing whose disclosure period ended, one
    transaction each. Safe to run from several processes at once."""
    now = now or utcnow()
    done = {"auctions": 0, "listings": 0}
    listing_ids = db.session.scalars(
        select(TradeListing.id).where(TradeListing.status == L.DISCLOSURE.value, TradeListing.disclosure_end <= now)
    ).all()
    auction_ids = db.session.scalars(
        select(Auction.id).where(Auction.status == AuctionStatus.OPEN.value, Auction.ends_at <= now)
    ).all()
    db.session.rollback()
    for listing_id in listing_ids:
        done["listings"] += conclude_listing(listing_id, now) is not None
        db.session.commit()
    # Auctions opened just now by the listings above end later; the list was taken before.
    for auction_id in auction_ids:
        done["auctions"] += close_auction(auction_id, now) is not None
        db.session.commit()
    return done


# ---------------------------------------------------------------------------------------------
# Deals and helpers


def _members(org_id: int | None) -> list[User]:
    return deals.org_members(org_id)


def _open_trade_deal(source: TradeListing | Auction, buyer: Organization, price: Decimal, how: str):
    """Open the deal in the deal room, in a savepoint: a refusal (e.g. an organisation lost its
    verification) must not stop the close; it is recorded in the audit log instead."""
    seller_org = db.session.get(Organization, getattr(source, "org_id", None) or source.seller_org_id)
    actor = source.created_by
    if actor is None or not deal_policy.can_open_deal(actor) or not belongs_to(actor, seller_org.id):
        actor = db.session.scalar(select(User).where(User.role == Role.ADMIN.value).order_by(User.id).limit(1))
    try:
        with db.session.begin_nested():
            return deals.open_deal(
                actor,
                seller_org,
                buyer,
                f"{source.title}（{how}）"[:200],
                achievement=source.achievement,
                expected_value=str(price),
                summary=f"{how}，成交价 {format_yuan(price)}。来源：平台挂牌/拍卖。",
            )
    except (ServiceError, AttributeError) as exc:
        audit.record(None, "create", source, reason=f"未能自动开设项目：{exc}")
        return None


def hall(now: datetime | None = None) -> dict[str, list]:
    now = now or utcnow()
    disclosure = db.session.scalars(
        select(TradeListing).where(TradeListing.status == L.DISCLOSURE.value).order_by(TradeListing.disclosure_end)
    ).all()
    open_auctions = db.session.scalars(
        select(Auction).where(Auction.status == AuctionStatus.OPEN.value).order_by(Auction.ends_at)
    ).all()
    results = db.session.scalars(
        select(Auction)
        .where(Auction.status.in_([AuctionStatus.SOLD.value, AuctionStatus.FAILED.value]))
        .order_by(Auction.closed_at.desc())
        .limit(50)
    ).all()
    return {
        "disclosure": list(disclosure),
        "live": [a for a in open_auctions if a.starts_at <= now],
        "upcoming": [a for a in open_auctions if a.starts_at > now],
        "results": list(results),
        "agreed": list(
            db.session.scalars(
                select(TradeListing)
                .where(TradeListing.status == L.AGREED.value)
                .order_by(TradeListing.id.desc())
                .limit(50)
            )
        ),
    }


def pending_listings() -> list[TradeListing]:
    return list(db.session.scalars(select(TradeListing).where(TradeListing.status == L.PENDING.value)))


def own_listings(user: Any) -> list[TradeListing]:
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        return []
    return list(
        db.session.scalars(select(TradeListing).where(TradeListing.org_id == org.id).order_by(TradeListing.id.desc()))
    )


def sellable_achievements(user: Any) -> list[Achievement]:
    org = user.active_org if is_authenticated(user) else None
    if org is None:
        return []
    stmt = (
        select(Achievement)
        .where(Achievement.org_id == org.id, Achievement.status == ListingStatus.PUBLISHED.value)
        .order_by(Achievement.title)
    )
    return list(db.session.scalars(stmt))


def bid_stats(auction: Auction) -> dict[str, Any]:
    count, top = db.session.execute(
        select(func.count(Bid.id), func.max(Bid.amount)).where(Bid.auction_id == auction.id)
    ).one()
    return {"count": count, "top": top}
