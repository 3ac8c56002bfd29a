"""The listing workflow: 草稿 → 待审核 → 已发布 → 已撤回 / 已关闭 / 已过期, 驳回 back to 草稿."""

from datetime import date, timedelta

import pytest

from marketplace.core.audit import history
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.listings import services
from tests.conftest import achievement_data, demand_data

ALLOWED = [
    ("draft", "submit", "owner", "pending"),
    ("withdrawn", "submit", "owner", "pending"),
    ("pending", "approve", "admin", "published"),
    ("pending", "reject", "admin", "draft"),
    ("pending", "withdraw", "owner", "withdrawn"),
    ("published", "withdraw", "owner", "withdrawn"),
    ("published", "withdraw", "admin", "withdrawn"),
    ("published", "close", "owner", "closed"),
    ("withdrawn", "close", "admin", "closed"),
]

REFUSED_STATE = [
    ("draft", "approve", "admin"),
    ("draft", "withdraw", "owner"),
    ("pending", "submit", "owner"),
    ("published", "submit", "owner"),
    ("published", "approve", "admin"),
    ("closed", "submit", "owner"),
    ("closed", "withdraw", "owner"),
    ("draft", "close", "owner"),
]

REFUSED_ACTOR = [
    ("draft", "submit", "admin"),
    ("draft", "submit", "other_member"),
    ("pending", "approve", "owner"),
    ("pending", "reject", "official"),
    ("published", "withdraw", "other_member"),
    ("published", "close", "broker"),
]


@pytest.fixture
def actors(make_user):
    owner = make_user("university")
    return {
        "owner": owner,
        "admin": make_user("admin", org=None),
        "other_member": make_user("university"),
        "official": make_user("official"),
        "broker": make_user("broker"),
    }


@pytest.mark.parametrize(("start", "action", "who", "end"), ALLOWED)
def test_allowed_transitions_change_state_and_write_audit(make_achievement, actors, start, action, who, end):
    listing = make_achievement(owner=actors["owner"], status=start)
    services.transition(listing, action, actors[who], reason="理由")
    db.session.commit()
    assert listing.status == end
    last = history(listing)[-1]
    assert (last.action, last.actor_id, last.from_state, last.to_state) == (action, actors[who].id, start, end)


@pytest.mark.parametrize(("start", "action", "who"), REFUSED_STATE)
def test_transitions_from_the_wrong_state_are_refused(make_achievement, actors, start, action, who):
    listing = make_achievement(owner=actors["owner"], status=start)
    before = len(history(listing))
    with pytest.raises(Conflict, match="状态"):
        services.transition(listing, action, actors[who], reason="理由")
    db.session.rollback()
    assert db.session.get(type(listing), listing.id).status == start
    assert len(history(listing)) == before


@pytest.mark.parametrize(("start", "action", "who"), REFUSED_ACTOR)
def test_transitions_by_the_wrong_person_are_refused(make_achievement, actors, start, action, who):
    listing = make_achievement(owner=actors["owner"], status=start)
    with pytest.raises(PermissionDenied):
        services.transition(listing, action, actors[who], reason="理由")
    db.session.rollback()
    assert db.session.get(type(listing), listing.id).status == start


def test_reject_needs_a_reason_and_keeps_it_for_the_owner(make_achievement, actors):
    listing = make_achievement(owner=actors["owner"], status="pending")
    with pytest.raises(ValidationFailed) as refused:
        services.transition(listing, "reject", actors["admin"], reason="  ")
    assert "reason" in refused.value.fields
    services.transition(listing, "reject", actors["admin"], reason="请补充专利证书")
    db.session.commit()
    assert (listing.status, listing.review_reason) == ("draft", "请补充专利证书")


def test_unverified_organisation_can_draft_but_not_submit(make_org, make_user):
    org = make_org(org_type="university", verified=False)
    member = make_user("university", org=org)
    listing = services.create_listing("achievement", member, achievement_data())
    db.session.commit()
    with pytest.raises(Conflict, match="尚未通过平台认证"):
        services.transition(listing, "submit", member)
    db.session.rollback()
    assert db.session.get(type(listing), listing.id).status == "draft"


def test_published_demands_expire_after_their_date(make_demand):
    demand = make_demand(valid_until=(date.today() + timedelta(days=3)).isoformat())
    assert services.expire_due_demands(today=date.today()) == 0
    assert services.expire_due_demands(today=date.today() + timedelta(days=4)) == 1
    db.session.commit()
    assert demand.status == "expired"
    assert history(demand)[-1].actor_id is None  # done by the system


def test_editing_is_only_for_owners_in_editable_states(make_achievement, actors):
    listing = make_achievement(owner=actors["owner"], status="published")
    with pytest.raises(Conflict, match="请先撤回"):
        services.update_listing(listing, actors["owner"], {"title": "新标题"})
    db.session.rollback()
    services.transition(listing, "withdraw", actors["owner"])
    with pytest.raises(PermissionDenied):
        services.update_listing(listing, actors["other_member"], {"title": "别人改的"})
    services.update_listing(listing, actors["owner"], {"title": "新标题"})
    db.session.commit()
    assert listing.title == "新标题"
    assert history(listing)[-1].details == {"fields": ["title"]}


def test_failed_update_changes_nothing(make_achievement, actors):
    listing = make_achievement(owner=actors["owner"], status="draft", price="50万")
    with pytest.raises(ValidationFailed) as refused:
        services.update_listing(listing, actors["owner"], {"title": "改了", "price": "很贵"})
    db.session.rollback()
    assert "price" in refused.value.fields
    fresh = db.session.get(type(listing), listing.id)
    assert fresh.title == achievement_data()["title"] and str(fresh.price_low) == "500000.00"


def test_duplicate_patent_number_within_an_organisation_is_refused(make_achievement, actors):
    make_achievement(owner=actors["owner"], patent_numbers="ZL201720001285.X")
    with pytest.raises(ValidationFailed, match="提交的内容有误") as refused:
        services.create_listing("achievement", actors["owner"], achievement_data(patent_numbers="201720001285X"))
    assert "已登记在本机构" in refused.value.fields["patent_numbers"]
    # another organisation may list the same number (co-owned patents exist)
    services.create_listing("achievement", actors["other_member"], achievement_data())


def test_validation_reports_every_bad_field_in_chinese(actors):
    with pytest.raises(ValidationFailed) as refused:
        services.create_listing(
            "achievement",
            actors["owner"],
            achievement_data(
                title="",
                maturity="成熟",
                field="不存在的领域",
                price="很贵",
                transfer_modes=[],
                trl="12",
                patent_numbers="ZL201720001285.1",
                bogus="x",
            ),
        )
    assert set(refused.value.fields) == {"bogus"}  # unknown keys are named first, before anything is checked
    with pytest.raises(ValidationFailed) as refused:
        services.create_listing(
            "achievement",
            actors["owner"],
            achievement_data(
                title="",
                maturity="成熟",
                field="不存在的领域",
                price="很贵",
                transfer_modes=[],
                trl="12",
                patent_numbers="ZL201720001285.1",
            ),
        )
    fields = refused.value.fields
    assert fields["title"] == "请填写名称"
    assert "成熟度“成熟”无效" in fields["maturity"]
    assert "不在分类中" in fields["field"]
    assert "无法识别" in fields["price"]
    assert fields["transfer_modes"] == "请至少选择一种转化方式"
    assert "1到9" in fields["trl"]
    assert "校验位" in fields["patent_numbers"]


def test_demand_valid_until_cannot_be_in_the_past(make_user):
    owner = make_user("enterprise")
    with pytest.raises(ValidationFailed) as refused:
        services.create_listing("demand", owner, demand_data(valid_until="2020-01-01"))
    assert refused.value.fields["valid_until"] == "有效期不能早于今天"


def test_demands_past_their_date_leave_public_lists_before_the_expiry_job_runs(make_demand):
    from marketplace.listings.models import Demand

    live = make_demand(title="仍有效的需求", valid_until=(date.today() + timedelta(days=10)).isoformat())
    stale = make_demand(title="已过期的需求", valid_until=(date.today() + timedelta(days=1)).isoformat())
    db.session.execute(
        db.update(Demand).where(Demand.id == stale.id).values(valid_until=date.today() - timedelta(days=1))
    )
    db.session.commit()
    visible = db.session.scalars(services.listing_query("demand", services.ListingFilter())).all()
    assert [d.id for d in visible] == [live.id]
