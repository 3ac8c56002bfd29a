"""The deals API: POST /api/v1/deals, GET /api/v1/deals/<id>, POST /api/v1/deals/<id>/stage —
amounts as strings, 422 with a reason per field, 403/404, 409 for refused transitions, and the
responses against the OpenAPI document."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.deals import services
from marketplace.deals.models import Deal, TechContract
from marketplace.extensions import db
from tests.web.test_api import assert_documented, assert_error

API = "/api/v1"


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(org_type="university")
    buyer = make_org(org_type="enterprise")
    return {
        "seller_org": seller,
        "buyer_org": buyer,
        "seller": make_user("university", org=seller),
        "buyer": make_user("enterprise", org=buyer),
        "broker": make_user("broker"),
        "official": make_user("official"),
        "outsider": make_user("enterprise"),
    }


@pytest.fixture
def spec(client):
    return client.get(f"{API}/openapi.json").get_json()


def body(people, **changes):
    data = {
        "seller_org_id": people["seller_org"].id,
        "buyer_org_id": people["buyer_org"].id,
        "title": "深远海养殖网箱监测技术转让",
        "expected_value": "1234567.89",
        "commission": {"kind": "rate", "rate": "4.5", "payer": "buyer"},
    }
    data.update(changes)
    return data


def count() -> int:
    return db.session.scalar(select(func.count(Deal.id)))


def test_create_returns_the_deal_with_amounts_as_strings(api_client, people, spec):
    response = api_client(people["broker"]).post(f"{API}/deals", json=body(people))
    assert response.status_code == 201, response.get_json()
    data = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/deals/{data['id']}")
    assert data["expected_value"] == "1234567.89"
    assert data["commission"] == {
        "kind": {"code": "rate", "label": "按成交额比例"},
        "rate": "4.500",
        "amount": None,
        "payer": {"code": "buyer", "label": "买方支付"},
    }
    assert data["stage"] == {"code": "intent", "label": "意向"}
    assert data["brokers"] == [{"id": people["broker"].id, "name": people["broker"].name, "lead": True}]
    assert data["seller"]["id"] == people["seller_org"].id
    assert data["allowed_stages"] == ["negotiation", "terminated"]
    assert [e["kind"] for e in data["events"]] == ["stage"]
    assert db.session.get(Deal, data["id"]).expected_value == Decimal("1234567.89")
    assert_documented(spec, "post", "/deals", response)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"expected_value": 1234.5}, "expected_value"),  # a float: refused, amounts travel as strings
        ({"expected_value": "-1"}, "expected_value"),
        ({"expected_value": "abc"}, "expected_value"),
        ({"commission": {"kind": "rate", "rate": "31", "payer": "buyer"}}, "commission_rate"),
        ({"commission": {"kind": "fixed", "amount": "0", "payer": "buyer"}}, "commission_amount"),
        ({"commission": {"kind": "fixed", "amount": "100"}}, "commission_payer"),
        ({"commission": {"kind": "rate", "rate": "5", "payer": "buyer", "bonus": "1"}}, "commission.bonus"),
        ({"commission": "5%"}, "commission"),
        ({"seller_org_id": "abc"}, "seller_org_id"),
        ({"buyer_org_id": None}, "buyer_org_id"),
        ({"title": ""}, "title"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_bad_input_is_422_with_the_field_and_nothing_is_stored(api_client, people, spec, changes, field):
    response = api_client(people["broker"]).post(f"{API}/deals", json=body(people, **changes))
    error = assert_error(response, 422, "validation_failed", field)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in error["fields"][field])  # a Chinese reason
    assert count() == 0
    assert_documented(spec, "post", "/deals", response)


def test_same_organisation_and_unverified_party(api_client, people, make_org):
    client = api_client(people["broker"])
    same = client.post(f"{API}/deals", json=body(people, buyer_org_id=people["seller_org"].id))
    assert assert_error(same, 422, field="buyer_org_id")["fields"]["buyer_org_id"] == "卖方和买方不能是同一机构"
    unverified = make_org(org_type="enterprise", verified=False)
    response = client.post(f"{API}/deals", json=body(people, buyer_org_id=unverified.id))
    assert "尚未通过平台认证" in assert_error(response, 422, field="buyer_org_id")["fields"]["buyer_org_id"]
    assert count() == 0


def test_who_may_open_and_read(api_client, people, client, spec):
    assert_error(api_client(people["official"]).post(f"{API}/deals", json=body(people)), 403, "forbidden")
    assert_error(client.post(f"{API}/deals", json=body(people)), 401)
    created = api_client(people["seller"]).post(f"{API}/deals", json=body(people)).get_json()
    url = f"{API}/deals/{created['id']}"
    assert created["brokers"] == []  # opened by a party: no broker yet
    for who in ("buyer", "official"):
        response = api_client(people[who]).get(url)
        assert response.status_code == 200
        assert_documented(spec, "get", "/deals/{deal_id}", response)
    assert api_client(people["official"]).get(url).get_json()["allowed_stages"] == []
    forbidden = api_client(people["outsider"]).get(url)
    assert_error(forbidden, 403, "forbidden")
    assert_documented(spec, "get", "/deals/{deal_id}", forbidden)
    assert_error(api_client(people["buyer"]).get(f"{API}/deals/999999"), 404, "not_found")


def test_stage_changes_through_the_api(api_client, people, spec):
    deal = services.open_deal(people["broker"], people["seller_org"], people["buyer_org"], "港口腐蚀监测")
    db.session.commit()
    url = f"{API}/deals/{deal.id}/stage"
    broker = api_client(people["broker"])
    moved = broker.post(url, json={"stage": "negotiation"})
    assert moved.status_code == 200
    assert moved.get_json()["stage"] == {"code": "negotiation", "label": "洽谈"}
    assert moved.get_json()["events"][0]["from_stage"]["code"] == "intent"
    assert_documented(spec, "post", "/deals/{deal_id}/stage", moved)

    skipped = broker.post(url, json={"stage": "performance"})
    assert_error(skipped, 409, "conflict")
    assert_documented(spec, "post", "/deals/{deal_id}/stage", skipped)
    assert_error(broker.post(url, json={"stage": "terminated"}), 422, field="reason")
    assert_error(broker.post(url, json={"stage": "won"}), 422, field="stage")
    assert_error(broker.post(url, json={"stage": "signed", "why": "x"}), 422, field="why")
    assert_error(broker.post(url, json={}), 422, field="stage")
    assert_error(api_client(people["official"]).post(url, json={"stage": "signed"}), 403)
    assert_error(api_client(people["outsider"]).post(url, json={"stage": "signed"}), 403)
    assert db.session.get(Deal, deal.id).stage == "negotiation"

    assert broker.post(url, json={"stage": "signed"}).status_code == 200
    refused = broker.post(url, json={"stage": "registration"})
    assert "提交技术合同登记" in assert_error(refused, 409)["message"]
    db.session.add(
        TechContract(
            deal_id=deal.id,
            project_name="港口腐蚀监测",
            contract_type="transfer_patent",
            seller_name="卖方",
            seller_nature="021",
            seller_region="371102",
            buyer_name="买方",
            buyer_nature="150",
            buyer_region="371103",
            amount=Decimal("10"),
            technology_amount=Decimal("10"),
            signed_on=date(2026, 11, 1),
            status="submitted",
        )
    )
    db.session.commit()
    assert broker.post(url, json={"stage": "registration"}).get_json()["stage"]["code"] == "registration"
    ended = broker.post(url, json={"stage": "terminated", "reason": "买方破产重整"}).get_json()
    assert ended["stage"]["code"] == "terminated" and ended["termination_reason"] == "买方破产重整"
