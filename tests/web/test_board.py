"""撮合看板 and 引荐 through the web: what a broker sees and does, and who is refused."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.alerts.models import EmailOutbox, Notification
from marketplace.core.audit import AuditLog
from marketplace.extensions import db
from marketplace.matching import precompute
from marketplace.matching.models import Introduction
from tests.unit.test_match_precompute import PUMP_DEMAND
from tests.unit.test_matching import HYDROGEN_ACHIEVEMENT, HYDROGEN_DEMAND

PUMP_ACHIEVEMENT = {
    "title": "深远海养殖智能投喂装备",
    "summary": "面向深远海养殖网箱的自动投喂装备，支持远程控制和精准投喂，降低饲料浪费。",
    "field": "0601",
    "keywords": "深远海养殖；自动投喂；智能装备",
    "maturity": "sample",
    "price": "面议",
    "district": "371121",
    "patent_numbers": "",
}


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


@pytest.fixture
def market(index, make_org, make_user, make_demand, make_achievement):
    """Two demands (steel in 东港区, aquaculture in 五莲县) and a candidate for each, precomputed."""
    steel_co = make_org("日照钢铁有限公司", org_type="enterprise")
    fishery = make_org("日照海洋牧场有限公司", org_type="enterprise")
    lab = make_org("山东冶金研究院", org_type="institute")
    sea = make_org("海洋装备研究所", org_type="institute")
    people = {
        "steel": make_user("enterprise", org=steel_co),
        "fishery": make_user("enterprise", org=fishery),
        "lab": make_user("university", org=lab),
        "lab2": make_user("university", org=lab),
        "sea": make_user("university", org=sea),
    }
    listings = {
        "steel_demand": make_demand(owner=people["steel"], **HYDROGEN_DEMAND),
        "pump_demand": make_demand(owner=people["fishery"], **{**PUMP_DEMAND, "district": "371121"}),
        "steel": make_achievement(owner=people["lab"], **HYDROGEN_ACHIEVEMENT),
        "pump": make_achievement(owner=people["sea"], **PUMP_ACHIEVEMENT),
    }
    precompute.refresh()
    return people, listings


def rows(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-testid="board-row" data-demand-id="(\d+)"', html)]


def test_the_board_shows_demands_with_their_candidates_scores_and_reasons(market, broker_client):
    _people, ls = market
    page = broker_client.get("/broker/board")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert set(rows(html)) == {ls["steel_demand"].id, ls["pump_demand"].id}
    assert "氢基竖炉直接还原铁技术" in html and "深远海养殖智能投喂装备" in html
    assert "共同关键词：" in html and "领域一致" in html
    assert "日照钢铁有限公司" in html and "未引荐" in html
    assert 'data-testid="introduce"' in html and 'name="csrf_token"' in html
    assert 'data-testid="nav-board"' in html
    # One candidate each: the heading counts what is there, not "the top 3".
    assert html.count("候选成果（1 项）") == 2 and "候选成果（前" not in html


def test_filters_narrow_the_board(market, broker_client):
    _people, ls = market
    by_field = broker_client.get("/broker/board?field=05").get_data(as_text=True)  # 新材料 (top level)
    assert rows(by_field) == [ls["steel_demand"].id]
    by_district = broker_client.get("/broker/board?district=371121").get_data(as_text=True)
    assert rows(by_district) == [ls["pump_demand"].id]
    by_text = broker_client.get("/broker/board?q=投喂").get_data(as_text=True)
    assert rows(by_text) == [ls["pump_demand"].id]
    nothing = broker_client.get("/broker/board?q=量子计算").get_data(as_text=True)
    assert rows(nothing) == [] and "没有符合条件的需求" in nothing
    assert broker_client.get("/broker/board?sort=score&per_page=50&field=bogus&introduced=x").status_code == 200


def test_an_introduction_is_recorded_audited_and_notified_once(market, broker_client, csrf_enabled):
    people, ls = market
    demand, steel = ls["steel_demand"], ls["steel"]
    board_html = broker_client.get("/broker/board").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', board_html).group(1)
    form = {
        "csrf_token": token,
        "demand_id": demand.id,
        "achievement_id": steel.id,
        "note": "建议先做中试",
        "next": "/broker/board",
    }
    response = broker_client.post("/broker/introductions", data=form, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "已引荐" in html and "已通知双方机构" in html
    intro = db.session.scalar(select(Introduction))
    assert (intro.demand_id, intro.achievement_id, intro.broker_id) == (demand.id, steel.id, broker_client.user.id)
    assert intro.note == "建议先做中试" and intro.score > 0.5 and intro.reasons[0].startswith("共同关键词")
    audit = db.session.scalar(select(AuditLog).where(AuditLog.action == "introduce"))
    assert audit.actor_id == broker_client.user.id and audit.object_id == intro.id
    to_demand = db.session.scalar(select(Notification).where(Notification.user_id == people["steel"].id))
    assert (
        "引荐了科技成果《氢基竖炉直接还原铁技术》" in to_demand.title and to_demand.url == f"/achievements/{steel.id}"
    )
    for member in (people["lab"], people["lab2"]):
        note = db.session.scalar(select(Notification).where(Notification.user_id == member.id))
        assert note.url == f"/demands/{demand.id}" and "建议先做中试" in note.body
    assert count(Notification, Notification.user_id == people["fishery"].id) == 0
    assert count(EmailOutbox) == 3
    # The board now says so, and the filters know it.
    assert 'data-testid="introduced"' in html and "已引荐 1 项" in html
    introduced = broker_client.get("/broker/board?introduced=yes").get_data(as_text=True)
    assert rows(introduced) == [demand.id]
    assert rows(broker_client.get("/broker/board?introduced=no").get_data(as_text=True)) == [ls["pump_demand"].id]
    # Twice for the same pair: refused with the reason, nothing more recorded or sent.
    again = broker_client.post("/broker/introductions", data=form, follow_redirects=True).get_data(as_text=True)
    assert "不能重复引荐" in again
    assert count(Introduction) == 1 and count(Notification) == 3
    mine = broker_client.get("/broker/introductions").get_data(as_text=True)
    assert "氢基竖炉直接还原铁技术" in mine and "建议先做中试" in mine


def test_introductions_without_csrf_are_refused(market, broker_client, csrf_enabled):
    _people, ls = market
    form = {"demand_id": ls["steel_demand"].id, "achievement_id": ls["steel"].id}
    assert broker_client.post("/broker/introductions", data=form).status_code == 400
    assert count(Introduction) == 0


def test_unpublished_or_same_organisation_pairs_are_refused(market, broker_client, make_user):
    people, ls = market
    from marketplace.listings import services as listings

    listings.transition(ls["pump"], "withdraw", people["sea"])
    db.session.commit()
    form = {"demand_id": ls["pump_demand"].id, "achievement_id": ls["pump"].id}
    html = broker_client.post("/broker/introductions", data=form, follow_redirects=True).get_data(as_text=True)
    assert "已不在发布状态，不能引荐" in html
    html = broker_client.post("/broker/introductions", data={"demand_id": "x"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "请选择要引荐的技术需求" in html
    assert count(Introduction) == 0


def test_admins_see_every_introduction_brokers_their_own(market, login_as, make_user):
    _people, ls = market
    first, second = make_user("broker", name="张经纪"), make_user("broker", name="李经纪")
    admin = make_user("admin", org=None)
    for broker, key in ((first, "steel"), (second, "pump")):
        demand = ls["steel_demand"] if key == "steel" else ls["pump_demand"]
        login_as(broker).post("/broker/introductions", data={"demand_id": demand.id, "achievement_id": ls[key].id})
    assert count(Introduction) == 2
    mine = login_as(first).get("/broker/introductions").get_data(as_text=True)
    assert "氢基竖炉" in mine and "深远海养殖智能投喂装备" not in mine
    everything = login_as(admin).get("/broker/introductions").get_data(as_text=True)
    assert "张经纪" in everything and "李经纪" in everything


@pytest.mark.parametrize("role", ["university", "enterprise", "official"])
def test_other_roles_are_refused(market, login_as, make_user, role):
    _people, ls = market
    client = login_as(make_user(role))
    page = client.get("/broker/board")
    assert page.status_code == 403 and "撮合看板只对技术经纪人和平台管理员开放" in page.get_data(as_text=True)
    form = {"demand_id": ls["steel_demand"].id, "achievement_id": ls["steel"].id}
    assert client.post("/broker/introductions", data=form).status_code == 403
    assert 'data-testid="nav-board"' not in client.get("/").get_data(as_text=True)
    assert count(Introduction) == 0


def test_an_empty_board_says_so(index, broker_client):
    html = broker_client.get("/broker/board").get_data(as_text=True)
    assert "目前没有待撮合的技术需求" in html


def test_a_demand_with_an_open_deal_leaves_the_board_until_the_deal_ends(market, broker_client):
    from marketplace.deals.models import Deal

    _people, ls = market
    demand = ls["steel_demand"]
    deal = Deal(
        title="氢冶金技术许可",
        seller_org_id=ls["steel"].org_id,
        buyer_org_id=demand.org_id,
        achievement_id=ls["steel"].id,
        demand_id=demand.id,
        stage="negotiation",
    )
    db.session.add(deal)
    db.session.commit()
    assert rows(broker_client.get("/broker/board").get_data(as_text=True)) == [ls["pump_demand"].id]
    deal.stage = "terminated"
    db.session.commit()
    assert demand.id in rows(broker_client.get("/broker/board").get_data(as_text=True))


def test_an_approval_through_the_web_reaches_the_board_once_its_response_is_sent(
    index, admin_client, broker_client, make_demand, make_achievement
):
    from marketplace.matching.models import MatchResult

    demand = make_demand(**HYDROGEN_DEMAND)
    precompute.refresh()
    steel = make_achievement(status="pending", **HYDROGEN_ACHIEVEMENT)
    response = admin_client.post(f"/achievements/{steel.id}/approve")
    assert response.status_code == 302
    response.close()  # the server signals the response was sent: the search catch-up, then the refresh
    db.session.rollback()  # end this session's read snapshot (the request shared it)
    cached = db.session.scalars(select(MatchResult.target_id).where(MatchResult.source_id == demand.id)).all()
    assert cached == [steel.id]
    html = broker_client.get("/broker/board").get_data(as_text=True)
    assert "氢基竖炉直接还原铁技术" in html and "推荐更新中" not in html
