"""Access-matrix rows for the resources blueprint (科技人才库, 仪器共享) and its API endpoints.

In this world the owner (manager of a university) keeps two experts of the university — one
active and on the team of the published achievement, one deactivated — and one instrument; the
enterprise has a pending booking request on it, the other member an approved one."""

from __future__ import annotations

from datetime import timedelta

from marketplace.core.timeutil import utcnow
from marketplace.extensions import db
from marketplace.listings.models import Achievement
from marketplace.resources import services
from tests.web.access_common import (
    EVERYONE,
    FORBIDDEN,
    LOGGED_IN,
    LOGIN,
    NOT_FOUND,
    OK,
    OWNER_OR_ADMIN,
    ROLES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)

EXPERT = {
    "name": "王海明",
    "title": "教授",
    "field_codes": ["0701"],
    "expertise": "海水淡化与膜分离",
    "phone": "13800000000",
    "email": "wang@example.cn",
}
INSTRUMENT = {
    "name": "场发射扫描电子显微镜",
    "district": "371102",
    "address": "日照市东港区学苑路1号",
    "fee": "300",
    "fee_unit": "元/小时",
}


def _slot(days: int, hours: int = 2) -> dict:
    start = utcnow() + timedelta(days=days)
    local = start + timedelta(hours=8)
    return {
        "starts_at": local.strftime("%Y-%m-%d 10:00"),
        "ends_at": local.strftime(f"%Y-%m-%d {10 + hours}:00"),
        "purpose": "材料表面形貌观察",
    }


def extend_world(users: dict, ids: dict) -> dict:
    owner = users["owner"]
    expert = services.create_expert(owner, EXPERT)
    team_expert = services.create_expert(owner, {**EXPERT, "name": "李青", "email": "li@example.cn"})
    inactive = services.create_expert(owner, {**EXPERT, "name": "赵停用", "email": "zhao@example.cn"})
    services.set_expert_active(owner, inactive, False)
    services.add_team_member(owner, db.session.get(Achievement, ids["published"]), team_expert.id, "负责人")
    instrument = services.create_instrument(owner, INSTRUMENT)
    pending = services.request_booking(users["enterprise"], instrument, _slot(3))
    approved = services.request_booking(users["other_member"], instrument, _slot(4))
    services.approve_booking(owner, approved)
    db.session.flush()
    return {
        "expert": expert.id,
        "team_expert": team_expert.id,
        "inactive_expert": inactive.id,
        "instrument": instrument.id,
        "booking_pending": pending.id,
        "booking_approved": approved.id,
    }


MISSING = dict.fromkeys(ROLES, NOT_FOUND)
EDITORS = OWNER_OR_ADMIN
HIDDEN_EXPERT = {**MISSING, O: OK, D: OK}
VERIFIED_MEMBERS = {**LOGGED_IN, D: FORBIDDEN}  # any member of a verified organisation
BOOKERS = {A: LOGIN, O: FORBIDDEN, M: OK, E: OK, B: OK, F: OK, D: FORBIDDEN}  # not the owner org
DECIDERS = {A: LOGIN, O: OK, M: NOT_FOUND, E: FORBIDDEN, B: NOT_FOUND, F: NOT_FOUND, D: OK}
REQUESTER = {A: LOGIN, O: FORBIDDEN, M: NOT_FOUND, E: OK, B: NOT_FOUND, F: NOT_FOUND, D: FORBIDDEN}

CASES: list[tuple] = [
    ("resources.experts", "GET", "/experts", EVERYONE),
    ("resources.experts", "GET", "/experts?q=海水淡化&field=07&evaluation=1", EVERYONE),
    ("resources.new_expert", "GET", "/experts/new", LOGGED_IN),
    ("resources.new_expert", "POST", "/experts/new", LOGGED_IN),
    ("resources.expert", "GET", "/experts/{expert}", EVERYONE),
    ("resources.expert", "GET", "/experts/{inactive_expert}", HIDDEN_EXPERT),
    ("resources.expert", "GET", "/experts/999999", MISSING),
    ("resources.edit_expert", "GET", "/experts/{expert}/edit", EDITORS),
    ("resources.edit_expert", "POST", "/experts/{expert}/edit", EDITORS),
    ("resources.set_expert_active", "POST", "/experts/{expert}/active", EDITORS),
    ("resources.achievement_team_page", "GET", "/achievements/{published}/team", EDITORS),
    ("resources.achievement_team_page", "POST", "/achievements/{published}/team", EDITORS),
    ("resources.remove_team_member", "POST", "/achievements/{published}/team/{team_expert}/remove", EDITORS),
    ("resources.instruments", "GET", "/instruments", EVERYONE),
    ("resources.instruments", "GET", "/instruments?district=371102&status=available&q=电子", EVERYONE),
    ("resources.new_instrument", "GET", "/instruments/new", VERIFIED_MEMBERS),
    ("resources.new_instrument", "POST", "/instruments/new", VERIFIED_MEMBERS),
    ("resources.instrument", "GET", "/instruments/{instrument}", EVERYONE),
    ("resources.instrument", "GET", "/instruments/999999", MISSING),
    ("resources.edit_instrument", "GET", "/instruments/{instrument}/edit", EDITORS),
    ("resources.edit_instrument", "POST", "/instruments/{instrument}/edit", EDITORS),
    ("resources.request_booking", "POST", "/instruments/{instrument}/bookings", BOOKERS),
    ("resources.approve_booking", "POST", "/instruments/bookings/{booking_pending}/approve", DECIDERS),
    ("resources.decline_booking", "POST", "/instruments/bookings/{booking_pending}/decline", DECIDERS),
    ("resources.cancel_booking", "POST", "/instruments/bookings/{booking_pending}/cancel", REQUESTER),
    ("resources.my_bookings", "GET", "/instruments/bookings/mine", LOGGED_IN),
    ("api.resources_experts", "GET", "/api/v1/experts", EVERYONE),
    ("api.resources_expert", "GET", "/api/v1/experts/{expert}", EVERYONE),
    ("api.resources_expert", "GET", "/api/v1/experts/{inactive_expert}", HIDDEN_EXPERT),
    ("api.resources_expert_create", "POST", "/api/v1/experts", LOGGED_IN),
    ("api.resources_expert_update", "PATCH", "/api/v1/experts/{expert}", EDITORS),
    ("api.resources_team", "GET", "/api/v1/achievements/{published}/team", EVERYONE),
    ("api.resources_team_add", "POST", "/api/v1/achievements/{published}/team", EDITORS),
    ("api.resources_team_remove", "DELETE", "/api/v1/achievements/{published}/team/{team_expert}", EDITORS),
    ("api.resources_instruments", "GET", "/api/v1/instruments", EVERYONE),
    ("api.resources_instrument", "GET", "/api/v1/instruments/{instrument}", EVERYONE),
    ("api.resources_instrument", "GET", "/api/v1/instruments/999999", MISSING),
    ("api.resources_instrument_create", "POST", "/api/v1/instruments", VERIFIED_MEMBERS),
    ("api.resources_instrument_update", "PATCH", "/api/v1/instruments/{instrument}", EDITORS),
    ("api.resources_bookings", "GET", "/api/v1/instruments/{instrument}/bookings", EVERYONE),
    ("api.resources_booking_create", "POST", "/api/v1/instruments/{instrument}/bookings", BOOKERS),
    ("api.resources_booking_approve", "POST", "/api/v1/bookings/{booking_pending}/approve", DECIDERS),
    ("api.resources_booking_decline", "POST", "/api/v1/bookings/{booking_pending}/decline", DECIDERS),
    ("api.resources_booking_cancel", "POST", "/api/v1/bookings/{booking_pending}/cancel", REQUESTER),
    ("api.resources_booking_cancel", "POST", "/api/v1/bookings/999999/cancel", {**MISSING, A: LOGIN}),
]
