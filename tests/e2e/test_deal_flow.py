"""The deal room in a real browser: a broker turns an introduction into a deal, moves it to 签约,
records the technology contract and submits it; an official of the registration office registers
it; the broker downloads the registration certificate and issues and downloads a commission
invoice. The PDFs are read back with poppler's pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from marketplace.accounts import services as accounts
from marketplace.core.timeutil import local_today
from marketplace.extensions import db
from marketplace.matching import board
from tests.conftest import PASSWORD


def log_in(page, base, email):
    page.goto(base + "/login")
    page.fill("[name=email]", email)
    page.fill("[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()


def pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("NOTICE: poppler-utils (pdftotext) not installed — PDF text not checked")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_broker_turns_an_introduction_into_a_registered_contract(live_server, new_page, make_achievement, make_demand):
    agency = accounts.create_org({"name": "日照技术转移服务中心", "org_type": "agency"}, verified=True)
    univ = accounts.create_org({"name": "日照理工大学", "org_type": "university", "district": "371102"}, verified=True)
    steel = accounts.create_org({"name": "岚山精工钢铁有限公司", "org_type": "enterprise"}, verified=True)
    broker = accounts.create_user(
        {
            "email": "li@tto.example.cn",
            "name": "李经纪",
            "role": "broker",
            "password": PASSWORD,
            "broker_level": "intermediate",
            "broker_cert_no": "JJR-2026-0001",
        },
        agency,
    )
    teacher = accounts.create_user(
        {"email": "wang@univ.example.cn", "name": "王老师", "role": "university", "password": PASSWORD}, univ
    )
    manager = accounts.create_user(
        {"email": "zhang@steel.example.cn", "name": "张经理", "role": "enterprise", "password": PASSWORD}, steel
    )
    accounts.create_user({"email": "zhao@kjj.example.cn", "name": "赵登记员", "role": "official", "password": PASSWORD})
    achievement = make_achievement(owner=teacher, title="氢基竖炉直接还原铁工艺")
    demand = make_demand(owner=manager, title="氢冶金直接还原技术引进")
    board.introduce(broker, demand.id, achievement.id, "双方技术路线一致")
    db.session.commit()

    # 1. The broker opens the deal from the introduction; the parties are filled in.
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "li@tto.example.cn")
    page.goto(live_server + "/broker/introductions")
    page.get_by_test_id("open-deal").click()
    expect(page.get_by_test_id("fixed-seller_org_id")).to_contain_text("日照理工大学")
    expect(page.get_by_test_id("fixed-buyer_org_id")).to_contain_text("岚山精工钢铁有限公司")
    page.fill("[name=expected_value]", "120万")
    page.select_option("[name=commission_kind]", "rate")
    page.fill("[name=commission_rate]", "5")
    page.select_option("[name=commission_payer]", "buyer")
    page.get_by_role("button", name="开设项目").click()
    expect(page.get_by_test_id("deal-header")).to_contain_text("意向")
    deal_url = page.url

    # 2. 意向 → 洽谈 → 签约.
    page.get_by_test_id("advance").click()
    expect(page.get_by_test_id("deal-header")).to_contain_text("洽谈")
    page.get_by_test_id("advance").click()
    expect(page.get_by_test_id("deal-header")).to_contain_text("签约")

    # 3. The broker records the contract and submits it for registration.
    page.get_by_test_id("contract-new").click()
    page.fill("[name=project_name]", "氢基竖炉直接还原铁工艺专利实施许可")
    page.select_option("[name=contract_type]", "license_patent")
    page.select_option("[name=license_scope]", "ordinary")
    page.fill("[name=signed_on]", (local_today() - timedelta(days=2)).isoformat())
    page.fill("[name=amount]", "1200000")
    page.fill("[name=cost_equipment]", "150000.50")
    page.fill("[name=valid_from]", local_today().isoformat())
    page.fill("[name=valid_to]", (local_today() + timedelta(days=3 * 365)).isoformat())
    page.select_option("[name=field_code]", index=1)
    page.select_option("[name=objective]", index=1)
    expect(page.get_by_test_id("technology-amount")).to_contain_text("1,049,999.50")  # computed as typed
    page.get_by_test_id("save-submit").click()
    page.goto(deal_url)
    expect(page.get_by_test_id("contract-status")).to_have_text("待登记")
    expect(page.get_by_test_id("deal-header")).to_contain_text("登记")

    # 4. The registration office registers it.
    official = new_page()
    official.on("dialog", lambda dialog: dialog.accept())
    log_in(official, live_server, "zhao@kjj.example.cn")
    official.goto(live_server + "/registry")
    official.get_by_test_id("registry-row").filter(has_text="氢基竖炉").get_by_role("link").first.click()
    official.get_by_test_id("register").click()
    number = official.get_by_test_id("registration-number").first
    expect(number).to_have_text(f"{local_today().year}371100000001")

    # 5. The broker downloads the certificate, issues a commission invoice and downloads it.
    page.goto(deal_url)
    expect(page.get_by_test_id("registration-number")).to_have_text(f"{local_today().year}371100000001")
    with page.expect_download() as download:
        page.get_by_test_id("certificate-pdf").click()
    certificate = pdf_text(download.value.path())
    assert "技术合同登记证明" in certificate and f"{local_today().year}371100000001" in certificate
    assert "1,200,000.00" in certificate and "1,049,999.50" in certificate
    assert "日照理工大学" in certificate and "岚山精工钢铁有限公司" in certificate

    form = page.get_by_test_id("invoice-form")
    form.locator("[name=kind]").select_option("commission")
    form.get_by_role("button", name="开具发票").click()
    row = page.get_by_test_id("invoice-row").first
    expect(row).to_contain_text("未付款")
    expect(row).to_contain_text("63,600.00")  # 5 % of 1,200,000 = 60,000 + 6 % tax
    with page.expect_download() as download:
        row.get_by_role("link").first.click()
    invoice = pdf_text(download.value.path())
    assert "60,000.00" in invoice and "3,600.00" in invoice and "63,600.00" in invoice
    assert "陆万叁仟陆佰元整" in invoice
    assert "岚山精工钢铁有限公司" in invoice  # the buyer pays the commission
