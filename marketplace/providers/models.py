"""Services offered by verified organisations (服务机构) in the seven categories of
`core.taxonomy.ServiceCategory`, the requests made to them (服务请求), the notes exchanged on a
request and the requester's rating after completion."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Boolean, ForeignKey, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.taxonomy import LabeledEnum, ServiceCategory
from ..core.timeutil import utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..listings.models import Demand

__all__ = ["ServiceOffering", "ServiceRequest", "ServiceRequestMessage", "ServiceRating"]


class RequestStatus(LabeledEnum):
    SUBMITTED = ("submitted", "待受理")
    ACCEPTED = ("accepted", "已受理")
    IN_PROGRESS = ("in_progress", "服务中")
    COMPLETED = ("completed", "已完成")
    DECLINED = ("declined", "已婉拒")
    CANCELLED = ("cancelled", "已取消")


class ContactPreference(LabeledEnum):
    PLATFORM = ("platform", "平台留言")
    PHONE = ("phone", "电话")
    EMAIL = ("email", "电子邮件")
    VISIT = ("visit", "上门面谈")


class ServiceOffering(db.Model):
    __tablename__ = "service_offerings"
    AUDIT_TYPE = "service_offering"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    category: Mapped[str] = mapped_column(String(20), index=True)  # ServiceCategory code
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price_note: Mapped[str | None] = mapped_column(String(200))  # 收费说明: 面议, 按项目 …
    district: Mapped[str | None] = mapped_column(String(32), index=True)  # 服务区域; None: 全市
    turnaround_days: Mapped[int | None]  # 一般办理周期（天）
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")

    @property
    def category_label(self) -> str:
        return ServiceCategory.label_of(self.category)


class ServiceRequest(db.Model):
    __tablename__ = "service_requests"
    AUDIT_TYPE = "service_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("service_offerings.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    requester_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    requester_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    subject: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    desired_date: Mapped[date | None]
    contact_preference: Mapped[str] = mapped_column(String(16), default=ContactPreference.PLATFORM.value)
    achievement_id: Mapped[int | None] = mapped_column(ForeignKey("achievements.id", ondelete="SET NULL"))
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=RequestStatus.SUBMITTED.value, index=True)
    quote_note: Mapped[str | None] = mapped_column(Text)  # 报价/服务方案 on acceptance
    decline_reason: Mapped[str | None] = mapped_column(Text)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    result_text: Mapped[str | None] = mapped_column(Text)
    result_file_name: Mapped[str | None] = mapped_column(String(200))
    result_file_path: Mapped[str | None] = mapped_column(String(200))
    result_file_mime: Mapped[str | None] = mapped_column(String(100))
    result_file_size: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    responded_at: Mapped[datetime | None]  # first response: accepted or declined
    response_seconds: Mapped[int | None]  # responded_at - created_at, for portable averages
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]  # declined or cancelled
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    offering: Mapped[ServiceOffering] = relationship(lazy="joined")
    provider: Mapped[Organization] = relationship(foreign_keys=[provider_org_id])
    requester_org: Mapped[Organization] = relationship(foreign_keys=[requester_org_id])
    requester: Mapped[User | None] = relationship(foreign_keys=[requester_id])
    rating: Mapped[ServiceRating | None] = relationship(back_populates="request", uselist=False)
    demand: Mapped[Demand | None] = relationship(viewonly=True)  # shown by title on the request page

    @property
    def status_label(self) -> str:
        return RequestStatus.label_of(self.status)

    @property
    def contact_label(self) -> str:
        return ContactPreference.label_of(self.contact_preference)


class ServiceRequestMessage(db.Model):
    """A note on a request between the provider and the requester."""

    __tablename__ = "service_request_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), index=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    author: Mapped[User | None] = relationship()
    organization: Mapped[Organization] = relationship()


class ServiceRating(db.Model):
    """The requester's rating of a completed request: one per request."""

    __tablename__ = "service_ratings"
    AUDIT_TYPE = "service_rating"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("service_requests.id"), unique=True)
    offering_id: Mapped[int] = mapped_column(ForeignKey("service_offerings.id"), index=True)
    provider_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    rater_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    score: Mapped[int] = mapped_column(SmallInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    request: Mapped[ServiceRequest] = relationship(back_populates="rating")
    rater: Mapped[User | None] = relationship()
