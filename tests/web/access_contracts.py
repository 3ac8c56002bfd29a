"""Access-matrix rows for the contracts routes of the deals blueprint (and their API endpoints),
and the helpers the contract tests share (make_deal, contract_data, draft/submitted/registered).

`extend_world(users, ids)` creates the objects the rows refer to (users: role -> User, see
test_access_matrix.world) and returns their ids for the URL templates; CASES uses the vocabulary of
access_common. In this world the owner's university sells to the enterprise member's company and
the broker is the deal's lead broker (three deals: with a draft, a submitted and a registered
contract); other_member belongs to an unrelated university."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marketplace.accounts.models import Organization, User
from marketplace.core.timeutil import local_today
from marketplace.deals import contracts
from marketplace.deals.models import Deal, DealBroker, TechContract
from marketplace.extensions import db
from tests.web.access_common import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    ROLES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)


def make_deal(seller: Organization, buyer: Organization, broker: User | None = None, stage: str = "signed") -> Deal:
    """A deal row made directly (the deal room's own rules are tested elsewhere)."""
    deal = Deal(title="机器视觉尺寸测量系统技术转让", seller_org_id=seller.id, buyer_org_id=buyer.id, stage=stage)
    if broker is not None:
        deal.brokers.append(DealBroker(user_id=broker.id, lead=True))
    db.session.add(deal)
    db.session.flush()
    return deal


def contract_data(**overrides: Any) -> dict[str, Any]:
    today = local_today()
    data: dict[str, Any] = {
        "project_name": "基于机器视觉的尺寸测量系统专利权转让",
        "contract_type": "transfer_patent",
        "amount": "1,234,567.89",
        "cost_equipment": "200000.10",
        "cost_instruments": "34567.79",
        "cost_parts": "",
        "cost_materials": "0.01",
        "cost_other": "",
        "payment_mode": "installments",
        "signed_on": (today - timedelta(days=10)).isoformat(),
        "valid_from": (today - timedelta(days=10)).isoformat(),
        "valid_to": (today + timedelta(days=355)).isoformat(),
        "field_code": "03",
        "ip_type": "invention",
        "objective": "industry",
        "expected_investment": "3000000",
        "expected_output": "12000000",
    }
    data.update(overrides)
    return data


def draft(deal: Deal, actor: User, **overrides: Any) -> TechContract:
    contract = contracts.save_draft(deal, actor, contract_data(**overrides))
    db.session.commit()
    return contract


def submitted(deal: Deal, actor: User, **overrides: Any) -> TechContract:
    contract = draft(deal, actor, **overrides)
    contracts.submit(contract, actor)
    db.session.commit()
    return contract


def registered(deal: Deal, actor: User, official: User, **overrides: Any) -> TechContract:
    contract = submitted(deal, actor, **overrides)
    contracts.register(contract, official)
    db.session.commit()
    return contract


def extend_world(users: dict, ids: dict) -> dict:
    owner, enterprise, broker = users["owner"], users["enterprise"], users["broker"]
    seller, buyer = owner.active_org, enterprise.active_org
    draft_contract = draft(make_deal(seller, buyer, broker), broker)
    submitted_contract = submitted(make_deal(seller, buyer, broker), broker)
    registered_contract = registered(make_deal(seller, buyer, broker), broker, users["official"])
    empty_deal = make_deal(seller, buyer, broker)
    db.session.flush()
    return {
        "c_deal": empty_deal.id,
        "c_draft": draft_contract.id,
        "c_draft_deal": draft_contract.deal_id,
        "c_submitted": submitted_contract.id,
        "c_registered": registered_contract.id,
    }


# Who sees a contract: the deal's viewers (both parties, its broker, officials, admins).
VIEWERS = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: OK, F: OK, D: OK}
# Who records and submits it: the seller side, the deal's broker, admins (not the buyer).
EDITORS = {A: LOGIN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: OK, F: FORBIDDEN, D: OK}
# Payments: anyone working on the deal (both parties, its broker, admins); officials read only.
PAYERS = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: OK, F: FORBIDDEN, D: OK}
# Registration, return, amendment, cancellation: the registration office (officials) only; the
# outsider is refused before the role is even considered (the deal is not theirs to see).
OFFICIALS = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: OK, D: FORBIDDEN}
REGISTRY = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: OK, D: FORBIDDEN}
MISSING = {**dict.fromkeys(ROLES, NOT_FOUND), A: LOGIN}

# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = [
    ("deals.contract_form", "GET", "/deals/{c_deal}/contract", EDITORS),
    ("deals.contract_form", "POST", "/deals/{c_draft_deal}/contract", EDITORS),
    ("deals.contract_form", "GET", "/deals/999999/contract", MISSING),
    ("deals.contract_submit", "POST", "/contracts/{c_draft}/submit", EDITORS),
    ("deals.contract_detail", "GET", "/contracts/{c_registered}", VIEWERS),
    ("deals.contract_detail", "GET", "/contracts/999999", MISSING),
    ("deals.registry", "GET", "/registry", REGISTRY),
    ("deals.registry", "GET", "/registry?status=registered&type=transfer&year=2026", REGISTRY),
    ("deals.contract_register", "POST", "/contracts/{c_submitted}/register", OFFICIALS),
    ("deals.contract_return", "POST", "/contracts/{c_submitted}/return", OFFICIALS),
    ("deals.contract_amend", "POST", "/contracts/{c_registered}/amend", OFFICIALS),
    ("deals.contract_cancel", "POST", "/contracts/{c_registered}/cancel", OFFICIALS),
    ("deals.contract_installments", "POST", "/contracts/{c_registered}/installments", EDITORS),
    ("deals.contract_payments", "POST", "/contracts/{c_registered}/payments", PAYERS),
    ("api.deal_contract_save", "POST", "/api/v1/deals/{c_deal}/contract", EDITORS),
    ("api.deal_contract_save", "POST", "/api/v1/deals/999999/contract", MISSING),
    ("api.contract_detail", "GET", "/api/v1/contracts/{c_registered}", VIEWERS),
    ("api.contract_submit", "POST", "/api/v1/contracts/{c_draft}/submit", EDITORS),
    ("api.contract_register", "POST", "/api/v1/contracts/{c_submitted}/register", OFFICIALS),
    ("api.contract_return", "POST", "/api/v1/contracts/{c_submitted}/return", OFFICIALS),
    ("api.contract_payment", "POST", "/api/v1/contracts/{c_registered}/payments", PAYERS),
]
