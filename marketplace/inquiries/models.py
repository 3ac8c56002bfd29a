"""Inquiry threads (合作意向 / 成果推荐) between two organisations and their messages."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement, Demand


class InquiryKind:
    ACHIEVEMENT_INQUIRY = "achievement_inquiry"  # an enterprise asks about an achievement
    DEMAND_OFFER = "demand_offer"  # a university/institute offers an achievement to a demand

    LABELS = {ACHIEVEMENT_INQUIRY: "合作意向", DEMAND_OFFER: "成果推荐"}


class Inquiry(db.Model):
    """A thread between the asking organisation (`from_org`) and the listing owner (`to_org`).

    Read tracking is one column per side: the id of the last message that side has seen."""

    __tablename__ = "inquiries"
    AUDIT_TYPE = "inquiry"
    __table_args__ = (
        Index("ix_inquiries_from_org_last", "from_org_id", "last_message_at"),
        Index("ix_inquiries_to_org_last", "to_org_id", "last_message_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    # The achievement asked about, or the one offered to the demand.
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"), index=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    from_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    from_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    to_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    subject: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    from_last_read_id: Mapped[int] = mapped_column(default=0)
    to_last_read_id: Mapped[int] = mapped_column(default=0)

    achievement: Mapped[Achievement] = relationship()
    demand: Mapped[Demand | None] = relationship()
    from_org: Mapped[Organization] = relationship(foreign_keys=[from_org_id])
    to_org: Mapped[Organization] = relationship(foreign_keys=[to_org_id])
    from_user: Mapped[User | None] = relationship()
    messages: Mapped[list[InquiryMessage]] = relationship(
        back_populates="inquiry", order_by="InquiryMessage.id", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return InquiryKind.LABELS.get(self.kind, self.kind)

    @property
    def listing(self) -> Achievement | Demand:
        """The listing the thread is about: the demand for an offer, else the achievement."""
        return self.demand if self.kind == InquiryKind.DEMAND_OFFER and self.demand else self.achievement

    def other_org(self, org_id: int | None) -> Organization:
        return self.to_org if org_id == self.from_org_id else self.from_org


class InquiryMessage(db.Model):
    __tablename__ = "inquiry_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    inquiry_id: Mapped[int] = mapped_column(ForeignKey("inquiries.id", ondelete="CASCADE"), index=True)
    sender_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    sender_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    inquiry: Mapped[Inquiry] = relationship(back_populates="messages")
    sender: Mapped[User | None] = relationship()
    sender_org: Mapped[Organization] = relationship()
