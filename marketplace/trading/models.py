"""挂牌 (TradeListing), 意向受让 (ListingInterest), 拍卖 (Auction), 竞买人 (Bidder), 出价 (Bid) and
the stored answers of idempotent API requests (IdempotentRequest). Enumerations with their
Chinese labels live here, next to the rows that use them."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.taxonomy import LabeledEnum, TransferMode
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement

Money = Numeric(16, 2)


class TradeListingStatus(LabeledEnum):
    PENDING = ("pending", "待审核")
    REJECTED = ("rejected", "未通过审核")
    DISCLOSURE = ("disclosure", "公示中")
    AGREED = ("agreed", "协议转让")
    AUCTION = ("auction", "转入竞价")
    UNSOLD = ("unsold", "公示期满无人受让")
    WITHDRAWN = ("withdrawn", "已撤回")


class AuctionStatus(LabeledEnum):
    OPEN = ("open", "竞价中")  # before starts_at it is shown as 即将开始
    SOLD = ("sold", "已成交")
    FAILED = ("failed", "流拍")
    CANCELLED = ("cancelled", "已取消")


class AuctionPhase(LabeledEnum):
    """What a visitor sees: derived from the status and the clock, never stored."""

    UPCOMING = ("upcoming", "即将开始")
    LIVE = ("live", "竞价中")
    ENDED = ("ended", "已结束")


class DepositStatus(LabeledEnum):
    NONE = ("none", "无需保证金")
    UNPAID = ("unpaid", "待缴纳")
    PAID = ("paid", "已缴纳")
    REFUND_DUE = ("refund_due", "待退还")
    APPLIED = ("applied", "转作价款")


class TradeListing(db.Model):
    __tablename__ = "trade_listings"
    AUDIT_TYPE = "trade_listing"

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    transfer_mode: Mapped[str] = mapped_column(String(16))
    listing_price: Mapped[Decimal] = mapped_column(Money)
    deposit: Mapped[Decimal | None] = mapped_column(Money)
    disclosure_days: Mapped[int] = mapped_column(default=20)
    conditions: Mapped[str | None] = mapped_column(Text)
    # Rules of the auction opened when several buyers register interest.
    increment: Mapped[Decimal] = mapped_column(Money)
    reserve_price: Mapped[Decimal | None] = mapped_column(Money)
    auction_minutes: Mapped[int] = mapped_column(default=60)
    extend_minutes: Mapped[int] = mapped_column(default=5)
    status: Mapped[str] = mapped_column(String(16), default=TradeListingStatus.PENDING.value, index=True)
    review_reason: Mapped[str | None] = mapped_column(Text)
    disclosure_start: Mapped[datetime | None]
    disclosure_end: Mapped[datetime | None] = mapped_column(index=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    achievement: Mapped[Achievement] = relationship()
    organization: Mapped[Organization] = relationship()
    created_by: Mapped[User | None] = relationship()
    interests: Mapped[list[ListingInterest]] = relationship(
        back_populates="listing", order_by="ListingInterest.id", cascade="all, delete-orphan"
    )
    auction: Mapped[Auction | None] = relationship(back_populates="listing", uselist=False)

    @property
    def status_label(self) -> str:
        return TradeListingStatus.label_of(self.status)

    @property
    def transfer_mode_label(self) -> str:
        return TransferMode.label_of(self.transfer_mode)


class ListingInterest(db.Model):
    """意向受让: one per buyer organisation and listing."""

    __tablename__ = "listing_interests"
    __table_args__ = (UniqueConstraint("listing_id", "org_id", name="uq_listing_interests_listing_org"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int] = mapped_column(ForeignKey("trade_listings.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    listing: Mapped[TradeListing] = relationship(back_populates="interests")
    organization: Mapped[Organization] = relationship()


class Auction(db.Model):
    """An English auction. current_price / bid_count / ends_at / version change only in
    services.place_bid, under a row lock (see there)."""

    __tablename__ = "auctions"
    AUDIT_TYPE = "auction"
    __table_args__ = (Index("ix_auctions_status_ends_at", "status", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_id: Mapped[int | None] = mapped_column(ForeignKey("trade_listings.id"), unique=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"), index=True)
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200))
    starting_price: Mapped[Decimal] = mapped_column(Money)
    reserve_price: Mapped[Decimal | None] = mapped_column(Money)  # never shown before the close
    increment: Mapped[Decimal] = mapped_column(Money)
    deposit: Mapped[Decimal | None] = mapped_column(Money)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    extend_minutes: Mapped[int] = mapped_column(default=5)
    status: Mapped[str] = mapped_column(String(16), default=AuctionStatus.OPEN.value)
    current_price: Mapped[Decimal | None] = mapped_column(Money)
    bid_count: Mapped[int] = mapped_column(default=0)
    version: Mapped[int] = mapped_column(default=0)
    # The winning Bidder's id. No foreign key: auctions and auction_bidders would refer to each
    # other, and a plain column keeps the migration a simple create_table sequence.
    winner_id: Mapped[int | None]
    final_price: Mapped[Decimal | None] = mapped_column(Money)
    closed_at: Mapped[datetime | None]
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    listing: Mapped[TradeListing | None] = relationship(back_populates="auction")
    achievement: Mapped[Achievement] = relationship()
    seller_org: Mapped[Organization] = relationship()
    created_by: Mapped[User | None] = relationship()
    bidders: Mapped[list[Bidder]] = relationship(
        back_populates="auction", foreign_keys="Bidder.auction_id", order_by="Bidder.id"
    )
    winner: Mapped[Bidder | None] = relationship(
        primaryjoin="foreign(Auction.winner_id) == Bidder.id", viewonly=True, uselist=False
    )

    @property
    def status_label(self) -> str:
        return AuctionStatus.label_of(self.status)

    def phase(self, now: datetime | None = None) -> AuctionPhase:
        now = now or utcnow()
        if self.status != AuctionStatus.OPEN.value or now >= self.ends_at:
            return AuctionPhase.ENDED
        return AuctionPhase.LIVE if now >= self.starts_at else AuctionPhase.UPCOMING

    def minimum_bid(self):
        return self.starting_price if self.current_price is None else self.current_price + self.increment


class Bidder(db.Model):
    """竞买人: an organisation signed up for one auction, shown only by its anonymous code."""

    __tablename__ = "auction_bidders"
    __table_args__ = (
        UniqueConstraint("auction_id", "org_id", name="uq_auction_bidders_auction_org"),
        UniqueConstraint("auction_id", "code", name="uq_auction_bidders_auction_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    code: Mapped[str] = mapped_column(String(16))
    qualified: Mapped[bool] = mapped_column(Boolean, default=False)
    qualified_at: Mapped[datetime | None]
    qualified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    deposit_status: Mapped[str] = mapped_column(String(16), default=DepositStatus.UNPAID.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    auction: Mapped[Auction] = relationship(back_populates="bidders", foreign_keys=[auction_id])
    organization: Mapped[Organization] = relationship()

    @property
    def label(self) -> str:
        return f"竞买人{self.code}"

    @property
    def deposit_label(self) -> str:
        return DepositStatus.label_of(self.deposit_status)


class Bid(db.Model):
    """An accepted bid. Refused bids leave no row: a refusal never changes the auction."""

    __tablename__ = "auction_bids"
    __table_args__ = (UniqueConstraint("auction_id", "seq", name="uq_auction_bids_auction_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    auction_id: Mapped[int] = mapped_column(ForeignKey("auctions.id"), index=True)
    bidder_id: Mapped[int] = mapped_column(ForeignKey("auction_bidders.id"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    seq: Mapped[int]
    amount: Mapped[Decimal] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    extended_to: Mapped[datetime | None]

    bidder: Mapped[Bidder] = relationship()


class IdempotentRequest(db.Model):
    """The first answer to an API write carrying an Idempotency-Key, replayed for repeats."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotent_requests_user_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    body: Mapped[Any] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
