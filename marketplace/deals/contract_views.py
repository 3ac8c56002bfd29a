"""Contract pages of the deals blueprint: the contract form of a deal (技术合同登记表), the contract
page with registration, amendment, cancellation, installments and payments, and the
registration office's queue (/registry). Views parse the request, call `contracts`, commit once.

The deal page (views.py) includes deals/_contract.html and deals/_payments.html with only `deal`;
`contract_panel(deal)` below (a context processor of this blueprint) gives them the rest."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, or_, select

from ..core.errors import NotFound, PermissionDenied, ServiceError, ValidationFailed
from ..core.guards import roles_required
from ..core.money import capital_amount
from ..core.taxonomy import (
    CONTRACT_GROUPS,
    ContractStatus,
    ContractType,
    IPType,
    LicenseScope,
    PartyNature,
    PaymentMode,
    Role,
    SocioEconomicObjective,
)
from ..core.timeutil import LOCAL_TZ, local_today, to_local
from ..extensions import db
from ..listings.services import paginate
from . import contract_validation as rules
from . import contracts, policy
from .blueprint import bp
from .models import Deal, TechContract

S = ContractStatus
REGISTRY_TABS = {
    S.SUBMITTED.value: "待登记",
    S.REGISTERED.value: "已登记",
    S.RETURNED.value: "已退回",
    S.CANCELLED.value: "已注销",
}
TYPE_GROUPS = {
    "dev": "技术开发",
    "transfer": "技术转让",
    "license": "技术许可",
    "consulting": "技术咨询",
    "service": "技术服务",
}
STATUS_COLORS = {
    S.DRAFT.value: "secondary",
    S.SUBMITTED.value: "warning text-dark",
    S.RETURNED.value: "danger",
    S.REGISTERED.value: "success",
    S.CANCELLED.value: "dark",
}


def _message_of(exc: ServiceError) -> str:
    if isinstance(exc, ValidationFailed) and exc.fields:
        return "；".join(exc.fields.values())
    return exc.message


def _next_url(default: str) -> str:
    target = request.form.get("next") or ""
    return target if target.startswith("/") and not target.startswith("//") else default


def _refused(exc: ServiceError, contract: TechContract):
    """A refusal because of the contract's state: nothing changed; say why on its page."""
    db.session.rollback()
    flash(_message_of(exc), "danger")
    return redirect(url_for(".contract_detail", contract_id=contract.id))


def load_contract(contract_id: int, user: Any) -> TechContract:
    """The contract, or 404; 403 unless the caller may see its deal."""
    contract = db.session.get(TechContract, contract_id)
    if contract is None or contract.deal_id is None:
        raise NotFound("合同不存在")
    policy.load_deal(contract.deal_id, user)
    return contract


# ---------------------------------------------------------------------------------------------
# What the partials and pages need


def choices() -> dict[str, Any]:
    taxonomy = current_app.extensions["taxonomy"]
    grouped: dict[str, list[tuple[str, str]]] = {}
    for member in ContractType:
        grouped.setdefault(member.group_label, []).append((member.value, member.label))
    return {
        "contract_types": grouped,
        "license_scopes": LicenseScope.choices(),
        "natures": PartyNature.choices(),
        "payment_modes": PaymentMode.choices(),
        "fields": [(f.code, f"{f.code} {f.name}") for f in taxonomy.top_fields()],
        "ip_types": IPType.choices(),
        "objectives": SocioEconomicObjective.choices(),
        "transfer_types": [m.value for m in ContractType if m.is_transfer],
        "license_types": [m.value for m in ContractType if m.is_license],
    }


def contract_panel(deal: Deal) -> dict[str, Any]:
    """Everything deals/_contract.html and deals/_payments.html show for the current viewer."""
    user = current_user._get_current_object()
    contract = contracts.contract_of(deal)
    status = contracts.payment_status(contract) if contract is not None else None
    editable = contract is None or contract.status in contracts.EDITABLE
    return {
        "contract": contract,
        "scope_label": LicenseScope.label_of(contract.license_scope) if contract and contract.license_scope else "",
        "schedule": schedule(contract, status["paid"]) if contract and status else [],
        "type_label": contracts.contract_type_label(contract) if contract else "",
        "status_color": STATUS_COLORS.get(contract.status, "secondary") if contract else "",
        "can_edit": editable and deal.is_open and policy.can_edit_contract(user, deal),
        "can_submit": contract is not None and editable and policy.can_submit_contract(user, deal),
        "can_register": contract is not None and policy.can_register_contracts(user),
        "can_plan": contract is not None
        and contract.status != S.CANCELLED.value
        and policy.can_edit_contract(user, deal),
        "can_pay": contract is not None and contract.status != S.DRAFT.value and policy.can_record_payment(user, deal),
        "payments": status,
        "today": local_today(),
        "breakdown": [
            (label, (contract.non_tech_breakdown or {}).get(part)) for part, label in rules.NON_TECH_PARTS.items()
        ]
        if contract
        else [],
    }


def schedule(contract: TechContract, paid) -> list[dict[str, Any]]:
    """Each installment with how much of it the payments cover (in due order) and its state:
    paid 已付清 / partial 部分支付 / overdue 逾期 / due 未到期."""
    today, rest, rows = local_today(), paid, []
    for installment in contract.installments:
        covered = min(max(rest, 0), installment.amount)
        rest -= covered
        if covered >= installment.amount:
            state = "paid"
        elif installment.due_on < today:
            state = "overdue"
        else:
            state = "partial" if covered > 0 else "due"
        rows.append({"installment": installment, "covered": covered, "state": state})
    return rows


@bp.context_processor
def contract_helpers() -> dict[str, Any]:
    return {"contract_panel": contract_panel, "capital_amount": capital_amount, "field_labels": rules.FIELD_LABELS}


def _render_form(deal: Deal, contract: TechContract | None, values: dict, errors: dict, status: int = 200):
    return (
        render_template(
            "deals/contract_form.html",
            deal=deal,
            contract=contract,
            values=values,
            errors=errors,
            choices=choices(),
            parts=rules.NON_TECH_PARTS,
        ),
        status,
    )


def _render_detail(contract: TechContract, status: int = 200, **extra: Any):
    user = current_user._get_current_object()
    deal = contract.deal
    return (
        render_template(
            "deals/contract_detail.html",
            contract=contract,
            deal=deal,
            can_amend=policy.can_register_contracts(user) and contract.status == S.REGISTERED.value,
            amend_values=extra.pop("amend_values", None) or contracts.form_values(contract),
            choices=choices(),
            parts=rules.NON_TECH_PARTS,
            contract_type_label=contracts.contract_type_label(contract),
            scope_label=LicenseScope.label_of(contract.license_scope) if contract.license_scope else "",
            natures=dict(PartyNature.choices()),
            payment_modes=dict(PaymentMode.choices()),
            ip_types=dict(IPType.choices()),
            objectives=dict(SocioEconomicObjective.choices()),
            **{"errors": {}, **extra},
        ),
        status,
    )


# ---------------------------------------------------------------------------------------------
# The contract form of a deal


def _shown(deal: Deal, data: dict[str, Any]) -> dict[str, Any]:
    """The form as the user sent it, over what is stored (or prefilled) for fields not sent."""
    contract = contracts.contract_of(deal)
    return {**(contracts.form_values(contract) if contract else contracts.new_values(deal)), **data}


@bp.route("/deals/<int:deal_id>/contract", methods=["GET", "POST"])
@login_required
def contract_form(deal_id: int):
    user = current_user._get_current_object()
    deal = policy.load_deal(deal_id, user)
    if not policy.can_edit_contract(user, deal):
        raise PermissionDenied("只有项目的技术经纪人、卖方成员或管理员可以录入合同")
    contract = contracts.contract_of(deal)
    if contract is not None and contract.status not in contracts.EDITABLE:
        flash(f"合同当前状态为“{contract.status_label}”，不能再修改", "warning")
        return redirect(url_for(".contract_detail", contract_id=contract.id))
    if request.method == "GET":
        values = contracts.form_values(contract) if contract else contracts.new_values(deal)
        return _render_form(deal, contract, values, {})
    data = {name: request.form[name] for name in rules.CONTRACT_FIELDS if name in request.form}
    try:
        contract = contracts.save_draft(deal, user, data)
        if request.form.get("intent") == "submit":
            contracts.submit(contract, user)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_form(deal, contracts.contract_of(deal), _shown(deal, data), exc.fields, 422)
    except PermissionDenied:
        raise
    except ServiceError as exc:
        db.session.rollback()
        flash(_message_of(exc), "danger")
        return _render_form(deal, contracts.contract_of(deal), _shown(deal, data), {}, exc.status)
    db.session.commit()
    if contract.status == S.SUBMITTED.value:
        flash("合同已保存并提交登记机构，登记后将生成合同登记号", "success")
    else:
        flash("合同草稿已保存。信息完整后请提交登记", "success")
    return redirect(url_for(".contract_detail", contract_id=contract.id))


@bp.post("/contracts/<int:contract_id>/submit")
@login_required
def contract_submit(contract_id: int):
    user = current_user._get_current_object()
    contract = load_contract(contract_id, user)
    try:
        contracts.submit(contract, user)
    except ValidationFailed as exc:
        db.session.rollback()
        values = contracts.form_values(contract)
        return _render_form(contract.deal, contract, values, exc.fields, 422)
    except PermissionDenied:
        raise
    except ServiceError as exc:
        return _refused(exc, contract)
    db.session.commit()
    flash("已提交登记机构审核，登记后将生成合同登记号", "success")
    return redirect(_next_url(url_for(".contract_detail", contract_id=contract.id)))


# ---------------------------------------------------------------------------------------------
# The contract page and the registration office's actions


@bp.get("/contracts/<int:contract_id>")
@login_required
def contract_detail(contract_id: int):
    return _render_detail(load_contract(contract_id, current_user._get_current_object()))


def _official_action(contract_id: int, act, done: str, **rerender: Any):
    user = current_user._get_current_object()
    contract = load_contract(contract_id, user)
    if not policy.can_register_contracts(user):
        raise PermissionDenied("只有技术合同登记机构的科技管理人员可以办理登记")
    try:
        act(contract, user)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_detail(contract, 422, errors=exc.fields, **rerender)
    except ServiceError as exc:
        return _refused(exc, contract)
    db.session.commit()
    flash(done.format(contract=contract), "success")
    return redirect(_next_url(url_for(".contract_detail", contract_id=contract.id)))


@bp.post("/contracts/<int:contract_id>/register")
@login_required
def contract_register(contract_id: int):
    return _official_action(contract_id, contracts.register, "合同已登记，登记号 {contract.registration_number}")


@bp.post("/contracts/<int:contract_id>/return")
@login_required
def contract_return(contract_id: int):
    reason = request.form.get("reason", "")
    return _official_action(
        contract_id,
        lambda contract, user: contracts.return_contract(contract, user, reason),
        "合同已退回申请方，退回原因已通知",
        return_reason_value=reason,
    )


@bp.post("/contracts/<int:contract_id>/amend")
@login_required
def contract_amend(contract_id: int):
    reason = request.form.get("reason", "")
    changes = {name: request.form[name] for name in rules.AMENDABLE_FIELDS if name in request.form}
    user = current_user._get_current_object()
    contract = load_contract(contract_id, user)
    amend_values = {**contracts.form_values(contract), **changes, "reason": reason}
    return _official_action(
        contract_id,
        lambda contract, user: contracts.amend(contract, user, changes, reason),
        "变更已登记，技术交易额已按变更后的金额重新核定",
        amend_values=amend_values,
        open_form="amend",
    )


@bp.post("/contracts/<int:contract_id>/cancel")
@login_required
def contract_cancel(contract_id: int):
    reason = request.form.get("reason", "")
    return _official_action(
        contract_id,
        lambda contract, user: contracts.cancel(contract, user, reason),
        "合同已注销，不再计入技术合同成交额统计",
        cancel_reason_value=reason,
        open_form="cancel",
    )


# ---------------------------------------------------------------------------------------------
# Installments and payments


@bp.post("/contracts/<int:contract_id>/installments")
@login_required
def contract_installments(contract_id: int):
    user = current_user._get_current_object()
    contract = load_contract(contract_id, user)
    form = request.form
    rows = [
        {"due_on": due, "amount": amount, "note": note}
        for due, amount, note in zip(form.getlist("due_on"), form.getlist("amount"), form.getlist("note"), strict=False)
    ]
    try:
        contracts.set_installments(contract, user, rows)
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_detail(contract, 422, plan_errors=exc.fields, plan_rows=rows)
    except PermissionDenied:
        raise
    except ServiceError as exc:
        return _refused(exc, contract)
    db.session.commit()
    flash("分期付款计划已保存", "success")
    return redirect(_next_url(url_for(".contract_detail", contract_id=contract.id) + "#payments"))


@bp.post("/contracts/<int:contract_id>/payments")
@login_required
def contract_payments(contract_id: int):
    user = current_user._get_current_object()
    contract = load_contract(contract_id, user)
    form = request.form
    amount = form.get("amount", "").strip()
    refund = form.get("kind") == "refund"
    if refund and amount and not amount.startswith(("-", "−")):
        amount = f"-{amount}"
    try:
        contracts.record_payment(contract, user, form.get("paid_on"), amount, form.get("reference"), form.get("reason"))
    except ValidationFailed as exc:
        db.session.rollback()
        return _render_detail(contract, 422, payment_errors=exc.fields, payment_values=dict(form))
    except PermissionDenied:
        raise
    except ServiceError as exc:
        return _refused(exc, contract)
    db.session.commit()
    flash("退款已记录" if refund else "付款已记录", "success")
    return redirect(_next_url(url_for(".contract_detail", contract_id=contract.id) + "#payments"))


# ---------------------------------------------------------------------------------------------
# The registration office's queue


def _year_bounds(year: int) -> tuple[datetime, datetime]:
    """[1 Jan, 1 Jan next year) of a Beijing-time year, as naive UTC."""
    start = datetime(year, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)
    end = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)
    return start, end


@bp.get("/registry")
@roles_required(Role.OFFICIAL, message="只有技术合同登记机构的科技管理人员可以访问登记工作台")
def registry():
    tab = request.args.get("status", S.SUBMITTED.value)
    tab = tab if tab in REGISTRY_TABS else S.SUBMITTED.value
    group = request.args.get("type", "")
    group = group if group in TYPE_GROUPS else ""
    year_raw = request.args.get("year", "").strip()
    year = int(year_raw) if year_raw.isascii() and year_raw.isdigit() and 2000 <= int(year_raw) <= 2100 else None
    q = request.args.get("q", "").strip()[:100]

    stmt = select(TechContract).where(TechContract.status == tab, TechContract.deal_id.is_not(None))
    if group:
        codes = [m.value for m in ContractType if CONTRACT_GROUPS[m.group] == TYPE_GROUPS[group]]
        stmt = stmt.where(TechContract.contract_type.in_(codes))
    date_column = (
        TechContract.registered_at if tab in (S.REGISTERED.value, S.CANCELLED.value) else TechContract.submitted_at
    )
    if year:
        start, end = _year_bounds(year)
        stmt = stmt.where(date_column >= start, date_column < end)
    if q:
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                TechContract.project_name.ilike(like),
                TechContract.seller_name.ilike(like),
                TechContract.buyer_name.ilike(like),
                TechContract.registration_number.ilike(like),
            )
        )
    if tab == S.SUBMITTED.value:
        stmt = stmt.order_by(TechContract.submitted_at, TechContract.id)  # oldest first: a queue
    else:
        stmt = stmt.order_by(date_column.desc(), TechContract.id.desc())
    page = paginate(stmt, request.args.get("page", 1, type=int))
    counts = dict(
        db.session.execute(
            select(TechContract.status, func.count())
            .where(TechContract.deal_id.is_not(None))
            .group_by(TechContract.status)
        ).all()
    )
    args = {k: v for k, v in {"status": tab, "type": group, "year": year or "", "q": q}.items() if v}
    this_year = local_today().year
    return render_template(
        "deals/registry.html",
        page=page,
        tab=tab,
        tabs=REGISTRY_TABS,
        counts=counts,
        group=group,
        groups=TYPE_GROUPS,
        year=year,
        years=list(range(this_year, this_year - 6, -1)),
        q=q,
        args=args,
        today=local_today(),
        type_label=contracts.contract_type_label,
        waiting={c.id: (local_today() - to_local(c.submitted_at).date()).days for c in page.items if c.submitted_at},
    )
