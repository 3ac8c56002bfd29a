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


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_GROUP_UNITS = ("", "万", "亿", "万亿")  # Numeric(16, 2) stays below 100万亿


def _group_words(group: int) -> str:
    """0 < group < 10000 in capital numerals, zeros inside collapsed to one 零, none trailing."""
    words, pending_zero = "", False
    for place, unit in ((1000, "仟"), (100, "佰"), (10, "拾"), (1, "")):
        digit = group // place % 10
        if digit == 0:
            pending_zero = bool(words)
            continue
        if pending_zero:
            words += "零"
            pending_zero = False
        words += _DIGITS[digit] + unit
    return words


def capital_amount(amount: Decimal | int | str) -> str:
    """人民币大写金额, as on invoices and contracts: 123456.78 → 壹拾贰万叁仟肆佰伍拾陆元柒角捌分.

    Follows the rules for bills (《正确填写票据和结算凭证的基本规定》): 壹拾 is written in full;
    a run of zeros inside the integer part is one 零; 整 after 元 when there are no 角/分, none
    after 分; 零 between 元 and 分 when 角 is zero; amounts under one yuan start at 角 or 分;
    negative amounts (refunds) are prefixed 负."""
    value = to_yuan(amount)
    negative = value < 0
    fen_total = int(abs(value) * 100)
    yuan, jiao, fen = fen_total // 100, fen_total // 10 % 10, fen_total % 10
    if fen_total == 0:
        return "零元整"
    groups = []
    rest = yuan
    while rest:
        groups.append(rest % 10_000)
        rest //= 10_000
    words, gap = "", False
    for position in reversed(range(len(groups))):
        group = groups[position]
        if group == 0:
            gap = bool(words)
            continue
        if words and (gap or group < 1000):
            words += "零"
        words += _group_words(group) + _GROUP_UNITS[position]
        gap = False
    if yuan:
        words += "元"
    if jiao == 0 and fen == 0:
        words += "整"
    else:
        if jiao:
            words += _DIGITS[jiao] + "角"
        elif yuan:
            words += "零"
        if fen:
            words += _DIGITS[fen] + "分"
    return ("负" if negative else "") + words
