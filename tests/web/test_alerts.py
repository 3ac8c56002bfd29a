"""Saved searches (订阅) and their alerts: saving from the results page, one notification per
listing and saved search (never twice, never for withdrawn listings or the listing's own
organisation), one-click unsubscribe, the notification centre and its navbar badge."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import MultiDict

from marketplace import search
from marketplace.alerts import services as alerts
from marketplace.alerts.models import AlertCheck, EmailOutbox, Notification, SavedSearch
from marketplace.extensions import db as _db
from marketplace.listings import services as listings


@pytest.fixture
def subscriber(make_user):
    return make_user("enterprise")


def subscribe(user, **args) -> SavedSearch:
    saved = alerts.save_search(user, MultiDict(args))
    _db.session.commit()
    return saved


def count(model, *where) -> int:
    # The requests share this test's session; end its transaction to see what the after-response
    # work committed from its own session.
    _db.session.commit()
    return _db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def post(client, url, **kwargs):
    """POST and close the response: the server runs the after-response work (indexing, alerts)."""
    with client.post(url, **kwargs) as response:
        assert response.status_code in (200, 302), (url, response.status_code)
    _db.session.commit()  # see the work done after the response (see `count`)
    return response


def approve(admin_client, listing) -> None:
    post(admin_client, f"/{listing.KIND}s/{listing.id}/approve")


# ---------------------------------------------------------------------------------------------
# Saving


def test_a_search_is_saved_from_the_results_page(db, index, login_as, client, subscriber, make_achievement):
    make_achievement(title="氢冶金直接还原工艺")
    search.catch_up(index)
    assert b"save-search-form" not in client.get("/search?q=氢冶金").data  # visitors cannot subscribe
    page = login_as(subscriber)
    html = page.get("/search?q=氢冶金&field=03").get_data(as_text=True)
    assert 'data-testid="save-search-form"' in html
    assert 'name="q" value="氢冶金"' in html and 'name="field" value="03"' in html

    response = page.post("/alerts", data={"q": "氢冶金", "field": "03"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/alerts")
    saved = _db.session.scalar(select(SavedSearch))
    assert (saved.user_id, saved.kind, saved.query_text, saved.filters, saved.active) == (
        subscriber.id,
        "achievement",
        "氢冶金",
        {"field": "03"},
        True,
    )
    assert len(saved.unsubscribe_token) >= 20
    listing_page = page.get("/alerts").get_data(as_text=True)
    assert "氢冶金" in listing_page and 'data-testid="saved-search"' in listing_page


def test_an_empty_search_cannot_be_saved(db, index, login_as, subscriber):
    response = login_as(subscriber).post("/alerts", data={"q": "  "}, follow_redirects=True)
    assert "请先输入搜索词" in response.get_data(as_text=True)
    assert count(SavedSearch) == 0


# ---------------------------------------------------------------------------------------------
# Matching


def test_a_matching_listing_alerts_once_even_when_published_again(
    db, index, admin_client, login_as, subscriber, make_achievement
):
    saved = subscribe(subscriber, q="氢冶金")
    listing = make_achievement(status="pending", title="氢冶金直接还原工艺")
    approve(admin_client, listing)
    assert count(Notification, Notification.user_id == subscriber.id) == 1
    note = _db.session.scalar(select(Notification))
    assert (note.saved_search_id, note.listing_kind, note.listing_id) == (saved.id, "achievement", listing.id)
    assert "氢冶金直接还原工艺" in note.title and note.url == f"/achievements/{listing.id}"
    mail = _db.session.scalar(select(EmailOutbox))
    assert mail.to_address == subscriber.email and mail.sent_at is None
    assert f"/alerts/unsubscribe/{saved.unsubscribe_token}" in mail.body

    owner = login_as(listing.created_by)
    post(owner, f"/achievements/{listing.id}/withdraw")
    post(owner, f"/achievements/{listing.id}/submit")
    approve(admin_client, listing)
    assert count(AlertCheck, AlertCheck.processed_at.is_(None)) == 0  # the second check did run
    assert count(Notification) == 1
    assert count(EmailOutbox) == 1
    assert alerts.run_pending() == 0  # running again changes nothing


def test_a_listing_that_does_not_match_alerts_nobody(db, index, admin_client, subscriber, make_achievement):
    subscribe(subscriber, q="氢冶金")
    subscribe(subscriber, q="机器视觉", field="0101")  # the words match, the field does not
    approve(admin_client, make_achievement(status="pending", title="深远海养殖平台"))
    assert count(Notification) == 0
    assert count(EmailOutbox) == 0


def test_filters_narrow_the_alerts(db, index, admin_client, make_user, make_achievement):
    by_field, by_other_field = make_user("enterprise"), make_user("enterprise")
    subscribe(by_field, field="03")  # no words: every new listing of the field
    subscribe(by_other_field, field="01")
    approve(admin_client, make_achievement(status="pending", title="基于机器视觉的缺陷检测", field="0303"))
    assert count(Notification, Notification.user_id == by_field.id) == 1
    assert count(Notification, Notification.user_id == by_other_field.id) == 0


def test_demand_searches_hear_of_demands_only(db, index, admin_client, subscriber, make_user, make_demand):
    university = make_user("university")
    subscribe(university, q="恒流驱动", type="demand")
    subscribe(subscriber, q="恒流驱动")  # an achievement search
    approve(admin_client, make_demand(status="pending"))
    assert count(Notification, Notification.user_id == university.id) == 1
    assert count(Notification, Notification.user_id == subscriber.id) == 0


def test_a_listing_withdrawn_before_the_check_never_alerts(db, index, subscriber, make_achievement):
    subscribe(subscriber, q="氢冶金")
    listing = make_achievement(title="氢冶金直接还原工艺")  # published outside a request: check pending
    assert count(AlertCheck, AlertCheck.processed_at.is_(None)) == 1
    listings.transition(listing, "withdraw", listing.created_by)
    _db.session.commit()
    assert alerts.run_pending() == 0  # the index is behind: checks wait for it
    assert count(AlertCheck, AlertCheck.processed_at.is_(None)) == 1
    search.catch_up(index)
    assert alerts.run_pending() == 0
    assert count(AlertCheck, AlertCheck.processed_at.is_(None)) == 0
    assert count(Notification) == 0


def test_the_cli_runs_pending_checks_idempotently(app, db, index, subscriber, make_achievement):
    subscribe(subscriber, q="氢冶金")
    make_achievement(title="氢冶金直接还原工艺")
    runner = app.test_cli_runner()
    first = runner.invoke(args=["alerts", "run"])
    assert first.exit_code == 0 and "新建通知 1 条" in first.output
    second = runner.invoke(args=["alerts", "run"])
    assert "新建通知 0 条" in second.output
    assert count(Notification) == 1
    outbox = runner.invoke(args=["alerts", "outbox"])
    assert subscriber.email in outbox.output and "未发送" in outbox.output


def test_the_listings_own_organisation_is_not_alerted(db, index, admin_client, make_org, make_user, make_achievement):
    org = make_org(org_type="university")
    owner, colleague = make_user("university", org=org), make_user("university", org=org)
    subscribe(colleague, q="氢冶金")
    approve(admin_client, make_achievement(owner=owner, status="pending", title="氢冶金直接还原工艺"))
    assert count(Notification) == 0


def test_paused_searches_are_not_alerted(db, index, admin_client, login_as, subscriber, make_achievement):
    saved = subscribe(subscriber, q="氢冶金")
    post(login_as(subscriber), f"/alerts/{saved.id}/toggle")
    _db.session.refresh(saved)
    assert saved.active is False
    approve(admin_client, make_achievement(status="pending", title="氢冶金直接还原工艺"))
    assert count(Notification) == 0


# ---------------------------------------------------------------------------------------------
# Unsubscribe, ownership


def test_unsubscribe_by_token_stops_alerts(db, index, client, admin_client, subscriber, make_achievement):
    saved = subscribe(subscriber, q="氢冶金")
    url = f"/alerts/unsubscribe/{saved.unsubscribe_token}"
    page = client.get(url).get_data(as_text=True)  # no login: the token alone is enough
    assert "确认退订" in page
    _db.session.refresh(saved)
    assert saved.active is True  # a GET (a mail scanner following links) changes nothing
    response = client.post(url)
    assert response.status_code == 200 and 'data-testid="unsubscribed"' in response.get_data(as_text=True)
    _db.session.refresh(saved)
    assert saved.active is False
    approve(admin_client, make_achievement(status="pending", title="氢冶金直接还原工艺"))
    assert count(Notification) == 0
    assert client.get("/alerts/unsubscribe/not-a-real-token").status_code == 404


def test_only_the_owner_deletes_a_saved_search(db, index, login_as, subscriber, make_user):
    saved = subscribe(subscriber, q="氢冶金")
    for intruder in (make_user("enterprise"), make_user("admin", org=None)):
        assert login_as(intruder).post(f"/alerts/{saved.id}/delete").status_code == 403
        assert login_as(intruder).post(f"/alerts/{saved.id}/toggle").status_code == 403
    assert count(SavedSearch) == 1
    assert 'data-testid="saved-search"' not in login_as(make_user("enterprise")).get("/alerts").get_data(as_text=True)
    post(login_as(subscriber), f"/alerts/{saved.id}/delete")
    assert count(SavedSearch) == 0


def test_posts_need_a_csrf_token(db, index, csrf_enabled, client, login_as, subscriber):
    saved = subscribe(subscriber, q="氢冶金")
    user = login_as(subscriber)
    assert user.post("/alerts", data={"q": "机器视觉"}).status_code == 400
    assert user.post(f"/alerts/{saved.id}/delete").status_code == 400
    assert user.post("/notifications/read").status_code == 400
    assert client.post(f"/alerts/unsubscribe/{saved.unsubscribe_token}").status_code == 400
    _db.session.refresh(saved)
    assert saved.active is True and count(SavedSearch) == 1


# ---------------------------------------------------------------------------------------------
# The notification centre


def test_notifications_page_badge_and_mark_all_read(db, index, admin_client, login_as, subscriber, make_achievement):
    subscribe(subscriber, q="氢冶金")
    approve(admin_client, make_achievement(status="pending", title="氢冶金直接还原工艺"))
    approve(admin_client, make_achievement(status="pending", title="氢冶金尾气回收"))
    user = login_as(subscriber)
    html = user.get("/notifications").get_data(as_text=True)
    assert html.count('data-testid="notification"') == 2
    assert html.count('data-unread="1"') == 2
    assert html.index("氢冶金尾气回收") < html.index("氢冶金直接还原工艺")  # newest first
    assert 'data-testid="nav-notifications-unread">2<' in html

    response = user.post("/notifications/read", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert 'data-unread="1"' not in html and "nav-notifications-unread" not in html
    assert count(Notification, Notification.read_at.is_(None)) == 0


def test_notifications_are_private(db, index, admin_client, login_as, subscriber, make_user, make_achievement):
    subscribe(subscriber, q="氢冶金")
    approve(admin_client, make_achievement(status="pending", title="氢冶金直接还原工艺"))
    html = login_as(make_user("enterprise")).get("/notifications").get_data(as_text=True)
    assert 'data-testid="notification"' not in html and "nav-notifications-unread" not in html
