"""Challenge (揭榜挂帅 / 悬赏), ChallengeApplication (揭榜申请), ChallengeReviewer (评审专家) and
ApplicationScore (one reviewer's scores for one application).

Times are stored in UTC; the deadline is entered and shown in Asia/Shanghai and enforced on the
server (see services)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.timeutil import utcnow
from ..extensions import db

Money = Numeric(16, 2)


class ChallengeStatus:
    DRAFT = "draft"  # 草稿
    PENDING = "pending"  # 待审核
    REJECTED = "rejected"  # 已驳回 (back to the publisher with a reason)
    PUBLISHED = "published"  # 已发布: open for applications until the deadline, then 评审中
    DECIDED = "decided"  # 已揭晓: a winner, or no winner with a reason
    WITHDRAWN = "withdrawn"  # 已撤回

    LABELS = {
        DRAFT: "草稿",
        PENDING: "待审核",
        REJECTED: "已驳回",
        PUBLISHED: "已发布",
        DECIDED: "已揭晓",
        WITHDRAWN: "已撤回",
    }


class ApplicationStatus:
    SUBMITTED = "submitted"  # 已提交
    SHORTLISTED = "shortlisted"  # 入围
    WON = "won"  # 揭榜成功
    NOT_SELECTED = "not_selected"  # 未入选
    WITHDRAWN = "withdrawn"  # 已撤回 (by the applicant, before the deadline)

    LABELS = {
        SUBMITTED: "已提交",
        SHORTLISTED: "入围",
        WON: "揭榜成功",
        NOT_SELECTED: "未入选",
        WITHDRAWN: "已撤回",
    }


class Challenge(db.Model):
    __tablename__ = "challenges"
    AUDIT_TYPE = "challenge"
    __table_args__ = (Index("ix_challenges_status_deadline", "status", "deadline"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # the publisher
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # An official publishing on behalf of the city (发榜单位 shown as the bureau, not a company).
    on_behalf_of_city: Mapped[bool] = mapped_column(default=False)
    title: Mapped[str] = mapped_column(String(200))
    problem: Mapped[str] = mapped_column(Text)  # 需解决的问题
    indicators: Mapped[str] = mapped_column(Text)  # 技术指标
    bounty: Mapped[Decimal] = mapped_column(Money)  # 悬赏金额 (元)
    deadline: Mapped[datetime] = mapped_column(index=True)  # UTC; applications close at this instant
    # [{"name": "技术方案先进性", "weight": 40}, ...] — weights add up to 100
    criteria: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    eligible_org_types: Mapped[list[str]] = mapped_column(JSON, default=list)  # OrgType codes
    field_code: Mapped[str | None] = mapped_column(String(16), index=True)
    district: Mapped[str | None] = mapped_column(String(32))
    contact_name: Mapped[str | None] = mapped_column(String(100))
    contact_phone: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(16), default=ChallengeStatus.DRAFT, index=True)
    review_reason: Mapped[str | None] = mapped_column(Text)
    # The winning application (its status is 揭榜成功); no foreign key: the two tables would refer
    # to each other, and applications are never deleted.
    winner_application_id: Mapped[int | None]
    no_winner_reason: Mapped[str | None] = mapped_column(Text)
    result_note: Mapped[str | None] = mapped_column(Text)  # public remarks with the result
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None]
    published_at: Mapped[datetime | None]
    decided_at: Mapped[datetime | None]

    organization: Mapped[Organization] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    applications: Mapped[list[ChallengeApplication]] = relationship(
        back_populates="challenge", foreign_keys="ChallengeApplication.challenge_id", order_by="ChallengeApplication.id"
    )
    reviewers: Mapped[list[ChallengeReviewer]] = relationship(back_populates="challenge")

    @property
    def status_label(self) -> str:
        return ChallengeStatus.LABELS.get(self.status, self.status)


class ChallengeApplication(db.Model):
    __tablename__ = "challenge_applications"
    AUDIT_TYPE = "challenge_application"
    __table_args__ = (UniqueConstraint("challenge_id", "org_id"),)  # one application per organisation

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    proposal: Mapped[str] = mapped_column(Text)  # 技术方案
    team: Mapped[str] = mapped_column(Text)  # 团队
    schedule: Mapped[str] = mapped_column(Text)  # 进度安排
    budget: Mapped[Decimal | None] = mapped_column(Money)  # 预算 (元)
    achievement_ids: Mapped[list[int]] = mapped_column(JSON, default=list)  # linked 科技成果
    status: Mapped[str] = mapped_column(String(16), default=ApplicationStatus.SUBMITTED, index=True)
    feedback: Mapped[str | None] = mapped_column(Text)  # the publisher's word to this applicant
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    challenge: Mapped[Challenge] = relationship(back_populates="applications", foreign_keys=[challenge_id])
    organization: Mapped[Organization] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship()
    scores: Mapped[list[ApplicationScore]] = relationship(back_populates="application")

    @property
    def status_label(self) -> str:
        return ApplicationStatus.LABELS.get(self.status, self.status)


class ChallengeReviewer(db.Model):
    """An expert the publisher invited to score this challenge's applications."""

    __tablename__ = "challenge_reviewers"
    __table_args__ = (UniqueConstraint("challenge_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge_id: Mapped[int] = mapped_column(ForeignKey("challenges.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    challenge: Mapped[Challenge] = relationship(back_populates="reviewers")
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class ApplicationScore(db.Model):
    """One reviewer's scores for one application: a 0–100 score per criterion (by position in
    Challenge.criteria), the weighted total, and a comment the applicant sees with the result."""

    __tablename__ = "application_scores"
    __table_args__ = (UniqueConstraint("application_id", "reviewer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("challenge_applications.id"), index=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    scores: Mapped[list[float]] = mapped_column(JSON, default=list)
    total: Mapped[Decimal] = mapped_column(Numeric(6, 2))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    application: Mapped[ChallengeApplication] = relationship(back_populates="scores")
    reviewer: Mapped[User] = relationship()
