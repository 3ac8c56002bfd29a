"""An auction in a real browser: two qualified bidders on their own pages; each bid shows up on
the other's page without a reload (the page polls the API); the auction ends, the page turns to
the result by itself, and the winner downloads the 成交确认书, read back with pdftotext."""

from __future__ import annotations

import shutil
import subprocess
from datetime import timedelta

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from marketplace.accounts import services as accounts
from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.trading import services as trading
from marketplace.trading.models import Auction
from tests.conftest import PASSWORD


def log_in(page, base, email):
    page.goto(base + "/login")
    page.fill("[name=email]", email)
    page.fill("[name=password]", PASSWORD)
    page.get_by_role("button", name="登录").click()


def test_two_bidders_bid_and_the_winner_downloads_the_confirmation(live_server, new_page, make_achievement, tmp_path):
    univ = accounts.create_org({"name": "日照理工大学", "org_type": "university"}, verified=True)
    teacher = accounts.create_user(
        {"email": "wang@univ.example.cn", "name": "王老师", "role": "university", "password": PASSWORD}, univ
    )
    admin = accounts.create_user({"email": "admin@example.cn", "name": "管理员", "role": "admin", "password": PASSWORD})
    steel = accounts.create_org({"name": "岚山精工钢铁有限公司", "org_type": "enterprise"}, verified=True)
    port = accounts.create_org({"name": "日照港精密仪器有限公司", "org_type": "enterprise"}, verified=True)
    zhang = accounts.create_user(
        {"email": "zhang@steel.example.cn", "name": "张经理", "role": "enterprise", "password": PASSWORD}, steel
    )
    liu = accounts.create_user(
        {"email": "liu@port.example.cn", "name": "刘经理", "role": "enterprise", "password": PASSWORD}, port
    )
    achievement = make_achievement(owner=teacher, title="氢基竖炉直接还原铁工艺")
    listing = trading.create_listing(
        teacher,
        achievement,
        {
            "transfer_mode": "transfer",
            "listing_price": "100万",
            "deposit": "5万",
            "increment": "1万",
            "extend_minutes": "0",
        },
    )
    trading.review_listing(listing, admin, True)
    trading.register_interest(listing, zhang)
    trading.register_interest(listing, liu)
    listing.disclosure_end = utcnow() - timedelta(seconds=1)
    trading.conclude_listing(listing.id)
    auction = listing.auction
    for bidder in list(auction.bidders):
        trading.qualify(auction, admin, bidder.id)
    db.session.commit()
    auction_id = auction.id
    url = f"{live_server}/trading/auctions/{auction_id}"

    first, second = new_page(), new_page()
    log_in(first, live_server, "zhang@steel.example.cn")
    log_in(second, live_server, "liu@port.example.cn")
    first.goto(live_server + "/trading")
    first.get_by_test_id("nav-trading").click()
    first.get_by_role("link", name="氢基竖炉直接还原铁工艺").click()
    expect(first).to_have_url(url)
    second.goto(url)
    expect(first.get_by_test_id("countdown")).not_to_have_text("—")  # the countdown runs
    my_code = first.get_by_test_id("my-code").inner_text()
    assert my_code.startswith("竞买人")

    first.fill("#bid-amount", "100万")
    first.get_by_test_id("place-bid").click()
    expect(first.get_by_text("出价成功")).to_be_visible()
    # The other bidder's page shows the new price and count without a reload.
    expect(second.get_by_test_id("bid-count")).to_have_text("1", timeout=8_000)
    expect(second.get_by_test_id("current-price")).to_have_text("100 万元")
    expect(second.get_by_test_id("bid-history")).to_contain_text(my_code)
    expect(second.get_by_test_id("bid-history")).not_to_contain_text("岚山精工")  # codes, not names
    expect(second.locator("#bid-amount")).to_have_value("1010000.00")

    second.fill("#bid-amount", "99万")  # below the increment: refused with the reason
    second.get_by_test_id("place-bid").click()
    expect(second.get_by_text("出价须不低于")).to_be_visible()
    second.fill("#bid-amount", "103万")
    second.get_by_test_id("place-bid").click()
    expect(second.get_by_text("出价成功")).to_be_visible()
    expect(first.get_by_test_id("current-price")).to_have_text("103 万元", timeout=8_000)
    expect(first.get_by_test_id("bid-count")).to_have_text("2")

    # The end comes: both pages turn to the result by themselves (the poll closes it lazily).
    # A write as the first statement of a fresh transaction: the live server writes too (SQLite).
    db.session.rollback()
    db.session.execute(update(Auction).where(Auction.id == auction_id).values(ends_at=utcnow() + timedelta(seconds=2)))
    db.session.commit()
    expect(second.get_by_test_id("auction-result")).to_contain_text("竞价成交", timeout=15_000)
    expect(first.get_by_test_id("auction-result")).to_contain_text("103 万元", timeout=15_000)
    expect(first.get_by_test_id("download-confirmation")).to_have_count(0)  # the loser has none

    with second.expect_download() as download_info:
        second.get_by_test_id("download-confirmation").click()
    path = tmp_path / "confirmation.pdf"
    download_info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF")
    if shutil.which("pdftotext") is None:
        pytest.skip("NOTICE: poppler-utils (pdftotext) not installed — PDF text not checked")
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout
    assert "成交确认书" in text and "日照港精密仪器有限公司" in text and "¥1,030,000.00" in text
