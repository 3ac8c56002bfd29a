"""Contract pages: the form (技术合同登记表) with errors beside the fields, the contract page, the
registration office's queue (/registry) and its actions, installments and payments, and the
contract and payment cards on the deal page."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from marketplace.core.timeutil import local_today
from marketplace.deals import contracts
from marketplace.deals.models import Payment, TechContract
from marketplace.extensions import db
from tests.web.access_contracts import contract_data, draft, make_deal, registered, submitted


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(org_type="university", name="曲阜师范大学日照校区", district="371102")
    buyer = make_org(org_type="enterprise", name="日照港集团有限公司")
    return {
        "seller": make_user("university", org=seller, name="王老师"),
        "buyer": make_user("enterprise", org=buyer, name="李经理"),
        "broker": make_user("broker", name="赵经纪"),
        "official": make_user("official", name="孙科长"),
        "admin": make_user("admin", org=None),
    }


@pytest.fixture
def deal(people):
    deal = make_deal(people["seller"].active_org, people["buyer"].active_org, people["broker"])
    db.session.commit()
    return deal


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def field_error(response, name: str) -> str | None:
    match = re.search(rf'data-field-error="{re.escape(name)}">([^<]*)<', response.get_data(as_text=True))
    return match.group(1) if match else None


# ---------------------------------------------------------------------------------------------
# The form


def test_form_is_grouped_like_the_registration_form_and_prefilled(login_as, people, deal):
    response = login_as(people["broker"]).get(f"/deals/{deal.id}/contract")
    assert response.status_code == 200
    page = text_of(response)
    for heading in ("合同基本信息", "卖方（登记方）", "买方", "金额", "非技术性费用", "支付与期限", "分类", "转让补充"):
        assert heading in page
    assert 'value="曲阜师范大学日照校区"' in page and 'value="371102"' in page
    assert 'value="日照港集团有限公司"' in page and 'value="371100"' in page  # the default region
    assert "js/contract_form.js" in page


def test_bad_input_is_shown_beside_the_fields_and_nothing_is_stored(login_as, people, deal):
    data = contract_data(amount="100000", cost_equipment="99999", cost_instruments="2", signed_on="2026-02-30")
    response = login_as(people["broker"]).post(f"/deals/{deal.id}/contract", data=data)
    assert response.status_code == 422
    assert field_error(response, "non_tech_costs") == "非技术性费用不能大于成交额"
    assert "格式应为" in field_error(response, "signed_on")
    assert 'value="99999"' in response.get_data(as_text=True)  # what was typed is kept
    assert db.session.scalar(select(TechContract)) is None


def test_saving_a_draft_shows_the_computed_amounts(login_as, people, deal):
    client = login_as(people["seller"])
    response = client.post(f"/deals/{deal.id}/contract", data={**contract_data(), "intent": "save"})
    contract = db.session.scalar(select(TechContract))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/contracts/{contract.id}")
    assert contract.status == "draft"
    page = text_of(client.get(f"/contracts/{contract.id}"))
    assert "合同草稿已保存" in page
    assert "999,999.99 元" in page and "玖拾玖万玖仟玖佰玖拾玖元玖角玖分" in page  # 技术交易额 in figures and words
    assert "（登记后由登记机构编列）" in page


def test_save_and_submit_in_one_step_moves_the_deal_to_registration(login_as, people, deal):
    response = login_as(people["broker"]).post(
        f"/deals/{deal.id}/contract", data={**contract_data(), "intent": "submit"}
    )
    assert response.status_code == 302
    contract = db.session.scalar(select(TechContract))
    assert contract.status == "submitted"
    db.session.refresh(deal)
    assert deal.stage == "registration"


def test_submit_with_missing_fields_shows_them_on_the_form(login_as, people, deal):
    contract = draft(deal, people["broker"], field_code="", objective="")
    response = login_as(people["broker"]).post(f"/contracts/{contract.id}/submit")
    assert response.status_code == 422
    assert field_error(response, "field_code") == "提交登记前请填写技术领域"
    assert field_error(response, "objective") == "提交登记前请填写社会经济目标"
    assert db.session.get(TechContract, contract.id).status == "draft"


def test_the_buyer_and_officials_cannot_open_the_form(login_as, people, deal):
    assert login_as(people["buyer"]).get(f"/deals/{deal.id}/contract").status_code == 403
    assert login_as(people["official"]).get(f"/deals/{deal.id}/contract").status_code == 403


def test_a_submitted_contract_sends_the_form_to_the_contract_page(login_as, people, deal):
    contract = submitted(deal, people["broker"])
    response = login_as(people["broker"]).get(f"/deals/{deal.id}/contract")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/contracts/{contract.id}")


def test_csrf_token_is_required(csrf_enabled, login_as, people, deal):
    response = login_as(people["broker"]).post(f"/deals/{deal.id}/contract", data=contract_data())
    assert response.status_code == 400
    assert db.session.scalar(select(TechContract)) is None


# ---------------------------------------------------------------------------------------------
# The registration office


def test_registry_lists_submitted_contracts_oldest_first_for_officials_only(login_as, people, make_org):
    older = submitted(
        make_deal(people["seller"].active_org, people["buyer"].active_org),
        people["seller"],
        project_name="海水淡化膜组件技术转让",
    )
    newer = submitted(
        make_deal(people["seller"].active_org, people["buyer"].active_org),
        people["seller"],
        project_name="港口装卸机器人视觉定位开发",
        contract_type="dev_commissioned",
    )
    older.submitted_at -= timedelta(days=3)
    db.session.commit()
    client = login_as(people["official"])
    page = text_of(client.get("/registry"))
    assert page.index("海水淡化膜组件技术转让") < page.index("港口装卸机器人视觉定位开发")
    assert "3 天" in page  # how long the oldest has waited
    assert 'data-testid="nav-registry"' in page
    only_dev = text_of(client.get("/registry?type=dev"))
    assert "港口装卸机器人视觉定位开发" in only_dev and "海水淡化膜组件技术转让" not in only_dev
    assert "没有待登记的合同" in text_of(client.get(f"/registry?year={local_today().year - 1}"))
    for who in ("broker", "seller", "admin"):
        assert login_as(people[who]).get("/registry").status_code == 403
    assert 'data-testid="nav-registry"' not in text_of(login_as(people["broker"]).get(f"/contracts/{newer.id}"))


def test_registry_tabs_and_search(login_as, people, deal):
    contract = registered(deal, people["broker"], people["official"])
    client = login_as(people["official"])
    page = text_of(client.get("/registry?status=registered"))
    assert contract.registration_number in page and "已登记 <span" in page
    assert contract.registration_number in text_of(
        client.get(f"/registry?status=registered&q={contract.registration_number}")
    )
    assert "没有符合条件的已登记合同" in text_of(client.get("/registry?status=registered&q=不存在的项目"))


def test_registry_pages(login_as, people, app):
    for n in range(app.config["PER_PAGE"] + 1):
        submitted(
            make_deal(people["seller"].active_org, people["buyer"].active_org),
            people["seller"],
            project_name=f"合同{n:02d}",
        )
    client = login_as(people["official"])
    first, second = text_of(client.get("/registry")), text_of(client.get("/registry?page=2"))
    assert first.count('data-testid="registry-row"') == app.config["PER_PAGE"]
    assert second.count('data-testid="registry-row"') == 1 and "第 2 / 2 页" in second


def test_official_registers_from_the_contract_page(login_as, people, deal):
    contract = submitted(deal, people["broker"])
    client = login_as(people["official"])
    assert "予以登记" in text_of(client.get(f"/contracts/{contract.id}"))
    response = client.post(f"/contracts/{contract.id}/register", follow_redirects=True)
    db.session.refresh(contract)
    assert contract.status == "registered"
    assert f"合同已登记，登记号 {contract.registration_number}" in text_of(response)
    again = client.post(f"/contracts/{contract.id}/register", follow_redirects=True)
    assert f"该合同已登记，登记号 {contract.registration_number}" in text_of(again)


def test_return_needs_a_reason_beside_the_field(login_as, people, deal):
    contract = submitted(deal, people["broker"])
    client = login_as(people["official"])
    response = client.post(f"/contracts/{contract.id}/return", data={"reason": " "})
    assert response.status_code == 422
    assert "请填写退回原因" in field_error(response, "reason")
    assert db.session.get(TechContract, contract.id).status == "submitted"
    client.post(f"/contracts/{contract.id}/return", data={"reason": "买方名称与营业执照不符"})
    form = text_of(login_as(people["broker"]).get(f"/deals/{deal.id}/contract"))
    assert "登记机构退回原因：买方名称与营业执照不符" in form


def test_amendment_form_records_before_and_after(login_as, people, deal):
    contract = registered(deal, people["broker"], people["official"])
    client = login_as(people["official"])
    values = contracts.form_values(contract)
    amend = {k: values[k] for k in ("project_name", "payment_mode", "valid_from", "valid_to")}
    amend.update(
        {f"cost_{p}": values[f"cost_{p}"] for p in ("equipment", "instruments", "parts", "materials", "other")}
    )
    bad = client.post(f"/contracts/{contract.id}/amend", data={**amend, "amount": "1000", "reason": "调减"})
    assert bad.status_code == 422 and field_error(bad, "non_tech_costs") == "非技术性费用不能大于成交额"
    response = client.post(
        f"/contracts/{contract.id}/amend",
        data={**amend, "amount": "1334567.89", "reason": "增加二期开发内容"},
        follow_redirects=True,
    )
    page = text_of(response)
    assert "变更已登记" in page
    assert "增加二期开发内容" in page and "1234567.89" in page and "1334567.89" in page and "1099999.99" in page
    assert db.session.get(TechContract, contract.id).technology_amount == Decimal("1099999.99")


def test_cancel_from_the_contract_page(login_as, people, deal):
    contract = registered(deal, people["broker"], people["official"])
    client = login_as(people["official"])
    assert client.post(f"/contracts/{contract.id}/cancel", data={"reason": ""}).status_code == 422
    page = text_of(client.post(f"/contracts/{contract.id}/cancel", data={"reason": "合同解除"}, follow_redirects=True))
    assert "合同已注销" in page and "已注销" in page
    assert db.session.get(TechContract, contract.id).status == "cancelled"
    assert contract.registration_number in text_of(client.get("/registry?status=cancelled"))


# ---------------------------------------------------------------------------------------------
# Installments and payments


def test_payment_and_refund_forms(login_as, people, deal):
    contract = submitted(
        deal, people["broker"], amount="100000", cost_equipment="", cost_instruments="", cost_materials=""
    )
    client = login_as(people["buyer"])
    today = local_today().isoformat()
    ok = client.post(
        f"/contracts/{contract.id}/payments",
        data={"kind": "payment", "paid_on": today, "amount": "30000", "reference": "HX-01"},
    )
    assert ok.status_code == 302
    no_reason = client.post(
        f"/contracts/{contract.id}/payments", data={"kind": "refund", "paid_on": today, "amount": "500"}
    )
    assert no_reason.status_code == 422 and field_error(no_reason, "reason") == "退款须填写原因"
    too_much = client.post(
        f"/contracts/{contract.id}/payments",
        data={"kind": "refund", "paid_on": today, "amount": "30000.01", "reason": "退"},
    )
    assert field_error(too_much, "amount") == "退款金额不能超过已付金额 30000.00 元"
    client.post(
        f"/contracts/{contract.id}/payments",
        data={"kind": "refund", "paid_on": today, "amount": "5000", "reason": "发票抬头错误退回"},
    )
    assert [p.amount for p in db.session.scalars(select(Payment))] == [Decimal("30000.00"), Decimal("-5000.00")]
    page = text_of(client.get(f"/contracts/{contract.id}"))
    assert 'data-testid="paid">25,000.00<' in page and 'data-testid="outstanding">75,000.00<' in page
    assert "发票抬头错误退回" in page


def test_installment_plan_shows_overdue(login_as, people, deal):
    contract = submitted(
        deal, people["broker"], amount="100000", cost_equipment="", cost_instruments="", cost_materials=""
    )
    client = login_as(people["broker"])
    today = local_today()
    too_much = client.post(
        f"/contracts/{contract.id}/installments",
        data={
            "due_on": [(today - timedelta(days=5)).isoformat(), today.isoformat()],
            "amount": ["60000", "50000"],
            "note": ["首付", "尾款"],
        },
    )
    assert field_error(too_much, "installments") == "分期计划合计 110000.00 元超过成交额 100000.00 元"
    client.post(
        f"/contracts/{contract.id}/installments",
        data={
            "due_on": [(today - timedelta(days=5)).isoformat(), (today + timedelta(days=30)).isoformat(), ""],
            "amount": ["60000", "40000", ""],
            "note": ["首付", "尾款", ""],
        },
    )
    contracts.record_payment(contract, people["buyer"], today, "20000")
    db.session.commit()
    page = text_of(client.get(f"/contracts/{contract.id}"))
    assert 'data-testid="overdue">40,000.00<' in page
    assert "逾期" in page and "下一期：" in page


def test_deal_page_shows_the_contract_and_payment_cards(login_as, people, deal):
    client = login_as(people["broker"])
    empty = text_of(client.get(f"/deals/{deal.id}"))
    assert "录入技术合同" in empty
    contract = registered(deal, people["broker"], people["official"])
    contracts.record_payment(contract, people["buyer"], local_today(), "234567.89")
    db.session.commit()
    page = text_of(client.get(f"/deals/{deal.id}"))
    assert f'data-testid="registration-number">{contract.registration_number}<' in page
    assert 'data-testid="contract-technology-amount">999,999.99<' in page
    assert 'data-testid="paid">234,567.89<' in page and 'data-testid="outstanding">1,000,000.00<' in page
    assert 'data-testid="payment-form"' in page
    official_view = text_of(login_as(people["official"]).get(f"/deals/{deal.id}"))
    assert 'data-testid="payment-form"' not in official_view  # officials read only
