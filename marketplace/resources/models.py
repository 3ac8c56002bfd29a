"""科技人才库: experts, and the link between experts and the achievements whose team they are on.

An expert is a person in the database, not necessarily a user: `user_id` links the account an
expert signs in with (needed to score an evaluation). Contact data (phone, e-mail) is private:
views and the API show it only where `resources.policy` allows."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.taxonomy import LabeledEnum
from ..core.timeutil import utcnow
from ..extensions import db


class Expert(db.Model):
    __tablename__ = "experts"
    AUDIT_TYPE = "expert"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), index=True)
    # The expert's organisation on the platform, when it has one; `org_name` otherwise (or as shown).
    organization_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"), index=True)
    org_name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)
    title: Mapped[str | None] = mapped_column(String(60))  # 职称: 教授, 研究员, 高级工程师 …
    field_codes: Mapped[list[str]] = mapped_column(JSON, default=list)  # taxonomy field codes
    expertise: Mapped[str | None] = mapped_column(Text)  # 研究方向/专长
    achievements_text: Mapped[str | None] = mapped_column(Text)  # 代表性成果
    available_evaluation: Mapped[bool] = mapped_column(Boolean, default=True)
    available_consulting: Mapped[bool] = mapped_column(Boolean, default=False)
    phone: Mapped[str | None] = mapped_column(String(40))  # private
    email: Mapped[str | None] = mapped_column(String(200))  # private
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization | None] = relationship(foreign_keys=[organization_id])
    user: Mapped[User | None] = relationship(foreign_keys=[user_id])

    @property
    def display_org(self) -> str:
        return self.organization.name if self.organization is not None else (self.org_name or "")

    def __repr__(self) -> str:
        return f"<Expert {self.id} {self.name}>"


class AchievementExpert(db.Model):
    """An expert on the team of an achievement (成果团队成员)."""

    __tablename__ = "achievement_experts"
    __table_args__ = (UniqueConstraint("achievement_id", "expert_id", name="uq_achievement_experts_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id", ondelete="CASCADE"), index=True)
    team_role: Mapped[str | None] = mapped_column(String(60))  # 负责人, 核心成员 …
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    expert: Mapped[Expert] = relationship()


class InstrumentStatus(LabeledEnum):
    AVAILABLE = "available", "可预约"
    MAINTENANCE = "maintenance", "维护中"
    RETIRED = "retired", "已停用"


class BookingStatus(LabeledEnum):
    PENDING = "pending", "待确认"
    APPROVED = "approved", "已确认"
    DECLINED = "declined", "已拒绝"
    CANCELLED = "cancelled", "已取消"


class Instrument(db.Model):
    """A large scientific instrument an organisation shares (大型科学仪器共享)."""

    __tablename__ = "instruments"
    AUDIT_TYPE = "instrument"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    model: Mapped[str | None] = mapped_column(String(100))  # 型号
    manufacturer: Mapped[str | None] = mapped_column(String(200))
    field_code: Mapped[str | None] = mapped_column(String(8), index=True)
    specs: Mapped[str | None] = mapped_column(Text)  # 主要技术指标
    district: Mapped[str | None] = mapped_column(String(32), index=True)
    address: Mapped[str | None] = mapped_column(String(300))
    fee: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    fee_unit: Mapped[str | None] = mapped_column(String(30))  # 元/小时, 元/样品 …
    availability_notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=InstrumentStatus.AVAILABLE.value, index=True)
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    contact_email: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(foreign_keys=[org_id])

    @property
    def status_label(self) -> str:
        return InstrumentStatus.label_of(self.status)

    def __repr__(self) -> str:
        return f"<Instrument {self.id} {self.name}>"


class InstrumentBooking(db.Model):
    """A request to use an instrument for [starts_at, ends_at) (UTC). Two approved bookings of one
    instrument never overlap: the migration enforces it in the database (a PostgreSQL exclusion
    constraint, SQLite triggers), so no interleaving of approvals can break it."""

    __tablename__ = "instrument_bookings"
    __table_args__ = (Index("ix_instrument_bookings_slot", "instrument_id", "status", "starts_at"),)
    AUDIT_TYPE = "instrument_booking"

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"))
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    purpose: Mapped[str] = mapped_column(Text)
    sample_description: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20), default=BookingStatus.PENDING.value)
    decline_reason: Mapped[str | None] = mapped_column(Text)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    decided_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    instrument: Mapped[Instrument] = relationship()
    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
    requester_org: Mapped[Organization] = relationship(foreign_keys=[requester_org_id])

    @property
    def status_label(self) -> str:
        return BookingStatus.label_of(self.status)

    def __repr__(self) -> str:
        return f"<InstrumentBooking {self.id} {self.status}>"


__all__ = [
    "AchievementExpert",
    "Expert",
    "Instrument",
    "InstrumentBooking",
]
