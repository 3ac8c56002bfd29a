"""成果评价: an evaluation request on a published achievement, its expert panel, and the score
sheets (one row per panel member and dimension). The scoring model itself (dimensions, weights,
grades) lives in `evaluation.scoring`, next to the arithmetic."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Date, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.taxonomy import LabeledEnum
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement
from ..resources.models import Expert

__all__ = ["EvaluationPanelMember", "EvaluationRequest", "EvaluationScore"]


class EvaluationStatus(LabeledEnum):
    REQUESTED = ("requested", "待组建专家组")
    ASSIGNED = ("assigned", "专家组已组建")
    SCORING = ("scoring", "评审中")
    COMPLETED = ("completed", "已完成")
    CANCELLED = ("cancelled", "已取消")


OPEN_STATES = (EvaluationStatus.REQUESTED.value, EvaluationStatus.ASSIGNED.value, EvaluationStatus.SCORING.value)


class MemberStatus(LabeledEnum):
    INVITED = ("invited", "待评分")
    SCORED = ("scored", "已评分")
    WITHDRAWN = ("withdrawn", "已退出")


class EvaluationRequest(db.Model):
    __tablename__ = "evaluation_requests"
    AUDIT_TYPE = "evaluation"

    id: Mapped[int] = mapped_column(primary_key=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # the owner
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # The 成果评价 service provider chosen by the owner; none: the platform (admins) assigns.
    provider_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="SET NULL"), index=True)
    purpose: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default=EvaluationStatus.REQUESTED.value, index=True)
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    assigned_at: Mapped[datetime | None]
    due_date: Mapped[date | None] = mapped_column(Date)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    completed_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    overall: Mapped[Decimal | None] = mapped_column(Numeric(5, 2))
    grade: Mapped[str | None] = mapped_column(String(1))
    report_number: Mapped[str | None] = mapped_column(String(20), unique=True)
    badge_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    achievement: Mapped[Achievement] = relationship()
    organization: Mapped[Organization] = relationship(foreign_keys=[org_id])
    provider: Mapped[Organization | None] = relationship(foreign_keys=[provider_org_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    assigned_by: Mapped[User | None] = relationship(foreign_keys=[assigned_by_id])
    members: Mapped[list[EvaluationPanelMember]] = relationship(
        back_populates="request", order_by="EvaluationPanelMember.id", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return EvaluationStatus.label_of(self.status)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATES

    @property
    def scored_members(self) -> list[EvaluationPanelMember]:
        return [m for m in self.members if m.status == MemberStatus.SCORED.value]

    @property
    def active_members(self) -> list[EvaluationPanelMember]:
        return [m for m in self.members if m.status != MemberStatus.WITHDRAWN.value]


class EvaluationPanelMember(db.Model):
    """An expert on the panel of one request, with the overall opinion of the score sheet."""

    __tablename__ = "evaluation_panel_members"
    __table_args__ = (UniqueConstraint("request_id", "expert_id", name="uq_evaluation_panel_members_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("evaluation_requests.id", ondelete="CASCADE"), index=True)
    expert_id: Mapped[int] = mapped_column(ForeignKey("experts.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.INVITED.value)
    opinion: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime | None]
    revised_at: Mapped[datetime | None]
    withdrawn_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    request: Mapped[EvaluationRequest] = relationship(back_populates="members")
    expert: Mapped[Expert] = relationship()
    scores: Mapped[list[EvaluationScore]] = relationship(
        back_populates="member", order_by="EvaluationScore.id", cascade="all, delete-orphan"
    )

    @property
    def status_label(self) -> str:
        return MemberStatus.label_of(self.status)

    def score_of(self, dimension: str) -> EvaluationScore | None:
        return next((s for s in self.scores if s.dimension == dimension), None)


class EvaluationScore(db.Model):
    """One dimension of one panel member's score sheet: 0–100, one decimal, with a comment."""

    __tablename__ = "evaluation_scores"
    __table_args__ = (UniqueConstraint("member_id", "dimension", name="uq_evaluation_scores_member_dimension"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("evaluation_panel_members.id", ondelete="CASCADE"), index=True)
    dimension: Mapped[str] = mapped_column(String(16))
    score: Mapped[Decimal] = mapped_column(Numeric(4, 1))
    comment: Mapped[str] = mapped_column(Text, default="")

    member: Mapped[EvaluationPanelMember] = relationship(back_populates="scores")
