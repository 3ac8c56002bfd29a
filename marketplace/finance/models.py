"""科技金融: 金融产品 (FinanceProduct) of financial institutions, 融资申请 (FinanceApplication) of
enterprises with their materials (FinanceAttachment) and repayments (FinanceRepayment), and
路演 (Roadshow) with registrations and presenting projects. Investors' field follows are saved
searches of the alerts package (see services.follow_field), so they need no table here."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.taxonomy import LabeledEnum
from ..core.timeutil import utcnow
from ..extensions import db
from ..listings.models import Achievement

__all__ = [
    "FinanceProduct",
    "FinanceApplication",
    "FinanceAttachment",
    "FinanceRepayment",
    "Roadshow",
    "RoadshowRegistration",
    "RoadshowProject",
]

Money = Numeric(16, 2)
Rate = Numeric(7, 4)  # annual rate in percent, e.g. 3.4500


class ProductKind(LabeledEnum):
    TRANSFER_LOAN = ("transfer_loan", "科技成果转化贷款", "成果转化贷款")
    PATENT_PLEDGE = ("patent_pledge", "专利质押贷款", "知识产权质押贷款")
    IP_LOAN = ("ip_loan", "知识产权证券化/其他贷款", "知识产权证券化")
    EQUITY_FUND = ("equity_fund", "股权投资基金", "股权投资")
    OTHER = ("other", "其他")

    @property
    def is_loan(self) -> bool:
        return self in LOAN_KINDS


LOAN_KINDS = (ProductKind.TRANSFER_LOAN, ProductKind.PATENT_PLEDGE, ProductKind.IP_LOAN)


class ProductStatus(LabeledEnum):
    DRAFT = ("draft", "草稿")
    PUBLISHED = ("published", "已发布")
    CLOSED = ("closed", "已下架")


class ApplicationStatus(LabeledEnum):
    SUBMITTED = ("submitted", "已提交")
    UNDER_REVIEW = ("under_review", "审核中")
    DOCUMENTS_REQUESTED = ("documents_requested", "待补充材料")
    APPROVED = ("approved", "已批准")
    DECLINED = ("declined", "未获批准")
    WITHDRAWN = ("withdrawn", "已撤回")
    DISBURSED = ("disbursed", "已放款")
    SETTLED = ("settled", "已结清")


class AttachmentKind(LabeledEnum):
    CONTRACT = ("contract", "技术合同")
    PATENT = ("patent", "专利")
    ACHIEVEMENT = ("achievement", "科技成果")
    DEMAND = ("demand", "技术需求")
    FILE = ("file", "上传文件")


class ProjectStatus(LabeledEnum):
    APPLIED = ("applied", "待确认")
    ACCEPTED = ("accepted", "已确认路演")


class FinanceProduct(db.Model):
    __tablename__ = "finance_products"
    AUDIT_TYPE = "finance_product"

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(24), index=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    amount_min: Mapped[Decimal] = mapped_column(Money)
    amount_max: Mapped[Decimal] = mapped_column(Money)
    rate_min: Mapped[Decimal | None] = mapped_column(Rate)
    rate_max: Mapped[Decimal | None] = mapped_column(Rate)
    term_min: Mapped[int] = mapped_column(default=1)  # months
    term_max: Mapped[int] = mapped_column(default=12)
    requirements: Mapped[str | None] = mapped_column(Text)  # 担保/准入条件
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)  # technology field codes
    status: Mapped[str] = mapped_column(String(16), default=ProductStatus.DRAFT.value, index=True)
    published_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organization: Mapped[Organization] = relationship(lazy="joined")

    @property
    def kind_label(self) -> str:
        return ProductKind.label_of(self.kind)

    @property
    def is_loan(self) -> bool:
        kind = ProductKind.parse(self.kind)
        return kind is not None and kind.is_loan

    @property
    def status_label(self) -> str:
        return ProductStatus.label_of(self.status)


class FinanceApplication(db.Model):
    __tablename__ = "finance_applications"
    AUDIT_TYPE = "finance_application"

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("finance_products.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)  # the applicant
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    amount_requested: Mapped[Decimal] = mapped_column(Money)
    term_months: Mapped[int]
    purpose: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(24), default=ApplicationStatus.SUBMITTED.value, index=True)
    documents_note: Mapped[str | None] = mapped_column(Text)  # what the reviewer asked for
    response_note: Mapped[str | None] = mapped_column(Text)  # the applicant's answer
    decline_reason: Mapped[str | None] = mapped_column(Text)
    approved_amount: Mapped[Decimal | None] = mapped_column(Money)
    approved_rate: Mapped[Decimal | None] = mapped_column(Rate)
    approved_term: Mapped[int | None]
    decided_at: Mapped[datetime | None] = mapped_column(index=True)
    disbursed_amount: Mapped[Decimal | None] = mapped_column(Money)
    disbursed_on: Mapped[date | None] = mapped_column(index=True)
    settled_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    product: Mapped[FinanceProduct] = relationship(lazy="joined")
    institution: Mapped[Organization] = relationship(foreign_keys=[institution_id])
    organization: Mapped[Organization] = relationship(foreign_keys=[org_id])
    applicant: Mapped[User | None] = relationship()
    attachments: Mapped[list[FinanceAttachment]] = relationship(
        back_populates="application", order_by="FinanceAttachment.id", cascade="all, delete-orphan"
    )
    repayments: Mapped[list[FinanceRepayment]] = relationship(
        back_populates="application", order_by="FinanceRepayment.paid_on, FinanceRepayment.id"
    )

    @property
    def status_label(self) -> str:
        return ApplicationStatus.label_of(self.status)

    @property
    def repaid_total(self) -> Decimal:
        return sum((r.amount for r in self.repayments), Decimal("0.00"))

    @property
    def outstanding(self) -> Decimal:
        if self.disbursed_amount is None:
            return Decimal("0.00")
        return self.disbursed_amount - self.repaid_total


class FinanceAttachment(db.Model):
    """A supporting material: a reference to one of the applicant organisation's own contracts,
    patents or listings, or an uploaded file (content sniffed, stored under UPLOAD_DIR)."""

    __tablename__ = "finance_attachments"
    __table_args__ = (
        UniqueConstraint("application_id", "kind", "ref_id", name="uq_finance_attachments_application_kind_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("finance_applications.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    ref_id: Mapped[int | None]
    label: Mapped[str] = mapped_column(String(300))
    stored_name: Mapped[str | None] = mapped_column(String(80))
    content_type: Mapped[str | None] = mapped_column(String(100))
    size: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(String(64))
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[FinanceApplication] = relationship(back_populates="attachments")

    @property
    def kind_label(self) -> str:
        return AttachmentKind.label_of(self.kind)


class FinanceRepayment(db.Model):
    """还款 recorded by the institution; never deleted."""

    __tablename__ = "finance_repayments"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("finance_applications.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    paid_on: Mapped[date] = mapped_column(index=True)
    note: Mapped[str | None] = mapped_column(String(300))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    application: Mapped[FinanceApplication] = relationship(back_populates="repayments")


class Roadshow(db.Model):
    __tablename__ = "roadshows"
    AUDIT_TYPE = "roadshow"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(index=True)  # UTC
    registration_deadline: Mapped[datetime]
    place: Mapped[str | None] = mapped_column(String(300))
    online_url: Mapped[str | None] = mapped_column(String(500))
    capacity: Mapped[int]
    description: Mapped[str] = mapped_column(Text, default="")
    organizer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    organizer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organizer: Mapped[User | None] = relationship()
    organizer_org: Mapped[Organization | None] = relationship()
    registrations: Mapped[list[RoadshowRegistration]] = relationship(
        back_populates="roadshow", order_by="RoadshowRegistration.id"
    )
    projects: Mapped[list[RoadshowProject]] = relationship(back_populates="roadshow", order_by="RoadshowProject.id")

    def is_past(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) >= self.starts_at


class RoadshowRegistration(db.Model):
    __tablename__ = "roadshow_registrations"
    __table_args__ = (UniqueConstraint("roadshow_id", "user_id", name="uq_roadshow_registrations_roadshow_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    roadshow_id: Mapped[int] = mapped_column(ForeignKey("roadshows.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roadshow: Mapped[Roadshow] = relationship(back_populates="registrations")
    user: Mapped[User] = relationship()


class RoadshowProject(db.Model):
    __tablename__ = "roadshow_projects"
    __table_args__ = (
        UniqueConstraint("roadshow_id", "achievement_id", name="uq_roadshow_projects_roadshow_achievement"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    roadshow_id: Mapped[int] = mapped_column(ForeignKey("roadshows.id"), index=True)
    achievement_id: Mapped[int] = mapped_column(ForeignKey("achievements.id"))
    applicant_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default=ProjectStatus.APPLIED.value)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    roadshow: Mapped[Roadshow] = relationship(back_populates="projects")
    achievement: Mapped[Achievement] = relationship()
    applicant: Mapped[User | None] = relationship()

    @property
    def status_label(self) -> str:
        return ProjectStatus.label_of(self.status)
