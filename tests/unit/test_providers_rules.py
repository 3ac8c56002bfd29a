"""The rules of the "1+7+N" service system: who publishes offerings (verified organisations'
managers), `offers()`, the request state machine (every illegal transition refused with nothing
changed), who may act, rating rules, and the rating / response-time arithmetic."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from marketplace.alerts.models import Notification
from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from marketplace.core.timeutil import local_today, utcnow
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.providers import services
from marketplace.providers.models import ServiceRating, ServiceRequest
from tests.conftest import demand_data

OFFERING = {
    "category": "evaluation",
    "title": "科技成果第三方评价",
    "description": "组织同行专家出具评价意见",
    "price_note": "2 万元起",
    "district": "东港区",
    "turnaround_days": "20",
}
REQUEST = {"subject": "膜材料成果评价", "description": "拟申报科技奖励，需要第三方评价。"}
STATES = ("submitted", "accepted", "in_progress", "completed", "declined", "cancelled")
PATH = {
    "submitted": [],
    "accepted": ["accept"],
    "in_progress": ["accept", "start"],
    "completed": ["accept", "start", "complete"],
    "declined": ["decline"],
    "cancelled": ["cancel"],
}
DATA = {"decline": {"reason": "档期已满"}, "complete": {"result": "评价报告已出具"}}
LEGAL = {
    ("submitted", "accept"),
    ("submitted", "decline"),
    ("submitted", "cancel"),
    ("accepted", "start"),
    ("accepted", "cancel"),
    ("in_progress", "complete"),
    ("in_progress", "cancel"),
}


@pytest.fixture
def people(make_org, make_user):
    provider_org = make_org(org_type="agency")
    return {
        "manager": make_user("broker", org=provider_org, manager=True, broker_level="manager", broker_cert_no="C1"),
        "staff": make_user("broker", org=provider_org, broker_level="junior", broker_cert_no="C2"),
        "client": make_user("enterprise", manager=True),
        "stranger": make_user("enterprise"),
        "admin": make_user("admin", org=None),
        "unverified": make_user("enterprise", org=make_org(org_type="enterprise", verified=False), manager=True),
    }


@pytest.fixture
def offering(people):
    item = services.create_offering(people["manager"], OFFERING)
    db.session.commit()
    return item


def new_request(people, offering, **data):
    req = services.create_request(people["client"], offering, {**REQUEST, **data})
    db.session.commit()
    return req


def advance(req, people, state):
    for action in PATH[state]:
        actor = people["client"] if action == "cancel" else people["manager"]
        services.transition(req, action, actor, DATA.get(action))
    db.session.commit()
    return req


def snapshot(req):
    db.session.refresh(req)
    audits = db.session.scalar(select(func.count(AuditLog.id)).where(AuditLog.object_type == "service_request"))
    return (req.status, req.responded_at, req.completed_at, req.closed_at, req.result_text, audits)


# ---------------------------------------------------------------------------------------------
# Offerings and offers()


def test_manager_of_verified_org_publishes_an_offering(people):
    item = services.create_offering(people["manager"], OFFERING)
    assert item.category == "evaluation" and item.district == "371102" and item.turnaround_days == 20
    assert item.active


def test_unverified_organisation_is_refused_with_a_clear_message(people):
    with pytest.raises(PermissionDenied, match="机构通过平台认证后才能发布服务"):
        services.create_offering(people["unverified"], OFFERING)


@pytest.mark.parametrize("who", ["staff", "stranger", "admin"])
def test_only_the_org_manager_publishes(people, who):
    with pytest.raises(PermissionDenied):
        services.create_offering(people[who], OFFERING)


def test_offering_fields_are_checked(people):
    with pytest.raises(ValidationFailed) as exc:
        services.create_offering(
            people["manager"], {"category": "cooking", "title": "", "district": "北京", "turnaround_days": "0"}
        )
    assert set(exc.value.fields) == {"category", "title", "description", "district", "turnaround_days"}


def test_update_and_deactivate(people, offering):
    services.update_offering(offering, people["manager"], {"title": "新名称", "turnaround_days": ""})
    assert offering.title == "新名称" and offering.turnaround_days is None and offering.category == "evaluation"
    with pytest.raises(PermissionDenied):
        services.update_offering(offering, people["staff"], {"title": "x"})
    services.set_offering_active(offering, people["manager"], False)
    with pytest.raises(Conflict):
        services.set_offering_active(offering, people["manager"], False)
    # the admin may moderate
    services.set_offering_active(offering, people["admin"], True)
    assert offering.active


def test_offers_true_and_false(people, offering):
    org_id = offering.org_id
    assert services.offers(org_id, "evaluation") is True
    assert services.offers(org_id, "ip") is False
    assert services.offers(None, "evaluation") is False
    assert services.offers(people["client"].organization_id, "evaluation") is False
    services.set_offering_active(offering, people["manager"], False)
    assert services.offers(org_id, "evaluation") is False
    services.set_offering_active(offering, people["manager"], True)
    offering.organization.verified = False  # lost its verification
    db.session.flush()
    assert services.offers(org_id, "evaluation") is False


def test_hidden_offering_is_404_except_for_its_managers(people, offering):
    services.set_offering_active(offering, people["manager"], False)
    db.session.commit()
    with pytest.raises(NotFound):
        services.load_offering(offering.id, people["client"])
    assert services.load_offering(offering.id, people["manager"]) is offering
    assert services.load_offering(offering.id, people["admin"]) is offering


# ---------------------------------------------------------------------------------------------
# Requests


def test_request_is_submitted_and_the_provider_notified(people, offering):
    req = new_request(people, offering, contact_preference="电话")
    assert req.status == "submitted" and req.contact_preference == "phone"
    assert req.provider_org_id == offering.org_id and req.requester_org_id == people["client"].organization_id
    notified = db.session.scalars(select(Notification.user_id)).all()
    assert set(notified) == {people["manager"].id, people["staff"].id}


def test_request_fields_are_checked(people, offering):
    past = (local_today() - timedelta(days=1)).isoformat()
    with pytest.raises(ValidationFailed) as exc:
        services.create_request(people["client"], offering, {"desired_date": past, "contact_preference": "信鸽"})
    assert exc.value.fields["desired_date"] == "期望完成日期不能早于今天"
    assert {"subject", "description", "contact_preference"} <= set(exc.value.fields)
    assert db.session.scalar(select(func.count(ServiceRequest.id))) == 0


def test_request_may_link_own_listing_but_not_another_orgs(people, offering, make_user):
    own = listings.create_listing("demand", people["client"], demand_data())
    other = listings.create_listing("demand", people["stranger"], demand_data(title="别人的需求"))
    req = services.create_request(people["client"], offering, {**REQUEST, "demand_id": own.id})
    assert req.demand_id == own.id
    with pytest.raises(ValidationFailed) as exc:
        services.create_request(people["client"], offering, {**REQUEST, "demand_id": other.id})
    assert exc.value.fields == {"demand_id": "只能关联本机构的科技成果或技术需求"}


def test_provider_cannot_request_its_own_service_and_admin_has_no_org(people, offering):
    with pytest.raises(PermissionDenied, match="本机构"):
        services.create_request(people["staff"], offering, REQUEST)
    with pytest.raises(PermissionDenied):
        services.create_request(people["admin"], offering, REQUEST)


def test_deactivated_offering_takes_no_requests(people, offering):
    services.set_offering_active(offering, people["manager"], False)
    with pytest.raises(Conflict, match="下架"):
        services.create_request(people["client"], offering, REQUEST)


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("action", sorted(services.TRANSITIONS))
def test_transition_table(people, offering, state, action):
    req = advance(new_request(people, offering), people, state)
    actor = people["client"] if action == "cancel" else people["manager"]
    if (state, action) in LEGAL:
        services.transition(req, action, actor, DATA.get(action))
        assert req.status == services.TRANSITIONS[action].target
        return
    before = snapshot(req)
    with pytest.raises(Conflict):
        services.transition(req, action, actor, DATA.get(action))
    db.session.rollback()
    assert snapshot(req) == before


def test_every_transition_is_audited_and_notifies_the_other_party(people, offering):
    req = new_request(people, offering)
    db.session.execute(Notification.__table__.delete())
    services.transition(req, "accept", people["staff"], {"note": "报价 2 万元"})
    entry = db.session.scalars(select(AuditLog).where(AuditLog.action == "accept")).one()
    assert (entry.from_state, entry.to_state, entry.actor_id) == ("submitted", "accepted", people["staff"].id)
    assert db.session.scalars(select(Notification.user_id)).all() == [people["client"].id]
    services.transition(req, "cancel", people["client"], {"reason": "预算调整"})
    assert req.cancel_reason == "预算调整" and req.closed_at is not None
    assert people["manager"].id in db.session.scalars(select(Notification.user_id)).all()


@pytest.mark.parametrize(
    ("action", "who"),
    [
        ("accept", "client"),
        ("decline", "client"),
        ("accept", "stranger"),
        ("accept", "admin"),
        ("cancel", "manager"),
        ("cancel", "stranger"),
        ("cancel", "admin"),
    ],
)
def test_who_may_act(people, offering, action, who):
    req = new_request(people, offering)
    before = snapshot(req)
    with pytest.raises(PermissionDenied):
        services.transition(req, action, people[who], DATA.get(action))
    assert snapshot(req) == before


def test_decline_needs_a_reason_and_complete_a_result(people, offering):
    req = new_request(people, offering)
    with pytest.raises(ValidationFailed) as exc:
        services.transition(req, "decline", people["manager"], {"reason": " "})
    assert exc.value.fields == {"reason": "请填写婉拒原因"}
    advance(req, people, "in_progress")
    with pytest.raises(ValidationFailed) as exc:
        services.transition(req, "complete", people["manager"], {})
    assert "result" in exc.value.fields
    with pytest.raises(ValidationFailed) as exc:
        services.transition(req, "complete", people["manager"], {"result": "完成"}, ("x.exe", b"MZ\x90\x00"))
    assert "file" in exc.value.fields
    assert req.status == "in_progress"
    services.transition(req, "complete", people["manager"], {"result": "完成"}, ("报告.pdf", b"%PDF-1.4 x"))
    assert req.result_file_name == "报告.pdf" and req.result_file_mime == "application/pdf"
    assert services.result_file(req, people["client"]).read_bytes() == b"%PDF-1.4 x"


def test_unknown_action_is_a_field_error(people, offering):
    req = new_request(people, offering)
    with pytest.raises(ValidationFailed) as exc:
        services.transition(req, "approve", people["manager"])
    assert "action" in exc.value.fields


def test_first_response_time_is_stored_once(people, offering):
    req = new_request(people, offering)
    req.created_at = utcnow() - timedelta(hours=5)
    services.transition(req, "accept", people["manager"])
    assert 5 * 3600 - 5 <= req.response_seconds <= 5 * 3600 + 5
    first = req.responded_at
    services.transition(req, "start", people["manager"])
    assert req.responded_at == first


def test_allowed_actions_for_buttons(people, offering):
    req = new_request(people, offering)
    assert services.allowed_actions(people["staff"], req) == ["accept", "decline"]
    assert services.allowed_actions(people["client"], req) == ["cancel"]
    assert services.allowed_actions(people["admin"], req) == []


def test_request_visibility(people, offering):
    req = new_request(people, offering)
    for who in ("manager", "staff", "client", "admin"):
        assert services.load_request(req.id, people[who]) is req
    with pytest.raises(PermissionDenied):
        services.load_request(req.id, people["stranger"])
    with pytest.raises(NotFound):
        services.load_request(999999, people["client"])


# ---------------------------------------------------------------------------------------------
# Ratings


def test_rating_rules(people, offering):
    req = new_request(people, offering)
    with pytest.raises(Conflict, match="完成后才能评价"):
        services.rate(req, people["client"], 5)
    advance(req, people, "completed")
    with pytest.raises(PermissionDenied, match="不能评价自己"):
        services.rate(req, people["manager"], 5)
    with pytest.raises(PermissionDenied):
        services.rate(req, people["stranger"], 5)
    for bad in (0, 6, "", None, "五", 4.5, True):
        with pytest.raises(ValidationFailed) as exc:
            services.rate(req, people["client"], bad)
        assert "score" in exc.value.fields
    rating = services.rate(req, people["client"], "4", "  专业 ")
    assert (rating.score, rating.comment) == (4, "专业")
    with pytest.raises(Conflict, match="不能重复评价"):
        services.rate(req, people["client"], 5)
    assert db.session.scalar(select(func.count(ServiceRating.id))) == 1


# ---------------------------------------------------------------------------------------------
# Arithmetic


def test_median():
    assert services.median([]) is None
    assert services.median([7]) == 7
    assert services.median([9, 1, 5]) == 5
    assert services.median([1, 2, 3, 10]) == Decimal("2.5")


def test_stats_against_hand_computed_figures(people, offering):
    # Scores 5, 4, 4 -> 13/3 = 4.333 -> 4.3; four stars drawn.
    # Responses 1 h, 2 h, 6 h (and one declined after 30 min) -> mean (3600+7200+21600+1800)/4 s
    # = 8550 s = 2.375 h -> 2.4 h; median of 1800, 3600, 7200, 21600 = 5400 s = 1.5 h.
    hours = [1, 2, 6]
    for n, (h, score) in enumerate(zip(hours, (5, 4, 4), strict=True)):
        req = new_request(people, offering, subject=f"请求{n}")
        req.created_at = utcnow() - timedelta(hours=h)
        advance(req, people, "completed")
        services.rate(req, people["client"], score)
    declined = new_request(people, offering, subject="婉拒")
    declined.created_at = utcnow() - timedelta(minutes=30)
    advance(declined, people, "declined")
    new_request(people, offering, subject="尚未响应")
    db.session.commit()
    # Seconds elapse while the test runs: pin them to the hand-computed values.
    for req in db.session.scalars(select(ServiceRequest).where(ServiceRequest.response_seconds.is_not(None))):
        req.response_seconds = round(req.response_seconds / 1800) * 1800
    db.session.flush()
    stats = services.provider_stats([offering.org_id])[offering.org_id]
    assert stats.average_rating == Decimal("4.3") and stats.rating_count == 3 and stats.stars == 4
    assert stats.average_response_hours == Decimal("2.4")
    assert stats.median_response_hours == Decimal("1.5")
    assert (stats.completed, stats.requests) == (3, 5)
    assert stats.as_dict()["average_rating"] == "4.3"


def test_half_up_rounding_of_the_average():
    stats = services.ProviderStats(rating_count=4, rating_sum=17)  # 4.25
    assert stats.average_rating == Decimal("4.3") and stats.stars == 4
    assert services.ProviderStats().average_rating is None
    assert services.ProviderStats().average_response_hours is None


def test_catalogue_filters_and_sorts(people, offering, make_org, make_user):
    other_org = make_org(org_type="agency")
    other = make_user("broker", org=other_org, manager=True, broker_level="junior", broker_cert_no="C9")
    ip = services.create_offering(other, {**OFFERING, "category": "ip", "title": "专利导航", "district": ""})
    db.session.commit()
    f = services.CatalogueFilters.parse
    assert [o.id for o in services.catalogue(f({"category": "ip"})).items] == [ip.id]
    assert [o.id for o in services.catalogue(f({"q": "导航"})).items] == [ip.id]
    assert [o.id for o in services.catalogue(f({"q": "100%"})).items] == []
    # 岚山区: the city-wide offering serves it, the 东港区 one does not.
    assert [o.id for o in services.catalogue(f({"district": "岚山区"})).items] == [ip.id]
    assert [o.id for o in services.catalogue(f({"sort": "newest"})).items] == [ip.id, offering.id]
    req = advance(new_request(people, offering), people, "completed")
    services.rate(req, people["client"], 3)
    db.session.commit()
    assert [o.id for o in services.catalogue(f({"sort": "rating"})).items] == [offering.id, ip.id]
    assert [o.id for o in services.catalogue(f({"sort": "response"})).items] == [offering.id, ip.id]
