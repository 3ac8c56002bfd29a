"""GET /api/v1/{demands,achievements}/<id>/matches and the owners' "推荐匹配" section."""

from __future__ import annotations

import pytest

from tests.unit.test_matching import HYDROGEN_ACHIEVEMENT, HYDROGEN_DEMAND

API = "/api/v1"


@pytest.fixture
def pair(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    make_achievement(status="draft", **{**HYDROGEN_ACHIEVEMENT, "title": "氢冶金草稿"})
    return demand, steel


def test_demand_matches_list_published_achievements_with_reasons(client, pair):
    demand, steel = pair
    response = client.get(f"{API}/demands/{demand.id}/matches")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [i["id"] for i in items] == [steel.id]  # the draft is never recommended
    item = items[0]
    assert set(item) == {"id", "title", "score", "reasons", "url"}
    assert item["title"] == steel.title and item["url"] == f"/achievements/{steel.id}"
    assert item["reasons"][0].startswith("共同关键词：") and "氢冶金" in item["reasons"][0]
    assert "报价在预算范围内" in item["reasons"]


def test_achievement_matches_list_demands(client, pair):
    demand, steel = pair
    items = client.get(f"{API}/achievements/{steel.id}/matches?limit=5").get_json()["items"]
    assert [i["id"] for i in items] == [demand.id]


@pytest.mark.parametrize("limit", ["0", "51", "abc", "-1", "1.5"])
def test_a_bad_limit_is_refused_naming_limit(client, pair, limit):
    demand, _ = pair
    response = client.get(f"{API}/demands/{demand.id}/matches?limit={limit}")
    assert response.status_code == 422
    assert "limit" in response.get_json()["error"]["fields"]


def test_limit_bounds(client, index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    for i in range(3):
        make_achievement(**{**HYDROGEN_ACHIEVEMENT, "title": f"氢冶金直接还原{i}"})
    assert len(client.get(f"{API}/demands/{demand.id}/matches?limit=1").get_json()["items"]) == 1
    assert len(client.get(f"{API}/demands/{demand.id}/matches?limit=50").get_json()["items"]) == 3


def test_a_private_listing_is_refused_and_a_missing_one_not_found(client, index, make_demand, api_client):
    draft = make_demand(status="draft", **HYDROGEN_DEMAND)
    assert client.get(f"{API}/demands/{draft.id}/matches").status_code == 403
    assert api_client(draft.created_by).get(f"{API}/demands/{draft.id}/matches").status_code == 200
    assert client.get(f"{API}/demands/999999/matches").status_code == 404


def test_owners_and_admins_see_the_section_others_do_not(app, pair, login_as, admin_client, make_user):
    demand, steel = pair
    owner = login_as(demand.created_by)
    page = owner.get(f"/demands/{demand.id}").get_data(as_text=True)
    assert 'data-testid="matches"' in page and "推荐匹配" in page and "为本技术需求推荐的科技成果" in page
    assert steel.title in page and "共同关键词" in page
    assert 'data-testid="matches"' in admin_client.get(f"/demands/{demand.id}").get_data(as_text=True)
    stranger = login_as(make_user("enterprise"))
    assert 'data-testid="matches"' not in stranger.get(f"/demands/{demand.id}").get_data(as_text=True)
    assert 'data-testid="matches"' not in app.test_client().get(f"/demands/{demand.id}").get_data(as_text=True)


def test_a_newly_published_listing_gets_recommendations_without_a_manual_step(pair, login_as, make_achievement):
    demand, steel = pair
    newer = make_achievement(**{**HYDROGEN_ACHIEVEMENT, "title": "氢冶金直接还原新工艺"})
    page = login_as(newer.created_by).get(f"/achievements/{newer.id}").get_data(as_text=True)
    assert demand.title in page


def test_the_endpoints_are_documented(client):
    paths = client.get(f"{API}/openapi.json").get_json()["paths"]
    for plural in ("demands", "achievements"):
        op = paths[f"/{plural}/{{listing_id}}/matches"]["get"]
        assert [p["name"] for p in op["parameters"]] == ["limit"]
        assert "422" in op["responses"]
