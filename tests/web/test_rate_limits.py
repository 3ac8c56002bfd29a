"""Rate limits a user meets as a 429 with a Chinese page (or a JSON error from the API): bids (per
user, per address, the web form and the API counting together), registration and log-in per
address, and the 忘记密码 form per address and per e-mail typed in. The per-account log-in limit
and the inquiry limits are tested in test_accounts.py and test_inquiries.py."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import func, select

from marketplace import create_app
from marketplace.alerts.models import EmailOutbox
from marketplace.extensions import db, limiter
from marketplace.trading.models import Bid
from tests.conftest import PASSWORD, login
from tests.unit.test_trading_rules import live_auction, make_people

OTHER_ADDRESS = {"REMOTE_ADDR": "10.9.8.7"}


@pytest.fixture
def limited_app(app, tmp_path) -> Iterator[Callable[..., Flask]]:
    """limited_app(**limits) -> an app on the test database with rate limiting switched on."""
    was_enabled = limiter.enabled
    made: list[Flask] = []

    def factory(**config) -> Flask:
        limited = create_app(
            "testing",
            RATELIMIT_ENABLED=True,
            SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
            WTF_CSRF_ENABLED=False,
            UPLOAD_DIR=str(tmp_path / "uploads"),
            SEARCH_INDEX_DIR=str(tmp_path / "index"),
            **config,
        )
        made.append(limited)
        return limited

    yield factory
    limiter.enabled = was_enabled  # the limiter instance is shared with the session's app
    for limited in made:
        with limited.app_context():
            db.session.remove()
            db.engine.dispose()


def text(response) -> str:
    return response.get_data(as_text=True)


def assert_limited_page(response) -> None:
    assert response.status_code == 429
    assert "操作过于频繁" in text(response)


def bid_count(auction_id: int) -> int:
    db.session.rollback()  # end the test's read transaction: see what the other app committed
    return db.session.scalar(select(func.count(Bid.id)).where(Bid.auction_id == auction_id))


def api_bid(client, auction_id: int, amount: str, key: str):
    return client.post(f"/api/v1/auctions/{auction_id}/bids", json={"amount": amount}, headers={"Idempotency-Key": key})


# ---------------------------------------------------------------------------------------------
# Bids


@pytest.fixture
def people(make_org, make_user, make_achievement):
    return make_people(make_org, make_user, make_achievement)


def test_bids_are_limited_per_user_across_the_page_and_the_api(limited_app, people):
    auction = live_auction(people)
    limited = limited_app(BID_LIMIT_PER_USER="3 per minute", BID_LIMIT_PER_ADDRESS="100 per minute")
    b1 = login(limited.test_client(), people["b1"])
    url = f"/trading/auctions/{auction.id}/bids"
    assert b1.post(url, data={"amount": "100万"}).status_code == 302
    assert b1.post(url, data={"amount": "101万"}).status_code == 302
    assert api_bid(b1, auction.id, "1020000.00", "k-1").status_code == 201
    assert bid_count(auction.id) == 3

    assert_limited_page(b1.post(url, data={"amount": "103万"}))
    refused = api_bid(b1, auction.id, "1030000.00", "k-2")
    assert refused.status_code == 429
    assert refused.json["error"]["code"] == "rate_limited" and "操作过于频繁" in refused.json["error"]["message"]
    assert bid_count(auction.id) == 3  # a refused bid changes nothing

    # Per user: the other bidder at the same address still bids.
    b2 = login(limited.test_client(), people["b2"])
    assert b2.post(url, data={"amount": "103万"}).status_code == 302
    assert bid_count(auction.id) == 4


def test_bids_are_limited_per_address(limited_app, people):
    auction = live_auction(people)
    limited = limited_app(BID_LIMIT_PER_USER="100 per minute", BID_LIMIT_PER_ADDRESS="2 per minute")
    url = f"/trading/auctions/{auction.id}/bids"
    b1 = login(limited.test_client(), people["b1"])
    b2 = login(limited.test_client(), people["b2"])
    assert b1.post(url, data={"amount": "100万"}).status_code == 302
    assert b2.post(url, data={"amount": "101万"}).status_code == 302
    assert_limited_page(b2.post(url, data={"amount": "102万"}))
    assert bid_count(auction.id) == 2
    # The same bidder from another address is not held back by this one.
    assert b2.post(url, data={"amount": "102万"}, environ_base=OTHER_ADDRESS).status_code == 302
    assert bid_count(auction.id) == 3


# ---------------------------------------------------------------------------------------------
# Registration and log-in, per address


def test_registration_is_limited_per_address(limited_app):
    limited = limited_app(REGISTER_LIMIT_PER_ADDRESS="2 per minute")
    client = limited.test_client()
    form = {"role": "broker", "org_mode": "none", "name": "张三", "email": "not-an-email", "password": "x"}
    assert [client.post("/register", data=form).status_code for _ in range(2)] == [422, 422]
    assert_limited_page(client.post("/register", data=form))
    # Another address is served (and sees the field errors, not the limit).
    other = client.post("/register", data=form, environ_base=OTHER_ADDRESS)
    assert other.status_code == 422 and "邮箱格式不正确" in text(other)


def test_log_in_is_limited_per_address_whatever_the_account(limited_app, make_user):
    user = make_user("university", email="person@example.cn")
    limited = limited_app(LOGIN_LIMIT_PER_ADDRESS="3 per minute", LOGIN_LIMIT_PER_ACCOUNT="100 per minute")
    client = limited.test_client()
    for n in range(3):
        response = client.post("/login", data={"email": f"guess{n}@example.cn", "password": "Wrong-passw0rd"})
        assert response.status_code == 422
    assert_limited_page(client.post("/login", data={"email": user.email, "password": PASSWORD}))
    assert (
        client.post("/login", data={"email": user.email, "password": PASSWORD}, environ_base=OTHER_ADDRESS).status_code
        == 302
    )


# ---------------------------------------------------------------------------------------------
# 忘记密码


def reset_mails() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count(EmailOutbox.id)).where(EmailOutbox.subject.contains("重置密码")))


def test_reset_requests_are_limited_per_email_for_accounts_and_strangers_alike(limited_app, make_user):
    make_user("university", email="known@example.cn")
    limited = limited_app(PASSWORD_RESET_LIMIT_PER_EMAIL="2 per hour", PASSWORD_RESET_LIMIT_PER_ADDRESS="100 per hour")
    client = limited.test_client()
    for email in ("known@example.cn", "stranger@example.cn"):
        assert [client.post("/password/forgot", data={"email": email}).status_code for _ in range(2)] == [302, 302]
        # The third request for the same address answers 429 whether or not it has an account,
        # so the limit tells nothing about who is registered.
        assert_limited_page(client.post("/password/forgot", data={"email": email.upper()}))
    assert reset_mails() == 2  # only the known account got mail, once per accepted request


def test_reset_requests_are_limited_per_address(limited_app, make_user):
    make_user("university", email="known@example.cn")
    limited = limited_app(PASSWORD_RESET_LIMIT_PER_EMAIL="100 per hour", PASSWORD_RESET_LIMIT_PER_ADDRESS="2 per hour")
    client = limited.test_client()
    assert client.post("/password/forgot", data={"email": "a@example.cn"}).status_code == 302
    assert client.post("/password/forgot", data={"email": "b@example.cn"}).status_code == 302
    assert_limited_page(client.post("/password/forgot", data={"email": "known@example.cn"}))
    assert reset_mails() == 0
    other = client.post("/password/forgot", data={"email": "known@example.cn"}, environ_base=OTHER_ADDRESS)
    assert other.status_code == 302 and reset_mails() == 1
