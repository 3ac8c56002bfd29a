"""The arithmetic of the 知识产权价值评估 worksheet and of the pricing guidance's statistics.

Pure functions on Decimal (no Flask, no database): every figure is reproducible by hand.

Income approach (收益法)
    r = discount rate + risk premium (风险调整, optional, added to the discount rate);
    L = remaining economic/patent life in years (may be fractional), N = number of revenue years;
    the years used are t = 1 .. min(N, ceil(L)); year t counts the fraction f_t = min(1, L - (t-1))
    of its revenue (a partial last year is pro rata), and is discounted as a whole year:
        PV_t = revenue_t × share × f_t / (1 + r)^t
    Each PV_t is rounded to 0.0001 万元 (1 元); the value is the sum of the rounded rows, so the
    table adds up exactly. Discount factors are shown to 6 places, but PV uses the exact factor.

Cost approach (成本法)
    replacement cost = Σ items × (1 + profit margin);
    value = replacement cost × 成新率, where 成新率 = (1 − functional %) × (1 − economic %) ("rates")
    or remaining life / total life ("life"). Rounded to 0.0001 万元.

Quartiles: linear interpolation between order statistics at position p·(n−1) (0-based), the
method of Excel's QUARTILE.INC, numpy's default and `statistics.quantiles(method="inclusive")`.
Percentile of a price among n amounts: (count below + ½ count equal) / n × 100.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from ..core.errors import ValidationFailed
from ..core.validators import fold_width

WAN = Decimal("0.0001")  # 万元 to 1 元
FACTOR = Decimal("0.000001")
PCT = Decimal("0.01")
HUNDRED = Decimal(100)
MAX_LIFE = Decimal(20)
MAX_ROWS = 30
MAX_AMOUNT_WAN = Decimal("10000000")  # 1,000 亿元
NEGATIVE = "不能为负数"
OBSOLESCENCE_MODES = {"rates": "功能性/经济性贬值率", "life": "按寿命（剩余寿命/总寿命）"}
PATENT_TERMS = {"1": 20, "2": 10, "3": 15, "8": 20, "9": 10}  # invention, utility, design (years from filing)
PATENT_KINDS = {"1": "发明专利", "2": "实用新型", "3": "外观设计", "8": "发明专利（PCT）", "9": "实用新型（PCT）"}

DISCLAIMER = (
    "本工作表依据使用者录入的假设计算，仅供内部参考与谈判准备，不构成资产评估报告；"
    "法定评估须由具备资质的资产评估机构出具。"
)


def q4(value: Decimal) -> Decimal:
    return value.quantize(WAN, rounding=ROUND_HALF_UP)


def _number(raw: Any, name: str, errors: dict[str, str], *, required: bool, label: str) -> Decimal | None:
    text = fold_width(str(raw if raw is not None else "")).strip().replace(",", "").replace("%", "")
    if not text:
        if required:
            errors[name] = f"请填写{label}"
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        errors[name] = f"{label}须为数字"
        return None
    if not value.is_finite():
        errors[name] = f"{label}须为数字"
        return None
    if value < 0:
        errors[name] = NEGATIVE
        return None
    return value


def _percent(raw: Any, name: str, errors: dict[str, str], label: str, *, required: bool = True) -> Decimal | None:
    value = _number(raw, name, errors, required=required, label=label)
    if value is not None and value > HUNDRED:
        errors[name] = f"{label}应在 0–100% 之间"
        return None
    return value


def _rows(raw: Any) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        return []
    return [r for r in raw if isinstance(r, dict)]


def clean_inputs(raw: dict[str, Any]) -> dict[str, Any]:
    """Validate the worksheet's assumptions; raises ValidationFailed with one reason per field
    (keys like "revenues-0-amount", "share_pct"). Returns them cleaned, as strings."""
    errors: dict[str, str] = {}
    revenues = []
    rows = [r for r in _rows(raw.get("revenues")) if str(r.get("amount") or "").strip() or str(r.get("year") or "")]
    if len(rows) > MAX_ROWS:
        errors["revenues"] = f"收入预测最多 {MAX_ROWS} 年"
    for i, row in enumerate(rows[:MAX_ROWS]):
        amount = _number(row.get("amount"), f"revenues-{i}-amount", errors, required=True, label="收入")
        if amount is not None and amount > MAX_AMOUNT_WAN:
            errors[f"revenues-{i}-amount"] = "金额过大，请核对单位（万元）"
        year = str(row.get("year") or "").strip()[:20]
        revenues.append({"year": year or f"第{i + 1}年", "amount": str(amount) if amount is not None else ""})
    if not rows:
        errors["revenues"] = "至少填写一年的收入预测"
    share = _percent(raw.get("share_pct"), "share_pct", errors, "技术分成率")
    discount = _percent(raw.get("discount_pct"), "discount_pct", errors, "折现率")
    risk = _percent(raw.get("risk_pct"), "risk_pct", errors, "风险调整", required=False)
    if discount is not None and risk is not None and discount + risk > HUNDRED:
        errors["risk_pct"] = "折现率与风险调整之和不能超过 100%"
    life = _number(raw.get("life_years"), "life_years", errors, required=True, label="剩余寿命")
    if life is not None and life == 0:
        errors["life_years"] = "剩余寿命须大于 0 年"
    elif life is not None and life > MAX_LIFE:
        errors["life_years"] = "剩余寿命不能超过 20 年"

    items = []
    cost_rows = [r for r in _rows(raw.get("cost_items")) if str(r.get("amount") or "").strip() or r.get("name")]
    if len(cost_rows) > MAX_ROWS:
        errors["cost_items"] = f"成本项最多 {MAX_ROWS} 项"
    for i, row in enumerate(cost_rows[:MAX_ROWS]):
        name = str(row.get("name") or "").strip()[:60]
        amount = _number(row.get("amount"), f"cost_items-{i}-amount", errors, required=True, label="金额")
        if amount is not None and amount > MAX_AMOUNT_WAN:
            errors[f"cost_items-{i}-amount"] = "金额过大，请核对单位（万元）"
        if not name:
            errors[f"cost_items-{i}-name"] = "请填写成本项名称"
        items.append({"name": name, "amount": str(amount) if amount is not None else ""})
    margin = _percent(raw.get("margin_pct"), "margin_pct", errors, "利润率", required=False)
    mode = str(raw.get("obsolescence_mode") or "rates")
    if mode not in OBSOLESCENCE_MODES:
        errors["obsolescence_mode"] = "贬值计算方式无效，可选：rates（贬值率）或 life（按寿命）"
        mode = "rates"
    functional = economic = remaining = total = None
    if mode == "rates":
        functional = _percent(raw.get("functional_pct"), "functional_pct", errors, "功能性贬值率", required=False)
        economic = _percent(raw.get("economic_pct"), "economic_pct", errors, "经济性贬值率", required=False)
    elif items:
        remaining = _number(
            raw.get("cost_remaining_life"), "cost_remaining_life", errors, required=True, label="剩余寿命"
        )
        total = _number(raw.get("cost_total_life"), "cost_total_life", errors, required=True, label="总寿命")
        if total is not None and total == 0:
            errors["cost_total_life"] = "总寿命须大于 0 年"
        elif total is not None and remaining is not None and remaining > total:
            errors["cost_remaining_life"] = "剩余寿命不能超过总寿命"
    if errors:
        raise ValidationFailed(errors)

    def s(value: Decimal | None) -> str:
        return "" if value is None else str(value)

    return {
        "revenues": revenues,
        "share_pct": s(share),
        "discount_pct": s(discount),
        "risk_pct": s(risk),
        "life_years": s(life),
        "cost_items": items,
        "margin_pct": s(margin),
        "obsolescence_mode": mode,
        "functional_pct": s(functional),
        "economic_pct": s(economic),
        "cost_remaining_life": s(remaining),
        "cost_total_life": s(total),
    }


def _d(text: str | None) -> Decimal:
    return Decimal(text) if text not in (None, "") else Decimal(0)


def income_approach(inputs: dict[str, Any]) -> dict[str, Any]:
    share = _d(inputs["share_pct"]) / HUNDRED
    rate = (_d(inputs["discount_pct"]) + _d(inputs.get("risk_pct"))) / HUNDRED
    life = _d(inputs["life_years"])
    revenues = inputs["revenues"]
    years = min(len(revenues), math.ceil(life))
    rows, total = [], Decimal(0)
    for t in range(1, years + 1):
        revenue = _d(revenues[t - 1]["amount"])
        fraction = min(Decimal(1), life - (t - 1))
        factor = Decimal(1) / (1 + rate) ** t
        pv = q4(revenue * share * fraction * factor)
        total += pv
        rows.append(
            {
                "t": t,
                "year": revenues[t - 1]["year"],
                "revenue": str(revenue),
                "fraction": str(fraction),
                "share_amount": str(q4(revenue * share * fraction)),
                "factor": str(factor.quantize(FACTOR, rounding=ROUND_HALF_UP)),
                "pv": str(pv),
            }
        )
    notes = []
    if life != int(life) and years == math.ceil(life):
        notes.append(
            f"剩余寿命 {life} 年：第 {years} 年只计 {rows[-1]['fraction']} 年的收入（按比例折算），仍按整年折现。"
        )
    if len(revenues) < life:
        notes.append(f"收入预测只有 {len(revenues)} 年，少于剩余寿命 {life} 年：只计预测的年份。")
    if len(revenues) > years:
        notes.append(f"第 {years + 1} 年起的预测超出剩余寿命，不计入。")
    return {
        "rate_pct": str(_d(inputs["discount_pct"]) + _d(inputs.get("risk_pct"))),
        "years": years,
        "rows": rows,
        "value": str(q4(total)),
        "notes": notes,
    }


def cost_approach(inputs: dict[str, Any]) -> dict[str, Any] | None:
    items = inputs.get("cost_items") or []
    if not items:
        return None
    subtotal = sum((_d(i["amount"]) for i in items), Decimal(0))
    margin = _d(inputs.get("margin_pct")) / HUNDRED
    replacement = subtotal * (1 + margin)
    if inputs.get("obsolescence_mode") == "life":
        remaining, total = _d(inputs["cost_remaining_life"]), _d(inputs["cost_total_life"])
        factor = remaining / total
        explain = f"成新率 = 剩余寿命 {remaining} 年 ÷ 总寿命 {total} 年"
    else:
        functional = _d(inputs.get("functional_pct")) / HUNDRED
        economic = _d(inputs.get("economic_pct")) / HUNDRED
        factor = (1 - functional) * (1 - economic)
        explain = (
            f"成新率 = (1 − 功能性贬值率 {_d(inputs.get('functional_pct'))}%) × "
            f"(1 − 经济性贬值率 {_d(inputs.get('economic_pct'))}%)"
        )
    return {
        "subtotal": str(q4(subtotal)),
        "margin_pct": str(_d(inputs.get("margin_pct"))),
        "replacement": str(q4(replacement)),
        "factor": str(factor.quantize(FACTOR, rounding=ROUND_HALF_UP)),
        "factor_explain": explain,
        "value": str(q4(replacement * factor)),
    }


def compute(inputs: dict[str, Any]) -> dict[str, Any]:
    """Results of cleaned inputs: both approaches, the range between them, the disclaimer."""
    income = income_approach(inputs)
    cost = cost_approach(inputs)
    values = [Decimal(income["value"])] + ([Decimal(cost["value"])] if cost else [])
    return {
        "income": income,
        "cost": cost,
        "range": {"low": str(min(values)), "high": str(max(values))},
        "unit": "万元",
        "disclaimer": DISCLAIMER,
    }


# ---------------------------------------------------------------------------------------------
# Patent life


@dataclass
class LifeHint:
    number: str
    kind: str
    term: int
    filing_year: int
    remaining: Decimal
    note: str


def patent_life(number: str, today: date) -> LifeHint | None:
    """Remaining term suggested from a Chinese application number: type digit (1 invention 20 y,
    2 utility model 10 y, 3 design 15 y from filing) and the filing year in the number. Only the
    year is stored (AchievementPatent keeps the number alone), so the filing date is taken as
    1 January of that year: an estimate to check against the certificate."""
    digits = "".join(c for c in (number or "") if c.isdigit())
    if len(digits) >= 12:
        year, kind = int(digits[:4]), digits[4]
    elif len(digits) >= 8:
        yy, kind = int(digits[:2]), digits[2]
        year = 1900 + yy if yy >= 85 else 2000 + yy
    else:
        return None
    if kind not in PATENT_TERMS or not 1985 <= year <= today.year:
        return None
    term = PATENT_TERMS[kind]
    elapsed = Decimal((today - date(year, 1, 1)).days) / Decimal("365.25")
    remaining = max(Decimal(0), Decimal(term) - elapsed).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    remaining = min(remaining, MAX_LIFE)
    note = (
        f"{PATENT_KINDS[kind]}保护期 {term} 年，自申请日起算；申请号显示申请年份 {year} 年"
        f"（按当年 1 月 1 日估算），剩余约 {remaining} 年，请按证书核对。"
    )
    return LifeHint(number, PATENT_KINDS[kind], term, year, remaining, note)


# ---------------------------------------------------------------------------------------------
# Statistics of comparables


def quantile(values: list[Decimal], p: Decimal | float | str) -> Decimal:
    """Inclusive linear interpolation (see the module docstring); `values` need not be sorted."""
    if not values:
        raise ValueError("no values")
    xs = sorted(values)
    pos = Decimal(str(p)) * (len(xs) - 1)
    lo = int(pos)
    frac = pos - lo
    if lo + 1 >= len(xs):
        return xs[-1]
    return xs[lo] + (xs[lo + 1] - xs[lo]) * frac


def summary(values: list[Decimal]) -> dict[str, Decimal] | None:
    if not values:
        return None
    return {
        "min": min(values),
        "p25": quantile(values, "0.25"),
        "median": quantile(values, "0.5"),
        "p75": quantile(values, "0.75"),
        "max": max(values),
    }


def percentile_of(price: Decimal, values: list[Decimal]) -> Decimal | None:
    if not values:
        return None
    below = sum(1 for v in values if v < price)
    equal = sum(1 for v in values if v == price)
    return ((Decimal(below) + Decimal(equal) / 2) / len(values) * HUNDRED).quantize(Decimal("0.1"), ROUND_HALF_UP)
