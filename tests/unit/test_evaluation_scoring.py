"""The scoring model's arithmetic against hand-computed cases: dimension means from the panel's
sheets, the weighted overall rounded half-up to 2 decimals from the unrounded means, the grade
boundaries at exactly 85 / 70 / 55, and score parsing (range, one decimal)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.evaluation import scoring


def sheets(*rows):
    return [dict(zip(scoring.DIMENSION_CODES, (Decimal(str(v)) for v in row), strict=True)) for row in rows]


def test_weights_are_the_documented_ones_and_sum_to_one():
    weights = {d.code: d.weight for d in scoring.DIMENSIONS}
    assert weights == {
        "maturity": Decimal("0.20"),
        "innovation": Decimal("0.20"),
        "ip": Decimal("0.15"),
        "market": Decimal("0.20"),
        "team": Decimal("0.10"),
        "risk": Decimal("0.15"),
    }
    assert sum(weights.values()) == 1
    assert [d.label for d in scoring.DIMENSIONS] == ["技术成熟度", "创新性", "知识产权", "市场前景", "团队能力", "风险"]


def test_three_experts_hand_computed():
    # maturity innovation ip market team risk
    result = scoring.compute(
        sheets(
            [80, 85, 70, 90, 75, 60],
            [85, 80, 75, 85, 80, 65],
            [90, 78.5, 72, 80, 70, 70.5],
        )
    )
    by = {r.dimension.code: r for r in result.dimensions}
    assert by["maturity"].mean == 85
    assert by["innovation"].mean_2 == Decimal("81.17")  # 243.5 / 3 = 81.1666…
    assert by["ip"].mean_2 == Decimal("72.33")  # 217 / 3
    assert by["risk"].mean_2 == Decimal("65.17")  # 195.5 / 3
    assert (by["innovation"].minimum, by["innovation"].maximum) == (Decimal("78.5"), Decimal(85))
    # 17 + 16.2333… + 10.85 + 17 + 7.5 + 9.775 = 78.358333…
    assert by["risk"].weighted_2 == Decimal("9.78")  # 9.775 half-up
    assert result.overall == Decimal("78.36")
    assert result.grade.text == "B 良好"
    assert result.sheets == 3


def test_overall_is_rounded_half_up_once_from_unrounded_means():
    # 16 + 16 + 0.15 × 70.3 (10.545) + 16 + 8 + 12 = 78.545 → 78.55 (half-even would give 78.54)
    result = scoring.compute(sheets([80, 80, 70.3, 80, 80, 80]))
    assert result.overall == Decimal("78.55")
    # Means 80.0333… in every dimension: the overall is the mean itself, 80.03 — not a sum of
    # six rounded contributions.
    result = scoring.compute(sheets([80] * 6, [80] * 6, [80.1] * 6))
    assert result.overall == Decimal("80.03")


@pytest.mark.parametrize(
    ("overall", "grade"),
    [
        ("100", "A 优秀"),
        ("85", "A 优秀"),
        ("84.99", "B 良好"),
        ("70", "B 良好"),
        ("69.99", "C 一般"),
        ("55", "C 一般"),
        ("54.99", "D 较弱"),
        ("0", "D 较弱"),
    ],
)
def test_grade_boundaries(overall, grade):
    assert scoring.grade_of(Decimal(overall)).text == grade


@pytest.mark.parametrize(("score", "grade"), [(85, "A"), (84.9, "B"), (70, "B"), (69.9, "C"), (55, "C"), (54.9, "D")])
def test_grade_boundaries_through_the_computation(score, grade):
    result = scoring.compute(sheets([score] * 6, [score] * 6, [score] * 6))
    assert result.overall == Decimal(str(score)).quantize(Decimal("0.01"))
    assert result.grade.code == grade


@pytest.mark.parametrize(
    ("raw", "value"), [(78, "78.0"), ("78", "78.0"), ("78.5", "78.5"), (78.5, "78.5"), ("0", "0.0"), (100, "100.0")]
)
def test_scores_parse(raw, value):
    assert scoring.parse_score(raw) == Decimal(value)


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (101, "评分须在 0–100 之间"),
        ("-1", "评分须在 0–100 之间"),
        ("100.1", "评分须在 0–100 之间"),
        ("78.55", "评分最多保留一位小数"),
        ("八十", "评分须为数字，如 78 或 78.5"),
        ("NaN", "评分须为数字，如 78 或 78.5"),
        ("", "请填写评分"),
        (None, "请填写评分"),
        (True, "请填写评分"),
    ],
)
def test_bad_scores_are_refused_with_a_reason(raw, reason):
    with pytest.raises(ValueError, match=reason):
        scoring.parse_score(raw)


def test_model_document_explains_every_level_and_carries_the_disclaimer():
    doc = scoring.model_document()
    assert [d["weight"] for d in doc["dimensions"]] == ["0.20", "0.20", "0.15", "0.20", "0.10", "0.15"]
    assert all([lv["score"] for lv in d["levels"]] == [90, 70, 50, 30] for d in doc["dimensions"])
    assert [g["minimum"] for g in doc["grades"]] == ["85.00", "70.00", "55.00", "0.00"]
    assert "不构成任何形式的认证" in doc["disclaimer"]
