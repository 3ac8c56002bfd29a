"""The back office as an admin (and, for the audit log, an official) uses it: who may enter,
reviewing listings, verifying organisations, join requests, users, and the audit log."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from marketplace.accounts import services as accounts
from marketplace.core import audit
from marketplace.core.audit import AuditLog
from marketplace.core.errors import PermissionDenied, ServiceError
from marketplace.core.taxonomy import MembershipStatus
from marketplace.core.timeutil import local_today
from tests.conftest import PASSWORD

ADMIN_PAGES = [
    "/admin/",
    "/admin/reviews",
    "/admin/reviews?kind=demand",
    "/admin/organizations",
    "/admin/organizations?tab=requests",
    "/admin/users",
    "/admin/audit",
]
ADMIN_POSTS = [
    "/admin/reviews/achievement/1",
    "/admin/organizations/1/verify",
    "/admin/members/1/decide",
    "/admin/users/1/toggle",
    "/admin/users/1/reset-password",
]
OTHER_ROLES = ["university", "enterprise", "broker", "official"]


def page_text(resp) -> str:
    return resp.get_data(as_text=True)


def saved(db, *objects) -> None:
    """Forget anything not committed, then reload `objects` as the database holds them: the
    views must have committed their work, not merely flushed it."""
    db.session.rollback()
    for obj in objects:
        db.session.refresh(obj)


@pytest.fixture
def admin(admin_client):
    return admin_client.user


# ---------------------------------------------------------------------------------------------
# Access


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_every_admin_page_opens_for_an_admin(admin_client, url):
    resp = admin_client.get(url)
    assert resp.status_code == 200
    assert 'data-testid="admin-nav"' in page_text(resp)


@pytest.mark.parametrize("role", OTHER_ROLES)
@pytest.mark.parametrize("url", [u for u in ADMIN_PAGES if u != "/admin/audit"])
def test_other_roles_get_a_chinese_403(login_as, make_user, role, url):
    resp = login_as(make_user(role)).get(url)
    assert resp.status_code == 403
    assert "只有平台管理员可以访问此页面" in page_text(resp)


@pytest.mark.parametrize("role", OTHER_ROLES)
@pytest.mark.parametrize("url", ADMIN_POSTS)
def test_other_roles_cannot_post_admin_actions(login_as, make_user, role, url):
    assert login_as(make_user(role)).post(url, data={"decision": "approve", "verified": "1"}).status_code == 403


@pytest.mark.parametrize("url", ADMIN_PAGES + ADMIN_POSTS)
def test_anonymous_visitors_are_sent_to_login(client, url):
    resp = client.post(url) if url in ADMIN_POSTS else client.get(url)
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login")


@pytest.mark.parametrize("role", ["university", "enterprise", "broker"])
def test_audit_log_is_for_admins_and_officials_only(login_as, make_user, official_client, role):
    resp = official_client.get("/admin/audit")
    assert resp.status_code == 200
    assert 'data-testid="admin-nav"' not in page_text(resp)  # officials see no admin menu
    assert login_as(make_user(role)).get("/admin/audit").status_code == 403


def test_posts_need_the_csrf_token(admin_client, make_achievement, csrf_enabled, db):
    listing = make_achievement(status="pending")
    page = page_text(admin_client.get("/admin/reviews"))
    assert 'name="csrf_token"' in page
    resp = admin_client.post(f"/admin/reviews/achievement/{listing.id}", data={"decision": "approve"})
    assert resp.status_code == 400
    saved(db, listing)
    assert listing.status == "pending"


# ---------------------------------------------------------------------------------------------
# Dashboard


def test_dashboard_counts_what_waits_for_the_admin(admin_client, make_achievement, make_demand, make_org, make_user):
    make_achievement(status="pending")
    make_demand(status="pending")
    make_demand(status="pending")
    make_org(name="待认证的研究院", org_type="institute", verified=False)
    make_user("university", org=make_org(), membership=MembershipStatus.PENDING)
    html = page_text(admin_client.get("/admin/"))
    for card, count in (
        ("pending-achievements", 1),
        ("pending-demands", 2),
        ("unverified-orgs", 1),
        ("join-requests", 1),
    ):
        assert re.search(rf'data-testid="card-{card}".*?data-count="{count}"', html, re.S), card
    assert "/admin/reviews?kind=demand" in html
    assert "/admin/organizations?tab=requests" in html


# ---------------------------------------------------------------------------------------------
# Review queue


def test_queue_lists_pending_listings_oldest_first(admin_client, make_achievement, make_demand):
    first = make_achievement(status="pending", title="先提交的成果")
    second = make_achievement(status="pending", title="后提交的成果")
    make_achievement(status="draft", title="还在草稿的成果")
    demand = make_demand(status="pending", title="待审核的需求")
    html = page_text(admin_client.get("/admin/reviews"))
    assert html.index("先提交的成果") < html.index("后提交的成果")
    assert "还在草稿的成果" not in html and "待审核的需求" not in html
    assert f"/achievements/{first.id}" in html and f"/achievements/{second.id}" in html
    demands = page_text(admin_client.get("/admin/reviews?kind=demand"))
    assert "待审核的需求" in demands and f"/demands/{demand.id}" in demands


def test_approving_publishes_and_records_who(admin_client, admin, make_achievement, db):
    listing = make_achievement(status="pending", title="待审核的测量系统")
    resp = admin_client.post(
        f"/admin/reviews/achievement/{listing.id}", data={"decision": "approve"}, follow_redirects=True
    )
    assert resp.status_code == 200
    assert "已通过审核并发布：《待审核的测量系统》" in page_text(resp)
    assert "没有待审核的科技成果" in page_text(resp)
    saved(db, listing)
    assert listing.status == "published" and listing.published_at is not None
    entry = audit.history(listing)[-1]
    assert (entry.action, entry.actor_id, entry.from_state, entry.to_state) == (
        "approve",
        admin.id,
        "pending",
        "published",
    )


def test_rejecting_needs_a_reason(admin_client, make_demand, db):
    listing = make_demand(status="pending")
    resp = admin_client.post(
        f"/admin/reviews/demand/{listing.id}", data={"decision": "reject", "reason": "  "}, follow_redirects=True
    )
    assert "驳回时请填写原因" in page_text(resp)
    saved(db, listing)
    assert listing.status == "pending"
    assert [e.action for e in audit.history(listing)] == ["create", "submit"]


def test_rejecting_with_a_reason_returns_the_listing_to_draft(admin_client, make_demand, db):
    listing = make_demand(status="pending")
    resp = admin_client.post(
        f"/admin/reviews/demand/{listing.id}", data={"decision": "reject", "reason": "请补充预算依据"}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/reviews?kind=demand"
    saved(db, listing)
    assert listing.status == "draft" and listing.review_reason == "请补充预算依据"
    entry = audit.history(listing)[-1]
    assert (entry.action, entry.from_state, entry.to_state, entry.reason) == (
        "reject",
        "pending",
        "draft",
        "请补充预算依据",
    )


def test_a_decision_on_a_listing_no_longer_pending_is_refused(admin_client, make_achievement, db):
    listing = make_achievement(status="published")
    resp = admin_client.post(
        f"/admin/reviews/achievement/{listing.id}", data={"decision": "reject", "reason": "x"}, follow_redirects=True
    )
    assert "“已发布”状态的科技成果不能驳回" in page_text(resp)
    saved(db, listing)
    assert listing.status == "published"
    assert admin_client.post("/admin/reviews/achievement/999999", data={"decision": "approve"}).status_code == 404


def test_after_an_action_the_admin_returns_to_the_same_queue_page(admin_client, make_achievement):
    listing = make_achievement(status="pending")
    back = "/admin/reviews?kind=achievement&page=2"
    resp = admin_client.post(
        f"/admin/reviews/achievement/{listing.id}", data={"decision": "reject", "reason": "补充材料", "next": back}
    )
    assert resp.headers["Location"] == back
    other = make_achievement(status="pending")
    resp = admin_client.post(
        f"/admin/reviews/achievement/{other.id}",
        data={"decision": "reject", "reason": "补充材料", "next": "https://evil.example/"},
    )
    assert resp.headers["Location"] == "/admin/reviews?kind=achievement"


def test_unverified_org_cannot_be_approved_until_verified(admin_client, make_org, make_user, make_achievement, db):
    org = make_org(name="日照海洋技术研究院", org_type="institute")
    listing = make_achievement(owner=make_user("university", org=org), status="pending")
    # The admin withdraws the organisation's verification while its listing waits in the queue.
    resp = admin_client.post(
        f"/admin/organizations/{org.id}/verify", data={"verified": "0", "reason": "营业执照过期"}, follow_redirects=True
    )
    assert "已取消“日照海洋技术研究院”的认证" in page_text(resp)

    queue = page_text(admin_client.get("/admin/reviews"))
    assert "尚未通过平台认证，审核通过将被拒绝" in queue
    resp = admin_client.post(
        f"/admin/reviews/achievement/{listing.id}", data={"decision": "approve"}, follow_redirects=True
    )
    assert "“日照海洋技术研究院”尚未通过平台认证，暂不能发布信息" in page_text(resp)
    saved(db, listing)
    assert listing.status == "pending"

    resp = admin_client.post(f"/admin/organizations/{org.id}/verify", data={"verified": "1"}, follow_redirects=True)
    assert "已认证“日照海洋技术研究院”" in page_text(resp)
    admin_client.post(f"/admin/reviews/achievement/{listing.id}", data={"decision": "approve"})
    saved(db, listing)
    assert listing.status == "published"
    saved(db, org)
    assert [(e.action, e.reason) for e in audit.history(org)][-2:] == [("unverify", "营业执照过期"), ("verify", None)]


# ---------------------------------------------------------------------------------------------
# Organisations


def test_org_list_shows_the_facts_and_filters(admin_client, make_org, make_user):
    verified = make_org(
        name="曲阜师范大学日照校区", org_type="university", uscc="91371100MA3C4B6P29", district="371102"
    )
    make_user("university", org=verified)
    make_user("university", org=verified, membership=MembershipStatus.PENDING)
    make_org(name="山东海洋装备有限公司", org_type="enterprise", verified=False)
    html = page_text(admin_client.get("/admin/organizations"))
    row = re.search(rf'data-org-id="{verified.id}".*?</tr>', html, re.S).group(0)
    for fact in ("曲阜师范大学日照校区", "高校", "91371100MA3C4B6P29", "东港区", ">1<", "已认证", "取消认证"):
        assert fact in row, fact

    unverified = page_text(admin_client.get("/admin/organizations?verified=0"))
    assert "山东海洋装备有限公司" in unverified and "曲阜师范大学日照校区" not in unverified
    by_type = page_text(admin_client.get("/admin/organizations?type=university"))
    assert "曲阜师范大学日照校区" in by_type and "山东海洋装备有限公司" not in by_type
    by_name = page_text(admin_client.get("/admin/organizations?q=海洋装备"))
    assert "山东海洋装备有限公司" in by_name and "曲阜师范大学日照校区" not in by_name
    assert "没有符合条件的机构" in page_text(admin_client.get("/admin/organizations?q=不存在的机构"))


def test_verifying_twice_is_refused_politely(admin_client, make_org):
    org = make_org(verified=True)
    resp = admin_client.post(f"/admin/organizations/{org.id}/verify", data={"verified": "1"}, follow_redirects=True)
    assert "机构已是该认证状态" in page_text(resp)


def test_join_requests_can_be_approved_and_rejected(admin_client, admin, make_org, make_user, db):
    org = make_org(name="日照职业技术学院")
    alice = make_user("university", org=org, name="张申请", membership=MembershipStatus.PENDING)
    bob = make_user("university", org=org, name="李申请", membership=MembershipStatus.PENDING)
    html = page_text(admin_client.get("/admin/organizations?tab=requests"))
    assert "张申请" in html and "李申请" in html and "日照职业技术学院" in html

    resp = admin_client.post(f"/admin/members/{alice.id}/decide", data={"decision": "approve"}, follow_redirects=True)
    assert "已批准 张申请 加入“日照职业技术学院”" in page_text(resp)
    resp = admin_client.post(
        f"/admin/members/{bob.id}/decide", data={"decision": "reject", "reason": "非本单位人员"}, follow_redirects=True
    )
    assert "已拒绝 李申请 加入“日照职业技术学院”的申请" in page_text(resp)
    assert "没有待审批的加入申请" in page_text(resp)
    saved(db, alice, bob)
    assert alice.membership_status == "active" and alice.active_org is not None
    assert bob.membership_status == "rejected"
    entry = audit.history(bob)[-1]
    assert (entry.action, entry.actor_id, entry.reason) == ("join_reject", admin.id, "非本单位人员")

    resp = admin_client.post(f"/admin/members/{bob.id}/decide", data={"decision": "approve"}, follow_redirects=True)
    assert "该申请已处理" in page_text(resp)


# ---------------------------------------------------------------------------------------------
# Users


def test_user_list_searches_and_filters(admin_client, make_user):
    make_user("broker", name="王经纪", email="wang.broker@example.cn")
    make_user("enterprise", name="赵企业", email="zhao@firm.cn")
    html = page_text(admin_client.get("/admin/users?q=wang"))
    assert "王经纪" in html and "赵企业" not in html
    html = page_text(admin_client.get("/admin/users?q=赵"))
    assert "赵企业" in html and "王经纪" not in html
    html = page_text(admin_client.get("/admin/users?role=broker"))
    assert "王经纪" in html and "赵企业" not in html
    assert "没有符合条件的用户" in page_text(admin_client.get("/admin/users?disabled=1"))


def test_disabling_ends_the_session_and_enabling_restores_login(admin_client, login_as, make_user, db):
    official = make_user("official", name="周科长")
    their_client = login_as(official)
    assert their_client.get("/admin/audit").status_code == 200

    resp = admin_client.post(
        f"/admin/users/{official.id}/toggle", data={"disabled": "1", "reason": "调离岗位"}, follow_redirects=True
    )
    assert "已停用 周科长" in page_text(resp)
    saved(db, official)
    assert official.is_disabled
    for url in ("/admin/audit", "/me"):  # the session they had no longer works anywhere
        resp = their_client.get(url)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login"), url
    with pytest.raises(PermissionDenied, match="该账号已被停用"):
        accounts.authenticate(official.email, PASSWORD)
    assert "已停用" in page_text(admin_client.get("/admin/users?disabled=1"))

    resp = admin_client.post(f"/admin/users/{official.id}/toggle", data={"disabled": "0"}, follow_redirects=True)
    assert "已启用 周科长" in page_text(resp)
    saved(db)
    assert accounts.authenticate(official.email, PASSWORD).id == official.id
    assert login_as(accounts.get_user(official.id)).get("/admin/audit").status_code == 200
    assert [e.action for e in audit.history(official)][-2:] == ["disable", "enable"]


def test_an_admin_cannot_disable_themselves(admin_client, admin, db):
    resp = admin_client.post(f"/admin/users/{admin.id}/toggle", data={"disabled": "1"}, follow_redirects=True)
    assert resp.status_code == 200
    assert "不能停用自己的账号" in page_text(resp)
    saved(db, admin)
    assert not admin.is_disabled


def test_reset_password_shows_a_working_password_once(admin_client, make_user, db):
    user = make_user("university", name="孙老师")
    resp = admin_client.post(f"/admin/users/{user.id}/reset-password", follow_redirects=True)
    html = page_text(resp)
    match = re.search(r"新密码：([A-Za-z0-9_\-]+)", html)
    assert match, html
    new_password = match.group(1)
    saved(db)
    assert accounts.authenticate(user.email, new_password).id == user.id
    with pytest.raises(ServiceError, match="邮箱或密码错误"):
        accounts.authenticate(user.email, PASSWORD)
    assert new_password not in page_text(admin_client.get("/admin/users"))  # shown only once


# ---------------------------------------------------------------------------------------------
# Audit log


def test_audit_log_shows_chinese_labels_and_narrows_by_filters(admin_client, admin, make_user, make_achievement, db):
    owner = make_user("university", email="owner@univ.cn")
    approved = make_achievement(owner=owner, status="pending", title="被通过的成果", patent_numbers="")
    rejected = make_achievement(owner=owner, status="pending", title="被驳回的成果", patent_numbers="")
    admin_client.post(f"/admin/reviews/achievement/{approved.id}", data={"decision": "approve"})
    admin_client.post(f"/admin/reviews/achievement/{rejected.id}", data={"decision": "reject", "reason": "材料不全"})

    def ids(html: str) -> set[int]:
        return {int(i) for i in re.findall(r'data-audit-id="(\d+)"', html)}

    everything = page_text(admin_client.get("/admin/audit"))
    assert "审核通过" in everything and "待审核" in everything and "已发布" in everything and "材料不全" in everything
    assert admin.name in everything

    html = page_text(admin_client.get("/admin/audit?action=reject"))
    rows = db.session.scalars(db.select(AuditLog).where(AuditLog.action == "reject")).all()
    assert ids(html) == {row.id for row in rows}
    assert "被驳回的成果" in html and "草稿" in html and "被通过的成果" not in html

    by_owner = ids(page_text(admin_client.get("/admin/audit?actor=owner@univ")))
    assert by_owner and by_owner == {
        row.id for row in db.session.scalars(db.select(AuditLog).where(AuditLog.actor_id == owner.id))
    }
    orgs_only = page_text(admin_client.get("/admin/audit?object_type=organization"))
    assert "被通过的成果" not in orgs_only and ids(orgs_only)

    today = local_today()
    assert ids(page_text(admin_client.get(f"/admin/audit?date_from={today}&date_to={today}"))) == ids(everything)
    tomorrow, yesterday = today + timedelta(days=1), today - timedelta(days=1)
    assert "没有符合条件的操作记录" in page_text(admin_client.get(f"/admin/audit?date_from={tomorrow}"))
    assert "没有符合条件的操作记录" in page_text(admin_client.get(f"/admin/audit?date_to={yesterday}"))

    only_one = page_text(admin_client.get(f"/admin/audit?object_type=achievement&object_id={rejected.id}"))
    assert ids(only_one) == {e.id for e in audit.history(rejected)}


def test_audit_log_explains_a_bad_date_and_pages_newest_first(official_client, db):
    for n in range(25):
        audit.record(None, "expire", object_type="demand", reason=f"第{n}条")
    db.session.commit()
    resp = official_client.get("/admin/audit?date_from=2025-13-40")
    assert resp.status_code == 200
    assert "日期“2025-13-40”格式不正确" in page_text(resp)
    first = page_text(official_client.get("/admin/audit?action=expire"))
    assert first.count("data-audit-id=") == 20 and "第24条" in first and "第0条" not in first
    assert "第 1 / 2 页" in first and "/admin/audit?action=expire&amp;page=2" in first
    second = page_text(official_client.get("/admin/audit?action=expire&page=2"))
    assert second.count("data-audit-id=") == 5 and "第0条" in second


def test_a_page_past_the_end_leads_back_to_the_last_page(admin_client, make_achievement):
    make_achievement(status="pending")
    resp = admin_client.get("/admin/reviews?kind=achievement&page=3")
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/reviews?kind=achievement&page=1"
    assert admin_client.get("/admin/audit?page=99").status_code == 302
