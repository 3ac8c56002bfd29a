"""Figures of 科技金融 for officials: loan volume in a period (approved and disbursed amounts) and
the outstanding balance of loans as of a date (disbursed minus repaid up to that date), by
institution and product kind, against the plan's target 科技成果转化贷款余额 5亿元 (config
FINANCE_TARGETS). Amounts are summed exactly in Decimal yuan; display converts to 万元/亿元."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from sqlalchemy import func, select

from ..accounts.models import Organization
from ..core.errors import ValidationFailed
from ..core.timeutil import LOCAL_TZ, local_today
from ..extensions import db
from .models import LOAN_KINDS, ApplicationStatus, FinanceApplication, FinanceProduct, FinanceRepayment, ProductKind

ZERO = Decimal("0.00")
DEFAULT_TARGETS = {"transfer_loan_balance": "500000000"}  # 科技成果转化贷款余额 5亿元
APPROVED_STATES = (ApplicationStatus.APPROVED.value, ApplicationStatus.DISBURSED.value, ApplicationStatus.SETTLED.value)


@dataclass
class Period:
    start: date
    end: date
    as_of: date


@dataclass
class Cell:
    count: int = 0
    amount: Decimal = ZERO

    def add(self, amount: Decimal | None) -> None:
        self.count += 1
        self.amount += amount or ZERO


@dataclass
class Figures:
    period: Period
    approved: dict[str, Cell] = field(default_factory=dict)  # kind -> cell (loans)
    disbursed: dict[str, Cell] = field(default_factory=dict)
    balance: dict[str, Cell] = field(default_factory=dict)  # kind -> outstanding loans as of
    by_institution: list[dict[str, Any]] = field(default_factory=list)
    transfer_balance: Decimal = ZERO
    target: Decimal | None = None
    ratio: Decimal | None = None

    def total(self, name: str) -> Cell:
        cells = getattr(self, name).values()
        return Cell(sum(c.count for c in cells), sum((c.amount for c in cells), ZERO))


def _day(raw: Any, name: str, label: str, default: date, errors: dict) -> date:
    text = str(raw or "").strip()
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors[name] = f"{label}请按 年-月-日 填写，如 2026-01-01"
        return default


def parse_period(args: Any) -> Period:
    today = local_today()
    errors: dict[str, str] = {}
    start = _day(args.get("start"), "start", "起始日期", date(today.year, 1, 1), errors)
    end = _day(args.get("end"), "end", "截止日期", today, errors)
    as_of = _day(args.get("as_of"), "as_of", "余额统计日", end, errors)
    if start > end and "start" not in errors:
        errors["start"] = "起始日期不能晚于截止日期"
    if errors:
        raise ValidationFailed(errors)
    return Period(start, end, as_of)


def _utc_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, end+1 00:00) Beijing time as naive UTC."""

    def at(day: date) -> datetime:
        return datetime.combine(day, time(0), tzinfo=LOCAL_TZ).astimezone(UTC).replace(tzinfo=None)

    return at(start), at(end + timedelta(days=1))


def target() -> Decimal | None:
    targets = current_app.config.get("FINANCE_TARGETS") or DEFAULT_TARGETS
    if isinstance(targets, str):
        targets = json.loads(targets)
    raw = targets.get("transfer_loan_balance")
    return Decimal(str(raw)) if raw not in (None, "") else None


def outstanding_as_of(as_of: date, kinds: tuple[str, ...] | None = None) -> list[tuple[FinanceApplication, Decimal]]:
    """(application, disbursed − repaid up to `as_of`) for loans disbursed on or before `as_of`."""
    kinds = kinds or tuple(k.value for k in LOAN_KINDS)
    apps = list(
        db.session.scalars(
            select(FinanceApplication)
            .join(FinanceProduct, FinanceProduct.id == FinanceApplication.product_id)
            .where(
                FinanceProduct.kind.in_(kinds),
                FinanceApplication.disbursed_on.is_not(None),
                FinanceApplication.disbursed_on <= as_of,
            )
            .order_by(FinanceApplication.id)
        )
    )
    if not apps:
        return []
    repaid = dict(
        db.session.execute(
            select(FinanceRepayment.application_id, func.sum(FinanceRepayment.amount))
            .where(FinanceRepayment.application_id.in_([a.id for a in apps]), FinanceRepayment.paid_on <= as_of)
            .group_by(FinanceRepayment.application_id)
        ).all()
    )
    return [(a, a.disbursed_amount - Decimal(repaid.get(a.id) or 0)) for a in apps]


def transfer_loan_balance(as_of: date) -> Decimal:
    rows = outstanding_as_of(as_of, (ProductKind.TRANSFER_LOAN.value,))
    return sum((balance for _app, balance in rows), ZERO)


def build(period: Period) -> Figures:
    figures = Figures(period)
    loan_codes = tuple(k.value for k in LOAN_KINDS)
    per_org: dict[int, dict[str, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    low, high = _utc_bounds(period.start, period.end)
    approved = db.session.scalars(
        select(FinanceApplication)
        .join(FinanceProduct, FinanceProduct.id == FinanceApplication.product_id)
        .where(
            FinanceProduct.kind.in_(loan_codes),
            FinanceApplication.status.in_(APPROVED_STATES),
            FinanceApplication.decided_at >= low,
            FinanceApplication.decided_at < high,
        )
    )
    for app in approved:
        figures.approved.setdefault(app.product.kind, Cell()).add(app.approved_amount)
        per_org[app.institution_id]["approved"] += app.approved_amount or ZERO
    disbursed = db.session.scalars(
        select(FinanceApplication)
        .join(FinanceProduct, FinanceProduct.id == FinanceApplication.product_id)
        .where(
            FinanceProduct.kind.in_(loan_codes),
            FinanceApplication.disbursed_on >= period.start,
            FinanceApplication.disbursed_on <= period.end,
        )
    )
    for app in disbursed:
        figures.disbursed.setdefault(app.product.kind, Cell()).add(app.disbursed_amount)
        per_org[app.institution_id]["disbursed"] += app.disbursed_amount or ZERO
    for app, balance in outstanding_as_of(period.as_of):
        if balance <= 0:
            continue
        figures.balance.setdefault(app.product.kind, Cell()).add(balance)
        per_org[app.institution_id]["balance"] += balance
        if app.product.kind == ProductKind.TRANSFER_LOAN.value:
            figures.transfer_balance += balance
            per_org[app.institution_id]["transfer_balance"] += balance
    names = dict(
        db.session.execute(select(Organization.id, Organization.name).where(Organization.id.in_(per_org))).all()
    )
    figures.by_institution = sorted(
        (
            {
                "org_id": org_id,
                "name": names.get(org_id, ""),
                "approved": sums["approved"],
                "disbursed": sums["disbursed"],
                "balance": sums["balance"],
                "transfer_balance": sums["transfer_balance"],
            }
            for org_id, sums in per_org.items()
        ),
        key=lambda row: (-row["balance"], -row["disbursed"], row["name"]),
    )
    figures.target = target()
    if figures.target:
        figures.ratio = (figures.transfer_balance * 100 / figures.target).quantize(
            Decimal("0.1"), rounding=ROUND_HALF_UP
        )
    return figures


def as_json(figures: Figures) -> dict[str, Any]:
    def cells(mapping: dict[str, Cell]) -> list[dict[str, Any]]:
        return [
            {
                "kind": {"code": k.value, "label": k.label},
                "count": mapping[k.value].count,
                "amount": f"{mapping[k.value].amount:.2f}",
            }
            for k in ProductKind
            if k.value in mapping
        ]

    p = figures.period
    return {
        "period": {"start": p.start.isoformat(), "end": p.end.isoformat(), "as_of": p.as_of.isoformat()},
        "approved": {
            "total": f"{figures.total('approved').amount:.2f}",
            "count": figures.total("approved").count,
            "by_kind": cells(figures.approved),
        },
        "disbursed": {
            "total": f"{figures.total('disbursed').amount:.2f}",
            "count": figures.total("disbursed").count,
            "by_kind": cells(figures.disbursed),
        },
        "balance": {
            "total": f"{figures.total('balance').amount:.2f}",
            "count": figures.total("balance").count,
            "by_kind": cells(figures.balance),
        },
        "transfer_loan_balance": f"{figures.transfer_balance:.2f}",
        "target": f"{figures.target:.2f}" if figures.target is not None else None,
        "ratio": str(figures.ratio) if figures.ratio is not None else None,
        "by_institution": [
            {
                "org_id": row["org_id"],
                "name": row["name"],
                **{k: f"{row[k]:.2f}" for k in ("approved", "disbursed", "balance", "transfer_balance")},
            }
            for row in figures.by_institution
        ],
    }
