"""Invoice rules (marketplace/deals/invoices.py): numbering, tax and totals, the computed default
lines, refusals, void and paid, the audit trail and the deal timeline."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.accounts.models import User
from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.core.timeutil import local_today
from marketplace.deals import invoices
from marketplace.deals.models import Deal, DealEvent, Invoice, NumberSequence
from marketplace.extensions import db
from tests.web.access_invoices import add_contract, deal_between

YEAR = local_today().year


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(name="日照职业技术学院", org_type="university")
    buyer = make_org(name="山东岚桥港口装备有限公司", org_type="enterprise", address="日照市岚山区港口路9号")
    agency = make_org(name="日照市技术转移服务中心", org_type="agency")
    return {
        "seller": seller,
        "buyer": buyer,
        "broker": make_user("broker", org=agency, name="李经纪"),
        "other_broker": make_user("broker"),
        "seller_member": make_user("university", org=seller),
        "official": make_user("official"),
        "admin": make_user("admin", org=None),
    }


@pytest.fixture
def deal(people):
    deal = deal_between(people["seller"], people["buyer"], people["broker"])
    db.session.commit()
    return deal


def issue(deal, actor, kind="commission", **kwargs) -> Invoice:
    invoice = invoices.create_invoice(deal, actor, kind, **kwargs)
    db.session.commit()
    return invoice


# ---------------------------------------------------------------------------------------------
# Numbers


def test_numbers_are_sequential_per_year_and_voiding_keeps_them(deal, people):
    broker = people["broker"]
    first = issue(deal, broker)
    second = issue(deal, broker)
    assert (first.number, second.number) == (f"KJTB{YEAR}000001", f"KJTB{YEAR}000002")
    invoices.void_invoice(second, broker, "金额有误")
    db.session.commit()
    third = issue(deal, broker)
    assert second.number == f"KJTB{YEAR}000002"  # the void one keeps its number
    assert third.number == f"KJTB{YEAR}000003"  # and it is not handed out again


def test_a_rolled_back_issue_gives_its_number_back(deal, people):
    issue(deal, people["broker"])
    invoices.create_invoice(deal, people["broker"], "commission")  # flushed, never committed
    db.session.rollback()
    assert issue(deal, people["broker"]).number == f"KJTB{YEAR}000002"
    assert db.session.scalar(select(NumberSequence.last_value).where(NumberSequence.name == "invoice")) == 2


def test_a_refused_issue_takes_no_number(deal, people):
    with pytest.raises(ValidationFailed):
        invoices.create_invoice(deal, people["broker"], "commission", tax_rate="abc")
    db.session.rollback()
    assert issue(deal, people["broker"]).number == f"KJTB{YEAR}000001"


def test_numbers_restart_each_year_and_follow_the_configured_format(app, deal, people):
    last_year = local_today().replace(year=YEAR - 1, month=12, day=31)
    old = issue(deal, people["broker"], issued_on=last_year.isoformat(), due_on=last_year.isoformat())
    new = issue(deal, people["broker"])
    assert old.number == f"KJTB{YEAR - 1}000001"
    assert new.number == f"KJTB{YEAR}000001"
    app.config["INVOICE_NUMBER_FORMAT"] = "RZ-{year}-{seq:04d}"
    try:
        assert issue(deal, people["broker"]).number == f"RZ-{YEAR}-0002"
    finally:
        del app.config["INVOICE_NUMBER_FORMAT"]


# ---------------------------------------------------------------------------------------------
# Amounts


@pytest.mark.parametrize(
    ("subtotal", "rate", "tax"),
    [
        (Decimal("0.25"), Decimal("2"), Decimal("0.01")),  # 0.005 rounds half-up to 0.01
        (Decimal("0.24"), Decimal("2"), Decimal("0.00")),  # 0.0048 rounds down
        (Decimal("123456.78"), Decimal("6"), Decimal("7407.41")),  # 7407.4068
        (Decimal("100.00"), Decimal("0"), Decimal("0.00")),
        (Decimal("99999.99"), Decimal("13"), Decimal("13000.00")),  # 12999.9987
    ],
)
def test_tax_is_rounded_half_up_to_the_fen(subtotal, rate, tax):
    assert invoices.tax_of(subtotal, rate) == tax


def test_commission_from_the_rate_and_the_contract_amount(deal, people):
    add_contract(deal, amount=Decimal("1234567.89"))
    db.session.commit()
    invoice = issue(deal, people["broker"])
    # 5 % × 1,234,567.89 = 61,728.3945 → 61,728.39; tax 6 % = 3,703.7034 → 3,703.70
    assert invoice.subtotal == Decimal("61728.39")
    assert invoice.tax == Decimal("3703.70")
    assert invoice.total == Decimal("65432.09")
    assert invoice.tax_rate == Decimal("6.000")
    [line] = invoice.lines
    assert line.amount == Decimal("61728.39") and line.quantity == 1
    assert "合同成交额 ¥1,234,567.89 × 5%" in line.description
    assert invoice.payer_name == "山东岚桥港口装备有限公司"  # commission_payer = buyer
    assert invoice.payer_address == "日照市岚山区港口路9号"
    assert invoice.payee_name == "日照市技术转移服务中心"  # the broker's organisation


def test_commission_without_contract_uses_the_expected_value(deal, people):
    invoice = issue(deal, people["broker"])
    assert invoice.subtotal == Decimal("25000.00")  # 5 % × 500,000
    assert "预计成交额" in invoice.lines[0].description


def test_fixed_commission_split_between_both_sides_adds_up(people):
    deal = deal_between(
        people["seller"],
        people["buyer"],
        people["broker"],
        commission_kind="fixed",
        commission_amount=Decimal("10000.01"),
        commission_payer="both",
    )
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_invoice(deal, people["broker"], "commission")
    assert "请选择本张发票的付款方" in refused.value.fields["payer"]
    db.session.rollback()
    seller_half = issue(deal, people["broker"], payer="seller")
    buyer_half = issue(deal, people["broker"], payer="buyer")
    assert seller_half.payer_name == "日照职业技术学院"
    assert buyer_half.payer_name == "山东岚桥港口装备有限公司"
    assert (seller_half.subtotal, buyer_half.subtotal) == (Decimal("5000.01"), Decimal("5000.00"))
    assert seller_half.subtotal + buyer_half.subtotal == Decimal("10000.01")


def test_payer_cannot_contradict_the_commission_terms(deal, people):
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_invoice(deal, people["broker"], "commission", payer="seller")
    assert "买方支付" in refused.value.fields["payer"]


def test_custom_lines_tax_rate_and_due_date(deal, people):
    due = local_today() + timedelta(days=10)
    invoice = issue(
        deal,
        people["broker"],
        lines=[
            {"description": "技术对接服务", "quantity": "3", "unit_price": "333.33"},
            {"description": "资料费", "quantity": "0.5", "unit_price": "0.01"},
        ],
        tax_rate="3%",
        due_on=due.isoformat(),
    )
    # 999.99 + 0.005 → 0.01 = 1000.00; tax 3 % = 30.00
    assert [line.amount for line in invoice.lines] == [Decimal("999.99"), Decimal("0.01")]
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("1000.00"), Decimal("30.00"), Decimal("1030.00"))
    assert invoice.due_on == due
    assert invoice.issued_on == local_today()


def test_service_fee_is_the_platform_rate_of_the_registered_technology_amount(app, deal, people):
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_invoice(deal, people["broker"], "service_fee")
    assert "合同登记后" in refused.value.fields["lines"]
    db.session.rollback()
    add_contract(deal, technology_amount=Decimal("1000000.89"))
    db.session.commit()
    app.config.update(PLATFORM_TAX_ID="91371100MA3C00000T", PLATFORM_BANK="日照银行", PLATFORM_ACCOUNT="8100012345")
    try:
        invoice = issue(deal, people["broker"], "service_fee")
    finally:
        for key in ("PLATFORM_TAX_ID", "PLATFORM_BANK", "PLATFORM_ACCOUNT"):
            del app.config[key]
    assert invoice.subtotal == Decimal("10000.01")  # 1 % × 1,000,000.89 = 10,000.0089
    assert invoice.payee_name == "日照技术转移与成果交易平台（科技淘宝）"
    assert (invoice.payee_tax_id, invoice.payee_bank, invoice.payee_account) == (
        "91371100MA3C00000T",
        "日照银行",
        "8100012345",
    )
    assert invoice.payer_name == "日照职业技术学院"  # the seller by default


# ---------------------------------------------------------------------------------------------
# Refusals


def test_no_commission_terms_no_commission_invoice(people):
    deal = deal_between(
        people["seller"], people["buyer"], people["broker"], commission_kind="none", commission_rate=None
    )
    db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_invoice(deal, people["broker"], "commission")
    assert refused.value.message == "该项目未约定佣金，不能开具佣金发票"
    db.session.rollback()
    assert db.session.scalar(select(Invoice.id)) is None


@pytest.mark.parametrize("who", ["other_broker", "seller_member", "official"])
def test_only_the_deals_brokers_and_admins_issue(deal, people, who):
    with pytest.raises(PermissionDenied):
        invoices.create_invoice(deal, people[who], "commission")


def test_an_admin_issues_with_the_lead_brokers_organisation_as_payee(deal, people):
    assert issue(deal, people["admin"]).payee_name == "日照市技术转移服务中心"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"tax_rate": "101"}, "tax_rate"),
        ({"tax_rate": "-1"}, "tax_rate"),
        ({"tax_rate": "6.0001"}, "tax_rate"),
        ({"due_on": "2020-01-01"}, "due_on"),
        ({"due_on": "明天"}, "due_on"),
        ({"lines": [{"description": "", "unit_price": "100"}]}, "lines[0].description"),
        ({"lines": [{"description": "服务", "unit_price": "-5"}]}, "lines[0].unit_price"),
        ({"lines": [{"description": "服务", "unit_price": "abc"}]}, "lines[0].unit_price"),
        ({"lines": [{"description": "服务", "unit_price": "1", "quantity": "0"}]}, "lines[0].quantity"),
        ({"lines": [{"description": "服务", "unit_price": "99999999999999999"}]}, "lines[0].unit_price"),
        ({"payer": "broker"}, "payer"),
        # each line fits Numeric(16, 2), their sum does not
        ({"lines": [{"description": "服务", "quantity": "999", "unit_price": "99999999999999"}]}, "lines"),
    ],
)
def test_bad_input_is_refused_beside_the_field(deal, people, kwargs, field):
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_invoice(deal, people["broker"], "commission", **kwargs)
    assert refused.value.fields.get(field), refused.value.fields


def test_unknown_kind_is_refused(deal, people):
    with pytest.raises(ValidationFailed) as refused:
        invoices.create_invoice(deal, people["broker"], "gift")
    assert "kind" in refused.value.fields


# ---------------------------------------------------------------------------------------------
# Void and paid


def test_void_needs_a_reason_and_is_audited_and_on_the_timeline(deal, people):
    invoice = issue(deal, people["broker"])
    with pytest.raises(ValidationFailed) as refused:
        invoices.void_invoice(invoice, people["broker"], "  ")
    assert refused.value.fields == {"reason": "请填写作废原因"}
    db.session.rollback()
    invoices.void_invoice(invoice, people["broker"], "付款方名称有误")
    db.session.commit()
    assert invoice.status == "void" and invoice.void_reason == "付款方名称有误" and invoice.voided_at
    audit = db.session.scalars(select(AuditLog).where(AuditLog.object_type == "invoice").order_by(AuditLog.id)).all()
    assert [(a.action, a.from_state, a.to_state) for a in audit] == [
        ("invoice_issue", None, "unpaid"),
        ("invoice_void", "unpaid", "void"),
    ]
    assert audit[1].reason == "付款方名称有误" and audit[1].actor_id == people["broker"].id
    bodies = db.session.scalars(select(DealEvent.body).where(DealEvent.kind == "invoice").order_by(DealEvent.id)).all()
    assert len(bodies) == 2
    assert invoice.number in bodies[0] and "¥26,500.00" in bodies[0]
    assert "作废" in bodies[1] and "付款方名称有误" in bodies[1]
    with pytest.raises(Conflict, match="已作废"):
        invoices.void_invoice(invoice, people["broker"], "再次作废")


def test_a_paid_invoice_cannot_be_voided(deal, people):
    invoice = issue(deal, people["broker"])
    invoices.mark_paid(invoice, people["broker"])
    db.session.commit()
    assert invoice.status == "paid" and invoice.paid_on == local_today()
    with pytest.raises(Conflict, match="已登记付款，不能作废"):
        invoices.void_invoice(invoice, people["broker"], "客户要求")
    with pytest.raises(Conflict):
        invoices.mark_paid(invoice, people["broker"])


def test_paid_date_must_be_between_issue_and_today(deal, people):
    invoice = issue(deal, people["broker"])
    with pytest.raises(ValidationFailed) as refused:
        invoices.mark_paid(invoice, people["broker"], (local_today() + timedelta(days=1)).isoformat())
    assert "paid_on" in refused.value.fields
    with pytest.raises(ValidationFailed):
        invoices.mark_paid(invoice, people["broker"], (invoice.issued_on - timedelta(days=1)).isoformat())


@pytest.mark.parametrize("who", ["other_broker", "seller_member", "official"])
def test_only_the_deals_brokers_and_admins_void_or_mark_paid(deal, people, who):
    invoice = issue(deal, people["broker"])
    with pytest.raises(PermissionDenied):
        invoices.void_invoice(invoice, people[who], "原因")
    with pytest.raises(PermissionDenied):
        invoices.mark_paid(invoice, people[who])
    assert invoice.status == "unpaid"


# ---------------------------------------------------------------------------------------------
# Concurrency (PostgreSQL: SELECT … FOR UPDATE; SQLite serialises writers anyway)


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgresql"), reason="needs PostgreSQL (TEST_DATABASE_URL)"
)
def test_concurrent_issues_get_distinct_gap_free_numbers(app, deal, people):
    """Threads, each with its own connection, issue invoices at the same moment — the first
    ones race to create the year's counter row — and every number comes out once, with no gap."""
    threads_n, each = 6, 5
    barrier = threading.Barrier(threads_n)
    failures: list[BaseException] = []
    deal_id, broker_id = deal.id, people["broker"].id

    def work() -> None:
        with app.app_context():
            try:
                local_deal = db.session.get(Deal, deal_id)
                broker = db.session.get(User, broker_id)
                barrier.wait()
                for _ in range(each):
                    invoices.create_invoice(local_deal, broker, "commission")
                    db.session.commit()
            except BaseException as exc:
                failures.append(exc)
                db.session.rollback()
            finally:
                db.session.remove()

    workers = [threading.Thread(target=work) for _ in range(threads_n)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert failures == []
    numbers = sorted(db.session.scalars(select(Invoice.number)))
    assert numbers == [f"KJTB{YEAR}{n:06d}" for n in range(1, threads_n * each + 1)]
