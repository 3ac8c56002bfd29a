"""科技服务 (1+7+N) pages and API as a user meets them: the catalogue with its explainer, filters
and empty states; publishing (refused for unverified organisations); a request from submission
to rating through the forms; the workbench clock; the organisation page; API errors."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.core.timeutil import local_today, utcnow
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.providers import services
from marketplace.providers.models import ServiceOffering, ServiceRequest
from tests.conftest import demand_data, login

OFFERING = {
    "category": "ip",
    "title": "专利导航与布局分析",
    "description": "围绕产品开展专利检索与布局规划",
    "price_note": "1.5 万元起",
    "turnaround_days": "25",
}


@pytest.fixture
def people(make_org, make_user):
    provider_org = make_org(name="日照知识产权中心", org_type="agency")
    return {
        "manager": make_user("broker", org=provider_org, manager=True, broker_level="manager", broker_cert_no="C1"),
        "client": make_user("enterprise"),
        "stranger": make_user("enterprise"),
        "unverified": make_user("enterprise", org=make_org(org_type="enterprise", verified=False), manager=True),
    }


@pytest.fixture
def offering(people):
    item = services.create_offering(people["manager"], OFFERING)
    db.session.commit()
    return item


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def test_catalogue_explains_1_7_n_and_shows_empty_state(client):
    html = page(client, "/services")
    assert "1+7+N" in html and "7</strong> 条服务线" in html
    for label in ("技术转移", "成果评价", "挂牌交易", "技术经纪", "金融服务", "知识产权", "园区落地"):
        assert label in html
    assert "科技成果评价：组织专家" in html  # a category's description
    assert "还没有机构发布服务" in html


def test_catalogue_lists_filters_and_shows_figures(client, people, offering):
    html = page(client, "/services")
    assert "专利导航与布局分析" in html and "日照知识产权中心" in html and "暂无评价" in html
    assert "专利导航与布局分析" in page(client, "/services?category=ip&q=专利")
    html = page(client, "/services?category=evaluation")
    assert "专利导航与布局分析" not in html and "没有符合条件的服务" in html


def test_manager_publishes_and_field_errors_show_beside_fields(app, people):
    client = login(app.test_client(), people["manager"])
    response = client.post("/services/offerings/new", data={"category": "", "title": "", "description": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'data-field-error="category"' in html and "请填写服务名称" in html
    response = client.post("/services/offerings/new", data={**OFFERING, "district": "rz-hitech"})
    assert response.status_code == 302
    item = db.session.scalars(select(ServiceOffering)).one()
    assert item.district == "rz-hitech"
    html = page(client, response.headers["Location"])
    assert "专利导航与布局分析" in html and "日照高新技术产业开发区" in html and "下架" in html


def test_unverified_organisation_is_told_why(app, people):
    client = login(app.test_client(), people["unverified"])
    response = client.get("/services/offerings/new")
    assert response.status_code == 403
    assert "机构通过平台认证后才能发布服务" in response.get_data(as_text=True)


def test_deactivate_hides_from_catalogue(app, people, offering):
    client = login(app.test_client(), people["manager"])
    response = client.post(f"/services/offerings/{offering.id}/active", data={"active": "0"}, follow_redirects=True)
    assert "服务已下架" in response.get_data(as_text=True)
    assert "专利导航与布局分析" not in page(app.test_client(), "/services")
    assert app.test_client().get(f"/services/offerings/{offering.id}").status_code == 404


def test_request_lifecycle_through_the_pages(app, people, offering):
    requester = login(app.test_client(), people["client"])
    provider = login(app.test_client(), people["manager"])
    other = listings.create_listing("demand", people["stranger"], demand_data(title="别人的需求"))
    db.session.commit()
    # Another organisation's listing and a past date are refused beside the fields.
    past = (local_today() - timedelta(days=2)).isoformat()
    data = {"subject": "码头设备专利布局", "description": "请分析竞争对手专利", "desired_date": past}
    response = requester.post(
        f"/services/offerings/{offering.id}/request", data={**data, "listing": f"demand:{other.id}"}
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "只能关联本机构的科技成果或技术需求" in html and "期望完成日期不能早于今天" in html
    data["desired_date"] = (local_today() + timedelta(days=30)).isoformat()
    response = requester.post(f"/services/offerings/{offering.id}/request", data=data)
    assert response.status_code == 302
    req = db.session.scalars(select(ServiceRequest)).one()
    # The provider sees it waiting, with the clock.
    req.created_at = utcnow() - timedelta(hours=30)
    db.session.commit()
    html = page(provider, "/services/workbench")
    assert "码头设备专利布局" in html and "已等待 30.0 小时" in html
    assert "码头设备专利布局" in page(requester, "/services/requests")
    # Accept, start, complete with a file, as the provider.
    url = f"/services/requests/{req.id}"
    provider.post(f"{url}/accept", data={"note": "报价 3 万元"})
    provider.post(f"{url}/start")
    response = provider.post(f"{url}/complete", data={"result": ""}, follow_redirects=True)
    assert "请填写服务成果说明" in response.get_data(as_text=True)
    provider.post(
        f"{url}/complete",
        data={"result": "布局分析报告已交付", "file": (io.BytesIO(b"%PDF-1.4 report"), "报告.pdf")},
        content_type="multipart/form-data",
    )
    db.session.refresh(req)
    assert req.status == "completed" and req.response_seconds >= 30 * 3600
    html = page(requester, url)
    assert "布局分析报告已交付" in html and "报价 3 万元" in html and "报告.pdf" in html and "评价本次服务" in html
    download = requester.get(f"{url}/file")
    assert download.data == b"%PDF-1.4 report" and "attachment" in download.headers["Content-Disposition"]
    download.close()
    # The provider cannot rate; the requester rates once.
    response = provider.post(f"{url}/rating", data={"score": "5"})
    assert response.status_code == 403
    response = requester.post(f"{url}/rating", data={"score": "4", "comment": "专业"}, follow_redirects=True)
    assert "感谢您的评价" in response.get_data(as_text=True)
    response = requester.post(f"{url}/rating", data={"score": "5"}, follow_redirects=True)
    assert "不能重复评价" in response.get_data(as_text=True)
    html = page(app.test_client(), f"/services/providers/{offering.org_id}")
    assert "4.0</strong> 分" in html and "1 条评价" in html and "平均 30." in html and "专业" in html
    # An illegal transition is flashed, the state stays.
    response = requester.post(f"{url}/cancel", follow_redirects=True)
    assert "不能取消" in response.get_data(as_text=True)
    db.session.refresh(req)
    assert req.status == "completed"


def test_messages_between_the_parties(app, people, offering):
    req = services.create_request(people["client"], offering, {"subject": "咨询", "description": "问题"})
    db.session.commit()
    requester = login(app.test_client(), people["client"])
    response = requester.post(
        f"/services/requests/{req.id}/messages", data={"body": "请问何时可以开始？"}, follow_redirects=True
    )
    assert "请问何时可以开始？" in response.get_data(as_text=True)
    assert "请问何时可以开始？" in page(login(app.test_client(), people["manager"]), f"/services/requests/{req.id}")


def test_org_page_shows_services_and_rating(client, people, offering):
    html = page(client, f"/orgs/{offering.org_id}")
    assert 'data-testid="org-services"' in html and "专利导航与布局分析" in html
    assert 'data-testid="org-services"' not in page(client, f"/orgs/{people['client'].organization_id}")


# ---------------------------------------------------------------------------------------------
# API


def test_api_offerings_and_field_errors(api_client, people, offering):
    manager = api_client(people["manager"])
    response = manager.post("/api/v1/services/offerings", json={"category": "x", "title": "", "colour": "red"})
    assert response.status_code == 422
    assert set(response.json["error"]["fields"]) == {"colour"}
    response = manager.post("/api/v1/services/offerings", json={"category": "x", "title": ""})
    assert response.status_code == 422 and {"category", "title", "description"} <= set(response.json["error"]["fields"])
    response = manager.post("/api/v1/services/offerings", json={**OFFERING, "turnaround_days": 10, "category": "park"})
    assert response.status_code == 201 and response.json["category"] == {"code": "park", "label": "园区落地"}
    listed = api_client(people["client"]).get("/api/v1/services/offerings?category=ip").json
    assert [o["id"] for o in listed["items"]] == [offering.id] and listed["total"] == 1
    response = api_client(people["unverified"]).post("/api/v1/services/offerings", json=OFFERING)
    assert response.status_code == 403 and "机构通过平台认证后才能发布服务" in response.json["error"]["message"]


def test_api_update_deactivate_and_hidden(api_client, people, offering):
    stranger = api_client(people["stranger"])
    assert stranger.patch(f"/api/v1/services/offerings/{offering.id}", json={"title": "x"}).status_code == 403
    manager = api_client(people["manager"])
    response = manager.patch(f"/api/v1/services/offerings/{offering.id}", json={"title": "专利导航（新）"})
    assert response.status_code == 200 and response.json["title"] == "专利导航（新）"
    assert manager.post(f"/api/v1/services/offerings/{offering.id}/deactivate").json["active"] is False
    assert stranger.get(f"/api/v1/services/offerings/{offering.id}").status_code == 404
    assert manager.post(f"/api/v1/services/offerings/{offering.id}/deactivate").status_code == 409


def test_api_request_flow_and_errors(api_client, people, offering):
    client = api_client(people["client"])
    manager = api_client(people["manager"])
    response = client.post(f"/api/v1/services/offerings/{offering.id}/requests", json={"subject": ""})
    assert response.status_code == 422 and {"subject", "description"} <= set(response.json["error"]["fields"])
    response = client.post(
        f"/api/v1/services/offerings/{offering.id}/requests", json={"subject": "专利布局", "description": "请分析"}
    )
    assert response.status_code == 201 and response.json["allowed_actions"] == ["cancel"]
    rid = response.json["id"]
    assert api_client(people["stranger"]).get(f"/api/v1/services/requests/{rid}").status_code == 403
    assert manager.get("/api/v1/services/requests?as=provider").json["total"] == 1
    assert manager.get("/api/v1/services/requests?as=requester").json["total"] == 0
    assert manager.get("/api/v1/services/requests?as=nobody").status_code == 422
    url = f"/api/v1/services/requests/{rid}/transition"
    assert client.post(url, json={"action": "accept"}).status_code == 403
    assert manager.post(url, json={"action": "complete", "result": "x"}).status_code == 409
    assert manager.post(url, json={"action": "decline"}).json["error"]["fields"] == {"reason": "请填写婉拒原因"}
    assert client.post(f"/api/v1/services/requests/{rid}/rating", json={"score": 5}).status_code == 409
    for action, extra in (("accept", {"note": "报价 3 万"}), ("start", {}), ("complete", {"result": "报告已交付"})):
        response = manager.post(url, json={"action": action, **extra})
        assert response.status_code == 200, response.json
    assert response.json["status"]["code"] == "completed"
    assert client.post(f"/api/v1/services/requests/{rid}/rating", json={"score": 4.5}).status_code == 422
    assert manager.post(f"/api/v1/services/requests/{rid}/rating", json={"score": 5}).status_code == 403
    response = client.post(f"/api/v1/services/requests/{rid}/rating", json={"score": 5, "comment": "好"})
    assert response.status_code == 201 and response.json["rating"]["score"] == 5
    assert client.post(f"/api/v1/services/requests/{rid}/rating", json={"score": 5}).status_code == 409
    summary = client.get(f"/api/v1/services/providers/{offering.org_id}").json
    assert summary["average_rating"] == "5.0" and summary["rating_count"] == 1
    assert summary["completed_count"] == 1 and summary["responded_count"] == 1
    assert summary["average_response_hours"] == "0.0"


def test_the_request_page_names_its_demand_by_title(app, people, offering):
    mine = listings.create_listing("demand", people["client"], demand_data(title="港口起重机远程运维需求"))
    db.session.commit()
    requester = login(app.test_client(), people["client"])
    data = {"subject": "运维专利检索", "description": "检索远程运维相关专利", "listing": f"demand:{mine.id}"}
    assert requester.post(f"/services/offerings/{offering.id}/request", data=data).status_code == 302
    req = db.session.scalars(select(ServiceRequest)).one()
    html = page(requester, f"/services/requests/{req.id}")
    assert f'href="/demands/{mine.id}">港口起重机远程运维需求</a>' in html
