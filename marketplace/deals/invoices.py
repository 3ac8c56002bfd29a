"""Invoices of a deal: the broker's commission (经纪佣金) and the platform's service fee (平台服务费).

Rules (the web views and the API both come here):

* Only the deal's brokers and admins issue, void and mark invoices paid (policy.can_issue_invoice).
* Commission invoices need commission terms on the deal. The default line is
  rate × the contract's 成交额 (the deal's expected value while there is no contract yet), or the
  fixed amount. The payer follows the deal's commission_payer; with 双方各半 each invoice is for
  one side (the caller names it) and bills half: the seller's half is rounded half-up to the fen,
  the buyer's half is the rest, so the two halves always add up to the commission.
  The payee is the issuing broker's organisation (the lead broker's when an admin issues).
* Service-fee invoices: the platform is the payee (PLATFORM_NAME, PLATFORM_TAX_ID, PLATFORM_BANK,
  PLATFORM_ACCOUNT); the default line is PLATFORM_FEE_RATE % of the registered contract's
  技术交易额 (the amount the registration office 核定; before registration there is none); the payer
  is the seller unless the caller names the buyer.
* Custom lines (description, quantity, unit price) replace the default line for either kind.
* Tax = subtotal × rate, rounded half-up to the fen (INVOICE_TAX_RATE, default 6 %); total =
  subtotal + tax.
* Numbers are sequential per year, taken from NumberSequence("invoice", "", year) with
  SELECT … FOR UPDATE in the issuing transaction: a rolled-back issue gives its number back, a
  committed one is never reused (voiding keeps it). Format: INVOICE_NUMBER_FORMAT
  (default "KJTB{year}{seq:06d}").
* Void: only an unpaid invoice, and only with a reason — a paid one is refused, because the
  money it records has been received; correcting it means a refund recorded on the deal and a new
  invoice, never erasing a receipt.
* Every action is audited and written to the deal's timeline (kind "invoice").

Services flush; the caller (view or API) commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Organization
from ..core.audit import record
from ..core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from ..core.money import MAX_AMOUNT, parse_amount, to_yuan
from ..core.taxonomy import CommissionKind, CommissionPayer, ContractStatus, InvoiceKind, InvoiceStatus
from ..core.timeutil import local_today, utcnow
from ..extensions import db
from .models import Deal, DealEvent, Invoice, InvoiceLine, NumberSequence, TechContract
from .policy import can_issue_invoice, is_deal_broker, load_deal

CENT = Decimal("0.01")
MAX_LINES = 20
MAX_QUANTITY = Decimal("999999999.999")
DEFAULTS: dict[str, Any] = {
    "PLATFORM_NAME": "日照技术转移与成果交易平台（科技淘宝）",
    "PLATFORM_TAX_ID": "",
    "PLATFORM_BANK": "",
    "PLATFORM_ACCOUNT": "",
    "PLATFORM_FEE_RATE": "1",  # % of the technology transaction amount (技术交易额)
    "INVOICE_TAX_RATE": "6",  # %
    "INVOICE_DUE_DAYS": 30,
    "INVOICE_NUMBER_FORMAT": "KJTB{year}{seq:06d}",
}
SIDES = {"seller": "卖方", "buyer": "买方"}


def setting(key: str) -> Any:
    return current_app.config.get(key, DEFAULTS[key])


# ---------------------------------------------------------------------------------------------
# Arithmetic


def tax_of(subtotal: Decimal, rate_percent: Decimal) -> Decimal:
    """subtotal × rate %, rounded half-up to the fen (0.005 → 0.01)."""
    return (Decimal(subtotal) * Decimal(rate_percent) / 100).quantize(CENT, rounding=ROUND_HALF_UP)


def line_amount(quantity: Decimal, unit_price: Decimal) -> Decimal:
    return (Decimal(quantity) * Decimal(unit_price)).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_rate(raw: object, field: str, errors: dict[str, str], *, label: str = "税率") -> Decimal | None:
    """'6', '6%', '6.5' -> Decimal percent in 0..100 with at most three decimals."""
    text = str(raw if raw is not None else "").strip().removesuffix("%").removesuffix("％").strip()
    try:
        rate = Decimal(text)
    except InvalidOperation:
        errors[field] = f"{label}须为 0–100 之间的数字（百分比），如 6"
        return None
    if not rate.is_finite() or rate < 0 or rate > 100:
        errors[field] = f"{label}须为 0–100 之间的数字（百分比），如 6"
        return None
    if rate != rate.quantize(Decimal("0.001")):
        errors[field] = f"{label}最多保留三位小数"
        return None
    return rate.quantize(Decimal("0.001"))


def _parse_date(raw: object, field: str, label: str, errors: dict[str, str]) -> date | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        errors[field] = f"{label}格式应为 YYYY-MM-DD"
        return None


@dataclass
class LineInput:
    description: str
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        return line_amount(self.quantity, self.unit_price)


def parse_lines(raw_lines: list[dict[str, Any]], errors: dict[str, str]) -> list[LineInput]:
    """Custom lines; errors keyed lines[i].description / .quantity / .unit_price (i from 0)."""
    if not isinstance(raw_lines, list):
        errors["lines"] = "明细行须为列表"
        return []
    if len(raw_lines) > MAX_LINES:
        errors["lines"] = f"明细行最多 {MAX_LINES} 行"
        return []
    parsed: list[LineInput] = []
    for index, raw in enumerate(raw_lines):
        key = f"lines[{index}]"
        if not isinstance(raw, dict):
            errors[key] = "每个明细行须为对象 {description, quantity, unit_price}"
            continue
        description = str(raw.get("description") or "").strip()
        if not description:
            errors[f"{key}.description"] = "请填写项目名称"
        elif len(description) > 300:
            errors[f"{key}.description"] = "项目名称不能超过300个字"
        quantity_raw = raw.get("quantity")
        quantity = Decimal("1")
        if quantity_raw not in (None, ""):
            try:
                quantity = Decimal(str(quantity_raw).strip())
                if not quantity.is_finite():
                    raise InvalidOperation
            except InvalidOperation:
                errors[f"{key}.quantity"] = "数量须为数字"
                quantity = Decimal("0")
            else:
                if quantity <= 0:
                    errors[f"{key}.quantity"] = "数量须大于 0"
                elif quantity > MAX_QUANTITY:
                    errors[f"{key}.quantity"] = "数量过大，请核对"
                elif quantity != quantity.quantize(Decimal("0.001")):
                    errors[f"{key}.quantity"] = "数量最多保留三位小数"
        unit_price = Decimal("0")
        try:
            unit_price = parse_amount(raw.get("unit_price"))
        except ValueError as exc:
            errors[f"{key}.unit_price"] = f"单价：{exc}"
        if f"{key}.unit_price" not in errors and unit_price == 0:
            errors[f"{key}.unit_price"] = "单价须大于 0"
        parsed.append(LineInput(description, quantity, unit_price))
    if not parsed and not any(k.startswith("lines") for k in errors):
        errors["lines"] = "请至少填写一行明细"
    return parsed


# ---------------------------------------------------------------------------------------------
# Numbers


def _sequence_row(year: int) -> NumberSequence:
    """The year's invoice counter, locked FOR UPDATE until the transaction ends (created on first
    use inside a savepoint; a concurrent creator's row is re-selected after the IntegrityError)."""
    stmt = (
        select(NumberSequence)
        .where(NumberSequence.name == "invoice", NumberSequence.scope == "", NumberSequence.year == year)
        .with_for_update()
    )
    row = db.session.scalar(stmt)
    if row is not None:
        return row
    try:
        with db.session.begin_nested():
            db.session.add(NumberSequence(name="invoice", scope="", year=year, last_value=0))
    except IntegrityError:
        pass
    row = db.session.scalar(stmt.execution_options(populate_existing=True))
    assert row is not None
    return row


def next_invoice_number(year: int) -> str:
    row = _sequence_row(year)
    row.last_value += 1
    db.session.flush()
    return str(setting("INVOICE_NUMBER_FORMAT")).format(year=year, seq=row.last_value)


# ---------------------------------------------------------------------------------------------
# The timeline (deals.services.record_event, written by the deals engineer)


def _timeline(deal: Deal, actor: Any, body: str) -> None:
    try:
        from .services import record_event
    except ImportError:  # the deals services module is not there yet: write the event directly
        db.session.add(DealEvent(deal_id=deal.id, kind="invoice", author_id=getattr(actor, "id", None), body=body))
        return
    record_event(deal, "invoice", actor, body)


# ---------------------------------------------------------------------------------------------
# Defaults: payer, payee, the computed line


def _party_org(deal: Deal, side: str) -> Organization:
    return deal.seller_org if side == "seller" else deal.buyer_org


def _commission_total(deal: Deal) -> tuple[Decimal, str]:
    """The whole commission and how it was computed (for the line's description)."""
    if deal.commission_kind == CommissionKind.FIXED.value:
        if not deal.commission_amount:
            raise ValidationFailed({"kind": "佣金约定为固定金额，但金额未填写"}, message="佣金约定不完整")
        return to_yuan(deal.commission_amount), "固定金额"
    rate = deal.commission_rate
    if rate is None:
        raise ValidationFailed({"kind": "佣金约定为按比例，但比例未填写"}, message="佣金约定不完整")
    contract = deal.contract
    if contract is not None and contract.status != ContractStatus.CANCELLED.value:
        base, base_label = contract.amount, "合同成交额"
    elif deal.expected_value:
        base, base_label = deal.expected_value, "预计成交额"
    else:
        raise ValidationFailed(
            {"lines": "项目尚无合同成交额或预计成交额，无法按比例计算佣金；请填写明细行"},
            message="无法计算佣金金额",
        )
    amount = (Decimal(base) * Decimal(rate) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return amount, f"{base_label} ¥{to_yuan(base):,.2f} × {plain(rate)}%"


def plain(value: Decimal) -> str:
    text = f"{Decimal(value):f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _commission_line(deal: Deal, side: str) -> LineInput:
    total, basis = _commission_total(deal)
    if deal.commission_payer == CommissionPayer.BOTH.value:
        seller_half = (total / 2).quantize(CENT, rounding=ROUND_HALF_UP)
        amount = seller_half if side == "seller" else total - seller_half
        basis += f"，{SIDES[side]}承担一半"
    else:
        amount = total
    if amount <= 0:
        raise ValidationFailed({"lines": "按约定计算的佣金为 0，请填写明细行"}, message="无法计算佣金金额")
    return LineInput(f"技术经纪服务佣金（{basis}）", Decimal("1"), amount)


def _service_fee_line(deal: Deal) -> LineInput:
    contract = deal.contract
    if contract is None or contract.status != ContractStatus.REGISTERED.value:
        raise ValidationFailed(
            {"lines": "平台服务费按登记核定的技术交易额计收，合同登记后才能按默认方式开具；也可填写明细行"},
            message="合同尚未登记，无法计算平台服务费",
        )
    errors: dict[str, str] = {}
    rate = parse_rate(setting("PLATFORM_FEE_RATE"), "fee_rate", errors, label="平台服务费率")
    if rate is None:  # a misconfigured deployment, not the user's fault
        raise Conflict("平台服务费率配置有误（PLATFORM_FEE_RATE），请联系管理员")
    amount = (contract.technology_amount * rate / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    if amount <= 0:
        raise ValidationFailed({"lines": "按技术交易额计算的服务费为 0，请填写明细行"}, message="无法计算平台服务费")
    basis = f"技术交易额 ¥{to_yuan(contract.technology_amount):,.2f} × {plain(rate)}%"
    return LineInput(f"平台技术交易服务费（{basis}，合同登记号 {contract.registration_number}）", Decimal("1"), amount)


def _broker_org(deal: Deal, actor: Any) -> Organization | None:
    if is_deal_broker(actor, deal) and actor.organization is not None:
        return actor.organization
    ordered = sorted(deal.brokers, key=lambda b: (not b.lead, b.id))
    for broker in ordered:
        if broker.user.organization is not None:
            return broker.user.organization
    return None


def _payer_side(deal: Deal, kind: str, payer: str | None, errors: dict[str, str]) -> str | None:
    if payer not in (None, "") and payer not in SIDES:
        errors["payer"] = "付款方须为 seller（卖方）或 buyer（买方）"
        return None
    if kind == InvoiceKind.SERVICE_FEE.value:
        return payer or "seller"
    agreed = deal.commission_payer
    if agreed in SIDES:
        if payer and payer != agreed:
            errors["payer"] = f"佣金约定由{SIDES[agreed]}支付，付款方不能改为{SIDES[payer]}"
            return None
        return agreed
    if not payer:
        errors["payer"] = "佣金由双方各半支付，请选择本张发票的付款方（卖方或买方）"
        return None
    return payer


# ---------------------------------------------------------------------------------------------
# Actions


def create_invoice(
    deal: Deal,
    actor: Any,
    kind: str,
    *,
    lines: list[dict[str, Any]] | None = None,
    tax_rate: object = None,
    issued_on: object = None,
    due_on: object = None,
    payer: str | None = None,
) -> Invoice:
    """Issue an invoice for the deal (see the module's docstring for the rules). Flushes."""
    if not can_issue_invoice(actor, deal):
        raise PermissionDenied("只有本项目的技术经纪人和管理员可以开具发票")
    kind_member = InvoiceKind.parse(kind)
    if kind_member is None:
        raise ValidationFailed({"kind": "请选择发票类别：经纪佣金或平台服务费"})
    kind = kind_member.value
    if kind == InvoiceKind.COMMISSION.value and deal.commission_kind not in (
        CommissionKind.RATE.value,
        CommissionKind.FIXED.value,
    ):
        message = "该项目未约定佣金，不能开具佣金发票"
        raise ValidationFailed({"kind": message}, message=message)

    errors: dict[str, str] = {}
    custom = parse_lines(lines, errors) if lines else []
    rate = parse_rate(setting("INVOICE_TAX_RATE") if tax_rate in (None, "") else tax_rate, "tax_rate", errors)
    issued = _parse_date(issued_on, "issued_on", "开票日期", errors) or local_today()
    due = _parse_date(due_on, "due_on", "付款期限", errors)
    if due is None and "due_on" not in errors:
        due = issued + timedelta(days=int(setting("INVOICE_DUE_DAYS")))
    if due is not None and due < issued:
        errors["due_on"] = "付款期限不能早于开票日期"
    if issued > local_today():
        errors["issued_on"] = "开票日期不能晚于今天"
    side = _payer_side(deal, kind, payer, errors)
    if errors:
        raise ValidationFailed(errors)

    if custom:
        items = custom
    elif kind == InvoiceKind.COMMISSION.value:
        items = [_commission_line(deal, side)]
    else:
        items = [_service_fee_line(deal)]
    subtotal = sum((item.amount for item in items), Decimal("0.00"))
    if subtotal <= 0:
        raise ValidationFailed({"lines": "发票金额须大于 0"})
    tax = tax_of(subtotal, rate)
    if subtotal + tax > MAX_AMOUNT:
        raise ValidationFailed({"lines": "发票金额过大，请核对数量和单价"})

    payer_org = _party_org(deal, side)
    if kind == InvoiceKind.COMMISSION.value:
        payee = _broker_org(deal, actor)
        if payee is None:
            raise Conflict("本项目的技术经纪人未加入机构，无法确定佣金收款方")
        payee_fields = {"payee_name": payee.name, "payee_tax_id": payee.uscc, "payee_bank": None, "payee_account": None}
    else:
        payee_fields = {
            "payee_name": setting("PLATFORM_NAME"),
            "payee_tax_id": setting("PLATFORM_TAX_ID") or None,
            "payee_bank": setting("PLATFORM_BANK") or None,
            "payee_account": setting("PLATFORM_ACCOUNT") or None,
        }

    invoice = Invoice(
        number=next_invoice_number(issued.year),
        kind=kind,
        deal_id=deal.id,
        payer_org_id=payer_org.id,
        payer_name=payer_org.name,
        payer_tax_id=payer_org.uscc,
        payer_address=payer_org.address,
        issued_on=issued,
        due_on=due,
        tax_rate=rate,
        subtotal=subtotal,
        tax=tax,
        total=subtotal + tax,
        status=InvoiceStatus.UNPAID.value,
        created_by_id=getattr(actor, "id", None),
        **payee_fields,
    )
    for position, item in enumerate(items, start=1):
        invoice.lines.append(
            InvoiceLine(
                position=position,
                description=item.description,
                quantity=item.quantity,
                unit_price=item.unit_price,
                amount=item.amount,
            )
        )
    db.session.add(invoice)
    db.session.flush()
    record(
        actor,
        "invoice_issue",
        invoice,
        to_state=InvoiceStatus.UNPAID.value,
        details={"number": invoice.number, "kind": kind, "total": str(invoice.total), "deal_id": deal.id},
    )
    _timeline(
        deal,
        actor,
        f"开具{kind_member.label} {invoice.number}：付款方 {invoice.payer_name}，价税合计 ¥{invoice.total:,.2f}",
    )
    return invoice


def _check_actor(invoice: Invoice, actor: Any, what: str) -> None:
    if not can_issue_invoice(actor, invoice.deal):
        raise PermissionDenied(f"只有本项目的技术经纪人和管理员可以{what}")


def void_invoice(invoice: Invoice, actor: Any, reason: str | None) -> Invoice:
    """Unpaid → void, with a reason. The number stays taken."""
    _check_actor(invoice, actor, "作废发票")
    reason = (reason or "").strip()
    if invoice.status == InvoiceStatus.VOID.value:
        raise Conflict(f"发票 {invoice.number} 已作废")
    if invoice.status == InvoiceStatus.PAID.value:
        raise Conflict(
            f"发票 {invoice.number} 已登记付款，不能作废：作废只用于未付款的发票（如开错）；"
            "已收的款项请通过退款处理，再开具新的发票"
        )
    if not reason:
        raise ValidationFailed({"reason": "请填写作废原因"})
    if len(reason) > 500:
        raise ValidationFailed({"reason": "作废原因不能超过500个字"})
    before = invoice.status
    invoice.status = InvoiceStatus.VOID.value
    invoice.void_reason = reason
    invoice.voided_at = utcnow()
    db.session.flush()
    record(
        actor,
        "invoice_void",
        invoice,
        from_state=before,
        to_state=invoice.status,
        reason=reason,
        details={"number": invoice.number},
    )
    _timeline(invoice.deal, actor, f"作废发票 {invoice.number}（原因：{reason}），号码保留不再使用")
    return invoice


def mark_paid(invoice: Invoice, actor: Any, paid_on: object = None) -> Invoice:
    """Unpaid → paid on `paid_on` (default today, Asia/Shanghai)."""
    _check_actor(invoice, actor, "登记发票付款")
    if invoice.status != InvoiceStatus.UNPAID.value:
        raise Conflict(f"发票 {invoice.number} 当前为“{invoice.status_label}”，只有未付款的发票可以登记付款")
    errors: dict[str, str] = {}
    day = _parse_date(paid_on, "paid_on", "付款日期", errors) or (None if errors else local_today())
    if day is not None and day < invoice.issued_on:
        errors["paid_on"] = "付款日期不能早于开票日期"
    if day is not None and day > local_today():
        errors["paid_on"] = "付款日期不能晚于今天"
    if errors:
        raise ValidationFailed(errors)
    invoice.status = InvoiceStatus.PAID.value
    invoice.paid_on = day
    db.session.flush()
    record(
        actor,
        "invoice_paid",
        invoice,
        from_state=InvoiceStatus.UNPAID.value,
        to_state=invoice.status,
        details={"number": invoice.number, "paid_on": day.isoformat()},
    )
    _timeline(invoice.deal, actor, f"发票 {invoice.number} 已付款（{day.isoformat()}），金额 ¥{invoice.total:,.2f}")
    return invoice


def load_invoice(invoice_id: int, user: Any) -> Invoice:
    """The invoice when the user may view its deal: NotFound (404) / PermissionDenied (403)."""
    invoice = db.session.get(Invoice, invoice_id)
    if invoice is None:
        raise NotFound("发票不存在")
    load_deal(invoice.deal_id, user)
    return invoice


def load_contract(contract_id: int, user: Any) -> TechContract:
    """A contract whose deal the user may view (NotFound / PermissionDenied)."""
    contract = db.session.get(TechContract, contract_id)
    if contract is None or contract.deal_id is None:
        raise NotFound("合同不存在")
    load_deal(contract.deal_id, user)
    return contract


def certificate_of(contract: Any) -> bytes:
    """The registration certificate, or Conflict (409) when the contract was never registered."""
    from . import pdf

    if contract.status not in (ContractStatus.REGISTERED.value, ContractStatus.CANCELLED.value):
        raise Conflict(f"合同当前为“{contract.status_label}”，尚未登记，不能下载登记证明")
    return pdf.render_certificate(contract)
