"""The PDF documents (marketplace/deals/pdf.py): each is rendered, its text extracted with
poppler's pdftotext and checked for the Chinese fields and the amounts to the fen; the CJK font
must be embedded (pdffonts) and page 1 must rasterise (pdftoppm)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from marketplace.core.money import capital_amount
from marketplace.deals import invoices, pdf
from marketplace.deals.models import ContractAmendment, DealEvent, Installment, Payment
from marketplace.extensions import db
from tests.web.access_invoices import add_contract, add_invoice, deal_between

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


def pdf_text(data: bytes, tmp_path: Path, name: str = "doc") -> str:
    path = tmp_path / f"{name}.pdf"
    path.write_bytes(data)
    result = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True)
    return result.stdout.decode("utf-8")


def squeeze(text: str) -> str:
    """pdftotext -layout pads columns with spaces; compare without them."""
    return re.sub(r"\s+", "", text)


@pytest.fixture
def parties(make_org, make_user):
    seller = make_org(name="曲阜师范大学日照校区", org_type="university", district="371102")
    buyer = make_org(name="日照港精密仪器制造有限公司", org_type="enterprise", address="日照市岚山区钢城大道1号")
    agency = make_org(name="日照市技术转移服务中心", org_type="agency")
    broker = make_user("broker", org=agency, name="张经纪")
    return seller, buyer, broker


@pytest.fixture
def deal(parties):
    seller, buyer, broker = parties
    deal = deal_between(seller, buyer, broker)
    db.session.commit()
    return deal


def test_certificate_shows_registration_parties_and_amounts_to_the_fen(deal, tmp_path):
    contract = add_contract(deal)
    db.session.commit()
    data = pdf.render_certificate(contract)
    assert data.startswith(b"%PDF")
    text = squeeze(pdf_text(data, tmp_path))
    assert "技术合同登记证明" in text
    assert "2026371100000123" in text
    assert "机器视觉尺寸测量系统专利实施许可" in text
    assert "技术许可—专利实施许可（独占许可）" in text
    assert "曲阜师范大学日照校区" in text and "高等院校" in text and "371102" in text
    assert "日照港精密仪器制造有限公司" in text and "内资企业" in text and "371103" in text
    # 成交额, 非技术性费用 and 技术交易额 in figures and in capital numerals, exactly as stored.
    assert "¥1,234,567.89" in text
    assert "¥234,567.00" in text
    assert "¥1,000,000.89" in text
    assert capital_amount(Decimal("1234567.89")) == "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分"
    assert "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分" in text
    assert "壹佰万元捌角玖分" in text
    assert "贰拾叁万肆仟伍佰陆拾柒元整" in text
    assert "2026年09月18日" in text  # signing date
    assert "2026年10月01日至2029年09月30日" in text  # validity
    assert "先进制造" in text  # field 03 by name
    assert "分期支付" in text
    assert "371100" in text  # office code
    assert "已注销" not in text
    assert "第1页共1页" in text


def test_cancelled_certificate_is_marked_and_lists_amendments(deal, tmp_path):
    contract = add_contract(deal, status="cancelled", cancel_reason="双方协商解除合同")
    contract.cancelled_at = contract.registered_at
    db.session.add(
        ContractAmendment(
            contract_id=contract.id,
            kind="amend",
            changes={"valid_to": ["2029-09-30", "2030-09-30"]},
            reason="延长许可期限",
        )
    )
    db.session.commit()
    db.session.refresh(contract)
    text = squeeze(pdf_text(pdf.render_certificate(contract), tmp_path))
    assert "已注销" in text
    assert "双方协商解除合同" in text
    assert "变更与注销记录" in text
    assert "有效期至：2029-09-30→2030-09-30" in text
    assert "延长许可期限" in text


def test_certificate_refuses_an_unregistered_contract(deal):
    contract = add_contract(deal, registered=False)
    with pytest.raises(ValueError, match="尚未登记"):
        pdf.render_certificate(contract)


def test_the_cjk_font_is_embedded_and_page_one_rasterises(deal, tmp_path):
    contract = add_contract(deal)
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf.render_certificate(contract))
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    rows = fonts.splitlines()[2:]  # after the heading and the rule
    assert rows and all("WenQuanYiMicroHei" in row for row in rows), fonts
    # columns: name type encoding emb sub uni object ID — every font embedded, as a subset
    assert all(re.search(r"\byes\s+yes\s+yes\b", row) for row in rows), fonts
    subprocess.run(
        ["pdftoppm", "-r", "50", "-f", "1", "-l", "1", "-png", str(path), str(tmp_path / "page")], check=True
    )
    with Image.open(next(tmp_path.glob("page*.png"))) as image:
        assert image.size == (414, 585)  # A4 (210 × 297 mm) at 50 dpi
        gray = image.convert("L")
    ink = sum(gray.histogram()[:128])  # pixels darker than mid-grey
    assert 1000 < ink < 0.2 * 414 * 585  # text was drawn: neither a blank nor a black page


def test_invoice_shows_number_parties_lines_tax_and_total_in_words(deal, parties, tmp_path):
    _seller, _buyer, broker = parties
    add_contract(deal)
    invoice = invoices.create_invoice(
        deal,
        broker,
        "commission",
        lines=[
            {"description": "技术经纪服务佣金（首期）", "quantity": "1", "unit_price": "100000.10"},
            {"description": "技术对接会务服务", "quantity": "2.5", "unit_price": "9182.27"},
        ],
    )
    db.session.commit()
    # 100000.10 + 22955.675→22955.68 = 122955.78; tax 6 % = 7377.3468 → 7377.35; total 130333.13
    assert (invoice.subtotal, invoice.tax, invoice.total) == (
        Decimal("122955.78"),
        Decimal("7377.35"),
        Decimal("130333.13"),
    )
    text = squeeze(pdf_text(pdf.render_invoice(invoice), tmp_path))
    assert invoice.number in text
    assert "发票" in text and "经纪佣金" in text
    assert "本发票为平台结算凭证" in text
    assert "未付款" in text
    assert "日照港精密仪器制造有限公司" in text  # payer (commission payer: buyer)
    assert "日照市岚山区钢城大道1号" in text
    assert "日照市技术转移服务中心" in text  # payee: the broker's organisation
    assert "技术经纪服务佣金（首期）" in text and "技术对接会务服务" in text
    assert "2.5" in text and "¥9,182.27" in text and "¥22,955.68" in text
    assert "¥122,955.78" in text
    assert "税率6%税额" in text and "¥7,377.35" in text
    assert "¥130,333.13" in text
    assert "壹拾叁万零叁佰叁拾叁元壹角叁分" in text
    assert "2026371100000123" in text  # the deal's contract reference
    assert "作废" not in text.replace("作废的发票保留原号码", "")


def test_void_invoice_carries_the_mark_and_the_reason(deal, parties, tmp_path):
    invoice = invoices.create_invoice(deal, parties[2], "commission")
    invoices.void_invoice(invoice, parties[2], "付款方名称有误")
    db.session.commit()
    text = squeeze(pdf_text(pdf.render_invoice(invoice), tmp_path))
    assert invoice.number in text
    assert "付款方名称有误" in text
    # The status cell, the notice line and the diagonal watermark each say 作废.
    assert text.count("作废") >= 3


def test_deal_summary_lists_parties_stages_contract_payments_and_invoices(deal, parties, tmp_path):
    _seller, _buyer, broker = parties
    db.session.add_all(
        [
            DealEvent(deal_id=deal.id, kind="stage", from_stage="intent", to_stage="negotiation", author_id=broker.id),
            DealEvent(
                deal_id=deal.id,
                kind="stage",
                from_stage="negotiation",
                to_stage="signed",
                body="价格谈妥",
                author_id=broker.id,
            ),
            DealEvent(deal_id=deal.id, kind="note", body="这条备注不属于阶段记录"),
        ]
    )
    contract = add_contract(deal)
    db.session.add(Installment(contract_id=contract.id, due_on=date(2026, 10, 31), amount=Decimal("600000.00")))
    db.session.add(Payment(contract_id=contract.id, paid_on=date(2026, 10, 20), amount=Decimal("600000.01")))
    add_invoice(deal, "KJTB2026999001", total=Decimal("65432.09"))
    db.session.commit()
    db.session.refresh(deal)
    text = squeeze(pdf_text(pdf.render_deal_summary(deal), tmp_path))
    assert "项目摘要" in text and deal.title in text
    assert f"XM{deal.id:06d}" in text
    assert "曲阜师范大学日照校区" in text and "日照港精密仪器制造有限公司" in text
    assert "张经纪（主办）" in text and "日照市技术转移服务中心" in text
    assert "意向→洽谈" in text and "洽谈→签约" in text and "价格谈妥" in text
    assert "这条备注不属于阶段记录" not in text
    assert "按成交额的5%，买方支付" in text
    assert "¥500,000.00" in text  # expected value
    assert "¥1,234,567.89" in text and "¥1,000,000.89" in text
    assert "¥600,000.01" in text  # paid
    assert "¥634,567.88" in text  # outstanding = 1,234,567.89 − 600,000.01
    assert "KJTB2026999001" in text and "¥65,432.09" in text


def test_deal_summary_without_contract_says_so(deal, tmp_path):
    text = squeeze(pdf_text(pdf.render_deal_summary(deal), tmp_path))
    assert "尚未录入技术合同" in text
    assert "尚未开具发票" in text


@pytest.mark.parametrize(
    ("amount", "figures"),
    [
        (Decimal("0.05"), "¥0.05"),
        (Decimal("100010.50"), "¥100,010.50"),
        (Decimal("123456789.01"), "¥123,456,789.01"),
        (Decimal("-300.00"), "-¥300.00"),
    ],
)
def test_money_is_formatted_from_the_decimal(amount, figures):
    assert pdf.money(amount) == figures
