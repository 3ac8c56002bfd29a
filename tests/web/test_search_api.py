"""GET /api/v1/search: published listings and verified organisations only, facet counts on a fixed
set, filters, sort, paging, the documented shape, and parameter validation that names each bad
parameter in Chinese."""

from __future__ import annotations

import re
from typing import Any

import pytest

from marketplace.extensions import db
from marketplace.listings import services as listings
from tests.web.test_api import assert_documented, assert_error
from tests.web.test_search_page import ACH_BATTERY, ACH_STEEL, ACH_VISION, DRAFT, WITHDRAWN
from tests.web.test_search_page import catalogue as catalogue
from tests.web.test_search_page import fresh_index as fresh_index

API = "/api/v1/search"


def search(client, **params) -> dict[str, Any]:
    response = client.get(API, query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def titles(body: dict[str, Any]) -> list[str]:
    return [item["title"] for item in body["items"]]


@pytest.fixture
def spec(client) -> dict[str, Any]:
    return client.get("/api/v1/openapi.json").get_json()


def test_finds_published_achievements_with_highlights(client, catalogue):
    body = search(client, q="机器视觉")
    assert titles(body) == [ACH_VISION]
    item = body["items"][0]
    vision = catalogue["vision"]
    assert item["id"] == vision.id and item["type"] == "achievement"
    assert item["url"] == f"/achievements/{vision.id}"
    assert item["api_url"] == f"/api/v1/achievements/{vision.id}"
    assert "<mark>" in item["highlight"] + item["title_highlight"]
    assert item["summary"].startswith("本项目采用机器视觉原理")
    assert item["score"] > 0
    assert item["field"]["code"] == "0303" and item["price"]["display"] == "50 万元"
    assert (body["total"], body["page"], body["per_page"], body["pages"]) == (1, 1, 20, 1)


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("氫冶金", [ACH_STEEL]),
        ("lithium", [ACH_BATTERY]),
        ("LITHIUM-ION", [ACH_BATTERY]),
        ('"锂离子电池"', [ACH_BATTERY]),
    ],
)
def test_traditional_english_and_quoted_queries(client, catalogue, q, expected):
    assert titles(search(client, q=q)) == expected


def test_drafts_and_withdrawn_listings_are_never_returned(client, catalogue):
    for params in ({"q": "机器视觉"}, {"q": "成果"}, {}, {"type": "demand"}, {"type": "demand", "q": "机器视觉"}):
        found = titles(search(client, **params))
        assert not {DRAFT, WITHDRAWN, "机器视觉草稿需求"} & set(found), params
    vision = catalogue["vision"]
    listings.transition(vision, "withdraw", vision.created_by)
    db.session.commit()
    assert titles(search(client, q="机器视觉")) == []


def test_facet_counts_on_a_fixed_set(client, catalogue):
    facets = search(client)["facets"]
    assert facets["maturity"] == {"sample": 1, "pilot": 1, "lab": 1}
    assert facets["field"] == {"03": 1, "0303": 1, "05": 1, "0501": 1, "06": 1, "0605": 1}
    assert facets["district"] == {"371102": 2, "371103": 1}
    assert facets["price_band"] == {"50w-100w": 1, "100w-500w": 1, "negotiable": 1}
    assert facets["transfer_mode"] == {"transfer": 1, "license": 1, "equity": 1, "co_develop": 1}
    assert facets["ip_type"] == {"invention": 2, "trade_secret": 1}
    assert set(facets) == {"field", "district", "maturity", "transfer_mode", "ip_type", "price_band"}
    # counts follow the query
    assert search(client, q="机器视觉")["facets"]["maturity"] == {"sample": 1}
    demand_facets = search(client, type="demand")["facets"]
    assert demand_facets["demand_type"] == {"tackle": 1}
    assert set(demand_facets) == {"field", "district", "demand_type", "price_band"}


def test_a_top_level_field_counts_everything_under_it(client, make_user, make_achievement):
    owner = make_user("university")
    make_achievement(owner=owner, title="只归入一级领域的成果", field="03", patent_numbers="")
    make_achievement(owner=owner, title="归入二级领域的成果", field="0303", patent_numbers="")
    body = search(client)
    assert body["facets"]["field"] == {"03": 2, "0303": 1}
    assert body["total"] == len(search(client, field="03")["items"]) == 2


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"field": "06"}, {ACH_BATTERY}),
        ({"field": "0605"}, {ACH_BATTERY}),
        ({"field": "新材料及其应用"}, {ACH_STEEL}),
        ({"district": "岚山区"}, {ACH_BATTERY}),
        ({"district": "371102"}, {ACH_VISION, ACH_STEEL}),
        ({"maturity": "lab"}, {ACH_STEEL}),
        ({"transfer_mode": "equity"}, {ACH_BATTERY}),
        ({"ip_type": "invention"}, {ACH_VISION, ACH_BATTERY}),
        ({"price_band": "negotiable"}, {ACH_STEEL}),
        ({"price_band": "50w-100w", "district": "371102"}, {ACH_VISION}),
        ({"q": "机器视觉", "field": "06"}, set()),
    ],
)
def test_filters_narrow(client, catalogue, params, expected):
    assert set(titles(search(client, **params))) == expected


def test_demand_search_and_filters(client, catalogue):
    body = search(client, type="demand", q="机器视觉", demand_type="tackle")
    assert titles(body) == ["机器视觉缺陷检测需求"]
    item = body["items"][0]
    assert item["type"] == "demand" and item["url"] == f"/demands/{catalogue['demand'].id}"
    assert item["demand_type"] == {"code": "tackle", "label": "技术难题攻关"}
    assert titles(search(client, type="demand", demand_type="consult")) == []


def test_sort_and_paging(client, catalogue):
    assert titles(search(client)) == [ACH_STEEL, ACH_BATTERY, ACH_VISION]  # browsing: newest first
    assert search(client)["sort"] == "newest" and search(client, q="工艺")["sort"] == "relevance"
    assert titles(search(client, q="工艺", sort="newest")) == [ACH_STEEL, ACH_BATTERY]
    priced = titles(search(client, sort="price_desc"))
    assert priced.index(ACH_BATTERY) < priced.index(ACH_VISION)
    priced = titles(search(client, sort="price_asc"))
    assert priced.index(ACH_VISION) < priced.index(ACH_BATTERY)
    pages = [search(client, per_page=2, page=page) for page in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [2, 1, 0]
    assert {p["total"] for p in pages} == {3} and {p["pages"] for p in pages} == {2}
    assert titles(pages[0]) + titles(pages[1]) == [ACH_STEEL, ACH_BATTERY, ACH_VISION]


def test_organisation_search_finds_verified_organisations_only(client, make_org):
    verified = make_org(name="日照海洋智能装备研究院", org_type="institute", district="371102")
    make_org(name="日照海洋未认证研究所", org_type="institute", verified=False)
    body = search(client, q="海洋", type="organization")
    assert titles(body) == ["日照海洋智能装备研究院"]
    item = body["items"][0]
    assert item["url"] == f"/orgs/{verified.id}" and item["org_type"]["code"] == "institute"
    assert item["organization"] is None and item["price"] is None
    assert body["facets"] == {"district": {"371102": 1}, "org_type": {"institute": 1}}
    assert titles(search(client, q="海洋", type="organization", org_type="university")) == []


@pytest.mark.parametrize(
    "q",
    [
        "",
        "！？。，、",
        "!@#$%^&*()[]{}",
        "🔋⚡️🤖",
        '"锂离子电池',
        "'; DROP TABLE achievements; --",
        "AND OR NOT",
        "NOT",
        "title:x* ~2 ^3",
        "x" * 200,
        "\x00\x01控制字符",
    ],
)
def test_odd_queries_are_answered(client, catalogue, q):
    for kind in ("achievement", "demand", "organization"):
        assert isinstance(search(client, q=q, type=kind)["items"], list)


# ---------------------------------------------------------------------------------------------
# Parameter validation


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("type=patent", "type"),
        ("sort=bogus", "sort"),
        ("type=organization&sort=price_asc", "sort"),
        ("page=0", "page"),
        ("page=-1", "page"),
        ("page=abc", "page"),
        ("page=1.5", "page"),
        ("page=１", "page"),
        ("page=1001", "page"),
        ("per_page=0", "per_page"),
        ("per_page=101", "per_page"),
        ("per_page=ten", "per_page"),
        ("field=9999", "field"),
        ("district=火星", "district"),
        ("maturity=soon", "maturity"),
        ("transfer_mode=gift", "transfer_mode"),
        ("ip_type=x", "ip_type"),
        ("price_band=cheap", "price_band"),
        ("type=demand&demand_type=x", "demand_type"),
        ("type=organization&org_type=x", "org_type"),
        ("demand_type=tackle", "demand_type"),  # a demand filter on achievements
        ("type=demand&maturity=lab", "maturity"),
        ("type=organization&field=01", "field"),
        ("colour=blue", "colour"),
        ("q=" + "长" * 201, "q"),
    ],
)
def test_bad_parameters_are_422_naming_the_parameter(client, query, field):
    error = assert_error(client.get(f"{API}?{query}"), 422, "validation_failed", field)
    assert re.search(r"[\u4e00-\u9fff]", error["fields"][field])  # a reason in Chinese


def test_every_bad_parameter_is_named_at_once(client):
    error = assert_error(client.get(f"{API}?sort=x&page=0&per_page=1000&maturity=y"), 422)
    assert set(error["fields"]) == {"sort", "page", "per_page", "maturity"}
    assert "100" in error["fields"]["per_page"]


def test_responses_match_the_documented_schema(client, spec, catalogue, make_org):
    make_org(name="日照海洋智能装备研究院", district="371102")
    for params in ("q=机器视觉", "", "type=demand", "type=organization&q=海洋", "q=量子引力波"):
        assert_documented(spec, "get", "/search", client.get(f"{API}?{params}"))
    assert_documented(spec, "get", "/search", client.get(f"{API}?page=0"))
    documented = {p["name"] for p in spec["paths"]["/search"]["get"]["parameters"]}
    assert documented == {
        "q",
        "type",
        "field",
        "district",
        "maturity",
        "transfer_mode",
        "ip_type",
        "demand_type",
        "price_band",
        "org_type",
        "sort",
        "page",
        "per_page",
    }
