"""Precomputed recommendations for the brokers' board, and introductions (引荐).

MatchState: one row per listing whose recommendations have been computed; `stale` > 0 means they
must be recomputed (1: a listing among its results changed; 2: the listing itself changed).
MatchResult: its top candidates, best first. Introduction: a broker introduced an achievement to a
demand (who, what, to whom, when, with the score and reasons shown at the time)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement, Demand


class MatchState(db.Model):
    __tablename__ = "match_states"
    __table_args__ = (Index("ix_match_states_stale", "stale"),)

    source_kind: Mapped[str] = mapped_column(String(16), primary_key=True)  # achievement | demand
    source_id: Mapped[int] = mapped_column(primary_key=True)
    stale: Mapped[int] = mapped_column(default=0)
    computed_at: Mapped[datetime | None]


class MatchResult(db.Model):
    __tablename__ = "match_results"
    __table_args__ = (
        UniqueConstraint("source_kind", "source_id", "rank"),
        Index("ix_match_results_target", "source_kind", "target_id"),  # who lists this target?
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    source_kind: Mapped[str] = mapped_column(String(16))
    source_id: Mapped[int]
    rank: Mapped[int]  # 1 = best
    target_id: Mapped[int]  # a listing of the other kind
    score: Mapped[float]
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    computed_at: Mapped[datetime] = mapped_column(default=utcnow)


class Introduction(db.Model):
    """A broker's introduction (引荐) of an achievement to a demand; the deal room (a later
    issue) turns one into a deal."""

    __tablename__ = "introductions"
    AUDIT_TYPE = "introduction"
    __table_args__ = (UniqueConstraint("demand_id", "achievement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    demand_id: Mapped[int] = mapped_column(ForeignKey("demands.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"), index=True)
    broker_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    broker_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    score: Mapped[float | None]
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    demand: Mapped[Demand] = relationship()
    achievement: Mapped[Achievement] = relationship()
    broker: Mapped[User | None] = relationship()
