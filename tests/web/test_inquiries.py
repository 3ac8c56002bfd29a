"""First contact through the pages: the forms on listing pages, the inbox, threads, replies,
unread badges, refusals, CSRF and the per-user rate limit."""

from __future__ import annotations

import re

import pytest

from marketplace import create_app
from marketplace.extensions import db as _db
from marketplace.extensions import limiter
from marketplace.inquiries.models import Inquiry


def text(response) -> str:
    return response.get_data(as_text=True)


def nav_unread(client) -> int:
    match = re.search(r'data-testid="nav-unread">(\d+)<', text(client.get("/inbox")))
    return int(match.group(1)) if match else 0


@pytest.fixture
def achievement(make_achievement):
    return make_achievement()


@pytest.fixture
def enterprise(make_user):
    return make_user("enterprise")


def test_enterprise_sends_inquiry_and_owner_replies(login_as, achievement, enterprise):
    asker = login_as(enterprise)
    page = text(asker.get(f"/achievements/{achievement.id}"))
    assert "发送合作意向" in page and 'data-testid="inquiry-form"' in page

    response = asker.post(f"/achievements/{achievement.id}/inquiries", data={"message": "想了解独占许可费用"})
    inquiry = _db.session.scalar(_db.select(Inquiry))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/inbox/{inquiry.id}")

    owner = login_as(achievement.created_by)
    assert nav_unread(owner) == 1
    inbox = text(owner.get("/inbox"))
    assert enterprise.organization.name in inbox and achievement.title in inbox
    assert 'data-unread="1"' in inbox and "fw-bold" in inbox
    detail = text(owner.get(f"/achievements/{achievement.id}"))
    assert re.search(r'data-testid="inquiry-count">共收到 <strong>1</strong>', detail)
    assert "/inbox" in detail

    thread = text(owner.get(f"/inbox/{inquiry.id}"))
    assert "想了解独占许可费用" in thread and 'data-testid="reply-form"' in thread
    assert nav_unread(owner) == 0  # opening the thread marked it read
    assert "data-unread" not in text(owner.get("/inbox"))

    response = owner.post(f"/inbox/{inquiry.id}/reply", data={"message": "欢迎来访洽谈"})
    assert response.status_code == 302
    assert nav_unread(asker) == 1
    assert "欢迎来访洽谈" in text(asker.get(f"/inbox/{inquiry.id}"))
    assert nav_unread(asker) == 0


def test_university_offers_achievement_to_demand(login_as, make_user, make_achievement, make_demand):
    demand = make_demand()
    member = make_user("university")
    offered = make_achievement(owner=member)
    client = login_as(member)
    page = text(client.get(f"/demands/{demand.id}"))
    assert "推荐我方成果" in page and f'<option value="{offered.id}">{offered.title}</option>' in page

    response = client.post(
        f"/demands/{demand.id}/offers", data={"achievement_id": str(offered.id), "message": "可满足恒流需求"}
    )
    assert response.status_code == 302
    inquiry = _db.session.scalar(_db.select(Inquiry))
    assert (inquiry.demand_id, inquiry.achievement_id) == (demand.id, offered.id)

    demander = login_as(demand.created_by)
    assert nav_unread(demander) == 1
    assert "成果推荐" in text(demander.get("/inbox"))
    thread = text(demander.get(f"/inbox/{inquiry.id}"))
    assert offered.title in thread and "可满足恒流需求" in thread


def test_forms_shown_only_to_eligible_members(login_as, make_user, make_org, achievement, make_demand):
    demand = make_demand()
    unverified = make_user("enterprise", org=make_org(org_type="enterprise", verified=False))
    page = text(login_as(unverified).get(f"/achievements/{achievement.id}"))
    assert "尚未通过平台认证" in page and 'data-testid="inquiry-form"' not in page
    for role in ("broker", "official"):
        assert 'data-testid="inquiry-panel"' not in text(
            login_as(make_user(role)).get(f"/achievements/{achievement.id}")
        )
    # A university member without published achievements is told why there is no form.
    page = text(login_as(make_user("university")).get(f"/demands/{demand.id}"))
    assert "还没有已公开发布的科技成果" in page and 'data-testid="inquiry-form"' not in page
    # The enterprise that owns the demand sees its count, not a form.
    page = text(login_as(demand.created_by).get(f"/demands/{demand.id}"))
    assert 'data-testid="inquiry-count"' in page


def test_refusals_through_the_pages(login_as, make_user, make_org, make_achievement, enterprise):
    published = make_achievement()
    draft = make_achievement(status="draft")
    own = make_achievement(owner=make_user("university"))
    asker = login_as(enterprise)
    assert asker.post(f"/achievements/{draft.id}/inquiries", data={"message": "你好"}).status_code == 409
    unverified = login_as(make_user("enterprise", org=make_org(org_type="enterprise", verified=False)))
    response = unverified.post(f"/achievements/{published.id}/inquiries", data={"message": "你好"})
    assert response.status_code == 403 and "尚未通过平台认证" in text(response)
    response = login_as(own.created_by).post(f"/achievements/{own.id}/inquiries", data={"message": "你好"})
    assert response.status_code == 403

    response = asker.post(f"/achievements/{published.id}/inquiries", data={"message": " \x00 "})
    assert response.status_code == 422 and "请填写留言内容" in text(response)
    response = asker.post(f"/achievements/{published.id}/inquiries", data={"message": "长" * 2001})
    assert response.status_code == 422 and "不能超过2000个字" in text(response)
    assert "长" * 2001 in text(response)  # nothing lost: the text comes back for editing
    assert _db.session.scalar(_db.select(_db.func.count(Inquiry.id))) == 0
    assert asker.post("/achievements/999999/inquiries", data={"message": "你好"}).status_code == 404


def test_outsiders_cannot_open_or_reply_and_admins_read_only(login_as, make_user, achievement, enterprise):
    login_as(enterprise).post(f"/achievements/{achievement.id}/inquiries", data={"message": "机密报价"})
    inquiry = _db.session.scalar(_db.select(Inquiry))
    outsider = login_as(make_user("enterprise"))
    assert outsider.get(f"/inbox/{inquiry.id}").status_code == 403
    assert outsider.post(f"/inbox/{inquiry.id}/reply", data={"message": "插一句"}).status_code == 403
    assert "机密报价" not in text(outsider.get("/inbox"))
    admin = login_as(make_user("admin", org=None))
    page = text(admin.get(f"/inbox/{inquiry.id}"))
    assert "机密报价" in page and 'data-testid="read-only"' in page and "reply-form" not in page
    assert admin.post(f"/inbox/{inquiry.id}/reply", data={"message": "管理员"}).status_code == 403
    assert nav_unread(login_as(achievement.created_by)) == 1  # the admin's visit marked nothing read
    assert login_as(enterprise).get("/inbox/999999").status_code == 404


def test_reply_validation_keeps_the_text(login_as, achievement, enterprise):
    client = login_as(enterprise)
    client.post(f"/achievements/{achievement.id}/inquiries", data={"message": "你好"})
    inquiry = _db.session.scalar(_db.select(Inquiry))
    response = client.post(f"/inbox/{inquiry.id}/reply", data={"message": ""})
    assert response.status_code == 422 and "请填写留言内容" in text(response)


def test_inbox_empty_states_and_pagination(app, login_as, make_user, make_achievement, enterprise):
    assert "还没有对接消息" in text(login_as(enterprise).get("/inbox"))
    assert "加入机构" in text(login_as(make_user("admin", org=None)).get("/inbox"))
    owner = make_user("university")
    achievements = [make_achievement(owner=owner, patent_numbers="", title=f"成果{i}") for i in range(3)]
    client = login_as(enterprise)
    for a in achievements:
        client.post(f"/achievements/{a.id}/inquiries", data={"message": "你好"})
    app.config["PER_PAGE"], per_page = 2, app.config["PER_PAGE"]
    try:
        first = text(client.get("/inbox"))
        second = text(client.get("/inbox?page=2"))
    finally:
        app.config["PER_PAGE"] = per_page
    assert first.count('data-testid="inbox-row"') == 2 and second.count('data-testid="inbox-row"') == 1
    assert first.index("成果2") < first.index("成果1")  # newest first
    assert "成果0" in second


def test_posts_need_a_csrf_token(login_as, achievement, enterprise, csrf_enabled):
    response = login_as(enterprise).post(f"/achievements/{achievement.id}/inquiries", data={"message": "你好"})
    assert response.status_code == 400
    assert _db.session.scalar(_db.select(_db.func.count(Inquiry.id))) == 0


def test_new_threads_are_rate_limited_per_user(app, make_user, make_achievement, tmp_path):
    from tests.conftest import login

    achievement = make_achievement()
    first, second = make_user("enterprise"), make_user("enterprise")
    was_enabled = limiter.enabled
    limited = create_app(
        "testing",
        RATELIMIT_ENABLED=True,
        INQUIRY_LIMIT="2 per minute",
        SQLALCHEMY_DATABASE_URI=app.config["SQLALCHEMY_DATABASE_URI"],
        WTF_CSRF_ENABLED=False,
        UPLOAD_DIR=str(tmp_path / "uploads"),
        SEARCH_INDEX_DIR=str(tmp_path / "index"),
    )
    try:
        client = login(limited.test_client(), first)
        url = f"/achievements/{achievement.id}/inquiries"
        for _ in range(2):
            assert client.post(url, data={"message": "你好"}).status_code == 302
        response = client.post(url, data={"message": "你好"})
        assert response.status_code == 429 and "操作过于频繁" in text(response)
        # The limit is per user: a colleague from the same address still gets through.
        assert login(limited.test_client(), second).post(url, data={"message": "你好"}).status_code == 302
    finally:
        limiter.enabled = was_enabled
        with limited.app_context():
            _db.session.remove()
            _db.engine.dispose()
