"""The rules of first contact: who may inquire on an achievement or offer one to a demand,
message cleaning, replies by the two parties only, read tracking and unread counts."""

from __future__ import annotations

import pytest

from marketplace.core import policy
from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.inquiries import services
from marketplace.inquiries.models import InquiryKind


@pytest.fixture
def achievement(make_achievement):
    return make_achievement()


@pytest.fixture
def enterprise(make_user):
    return make_user("enterprise")


# ---------------------------------------------------------------------------------------------
# Messages


def test_message_is_stripped_of_control_characters():
    assert services.clean_message("  你好\x00\x07，\r\n请联系\x1b我\t。 ") == "你好，\n请联系我\t。"


@pytest.mark.parametrize("raw", ["", "   ", "\x00\x01\n", None])
def test_empty_message_is_refused(raw):
    with pytest.raises(ValidationFailed) as exc:
        services.clean_message(raw)
    assert exc.value.fields == {"message": "请填写留言内容"}


def test_message_up_to_2000_characters():
    assert len(services.clean_message("字" * 2000)) == 2000
    with pytest.raises(ValidationFailed) as exc:
        services.clean_message("字" * 2001)
    assert "不能超过2000个字" in exc.value.fields["message"]


# ---------------------------------------------------------------------------------------------
# 合作意向 on an achievement


def test_verified_enterprise_member_inquires(achievement, enterprise):
    inquiry = services.start_inquiry(enterprise, achievement, "想了解许可费用")
    db.session.commit()
    assert inquiry.kind == InquiryKind.ACHIEVEMENT_INQUIRY
    assert (inquiry.from_org_id, inquiry.to_org_id) == (enterprise.organization_id, achievement.org_id)
    assert inquiry.subject == achievement.title
    assert [m.body for m in inquiry.messages] == ["想了解许可费用"]
    entry = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "inquire"))
    assert entry.actor_id == enterprise.id and entry.object_id == inquiry.id


def test_unverified_enterprise_is_refused(achievement, make_user, make_org):
    user = make_user("enterprise", org=make_org(org_type="enterprise", verified=False))
    with pytest.raises(PermissionDenied, match="尚未通过平台认证"):
        services.start_inquiry(user, achievement, "你好")


@pytest.mark.parametrize("role", ["university", "broker", "official", "admin"])
def test_other_roles_cannot_inquire(achievement, make_user, role):
    user = make_user(role, org=None) if role == "admin" else make_user(role)
    with pytest.raises(PermissionDenied, match="只有企业成员"):
        services.start_inquiry(user, achievement, "你好")


def test_enterprise_without_approved_membership_is_refused(achievement, make_user):
    from marketplace.core.taxonomy import MembershipStatus

    user = make_user("enterprise", membership=MembershipStatus.PENDING)
    with pytest.raises(PermissionDenied, match="请先加入企业"):
        services.start_inquiry(user, achievement, "你好")


def test_no_inquiry_on_own_organisations_listing(make_user, make_achievement):
    user = make_user("enterprise")
    own = make_achievement(owner=user)
    with pytest.raises(PermissionDenied, match="本机构"):
        services.start_inquiry(user, own, "你好")


@pytest.mark.parametrize("status", ["draft", "pending", "withdrawn", "closed"])
def test_no_inquiry_on_unpublished_achievement(make_achievement, enterprise, status):
    listing = make_achievement(status=status)
    with pytest.raises(Conflict, match="未在公开发布状态"):
        services.start_inquiry(enterprise, listing, "你好")


def test_inquiry_with_empty_message_is_refused(achievement, enterprise):
    with pytest.raises(ValidationFailed):
        services.start_inquiry(enterprise, achievement, "  ")


# ---------------------------------------------------------------------------------------------
# 成果推荐 on a demand


@pytest.fixture
def demand(make_demand):
    return make_demand()


def test_university_member_offers_own_published_achievement(demand, make_user, make_achievement):
    user = make_user("university")
    offered = make_achievement(owner=user)
    inquiry = services.start_offer(user, demand, str(offered.id), "该成果可解决恒流问题")
    db.session.commit()
    assert inquiry.kind == InquiryKind.DEMAND_OFFER
    assert (inquiry.achievement_id, inquiry.demand_id) == (offered.id, demand.id)
    assert (inquiry.from_org_id, inquiry.to_org_id) == (user.organization_id, demand.org_id)
    assert inquiry.subject == demand.title
    assert db.session.scalar(db.select(AuditLog).where(AuditLog.action == "offer")).object_id == inquiry.id


def test_offer_of_another_organisations_or_unpublished_achievement_is_refused(demand, make_user, make_achievement):
    user = make_user("university")
    foreign = make_achievement()
    draft = make_achievement(owner=user, status="draft", patent_numbers="")
    for achievement_id in (foreign.id, draft.id, "999999", "abc", ""):
        with pytest.raises(ValidationFailed) as exc:
            services.start_offer(user, demand, achievement_id, "你好")
        assert "achievement_id" in exc.value.fields


def test_offer_with_too_long_message_names_both_fields(demand, make_user):
    user = make_user("university")
    with pytest.raises(ValidationFailed) as exc:
        services.start_offer(user, demand, "", "字" * 2001)
    assert set(exc.value.fields) == {"achievement_id", "message"}


@pytest.mark.parametrize("role", ["enterprise", "broker", "official"])
def test_other_roles_cannot_offer(demand, make_user, role):
    with pytest.raises(PermissionDenied, match="只有高校/院所成员"):
        services.start_offer(make_user(role), demand, "1", "你好")


def test_unverified_university_cannot_offer(demand, make_user, make_org):
    user = make_user("university", org=make_org(org_type="institute", verified=False))
    with pytest.raises(PermissionDenied, match="尚未通过平台认证"):
        services.start_offer(user, demand, "1", "你好")


def test_no_offer_on_own_or_unpublished_demand(make_user, make_demand, make_achievement):
    user = make_user("university")
    offered = make_achievement(owner=user)
    with pytest.raises(PermissionDenied, match="本机构"):
        services.start_offer(user, make_demand(owner=user), offered.id, "你好")
    with pytest.raises(Conflict, match="未在公开发布状态"):
        services.start_offer(user, make_demand(status="pending"), offered.id, "你好")


# ---------------------------------------------------------------------------------------------
# Replies, read tracking, unread counts


def test_replies_and_unread_counts(achievement, enterprise, make_user):
    owner = achievement.created_by
    colleague = make_user("university", org=achievement.organization)
    inquiry = services.start_inquiry(enterprise, achievement, "第一条")
    db.session.commit()
    assert services.unread_total(owner) == 1
    assert services.unread_total(colleague) == 1  # unread is per organisation
    assert services.unread_total(enterprise) == 0  # one's own message is never unread

    services.mark_read(inquiry, colleague)
    db.session.commit()
    assert services.unread_total(owner) == 0

    services.reply(owner, inquiry, "欢迎来访")
    services.reply(owner, inquiry, "附上联系人")
    db.session.commit()
    assert services.unread_total(enterprise) == 2
    assert services.unread_total(owner) == 0
    services.reply(enterprise, inquiry, "好的")
    db.session.commit()
    assert services.unread_total(enterprise) == 0  # replying means the thread was read
    assert services.unread_total(owner) == 1
    assert [m.body for m in inquiry.messages] == ["第一条", "欢迎来访", "附上联系人", "好的"]


def test_only_the_two_organisations_reply(achievement, enterprise, make_user):
    inquiry = services.start_inquiry(enterprise, achievement, "你好")
    db.session.commit()
    admin = make_user("admin", org=None)
    for outsider in (make_user("university"), make_user("enterprise"), admin):
        with pytest.raises(PermissionDenied):
            services.reply(outsider, inquiry, "插一句")
    assert policy.can_view_inquiry(admin, inquiry) and not policy.is_inquiry_party(admin, inquiry)
    services.mark_read(inquiry, admin)  # admins leave no trace
    assert inquiry.to_last_read_id == 0


def test_received_count_per_listing(achievement, enterprise, make_user, make_demand, make_achievement):
    services.start_inquiry(enterprise, achievement, "一")
    services.start_inquiry(make_user("enterprise"), achievement, "二")
    university = achievement.created_by
    demand = make_demand()
    services.start_offer(university, demand, achievement.id, "推荐")
    db.session.commit()
    assert services.received_count(achievement) == 2  # an offer of it is not an inquiry received
    assert services.received_count(demand) == 1
