"""科技成果 (Achievement) and 技术需求 (Demand), their patents and attachments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.money import Price
from ..core.taxonomy import DemandType, IPType, ListingStatus, Maturity, PriceKind, TransferMode
from ..core.timeutil import utcnow
from ..extensions import db

Money = Numeric(16, 2)


class ListingMixin:
    """Columns and behaviour shared by both kinds of listing."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    field_code: Mapped[str | None] = mapped_column(String(16), index=True)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    district: Mapped[str | None] = mapped_column(String(32), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default=ListingStatus.DRAFT.value, index=True)
    review_reason: Mapped[str | None] = mapped_column(Text)
    view_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None] = mapped_column(index=True)

    @declared_attr
    def org_id(cls) -> Mapped[int]:  # noqa: N805
        return mapped_column(ForeignKey("organizations.id"), index=True)

    @declared_attr
    def created_by_id(cls) -> Mapped[int | None]:  # noqa: N805
        return mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    @declared_attr
    def organization(cls) -> Mapped[Organization]:  # noqa: N805
        return relationship(Organization, lazy="joined")

    @declared_attr
    def created_by(cls) -> Mapped[User | None]:  # noqa: N805
        return relationship(User)

    @property
    def status_label(self) -> str:
        return ListingStatus.label_of(self.status)

    @property
    def is_published(self) -> bool:
        return self.status == ListingStatus.PUBLISHED

    @property
    def source_credit(self) -> str | None:
        """Where third-party demo text came from, to be shown beside it (never as our content)."""
        prefix = (getattr(self, "source_ref", None) or "").split(":", 1)[0]
        return SOURCE_CREDITS.get(prefix)


SOURCE_CREDITS = {
    "51jishu": "文字取自 51jishu.com 公开的科技成果/技术需求信息（经 GitHub 项目 sbx0/Zhibei 整理，Apache-2.0）",
    "csl": "文字取自 CSL 中文科技文献数据集的论文摘要（Li et al., COLING 2022，Apache-2.0）",
}


class Achievement(ListingMixin, db.Model):
    __tablename__ = "achievements"
    AUDIT_TYPE = "achievement"
    KIND = "achievement"
    KIND_LABEL = "科技成果"
    __table_args__ = (Index("ix_achievements_status_published", "status", "published_at"),)

    summary: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str | None] = mapped_column(Text)
    problem: Mapped[str | None] = mapped_column(Text)
    advantages: Mapped[str | None] = mapped_column(Text)
    application_scope: Mapped[str | None] = mapped_column(Text)
    maturity: Mapped[str | None] = mapped_column(String(16), index=True)
    trl: Mapped[int | None]
    ip_type: Mapped[str | None] = mapped_column(String(16), index=True)
    transfer_modes: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_kind: Mapped[str] = mapped_column(String(16), default=PriceKind.NEGOTIABLE.value)
    price_low: Mapped[Decimal | None] = mapped_column(Money, index=True)
    price_high: Mapped[Decimal | None] = mapped_column(Money)
    team: Mapped[str | None] = mapped_column(Text)
    # Where a demo or import row came from (e.g. "51jishu:ach-00001"), for idempotent loading.
    source_ref: Mapped[str | None] = mapped_column(String(64), index=True)

    patents: Mapped[list[AchievementPatent]] = relationship(
        back_populates="achievement", cascade="all, delete-orphan", order_by="AchievementPatent.id"
    )
    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="and_(Attachment.achievement_id == Achievement.id, Attachment.deleted_at.is_(None))",
        viewonly=True,
        order_by="Attachment.id",
    )

    @property
    def price(self) -> Price:
        return Price(PriceKind(self.price_kind), self.price_low, self.price_high)

    @property
    def maturity_label(self) -> str:
        return Maturity.label_of(self.maturity)

    @property
    def ip_type_label(self) -> str:
        return IPType.label_of(self.ip_type)

    @property
    def transfer_mode_labels(self) -> list[str]:
        return [TransferMode.label_of(m) for m in self.transfer_modes or []]

    @property
    def patent_numbers(self) -> list[str]:
        return [p.number for p in self.patents]


class AchievementPatent(db.Model):
    """A patent number listed on an achievement. Unique within the owning organisation, so one
    organisation cannot list the same patent twice."""

    __tablename__ = "achievement_patents"
    __table_args__ = (UniqueConstraint("org_id", "number", name="uq_achievement_patents_org_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    number: Mapped[str] = mapped_column(String(32), index=True)

    achievement: Mapped[Achievement] = relationship(back_populates="patents")


class Demand(ListingMixin, db.Model):
    __tablename__ = "demands"
    AUDIT_TYPE = "demand"
    KIND = "demand"
    KIND_LABEL = "技术需求"
    __table_args__ = (Index("ix_demands_status_published", "status", "published_at"),)

    description: Mapped[str] = mapped_column(Text, default="")
    demand_type: Mapped[str | None] = mapped_column(String(16), index=True)
    budget_kind: Mapped[str] = mapped_column(String(16), default=PriceKind.NEGOTIABLE.value)
    budget_low: Mapped[Decimal | None] = mapped_column(Money, index=True)
    budget_high: Mapped[Decimal | None] = mapped_column(Money)
    valid_until: Mapped[date | None] = mapped_column(index=True)
    source_ref: Mapped[str | None] = mapped_column(String(64), index=True)

    attachments: Mapped[list[Attachment]] = relationship(
        primaryjoin="and_(Attachment.demand_id == Demand.id, Attachment.deleted_at.is_(None))",
        viewonly=True,
        order_by="Attachment.id",
    )

    @property
    def budget(self) -> Price:
        return Price(PriceKind(self.budget_kind), self.budget_low, self.budget_high)

    @property
    def demand_type_label(self) -> str:
        return DemandType.label_of(self.demand_type)


class Attachment(db.Model):
    """A file attached to a listing, stored under UPLOAD_DIR (outside static/) by a random name."""

    __tablename__ = "attachments"
    AUDIT_TYPE = "attachment"

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int | None] = mapped_column(ForeignKey("achievements.id"), index=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None]

    @property
    def listing(self) -> Achievement | Demand:
        if self.achievement_id is not None:
            return db.session.get(Achievement, self.achievement_id)
        return db.session.get(Demand, self.demand_id)


LISTING_MODELS: dict[str, type[Achievement] | type[Demand]] = {"achievement": Achievement, "demand": Demand}
