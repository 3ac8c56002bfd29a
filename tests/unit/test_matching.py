"""Recommendations on small fixed corpora: ranking, reasons, weights, and what is never recommended."""

from __future__ import annotations

import pytest

from marketplace import matching, search
from search_index import match as text_match

HYDROGEN_DEMAND = {
    "title": "氢冶金直接还原铁工艺技术需求",
    "description": "我公司拟建设氢冶金示范线，寻求氢基直接还原工艺技术，降低高炉炼铁的碳排放。",
    "field": "0501",
    "keywords": "氢冶金；直接还原",
    "demand_type": "introduce",
    "budget": "100-500万",
    "district": "371102",
}
HYDROGEN_ACHIEVEMENT = {
    "title": "氢基竖炉直接还原铁技术",
    "summary": "采用氢冶金工艺，以氢气为还原剂进行直接还原，生产低碳直接还原铁，显著降低炼铁碳排放。",
    "field": "0501",
    "keywords": "氢冶金；直接还原；低碳炼铁",
    "maturity": "mass",
    "price": "200万元",
    "district": "371102",
    "patent_numbers": "",
}
VISION = {"title": "基于机器视觉的尺寸测量系统", "patent_numbers": "", "district": "371103"}


@pytest.fixture
def weights(app):
    previous = app.config.get("MATCH_WEIGHTS")
    yield app.config
    app.config["MATCH_WEIGHTS"] = previous


def by_id(matches):
    return {m.id: m for m in matches}


def test_a_matching_achievement_outranks_a_non_matching_one(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    vision = make_achievement(**VISION)
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    partial = make_achievement(
        title="高炉炼铁余热回收系统",
        summary="回收高炉炼铁过程的余热，用于发电。",
        field="0502",
        keywords="余热回收",
        patent_numbers="",
    )
    matches = matching.recommend(demand)
    ids = [m.id for m in matches]
    assert ids[0] == steel.id
    assert vision.id not in ids  # shares no key term
    if partial.id in ids:
        assert by_id(matches)[partial.id].score < by_id(matches)[steel.id].score
    assert all(0 < m.score <= 1.1 for m in matches)
    assert matches[0].url == f"/achievements/{steel.id}"


def test_reasons_name_shared_terms_field_maturity_price_and_district(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    reasons = by_id(matching.recommend(demand))[steel.id].reasons
    shared = reasons[0]
    assert shared.startswith("共同关键词：")
    assert "氢冶金" in shared and "直接还原" in shared
    assert "领域一致" in reasons
    assert "成熟度“可以量产”适合成果引进" in reasons
    assert "报价在预算范围内" in reasons
    assert "同在东港区" in reasons


def test_the_other_direction_and_price_reasons(index, make_demand, make_achievement):
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    cheap = make_demand(**{**HYDROGEN_DEMAND, "budget": "10-20万", "district": "371103"})
    open_budget = make_demand(**{**HYDROGEN_DEMAND, "title": "氢冶金低碳炼铁合作", "budget": "面议"})
    other = make_demand()  # LED driver: nothing in common
    matches = by_id(matching.recommend(steel))
    assert other.id not in matches
    assert "报价高于预算" in matches[cheap.id].reasons
    assert not any(r.startswith("同在") for r in matches[cheap.id].reasons)
    assert "预算面议" in matches[open_budget.id].reasons


def test_same_top_level_field_is_named(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    near = make_achievement(**{**HYDROGEN_ACHIEVEMENT, "field": "0502", "price": "面议"})
    reasons = by_id(matching.recommend(demand))[near.id].reasons
    assert "同属新材料及其应用领域" in reasons and "领域一致" not in reasons
    assert "价格面议" in reasons


def test_unpublished_listings_are_never_recommended(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    hidden = [make_achievement(status=s, **HYDROGEN_ACHIEVEMENT) for s in ("draft", "pending", "withdrawn", "closed")]
    published = make_achievement(**HYDROGEN_ACHIEVEMENT)
    ids = [m.id for m in matching.recommend(demand)]
    assert ids == [published.id]
    assert not {h.id for h in hidden} & set(ids)


def test_a_listing_of_the_same_organisation_is_left_out(index, make_demand, make_achievement, make_user, make_org):
    org = make_org(org_type="enterprise")
    member = make_user("enterprise", org=org)
    demand = make_demand(owner=member, **HYDROGEN_DEMAND)
    colleague = make_user("enterprise", org=org)
    make_achievement(owner=colleague, **HYDROGEN_ACHIEVEMENT)
    assert matching.recommend(demand) == []


def test_weights_are_configurable(index, weights, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    steel = make_achievement(**HYDROGEN_ACHIEVEMENT)
    before = by_id(matching.recommend(demand))[steel.id].score
    weights["MATCH_WEIGHTS"] = {"district": 0.5, "unknown": 9}
    after = by_id(matching.recommend(demand))[steel.id].score
    assert after == pytest.approx(before + 0.5 - matching.WEIGHTS["district"])


def test_limit_and_a_listing_with_no_text_in_common(index, make_demand, make_achievement):
    demand = make_demand(**HYDROGEN_DEMAND)
    for i in range(4):
        make_achievement(**{**HYDROGEN_ACHIEVEMENT, "title": f"氢冶金直接还原技术{i}"})
    assert len(matching.recommend(demand, limit=2)) == 2
    lonely = make_demand(title="量子纠缠光源", description="需要一种量子纠缠光源。", keywords="")
    assert matching.recommend(lonely) == []


def test_key_terms_are_bounded_weighted_and_skip_stop_words(index, make_achievement):
    make_achievement(**HYDROGEN_ACHIEVEMENT)
    make_achievement(**VISION)
    search.catch_up(index)
    long_text = "氢冶金直接还原铁技术，机器视觉尺寸测量，" * 200
    terms = text_match.key_terms(index, title="氢冶金工艺", keywords=["直接还原"], body=long_text)
    assert 0 < len(terms) <= text_match.KEY_TERMS
    assert terms[0][1] == 1.0 and all(0 < w <= 1.0 for _, w in terms)
    words = [t for t, _ in terms]
    assert "氢冶金" in words and "直接还原" in words
    assert not any(len(t) < 2 for t in words)
    assert text_match.key_terms(index, title="", body="") == []
    assert text_match.key_terms(index, title="的了是", body="!!!") == []
    assert text_match.match_terms(index, [], "achievement") == []
