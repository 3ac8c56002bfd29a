"""The input guards of marketplace/core: control characters stripped from every request value,
column sizes enforced when a value is set, ids bounded to what the database can hold."""

from __future__ import annotations

from decimal import Decimal

import pytest

from marketplace.accounts.models import Organization
from marketplace.core.errors import ValidationFailed
from marketplace.core.urls import MAX_ID, digits_up_to
from marketplace.core.validators import clean_input, parse_id, strip_controls
from marketplace.deals.models import Deal
from marketplace.listings.models import Achievement
from marketplace.listings.services import safe_filename


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("plain 文本", "plain 文本"),
        ("a\x00b", "ab"),
        ("\x1b[31m红\x1b[0m", "[31m红[0m"),
        ("abc\u202etxt.exe", "abctxt.exe"),
        ("\u2066隔离\u2069", "隔离"),
        ("一\r\n二\r三\n四\t五", "一\n二\n三\n四\t五"),
        ("C1\x85\x9f", "C1"),
        ("DEL\x7f", "DEL"),
        ("lone \ud800 surrogate", "lone  surrogate"),
        ("👩🏽‍🔬 科技Ωmega тест ١٢٣ 𠀀", "👩🏽‍🔬 科技Ωmega тест ١٢٣ 𠀀"),  # the ZWJ stays
    ],
)
def test_strip_controls(raw, clean):
    assert strip_controls(raw) == clean


def test_clean_input_walks_json_values_and_keys():
    assert clean_input({"t\x00": ["a\x1b", {"b": "c\r\nd"}], "n": 5, "f": None}) == {
        "t": ["a", {"b": "c\nd"}],
        "n": 5,
        "f": None,
    }


def test_every_request_value_arrives_clean(app):
    from flask import request

    form = {"f": "x\x1by", "k\u202e": "v"}
    with app.test_request_context("/?q=a%00b", method="POST", data=form):
        assert request.args["q"] == "ab" and request.form["f"] == "xy" and "k" in request.form
    with app.test_request_context("/", method="POST", json={"title": "t\x00\u202e", "n": [1, "\r"]}):
        assert request.get_json() == {"title": "t", "n": [1, "\n"]}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("12", 12), (" 7 ", 7), ("0", None), ("-3", None), ("²", None), ("١٢", None), ("1_0", None), ("", None)]
    + [(str(MAX_ID), MAX_ID), (str(MAX_ID + 1), None), (None, None), (12, 12)],
)
def test_parse_id(raw, expected):
    assert parse_id(raw) == expected


def test_digits_up_to_matches_exactly_the_numbers_up_to_the_limit():
    import re

    for limit in (5, 10, 99, 100, 305, 1000, MAX_ID):
        pattern = re.compile(f"^{digits_up_to(limit)}$")
        for n in [*range(0, 1200), limit - 1, limit, limit + 1, limit * 10, 10 ** len(str(limit))]:
            assert bool(pattern.match(str(n))) == (0 <= n <= limit), (limit, n)
        assert pattern.match("005") and not pattern.match("") and not pattern.match("1a")


def test_path_ids_past_the_database_integer_are_not_found(client, app):
    for url in (
        f"/deals/{MAX_ID + 1}",
        "/api/v1/deals/99999999999999999999",
        "/api/v1/valuation/worksheets/2147483648",
    ):
        for method in ("GET", "DELETE", "PUT", "POST"):
            response = client.open(url, method=method)
            assert response.status_code in (404, 302), (url, method, response.status_code)  # 302: log in first
    assert client.get(f"/api/v1/achievements/{MAX_ID + 1}").status_code == 404
    assert client.get(f"/api/v1/achievements/{MAX_ID}").status_code == 404
    with app.test_request_context():
        from flask import url_for

        assert url_for("listings.achievement_detail", listing_id=42).endswith("/achievements/42")


def test_a_string_longer_than_its_column_is_a_field_error():
    with pytest.raises(ValidationFailed) as exc:
        Achievement(title="长" * 201)
    assert "title" in exc.value.fields and "最多 200 个字" in exc.value.fields["title"]
    Achievement(title="长" * 200)  # the limit itself is fine


def test_an_integer_or_amount_too_large_for_its_column_is_a_field_error():
    with pytest.raises(ValidationFailed) as exc:
        Deal(expected_value=Decimal("1e14"))
    assert "expected_value" in exc.value.fields
    with pytest.raises(ValidationFailed):
        Organization(id=MAX_ID + 1)
    Deal(expected_value=Decimal("99999999999999.99"))


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../etc/passwd", "passwd"),
        ("..\\..\\x.pdf", "x.pdf"),
        ("a\x00b.pdf", "ab.pdf"),
        ("invoice\u202efdp.exe", "invoicefdp.exe"),
        ('a<b>:"|?*.pdf', "ab.pdf"),
        ("..", "附件"),
        ("长" * 300 + ".pdf", "长" * 116 + ".pdf"),
    ],
)
def test_safe_filename(raw, safe):
    assert safe_filename(raw) == safe
