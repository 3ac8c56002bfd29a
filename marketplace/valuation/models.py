"""知识产权价值评估 worksheets: the user's assumptions (inputs) and what they computed (results),
both as JSON so an old worksheet keeps showing what was computed then. Pricing guidance has no
table of its own: it reads registered contracts through the search index."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement

__all__ = ["ValuationWorksheet"]


class ValuationWorksheet(db.Model):
    """One worksheet of an organisation (or of a broker without one): private to its members."""

    __tablename__ = "valuation_worksheets"
    AUDIT_TYPE = "valuation_worksheet"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    achievement_id: Mapped[int | None] = mapped_column(ForeignKey("achievements.id", ondelete="SET NULL"), index=True)
    patent_number: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(Text, default="")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the assumptions, as entered (cleaned)
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # every computed row and value
    version: Mapped[int] = mapped_column(default=1)  # +1 on every save
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    achievement: Mapped[Achievement | None] = relationship()
