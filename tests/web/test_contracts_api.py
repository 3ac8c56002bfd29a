"""/api/v1 for technology contracts: draft, submit, register, return, payments. Amounts are
decimal strings; refusals are JSON errors with a reason per field and change nothing; responses
match the OpenAPI document."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from marketplace.core.timeutil import local_today
from marketplace.deals.models import Payment, TechContract
from marketplace.extensions import db
from tests.web.access_contracts import make_deal
from tests.web.test_api import problems

API = "/api/v1"


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(org_type="institute", name="山东省海洋仪器仪表研究所", district="371103")
    buyer = make_org(org_type="enterprise", name="日照海工装备有限公司")
    return {
        "seller": make_user("university", org=seller),
        "buyer": make_user("enterprise", org=buyer),
        "broker": make_user("broker"),
        "official": make_user("official"),
    }


@pytest.fixture
def deal(people):
    deal = make_deal(people["seller"].active_org, people["buyer"].active_org, people["broker"])
    db.session.commit()
    return deal


@pytest.fixture
def spec(client) -> dict[str, Any]:
    return client.get(f"{API}/openapi.json").get_json()


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "project_name": "海洋浮标水质在线监测系统技术秘密转让",
        "contract_type": "transfer_secret",
        "amount": "880000.00",
        "non_tech_breakdown": {"equipment": "120000.00", "materials": "5432.10"},
        "payment_mode": "installments",
        "signed_on": local_today().isoformat(),
        "valid_from": local_today().isoformat(),
        "valid_to": f"{local_today().year + 2}-12-31",
        "field_code": "07",
        "ip_type": "trade_secret",
        "objective": "environment",
        "expected_investment": "2000000.00",
        "expected_output": "8000000.00",
    }
    data.update(overrides)
    return data


def test_draft_submit_register_and_pay(api_client, people, deal, spec):
    broker, official, buyer = api_client(people["broker"]), api_client(people["official"]), api_client(people["buyer"])
    created = broker.post(f"{API}/deals/{deal.id}/contract", json=body())
    assert created.status_code == 201, created.get_json()
    contract = created.get_json()
    assert problems(contract, {"$ref": "#/components/schemas/TechContract"}, spec) == []
    assert created.headers["Location"].endswith(f"/contracts/{contract['id']}")
    assert contract["amount"] == "880000.00"
    assert contract["non_tech_costs"] == "125432.10"
    assert contract["technology_amount"] == "754567.90"
    assert contract["status"] == {"code": "draft", "label": "草稿"}
    assert contract["seller"]["nature"] == {"code": "institute", "label": "科研机构"}
    assert contract["seller"]["region"] == "371103"

    # An update sends only what changes; the rest is kept.
    updated = broker.post(f"{API}/deals/{deal.id}/contract", json={"amount": "900000"})
    assert updated.status_code == 200 and updated.get_json()["technology_amount"] == "774567.90"

    submitted = broker.post(f"{API}/contracts/{contract['id']}/submit")
    assert submitted.get_json()["status"]["code"] == "submitted"

    registered = official.post(f"{API}/contracts/{contract['id']}/register", json={})
    assert registered.status_code == 200
    number = registered.get_json()["registration_number"]
    assert number == f"{local_today().year}371100000001"
    again = official.post(f"{API}/contracts/{contract['id']}/register")
    assert again.status_code == 409 and again.get_json()["error"]["message"] == f"该合同已登记，登记号 {number}"

    paid = buyer.post(f"{API}/contracts/{contract['id']}/payments", json={"amount": "300000.50", "reference": "B1"})
    assert paid.status_code == 201
    assert problems(paid.get_json(), {"$ref": "#/components/schemas/PaymentRecorded"}, spec) == []
    refund = buyer.post(
        f"{API}/contracts/{contract['id']}/payments", json={"amount": "-0.50", "reason": "尾差退回"}
    ).get_json()
    assert refund["payment"]["amount"] == "-0.50"
    assert refund["contract"]["payment_status"]["paid"] == "300000.00"
    assert refund["contract"]["payment_status"]["outstanding"] == "600000.00"

    detail = buyer.get(f"{API}/contracts/{contract['id']}")
    assert detail.status_code == 200
    assert problems(detail.get_json(), {"$ref": "#/components/schemas/TechContract"}, spec) == []


@pytest.mark.parametrize(
    ("payload", "field", "fragment"),
    [
        (body(amount=880000.0), "amount", "不接受浮点数"),
        (body(amount="-1"), "amount", "不能为负数"),
        (body(amount="abc"), "amount", "无法识别"),
        (body(amount="9999999999999"), "amount", "不能超过 1 万亿元"),
        (body(non_tech_breakdown={"equipment": "900000"}), "non_tech_costs", "非技术性费用不能大于成交额"),
        (body(non_tech_breakdown={"labour": "1"}), "non_tech_breakdown.labour", "未知项目"),
        (body(technology_amount="880000.00"), "technology_amount", "由系统"),
        (body(valid_from="2030-01-01", valid_to="2029-01-01"), "valid_to", "不能早于有效期起"),
        (body(contract_type="license_patent"), "license_scope", "许可方式"),
        (body(expected_output=None), "expected_output", "请填写预计新增产值"),
        (body(colour="red"), "colour", "未知字段"),
    ],
)
def test_bad_input_is_422_with_the_field_and_nothing_stored(api_client, people, deal, payload, field, fragment):
    response = api_client(people["broker"]).post(f"{API}/deals/{deal.id}/contract", json=payload)
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "validation_failed"
    assert fragment in error["fields"][field]
    assert db.session.scalar(select(TechContract)) is None


def test_only_officials_register_and_return_needs_a_reason(api_client, people, deal):
    broker = api_client(people["broker"])
    contract_id = broker.post(f"{API}/deals/{deal.id}/contract", json=body()).get_json()["id"]
    broker.post(f"{API}/contracts/{contract_id}/submit")
    for who in ("broker", "seller", "buyer"):
        response = api_client(people[who]).post(f"{API}/contracts/{contract_id}/register")
        assert response.status_code == 403
    official = api_client(people["official"])
    missing = official.post(f"{API}/contracts/{contract_id}/return", json={})
    assert missing.status_code == 422 and "退回原因" in missing.get_json()["error"]["fields"]["reason"]
    returned = official.post(f"{API}/contracts/{contract_id}/return", json={"reason": "缺少技术秘密清单"})
    assert returned.get_json()["status"]["code"] == "returned"
    assert returned.get_json()["return_reason"] == "缺少技术秘密清单"
    stored = db.session.get(TechContract, contract_id)
    assert stored.registration_number is None


def test_a_registered_contract_cannot_be_edited_through_the_api(api_client, people, deal):
    broker, official = api_client(people["broker"]), api_client(people["official"])
    contract_id = broker.post(f"{API}/deals/{deal.id}/contract", json=body()).get_json()["id"]
    broker.post(f"{API}/contracts/{contract_id}/submit")
    official.post(f"{API}/contracts/{contract_id}/register")
    response = broker.post(f"{API}/deals/{deal.id}/contract", json={"amount": "1"})
    assert response.status_code == 409 and "不能直接修改" in response.get_json()["error"]["message"]
    assert db.session.get(TechContract, contract_id).amount == Decimal("880000.00")


def test_payment_refusals(api_client, people, deal):
    broker = api_client(people["broker"])
    contract_id = broker.post(f"{API}/deals/{deal.id}/contract", json=body()).get_json()["id"]
    draft = broker.post(f"{API}/contracts/{contract_id}/payments", json={"amount": "100"})
    assert draft.status_code == 409
    broker.post(f"{API}/contracts/{contract_id}/submit")
    for payload, field in (
        ({"amount": 100.0}, "amount"),
        ({"amount": "0"}, "amount"),
        ({"amount": "-1", "reason": "退"}, "amount"),
        ({"amount": "100", "paid_on": "2099-01-01"}, "paid_on"),
        ({"amount": "100", "memo": "x"}, "memo"),
    ):
        response = broker.post(f"{API}/contracts/{contract_id}/payments", json=payload)
        assert response.status_code == 422, payload
        assert field in response.get_json()["error"]["fields"]
    assert db.session.scalar(select(Payment)) is None
    assert (
        api_client(people["official"]).post(f"{API}/contracts/{contract_id}/payments", json={"amount": "1"}).status_code
        == 403
    )
