"""Technology contracts (技术合同) of deals: drafting, submission, registration (认定登记) with
gap-free registration numbers, return, amendment (变更) and cancellation (注销); installment
plans and payments.

Rules live here; the web views and the API call these functions and commit once. Every function
flushes and leaves the commit (or the rollback after a refusal) to its caller.

Statistics (技术合同成交额 by period, district, field and type — a later issue) read registered,
non-cancelled contracts (status == "registered") and their *current* values: amount (成交额) and
technology_amount (技术交易额) as last amended. An amendment changes the contract row and keeps
the old values in ContractAmendment.changes; a cancelled contract (status "cancelled") keeps its
registration number and drops out of the totals.

Registration numbers: CONTRACT_NUMBER_FORMAT (default "{year}{office}{seq:06d}") with the
registration year in Asia/Shanghai, REGISTRATION_OFFICE_CODE (default "371100") and a counter
per (office, year) in NumberSequence, locked with SELECT … FOR UPDATE and incremented in the
registering transaction: concurrent registrations wait for each other, and a rolled-back
registration rolls its increment back too, so numbers are never reused and have no gaps."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from .. import search
from ..accounts.models import User
from ..alerts import services as alerts
from ..core import audit
from ..core.errors import Conflict, PermissionDenied, ValidationFailed
from ..core.faultpoints import pause_point
from ..core.money import format_yuan
from ..core.taxonomy import ContractStatus, ContractType, DealStage, PaymentMode, Role
from ..core.timeutil import local_today, to_local, utcnow
from ..extensions import db
from . import contract_validation as rules
from . import policy
from . import services as deal_services
from .models import ContractAmendment, Deal, Installment, NumberSequence, Payment, TechContract

S = ContractStatus
EDITABLE = (S.DRAFT.value, S.RETURNED.value)
SEQUENCE_NAME = "contract_registration"
DEFAULT_OFFICE = "371100"
DEFAULT_NUMBER_FORMAT = "{year}{office}{seq:06d}"
ZERO = Decimal("0.00")
# Payment modes where the total paid may not exceed 成交额 (royalties may run past the estimate).
CAPPED_MODES = (PaymentMode.LUMP_SUM.value, PaymentMode.INSTALLMENTS.value)


# ---------------------------------------------------------------------------------------------
# The deal timeline (deals.services, written by the deals engineer)


def _timeline(deal: Deal | None, kind: str, author: Any, body: str) -> None:
    if deal is not None:
        deal_services.record_event(deal, kind, author, body)


def _advance_deal(deal: Deal | None, targets: tuple[str, ...], actor: Any) -> None:
    """Move the deal forward one step at a time through `targets`, from where it stands."""
    if deal is None:
        return
    order = [stage.value for stage in DealStage]
    for target in targets:
        if deal.stage in order and order.index(deal.stage) + 1 == order.index(target):
            deal_services.change_stage(deal, target, actor, system=True)


# ---------------------------------------------------------------------------------------------
# Reading


def contract_of(deal: Deal) -> TechContract | None:
    return db.session.scalar(select(TechContract).where(TechContract.deal_id == deal.id))


def form_values(contract: TechContract) -> dict[str, Any]:
    """The raw field values of a stored contract, as the form and validation take them."""
    values: dict[str, Any] = {
        name: getattr(contract, name)
        for name in rules.CONTRACT_FIELDS
        if not name.startswith("cost_") and hasattr(contract, name)
    }
    for key in ("amount", "expected_investment", "expected_output"):
        values[key] = f"{values[key]:.2f}" if values.get(key) is not None else ""
    for key in ("signed_on", "valid_from", "valid_to"):
        values[key] = values[key].isoformat() if values.get(key) else ""
    breakdown = contract.non_tech_breakdown or {}
    for part in rules.NON_TECH_PARTS:
        values[f"cost_{part}"] = breakdown.get(part, "")
    return {k: ("" if v is None else v) for k, v in values.items()}


def new_values(deal: Deal) -> dict[str, Any]:
    """What the form of a new contract starts with: the parties from the deal's organisations."""
    seller, buyer = rules.party_defaults(deal.seller_org), rules.party_defaults(deal.buyer_org)
    values = dict.fromkeys(rules.CONTRACT_FIELDS, "")
    values.update(
        project_name=deal.title,
        seller_name=seller["name"],
        seller_nature=seller["nature"],
        seller_region=seller["region"],
        buyer_name=buyer["name"],
        buyer_nature=buyer["nature"],
        buyer_region=buyer["region"],
        amount=f"{deal.expected_value:.2f}" if deal.expected_value else "",
        payment_mode=PaymentMode.LUMP_SUM.value,
    )
    return values


def payment_status(contract: TechContract, today: date | None = None) -> dict[str, Any]:
    """paid (payments net of refunds), outstanding (成交额 − paid, never below 0), overdue (the
    installments due before `today` — Asia/Shanghai — not covered by what was paid, never below
    0), next_due (the first installment not fully covered, or None) and its uncovered rest."""
    today = today or local_today()
    paid = sum((p.amount for p in contract.payments), ZERO)
    due_before_today = sum((i.amount for i in contract.installments if i.due_on < today), ZERO)
    next_due, next_due_rest, covered = None, ZERO, paid
    for installment in contract.installments:
        if covered >= installment.amount:
            covered -= installment.amount
            continue
        next_due, next_due_rest = installment, installment.amount - max(covered, ZERO)
        break
    return {
        "paid": paid,
        "outstanding": max(contract.amount - paid, ZERO),
        "overdue": max(due_before_today - paid, ZERO),
        "planned": sum((i.amount for i in contract.installments), ZERO),
        "next_due": next_due,
        "next_due_rest": next_due_rest,
    }


# ---------------------------------------------------------------------------------------------
# Drafting and submission


def _deal_of(contract: TechContract) -> Deal:
    if contract.deal is None:  # contracts are always recorded in a deal room
        raise Conflict("该合同不属于任何项目")
    return contract.deal


def _apply(contract: TechContract, clean: dict[str, Any]) -> None:
    for name, value in clean.items():
        setattr(contract, name, value)


def save_draft(deal: Deal, actor: Any, data: dict[str, Any]) -> TechContract:
    """Create or update the deal's contract while it is a draft or returned. Fields missing from
    `data` keep their stored (or prefilled) value, so the API may send only what changes."""
    if not policy.can_edit_contract(actor, deal):
        raise PermissionDenied("只有项目的技术经纪人、卖方成员或管理员可以录入合同")
    contract = contract_of(deal)
    if contract is not None and contract.status not in EDITABLE:
        if contract.status == S.REGISTERED.value:
            raise Conflict(f"合同已登记（登记号 {contract.registration_number}），不能直接修改；如需更改请办理变更登记")
        raise Conflict(f"合同当前状态为“{contract.status_label}”，不能修改")
    if contract is None and not deal.is_open:
        raise Conflict("项目已完成或已终止，不能再录入合同")
    values = form_values(contract) if contract is not None else new_values(deal)
    values.update({k: v for k, v in data.items() if k in rules.CONTRACT_FIELDS})
    clean = rules.validate_contract(values)
    created = contract is None
    if created:
        contract = TechContract(
            deal=deal,
            seller_org_id=deal.seller_org_id,
            buyer_org_id=deal.buyer_org_id,
            created_by_id=getattr(actor, "id", None),
            status=S.DRAFT.value,
        )
        db.session.add(contract)
    before = None if created else {k: _text_of(getattr(contract, k)) for k in clean}
    _apply(contract, clean)
    db.session.flush()
    changed = {k: [before[k], _text_of(v)] for k, v in clean.items() if before is not None and before[k] != _text_of(v)}
    audit.record(
        actor,
        "create" if created else "update",
        contract,
        to_state=contract.status,
        details={"changes": changed} if changed else None,
    )
    verb = "录入" if created else "修改"
    _timeline(
        deal,
        "contract",
        actor,
        f"{verb}技术合同草稿《{contract.project_name}》：成交额 {format_yuan(contract.amount)}，"
        f"技术交易额 {format_yuan(contract.technology_amount)}",
    )
    return contract


def submit(contract: TechContract, actor: Any) -> TechContract:
    """Seller side or the deal's broker submits the contract for registration (卖方登记)."""
    deal = _deal_of(contract)
    if not policy.can_submit_contract(actor, deal):
        raise PermissionDenied("只有卖方成员或项目的技术经纪人可以提交登记")
    if contract.status not in EDITABLE:
        raise Conflict(f"合同当前状态为“{contract.status_label}”，不能提交登记")
    missing = rules.missing_for_submit({k: getattr(contract, k) for k in rules.REQUIRED_FOR_SUBMIT})
    if missing:
        raise ValidationFailed(missing, message="合同信息不完整，请补全后再提交登记")
    previous = contract.status
    contract.status = S.SUBMITTED.value
    contract.submitted_at = utcnow()
    contract.submitted_by_id = getattr(actor, "id", None)
    db.session.flush()
    audit.record(actor, "submit", contract, from_state=previous, to_state=contract.status)
    _timeline(deal, "contract", actor, f"提交技术合同认定登记：《{contract.project_name}》")
    _advance_deal(deal, (DealStage.REGISTRATION.value,), actor)
    officials = db.session.scalars(select(User).where(User.role == Role.OFFICIAL.value, User.is_disabled.is_(False)))
    alerts.notify(
        officials,
        f"技术合同待登记：{contract.project_name}",
        f"{contract.seller_name} 提交了技术合同认定登记，成交额 {format_yuan(contract.amount)}。",
        f"/contracts/{contract.id}",
    )
    return contract


# ---------------------------------------------------------------------------------------------
# Registration (认定登记)


def office_code() -> str:
    return str(current_app.config.get("REGISTRATION_OFFICE_CODE", DEFAULT_OFFICE))


def number_format() -> str:
    return str(current_app.config.get("CONTRACT_NUMBER_FORMAT", DEFAULT_NUMBER_FORMAT))


def format_number(year: int, office: str, seq: int) -> str:
    return number_format().format(year=year, office=office, seq=seq)


def take_number(name: str, scope: str, year: int) -> int:
    """The next value of the (name, scope, year) counter, locked until the transaction ends.

    SELECT … FOR UPDATE makes concurrent callers wait for each other (PostgreSQL); the increment
    is part of the caller's transaction, so a rollback returns the number. The first use inserts the row
    in a savepoint; when a concurrent transaction inserted it first, the unique constraint
    fails, the savepoint rolls back and the row is selected (and locked) again."""
    stmt = (
        select(NumberSequence)
        .where(NumberSequence.name == name, NumberSequence.scope == scope, NumberSequence.year == year)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    sequence = db.session.scalars(stmt).first()
    if sequence is None:
        try:
            with db.session.begin_nested():
                sequence = NumberSequence(name=name, scope=scope, year=year, last_value=0)
                db.session.add(sequence)
        except IntegrityError:
            sequence = db.session.scalars(stmt).one()
    # The increment is one UPDATE … SET last_value = last_value + 1: atomic on its own, so even
    # SQLite (which ignores FOR UPDATE) cannot hand out one value twice.
    db.session.execute(
        update(NumberSequence)
        .where(NumberSequence.id == sequence.id)
        .values(last_value=NumberSequence.last_value + 1)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(sequence, ["last_value"])
    return db.session.scalar(select(NumberSequence.last_value).where(NumberSequence.id == sequence.id))


def _require_official(user: Any) -> None:
    if not policy.can_register_contracts(user):
        raise PermissionDenied("只有技术合同登记机构的科技管理人员可以办理登记")


def _lock(contract: TechContract) -> TechContract:
    """Re-read the contract row under a row lock, so two officials cannot register it twice."""
    stmt = (
        select(TechContract)
        .where(TechContract.id == contract.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return db.session.scalars(stmt).one()


def register(contract: TechContract, official: Any) -> TechContract:
    _require_official(official)
    contract = _lock(contract)
    if contract.status == S.REGISTERED.value:
        raise Conflict(f"该合同已登记，登记号 {contract.registration_number}")
    if contract.status != S.SUBMITTED.value:
        raise Conflict(f"合同当前状态为“{contract.status_label}”，只有待登记的合同可以登记")
    now = utcnow()
    year = to_local(now).year
    office = office_code()
    number = format_number(year, office, take_number(SEQUENCE_NAME, office, year))
    contract.status = S.REGISTERED.value
    contract.registration_number = number
    contract.office_code = office
    contract.registered_at = now
    contract.registered_by_id = getattr(official, "id", None)
    contract.return_reason = None
    db.session.flush()
    search.enqueue(contract)  # the pricing guidance's comparables (never the public search)
    audit.record(
        official,
        "register",
        contract,
        from_state=S.SUBMITTED.value,
        to_state=contract.status,
        details={"registration_number": number, "technology_amount": f"{contract.technology_amount:.2f}"},
    )
    deal = contract.deal
    _timeline(
        deal,
        "contract",
        official,
        f"技术合同已登记，登记号 {number}，核定技术交易额 {format_yuan(contract.technology_amount)}",
    )
    _advance_deal(deal, (DealStage.REGISTRATION.value, DealStage.PERFORMANCE.value), official)
    _notify_parties(contract, f"技术合同已登记：{contract.project_name}", f"登记号 {number}。")
    pause_point("contract.register.before_commit")  # tests only: see core.faultpoints
    return contract


def return_contract(contract: TechContract, official: Any, reason: str | None) -> TechContract:
    _require_official(official)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "请填写退回原因，告诉申请方需要补正的内容"})
    contract = _lock(contract)
    if contract.status != S.SUBMITTED.value:
        raise Conflict(f"合同当前状态为“{contract.status_label}”，只有待登记的合同可以退回")
    contract.status = S.RETURNED.value
    contract.return_reason = reason
    db.session.flush()
    audit.record(official, "return", contract, from_state=S.SUBMITTED.value, to_state=contract.status, reason=reason)
    _timeline(contract.deal, "contract", official, f"技术合同被登记机构退回：{reason}")
    _notify_parties(contract, f"技术合同被退回：{contract.project_name}", f"退回原因：{reason}")
    return contract


def _notify_parties(contract: TechContract, title: str, body: str) -> None:
    users = [contract.deal.created_by] if contract.deal and contract.deal.created_by else []
    if contract.submitted_by_id:
        users.append(db.session.get(User, contract.submitted_by_id))
    if contract.deal:
        users += [b.user for b in contract.deal.brokers]
    alerts.notify(users, title, body, f"/contracts/{contract.id}")


# ---------------------------------------------------------------------------------------------
# Amendment (变更) and cancellation (注销) of registered contracts


def _text_of(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return "；".join(f"{rules.NON_TECH_PARTS.get(k, k)} {v}" for k, v in sorted(value.items()))
    return str(value)


def amend(contract: TechContract, actor: Any, changes: dict[str, Any], reason: str | None) -> ContractAmendment:
    """Record a change (变更) of a registered contract: the allowed fields change on the row,
    technology_amount is recomputed, and the amendment keeps {field: [before, after]}."""
    _require_official(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "请填写变更原因"})
    contract = _lock(contract)
    if contract.status != S.REGISTERED.value:
        raise Conflict(f"合同当前状态为“{contract.status_label}”，只有已登记的合同可以办理变更")
    refused = sorted(set(changes) - set(rules.AMENDABLE_FIELDS))
    if refused:
        raise ValidationFailed(
            {name: f"{rules.FIELD_LABELS.get(name, name)}不能通过变更修改" for name in refused},
            message="合同类型和双方当事人不能变更；如需更改请注销后重新登记",
        )
    values = form_values(contract)
    values.update(changes)
    clean = rules.validate_contract(values, today=max(local_today(), contract.signed_on))
    planned = sum((i.amount for i in contract.installments), ZERO)
    if planned > clean["amount"]:
        raise ValidationFailed({"amount": f"分期计划合计 {planned:.2f} 元超过变更后的成交额，请先调整分期计划"})
    diff = {
        name: [_text_of(getattr(contract, name)), _text_of(value)]
        for name, value in clean.items()
        if _text_of(getattr(contract, name)) != _text_of(value)
    }
    if not diff:
        raise ValidationFailed({"changes": "没有需要变更的内容"}, message="变更内容与原合同相同")
    _apply(contract, clean)
    amendment = ContractAmendment(contract=contract, kind="amend", changes=diff, reason=reason, by_id=actor.id)
    db.session.add(amendment)
    db.session.flush()
    search.enqueue(contract)
    audit.record(
        actor,
        "amend",
        contract,
        from_state=contract.status,
        to_state=contract.status,
        reason=reason,
        details={"changes": diff},
    )
    labels = "、".join(rules.FIELD_LABELS.get(name, name) for name in diff)
    _timeline(contract.deal, "contract", actor, f"技术合同变更登记（{labels}）：{reason}")
    return amendment


def cancel(contract: TechContract, official: Any, reason: str | None) -> ContractAmendment:
    """注销: the contract keeps its number, leaves the statistics and can no longer change."""
    _require_official(official)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed({"reason": "请填写注销原因"})
    contract = _lock(contract)
    if contract.status != S.REGISTERED.value:
        raise Conflict(f"合同当前状态为“{contract.status_label}”，只有已登记的合同可以注销")
    contract.status = S.CANCELLED.value
    contract.cancelled_at = utcnow()
    contract.cancel_reason = reason
    amendment = ContractAmendment(
        contract=contract,
        kind="cancel",
        changes={"status": [S.REGISTERED.value, S.CANCELLED.value]},
        reason=reason,
        by_id=official.id,
    )
    db.session.add(amendment)
    db.session.flush()
    search.enqueue(contract)  # a cancelled contract leaves the index
    audit.record(official, "cancel", contract, from_state=S.REGISTERED.value, to_state=contract.status, reason=reason)
    _timeline(contract.deal, "contract", official, f"技术合同已注销（登记号 {contract.registration_number}）：{reason}")
    return amendment


# ---------------------------------------------------------------------------------------------
# Installments and payments


def set_installments(contract: TechContract, actor: Any, rows: list[dict[str, Any]]) -> list[Installment]:
    """Replace the installment plan. Each row: due_on, amount > 0, note; the plan's total may not
    exceed 成交额."""
    deal = _deal_of(contract)
    if not policy.can_edit_contract(actor, deal):
        raise PermissionDenied("只有项目的技术经纪人、卖方成员或管理员可以制定分期计划")
    if contract.status == S.CANCELLED.value:
        raise Conflict("合同已注销，不能修改分期计划")
    clean = rules.parse_installment_rows(rows)
    total = sum((row["amount"] for row in clean), ZERO)
    if total > contract.amount:
        raise ValidationFailed(
            {"installments": f"分期计划合计 {total:.2f} 元超过成交额 {contract.amount:.2f} 元"},
            message="分期计划合计不能超过成交额",
        )
    before = [f"{i.due_on.isoformat()} {i.amount:.2f}" for i in contract.installments]
    contract.installments = [Installment(due_on=r["due_on"], amount=r["amount"], note=r["note"]) for r in clean]
    db.session.flush()
    after = [f"{i.due_on.isoformat()} {i.amount:.2f}" for i in contract.installments]
    audit.record(actor, "installments", contract, details={"before": before, "after": after})
    _timeline(deal, "payment", actor, f"更新分期付款计划：共 {len(clean)} 期，合计 {format_yuan(total)}")
    return contract.installments


def record_payment(
    contract: TechContract,
    actor: Any,
    paid_on: object,
    amount: object,
    reference: str | None = None,
    reason: str | None = None,
) -> Payment:
    """A payment (amount > 0) or a refund (amount < 0, with a reason, at most what was paid).
    Payments are never deleted: a mistake is corrected by a refund entry."""
    deal = _deal_of(contract)
    if not policy.can_record_payment(actor, deal):
        raise PermissionDenied("只有项目双方、负责的技术经纪人或管理员可以登记付款")
    if contract.status == S.DRAFT.value:
        raise Conflict("合同仍是草稿，请先提交登记再记录付款")
    errors: dict[str, str] = {}
    value: Decimal | None = None
    day: date | None = None
    try:
        value = rules.parse_signed_amount(amount)
    except ValueError as exc:
        errors["amount"] = str(exc)
    try:
        day = rules.parse_date(paid_on, "付款日期", required=True)
        if day and day > local_today():
            errors["paid_on"] = "付款日期不能晚于今天"
    except ValueError as exc:
        errors["paid_on"] = str(exc)
    reference = (reference or "").strip() or None
    reason = (reason or "").strip() or None
    if reference and len(reference) > 100:
        errors["reference"] = "凭证号不能超过 100 个字"
    paid = sum((p.amount for p in contract.payments), ZERO)
    if value is not None and value < 0:
        if not reason:
            errors["reason"] = "退款须填写原因"
        if -value > paid:
            errors["amount"] = f"退款金额不能超过已付金额 {paid:.2f} 元"
    elif value is not None and contract.payment_mode in CAPPED_MODES and paid + value > contract.amount:
        errors["amount"] = f"付款合计将超过成交额：已付 {paid:.2f} 元，尚欠 {contract.amount - paid:.2f} 元"
    if errors:
        raise ValidationFailed(errors)
    assert value is not None and day is not None
    payment = Payment(
        contract=contract, paid_on=day, amount=value, reference=reference, reason=reason, recorded_by_id=actor.id
    )
    db.session.add(payment)
    db.session.flush()
    kind = "refund" if value < 0 else "payment"
    audit.record(
        actor,
        kind,
        contract,
        reason=reason,
        details={"payment_id": payment.id, "amount": f"{value:.2f}", "paid_on": day.isoformat()},
    )
    what = f"退款 {format_yuan(-value)}（{reason}）" if value < 0 else f"收到付款 {format_yuan(value)}"
    _timeline(deal, "payment", actor, f"{day.isoformat()} {what}" + (f"，凭证号 {reference}" if reference else ""))
    return payment


def contract_type_label(contract: TechContract) -> str:
    member = ContractType.parse(contract.contract_type)
    return f"{member.group_label}（{member.label}）" if member else contract.contract_type
