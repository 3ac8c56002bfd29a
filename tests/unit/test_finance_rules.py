"""科技金融 rules: product input (万, rates, ranges), the application state machine and its
policies, materials of another organisation refused, disbursement and repayments, and the
statistics arithmetic (outstanding balance as of a date) against hand-computed figures."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.core.timeutil import local_today
from marketplace.extensions import db
from marketplace.finance import services as finance
from marketplace.finance import stats
from marketplace.finance.models import FinanceApplication, FinanceAttachment
from tests.web.access_finance import PDF, approve_and_disburse, make_contract, make_institution, make_product

TODAY = local_today()


@pytest.fixture
def bank():
    return make_institution("日照测试银行")


@pytest.fixture
def enterprise(make_user):
    return make_user("enterprise")


def apply(user, product, **data):
    values = {"amount_requested": "300万", "term_months": "12", "purpose": "成果转化中试", **data}
    return finance.create_application(user, product, values)


# ---------------------------------------------------------------------------------------------
# Products


def test_product_amounts_in_wan_and_rates_with_four_decimals(bank):
    _org, member = bank
    product = finance.create_product(
        member, {**_loan(), "amount_min": "50万", "amount_max": "0.1亿", "rate_min": "3.4567", "rate_max": "4.35%"}
    )
    assert (product.amount_min, product.amount_max) == (Decimal("500000.00"), Decimal("10000000.00"))
    assert (product.rate_min, product.rate_max) == (Decimal("3.4567"), Decimal("4.3500"))
    assert finance.format_rate(product.rate_max) == "4.35%" and finance.format_rate(product.rate_min) == "3.4567%"
    assert product.status == "draft"


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("rate_min", "-1.5", "不能为负数"),
        ("rate_max", "3.12345", "最多保留 4 位小数"),
        ("amount_min", "-50万", "不能为负数"),
        ("amount_max", "10万", "最高额度不能低于最低额度"),
        ("term_max", "3", "最长期限不能短于最短期限"),
        ("kind", "信用卡", "请选择产品类型"),
    ],
)
def test_bad_product_input_is_refused_by_field(bank, field, value, fragment):
    _org, member = bank
    with pytest.raises(ValidationFailed) as exc:
        finance.create_product(member, {**_loan(), field: value})
    assert fragment in exc.value.fields["amount_max" if field == "amount_max" else field]


def test_a_loan_needs_a_rate_an_equity_fund_does_not(bank):
    _org, member = bank
    with pytest.raises(ValidationFailed) as exc:
        finance.create_product(member, {**_loan(), "rate_min": "", "rate_max": ""})
    assert "请填写最低年利率" in exc.value.fields["rate_min"]
    fund = finance.create_product(member, {**_loan(), "kind": "equity_fund", "rate_min": "", "rate_max": ""})
    assert fund.rate_min is None and not fund.is_loan


def test_only_a_verified_institution_publishes(make_user, make_org):
    enterprise = make_user("enterprise")
    with pytest.raises(PermissionDenied, match="只有经认证的金融机构可以发布金融产品"):
        finance.create_product(enterprise, _loan())
    _org, unverified = make_institution(verified=False)
    with pytest.raises(PermissionDenied, match="只有经认证的金融机构"):
        finance.create_product(unverified, _loan())


def test_only_members_of_the_institution_edit_its_products(bank):
    _org, member = bank
    product = make_product(member)
    _other_org, other = make_institution()
    with pytest.raises(PermissionDenied):
        finance.update_product(product, other, {"title": "改名"})
    finance.update_product(product, member, {"title": "改名后的贷款"})
    assert product.title == "改名后的贷款"
    finance.set_product_status(product, member, "close")
    with pytest.raises(Conflict):
        finance.set_product_status(product, member, "close")


# ---------------------------------------------------------------------------------------------
# Applications


def test_requested_amount_outside_the_range_names_the_range(bank, enterprise):
    _org, member = bank
    product = make_product(member)
    with pytest.raises(ValidationFailed) as exc:
        apply(enterprise, product, amount_requested="2000万", term_months="48")
    assert "50 万元 至 1,000 万元" in exc.value.fields["amount_requested"]
    assert "6–36" in exc.value.fields["term_months"]
    assert db.session.scalar(select(func.count(FinanceApplication.id))) == 0


def test_a_financial_institution_cannot_apply(bank):
    _org, member = bank
    product = make_product(member)
    with pytest.raises(PermissionDenied):
        apply(member, product)


def test_another_organisations_contract_patent_or_listing_is_refused_and_nothing_saved(
    bank, enterprise, make_user, make_achievement
):
    _org, member = bank
    product = make_product(member)
    stranger = make_user("university")
    foreign_contract = make_contract(stranger.active_org)
    foreign_listing = make_achievement(owner=stranger, patent_numbers="ZL201720001285.X")
    foreign_patent = foreign_listing.patents[0]
    for field, value in (
        ("contract_ids", [foreign_contract.id]),
        ("patent_ids", [foreign_patent.id]),
        ("achievement_ids", [foreign_listing.id]),
    ):
        with pytest.raises(ValidationFailed) as exc:
            apply(enterprise, product, **{field: value})
        assert "不属于本机构" in exc.value.fields[field], field
    db.session.rollback()
    assert db.session.scalar(select(func.count(FinanceApplication.id))) == 0
    assert db.session.scalar(select(func.count(FinanceAttachment.id))) == 0


def test_a_reference_that_is_not_an_id_says_which_way_it_is_wrong(bank, enterprise):
    product = make_product(bank[1])
    for value, reason in (("abc", "须为整数"), ("²", "须为整数"), (True, "须为整数"), ("99999999999", "不存在")):
        with pytest.raises(ValidationFailed) as exc:
            apply(enterprise, product, contract_ids=[value])
        assert reason in exc.value.fields["contract_ids"], (value, exc.value.fields)
        db.session.rollback()


def test_own_contract_patent_listing_and_file_are_attached(bank, enterprise, make_user, make_demand):
    _org, member = bank
    product = make_product(member)
    org = enterprise.active_org
    contract = make_contract(make_user("university").active_org, buyer_org=org)
    demand = make_demand(owner=enterprise)
    application = finance.create_application(
        enterprise,
        product,
        {
            "amount_requested": "300万",
            "term_months": "12",
            "purpose": "x",
            "contract_ids": [contract.id],
            "demand_ids": [str(demand.id)],
        },
        [("报表.pdf", PDF)],
    )
    kinds = sorted(a.kind for a in application.attachments)
    assert kinds == ["contract", "demand", "file"]
    with pytest.raises(ValidationFailed) as exc:
        finance.attach(application, enterprise, {}, [("x.exe", b"MZ\x90\x00")])
    assert "只能上传 PDF" in exc.value.fields["file"]


def test_the_full_loan_workflow_with_history_and_notifications(bank, enterprise):
    _org, member = bank
    product = make_product(member)
    application = apply(enterprise, product)
    assert application.status == "submitted"
    finance.transition(application, "review", member)
    with pytest.raises(ValidationFailed) as exc:
        finance.transition(application, "request_documents", member, {"note": ""})
    assert "需补充的材料" in exc.value.fields["note"]
    finance.transition(application, "request_documents", member, {"note": "请补充近两年财务报表"})
    assert application.status == "documents_requested"
    finance.attach(application, enterprise, {}, [("财务报表.pdf", PDF)])
    finance.transition(application, "respond", enterprise, {"note": "已上传"})
    assert application.status == "under_review"
    for data, field, fragment in (
        ({"approved_amount": "0"}, "approved_amount", "须大于 0"),
        ({"approved_amount": "301万", "approved_rate": "3.5"}, "approved_amount", "不能超过申请金额"),
        ({"approved_amount": "200万", "approved_rate": "5"}, "approved_rate", "3.45% 至 4.35%"),
        ({"approved_amount": "200万", "approved_rate": "-1"}, "approved_rate", "不能为负数"),
    ):
        with pytest.raises(ValidationFailed) as exc:
            finance.transition(application, "approve", member, {"approved_term": "12", **data})
        assert fragment in exc.value.fields[field]
    assert application.status == "under_review"
    finance.transition(
        application, "approve", member, {"approved_amount": "250万", "approved_rate": "3.85", "approved_term": "24"}
    )
    assert application.approved_amount == Decimal("2500000.00")
    with pytest.raises(ValidationFailed) as exc:
        finance.transition(
            application, "disburse", member, {"disbursed_amount": "260万", "disbursed_on": TODAY.isoformat()}
        )
    assert "不能超过批准金额" in exc.value.fields["disbursed_amount"]
    finance.transition(
        application, "disburse", member, {"disbursed_amount": "250万", "disbursed_on": TODAY.isoformat()}
    )
    finance.record_repayment(application, member, {"amount": "100万", "paid_on": TODAY.isoformat()})
    assert application.outstanding == Decimal("1500000.00") and application.status == "disbursed"
    with pytest.raises(ValidationFailed) as exc:
        finance.record_repayment(application, member, {"amount": "150.01万", "paid_on": TODAY.isoformat()})
    assert "不能超过未偿余额 150 万元" in exc.value.fields["amount"]
    finance.record_repayment(application, member, {"amount": "150万", "paid_on": TODAY.isoformat()})
    assert application.status == "settled" and application.outstanding == 0
    actions = [h["action"] for h in finance.history(application)]
    assert actions == [
        "submit",
        "review",
        "request_documents",
        "attach",
        "respond",
        "approve",
        "disburse",
        "repayment",
        "repayment",
        "settle",
    ]
    from marketplace.alerts.models import Notification

    applicant_notes = db.session.scalars(select(Notification.title).where(Notification.user_id == enterprise.id)).all()
    assert any("要求补充材料" in t for t in applicant_notes) and any("批准" in t for t in applicant_notes)
    reviewer_notes = db.session.scalars(select(Notification.title).where(Notification.user_id == member.id)).all()
    assert any("新的融资申请" in t for t in reviewer_notes) and any("补充材料" in t for t in reviewer_notes)


def test_another_institution_cannot_review_and_illegal_moves_are_conflicts(bank, enterprise):
    _org, member = bank
    application = apply(enterprise, make_product(member))
    _other_org, other = make_institution()
    with pytest.raises(PermissionDenied):
        finance.transition(application, "review", other)
    with pytest.raises(PermissionDenied):
        finance.transition(application, "review", enterprise)
    with pytest.raises(Conflict):
        finance.transition(application, "approve", member, {"approved_amount": "100万", "approved_rate": "4"})
    with pytest.raises(Conflict):
        finance.transition(application, "respond", enterprise)
    before = db.session.scalar(select(func.count(AuditLog.id)))
    with pytest.raises(Conflict):
        finance.transition(
            application, "disburse", member, {"disbursed_amount": "1", "disbursed_on": TODAY.isoformat()}
        )
    assert db.session.scalar(select(func.count(AuditLog.id))) == before


def test_decline_needs_a_reason_and_withdraw_ends_it(bank, enterprise):
    _org, member = bank
    product = make_product(member)
    first = apply(enterprise, product)
    with pytest.raises(ValidationFailed) as exc:
        finance.transition(first, "decline", member, {"reason": " "})
    assert "原因" in exc.value.fields["reason"]
    finance.transition(first, "decline", member, {"reason": "担保不足"})
    assert first.status == "declined" and first.decline_reason == "担保不足"
    second = apply(enterprise, product)
    finance.transition(second, "withdraw", enterprise)
    with pytest.raises(Conflict):
        finance.transition(second, "withdraw", enterprise)


def test_an_equity_fund_is_not_disbursed(bank, enterprise):
    _org, member = bank
    fund = make_product(member, kind="equity_fund", rate_min="", rate_max="")
    application = apply(enterprise, fund)
    finance.transition(application, "review", member)
    finance.transition(application, "approve", member, {"approved_amount": "300万", "approved_term": "12"})
    assert finance.allowed_actions(application, member) == []
    with pytest.raises(Conflict, match="贷款类"):
        finance.transition(
            application, "disburse", member, {"disbursed_amount": "1", "disbursed_on": TODAY.isoformat()}
        )


# ---------------------------------------------------------------------------------------------
# Statistics


def test_balance_as_of_a_date_after_partial_repayments(bank, enterprise, make_user):
    _org, member = bank
    loan = make_product(member)
    pledge = make_product(member, kind="patent_pledge", title="专利质押贷款")
    d0 = TODAY - timedelta(days=30)
    a = approve_and_disburse(apply(enterprise, loan, amount_requested="500万"), member, "500万", d0)
    b = approve_and_disburse(apply(make_user("enterprise"), loan), member, "300万", d0 + timedelta(days=5))
    c = approve_and_disburse(apply(enterprise, pledge), member, "200万", d0)
    finance.record_repayment(a, member, {"amount": "120万", "paid_on": (d0 + timedelta(days=10)).isoformat()})
    finance.record_repayment(a, member, {"amount": "80.5万", "paid_on": (d0 + timedelta(days=20)).isoformat()})
    finance.record_repayment(b, member, {"amount": "300万", "paid_on": (d0 + timedelta(days=25)).isoformat()})
    finance.record_repayment(c, member, {"amount": "50万", "paid_on": (d0 + timedelta(days=1)).isoformat()})
    db.session.commit()
    assert b.status == "settled"
    # Before any money went out: nothing; on d0: a only (b not yet disbursed).
    assert stats.transfer_loan_balance(d0 - timedelta(days=1)) == 0
    assert stats.transfer_loan_balance(d0) == Decimal("5000000.00")
    # d0+12: a 500-120 = 380; b 300 → 680万
    assert stats.transfer_loan_balance(d0 + timedelta(days=12)) == Decimal("6800000.00")
    # today: a 500-120-80.5 = 299.5; b settled → 299.5万
    assert stats.transfer_loan_balance(TODAY) == Decimal("2995000.00")
    figures = stats.build(stats.Period(d0 - timedelta(days=1), TODAY, TODAY))
    assert figures.transfer_balance == Decimal("2995000.00")
    assert figures.balance["patent_pledge"].amount == Decimal("1500000.00")
    assert figures.total("balance").amount == Decimal("4495000.00")
    assert figures.total("disbursed").amount == Decimal("10000000.00") and figures.total("disbursed").count == 3
    assert figures.total("approved").amount == Decimal("10000000.00")
    assert figures.target == Decimal("500000000")
    assert figures.ratio == Decimal("0.6")  # 299.5万 / 5亿 = 0.599% → 0.6
    [row] = figures.by_institution
    assert row["balance"] == Decimal("4495000.00") and row["transfer_balance"] == Decimal("2995000.00")


def test_the_period_counts_approvals_and_disbursements_inside_it(bank, enterprise):
    _org, member = bank
    loan = make_product(member)
    old = TODAY - timedelta(days=60)
    approve_and_disburse(apply(enterprise, loan), member, "100万", old)
    approve_and_disburse(apply(enterprise, loan), member, "200万", TODAY)
    figures = stats.build(stats.Period(TODAY - timedelta(days=7), TODAY, TODAY))
    assert figures.total("disbursed").amount == Decimal("2000000.00")
    assert figures.total("approved").amount == Decimal("2000000.00")
    assert figures.transfer_balance == Decimal("3000000.00")  # the balance is not limited to the period
    with pytest.raises(ValidationFailed) as exc:
        stats.parse_period({"start": "2026-13-01"})
    assert "年-月-日" in exc.value.fields["start"]


def test_the_target_comes_from_config(app, bank):
    app.config["FINANCE_TARGETS"] = {"transfer_loan_balance": "100000000"}
    try:
        assert stats.target() == Decimal("100000000")
    finally:
        app.config["FINANCE_TARGETS"] = {"transfer_loan_balance": "500000000"}


def _loan() -> dict:
    from tests.web.access_finance import LOAN

    return dict(LOAN)
