"""Services offered by verified organisations (服务机构) in the seven categories of
`core.taxonomy.ServiceCategory`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization
from ..core.timeutil import utcnow
from ..extensions import db


class ServiceOffering(db.Model):
    __tablename__ = "service_offerings"
    AUDIT_TYPE = "service_offering"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    category: Mapped[str] = mapped_column(String(20), index=True)  # ServiceCategory code
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    price_note: Mapped[str | None] = mapped_column(String(200))  # 收费说明: 面议, 按项目 …
    active: Mapped[bool] = mapped_column(Boolean, default=True, index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")
