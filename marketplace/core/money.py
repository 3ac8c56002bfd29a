"""Money is Decimal yuan with two places, never float. Parsing accepts what people type in
forms and spreadsheets (元 / 万元 / 亿元, ranges, 面议); display picks 元, 万元 or 亿元."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .taxonomy import PriceKind
from .validators import fold_width

CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("99999999999999.99")  # Numeric(16, 2)
_UNITS = {"": 1, "元": 1, "万": 10_000, "万元": 10_000, "亿": 100_000_000, "亿元": 100_000_000}
_AMOUNT = re.compile(r"^([0-9]+(?:\.[0-9]+)?)\s*(亿元|万元|亿|万|元)?$")
NEGOTIABLE_WORDS = {"面议", "议价", "协商", "面谈", "negotiable"}


def to_yuan(value: Decimal | int | str) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_amount(raw: object, default_unit: str = "元") -> Decimal:
    """'12.5万' -> Decimal('125000.00'); raises ValueError with a Chinese message."""
    if isinstance(raw, Decimal | int):
        amount = Decimal(raw)
    elif isinstance(raw, float):
        amount = Decimal(str(raw))
    else:
        text = fold_width(str(raw or "")).strip().replace(",", "").replace("，", "")
        match = _AMOUNT.match(text)
        if not match:
            raise ValueError(f"金额“{raw}”无法识别，请填写数字，可带单位 元/万元/亿元，如 50万元")
        try:
            amount = Decimal(match.group(1)) * _UNITS[match.group(2) or default_unit]
        except InvalidOperation as exc:  # pragma: no cover - the regex admits only digits
            raise ValueError(f"金额“{raw}”无法识别") from exc
    if amount < 0:
        raise ValueError("金额不能为负数")
    if amount > MAX_AMOUNT:
        raise ValueError("金额过大，请核对单位")
    return to_yuan(amount)


@dataclass(frozen=True)
class Price:
    kind: PriceKind
    low: Decimal | None = None
    high: Decimal | None = None

    @classmethod
    def negotiable(cls) -> Price:
        return cls(PriceKind.NEGOTIABLE)

    def display(self) -> str:
        if self.kind == PriceKind.NEGOTIABLE or self.low is None:
            return "面议"
        if self.kind == PriceKind.RANGE and self.high is not None and self.high != self.low:
            return f"{format_yuan(self.low)} – {format_yuan(self.high)}"
        return format_yuan(self.low)


def parse_price(raw: object) -> Price:
    """面议 / empty -> negotiable; '50万' -> fixed; '100万元-200万元' or '5-10万' -> range."""
    text = fold_width(str(raw if raw is not None else "")).strip()
    if not text or text.lower() in NEGOTIABLE_WORDS:
        return Price.negotiable()
    parts = re.split(r"\s*(?:-|–|—|~|～|至|到)\s*", text)
    if len(parts) == 1:
        return Price(PriceKind.FIXED, parse_amount(text))
    if len(parts) != 2:
        raise ValueError(f"价格“{raw}”无法识别，请填写金额、区间（如 100万-200万）或“面议”")
    low_text, high_text = parts
    unit = _AMOUNT.match(high_text.replace(",", ""))
    # '5-10万': the unit written once, after the upper bound, applies to both.
    if unit and unit.group(2) and re.fullmatch(r"[0-9.]+", low_text):
        low_text += unit.group(2)
    low, high = parse_amount(low_text), parse_amount(high_text)
    if low > high:
        raise ValueError("价格区间的下限不能大于上限")
    return Price(PriceKind.FIXED if low == high else PriceKind.RANGE, low, high if low != high else None)


def format_yuan(amount: Decimal | None) -> str:
    """Decimal yuan for people: 8,800 元 / 125 万元 / 1.25 亿元."""
    if amount is None:
        return "—"
    amount = Decimal(amount)
    if amount >= 100_000_000:
        return f"{_trim(amount / 100_000_000)} 亿元"
    if amount >= 10_000:
        return f"{_trim(amount / 10_000)} 万元"
    return f"{amount.quantize(CENT):,.2f} 元".replace(".00 元", " 元")


def _trim(value: Decimal) -> str:
    text = f"{value.quantize(Decimal('0.0001'), rounding=ROUND_HALF_UP):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
