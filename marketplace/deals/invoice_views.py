"""Invoices and PDF documents of the deal room (routes of the `deals` blueprint).

POST /deals/<id>/invoices            issue an invoice (the deal's brokers, admins)
POST /invoices/<id>/void             void an unpaid invoice, with a reason
POST /invoices/<id>/paid             record that an invoice was paid
GET  /invoices/<id>.pdf              the invoice as PDF
GET  /deals/<id>/summary.pdf         项目摘要
GET  /contracts/<id>/certificate.pdf 技术合同登记证明 (409 until the contract is registered)

Downloads are for everyone who may view the deal (its parties, brokers, officials, admins).
`invoice_panel(deal)` gives templates/deals/_invoices.html what it shows."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Response, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..core.errors import ServiceError, ValidationFailed
from ..core.taxonomy import CommissionKind, CommissionPayer, ContractStatus, InvoiceKind, InvoiceStatus
from ..core.timeutil import local_today
from ..extensions import db
from . import invoices, pdf
from .blueprint import bp
from .models import Deal, Invoice
from .policy import can_issue_invoice, load_deal

FORM_LINES = 5  # blank rows offered for custom lines
STATUS_COLORS = {
    InvoiceStatus.UNPAID.value: "warning",
    InvoiceStatus.PAID.value: "success",
    InvoiceStatus.VOID.value: "secondary",
}


def _user() -> Any:
    return current_user._get_current_object()


def _deal_url(deal_id: int) -> str:
    return url_for("deals.detail", deal_id=deal_id) + "#invoices"


def _message_of(exc: ServiceError) -> str:
    if isinstance(exc, ValidationFailed) and exc.fields:
        return "；".join(exc.fields.values())
    return exc.message


def content_disposition(filename: str, fallback: str) -> str:
    """attachment with an ASCII fallback and the Chinese name per RFC 5987 / RFC 6266."""
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def pdf_response(data: bytes, filename: str, fallback: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = content_disposition(filename, fallback)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def invoice_filename(invoice: Invoice) -> tuple[str, str]:
    label = invoice.kind_label.removesuffix("发票")
    void = "-作废" if invoice.status == InvoiceStatus.VOID.value else ""
    return f"发票-{label}-{invoice.number}{void}.pdf", f"invoice-{invoice.number}.pdf"


def summary_filename(deal: Deal) -> tuple[str, str]:
    return f"项目摘要-XM{deal.id:06d}.pdf", f"deal-summary-XM{deal.id:06d}.pdf"


def certificate_filename(contract: Any) -> tuple[str, str]:
    return (
        f"技术合同登记证明-{contract.registration_number}.pdf",
        f"contract-certificate-{contract.registration_number}.pdf",
    )


# ---------------------------------------------------------------------------------------------
# The panel on the deal page


def default_form(deal: Deal) -> dict[str, Any]:
    has_commission = deal.commission_kind in (CommissionKind.RATE.value, CommissionKind.FIXED.value)
    return {
        "kind": InvoiceKind.COMMISSION.value if has_commission else InvoiceKind.SERVICE_FEE.value,
        "payer": "",
        "tax_rate": invoices.plain(invoices.parse_rate(invoices.setting("INVOICE_TAX_RATE"), "tax_rate", {})),
        "due_on": "",
    }


def invoice_panel(deal: Deal) -> dict[str, Any]:
    """Everything deals/_invoices.html shows for the current viewer."""
    user = _user()
    contract = deal.contract
    certified = contract is not None and contract.status in (
        ContractStatus.REGISTERED.value,
        ContractStatus.CANCELLED.value,
    )
    can_issue = can_issue_invoice(user, deal)
    return {
        "invoices": list(deal.invoices),
        "status_colors": STATUS_COLORS,
        "can_issue": can_issue,
        "has_commission": deal.commission_kind in (CommissionKind.RATE.value, CommissionKind.FIXED.value),
        "split_payer": deal.commission_payer == CommissionPayer.BOTH.value,
        "kinds": InvoiceKind.choices(),
        "payers": list(invoices.SIDES.items()),
        "form_lines": FORM_LINES,
        "values": default_form(deal) if can_issue else {},
        "contract": contract,
        "certificate_url": url_for("deals.certificate_pdf", contract_id=contract.id) if certified else None,
        "summary_url": url_for("deals.summary_pdf", deal_id=deal.id),
        "today": local_today().isoformat(),
    }


@bp.context_processor
def invoice_helpers() -> dict[str, Any]:
    return {"invoice_panel": invoice_panel, "invoice_rate": invoices.plain}


# ---------------------------------------------------------------------------------------------
# Issuing, voiding, paying


def lines_from_form(form) -> tuple[list[dict[str, str]], dict[int, int]]:
    """Non-blank custom rows, and row index (0-based, among those) -> row number on the form."""
    lines, rows = [], {}
    for number in range(1, FORM_LINES + 1):
        row = {key: form.get(f"line{number}_{key}", "").strip() for key in ("description", "quantity", "unit_price")}
        if any(row.values()):
            rows[len(lines)] = number
            lines.append(row)
    return lines, rows


def form_errors(fields: dict[str, str], rows: dict[int, int]) -> dict[str, str]:
    """Service field names (lines[0].unit_price) to the form's (line1_unit_price)."""
    errors = {}
    for key, message in fields.items():
        if key.startswith("lines[") and "]." in key:
            index, _, name = key.removeprefix("lines[").partition("].")
            errors[f"line{rows.get(int(index), int(index) + 1)}_{name}"] = message
        else:
            errors[key] = message
    return errors


@bp.post("/deals/<int:deal_id>/invoices")
@login_required
def invoice_create(deal_id: int):
    deal = load_deal(deal_id, current_user)
    form = request.form
    lines, rows = lines_from_form(form)
    try:
        invoice = invoices.create_invoice(
            deal,
            _user(),
            form.get("kind", ""),
            lines=lines or None,
            tax_rate=form.get("tax_rate"),
            due_on=form.get("due_on"),
            payer=form.get("payer") or None,
        )
    except ValidationFailed as exc:
        db.session.rollback()
        deal = load_deal(deal_id, current_user)
        return render_template(
            "deals/invoice_form.html",
            deal=deal,
            panel=invoice_panel(deal),
            values=form.to_dict(),
            errors=form_errors(exc.fields, rows),
            message=exc.message,
        ), 422
    except ServiceError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            raise
        flash(_message_of(exc), "danger")
        return redirect(_deal_url(deal_id))
    db.session.commit()
    flash(f"已开具{invoice.kind_label} {invoice.number}，价税合计 ¥{invoice.total:,.2f}", "success")
    return redirect(_deal_url(deal_id))


def _invoice_action(invoice_id: int, action, success: str):
    invoice = invoices.load_invoice(invoice_id, current_user)
    deal_id = invoice.deal_id
    try:
        action(invoice)
    except ServiceError as exc:
        db.session.rollback()
        if exc.status in (403, 404):
            raise
        flash(_message_of(exc), "danger")
        return redirect(_deal_url(deal_id))
    db.session.commit()
    flash(success.format(number=invoice.number), "success")
    return redirect(_deal_url(deal_id))


@bp.post("/invoices/<int:invoice_id>/void")
@login_required
def invoice_void(invoice_id: int):
    reason = request.form.get("reason", "")
    return _invoice_action(
        invoice_id, lambda invoice: invoices.void_invoice(invoice, _user(), reason), "发票 {number} 已作废，号码保留"
    )


@bp.post("/invoices/<int:invoice_id>/paid")
@login_required
def invoice_paid(invoice_id: int):
    paid_on = request.form.get("paid_on") or None
    return _invoice_action(
        invoice_id, lambda invoice: invoices.mark_paid(invoice, _user(), paid_on), "发票 {number} 已登记为已付款"
    )


# ---------------------------------------------------------------------------------------------
# Downloads


@bp.get("/invoices/<int:invoice_id>.pdf")
@login_required
def invoice_pdf(invoice_id: int):
    invoice = invoices.load_invoice(invoice_id, current_user)
    return pdf_response(pdf.render_invoice(invoice), *invoice_filename(invoice))


@bp.get("/deals/<int:deal_id>/summary.pdf")
@login_required
def summary_pdf(deal_id: int):
    deal = load_deal(deal_id, current_user)
    return pdf_response(pdf.render_deal_summary(deal), *summary_filename(deal))


@bp.get("/contracts/<int:contract_id>/certificate.pdf")
@login_required
def certificate_pdf(contract_id: int):
    contract = invoices.load_contract(contract_id, current_user)
    return pdf_response(invoices.certificate_of(contract), *certificate_filename(contract))
