"""Accounts on the web: log-in, log-out, registration, the dashboard, password, API tokens and
organisation pages, asserted the way a user notices them."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from marketplace import create_app
from marketplace.accounts import services as accounts
from marketplace.accounts.models import ApiToken, Organization, User
from marketplace.core.taxonomy import MembershipStatus
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from tests.conftest import PASSWORD

NEW_PASSWORD = "N3w-secret-pass"


def field_error(html: str, field: str) -> str | None:
    """The error text shown beside a form field, or None."""
    match = re.search(rf'data-field-error="{field}">([^<]*)<', html)
    return match.group(1) if match else None


def text(response) -> str:
    return response.get_data(as_text=True)


def post_login(client, email, password=PASSWORD, **extra):
    return client.post("/login", data={"email": email, "password": password, **extra})


def registration(**overrides) -> dict[str, str]:
    data = {
        "role": "university",
        "name": "张老师",
        "email": "zhang@rzu.edu.cn",
        "phone": "13800138000",
        "password": "Rizhao2025x",
        "password_confirm": "Rizhao2025x",
        "org_mode": "new",
        "org_name": "日照科技大学",
        "org_type": "university",
        "org_uscc": "",
        "org_district": "371102",
        "org_address": "日照市东港区学苑路1号",
        "org_contact_name": "科技处",
        "org_contact_phone": "0633-8888888",
        "org_id": "",
        "broker_level": "",
        "broker_cert_no": "",
    }
    data.update(overrides)
    return data


def is_logged_in(client) -> bool:
    return client.get("/me").status_code == 200


# ---------------------------------------------------------------------------------------------
# Log-in and log-out


def test_login_page_shows_the_form(client):
    response = client.get("/login")
    assert response.status_code == 200
    body = text(response)
    assert 'name="email"' in body and 'name="password"' in body and "记住我" in body


def test_login_with_right_password_goes_to_the_dashboard(client, make_user):
    user = make_user("university", email="wang@example.cn", name="王老师")
    response = post_login(client, "Wang@Example.cn")
    assert response.status_code == 302
    assert response.headers["Location"] == "/me"
    page = client.get("/me")
    assert page.status_code == 200
    assert "欢迎回来，王老师" in text(page)
    assert "我的工作台" in text(page)
    _db.session.refresh(user)
    assert user.last_login_at is not None


@pytest.mark.parametrize("email", ["wang@example.cn", "nobody@example.cn"])
def test_wrong_password_or_unknown_email_shows_the_same_error_beside_the_field(client, make_user, email):
    make_user("university", email="wang@example.cn")
    response = post_login(client, email, "Wrong-passw0rd")
    assert response.status_code == 422
    assert field_error(text(response), "password") == "邮箱或密码错误"
    assert 'value="' + email + '"' in text(response)  # the e-mail is kept
    assert not is_logged_in(client)


def test_empty_login_form_names_the_missing_fields(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 422
    assert field_error(text(response), "email") == "请填写邮箱"
    assert field_error(text(response), "password") == "请填写密码"


def test_disabled_account_is_told_so(client, make_user):
    admin = make_user("admin", org=None)
    user = make_user("enterprise", email="gone@example.cn")
    accounts.set_disabled(user, True, admin)
    _db.session.commit()
    response = post_login(client, "gone@example.cn")
    assert response.status_code == 403
    assert "该账号已被停用" in text(response)
    assert not is_logged_in(client)


def test_remember_me_sets_a_remember_cookie(client, make_user, app):
    make_user("university", email="keep@example.cn")
    cookie_name = app.config.get("REMEMBER_COOKIE_NAME", "remember_token")
    response = post_login(client, "keep@example.cn", remember="1")
    assert response.status_code == 302
    assert any(h.startswith(f"{cookie_name}=") for h in response.headers.getlist("Set-Cookie"))

    other = app.test_client()
    response = post_login(other, "keep@example.cn")
    assert not any(h.startswith(f"{cookie_name}=") for h in response.headers.getlist("Set-Cookie"))


def test_safe_next_is_followed(client, make_user):
    make_user("university", email="next@example.cn")
    response = post_login(client, "next@example.cn", next="/achievements?field=01")
    assert response.headers["Location"] == "/achievements?field=01"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example.com/",
        "/\\evil.example.com",
        "https://evil.example.com/",
        "/\t/evil.example.com",
        "javascript:alert(1)",
        "evil.example.com",
    ],
)
def test_unsafe_next_goes_to_the_dashboard(client, make_user, target):
    make_user("university", email="next@example.cn")
    response = post_login(client, "next@example.cn", next=target)
    assert response.headers["Location"] == "/me"


def test_next_from_the_query_string_survives_the_form(client):
    body = text(client.get("/login?next=/my/listings"))
    assert 'name="next" value="/my/listings"' in body
    assert "evil" not in text(client.get("/login?next=//evil.example.com"))


def test_logged_in_user_visiting_login_goes_to_the_dashboard(university_client):
    response = university_client.get("/login")
    assert response.status_code == 302 and response.headers["Location"] == "/me"


def test_logout_by_get_is_refused(university_client):
    assert university_client.get("/logout").status_code == 405
    assert is_logged_in(university_client)


def test_logout_by_post_ends_the_session(university_client):
    response = university_client.post("/logout", follow_redirects=True)
    assert response.status_code == 200
    assert "已退出登录" in text(response)
    response = university_client.get("/me")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_anonymous_dashboard_sends_to_login_with_next(client):
    response = client.get("/me")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")


# ---------------------------------------------------------------------------------------------
# Registration


def test_register_page_offers_roles_and_organisation_modes(client, make_org):
    make_org(name="日照大学")
    body = text(client.get("/register"))
    for label in (
        "高校/院所成员",
        "企业成员",
        "技术经纪人",
        'value="new"',
        'value="existing"',
        'value="none"',
        'data-show-when="role=broker"',
        'data-show-when="org_mode=new"',
        "日照大学",
    ):
        assert label in body
    assert "平台管理员</option>" not in body  # admins and officials are not self-service


def test_register_with_a_new_organisation_makes_the_user_its_manager(client):
    response = client.post("/register", data=registration())
    assert response.status_code == 302 and response.headers["Location"] == "/me"
    user = accounts.find_user("zhang@rzu.edu.cn")
    assert user.is_org_manager and user.membership_status == MembershipStatus.ACTIVE
    assert user.organization.name == "日照科技大学" and not user.organization.verified
    page = text(client.get("/me"))  # logged in straight away
    assert "等待平台认证后可发布" in page
    assert "机构尚未认证，可以起草但暂不能发布" in page


def test_register_errors_appear_beside_the_fields_and_nothing_is_saved(client, make_user):
    make_user("university", email="taken@example.cn")
    response = client.post(
        "/register",
        data=registration(
            email="taken@example.cn", password="short1", password_confirm="short1", org_uscc="91371100MA3C000000"
        ),
    )
    assert response.status_code == 422
    body = text(response)
    assert field_error(body, "email") == "该邮箱已注册，请直接登录"
    assert field_error(body, "password") == "密码至少需要8位"
    assert "校验位" in field_error(body, "org_uscc")
    assert 'value="日照科技大学"' in body  # what was typed is kept
    assert "short1" not in body  # but never the password
    assert accounts.find_org("日照科技大学") is None


@pytest.mark.parametrize(
    ("password", "confirm", "field", "message"),
    [
        ("onlyletters", "onlyletters", "password", "密码需同时包含字母和数字"),
        ("12345678", "12345678", "password", "密码需同时包含字母和数字"),
        ("Rizhao2025x", "Rizhao2025y", "password_confirm", "两次输入的密码不一致"),
    ],
)
def test_weak_or_mismatched_password_is_refused(client, password, confirm, field, message):
    response = client.post("/register", data=registration(password=password, password_confirm=confirm))
    assert response.status_code == 422
    assert field_error(text(response), field) == message
    assert accounts.find_user("zhang@rzu.edu.cn") is None


def test_role_and_organisation_type_must_fit(client):
    response = client.post("/register", data=registration(role="enterprise", org_type="university"))
    assert response.status_code == 422
    assert "不能加入高校类机构" in field_error(text(response), "role")
    assert accounts.find_org("日照科技大学") is None  # the half-made organisation is rolled back


def test_university_member_cannot_register_without_an_organisation(client):
    response = client.post("/register", data=registration(org_mode="none"))
    assert response.status_code == 422
    assert "需要选择或新建所属机构" in field_error(text(response), "organization")


def test_admin_role_cannot_be_self_registered(client):
    response = client.post("/register", data=registration(role="admin"))
    assert response.status_code == 422
    assert "不能自行注册" in field_error(text(response), "role")


def test_broker_registration_requires_the_certificate(client):
    response = client.post("/register", data=registration(role="broker", org_mode="none", email="jjr@example.cn"))
    assert response.status_code == 422
    assert field_error(text(response), "broker_level") == "请选择技术经纪人证书等级"
    assert field_error(text(response), "broker_cert_no") == "请填写技术经纪人证书编号"

    response = client.post(
        "/register",
        data=registration(
            role="broker",
            org_mode="none",
            email="jjr@example.cn",
            broker_level="intermediate",
            broker_cert_no="RZJJ-2024-0158",
        ),
    )
    assert response.status_code == 302
    user = accounts.find_user("jjr@example.cn")
    assert user.organization is None and user.broker_cert_no == "RZJJ-2024-0158"
    page = text(client.get("/me"))
    assert "中级技术经纪人" in page and "RZJJ-2024-0158" in page


def test_joining_an_existing_organisation_waits_for_its_manager(client, make_user, login_as):
    manager = make_user("university", manager=True, email="boss@example.cn")
    org = manager.organization
    response = client.post(
        "/register",
        data=registration(org_mode="existing", org_id=str(org.id), email="newbie@example.cn", name="李同学"),
        follow_redirects=True,
    )
    assert response.status_code == 200
    body = text(response)
    assert "等待机构管理员审批" in body
    assert 'data-testid="membership-pending"' in body
    newbie = accounts.find_user("newbie@example.cn")
    assert newbie.membership_status == MembershipStatus.PENDING and newbie.active_org is None

    # The manager sees the request on the dashboard and on the organisation page ...
    boss = login_as(manager)
    assert "有 <strong>1</strong> 人申请加入本机构" in text(boss.get("/me"))
    assert "李同学" in text(boss.get("/me/organization"))

    # ... an ordinary member of the same organisation cannot decide it ...
    colleague = login_as(make_user("university", org=org))
    response = colleague.post(f"/me/organization/members/{newbie.id}/decide", data={"decision": "approve"})
    assert response.status_code == 403
    _db.session.refresh(newbie)
    assert newbie.membership_status == MembershipStatus.PENDING

    # ... the manager approves it.
    response = boss.post(
        f"/me/organization/members/{newbie.id}/decide", data={"decision": "approve"}, follow_redirects=True
    )
    assert "已批准 李同学 加入" in text(response)
    _db.session.refresh(newbie)
    assert newbie.membership_status == MembershipStatus.ACTIVE
    assert newbie.active_org.id == org.id

    # Deciding twice is a conflict, not a silent success.
    assert boss.post(f"/me/organization/members/{newbie.id}/decide", data={"decision": "reject"}).status_code == 409


def test_manager_of_another_organisation_cannot_decide(make_user, login_as):
    applicant = make_user("university", membership=MembershipStatus.PENDING)
    stranger = login_as(make_user("university", manager=True))
    response = stranger.post(f"/me/organization/members/{applicant.id}/decide", data={"decision": "approve"})
    assert response.status_code == 403


def test_manager_rejects_with_a_reason_and_admin_may_decide(make_user, login_as):
    manager = make_user("enterprise", manager=True)
    first = make_user("enterprise", org=manager.organization, membership=MembershipStatus.PENDING, name="赵一")
    second = make_user("enterprise", org=manager.organization, membership=MembershipStatus.PENDING, name="钱二")
    response = login_as(manager).post(
        f"/me/organization/members/{first.id}/decide",
        data={"decision": "reject", "reason": "非本单位员工"},
        follow_redirects=True,
    )
    assert "已拒绝 赵一 的加入申请" in text(response)
    admin = login_as(make_user("admin", org=None))
    response = admin.post(f"/me/organization/members/{second.id}/decide", data={"decision": "approve"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/me/organization?org_id={manager.organization_id}"
    _db.session.refresh(first)
    _db.session.refresh(second)
    assert first.membership_status == MembershipStatus.REJECTED
    assert second.membership_status == MembershipStatus.ACTIVE


def test_decide_needs_a_decision_and_a_known_user(make_user, login_as):
    manager = make_user("university", manager=True)
    applicant = make_user("university", org=manager.organization, membership=MembershipStatus.PENDING)
    client = login_as(manager)
    assert client.post(f"/me/organization/members/{applicant.id}/decide", data={"decision": "maybe"}).status_code == 400
    assert client.post("/me/organization/members/999999/decide", data={"decision": "approve"}).status_code == 404


def test_logged_in_user_visiting_register_goes_to_the_dashboard(enterprise_client):
    response = enterprise_client.get("/register")
    assert response.status_code == 302 and response.headers["Location"] == "/me"


# ---------------------------------------------------------------------------------------------
# Dashboard per role


def test_member_dashboard_counts_the_organisations_listings(make_user, make_achievement, make_demand, login_as):
    user = make_user("university")
    make_achievement(owner=user, status="published")
    make_achievement(owner=user, status="published", title="第二项成果", patent_numbers="")
    make_achievement(owner=user, status="draft", patent_numbers="")
    make_demand(owner=user, status="pending")
    body = text(login_as(user).get("/me"))
    assert (
        'data-count="achievement-published"><a href="/my/listings?kind=achievement&amp;status=published">2</a>' in body
    )
    assert 'data-count="achievement-draft"><a' in body
    assert 'data-count="demand-pending"><a' in body
    for url in ("/achievements/new", "/demands/new", "/import/", "/my/listings"):
        assert f'href="{url}' in body
    assert "机构尚未认证" not in body  # the factory's organisation is verified


def test_member_of_an_unverified_organisation_is_warned(make_org, make_user, login_as):
    user = make_user("enterprise", org=make_org(org_type="enterprise", verified=False))
    body = text(login_as(user).get("/me"))
    assert "机构尚未认证，可以起草但暂不能发布" in body
    assert "本机构还没有发布任何信息" in body


def test_broker_admin_and_official_dashboards(broker_client, admin_client, official_client):
    assert "JJR-2025-0001" in text(broker_client.get("/me"))
    admin_page = text(admin_client.get("/me"))
    for url in ("/admin/reviews", "/admin/organizations", "/admin/users"):
        assert f'href="{url}"' in admin_page
    assert 'href="/admin/audit"' in text(official_client.get("/me"))


# ---------------------------------------------------------------------------------------------
# Password


def test_password_change_keeps_this_session_and_retires_the_old_password(app, make_user):
    make_user("university", email="pw@example.cn")
    client = app.test_client()
    post_login(client, "pw@example.cn", remember="1")

    response = client.post(
        "/me/password", data={"old_password": "wrong-Passw0rd", "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert response.status_code == 422
    assert field_error(text(response), "old_password") == "原密码不正确"

    response = client.post("/me/password", data={"old_password": PASSWORD, "new_password": "abc", "confirm": "abc"})
    assert field_error(text(response), "new_password") == "密码至少需要8位"

    response = client.post(
        "/me/password",
        data={"old_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
        follow_redirects=True,
    )
    assert response.status_code == 200 and "密码已修改" in text(response)
    assert is_logged_in(client)  # not thrown out

    fresh = app.test_client()
    assert post_login(fresh, "pw@example.cn", PASSWORD).status_code == 422
    assert post_login(fresh, "pw@example.cn", NEW_PASSWORD).status_code == 302


def test_password_change_ends_other_sessions(make_user, login_as):
    user = make_user("university")
    other_device = login_as(user)
    this_device = login_as(user)
    this_device.post(
        "/me/password", data={"old_password": PASSWORD, "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert is_logged_in(this_device)
    assert not is_logged_in(other_device)


# ---------------------------------------------------------------------------------------------
# API tokens


def test_token_is_shown_once_and_revocation_stops_it(make_user, login_as):
    user = make_user("enterprise")
    client = login_as(user)
    assert "还没有创建过令牌" in text(client.get("/me/tokens"))

    response = client.post("/me/tokens", data={"name": "ERP 同步"})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    plain = re.search(r'id="new-token-value"[^>]*value="(kjtb_[^"]+)"', text(response)).group(1)
    assert accounts.user_for_token(plain).id == user.id

    listing = text(client.get("/me/tokens"))
    assert "ERP 同步" in listing and plain[:12] in listing
    assert plain not in listing  # never shown again

    token = _db.session.scalar(select(ApiToken).where(ApiToken.user_id == user.id))
    assert token.token_hash != plain
    response = client.post(f"/me/tokens/{token.id}/revoke", follow_redirects=True)
    assert "已吊销" in text(response)
    _db.session.expire_all()
    assert accounts.user_for_token(plain) is None


def test_tokens_of_others_cannot_be_revoked(make_user, login_as):
    owner = make_user("university")
    accounts.create_token(owner, "mine")
    _db.session.commit()
    token = _db.session.scalar(select(ApiToken).where(ApiToken.user_id == owner.id))
    intruder = login_as(make_user("enterprise"))
    assert intruder.post(f"/me/tokens/{token.id}/revoke").status_code == 403
    assert intruder.post("/me/tokens/999999/revoke").status_code == 404
    _db.session.refresh(token)
    assert token.revoked_at is None


# ---------------------------------------------------------------------------------------------
# My organisation


def test_manager_edits_the_organisation(make_org, make_user, login_as):
    org = make_org(org_type="university", verified=False)
    client = login_as(make_user("university", org=org, manager=True))
    assert 'data-testid="org-form"' in text(client.get("/me/organization"))

    response = client.post(
        "/me/organization",
        data={"name": org.name, "org_type": "university", "uscc": "123", "contact_phone": "0633-1234567"},
    )
    assert response.status_code == 422
    assert "18位" in field_error(text(response), "uscc")

    response = client.post(
        "/me/organization",
        data={
            "name": org.name,
            "org_type": "university",
            "uscc": "91330100716105852F",
            "contact_phone": "0633-1234567",
            "description": "海洋科学见长",
        },
        follow_redirects=True,
    )
    assert "机构信息已保存" in text(response)
    _db.session.refresh(org)
    assert org.uscc == "91330100716105852F" and org.description == "海洋科学见长"


def test_verified_organisation_identity_is_locked_for_its_manager(make_user, login_as):
    manager = make_user("university", manager=True)
    org = manager.organization
    body = text(login_as(manager).get("/me/organization"))
    assert "名称、类型和统一社会信用代码需由平台管理员修改" in body
    response = login_as(manager).post("/me/organization", data={"name": "改个名字"})
    assert response.status_code == 403
    _db.session.refresh(org)
    assert org.name != "改个名字"


def test_non_manager_sees_read_only_information(university_client):
    body = text(university_client.get("/me/organization"))
    assert 'data-testid="org-readonly"' in body and 'data-testid="org-form"' not in body
    assert university_client.post("/me/organization", data={"description": "x"}).status_code == 403


def test_user_without_an_organisation_gets_an_empty_state(make_user, login_as):
    broker = make_user("broker", org=None)
    body = text(login_as(broker).get("/me/organization"))
    assert 'data-testid="empty-state"' in body and "尚未加入任何机构" in body


# ---------------------------------------------------------------------------------------------
# Public organisation pages


def test_public_organisation_page_lists_only_published_listings(client, make_user, make_achievement, make_demand):
    user = make_user("university")
    org = user.organization
    org.description = "山东省属高校"
    _db.session.commit()
    published = make_achievement(owner=user, status="published", title="深远海养殖网箱")
    make_achievement(owner=user, status="draft", title="尚未公开的草稿", patent_numbers="")
    demand = make_demand(owner=user, status="published", title="海水淡化膜需求")

    body = text(client.get(f"/orgs/{org.id}"))
    assert org.name in body and "高校" in body and "已认证" in body and "山东省属高校" in body
    assert "深远海养殖网箱" in body and f'href="/achievements/{published.id}"' in body
    assert "尚未公开的草稿" not in body
    demands = text(client.get(f"/orgs/{org.id}?tab=demands"))
    assert "海水淡化膜需求" in demands and f'href="/demands/{demand.id}"' in demands


def test_unknown_organisation_is_a_chinese_404(client):
    response = client.get("/orgs/999999")
    assert response.status_code == 404
    assert "机构不存在" in text(response)


def test_directory_lists_verified_organisations_with_a_type_filter(client, make_org):
    make_org(name="日照海洋大学", org_type="university")
    make_org(name="岚山钢铁公司", org_type="enterprise")
    make_org(name="未认证研究院", org_type="institute", verified=False)
    body = text(client.get("/orgs"))
    assert "日照海洋大学" in body and "岚山钢铁公司" in body and "未认证研究院" not in body
    body = text(client.get("/orgs?type=enterprise"))
    assert "岚山钢铁公司" in body and "日照海洋大学" not in body
    assert "没有符合条件的机构" in text(client.get("/orgs?q=不存在的名字"))


# ---------------------------------------------------------------------------------------------
# Protection: rate limits and CSRF


def test_too_many_failed_logins_for_one_account_get_429(app, make_user, tmp_path):
    make_user("university", email="target@example.cn")
    make_user("university", email="bystander@example.cn")
    was_enabled = limiter.enabled
    limited = create_app(
        "testing",
        RATELIMIT_ENABLED=True,
        LOGIN_LIMIT_PER_ACCOUNT="3 per minute",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        WTF_CSRF_ENABLED=False,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        SEARCH_INDEX_DIR=str(tmp_path / "index"),
    )
    try:
        client = limited.test_client()
        for _ in range(3):
            assert post_login(client, "target@example.cn", "Wrong-passw0rd").status_code == 422
        response = post_login(client, "TARGET@example.cn", PASSWORD)  # even the right password waits
        assert response.status_code == 429
        assert "操作过于频繁" in text(response)
        # The limit is per account: another account from the same address still logs in.
        assert post_login(client, "bystander@example.cn").status_code == 302
    finally:
        limiter.enabled = was_enabled  # the limiter instance is shared with the session's app
        with limited.app_context():
            _db.session.remove()
            _db.engine.dispose()


def test_login_post_without_csrf_token_is_refused(client, make_user, csrf_enabled):
    make_user("university", email="csrf@example.cn")
    response = post_login(client, "csrf@example.cn")
    assert response.status_code == 400
    assert "CSRF" in text(response)
    assert not is_logged_in(client)


def test_login_form_carries_a_working_csrf_token(client, make_user, csrf_enabled):
    make_user("university", email="csrf@example.cn")
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/login"))).group(1)
    assert post_login(client, "csrf@example.cn", csrf_token=token).status_code == 302


def test_every_account_form_posts_a_csrf_token(make_user, login_as):
    manager = make_user("university", manager=True)
    make_user("university", org=manager.organization, membership=MembershipStatus.PENDING)
    client = login_as(manager)
    client.post("/me/tokens", data={"name": "t"})
    for url in ("/me/password", "/me/tokens", "/me/organization"):
        body = text(client.get(url))
        forms = re.findall(r'<form method="post".*?</form>', body, flags=re.S)
        assert forms, url
        assert all('name="csrf_token"' in form for form in forms), url


def test_models_are_untouched_by_a_failed_registration(client):
    before = (
        _db.session.scalar(select(_db.func.count(User.id))),
        _db.session.scalar(select(_db.func.count(Organization.id))),
    )
    client.post("/register", data=registration(email="not-an-email"))
    after = (
        _db.session.scalar(select(_db.func.count(User.id))),
        _db.session.scalar(select(_db.func.count(Organization.id))),
    )
    assert before == after
