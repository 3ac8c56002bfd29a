"""Saved searches, pending alert checks, in-app notifications and the e-mail outbox."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..extensions import db


def new_token() -> str:
    return secrets.token_urlsafe(24)


class SavedSearch(db.Model):
    """A query with filters (the /search page's URL parameters) a user wants to hear about."""

    __tablename__ = "saved_searches"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16), index=True)  # achievement | demand
    query_text: Mapped[str] = mapped_column(String(200), default="")
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # search param -> code
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(default=True)
    unsubscribe_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)

    user: Mapped[User] = relationship()


class AlertCheck(db.Model):
    """A listing was published: check it against the saved searches. Written in the publishing
    transaction; `processed_at` is set once the check ran (see services.run_pending)."""

    __tablename__ = "alert_checks"
    __table_args__ = (Index("ix_alert_checks_pending", "processed_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    listing_kind: Mapped[str] = mapped_column(String(16))
    listing_id: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    processed_at: Mapped[datetime | None]


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # The same listing never alerts the same saved search twice (publish, withdraw, publish).
        UniqueConstraint("user_id", "saved_search_id", "listing_kind", "listing_id"),
        Index("ix_notifications_user_read", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    saved_search_id: Mapped[int | None] = mapped_column(ForeignKey("saved_searches.id", ondelete="SET NULL"))
    listing_kind: Mapped[str | None] = mapped_column(String(16))
    listing_id: Mapped[int | None]
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    read_at: Mapped[datetime | None]


class EmailOutbox(db.Model):
    """Mail waiting for an SMTP server; with MAIL_SERVER unset the rows just accumulate (admins see
    them at /admin/mail)."""

    __tablename__ = "email_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    to_address: Mapped[str] = mapped_column(String(255))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    sent_at: Mapped[datetime | None]
    # Delivery attempts that failed (see alerts/mail.py); after MAIL_MAX_ATTEMPTS a row is left alone.
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]

    @property
    def state(self) -> str:
        if self.sent_at:
            return "sent"
        return "failed" if self.attempts else "queued"
