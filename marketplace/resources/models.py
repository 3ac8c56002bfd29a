"""科技人才库: experts, and the link between experts and the achievements whose team they are on.

An expert is a person in the database, not necessarily a user: `user_id` links the account an
expert signs in with (needed to score an evaluation). Contact data (phone, e-mail) is private:
views and the API show it only where `resources.policy` allows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
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
