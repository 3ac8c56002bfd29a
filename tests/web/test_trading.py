"""挂牌/拍卖 through the web pages and the JSON API: the hall, listing and interest, the auction
page, bids with Idempotency-Key (a replay changes nothing), refusals with field reasons, lazy
closing on access, and the 成交确认书 PDF (text, amounts, embedded CJK font)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.trading import services as trading
from marketplace.trading.models import Auction, Bid, TradeListing
from tests.unit.test_trading_rules import LISTING, live_auction, make_people


@pytest.fixture
def people(make_org, make_user, make_achievement):
    return make_people(make_org, make_user, make_achievement)


def _state(auction_id: int):
    db.session.expire_all()
    auction = db.session.get(Auction, auction_id)
    count = db.session.scalar(select(func.count(Bid.id)).where(Bid.auction_id == auction_id))
    return auction.current_price, auction.bid_count, auction.ends_at, count


def test_the_hall_shows_listings_in_disclosure_live_auctions_and_results(client, people):
    auction = live_auction(people)
    trading.place_bid(auction.id, people["b1"], "130万")
    db.session.commit()
    page = client.get("/trading").get_data(as_text=True)
    assert "挂牌拍卖" in page and auction.title in page and 'data-testid="live-auctions"' in page
    trading.close_auction(auction.id, auction.ends_at)
    db.session.commit()
    page = client.get("/trading").get_data(as_text=True)
    assert 'data-testid="auction-results"' in page and "已成交" in page


def test_listing_through_the_pages_review_and_interest(login_as, people):
    seller = login_as(people["seller"])
    form = {**LISTING, "achievement_id": str(people["achievement"].id)}
    response = seller.post("/trading/listings/new", data=form)
    assert response.status_code == 302
    listing = db.session.scalars(select(TradeListing)).one()
    assert listing.status == "pending" and listing.reserve_price == Decimal("1200000.00")
    bad = seller.post("/trading/listings/new", data={**form, "listing_price": "很多"})
    assert bad.status_code == 422 and "无法识别" in bad.get_data(as_text=True)

    admin = login_as(people["admin"])
    admin.post(f"/trading/listings/{listing.id}/review", data={"decision": "approve"})
    db.session.refresh(listing)
    assert listing.status == "disclosure"

    buyer = login_as(people["b1"])
    page = buyer.get(f"/trading/listings/{listing.id}").get_data(as_text=True)
    assert "登记受让意向" in page and "120" not in page.split("保证金")[0]  # the reserve is never shown
    buyer.post(f"/trading/listings/{listing.id}/interest")
    assert len(listing.interests) == 1
    again = buyer.post(f"/trading/listings/{listing.id}/interest", follow_redirects=True)
    assert "本机构已登记受让意向" in again.get_data(as_text=True)


def test_the_auction_page_shows_codes_not_names_and_hides_the_reserve(login_as, people):
    auction = live_auction(people)
    trading.place_bid(auction.id, people["b1"], "101万")
    db.session.commit()
    page = login_as(people["b2"]).get(f"/trading/auctions/{auction.id}").get_data(as_text=True)
    b1_bidder = trading.own_bidder(auction, people["b1"])
    assert b1_bidder.label in page
    assert people["b1"].active_org.name not in page
    assert "有（不公开）" in page and "120" not in page.replace("1,010,000", "")
    assert 'data-testid="bid-form"' in page and "js/auction.js" in page


def test_bidding_through_the_page_refuses_low_bids_with_the_reason(login_as, people):
    auction = live_auction(people)
    client = login_as(people["b1"])
    page = client.post(f"/trading/auctions/{auction.id}/bids", data={"amount": "50万"}, follow_redirects=True)
    assert "出价须不低于" in page.get_data(as_text=True)
    client.post(f"/trading/auctions/{auction.id}/bids", data={"amount": "100万"})
    assert _state(auction.id)[:2] == (Decimal("1000000.00"), 1)


# ---------------------------------------------------------------------------------------------
# API


def bid(client, auction_id, amount, key="k1"):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/api/v1/auctions/{auction_id}/bids", json={"amount": amount}, headers=headers)


def test_api_bid_with_an_idempotency_key_replays_the_first_answer(login_as, people):
    auction = live_auction(people)
    client = login_as(people["b1"])
    first = bid(client, auction.id, "1000000.00", key="bid-001")
    assert first.status_code == 201
    assert first.json["auction"]["current_price"] == "1000000.00" and first.json["auction"]["bid_count"] == 1
    before = _state(auction.id)
    replay = bid(client, auction.id, "1000000.00", key="bid-001")
    assert replay.status_code == 201 and replay.json == first.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert _state(auction.id) == before
    other = bid(client, auction.id, "1020000.00", key="bid-001")  # same key, other body
    assert other.status_code == 422 and "Idempotency-Key" in other.json["error"]["fields"]
    assert _state(auction.id) == before


def test_api_refusals_are_stored_and_replayed_too(login_as, people):
    auction = live_auction(people)
    client = login_as(people["b1"])
    low = bid(client, auction.id, "10", key="low")
    assert low.status_code == 422 and "amount" in low.json["error"]["fields"]
    assert bid(client, auction.id, "10", key="low").json == low.json
    assert _state(auction.id)[1] == 0


@pytest.mark.parametrize(
    ("amount", "field"),
    [("abc", "amount"), (1000000, "amount"), ("", "amount"), (None, "amount")],
)
def test_api_refuses_bad_amounts_with_field_reasons(login_as, people, amount, field):
    auction = live_auction(people)
    response = bid(login_as(people["b1"]), auction.id, amount, key=f"bad-{amount!r}")
    assert response.status_code == 422 and field in response.json["error"]["fields"]
    assert _state(auction.id)[1] == 0


def test_api_bid_needs_a_key_a_qualified_bidder_and_an_open_auction(login_as, people):
    auction = live_auction(people, qualify=False)
    b1 = login_as(people["b1"])
    assert bid(b1, auction.id, "1000000.00", key=None).status_code == 403  # not qualified yet
    assert bid(login_as(people["seller"]), auction.id, "1000000.00").status_code == 403
    admin = login_as(people["admin"])
    bidder = trading.own_bidder(auction, people["b1"])
    qualified = admin.post(f"/api/v1/auctions/{auction.id}/qualify", json={"bidder_id": bidder.id})
    assert qualified.status_code == 200 and qualified.json["qualified"] is True
    missing = bid(b1, auction.id, "1000000.00", key=None)
    assert missing.status_code == 422 and "Idempotency-Key" in missing.json["error"]["fields"]
    assert bid(b1, auction.id, "1000000.00", key="ok").status_code == 201
    db.session.expire_all()
    a = db.session.get(Auction, auction.id)
    a.ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    late = bid(b1, auction.id, "1100000.00", key="late")
    assert late.status_code == 409 and "已结束" in late.json["error"]["message"]


def test_api_auction_state_and_anonymised_bids_and_lazy_close(client, people):
    auction = live_auction(people)
    trading.place_bid(auction.id, people["b1"], "100万")
    trading.place_bid(auction.id, people["b2"], "125万")
    db.session.commit()
    state = client.get(f"/api/v1/auctions/{auction.id}").json
    assert state["current_price"] == "1250000.00" and state["bid_count"] == 2
    assert state["minimum_bid"] == "1260000.00" and state["reserve_price"] is None and state["has_reserve"]
    bids = client.get(f"/api/v1/auctions/{auction.id}/bids").json
    assert [b["amount"] for b in bids["items"]] == ["1250000.00", "1000000.00"]
    assert all(b["bidder"].startswith("竞买人") for b in bids["items"])
    assert people["b1"].active_org.name not in str(bids)

    auction.ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    closed = client.get(f"/api/v1/auctions/{auction.id}").json  # closing lazily on access
    assert closed["status"]["code"] == "sold" and closed["final_price"] == "1250000.00"
    assert closed["reserve_price"] == "1200000.00" and closed["winner"].startswith("竞买人")


def test_api_listing_and_interest(login_as, people):
    seller = login_as(people["seller"])
    body = {"achievement_id": people["achievement"].id, "transfer_mode": "license", "listing_price": "800000.00"}
    refused = seller.post("/api/v1/listings", json={**body, "increment": 10000})
    assert refused.status_code == 422 and "increment" in refused.json["error"]["fields"]
    created = seller.post("/api/v1/listings", json={**body, "increment": "10000.00"})
    assert created.status_code == 201 and created.json["status"]["code"] == "pending"
    listing = db.session.get(TradeListing, created.json["id"])
    trading.review_listing(listing, people["admin"], True)
    db.session.commit()
    interest = login_as(people["b1"]).post(f"/api/v1/listings/{listing.id}/interest")
    assert interest.status_code == 201 and interest.json["interest_count"] == 1


# ---------------------------------------------------------------------------------------------
# 成交确认书


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")
def test_the_winner_downloads_the_confirmation_with_price_parties_and_cjk_font(login_as, people, tmp_path):
    auction = live_auction(people)
    trading.place_bid(auction.id, people["b1"], "100万")
    trading.place_bid(auction.id, people["b2"], "1234567.89")
    db.session.commit()
    auction.ends_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    loser = login_as(people["b1"])
    assert loser.get(f"/trading/auctions/{auction.id}/confirmation.pdf").status_code == 403  # (closes it lazily)
    response = login_as(people["b2"]).get(f"/trading/auctions/{auction.id}/confirmation.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    path = tmp_path / "c.pdf"
    path.write_bytes(response.data)
    text = re.sub(
        r"\s+", "", subprocess.run(["pdftotext", str(path), "-"], capture_output=True, check=True).stdout.decode()
    )
    assert "成交确认书" in text and "¥1,234,567.89" in text
    assert "壹佰贰拾叁万肆仟伍佰陆拾柒元捌角玖分" in text
    assert people["b2"].active_org.name in text and people["seller"].active_org.name in text
    winner = trading.own_bidder(auction, people["b2"])
    assert winner.label in text
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:] if line.strip()]
    assert rows and all(row[-5] == "yes" for row in rows)  # every font embedded
