"""大型科学仪器共享 pages and API: the catalogue with filters, the week calendar (Beijing time,
approved slots and the viewer's own pending requests, navigable by week), booking requests with
errors beside the fields, approve / decline / cancel, and 409 for overlaps."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from marketplace.core.timeutil import LOCAL_TZ
from marketplace.extensions import db
from marketplace.resources import services
from marketplace.resources.models import InstrumentBooking

INSTRUMENT = {
    "name": "场发射扫描电子显微镜",
    "model": "SU8010",
    "manufacturer": "日立",
    "district": "371102",
    "address": "东港区学苑路1号",
    "fee": "300",
    "fee_unit": "元/小时",
}


def day(offset: int) -> str:
    return (datetime.now(LOCAL_TZ).date() + timedelta(days=offset)).isoformat()


def slot(offset: int, start: int, end: int) -> dict:
    return {
        "starts_at": f"{day(offset)}T{start:02d}:00",
        "ends_at": f"{day(offset)}T{end:02d}:00",
        "purpose": "样品形貌观察",
    }


@pytest.fixture
def owner(make_user):
    return make_user("university", manager=True)


@pytest.fixture
def instrument(owner):
    item = services.create_instrument(owner, INSTRUMENT)
    db.session.commit()
    return item


def test_the_catalogue_filters_and_hides_retired_instruments(client, owner, instrument):
    retired = services.create_instrument(owner, {**INSTRUMENT, "name": "老式气相色谱仪", "status": "retired"})
    services.create_instrument(owner, {**INSTRUMENT, "name": "激光共聚焦显微镜", "district": "371103"})
    db.session.commit()
    page = client.get("/instruments").get_data(as_text=True)
    assert "场发射扫描电子显微镜" in page and "300 元/小时" in page and "老式气相色谱仪" not in page
    by_district = client.get("/instruments?district=371103").get_data(as_text=True)
    assert "激光共聚焦显微镜" in by_district and "场发射" not in by_district
    assert "场发射" in client.get("/instruments?q=SU8010").get_data(as_text=True)
    assert client.get(f"/instruments/{retired.id}").status_code == 404
    assert client.get("/api/v1/instruments?district=火星").status_code == 422
    listed = client.get("/api/v1/instruments").get_json()
    assert listed["total"] == 2 and listed["items"][0]["fee"] is not None


def test_creating_an_instrument_shows_errors_beside_the_fields(login_as, owner):
    client = login_as(owner)
    response = client.post("/instruments/new", data={"name": "", "district": "", "address": "", "fee": "三百"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for field in ("name", "district", "address", "fee"):
        assert f'data-field-error="{field}"' in html
    ok = client.post("/instruments/new", data={**INSTRUMENT, "status": "available"})
    assert ok.status_code == 302 and "/instruments/" in ok.headers["Location"]


def test_booking_through_the_page_and_the_calendar(login_as, client, make_user, owner, instrument):
    requester = make_user("enterprise")
    booker = login_as(requester)
    bad = booker.post(f"/instruments/{instrument.id}/bookings", data={**slot(3, 12, 10)})
    assert bad.status_code == 422 and "结束时间必须晚于开始时间" in bad.get_data(as_text=True)
    made = booker.post(f"/instruments/{instrument.id}/bookings", data=slot(3, 10, 12))
    assert made.status_code == 302
    booking = db.session.query(InstrumentBooking).one()
    week = made.headers["Location"].split("week=")[1]
    calendar = booker.get(f"/instruments/{instrument.id}?week={week}").get_data(as_text=True)
    assert 'data-status="pending"' in calendar and "10:00–12:00 待确认" in calendar
    # strangers do not see someone else's pending request; the owner does, with approve buttons
    assert 'data-status="pending"' not in client.get(f"/instruments/{instrument.id}?week={week}").get_data(as_text=True)
    owner_client = login_as(owner)
    owner_page = owner_client.get(f"/instruments/{instrument.id}?week={week}").get_data(as_text=True)
    assert 'data-testid="approve-booking"' in owner_page
    owner_client.post(f"/instruments/bookings/{booking.id}/approve")
    public = client.get(f"/instruments/{instrument.id}?week={week}").get_data(as_text=True)
    assert 'data-status="approved"' in public and "10:00–12:00 已约" in public
    assert requester.name not in public  # the public calendar says nothing about who booked
    # the week is navigable
    monday = datetime.fromisoformat(week).date()
    assert f"week={(monday + timedelta(days=7)).isoformat()}" in public
    assert f"week={(monday - timedelta(days=7)).isoformat()}" in public
    overlap = login_as(make_user("enterprise")).post(f"/instruments/{instrument.id}/bookings", data=slot(3, 11, 13))
    assert overlap.status_code == 409 and "该时段已被预约：" in overlap.get_data(as_text=True)


def test_decline_needs_a_reason_and_the_requester_cancels(login_as, make_user, owner, instrument):
    requester = make_user("enterprise")
    booking = services.request_booking(requester, instrument, slot(2, 9, 11))
    db.session.commit()
    owner_client = login_as(owner)
    owner_client.post(f"/instruments/bookings/{booking.id}/decline", data={"reason": ""}, follow_redirects=True)
    db.session.refresh(booking)
    assert booking.status == "pending"
    owner_client.post(f"/instruments/bookings/{booking.id}/decline", data={"reason": "当日检修"})
    db.session.refresh(booking)
    assert booking.status == "declined"
    second = services.request_booking(requester, instrument, slot(4, 9, 11))
    db.session.commit()
    login_as(requester).post(f"/instruments/bookings/{second.id}/cancel")
    db.session.refresh(second)
    assert second.status == "cancelled"
    mine = login_as(requester).get("/instruments/bookings/mine").get_data(as_text=True)
    assert "已拒绝" in mine and "当日检修" in mine and "已取消" in mine


def test_api_booking_flow_with_409_for_overlaps(api_client, make_user, owner, instrument):
    first, second = api_client(make_user("enterprise")), api_client(make_user("enterprise"))
    owner_api = api_client(owner)
    bad = first.post(
        f"/api/v1/instruments/{instrument.id}/bookings", json={"starts_at": "明天", "ends_at": "", "purpose": ""}
    )
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"starts_at", "ends_at", "purpose"}
    a = first.post(f"/api/v1/instruments/{instrument.id}/bookings", json=slot(5, 10, 12)).get_json()
    b = second.post(f"/api/v1/instruments/{instrument.id}/bookings", json=slot(5, 11, 13)).get_json()
    c = second.post(f"/api/v1/instruments/{instrument.id}/bookings", json=slot(5, 12, 14)).get_json()
    assert a["status"]["code"] == "pending" and a["purpose"] == "样品形貌观察"
    assert first.post(f"/api/v1/bookings/{a['id']}/approve").status_code == 403
    assert owner_api.post(f"/api/v1/bookings/{a['id']}/approve").get_json()["status"]["code"] == "approved"
    refused = owner_api.post(f"/api/v1/bookings/{b['id']}/approve")
    assert refused.status_code == 409 and refused.get_json()["error"]["message"].startswith("该时段已被预约：")
    assert db.session.get(InstrumentBooking, b["id"]).status == "pending"
    assert owner_api.post(f"/api/v1/bookings/{c['id']}/approve").status_code == 200  # adjacent
    assert owner_api.post(f"/api/v1/bookings/{b['id']}/decline", json={}).status_code == 422
    late = second.post(f"/api/v1/instruments/{instrument.id}/bookings", json=slot(5, 13, 15))
    assert late.status_code == 409 and "该时段已被预约" in late.get_json()["error"]["fields"]["starts_at"]
    public = (
        api_client(make_user("university")).get(f"/api/v1/instruments/{instrument.id}/bookings").get_json()["items"]
    )
    assert [x["status"]["code"] for x in public] == ["approved", "approved"]
    assert all("purpose" not in x and "requester_org" not in x for x in public)
    detailed = owner_api.get(f"/api/v1/instruments/{instrument.id}/bookings").get_json()["items"]
    assert len(detailed) == 3 and all("requester_org" in x for x in detailed)
    assert second.post(f"/api/v1/bookings/{c['id']}/cancel").get_json()["status"]["code"] == "cancelled"
    assert second.post(f"/api/v1/bookings/{c['id']}/cancel").status_code == 409
