"""Quartiles (inclusive linear interpolation) and the percentile of a price."""

from __future__ import annotations

import statistics
from decimal import Decimal

from marketplace.valuation import compute

D = Decimal


def test_quartiles_by_hand():
    values = [D(v) for v in ("10", "20", "30", "40", "100")]
    # positions p·(n−1): 1 → 20, 2 → 30, 3 → 40
    assert compute.summary(values) == {"min": D(10), "p25": D(20), "median": D(30), "p75": D(40), "max": D(100)}
    four = [D(v) for v in ("1", "2", "4", "8")]
    # positions 0.75, 1.5, 2.25: 1 + 0.75×1 = 1.75; 2 + 0.5×2 = 3; 4 + 0.25×4 = 5
    assert compute.quantile(four, "0.25") == D("1.75")
    assert compute.quantile(four, "0.5") == D(3)
    assert compute.quantile(four, "0.75") == D(5)


def test_same_as_statistics_inclusive():
    values = [D(v) for v in ("12.5", "3", "77", "41", "9", "15", "60")]
    expected = statistics.quantiles(values, n=4, method="inclusive")
    assert [compute.quantile(values, p) for p in ("0.25", "0.5", "0.75")] == expected


def test_one_value_and_percentile():
    assert compute.summary([D(5)])["p75"] == D(5)
    values = [D(v) for v in (10, 20, 30, 40)]
    assert compute.percentile_of(D(25), values) == D("50.0")
    assert compute.percentile_of(D(30), values) == D("62.5")  # 2 below + ½ equal of 4
    assert compute.percentile_of(D(5), values) == D("0.0")
