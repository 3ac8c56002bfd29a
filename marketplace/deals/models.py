"""Deal, DealBroker, DealEvent (the timeline), TechContract (技术合同) with its amendments and
installment plan, Payment, Invoice with its lines, and the two number sequences.

Money is Decimal yuan in Numeric(16, 2); rates are percentages in Numeric(6, 3). Contracts,
payments and invoices are never deleted: a contract is cancelled (注销), a payment is reversed by
a negative entry with a reason, an invoice is voided (作废) and keeps its number."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Organization, User
from ..core.taxonomy import (
    CommissionKind,
    CommissionPayer,
    ContractStatus,
    ContractType,
    DealStage,
    InvoiceKind,
    InvoiceStatus,
    PaymentMode,
)
from ..core.timeutil import utcnow
from ..extensions import db

if TYPE_CHECKING:
    from ..challenges.models import Challenge
    from ..listings.models import Achievement, Demand
    from ..matching.models import Introduction

Money = Numeric(16, 2)
Rate = Numeric(6, 3)  # a percentage, e.g. 5.000 (%)


class Deal(db.Model):
    __tablename__ = "deals"
    AUDIT_TYPE = "deal"
    __table_args__ = (
        Index("ix_deals_stage_changed", "stage", "stage_changed_at"),
        Index("ix_deals_created_at", "created_at"),  # the dashboard funnel counts deals opened in a period
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    seller_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(ForeignKey("organizations.id"), index=True)
    # Where the deal came from (each optional).
    introduction_id: Mapped[int | None] = mapped_column(ForeignKey("introductions.id"), index=True)
    achievement_id: Mapped[int | None] = mapped_column(ForeignKey("achievements.id"), index=True)
    demand_id: Mapped[int | None] = mapped_column(ForeignKey("demands.id"), index=True)
    challenge_id: Mapped[int | None] = mapped_column(ForeignKey("challenges.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16), default=DealStage.INTENT.value, index=True)
    stage_changed_at: Mapped[datetime] = mapped_column(default=utcnow)
    termination_reason: Mapped[str | None] = mapped_column(Text)
    expected_value: Mapped[Decimal | None] = mapped_column(Money)  # 预计成交额 (元)
    commission_kind: Mapped[str] = mapped_column(String(16), default=CommissionKind.NONE.value)
    commission_rate: Mapped[Decimal | None] = mapped_column(Rate)  # % of 成交额
    commission_amount: Mapped[Decimal | None] = mapped_column(Money)  # fixed amount (元)
    commission_payer: Mapped[str | None] = mapped_column(String(16))  # CommissionPayer
    summary: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    seller_org: Mapped[Organization] = relationship(foreign_keys=[seller_org_id], lazy="joined")
    buyer_org: Mapped[Organization] = relationship(foreign_keys=[buyer_org_id], lazy="joined")
    created_by: Mapped[User | None] = relationship()
    brokers: Mapped[list[DealBroker]] = relationship(back_populates="deal", cascade="all, delete-orphan")
    events: Mapped[list[DealEvent]] = relationship(
        back_populates="deal", order_by="DealEvent.created_at.desc(), DealEvent.id.desc()"
    )
    contract: Mapped[TechContract | None] = relationship(back_populates="deal", uselist=False)
    invoices: Mapped[list[Invoice]] = relationship(back_populates="deal", order_by="Invoice.id")
    # Where it came from, for the deal page's 来源 (read-only: the ids above are what is written).
    achievement: Mapped[Achievement | None] = relationship(viewonly=True)
    demand: Mapped[Demand | None] = relationship(viewonly=True)
    challenge: Mapped[Challenge | None] = relationship(viewonly=True)
    introduction: Mapped[Introduction | None] = relationship(viewonly=True)

    @property
    def stage_label(self) -> str:
        return DealStage.label_of(self.stage)

    @property
    def commission_kind_label(self) -> str:
        return CommissionKind.label_of(self.commission_kind)

    @property
    def commission_payer_label(self) -> str:
        return CommissionPayer.label_of(self.commission_payer)

    @property
    def is_open(self) -> bool:
        return self.stage not in (DealStage.COMPLETED.value, DealStage.TERMINATED.value)


class DealBroker(db.Model):
    """A broker assigned to a deal (the one who opened it, and any added later)."""

    __tablename__ = "deal_brokers"
    __table_args__ = (UniqueConstraint("deal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    lead: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deal: Mapped[Deal] = relationship(back_populates="brokers")
    user: Mapped[User] = relationship()


class DealEvent(db.Model):
    """One entry of a deal's timeline: a note, a meeting, a file, a stage change, or a record of
    contract / payment / invoice activity."""

    __tablename__ = "deal_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # note | meeting | file | stage | contract | payment | invoice
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body: Mapped[str] = mapped_column(Text, default="")
    meeting_at: Mapped[datetime | None]  # meetings: when (UTC)
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str | None] = mapped_column(String(16))
    # files: stored under UPLOAD_DIR like listing attachments, served after a policy check
    file_name: Mapped[str | None] = mapped_column(String(255))
    file_path: Mapped[str | None] = mapped_column(String(500))
    file_size: Mapped[int | None]
    file_mime: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    deal: Mapped[Deal] = relationship(back_populates="events")
    author: Mapped[User | None] = relationship()


class TechContract(db.Model):
    """技术合同 of a deal, with the fields of the registration form (技术合同登记表).

    technology_amount (技术交易额) = amount (成交额) − non_tech_costs (非技术性费用), computed by the
    service and stored for the statistics; non_tech_breakdown holds the parts (equipment,
    instruments, parts, materials, other) whose sum is non_tech_costs."""

    __tablename__ = "tech_contracts"
    AUDIT_TYPE = "tech_contract"
    __table_args__ = (
        Index("ix_tech_contracts_status_registered", "status", "registered_at"),
        # MAX(updated_at) is part of the register's version (the statistics dashboard's cache key)
        Index("ix_tech_contracts_updated_at", "updated_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    deal_id: Mapped[int | None] = mapped_column(ForeignKey("deals.id"), unique=True)
    project_name: Mapped[str] = mapped_column(String(200))
    contract_type: Mapped[str] = mapped_column(String(32), index=True)  # ContractType
    license_scope: Mapped[str | None] = mapped_column(String(16))  # LicenseScope, licenses only
    seller_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    seller_name: Mapped[str] = mapped_column(String(200))
    seller_nature: Mapped[str] = mapped_column(String(32))  # PartyNature
    seller_region: Mapped[str] = mapped_column(String(12), index=True)  # GB/T 2260, 6 digits
    buyer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"), index=True)
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_nature: Mapped[str] = mapped_column(String(32))
    buyer_region: Mapped[str] = mapped_column(String(12), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)  # 成交额
    non_tech_costs: Mapped[Decimal] = mapped_column(Money, default=Decimal("0"))  # 非技术性费用
    non_tech_breakdown: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # part -> "123.45"
    technology_amount: Mapped[Decimal] = mapped_column(Money)  # 技术交易额
    payment_mode: Mapped[str] = mapped_column(String(24), default=PaymentMode.LUMP_SUM.value)
    signed_on: Mapped[date] = mapped_column(index=True)
    valid_from: Mapped[date | None]
    valid_to: Mapped[date | None]
    field_code: Mapped[str | None] = mapped_column(String(16), index=True)  # national field, top level
    ip_type: Mapped[str | None] = mapped_column(String(24))  # IPType
    objective: Mapped[str | None] = mapped_column(String(24))  # SocioEconomicObjective
    expected_investment: Mapped[Decimal | None] = mapped_column(Money)  # 预计新增投入 (transfers)
    expected_output: Mapped[Decimal | None] = mapped_column(Money)  # 预计新增产值 (transfers)
    status: Mapped[str] = mapped_column(String(16), default=ContractStatus.DRAFT.value, index=True)
    submitted_at: Mapped[datetime | None]
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    return_reason: Mapped[str | None] = mapped_column(Text)
    office_code: Mapped[str | None] = mapped_column(String(12))  # the registration office
    registration_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    registered_at: Mapped[datetime | None] = mapped_column(index=True)
    registered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    cancelled_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    deal: Mapped[Deal | None] = relationship(back_populates="contract")
    seller_org: Mapped[Organization | None] = relationship(foreign_keys=[seller_org_id])
    buyer_org: Mapped[Organization | None] = relationship(foreign_keys=[buyer_org_id])
    installments: Mapped[list[Installment]] = relationship(
        back_populates="contract", order_by="Installment.due_on, Installment.id", cascade="all, delete-orphan"
    )
    payments: Mapped[list[Payment]] = relationship(back_populates="contract", order_by="Payment.paid_on, Payment.id")
    amendments: Mapped[list[ContractAmendment]] = relationship(
        back_populates="contract", order_by="ContractAmendment.id"
    )

    @property
    def type(self) -> ContractType | None:
        return ContractType.parse(self.contract_type)

    @property
    def status_label(self) -> str:
        return ContractStatus.label_of(self.status)


class ContractAmendment(db.Model):
    """A change (变更) or cancellation (注销) of a registered contract: what changed, from what to
    what, why, by whom. The contract row holds the current values; statistics read those and
    leave cancelled contracts out."""

    __tablename__ = "contract_amendments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("tech_contracts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # amend | cancel
    changes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # field -> [before, after]
    reason: Mapped[str] = mapped_column(Text)
    by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contract: Mapped[TechContract] = relationship(back_populates="amendments")
    by: Mapped[User | None] = relationship()


class Installment(db.Model):
    """One planned payment of a contract (分期/入门费 plan)."""

    __tablename__ = "contract_installments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("tech_contracts.id"), index=True)
    due_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money)
    note: Mapped[str | None] = mapped_column(String(200))

    contract: Mapped[TechContract] = relationship(back_populates="installments")


class Payment(db.Model):
    """An actual payment from buyer to seller; a refund is a negative amount with a reason."""

    __tablename__ = "contract_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(ForeignKey("tech_contracts.id"), index=True)
    paid_on: Mapped[date]
    amount: Mapped[Decimal] = mapped_column(Money)
    reason: Mapped[str | None] = mapped_column(Text)  # required for refunds
    reference: Mapped[str | None] = mapped_column(String(100))  # bank reference
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    contract: Mapped[TechContract] = relationship(back_populates="payments")
    recorded_by: Mapped[User | None] = relationship()


class Invoice(db.Model):
    """Our own invoice (no payment service): the broker's commission or the platform's service
    fee for a deal. `number` is sequential and never reused; voiding keeps it."""

    __tablename__ = "invoices"
    AUDIT_TYPE = "invoice"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), default=InvoiceKind.COMMISSION.value)
    deal_id: Mapped[int] = mapped_column(ForeignKey("deals.id"), index=True)
    payer_org_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id"))
    payer_name: Mapped[str] = mapped_column(String(200))
    payer_tax_id: Mapped[str | None] = mapped_column(String(32))
    payer_address: Mapped[str | None] = mapped_column(String(300))
    payee_name: Mapped[str] = mapped_column(String(200))
    payee_tax_id: Mapped[str | None] = mapped_column(String(32))
    payee_bank: Mapped[str | None] = mapped_column(String(200))
    payee_account: Mapped[str | None] = mapped_column(String(64))
    issued_on: Mapped[date]
    due_on: Mapped[date | None]
    tax_rate: Mapped[Decimal] = mapped_column(Rate)  # %, e.g. 6.000
    subtotal: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(16), default=InvoiceStatus.UNPAID.value, index=True)
    paid_on: Mapped[date | None]
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    deal: Mapped[Deal] = relationship(back_populates="invoices")
    payer_org: Mapped[Organization | None] = relationship()
    lines: Mapped[list[InvoiceLine]] = relationship(
        back_populates="invoice", order_by="InvoiceLine.position", cascade="all, delete-orphan"
    )

    @property
    def kind_label(self) -> str:
        return InvoiceKind.label_of(self.kind)

    @property
    def status_label(self) -> str:
        return InvoiceStatus.label_of(self.status)


class InvoiceLine(db.Model):
    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    position: Mapped[int]
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)  # quantity × unit_price, to the fen

    invoice: Mapped[Invoice] = relationship(back_populates="lines")


class NumberSequence(db.Model):
    """Gap-free counters: registration numbers per (office, year), invoice numbers per year.
    Taken with SELECT … FOR UPDATE inside the registering transaction, so a rolled-back
    registration gives its number back and concurrent ones wait for each other."""

    __tablename__ = "number_sequences"
    __table_args__ = (UniqueConstraint("name", "scope", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32))  # contract_registration | invoice
    scope: Mapped[str] = mapped_column(String(32), default="")  # office code, or ""
    year: Mapped[int]
    last_value: Mapped[int] = mapped_column(default=0)
