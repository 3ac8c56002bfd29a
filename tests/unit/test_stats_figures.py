"""Turnover figures on small hand-built registers, each checked by hand.

Contracts are created directly through the model (registration itself belongs to the contract
services): registered_at is UTC; periods are Asia/Shanghai."""

from __future__ import annotations

import itertools
from datetime import date, datetime
from decimal import Decimal

import pytest

from marketplace.deals.models import ContractAmendment, Deal, DealBroker, TechContract
from marketplace.extensions import db
from marketplace.stats import query
from marketplace.stats.query import Filters

_numbers = itertools.count(1)


def contract(
    registered_at: datetime,
    amount: str = "100000.00",
    tech: str | None = None,
    seller_region: str = "371102",
    buyer_region: str = "370102",
    contract_type: str = "dev_commissioned",
    field_code: str | None = "03",
    status: str = "registered",
    cancelled_at: datetime | None = None,
    **extra,
) -> TechContract:
    n = next(_numbers)
    row = TechContract(
        project_name=extra.pop("project_name", f"项目{n}"),
        contract_type=contract_type,
        seller_name=extra.pop("seller_name", "日照某大学"),
        seller_nature=extra.pop("seller_nature", "university"),
        seller_region=seller_region,
        buyer_name=extra.pop("buyer_name", "济南某公司"),
        buyer_nature=extra.pop("buyer_nature", "enterprise_domestic"),
        buyer_region=buyer_region,
        amount=Decimal(amount),
        technology_amount=Decimal(tech if tech is not None else amount),
        signed_on=registered_at.date(),
        field_code=field_code,
        status=status,
        registration_number=f"2025371100{n:06d}",
        registered_at=registered_at,
        cancelled_at=cancelled_at,
        **extra,
    )
    db.session.add(row)
    db.session.commit()
    return row


def year(y: int, **kw) -> Filters:
    start, end = query.year_period(y)
    return Filters(start, end, **kw)


def test_output_counts_seller_in_city_and_input_counts_buyer_in_city():
    contract(datetime(2025, 3, 1, 2), "100000.00", "80000.00", seller_region="371102", buyer_region="370102")
    contract(datetime(2025, 4, 1, 2), "50000.50", seller_region="370102", buyer_region="371103")
    contract(datetime(2025, 5, 1, 2), "20000.25", seller_region="371121", buyer_region="371122")

    out = query.figures(year(2025, direction="output"))
    assert (out.count, out.contract_amount, out.tech_amount) == (2, Decimal("120000.25"), Decimal("100000.25"))
    inp = query.figures(year(2025, direction="input"))
    assert (inp.count, inp.contract_amount) == (2, Decimal("70000.75"))
    # A district: 东港区 sells one, buys none; 岚山区 buys one.
    assert query.figures(year(2025, direction="output", district="371102")).contract_amount == Decimal("100000.00")
    assert query.figures(year(2025, direction="input", district="371102")).count == 0
    assert query.figures(year(2025, direction="input", district="371103")).contract_amount == Decimal("50000.50")
    assert out.average == Decimal("60000.13")  # 120000.25 / 2, half up


def test_foreign_flows_are_apart_and_inside_the_totals():
    contract(datetime(2025, 3, 1), "300000.00", seller_region="371102", buyer_region="810000")  # to 香港
    contract(datetime(2025, 3, 2), "200000.00", seller_region="900840", buyer_region="371103")  # from abroad
    contract(datetime(2025, 3, 3), "100000.00", seller_region="371102", buyer_region="371103")  # local

    assert query.figures(year(2025, direction="foreign_output")).contract_amount == Decimal("300000.00")
    assert query.figures(year(2025, direction="foreign_input")).contract_amount == Decimal("200000.00")
    assert query.figures(year(2025, direction="output")).contract_amount == Decimal("400000.00")
    assert query.figures(year(2025, direction="input")).contract_amount == Decimal("300000.00")


def test_period_edges_are_midnight_in_shanghai():
    # 2025-12-31 23:30 Shanghai = 15:30 UTC: 2025. 2026-01-01 00:00 Shanghai = 2025-12-31 16:00 UTC: 2026.
    contract(datetime(2025, 12, 31, 15, 30), "1.00")
    contract(datetime(2025, 12, 31, 16, 0), "2.00")
    # 2025-01-01 00:00 Shanghai = 2024-12-31 16:00 UTC: 2025; a minute earlier: 2024.
    contract(datetime(2024, 12, 31, 16, 0), "4.00")
    contract(datetime(2024, 12, 31, 15, 59), "8.00")

    assert query.figures(year(2025)).contract_amount == Decimal("5.00")
    assert query.figures(year(2026)).contract_amount == Decimal("2.00")
    assert query.figures(year(2024)).contract_amount == Decimal("8.00")
    months = {row.key: row.totals.contract_amount for row in query.breakdown(year(2025), "month")}
    assert months["2025-01"] == Decimal("4.00") and months["2025-12"] == Decimal("1.00")
    assert len(months) == 12


def test_quarter_boundaries():
    contract(datetime(2025, 3, 31, 15, 59), "1.00")  # 23:59 on 31 March in Shanghai: Q1
    contract(datetime(2025, 3, 31, 16, 0), "2.00")  # 00:00 on 1 April: Q2
    contract(datetime(2025, 6, 30, 15, 59, 59), "4.00")  # Q2
    contract(datetime(2025, 6, 30, 16, 0), "8.00")  # Q3

    def quarter(q):
        return query.figures(Filters(*query.quarter_period(2025, q))).contract_amount

    assert [quarter(q) for q in (1, 2, 3, 4)] == [Decimal("1.00"), Decimal("6.00"), Decimal("8.00"), Decimal("0.00")]
    rows = query.breakdown(year(2025), "quarter")
    assert [(r.key, r.totals.contract_amount) for r in rows] == [
        ("2025-Q1", Decimal("1.00")),
        ("2025-Q2", Decimal("6.00")),
        ("2025-Q3", Decimal("8.00")),
    ]


def test_cancellations_respected_as_of_the_chosen_date():
    kept = contract(datetime(2025, 5, 1), "100.00")
    contract(datetime(2025, 6, 1), "10.00", status="cancelled", cancelled_at=datetime(2026, 3, 1))
    contract(datetime(2025, 7, 1), "1.00", status="cancelled", cancelled_at=datetime(2025, 8, 1))

    # Today: both cancelled contracts are out.
    assert query.figures(year(2025)).contract_amount == Decimal("100.00")
    # As of 2025-12-31 the one cancelled in 2026 still counted; the one cancelled in August did not.
    assert query.figures(year(2025, as_of=date(2025, 12, 31))).contract_amount == Decimal("110.00")
    # As of 2025-06-15 the June contract was registered (and later cancelled): 110; July's not yet.
    assert query.figures(year(2025, as_of=date(2025, 7, 15))).contract_amount == Decimal("111.00")
    assert query.figures(year(2025, as_of=date(2025, 5, 15))).contract_amount == Decimal("100.00")
    assert kept.id


def test_amendments_respected_as_of_the_chosen_date():
    c = contract(datetime(2025, 5, 1), "150000.00", "120000.00", field_code="03")
    # The current row holds the amended values; the amendment keeps what they were.
    db.session.add(
        ContractAmendment(
            contract_id=c.id,
            kind="amend",
            changes={
                "amount": ["100000.00", "150000.00"],
                "technology_amount": ["90000.00", "120000.00"],
                "field_code": ["01", "03"],
            },
            reason="增加研发内容",
            created_at=datetime(2026, 2, 1, 3),
        )
    )
    db.session.commit()

    now = query.figures(year(2025))
    assert (now.contract_amount, now.tech_amount) == (Decimal("150000.00"), Decimal("120000.00"))
    then = year(2025, as_of=date(2025, 12, 31))
    assert (query.figures(then).contract_amount, query.figures(then).tech_amount) == (
        Decimal("100000.00"),
        Decimal("90000.00"),
    )
    # The field moved too: as of 2025 it was 电子信息.
    fields_then = {r.key: r.totals.contract_amount for r in query.breakdown(then, "field")}
    assert fields_then == {"01": Decimal("100000.00")}
    assert query.figures(then.with_(field="03")).count == 0
    # The list behind the as-of figure shows the as-of amounts and adds up to it.
    items, totals = query.contract_rows(then)
    assert [i["amount"] for i in items] == [Decimal("100000.00")] and totals.contract_amount == Decimal("100000.00")


def test_breakdown_rows_add_up_to_the_total_exactly():
    amounts = ["0.01", "12345.67", "99999999.99", "333.33", "1000000.00", "7.77"]
    types = ["dev_commissioned", "transfer_patent", "service", "training", "license_patent", "consulting"]
    for i, (amount, ctype) in enumerate(zip(amounts, types, strict=True)):
        contract(
            datetime(2025, 1 + i, 10),
            amount,
            seller_region=["371102", "371103", "371121"][i % 3],
            contract_type=ctype,
            field_code=[None, "01", "0305"][i % 3],
        )
    f = year(2025)
    total = query.figures(f)
    assert total.contract_amount == sum(Decimal(a) for a in amounts)
    for group in query.GROUPS:
        rows = query.breakdown(f, group)
        assert sum((r.totals for r in rows), query.Totals()) == total, group
    groups = {r.key: r.totals.count for r in query.breakdown(f, "contract_group")}
    assert groups == {"dev": 1, "transfer": 1, "service": 2, "license": 1, "consulting": 1}
    fields = {r.key: r.label for r in query.breakdown(f, "field")}
    assert fields == {"": "未填写", "01": "电子信息", "03": "先进制造"}


@pytest.mark.parametrize("group", ["district", "field", "contract_type", "seller_nature", "month"])
def test_drill_down_list_total_equals_the_row(group):
    for i in range(9):
        contract(
            datetime(2025, 1 + i, 5),
            f"{1000 + i * 111}.{i:02d}",
            seller_region=["371102", "371103", "371122"][i % 3],
            field_code=["01", "03", None][i % 3],
            contract_type=["service", "dev_cooperative"][i % 2],
            seller_nature=["university", "institute", "enterprise_domestic"][i % 3],
        )
    for row in query.breakdown(year(2025), group):
        items, totals = query.contract_rows(row.filters, per_page=200)
        assert totals == row.totals
        assert sum(i["amount"] for i in items) == row.totals.contract_amount
        assert len(items) == row.totals.count


def test_broker_breakdown_uses_the_lead_broker(make_user, make_org):
    broker = make_user("broker", name="王经纪")
    seller, buyer = make_org(), make_org(org_type="enterprise")
    deal = Deal(title="项目", seller_org_id=seller.id, buyer_org_id=buyer.id)
    db.session.add(deal)
    db.session.flush()
    db.session.add(DealBroker(deal_id=deal.id, user_id=broker.id, lead=True))
    db.session.commit()
    contract(datetime(2025, 2, 1), "500.00", deal_id=deal.id)
    contract(datetime(2025, 2, 2), "20.00")
    rows = {r.label: r.totals.contract_amount for r in query.breakdown(year(2025), "broker")}
    assert rows == {"王经纪": Decimal("500.00"), "无经纪人参与": Decimal("20.00")}
    items, _ = query.contract_rows(year(2025, by="broker", key=str(broker.id)))
    assert [i["broker_name"] for i in items] == ["王经纪"]


def test_growth_and_periods():
    assert query.previous_period(date(2025, 4, 1), date(2025, 6, 30)) == (date(2025, 1, 1), date(2025, 3, 31))
    assert query.previous_period(date(2025, 3, 1), date(2025, 3, 31)) == (date(2025, 2, 1), date(2025, 2, 28))
    assert query.same_period_last_year(date(2024, 2, 1), date(2024, 2, 29)) == (date(2023, 2, 1), date(2023, 2, 28))
    assert query.previous_period(date(2025, 1, 10), date(2025, 1, 19)) == (date(2024, 12, 31), date(2025, 1, 9))
    assert query.growth(Decimal("120"), Decimal("100")) == Decimal("20.0")
    assert query.growth(Decimal("50"), Decimal("0")) is None


def test_target_progress(app):
    contract(datetime(2025, 3, 1), "2500000000.00")
    contract(datetime(2025, 3, 1), "7.00", seller_region="370102")  # not ours
    app.config["STATS_TARGETS"] = {"2025": "12500000000"}
    try:
        progress = query.target_progress(year(2025))
    finally:
        app.config.pop("STATS_TARGETS")
    assert progress["done"] == Decimal("2500000000.00") and progress["ratio"] == Decimal("20.0")


def test_funnel_counts_each_step_in_the_period(make_achievement):
    from marketplace.core.timeutil import local_today, utcnow
    from marketplace.stats import dashboard

    make_achievement(field="0303")  # published now, 先进制造
    make_achievement(field="0101")  # published now, 电子信息
    make_achievement(status="draft", field="0303")  # not listed
    now = utcnow().replace(microsecond=0)
    contract(now, "10.00", field_code="03")  # signed and registered now
    pending = contract(now, "10.00", field_code="03", status="submitted")  # signed, not yet registered
    pending.registered_at, pending.registration_number = None, None
    db.session.commit()
    today = local_today()
    steps = {s["label"]: s["count"] for s in dashboard.funnel(date(today.year, 1, 1), today, "03")}
    assert steps == {"成果发布": 1, "咨询洽谈": 0, "经纪引荐": 0, "立项对接": 0, "合同签订": 2, "认定登记": 1}
    everything = {s["label"]: s["count"] for s in dashboard.funnel(date(today.year, 1, 1), today, None)}
    assert everything["成果发布"] == 2
