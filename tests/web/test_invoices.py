"""Invoices and documents through the web and the API: the deal page's section, issuing, voiding,
marking paid, PDF downloads (type, Chinese file name, permissions), CSRF, the JSON shapes."""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import quote

import pytest
from sqlalchemy import func, select

from marketplace.deals.models import Invoice
from marketplace.extensions import db
from tests.web.access_invoices import add_contract, deal_between
from tests.web.test_api import problems

API = "/api/v1"


@pytest.fixture
def people(make_org, make_user):
    seller = make_org(name="日照职业技术学院", org_type="university")
    buyer = make_org(name="山东岚桥港口装备有限公司", org_type="enterprise")
    agency = make_org(name="日照市技术转移服务中心", org_type="agency")
    return {
        "broker": make_user("broker", org=agency),
        "seller_member": make_user("university", org=seller),
        "buyer_member": make_user("enterprise", org=buyer),
        "outsider": make_user("enterprise"),
        "official": make_user("official"),
        "admin": make_user("admin", org=None),
        "seller": seller,
        "buyer": buyer,
    }


@pytest.fixture
def deal(people):
    deal = deal_between(people["seller"], people["buyer"], people["broker"])
    db.session.commit()
    return deal


def invoice_count() -> int:
    return db.session.scalar(select(func.count(Invoice.id)))


def test_broker_sees_the_issue_form_and_the_documents_box(login_as, deal, people):
    add_contract(deal)
    db.session.commit()
    page = login_as(people["broker"]).get(f"/deals/{deal.id}").get_data(as_text=True)
    assert 'data-testid="invoice-form"' in page
    assert "尚未开具发票" in page
    assert f"/deals/{deal.id}/summary.pdf" in page
    assert f"/contracts/{deal.contract.id}/certificate.pdf" in page
    assert "2026371100000123" in page


def test_parties_see_invoices_but_cannot_issue(login_as, deal, people):
    broker = login_as(people["broker"])
    assert broker.post(f"/deals/{deal.id}/invoices", data={"kind": "commission"}).status_code == 302
    page = login_as(people["buyer_member"]).get(f"/deals/{deal.id}").get_data(as_text=True)
    assert 'data-testid="invoice-row"' in page and "KJTB" in page and "未付款" in page
    assert 'data-testid="invoice-form"' not in page
    assert "确认作废" not in page
    # No registered contract yet: the certificate is announced, not linked.
    assert "合同登记后可下载" in page and "certificate.pdf" not in page


def test_issue_a_commission_invoice_from_the_deal_page(login_as, deal, people):
    client = login_as(people["broker"])
    response = client.post(f"/deals/{deal.id}/invoices", data={"kind": "commission", "tax_rate": "6"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/deals/{deal.id}#invoices")
    invoice = db.session.scalar(select(Invoice))
    assert invoice.total == Decimal("26500.00")  # 5 % × 500,000 + 6 % tax
    page = client.get(f"/deals/{deal.id}").get_data(as_text=True)
    assert f"已开具经纪佣金发票 {invoice.number}，价税合计 ¥26,500.00" in page
    assert "¥26,500.00" in page


def test_custom_lines_with_errors_come_back_beside_the_fields(login_as, deal, people):
    response = login_as(people["broker"]).post(
        f"/deals/{deal.id}/invoices",
        data={
            "kind": "commission",
            "line1_description": "技术对接服务",
            "line1_unit_price": "1000",
            "line3_description": "资料费",
            "line3_unit_price": "十元",
            "due_on": "2020-01-01",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-field-error="line3_unit_price"' in page and "无法识别" in page
    assert 'data-field-error="due_on"' in page and "付款期限不能早于开票日期" in page
    assert 'value="技术对接服务"' in page  # what was typed is kept
    assert invoice_count() == 0


def test_commission_invoice_without_terms_is_refused(login_as, people):
    deal = deal_between(people["seller"], people["buyer"], people["broker"], commission_kind="none")
    db.session.commit()
    response = login_as(people["broker"]).post(f"/deals/{deal.id}/invoices", data={"kind": "commission"})
    assert response.status_code == 422
    assert "该项目未约定佣金，不能开具佣金发票" in response.get_data(as_text=True)
    assert invoice_count() == 0


def test_void_needs_a_reason_then_keeps_the_number(login_as, deal, people):
    client = login_as(people["broker"])
    client.post(f"/deals/{deal.id}/invoices", data={"kind": "commission"})
    invoice = db.session.scalar(select(Invoice))
    page = client.post(f"/invoices/{invoice.id}/void", data={"reason": ""}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "请填写作废原因" in page
    db.session.refresh(invoice)
    assert invoice.status == "unpaid"
    page = client.post(f"/invoices/{invoice.id}/void", data={"reason": "付款方有误"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert f"发票 {invoice.number} 已作废，号码保留" in page
    db.session.refresh(invoice)
    assert (invoice.status, invoice.void_reason) == ("void", "付款方有误")


def test_mark_paid_then_void_is_refused(login_as, deal, people):
    client = login_as(people["broker"])
    client.post(f"/deals/{deal.id}/invoices", data={"kind": "commission"})
    invoice = db.session.scalar(select(Invoice))
    assert client.post(f"/invoices/{invoice.id}/paid").status_code == 302
    page = client.post(f"/invoices/{invoice.id}/void", data={"reason": "x"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert "已登记付款，不能作废" in page
    db.session.refresh(invoice)
    assert invoice.status == "paid"


def test_party_member_cannot_void(login_as, deal, people):
    login_as(people["broker"]).post(f"/deals/{deal.id}/invoices", data={"kind": "commission"})
    invoice = db.session.scalar(select(Invoice))
    response = login_as(people["seller_member"]).post(f"/invoices/{invoice.id}/void", data={"reason": "不想付"})
    assert response.status_code == 403
    db.session.refresh(invoice)
    assert invoice.status == "unpaid"


def test_csrf_is_required(login_as, deal, people, csrf_enabled):
    response = login_as(people["broker"]).post(f"/deals/{deal.id}/invoices", data={"kind": "commission"})
    assert response.status_code == 400
    assert invoice_count() == 0


# ---------------------------------------------------------------------------------------------
# Downloads


def test_invoice_pdf_download_has_type_and_chinese_filename(login_as, deal, people):
    login_as(people["broker"]).post(f"/deals/{deal.id}/invoices", data={"kind": "commission"})
    invoice = db.session.scalar(select(Invoice))
    response = login_as(people["official"]).get(f"/invoices/{invoice.id}.pdf")  # officials may read
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f'filename="invoice-{invoice.number}.pdf"' in disposition
    assert f"filename*=UTF-8''{quote(f'发票-经纪佣金-{invoice.number}.pdf')}" in disposition
    assert response.headers["Cache-Control"] == "private, no-store"
    assert login_as(people["outsider"]).get(f"/invoices/{invoice.id}.pdf").status_code == 403


def test_summary_and_certificate_downloads(login_as, deal, people):
    contract = add_contract(deal)
    db.session.commit()
    client = login_as(people["seller_member"])
    summary = client.get(f"/deals/{deal.id}/summary.pdf")
    assert summary.status_code == 200 and summary.mimetype == "application/pdf"
    assert quote(f"项目摘要-XM{deal.id:06d}.pdf") in summary.headers["Content-Disposition"]
    certificate = client.get(f"/contracts/{contract.id}/certificate.pdf")
    assert certificate.status_code == 200 and certificate.data.startswith(b"%PDF")
    assert quote("技术合同登记证明-2026371100000123.pdf") in certificate.headers["Content-Disposition"]
    assert 'filename="contract-certificate-2026371100000123.pdf"' in certificate.headers["Content-Disposition"]


def test_certificate_of_an_unregistered_contract_is_a_conflict(login_as, deal, people):
    contract = add_contract(deal, registered=False)
    db.session.commit()
    response = login_as(people["broker"]).get(f"/contracts/{contract.id}/certificate.pdf")
    assert response.status_code == 409
    assert "尚未登记，不能下载登记证明" in response.get_data(as_text=True)


# ---------------------------------------------------------------------------------------------
# API


@pytest.fixture
def spec(client):
    return client.get(f"{API}/openapi.json").get_json()


def test_api_issue_returns_the_invoice_with_string_amounts(api_client, deal, people, spec):
    add_contract(deal)
    db.session.commit()
    response = api_client(people["broker"]).post(
        f"{API}/deals/{deal.id}/invoices",
        json={
            "kind": "commission",
            "tax_rate": "6",
            "lines": [{"description": "技术经纪服务佣金", "quantity": "1", "unit_price": "61728.39"}],
        },
    )
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert problems(body, spec["components"]["schemas"]["Invoice"], spec) == []
    assert body["number"].startswith("KJTB")
    assert body["status"] == {"code": "unpaid", "label": "未付款"}
    assert (body["subtotal"], body["tax"], body["total"]) == ("61728.39", "3703.70", "65432.09")
    assert body["total_in_words"] == "陆万伍仟肆佰叁拾贰元零玖分"
    assert body["lines"] == [
        {
            "position": 1,
            "description": "技术经纪服务佣金",
            "quantity": "1",
            "unit_price": "61728.39",
            "amount": "61728.39",
        }
    ]
    assert response.headers["Location"].endswith(f"/api/v1/invoices/{body['id']}")


def test_api_refuses_floats_and_missing_terms(api_client, people):
    deal = deal_between(people["seller"], people["buyer"], people["broker"], commission_kind="none")
    db.session.commit()
    api = api_client(people["broker"])
    response = api.post(
        f"{API}/deals/{deal.id}/invoices",
        json={"kind": "service_fee", "lines": [{"description": "服务费", "unit_price": 0.1}]},
    )
    assert response.status_code == 422
    assert "lines[0].unit_price" in response.get_json()["error"]["fields"]
    response = api.post(f"{API}/deals/{deal.id}/invoices", json={"kind": "commission"})
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "该项目未约定佣金，不能开具佣金发票"
    assert invoice_count() == 0


def test_api_void_paid_and_pdfs(api_client, deal, people):
    api = api_client(people["broker"])
    created = api.post(f"{API}/deals/{deal.id}/invoices", json={"kind": "commission"}).get_json()
    missing_reason = api.post(f"{API}/invoices/{created['id']}/void", json={})
    assert missing_reason.status_code == 422
    assert missing_reason.get_json()["error"]["fields"] == {"reason": "请填写作废原因"}
    voided = api.post(f"{API}/invoices/{created['id']}/void", json={"reason": "重复开具"})
    assert voided.status_code == 200
    assert voided.get_json()["status"]["code"] == "void" and voided.get_json()["number"] == created["number"]
    assert api.post(f"{API}/invoices/{created['id']}/paid", json={}).status_code == 409
    pdf = api_client(people["official"]).get(f"{API}/invoices/{created['id']}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert quote(f"发票-经纪佣金-{created['number']}-作废.pdf") in pdf.headers["Content-Disposition"]
    assert api_client(people["outsider"]).get(f"{API}/invoices/{created['id']}.pdf").status_code == 403


def test_api_certificate(api_client, deal, people):
    draft = add_contract(deal, registered=False)
    db.session.commit()
    api = api_client(people["buyer_member"])
    refused = api.get(f"{API}/contracts/{draft.id}/certificate.pdf")
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "conflict"
    draft.status, draft.registration_number = "registered", "2026371100000999"
    db.session.commit()
    response = api.get(f"{API}/contracts/{draft.id}/certificate.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
