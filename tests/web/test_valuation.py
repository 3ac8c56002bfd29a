"""Pricing guidance (contract index sync, comparables, no public leak) and worksheets (web, API, PDF)."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from marketplace import search
from marketplace.deals import contracts
from marketplace.extensions import db
from tests.web.access_contracts import make_deal, registered

SHEET = {
    "title": "尺寸测量系统价值评估",
    "revenues": [
        {"year": "2027", "amount": "100"},
        {"year": "2028", "amount": "120"},
        {"year": "2029", "amount": "150"},
    ],
    "share_pct": "25",
    "discount_pct": "10",
    "life_years": "2.5",
    "cost_items": [{"name": "研发人工", "amount": "85"}],
    "margin_pct": "10",
    "functional_pct": "20",
    "economic_pct": "10",
}


@pytest.fixture
def parties(make_user):
    owner = make_user("university", manager=True)
    enterprise = make_user("enterprise")
    broker = make_user("broker")
    official = make_user("official")
    return {"owner": owner, "enterprise": enterprise, "broker": broker, "official": official}


def _register(p, **overrides):
    deal = make_deal(p["owner"].active_org, p["enterprise"].active_org, p["broker"])
    contract = registered(deal, p["broker"], p["official"], **overrides)
    return contract


def test_contract_index_follows_registration_amendment_and_cancellation(index, parties):
    contract = _register(parties, project_name="机器视觉尺寸测量专利权转让")
    search.catch_up(index)
    key = f"contract:{contract.id}"
    assert key in index.versions()
    before = index.versions()[key]
    contracts.amend(contract, parties["official"], {"project_name": "机器视觉尺寸测量系统专利权转让"}, "名称更正")
    db.session.commit()
    search.catch_up(index)
    assert index.versions()[key] != before
    assert search.check(index).clean
    contracts.cancel(contract, parties["official"], "双方解除")
    db.session.commit()
    search.catch_up(index)
    assert key not in index.versions()
    assert search.check(index).clean


def test_public_search_never_shows_contracts(index, client, parties):
    _register(parties, project_name="海水淡化反渗透膜专利权转让")
    search.catch_up(index)
    for url in ("/search?q=反渗透膜", "/search?q=反渗透膜&type=contract", "/api/v1/search?q=反渗透膜&type=contract"):
        response = client.get(url)
        assert "海水淡化反渗透膜" not in response.get_data(as_text=True), url


def test_pricing_page_lists_registered_comparables_with_quartiles(index, login_as, parties, make_achievement):
    achievement = make_achievement(owner=parties["owner"], field="03", title="机器视觉尺寸测量系统")
    amounts = ["100000", "200000", "300000", "400000", "1000000", "5000000"]
    made = [
        _register(
            parties,
            project_name=f"机器视觉测量系统专利权转让{i}",
            amount=a,
            cost_equipment="",
            cost_instruments="",
            cost_materials="",
            field="03",
            ip_type="invention",
        )
        for i, a in enumerate(amounts)
    ]
    contracts.cancel(made[-1], parties["official"], "解除")
    db.session.commit()
    page = login_as(parties["owner"]).get(f"/valuation/pricing?achievement={achievement.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "机器视觉测量系统专利权转让0" in html and "机器视觉测量系统专利权转让5" not in html  # cancelled
    assert "参考价值有限" not in html  # 5 comparables: enough not to warn
    # 10/20/30/40/100 万元: P25 20, median 30, P75 40
    quartiles = re.sub(r"\s+", " ", html.split('data-testid="quartiles"')[1].split("</div>\n  </div>")[0])
    assert "10.00" in quartiles and "20.00" in quartiles and "30.00" in quartiles and "40.00" in quartiles
    assert "第 <strong>" in html  # the listing price (50万) among them
    data = login_as(parties["broker"]).get(f"/api/v1/valuation/pricing?achievement={achievement.id}").get_json()
    assert data["count"] == 5 and data["stats"]["median"] == "30.00" and data["percentile"] == "80.00"
    assert data["warning"] is None


def test_relaxation_is_stated(index, login_as, parties, make_achievement):
    achievement = make_achievement(owner=parties["owner"], field="0303", ip_type="invention")
    _register(
        parties, project_name="机器视觉检测技术开发", contract_type="dev_commissioned", field="03", ip_type="software"
    )
    data = login_as(parties["owner"]).get(f"/api/v1/valuation/pricing?achievement={achievement.id}").get_json()
    assert data["count"] == 1 and data["warning"] == "可比合同仅 1 份，参考价值有限"
    assert "知识产权类型" in data["relaxed"] and "合同类型" in data["relaxed"]
    assert data["comparables"][0]["matches"] == {"field": "near", "type": "differs", "ip": "differs"}


def test_other_organisations_cannot_see_the_guidance(login_as, parties, make_achievement, make_user):
    achievement = make_achievement(owner=parties["owner"])
    assert login_as(make_user("university")).get(f"/valuation/pricing?achievement={achievement.id}").status_code == 403
    assert login_as(parties["official"]).get(f"/valuation/pricing?achievement={achievement.id}").status_code == 200


def test_worksheet_form_validates_saves_and_exports(login_as, parties, tmp_path):
    client = login_as(parties["owner"])
    bad = client.post(
        "/valuation/worksheets/new", data={"title": "x", "share_pct": "-5", "discount_pct": "10", "life_years": "3"}
    )
    html = bad.get_data(as_text=True)
    assert 'data-field-error="share_pct">不能为负数' in html and "至少填写一年" in html
    form = {
        "title": SHEET["title"],
        "share_pct": "25",
        "discount_pct": "10",
        "life_years": "2.5",
        "margin_pct": "10",
        "functional_pct": "20",
        "economic_pct": "10",
        "obsolescence_mode": "rates",
        "cost_items-0-name": "研发人工",
        "cost_items-0-amount": "85",
    }
    for i, (year, amount) in enumerate([("2027", "100"), ("2028", "120"), ("2029", "150")]):
        form |= {f"revenues-{i}-year": year, f"revenues-{i}-amount": amount}
    preview = client.post("/valuation/worksheets/new", data={**form, "action": "preview"})
    assert "61.6079" in preview.get_data(as_text=True)
    saved = client.post("/valuation/worksheets/new", data={**form, "action": "save"}, follow_redirects=True)
    text = saved.get_data(as_text=True)
    assert "61.6079 万元" in text and "67.3200 万元" in text and "不构成资产评估报告" in text
    sheet_url = saved.request.path
    assert login_as(parties["enterprise"]).get(sheet_url).status_code == 403
    if shutil.which("pdftotext"):
        pdf = client.get(sheet_url + ".pdf")
        path = tmp_path / "w.pdf"
        path.write_bytes(pdf.data)
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
        flat = re.sub(r"\s+", "", out)
        assert "知识产权价值评估工作表" in flat and "61.6079" in flat and "67.3200" in flat
        assert "14.0872" in flat and "法定评估须由具备资质的资产评估机构出具" in flat


def test_worksheet_api_crud_preview_and_field_errors(login_as, parties, make_user):
    client = login_as(parties["owner"])
    bad = client.post("/api/v1/valuation/worksheets/preview", json={**SHEET, "discount_pct": "150"})
    assert bad.status_code == 422 and "0–100%" in bad.get_json()["error"]["fields"]["discount_pct"]
    preview = client.post("/api/v1/valuation/worksheets/preview", json=SHEET).get_json()
    assert preview["results"]["income"]["value"] == "61.6079"
    created = client.post("/api/v1/valuation/worksheets", json=SHEET)
    assert created.status_code == 201
    sheet = created.get_json()
    assert sheet["version"] == 1 and sheet["results"]["cost"]["value"] == "67.3200"
    updated = client.put(f"/api/v1/valuation/worksheets/{sheet['id']}", json={**SHEET, "life_years": "1"}).get_json()
    assert updated["version"] == 2 and updated["results"]["income"]["value"] == "22.7273"
    refused = client.put(f"/api/v1/valuation/worksheets/{sheet['id']}", json={**SHEET, "life_years": "25"})
    assert refused.status_code == 422
    assert client.get(f"/api/v1/valuation/worksheets/{sheet['id']}").get_json()["version"] == 2  # unchanged
    colleague = make_user("university", org=parties["owner"].active_org)
    assert login_as(colleague).get(f"/api/v1/valuation/worksheets/{sheet['id']}").status_code == 200
    assert login_as(make_user("university")).get(f"/api/v1/valuation/worksheets/{sheet['id']}").status_code == 403
    assert client.delete(f"/api/v1/valuation/worksheets/{sheet['id']}").status_code == 200
    assert client.get(f"/api/v1/valuation/worksheets/{sheet['id']}").status_code == 404


def test_the_achievement_page_links_the_guidance_for_those_who_may_see_it(
    login_as, parties, make_achievement, make_user
):
    item = make_achievement(owner=parties["owner"], status="published")
    for who in ("owner", "broker", "official"):
        html = login_as(parties[who]).get(f"/achievements/{item.id}").get_data(as_text=True)
        assert 'data-testid="pricing-link"' in html and f"/valuation/pricing?achievement={item.id}" in html, who
    html = login_as(parties["enterprise"]).get(f"/achievements/{item.id}").get_data(as_text=True)
    assert 'data-testid="pricing-link"' not in html  # another organisation: the guidance would refuse it
