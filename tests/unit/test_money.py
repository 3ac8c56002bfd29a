from decimal import Decimal

import pytest

from marketplace.core import money
from marketplace.core.money import format_yuan, parse_amount, parse_price
from marketplace.core.taxonomy import PriceKind


@pytest.mark.parametrize(
    ("raw", "yuan"),
    [
        ("50万", "500000.00"),
        ("50万元", "500000.00"),
        ("1.25亿元", "125000000.00"),
        ("8800", "8800.00"),
        ("8,800.5元", "8800.50"),
        ("１２万", "120000.00"),
        (Decimal("0.005"), "0.01"),
    ],
)
def test_parse_amount(raw, yuan):
    assert parse_amount(raw) == Decimal(yuan)


@pytest.mark.parametrize(
    ("raw", "message"), [("abc", "无法识别"), ("-5", "无法识别"), ("1e30", "无法识别"), ("9999999亿", "金额过大")]
)
def test_parse_amount_refuses(raw, message):
    with pytest.raises(ValueError, match=message):
        parse_amount(raw)


def test_prices():
    assert parse_price("面议").kind == PriceKind.NEGOTIABLE
    assert parse_price("").kind == PriceKind.NEGOTIABLE
    price = parse_price("100.0万元-200.0万元")  # as written on 51jishu.com
    assert (price.kind, price.low, price.high) == (PriceKind.RANGE, Decimal("1000000.00"), Decimal("2000000.00"))
    price = parse_price("5-10万")
    assert (price.low, price.high) == (Decimal("50000.00"), Decimal("100000.00"))
    same = parse_price("9.0万元-9.0万元")
    assert (same.kind, same.low, same.high) == (PriceKind.FIXED, Decimal("90000.00"), None)
    with pytest.raises(ValueError, match="下限不能大于上限"):
        parse_price("20万-10万")


@pytest.mark.parametrize(
    ("amount", "text"),
    [
        (Decimal("8800"), "8,800 元"),
        (Decimal("8800.5"), "8,800.50 元"),
        (Decimal("1250000"), "125 万元"),
        (Decimal("12345678"), "1,234.5678 万元"),
        (Decimal("125000000"), "1.25 亿元"),
        (None, "—"),
    ],
)
def test_format_yuan(amount, text):
    assert format_yuan(amount) == text


def test_price_display():
    assert parse_price("100万-200万").display() == "100 万元 – 200 万元"
    assert parse_price("面议").display() == "面议"


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        ("0", "零元整"),
        ("0.05", "伍分"),
        ("0.5", "伍角"),
        ("0.55", "伍角伍分"),
        ("1", "壹元整"),
        ("10", "壹拾元整"),
        ("10.05", "壹拾元零伍分"),
        ("15", "壹拾伍元整"),
        ("100", "壹佰元整"),
        ("101", "壹佰零壹元整"),
        ("1010", "壹仟零壹拾元整"),
        ("1001", "壹仟零壹元整"),
        ("1100", "壹仟壹佰元整"),
        ("100000", "壹拾万元整"),
        ("100010.50", "壹拾万零壹拾元伍角"),
        ("101000", "壹拾万壹仟元整"),
        ("1000001", "壹佰万零壹元整"),
        ("123456.78", "壹拾贰万叁仟肆佰伍拾陆元柒角捌分"),
        ("100000000", "壹亿元整"),
        ("100000000.01", "壹亿元零壹分"),
        ("100010000", "壹亿零壹万元整"),
        ("100000001", "壹亿零壹元整"),
        ("120000000000", "壹仟贰佰亿元整"),
        ("99999999999999.99", "玖拾玖万亿玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖元玖角玖分"),
        ("-200.5", "负贰佰元伍角"),
    ],
)
def test_capital_amount(amount, words):
    assert money.capital_amount(Decimal(amount)) == words


def test_capital_amount_rounds_to_the_fen_like_the_database():
    assert money.capital_amount(Decimal("0.005")) == "壹分"  # half up, as to_yuan
    assert money.capital_amount(Decimal("1.004")) == "壹元整"
