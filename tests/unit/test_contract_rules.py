"""Rules of technology contracts (marketplace.deals.contracts): 技术交易额 arithmetic, refusals
that change nothing, registration, amendment (变更), cancellation (注销), installments and
payments."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.alerts.models import Notification
from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.core.timeutil import local_today
from marketplace.deals import contracts
from marketplace.deals.models import ContractAmendment, DealEvent, Installment, Payment, TechContract
from marketplace.extensions import db
from tests.web.access_contracts import contract_data, make_deal


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(org_type="university", name="日照职业技术学院", district="371102")
    buyer = make_org(org_type="enterprise", name="日照钢铁控股集团有限公司", district="rz-etdz")
    return {
        "seller": make_user("university", org=seller),
        "buyer": make_user("enterprise", org=buyer),
        "broker": make_user("broker"),
        "official": make_user("official"),
        "outsider": make_user("university"),
        "admin": make_user("admin", org=None),
    }


@pytest.fixture
def deal(people):
    deal = make_deal(people["seller"].active_org, people["buyer"].active_org, people["broker"])
    db.session.commit()
    return deal


def save(deal, actor, **overrides):
    contract = contracts.save_draft(deal, actor, contract_data(**overrides))
    db.session.commit()
    return contract


def refused(fn, *args, **kwargs):
    """Call, expect a ServiceError, roll back as the views do, and return the error."""
    with pytest.raises((ValidationFailed, Conflict, PermissionDenied)) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    return info.value


def registered(deal, people, **overrides):
    contract = save(deal, people["broker"], **overrides)
    contracts.submit(contract, people["broker"])
    contracts.register(contract, people["official"])
    db.session.commit()
    return contract


# ---------------------------------------------------------------------------------------------
# 技术交易额 = 成交额 − 非技术性费用


def test_technology_amount_is_amount_minus_the_breakdown_to_the_fen(deal, people):
    contract = save(deal, people["broker"])
    db.session.expire_all()
    stored = db.session.get(TechContract, contract.id)
    # 200000.10 + 34567.79 + 0.01 = 234567.90; 1234567.89 − 234567.90 = 999999.99
    assert stored.amount == Decimal("1234567.89")
    assert stored.non_tech_costs == Decimal("234567.90")
    assert stored.technology_amount == Decimal("999999.99")
    assert stored.non_tech_breakdown == {"equipment": "200000.10", "instruments": "34567.79", "materials": "0.01"}


def test_units_are_understood_and_no_costs_means_all_technology(deal, people):
    contract = save(deal, people["broker"], amount="12.5万", cost_equipment="", cost_instruments="", cost_materials="")
    assert (contract.amount, contract.non_tech_costs, contract.technology_amount) == (
        Decimal("125000.00"),
        Decimal("0.00"),
        Decimal("125000.00"),
    )


def test_costs_equal_to_the_amount_leave_zero_technology_amount(deal, people):
    contract = save(
        deal, people["broker"], amount="1000", cost_equipment="600", cost_instruments="400", cost_materials=""
    )
    assert contract.technology_amount == Decimal("0.00")


def test_technology_amount_in_the_input_is_ignored(deal, people):
    contract = save(deal, people["broker"], technology_amount="1", non_tech_costs="0")
    assert contract.technology_amount == Decimal("999999.99")


def test_parties_are_prefilled_from_the_deal_organisations(deal, people):
    data = contract_data()
    for key in ("seller_name", "seller_nature", "seller_region", "buyer_name", "buyer_nature", "buyer_region"):
        data.pop(key, None)
    contract = contracts.save_draft(deal, people["broker"], data)
    assert (contract.seller_name, contract.seller_nature, contract.seller_region) == (
        "日照职业技术学院",
        "university",
        "371102",  # the organisation's 6-digit district code
    )
    # A functional zone has no GB/T 2260 code: the configured default region (日照市).
    assert (contract.buyer_name, contract.buyer_nature, contract.buyer_region) == (
        "日照钢铁控股集团有限公司",
        "enterprise_domestic",
        "371100",
    )


# ---------------------------------------------------------------------------------------------
# Refusals: each with a Chinese reason on the field, nothing stored


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"amount": "-5000"}, "amount", "不能为负数"),
        ({"amount": "一百万"}, "amount", "无法识别"),
        ({"amount": "0"}, "amount", "须大于 0"),
        ({"amount": ""}, "amount", "请填写成交额"),
        ({"amount": "2000000000000"}, "amount", "不能超过 1 万亿元"),
        ({"amount": "100.005"}, "amount", "最多精确到分"),
        ({"cost_parts": "-1"}, "cost_parts", "不能为负数"),
        ({"cost_other": "abc"}, "cost_other", "无法识别"),
        ({"amount": "200000", "cost_equipment": "200000.10"}, "non_tech_costs", "非技术性费用不能大于成交额"),
        ({"signed_on": "2026-13-01"}, "signed_on", "格式应为"),
        ({"signed_on": (local_today() + timedelta(days=1)).isoformat()}, "signed_on", "不能晚于今天"),
        ({"valid_from": "2026-05-01", "valid_to": "2026-04-30"}, "valid_to", "不能早于有效期起"),
        (
            {"valid_from": "", "valid_to": (local_today() - timedelta(days=30)).isoformat()},
            "valid_to",
            "不能早于签订日期",
        ),
        ({"seller_region": "3711"}, "seller_region", "6 位数字"),
        ({"buyer_region": "37110A"}, "buyer_region", "6 位数字"),
        ({"project_name": "长" * 201}, "project_name", "不能超过 200 个字"),
        ({"contract_type": "买卖合同"}, "contract_type", "不在可选范围内"),
        ({"field_code": "99"}, "field_code", "11 个技术领域"),
        ({"expected_investment": ""}, "expected_investment", "请填写预计新增投入"),
        ({"expected_output": "-1"}, "expected_output", "不能为负数"),
        ({"license_scope": "exclusive"}, "license_scope", "只有技术许可合同"),
    ],
)
def test_bad_input_is_refused_on_its_field(deal, people, overrides, field, fragment):
    error = refused(contracts.save_draft, deal, people["broker"], contract_data(**overrides))
    assert fragment in error.fields[field]
    assert db.session.scalar(select(TechContract)) is None


def test_license_contracts_need_a_scope_and_drop_transfer_extras(deal, people):
    error = refused(contracts.save_draft, deal, people["broker"], contract_data(contract_type="license_patent"))
    assert "许可方式" in error.fields["license_scope"]
    contract = save(deal, people["broker"], contract_type="专利实施许可", license_scope="独占")
    assert (contract.contract_type, contract.license_scope) == ("license_patent", "exclusive")
    assert contract.expected_investment is None and contract.expected_output is None


def test_transfer_extras_may_be_zero(deal, people):
    contract = save(deal, people["broker"], expected_investment="0", expected_output="0")
    assert (contract.expected_investment, contract.expected_output) == (Decimal("0.00"), Decimal("0.00"))


def test_second_level_field_counts_for_its_top_level_field(deal, people):
    assert save(deal, people["broker"], field_code="0303").field_code == "03"


def test_a_refused_update_leaves_the_stored_draft_unchanged(deal, people):
    contract = save(deal, people["broker"])
    refused(contracts.save_draft, deal, people["broker"], contract_data(amount="100", project_name="改过的名称"))
    db.session.expire_all()
    stored = db.session.get(TechContract, contract.id)
    assert stored.amount == Decimal("1234567.89") and stored.project_name == "基于机器视觉的尺寸测量系统专利权转让"


def test_only_editors_record_the_contract(deal, people):
    for who in ("buyer", "official", "outsider"):
        refused(contracts.save_draft, deal, people[who], contract_data())
    assert db.session.scalar(select(TechContract)) is None
    assert save(deal, people["seller"]).created_by_id == people["seller"].id


# ---------------------------------------------------------------------------------------------
# Submission and registration


def test_submit_moves_a_signed_deal_to_registration_and_tells_officials(deal, people):
    contract = save(deal, people["seller"])
    contracts.submit(contract, people["seller"])
    db.session.commit()
    assert contract.status == "submitted" and deal.stage == "registration"
    titles = db.session.scalars(select(Notification.title).where(Notification.user_id == people["official"].id)).all()
    assert titles == [f"技术合同待登记：{contract.project_name}"]
    kinds = [e.kind for e in db.session.scalars(select(DealEvent).where(DealEvent.deal_id == deal.id))]
    assert kinds.count("contract") == 2 and "stage" in kinds


def test_submit_needs_the_fields_the_office_checks(deal, people):
    contract = save(deal, people["broker"], field_code="", objective="", valid_to="")
    error = refused(contracts.submit, contract, people["broker"])
    assert set(error.fields) == {"field_code", "objective", "valid_to"}
    assert db.session.get(TechContract, contract.id).status == "draft"


def test_the_buyer_cannot_submit(deal, people):
    contract = save(deal, people["broker"])
    refused(contracts.submit, contract, people["buyer"])
    assert db.session.get(TechContract, contract.id).status == "draft"


def test_registration_by_anyone_but_an_official_is_refused(deal, people):
    contract = save(deal, people["broker"])
    contracts.submit(contract, people["broker"])
    db.session.commit()
    for who in ("broker", "seller", "admin", "buyer"):
        error = refused(contracts.register, contract, people[who])
        assert "科技管理人员" in error.message
    stored = db.session.get(TechContract, contract.id)
    assert stored.status == "submitted" and stored.registration_number is None


def test_register_assigns_the_number_and_moves_the_deal_to_performance(deal, people):
    contract = registered(deal, people)
    year = local_today().year
    assert contract.registration_number == f"{year}371100000001"
    assert contract.office_code == "371100" and contract.registered_by_id == people["official"].id
    assert deal.stage == "performance"
    entry = db.session.scalar(select(AuditLog).where(AuditLog.action == "register"))
    assert (entry.from_state, entry.to_state, entry.actor_id) == ("submitted", "registered", people["official"].id)


def test_registering_twice_is_refused_with_the_number(deal, people):
    contract = registered(deal, people)
    error = refused(contracts.register, contract, people["official"])
    assert error.message == f"该合同已登记，登记号 {contract.registration_number}"


def test_a_draft_cannot_be_registered(deal, people):
    contract = save(deal, people["broker"])
    assert "只有待登记的合同" in refused(contracts.register, contract, people["official"]).message


def test_return_needs_a_reason_and_reopens_the_draft(deal, people):
    contract = save(deal, people["broker"])
    contracts.submit(contract, people["broker"])
    db.session.commit()
    assert "退回原因" in refused(contracts.return_contract, contract, people["official"], "  ").fields["reason"]
    contracts.return_contract(contract, people["official"], "非技术性费用未列明细")
    db.session.commit()
    assert contract.status == "returned" and contract.return_reason == "非技术性费用未列明细"
    again = save(deal, people["broker"], cost_other="1000")
    assert again.id == contract.id and again.technology_amount == Decimal("998999.99")


def test_a_registered_contract_is_immutable(deal, people):
    contract = registered(deal, people)
    error = refused(contracts.save_draft, deal, people["broker"], contract_data(amount="1"))
    assert "不能直接修改" in error.message and contract.registration_number in error.message
    assert db.session.get(TechContract, contract.id).amount == Decimal("1234567.89")


# ---------------------------------------------------------------------------------------------
# Amendment (变更) and cancellation (注销)


def test_amendment_recomputes_and_records_before_and_after(deal, people):
    contract = registered(deal, people)
    amendment = contracts.amend(
        contract, people["official"], {"amount": "1300000", "cost_other": "65432.10"}, "补充协议增加培训费用"
    )
    db.session.commit()
    assert contract.amount == Decimal("1300000.00")
    assert contract.non_tech_costs == Decimal("300000.00")
    assert contract.technology_amount == Decimal("1000000.00")
    assert amendment.changes["amount"] == ["1234567.89", "1300000.00"]
    assert amendment.changes["technology_amount"] == ["999999.99", "1000000.00"]
    assert amendment.changes["non_tech_costs"] == ["234567.90", "300000.00"]
    assert amendment.reason == "补充协议增加培训费用"
    assert contract.status == "registered" and contract.registration_number.endswith("000001")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "amend")).details["changes"] == amendment.changes


def test_amendment_refusals_change_nothing(deal, people):
    contract = registered(deal, people)
    assert "变更原因" in refused(contracts.amend, contract, people["official"], {"amount": "1"}, "").fields["reason"]
    assert "科技管理人员" in refused(contracts.amend, contract, people["broker"], {"amount": "1"}, "原因").message
    error = refused(contracts.amend, contract, people["official"], {"amount": "100"}, "金额调减")
    assert error.fields["non_tech_costs"] == "非技术性费用不能大于成交额"
    error = refused(contracts.amend, contract, people["official"], {"buyer_name": "别的公司"}, "换买方")
    assert "不能通过变更修改" in error.fields["buyer_name"]
    error = refused(contracts.amend, contract, people["official"], {"amount": "1234567.89"}, "没变")
    assert "没有需要变更" in error.fields["changes"]
    db.session.expire_all()
    assert db.session.get(TechContract, contract.id).amount == Decimal("1234567.89")
    assert db.session.scalar(select(ContractAmendment)) is None


def test_cancellation_keeps_the_number_and_blocks_further_changes(deal, people):
    contract = registered(deal, people)
    number = contract.registration_number
    assert "注销原因" in refused(contracts.cancel, contract, people["official"], "").fields["reason"]
    contracts.cancel(contract, people["official"], "双方协议解除合同")
    db.session.commit()
    assert (contract.status, contract.registration_number, contract.cancel_reason) == (
        "cancelled",
        number,
        "双方协议解除合同",
    )
    assert contract.cancelled_at is not None
    (amendment,) = contract.amendments
    assert (amendment.kind, amendment.changes) == ("cancel", {"status": ["registered", "cancelled"]})
    assert "只有已登记的合同" in refused(contracts.cancel, contract, people["official"], "再注销").message
    assert "只有已登记的合同" in refused(contracts.amend, contract, people["official"], {"amount": "1"}, "x").message


# ---------------------------------------------------------------------------------------------
# Installments and payments


def submitted_contract(deal, people, **overrides):
    contract = save(deal, people["broker"], **overrides)
    contracts.submit(contract, people["broker"])
    db.session.commit()
    return contract


def test_installments_may_not_exceed_the_amount(deal, people):
    contract = submitted_contract(
        deal, people, amount="100000", cost_equipment="", cost_instruments="", cost_materials=""
    )
    rows = [{"due_on": "2026-01-10", "amount": "60000"}, {"due_on": "2026-06-10", "amount": "40000.01"}]
    error = refused(contracts.set_installments, contract, people["broker"], rows)
    assert error.fields["installments"] == "分期计划合计 100000.01 元超过成交额 100000.00 元"
    assert db.session.scalar(select(Installment)) is None
    error = refused(contracts.set_installments, contract, people["broker"], [{"due_on": "", "amount": "0"}])
    assert set(error.fields) == {"rows.1.due_on", "rows.1.amount"}
    rows[1]["amount"] = "40000"
    contracts.set_installments(contract, people["broker"], [*rows, {"due_on": "", "amount": "", "note": ""}])
    db.session.commit()
    assert [(i.due_on, i.amount) for i in contract.installments] == [
        (date(2026, 1, 10), Decimal("60000.00")),
        (date(2026, 6, 10), Decimal("40000.00")),
    ]


def plan(contract, people, today):
    contracts.set_installments(
        contract,
        people["broker"],
        [
            {"due_on": (today - timedelta(days=60)).isoformat(), "amount": "30000", "note": "首付款"},
            {"due_on": (today - timedelta(days=1)).isoformat(), "amount": "30000", "note": "中试验收"},
            {"due_on": today.isoformat(), "amount": "20000"},
            {"due_on": (today + timedelta(days=90)).isoformat(), "amount": "20000", "note": "尾款"},
        ],
    )
    db.session.commit()


def test_partial_payment_overdue_and_next_due_with_a_fixed_today(deal, people):
    contract = submitted_contract(
        deal, people, amount="100000", cost_equipment="", cost_instruments="", cost_materials=""
    )
    today = local_today()
    plan(contract, people, today)
    contracts.record_payment(contract, people["buyer"], (today - timedelta(days=50)).isoformat(), "45000.50", "HX001")
    db.session.commit()
    status = contracts.payment_status(contract, today=today)
    # Due before today: 30000 + 30000 = 60000; paid 45000.50 → 14999.50 overdue. The one due
    # today is not overdue yet.
    assert status["paid"] == Decimal("45000.50")
    assert status["outstanding"] == Decimal("54999.50")
    assert status["overdue"] == Decimal("14999.50")
    assert status["next_due"].note == "中试验收" and status["next_due_rest"] == Decimal("14999.50")
    # A week later the one due "today" is overdue too.
    later = contracts.payment_status(contract, today=today + timedelta(days=7))
    assert later["overdue"] == Decimal("34999.50")
    # Paying everything that is due leaves nothing overdue.
    contracts.record_payment(contract, people["seller"], today.isoformat(), "34999.50")
    db.session.commit()
    assert contracts.payment_status(contract, today=today + timedelta(days=7))["overdue"] == Decimal("0.00")
    assert contracts.payment_status(contract, today=today)["next_due"].note == "尾款"


def test_refunds_need_a_reason_and_cannot_exceed_what_was_paid(deal, people):
    contract = submitted_contract(deal, people)
    today = local_today().isoformat()
    contracts.record_payment(contract, people["buyer"], today, "10000")
    db.session.commit()
    error = refused(contracts.record_payment, contract, people["buyer"], today, "-500")
    assert error.fields["reason"] == "退款须填写原因"
    error = refused(contracts.record_payment, contract, people["buyer"], today, "-10000.01", None, "多付退回")
    assert error.fields["amount"] == "退款金额不能超过已付金额 10000.00 元"
    refund = contracts.record_payment(contract, people["broker"], today, "-2500.25", "TK-9", "重复付款退回")
    db.session.commit()
    assert refund.amount == Decimal("-2500.25") and refund.reason == "重复付款退回"
    assert contracts.payment_status(contract)["paid"] == Decimal("7499.75")
    assert db.session.scalar(select(AuditLog).where(AuditLog.action == "refund")).reason == "重复付款退回"
    assert len(db.session.scalars(select(Payment)).all()) == 2


@pytest.mark.parametrize(
    ("paid_on", "amount", "field", "fragment"),
    [
        ("today", "0", "amount", "不能为 0"),
        ("today", "abc", "amount", "无法识别"),
        ("today", "", "amount", "请填写金额"),
        ("tomorrow", "100", "paid_on", "不能晚于今天"),
        ("", "100", "paid_on", "请填写付款日期"),
        ("today", "1234567.90", "amount", "付款合计将超过成交额"),
    ],
)
def test_bad_payments_are_refused(deal, people, paid_on, amount, field, fragment):
    contract = submitted_contract(deal, people)
    day = {"today": local_today(), "tomorrow": local_today() + timedelta(days=1)}.get(paid_on)
    error = refused(contracts.record_payment, contract, people["buyer"], day.isoformat() if day else "", amount)
    assert fragment in error.fields[field]
    assert db.session.scalar(select(Payment)) is None


def test_payments_need_a_submitted_contract_and_a_worker(deal, people):
    contract = save(deal, people["broker"])
    assert "草稿" in refused(contracts.record_payment, contract, people["buyer"], local_today(), "100").message
    contracts.submit(contract, people["broker"])
    db.session.commit()
    for who in ("official", "outsider"):
        refused(contracts.record_payment, contract, people[who], local_today(), "100")
    assert db.session.scalar(select(Payment)) is None


def test_royalty_payments_may_exceed_the_estimated_amount(deal, people):
    contract = submitted_contract(
        deal, people, payment_mode="royalty", amount="1000", cost_equipment="", cost_instruments="", cost_materials=""
    )
    contracts.record_payment(contract, people["buyer"], local_today(), "1500")
    db.session.commit()
    status = contracts.payment_status(contract)
    assert status["paid"] == Decimal("1500.00") and status["outstanding"] == Decimal("0.00")
