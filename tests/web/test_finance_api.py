"""/api/v1/finance: products CRUD, applications through their states (422 with the field for
negative or out-of-range figures, 403 for another institution, 409 for an illegal move),
repayments, follows, roadshows and the officials' figures."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from marketplace.core.timeutil import local_today
from marketplace.extensions import db
from marketplace.finance.models import FinanceApplication, FinanceProduct
from tests.web.access_finance import LOAN, local_in, make_institution, make_product


@pytest.fixture
def bank_api(api_client):
    _org, member = make_institution("日照银行科技支行（API）")
    db.session.commit()
    return api_client(member)


def test_products_crud_and_negative_figures_are_422_with_the_field(bank_api, client):
    response = bank_api.post("/api/v1/finance/products", json={**LOAN, "rate_min": "-0.5"})
    assert response.status_code == 422 and "不能为负数" in response.json["error"]["fields"]["rate_min"]
    response = bank_api.post("/api/v1/finance/products", json={**LOAN, "amount_min": "-5万"})
    assert response.status_code == 422 and "amount_min" in response.json["error"]["fields"]
    response = bank_api.post("/api/v1/finance/products", json={**LOAN, "color": "red"})
    assert response.status_code == 422 and "color" in response.json["error"]["fields"]
    assert db.session.scalar(select(func.count(FinanceProduct.id))) == 0

    created = bank_api.post("/api/v1/finance/products", json={**LOAN, "publish": True})
    assert created.status_code == 201, created.json
    product = created.json
    assert product["amount_min"] == "500000.00" and product["rate_max"] == "4.3500"
    assert product["status"]["code"] == "published"
    listed = client.get("/api/v1/finance/products?kind=transfer_loan").json
    assert listed["total"] == 1 and listed["items"][0]["id"] == product["id"]
    updated = bank_api.patch(f"/api/v1/finance/products/{product['id']}", json={"title": "新名称", "status": "closed"})
    assert updated.status_code == 200 and updated.json["status"]["code"] == "closed"
    assert client.get(f"/api/v1/finance/products/{product['id']}").status_code == 404  # closed: hidden
    assert bank_api.delete(f"/api/v1/finance/products/{product['id']}").status_code == 409
    draft = bank_api.post("/api/v1/finance/products", json=LOAN).json
    assert bank_api.delete(f"/api/v1/finance/products/{draft['id']}").status_code == 204


def test_a_non_finance_org_cannot_publish(api_client, make_user):
    response = api_client(make_user("enterprise")).post("/api/v1/finance/products", json=LOAN)
    assert response.status_code == 403
    assert response.json["error"]["message"] == "只有经认证的金融机构可以发布金融产品"


def test_application_lifecycle_403_409_422(bank_api, api_client, make_user):
    product = make_product(bank_api.user)
    db.session.commit()
    applicant = api_client(make_user("enterprise"))
    bad = applicant.post(
        "/api/v1/finance/applications",
        json={"product_id": product.id, "amount_requested": "-10", "term_months": 12, "purpose": "x"},
    )
    assert bad.status_code == 422 and "不能为负数" in bad.json["error"]["fields"]["amount_requested"]
    created = applicant.post(
        "/api/v1/finance/applications",
        json={"product_id": product.id, "amount_requested": "300万", "term_months": 12, "purpose": "中试"},
    )
    assert created.status_code == 201, created.json
    app_id = created.json["id"]
    url = f"/api/v1/finance/applications/{app_id}/transitions"

    _org, other = make_institution()
    db.session.commit()
    other_api = api_client(other)
    assert other_api.get(f"/api/v1/finance/applications/{app_id}").status_code == 403
    assert other_api.post(url, json={"action": "review"}).status_code == 403
    assert applicant.post(url, json={"action": "review"}).status_code == 403  # the applicant cannot review
    illegal = bank_api.post(url, json={"action": "approve", "approved_amount": "100万", "approved_rate": "4"})
    assert illegal.status_code == 409 and "已提交" in illegal.json["error"]["message"]

    assert bank_api.post(url, json={"action": "review"}).json["status"]["code"] == "under_review"
    negative = bank_api.post(url, json={"action": "approve", "approved_amount": "200万", "approved_rate": "-3"})
    assert negative.status_code == 422 and "approved_rate" in negative.json["error"]["fields"]
    approved = bank_api.post(
        url, json={"action": "approve", "approved_amount": "200万", "approved_rate": "3.9", "approved_term": 12}
    )
    assert approved.status_code == 200 and approved.json["approved_amount"] == "2000000.00"
    today = local_today().isoformat()
    disbursed = bank_api.post(url, json={"action": "disburse", "disbursed_amount": "200万", "disbursed_on": today})
    assert disbursed.json["status"]["code"] == "disbursed"
    repay = f"/api/v1/finance/applications/{app_id}/repayments"
    too_much = bank_api.post(repay, json={"amount": "250万", "paid_on": today})
    assert too_much.status_code == 422 and "未偿余额" in too_much.json["error"]["fields"]["amount"]
    assert applicant.post(repay, json={"amount": "1万", "paid_on": today}).status_code == 403
    partial = bank_api.post(repay, json={"amount": "50万", "paid_on": today})
    assert partial.status_code == 201 and partial.json["outstanding"] == "1500000.00"
    done = bank_api.post(repay, json={"amount": "150万", "paid_on": today}).json
    assert done["status"]["code"] == "settled" and done["outstanding"] == "0.00"
    detail = applicant.get(f"/api/v1/finance/applications/{app_id}").json
    assert [h["action"] for h in detail["history"]][-3:] == ["repayment", "repayment", "settle"]
    assert applicant.get("/api/v1/finance/applications").json["total"] == 1
    assert bank_api.get("/api/v1/finance/applications?status=settled").json["total"] == 1


def test_attach_another_orgs_listing_is_422_and_nothing_saved(bank_api, api_client, make_user, make_achievement):
    product = make_product(bank_api.user)
    db.session.commit()
    applicant = api_client(make_user("enterprise"))
    app_id = applicant.post(
        "/api/v1/finance/applications",
        json={"product_id": product.id, "amount_requested": "100万", "term_months": 12, "purpose": "x"},
    ).json["id"]
    foreign = make_achievement()
    response = applicant.post(
        f"/api/v1/finance/applications/{app_id}/attachments", json={"achievement_ids": [foreign.id]}
    )
    assert response.status_code == 422 and "不属于本机构" in response.json["error"]["fields"]["achievement_ids"]
    assert db.session.get(FinanceApplication, app_id).attachments == []


def test_follows_and_roadshows(api_client, make_user, make_achievement):
    investor = api_client(make_user("enterprise"))
    follow = investor.post("/api/v1/finance/follows", json={"field": "06"})
    assert follow.status_code == 201 and follow.json["field"] == "06"
    assert investor.post("/api/v1/finance/follows", json={"field": "06"}).status_code == 409
    assert investor.get("/api/v1/finance/follows").json["items"][0]["id"] == follow.json["id"]
    assert investor.delete(f"/api/v1/finance/follows/{follow.json['id']}").status_code == 204

    organiser = api_client(make_user("official"))
    body = {
        "title": "路演",
        "description": "x",
        "online_url": "https://meeting.example.cn/123",
        "capacity": 1,
        "starts_at": local_in(5),
        "registration_deadline": local_in(4),
    }
    assert organiser.post("/api/v1/finance/roadshows", json={**body, "capacity": 0}).status_code == 422
    roadshow = organiser.post("/api/v1/finance/roadshows", json=body).json
    url = f"/api/v1/finance/roadshows/{roadshow['id']}"
    assert investor.post(f"{url}/registration").status_code == 201
    assert investor.post(f"{url}/registration").status_code == 409
    assert api_client(make_user("enterprise")).post(f"{url}/registration").status_code == 409  # full
    assert "registrants" not in investor.get(url).json
    assert organiser.get(url).json["registrants"][0]["user_id"] == investor.user.id
    assert investor.delete(f"{url}/registration").json["registered_count"] == 0
    owner = make_user("university")
    achievement = make_achievement(owner=owner)
    presented = api_client(owner).post(f"{url}/projects", json={"achievement_id": achievement.id})
    assert presented.status_code == 201 and presented.json["projects"] == []  # shown once accepted
    project_id = organiser.get(url).json["projects"][0]["id"]
    assert investor.post(f"{url}/projects/{project_id}/accept").status_code == 403
    accepted = organiser.post(f"{url}/projects/{project_id}/accept").json
    assert accepted["projects"][0]["status"] == "accepted"


def test_finance_stats_for_officials(api_client, make_user):
    official = api_client(make_user("official"))
    data = official.get("/api/v1/stats/finance?as_of=2026-01-31").json
    assert data["target"] == "500000000.00" and data["transfer_loan_balance"] == "0.00"
    assert data["period"]["as_of"] == "2026-01-31"
    assert official.get("/api/v1/stats/finance?start=bad").status_code == 422
    assert api_client(make_user("enterprise")).get("/api/v1/stats/finance").status_code == 403
