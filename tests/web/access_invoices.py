"""Access-matrix rows for the invoice and document routes of the deals blueprint (and their API
endpoints), and the small builders the invoice/document tests share (deal_between, add_contract,
add_invoice): rows made directly through the models, so these tests do not depend on the deal and
contract services.

In this world the owner's university sells to the enterprise member's company; the broker is the
deal's lead broker; the other member (of another university) has nothing to do with the deal.
The deal's contract is registered, so its certificate can be downloaded."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from marketplace.accounts.models import Organization, User
from marketplace.core.taxonomy import ContractStatus, ContractType
from marketplace.core.timeutil import local_today, utcnow
from marketplace.deals.models import Deal, DealBroker, Invoice, InvoiceLine, TechContract
from marketplace.extensions import db
from tests.web.access_common import FORBIDDEN, LOGIN, NOT_FOUND, OK, ROLES, A, B, D, E, F, M, O


def deal_between(seller: Organization, buyer: Organization, broker: User | None = None, **fields: Any) -> Deal:
    values: dict[str, Any] = {
        "title": "高精度机器视觉尺寸测量系统产业化",
        "stage": "signed",
        "expected_value": Decimal("500000.00"),
        "commission_kind": "rate",
        "commission_rate": Decimal("5.000"),
        "commission_payer": "buyer",
    }
    values.update(fields)
    deal = Deal(seller_org_id=seller.id, buyer_org_id=buyer.id, **values)
    db.session.add(deal)
    db.session.flush()
    if broker is not None:
        db.session.add(DealBroker(deal_id=deal.id, user_id=broker.id, lead=True))
    db.session.flush()
    db.session.refresh(deal)
    return deal


def add_contract(deal: Deal, *, registered: bool = True, **fields: Any) -> TechContract:
    """A contract of the deal; registered ones get a registration number and office by hand."""
    values: dict[str, Any] = {
        "project_name": "机器视觉尺寸测量系统专利实施许可",
        "contract_type": ContractType.LICENSE_PATENT.value,
        "license_scope": "exclusive",
        "seller_name": deal.seller_org.name,
        "seller_nature": "university",
        "seller_region": "371102",
        "buyer_name": deal.buyer_org.name,
        "buyer_nature": "enterprise_domestic",
        "buyer_region": "371103",
        "amount": Decimal("1234567.89"),
        "non_tech_costs": Decimal("234567.00"),
        "non_tech_breakdown": {"equipment": "200000.00", "materials": "34567.00"},
        "technology_amount": Decimal("1000000.89"),
        "payment_mode": "installments",
        "signed_on": date(2026, 9, 18),
        "valid_from": date(2026, 10, 1),
        "valid_to": date(2029, 9, 30),
        "field_code": "03",
        "ip_type": "invention",
        "objective": "industry",
    }
    if registered:
        values |= {
            "status": ContractStatus.REGISTERED.value,
            "office_code": "371100",
            "registration_number": "2026371100000123",
            "registered_at": utcnow(),
            "submitted_at": utcnow(),
        }
    values.update(fields)
    contract = TechContract(deal_id=deal.id, seller_org_id=deal.seller_org_id, buyer_org_id=deal.buyer_org_id, **values)
    db.session.add(contract)
    db.session.flush()
    db.session.refresh(deal)
    return contract


def add_invoice(deal: Deal, number: str = "KJTB2026999001", **fields: Any) -> Invoice:
    """An invoice row written directly (for the access matrix and document tests)."""
    values: dict[str, Any] = {
        "kind": "commission",
        "payer_org_id": deal.buyer_org_id,
        "payer_name": deal.buyer_org.name,
        "payee_name": "日照市技术转移服务中心",
        "issued_on": local_today(),
        "due_on": local_today() + timedelta(days=30),
        "tax_rate": Decimal("6.000"),
        "subtotal": Decimal("61728.39"),
        "tax": Decimal("3703.70"),
        "total": Decimal("65432.09"),
    }
    values.update(fields)
    invoice = Invoice(number=number, deal_id=deal.id, **values)
    invoice.lines.append(
        InvoiceLine(
            position=1,
            description="技术经纪服务佣金",
            quantity=Decimal("1"),
            unit_price=values["subtotal"],
            amount=values["subtotal"],
        )
    )
    db.session.add(invoice)
    db.session.flush()
    return invoice


def extend_world(users: dict, ids: dict) -> dict:
    owner, enterprise, broker = users["owner"], users["enterprise"], users["broker"]
    deal = deal_between(owner.organization, enterprise.organization, broker)
    contract = add_contract(deal)
    unregistered_deal = deal_between(owner.organization, enterprise.organization, broker, title="尚未登记的项目")
    draft = add_contract(unregistered_deal, registered=False)
    unpaid = add_invoice(deal, "KJTB2026999001")
    paid = add_invoice(deal, "KJTB2026999002", status="paid", paid_on=local_today())
    return {
        "inv_deal": deal.id,
        "inv_contract": contract.id,
        "inv_draft_contract": draft.id,
        "inv_unpaid": unpaid.id,
        "inv_paid": paid.id,
    }


# Who may see the deal: its parties (owner's university, the enterprise), its broker, officials
# and admins. Issuing, voiding and marking paid: its brokers and admins.
VIEW = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: OK, F: OK, D: OK}
ISSUE = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: OK, F: FORBIDDEN, D: OK}
MISSING = {**dict.fromkeys(ROLES, NOT_FOUND), A: LOGIN}

# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = [
    ("deals.invoice_create", "POST", "/deals/{inv_deal}/invoices", ISSUE),
    ("deals.invoice_create", "POST", "/deals/999999/invoices", MISSING),
    ("deals.invoice_void", "POST", "/invoices/{inv_unpaid}/void", ISSUE),
    ("deals.invoice_paid", "POST", "/invoices/{inv_unpaid}/paid", ISSUE),
    ("deals.invoice_pdf", "GET", "/invoices/{inv_unpaid}.pdf", VIEW),
    ("deals.invoice_pdf", "GET", "/invoices/999999.pdf", MISSING),
    ("deals.summary_pdf", "GET", "/deals/{inv_deal}/summary.pdf", VIEW),
    ("deals.certificate_pdf", "GET", "/contracts/{inv_contract}/certificate.pdf", VIEW),
    # Not registered yet: 409 for those who may see the deal (counted as "handled"), 403 otherwise.
    ("deals.certificate_pdf", "GET", "/contracts/{inv_draft_contract}/certificate.pdf", VIEW),
    ("api.deal_invoice_create", "POST", "/api/v1/deals/{inv_deal}/invoices", ISSUE),
    ("api.invoice_detail", "GET", "/api/v1/invoices/{inv_unpaid}", VIEW),
    ("api.invoice_void", "POST", "/api/v1/invoices/{inv_unpaid}/void", ISSUE),
    ("api.invoice_void", "POST", "/api/v1/invoices/999999/void", MISSING),
    ("api.invoice_paid", "POST", "/api/v1/invoices/{inv_paid}/paid", ISSUE),
    ("api.invoice_pdf", "GET", "/api/v1/invoices/{inv_paid}.pdf", VIEW),
    ("api.contract_certificate_pdf", "GET", "/api/v1/contracts/{inv_contract}/certificate.pdf", VIEW),
    ("api.contract_certificate_pdf", "GET", "/api/v1/contracts/999999/certificate.pdf", MISSING),
]
