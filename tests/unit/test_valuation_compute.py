"""Worksheet arithmetic against figures computed by hand."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from marketplace.core.errors import ValidationFailed
from marketplace.valuation import compute

BASE = {
    "revenues": [
        {"year": "2027", "amount": "100"},
        {"year": "2028", "amount": "120"},
        {"year": "2029", "amount": "150"},
    ],
    "share_pct": "25",
    "discount_pct": "10",
    "life_years": "2.5",
}


def test_income_approach_with_a_partial_last_year():
    r = compute.compute(compute.clean_inputs(BASE))["income"]
    # 100×25%/1.1 = 22.7273; 120×25%/1.21 = 24.7934; 150×25%×0.5/1.331 = 18.75/1.331 = 14.0872
    assert [row["pv"] for row in r["rows"]] == ["22.7273", "24.7934", "14.0872"]
    assert [row["fraction"] for row in r["rows"]] == ["1", "1", "0.5"]
    assert [row["factor"] for row in r["rows"]] == ["0.909091", "0.826446", "0.751315"]
    assert r["value"] == "61.6079"
    assert "第 3 年只计 0.5 年" in r["notes"][0]


def test_risk_adjustment_is_added_to_the_discount_rate_and_life_caps_the_years():
    data = {**BASE, "risk_pct": "10", "life_years": "1"}
    r = compute.compute(compute.clean_inputs(data))["income"]
    assert r["rate_pct"] == "20"
    assert [row["pv"] for row in r["rows"]] == ["20.8333"]  # 25 / 1.2
    assert any("超出剩余寿命" in n for n in r["notes"])


def test_cost_approach_with_margin_and_obsolescence_rates():
    data = {
        **BASE,
        "cost_items": [
            {"name": "研发人工", "amount": "50"},
            {"name": "材料", "amount": "20"},
            {"name": "设备", "amount": "10"},
            {"name": "专利费", "amount": "5"},
        ],
        "margin_pct": "10",
        "functional_pct": "20",
        "economic_pct": "10",
    }
    result = compute.compute(compute.clean_inputs(data))
    cost = result["cost"]
    assert cost["subtotal"] == "85.0000"
    assert cost["replacement"] == "93.5000"  # 85 × 1.1
    assert cost["factor"] == "0.720000"  # 0.8 × 0.9
    assert cost["value"] == "67.3200"
    assert result["range"] == {"low": "61.6079", "high": "67.3200"}
    assert "不构成资产评估报告" in result["disclaimer"]


def test_cost_approach_life_based():
    data = {
        **BASE,
        "cost_items": [{"name": "研发", "amount": "85"}],
        "margin_pct": "10",
        "obsolescence_mode": "life",
        "cost_remaining_life": "8",
        "cost_total_life": "10",
    }
    assert compute.compute(compute.clean_inputs(data))["cost"]["value"] == "74.8000"  # 93.5 × 0.8


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"share_pct": "-1"}, "share_pct", "不能为负数"),
        ({"discount_pct": "120"}, "discount_pct", "0–100%"),
        ({"share_pct": "101"}, "share_pct", "0–100%"),
        ({"life_years": "21"}, "life_years", "不能超过 20 年"),
        ({"revenues": []}, "revenues", "至少填写一年"),
        ({"revenues": [{"year": "2027", "amount": "-5"}]}, "revenues-0-amount", "不能为负数"),
        ({"cost_items": [{"name": "人工", "amount": "-3"}]}, "cost_items-0-amount", "不能为负数"),
        ({"share_pct": "abc"}, "share_pct", "须为数字"),
    ],
)
def test_invalid_assumptions_are_refused_beside_the_field(change, field, message):
    with pytest.raises(ValidationFailed) as info:
        compute.clean_inputs({**BASE, **change})
    assert message in info.value.fields[field]


def test_patent_life_from_the_application_number():
    hint = compute.patent_life("ZL201720001285.X", date(2027, 1, 1))
    assert hint.kind == "实用新型" and hint.term == 10 and hint.filing_year == 2017
    assert hint.remaining == Decimal("0.0")
    invention = compute.patent_life("ZL202010102344.5", date(2026, 1, 1))
    assert invention.term == 20 and invention.remaining == Decimal("14.0")
    assert compute.patent_life("CN114081026A", date(2026, 1, 1)) is None
