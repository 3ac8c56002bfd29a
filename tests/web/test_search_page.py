"""The search page /search: finding published listings (Chinese, traditional characters, English),
never drafts or withdrawn ones, facets with counts, filters as removable chips, sort, paging that
keeps everything, highlighted but escaped titles, the empty state, organisations, and odd input
that must never give an error page."""

from __future__ import annotations

import html as htmllib
import re
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from marketplace import search as search_bridge
from marketplace.extensions import db
from marketplace.listings import services as listings

ACH_VISION = "基于机器视觉的尺寸测量系统"
ACH_BATTERY = "锂离子电池正极材料制备技术"
ACH_STEEL = "氢冶金高强钢短流程工艺"
DRAFT = "机器视觉草稿成果"
WITHDRAWN = "机器视觉撤回成果"


def page_of(response) -> str:
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True)


def hit_titles(page: str) -> list[str]:
    """The titles of the hits in page order, without the <mark> highlighting."""
    links = re.findall(r'data-testid="hit-link">(.*?)</a>', page, flags=re.S)
    return [htmllib.unescape(re.sub(r"</?mark>", "", link)).strip() for link in links]


def facet_counts(page: str, param: str) -> dict[str, int]:
    section = re.search(rf'data-param="{param}">(.*?)</section>', page, flags=re.S)
    if section is None:
        return {}
    found = re.findall(
        r'data-code="([^"]+)"[^>]*>\s*<span>.*?</span><span class="count">(\d+)</span>', section[1], re.S
    )
    return {code: int(count) for code, count in found}


def links(page: str) -> list[str]:
    return [htmllib.unescape(href) for href in re.findall(r'href="([^"]+)"', page)]


@pytest.fixture(autouse=True)
def fresh_index(app, tmp_path):
    """An index of this test's rows only: the database is emptied between tests and row ids are
    reused, so documents left by an earlier test would count in totals and facets."""
    previous = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "search_index")
    yield
    app.config["SEARCH_INDEX_DIR"] = previous


@pytest.fixture
def catalogue(make_user, make_achievement, make_demand):
    """A small fixed set: three published achievements, a draft, a withdrawn one, two demands."""
    owner = make_user("university")
    items = {
        "vision": make_achievement(
            owner=owner,
            title=ACH_VISION,
            field="0303",
            maturity="sample",
            price="50万",
            district="371102",
            transfer_modes=["transfer", "license"],
            keywords="机器视觉；尺寸测量",
        ),
        "battery": make_achievement(
            owner=owner,
            title=ACH_BATTERY,
            summary="高镍三元正极材料的共沉淀制备工艺，适用于动力电池。Lithium-ion battery cathode materials.",
            field="0605",
            maturity="pilot",
            price="300万",
            district="371103",
            transfer_modes=["equity"],
            patent_numbers="CN114081026A",
            keywords="锂离子电池；正极材料",
        ),
        "steel": make_achievement(
            owner=owner,
            title=ACH_STEEL,
            summary="以氢气替代焦炭作还原剂，生产高强钢，显著降低二氧化碳排放。",
            field="0501",
            maturity="lab",
            price="面议",
            district="371102",
            ip_type="trade_secret",
            patent_numbers="",
            transfer_modes=["co_develop"],
            keywords="氢冶金；高强钢",
        ),
        "draft": make_achievement(owner=owner, status="draft", title=DRAFT, patent_numbers=""),
        "withdrawn": make_achievement(owner=owner, status="withdrawn", title=WITHDRAWN, patent_numbers=""),
        "demand": make_demand(title="机器视觉缺陷检测需求", demand_type="tackle", budget="10-20万"),
        "demand_draft": make_demand(title="机器视觉草稿需求", status="draft"),
    }
    # Published on different days, as real listings are (the fixtures publish within one second).
    for day, name in enumerate(("vision", "battery", "steel"), start=1):
        items[name].published_at = datetime(2025, 3, day, 8, 0)
        search_bridge.enqueue(items[name])
    db.session.commit()
    return items


# ---------------------------------------------------------------------------------------------
# Finding things


def test_finds_a_published_achievement_by_a_chinese_term(client, catalogue):
    page = page_of(client.get("/search?q=机器视觉"))
    assert ACH_VISION in hit_titles(page)
    assert f'href="/achievements/{catalogue["vision"].id}"' in page
    assert "<mark>" in page  # the matched words are highlighted
    assert 'value="机器视觉"' in page  # the query is kept in the box


def test_finds_by_a_traditional_character_query(client, catalogue):
    assert hit_titles(page_of(client.get("/search?q=氫冶金"))) == [ACH_STEEL]


def test_finds_by_an_english_term_in_any_case(client, catalogue):
    assert ACH_BATTERY in hit_titles(page_of(client.get("/search?q=LITHIUM")))


def test_finds_a_quoted_phrase(client, catalogue):
    assert hit_titles(page_of(client.get('/search?q="锂离子电池"'))) == [ACH_BATTERY]


def test_drafts_and_withdrawn_listings_are_never_shown(client, catalogue):
    for query in ("q=机器视觉", "q=成果", "", "q=机器视觉&type=demand", "type=demand"):
        page = page_of(client.get(f"/search?{query}"))
        for hidden in (DRAFT, WITHDRAWN, "机器视觉草稿需求"):
            assert hidden not in page, (query, hidden)


def test_a_listing_withdrawn_after_publishing_leaves_the_results(client, catalogue):
    vision = catalogue["vision"]
    assert ACH_VISION in hit_titles(page_of(client.get("/search?q=机器视觉")))
    listings.transition(vision, "withdraw", vision.created_by)
    db.session.commit()
    assert ACH_VISION not in page_of(client.get("/search?q=机器视觉"))


def test_demand_tab_finds_demands_and_links_to_them(client, catalogue):
    page = page_of(client.get("/search?q=机器视觉&type=demand"))
    assert hit_titles(page) == ["机器视觉缺陷检测需求"]
    assert f'href="/demands/{catalogue["demand"].id}"' in page
    assert 'name="type" value="demand"' in page  # a new query stays on the tab


def test_tabs_show_counts_per_kind(client, catalogue):
    page = page_of(client.get("/search?q=机器视觉"))
    tabs = re.findall(r'data-kind="(\w+)">\s*[^<]+<span[^>]*data-testid="tab-count">(\d+)</span>', page)
    assert dict(tabs) == {"achievement": "1", "demand": "1", "organization": "0"}


# ---------------------------------------------------------------------------------------------
# Browse mode, facets, filters, sort, paging


def test_empty_query_browses_the_newest_with_facets(client, catalogue):
    page = page_of(client.get("/search"))
    assert hit_titles(page) == [ACH_STEEL, ACH_BATTERY, ACH_VISION]  # newest first
    assert "最新发布的科技成果" in page
    assert facet_counts(page, "maturity") == {"lab": 1, "pilot": 1, "sample": 1}
    assert facet_counts(page, "field") == {"03": 1, "05": 1, "06": 1}
    assert facet_counts(page, "district") == {"371102": 2, "371103": 1}
    assert facet_counts(page, "price_band") == {"negotiable": 1, "50w-100w": 1, "100w-500w": 1}
    assert facet_counts(page, "transfer_mode")["equity"] == 1
    assert "中试" in page and "岚山区" in page and "100–500万元" in page  # Chinese labels


def test_a_facet_link_narrows_and_shows_a_removable_chip(client, catalogue):
    page = page_of(client.get("/search"))
    energy = next(link for link in links(page) if "field=06" in link)
    narrowed = page_of(client.get(energy))
    assert hit_titles(narrowed) == [ACH_BATTERY]
    assert "技术领域：新能源与高效节能" in narrowed
    # the chosen top-level field opens its second level
    assert {"06": 1, "0605": 1}.items() <= facet_counts(narrowed, "field").items()
    assert "0303" not in facet_counts(narrowed, "field")
    chip = re.search(r'<a [^>]*href="([^"]+)"[^>]*data-testid="chip"', narrowed)
    assert "field" not in parse_qs(urlsplit(htmllib.unescape(chip[1])).query)
    assert len(hit_titles(page_of(client.get(htmllib.unescape(chip[1]))))) == 3


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("field=0605", [ACH_BATTERY]),
        ("field=05", [ACH_STEEL]),
        ("maturity=lab", [ACH_STEEL]),
        ("maturity=通过中试", [ACH_BATTERY]),  # a Chinese label works too
        ("price_band=negotiable", [ACH_STEEL]),
        ("district=371102&sort=newest", [ACH_STEEL, ACH_VISION]),
        ("district=岚山区", [ACH_BATTERY]),
        ("transfer_mode=license", [ACH_VISION]),
        ("ip_type=trade_secret", [ACH_STEEL]),
        ("q=机器视觉&maturity=lab", []),
    ],
)
def test_filters_narrow(client, catalogue, query, expected):
    assert hit_titles(page_of(client.get(f"/search?{query}"))) == expected


def test_bad_filter_values_are_ignored_with_a_notice(client, catalogue):
    page = page_of(client.get("/search?field=9999&maturity=soon&district=火星"))
    assert len(hit_titles(page)) == 3
    assert page.count('data-testid="search-notice"') == 3
    assert "已忽略此条件" in page


def test_sort_by_price_and_newest(client, catalogue):
    by_price = hit_titles(page_of(client.get("/search?sort=price_desc")))
    assert by_price.index(ACH_BATTERY) < by_price.index(ACH_VISION)
    by_price = hit_titles(page_of(client.get("/search?sort=price_asc")))
    assert by_price.index(ACH_VISION) < by_price.index(ACH_BATTERY)
    assert hit_titles(page_of(client.get("/search?q=机器视觉 锂离子电池 氢冶金&sort=newest"))) == [
        ACH_STEEL,
        ACH_BATTERY,
        ACH_VISION,
    ]


def test_pagination_keeps_the_query_filters_and_sort(client, catalogue):
    page = page_of(client.get("/search?district=371102&sort=price_asc&per_page=1"))
    first = hit_titles(page)
    assert len(first) == 1
    next_link = next(link for link in links(page) if "page=2" in link)
    args = parse_qs(urlsplit(next_link).query)
    assert args == {"district": ["371102"], "sort": ["price_asc"], "per_page": ["1"], "page": ["2"]}
    second = hit_titles(page_of(client.get(next_link)))
    assert len(second) == 1 and second != first
    assert "共 2 条，第 2 / 2 页" in page_of(client.get(next_link))


def test_a_page_past_the_end_shows_the_last_page(client, catalogue):
    assert len(hit_titles(page_of(client.get("/search?per_page=2&page=99")))) == 1


@pytest.mark.parametrize(
    "query",
    ["page=abc", "page=0", "page=-3", "page=99999999999999999999", "sort=bogus", "type=bogus", "per_page=x"],
)
def test_bad_page_sort_or_type_falls_back(client, catalogue, query):
    page = page_of(client.get(f"/search?{query}"))
    assert len(hit_titles(page)) == 3


# ---------------------------------------------------------------------------------------------
# Escaping, odd input, empty state


def test_a_title_with_markup_is_shown_escaped(client, make_achievement):
    make_achievement(title="<script>alert(1)</script>机器视觉<b>粗体</b>", patent_numbers="")
    page = page_of(client.get("/search?q=机器视觉"))
    assert "<script>alert(1)</script>" not in page
    assert "<b>粗体</b>" not in page
    assert "&lt;script&gt;" in page
    assert "<mark>" in page  # the highlight itself still renders


@pytest.mark.parametrize(
    "query",
    [
        "",
        "   ",
        "！？。，、；：",
        "!@#$%^&*()_+-=[]{}|;':,./<>?",
        "机器视觉" * 250,
        "x" * 1000,
        "🔋⚡️🤖 电池",
        '"锂离子电池',
        "锂离子电池\"'",
        "'; DROP TABLE achievements; --",
        "1' OR '1'='1",
        "AND OR NOT",
        "机器 AND NOT 视觉 OR",
        "title:机器 field:* 0101^5 ~2",
        "机器*视觉?",
        "(((",
        "\\",
        "%00%01",
        "５Ｇ基站 Q690钢 GB/T 2260",
        "<script>alert(1)</script>",
    ],
)
def test_odd_queries_never_give_an_error_page(client, catalogue, query):
    for kind in ("achievement", "demand", "organization"):
        page = page_of(client.get("/search", query_string={"q": query, "type": kind}))
        assert "<script>alert(1)</script>" not in page


def test_a_very_long_query_is_cut_with_a_notice(client, catalogue):
    page = page_of(client.get("/search", query_string={"q": "机器视觉" * 250}))
    assert "搜索词过长" in page
    assert 'value="' + "机器视觉" * 50 + '"' in page  # 200 characters kept


def test_nothing_found_shows_tips(client, catalogue):
    page = page_of(client.get("/search?q=量子引力波望远镜"))
    assert 'data-testid="empty-state"' in page
    assert "没有找到与“<strong" in page
    assert 'data-testid="tips"' in page


def test_nothing_found_offers_the_other_kinds(client, make_demand):
    make_demand(title="海水淡化膜组件需求")
    page = page_of(client.get("/search?q=海水淡化"))
    assert 'data-testid="elsewhere"' in page and "技术需求 1 条" in page


def test_a_broken_index_gives_a_notice_not_an_error_page(client, monkeypatch):
    def broken(query):
        raise OSError("index unreadable")

    monkeypatch.setattr(search_bridge, "run_search", broken)
    response = client.get("/search?q=机器视觉")
    assert response.status_code == 503
    page = response.get_data(as_text=True)
    assert "搜索服务暂时不可用" in page and 'value="机器视觉"' in page


# ---------------------------------------------------------------------------------------------
# Organisations and the search boxes


def test_organisation_search_finds_verified_organisations_only(client, make_org):
    verified = make_org(name="日照海洋智能装备研究院", org_type="institute", district="371102")
    make_org(name="日照海洋未认证研究所", org_type="institute", verified=False)
    page = page_of(client.get("/search?q=海洋&type=organization"))
    assert hit_titles(page) == ["日照海洋智能装备研究院"]
    assert f'href="/orgs/{verified.id}"' in page
    assert facet_counts(page, "org_type") == {"institute": 1}


def test_home_and_navbar_search_boxes_go_to_the_search_page(client):
    home = page_of(client.get("/"))
    assert re.search(r'<form class="hero-search" action="/search"', home)
    assert 'data-testid="nav-search"' in home and 'action="/search" method="get" data-testid="nav-search"' in home
