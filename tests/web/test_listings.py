"""The listing pages as a visitor, an owner and a reviewer see them: lists with filters, details
with their gated parts, the create/edit forms, the review workflow and attachments."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from marketplace.listings.models import Achievement, Attachment, Demand
from tests.conftest import achievement_data, demand_data

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"


def html(response) -> str:
    return response.get_data(as_text=True)


def field_error(page: str, name: str) -> str:
    """The Chinese error shown beside a form field, or '' when there is none."""
    match = re.search(rf'data-field-error="{name}">([^<]*)<', page)
    return match.group(1) if match else ""


def fresh(db, obj):
    """The row as stored, not as a failed request may have left it in memory."""
    db.session.rollback()
    return db.session.get(type(obj), obj.id)


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def form_of(data: dict) -> dict:
    """Factory data as a browser would post it (multi-valued checkboxes stay lists)."""
    return {key: value for key, value in data.items() if value is not None}


# ---------------------------------------------------------------------------------------------
# Lists


def test_list_shows_only_published_listings(client, make_achievement):
    make_achievement(title="公开的海水淡化成果")
    make_achievement(title="还在草稿的成果", status="draft")
    make_achievement(title="等待审核的成果", status="pending")
    make_achievement(title="已经撤回的成果", status="withdrawn")

    page = html(client.get("/achievements"))

    assert "公开的海水淡化成果" in page
    assert "还在草稿的成果" not in page
    assert "等待审核的成果" not in page
    assert "已经撤回的成果" not in page
    assert "共找到 <strong>1</strong> 条科技成果" in page


@pytest.mark.parametrize(
    ("query", "wanted", "other"),
    [
        ({"field": "03"}, {"field": "0303"}, {"field": "0101"}),  # a top field covers its children
        ({"field": "0303"}, {"field": "0303"}, {"field": "0302"}),
        ({"district": "371103"}, {"district": "371103"}, {"district": "371102"}),
        ({"maturity": "pilot"}, {"maturity": "pilot"}, {"maturity": "sample"}),
        ({"transfer_mode": "equity"}, {"transfer_modes": ["equity", "license"]}, {"transfer_modes": ["transfer"]}),
        ({"ip_type": "software"}, {"ip_type": "software", "patent_numbers": ""}, {"ip_type": "invention"}),
        ({"price_min": "100"}, {"price": "300万"}, {"price": "50万"}),
        ({"price_max": "100"}, {"price": "50万"}, {"price": "300万"}),
        ({"price_min": "60", "price_max": "120"}, {"price": "50万-80万"}, {"price": "150万"}),
        ({"q": "海水淡化"}, {"title": "应当出现的成果·海水淡化膜"}, {"title": "应当被筛掉的成果·机器视觉"}),
        ({"q": "石墨烯"}, {"keywords": "石墨烯；导热膜"}, {"keywords": "机器视觉"}),
    ],
)
def test_each_achievement_filter_narrows_the_list(client, make_achievement, query, wanted, other):
    make_achievement(**{"title": "应当出现的成果", **wanted})
    make_achievement(**{"title": "应当被筛掉的成果", **other})

    page = html(client.get("/achievements", query_string=query))

    assert "应当出现的成果" in page
    assert "应当被筛掉的成果" not in page
    assert "共找到 <strong>1</strong> 条" in page


def test_negotiable_price_is_left_out_of_a_price_range(client, make_achievement):
    make_achievement(title="面议的成果", price="面议")
    make_achievement(title="八十万的成果", price="80万")

    page = html(client.get("/achievements?price_min=10&price_max=100"))

    assert "八十万的成果" in page and "面议的成果" not in page


def test_demand_filters_by_type_and_budget(client, make_demand):
    make_demand(title="需要攻关的难题", demand_type="tackle", budget="10-20万")
    make_demand(title="想引进的成果", demand_type="introduce", budget="500万")

    by_type = html(client.get("/demands?demand_type=introduce"))
    by_budget = html(client.get("/demands?price_max=50"))

    assert "想引进的成果" in by_type and "需要攻关的难题" not in by_type
    assert "需要攻关的难题" in by_budget and "想引进的成果" not in by_budget
    assert "预算从低到高" in by_type  # the sort speaks of 预算 on demands


def test_sort_by_price(client, make_achievement):
    for title, price in (("乙成果", "30万"), ("甲成果", "10万"), ("丙成果", "20万")):
        make_achievement(title=title, price=price)

    ascending = html(client.get("/achievements?sort=price_asc"))
    descending = html(client.get("/achievements?sort=price_desc"))

    def order(page):
        return sorted(("甲成果", "乙成果", "丙成果"), key=page.index)

    assert order(ascending) == ["甲成果", "丙成果", "乙成果"]
    assert order(descending) == ["乙成果", "丙成果", "甲成果"]
    assert '<option value="price_desc" selected>' in descending


def test_pagination_keeps_the_filters_in_its_links(app, client, make_achievement, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for n in range(3):
        make_achievement(title=f"储能电池成果{n}", keywords="储能")
    make_achievement(title="无关的成果")

    first = html(client.get("/achievements?q=储能&sort=views"))
    second = html(client.get("/achievements?q=储能&sort=views&page=2"))

    assert first.count('data-testid="listing-card"') == 2
    assert second.count('data-testid="listing-card"') == 1
    assert "第 1 / 2 页" in first
    link = re.search(r'href="(/achievements\?[^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    assert "q=%E5%82%A8%E8%83%BD" in link and "sort=views" in link
    assert "无关的成果" not in first + second


@pytest.mark.parametrize("bad", ["abc", "NaN", "1e999", "-5", "１０万元元"])
def test_a_bad_price_filter_is_ignored_with_a_notice(client, make_achievement, bad):
    make_achievement(title="照常显示的成果", price="50万")

    response = client.get("/achievements", query_string={"price_min": bad})

    assert response.status_code == 200
    page = html(response)
    assert "照常显示的成果" in page
    assert "不是有效的数字，已忽略此条件" in page


def test_full_width_price_filter_is_understood(client, make_achievement):
    make_achievement(title="五十万的成果", price="50万")

    page = html(client.get("/achievements", query_string={"price_max": "１００"}))

    assert "五十万的成果" in page and "已忽略" not in page


def test_empty_list_says_so(client):
    page = html(client.get("/demands?q=不存在的东西"))

    assert 'data-testid="empty-state"' in page and "没有符合条件的技术需求" in page


def test_card_shows_field_path_badges_price_and_organisation(client, make_user, make_org, make_achievement):
    org = make_org(name="日照海洋大学")
    owner = make_user("university", org=org)
    make_achievement(
        owner=owner, title="卡片成果", field="0303", maturity="pilot", transfer_modes=["equity"], price="100万-200万"
    )

    page = html(client.get("/achievements"))

    assert "先进制造 › 自动化与控制" in page
    assert "中试" in page and "作价入股" in page and "发明专利" in page
    assert "100 万元 – 200 万元" in page
    assert "日照海洋大学" in page and f"/orgs/{org.id}" in page


# ---------------------------------------------------------------------------------------------
# Home


def test_home_shows_counts_latest_listings_and_a_search_box(client, make_achievement, make_demand):
    make_achievement(title="首页上的成果")
    make_achievement(title="首页不该出现的草稿", status="draft")
    make_demand(title="首页上的需求")

    page = html(client.get("/"))

    assert "首页上的成果" in page and "首页上的需求" in page
    assert "首页不该出现的草稿" not in page
    assert re.search(r"<strong>1</strong><span>项科技成果", page)
    assert 'action="/search"' in page and 'name="q"' in page
    assert "注册并发布成果" in page


def test_home_offers_a_member_the_publish_buttons(login_as, make_user):
    page = html(login_as(make_user("enterprise")).get("/"))

    assert "发布技术需求" in page and "/demands/new" in page


# ---------------------------------------------------------------------------------------------
# Detail


SECRET = "工艺参数：温度 850℃，保温 2 小时"


def test_detail_hides_detail_and_contact_from_anonymous_visitors(client, make_achievement):
    listing = make_achievement(detail=SECRET, contact_phone="0633-8888888")

    page = html(client.get(f"/achievements/{listing.id}"))

    assert listing.title in page and listing.summary in page
    assert SECRET not in page
    assert "登录并加入通过认证的机构后可查看详细技术内容" in page
    assert "0633-8888888" not in page and "登录后可查看联系人" in page
    assert "ZL201720001285.X" in page  # patent numbers are public


def test_detail_hides_detail_from_members_of_unverified_organisations(login_as, make_user, make_org, make_achievement):
    listing = make_achievement(detail=SECRET)
    visitor = make_user("enterprise", org=make_org(org_type="enterprise", verified=False))

    page = html(login_as(visitor).get(f"/achievements/{listing.id}"))

    assert SECRET not in page and "登录并加入通过认证的机构后可查看详细技术内容" in page
    assert "0633-8888888" in page  # logged in: the contact shows


def test_detail_shows_detail_to_members_of_verified_organisations(enterprise_client, make_achievement):
    listing = make_achievement(detail=SECRET)

    page = html(enterprise_client.get(f"/achievements/{listing.id}"))

    assert SECRET in page and "登录并加入通过认证的机构后" not in page


def test_draft_of_another_organisation_is_forbidden_and_unknown_is_not_found(
    client, enterprise_client, make_achievement
):
    draft = make_achievement(status="draft")

    assert enterprise_client.get(f"/achievements/{draft.id}").status_code == 403
    assert client.get(f"/achievements/{draft.id}").status_code == 403
    assert "尚未公开" in html(client.get(f"/achievements/{draft.id}"))
    assert client.get("/achievements/999999").status_code == 404
    assert client.get("/demands/999999").status_code == 404


def test_views_are_counted_for_visitors_not_owners(db, client, login_as, make_achievement):
    listing = make_achievement()
    updated_at = listing.updated_at

    client.get(f"/achievements/{listing.id}")
    client.get(f"/achievements/{listing.id}")
    login_as(listing.created_by).get(f"/achievements/{listing.id}")

    assert fresh(db, listing).view_count == 2
    assert listing.updated_at == updated_at  # a visit is not an edit
    assert "浏览 3 次" in html(client.get(f"/achievements/{listing.id}"))  # this visit included


def test_demand_detail_shows_type_budget_and_hides_contact(client, make_demand):
    demand = make_demand(valid_until="2099-12-31")

    page = html(client.get(f"/demands/{demand.id}"))

    assert demand.description in page and "技术难题攻关" in page
    assert "10 万元 – 20 万元" in page and "2099-12-31" in page
    assert "13800138000" not in page


# ---------------------------------------------------------------------------------------------
# Create and edit


def test_new_form_is_grouped_and_prefilled_with_the_users_contact(login_as, make_user):
    user = make_user("university", name="张老师")

    page = html(login_as(user).get("/achievements/new"))

    for section in ("基本信息", "技术内容", "知识产权", "转化与价格", "联系方式"):
        assert section in page
    assert 'name="transfer_modes"' in page and 'type="checkbox"' in page
    assert "填写金额如 50万元、区间如 100万-200万，或填写“面议”" in page
    assert 'value="张老师"' in page
    assert "保存并提交审核" in page


def test_create_form_errors_show_beside_fields_and_nothing_is_saved(db, university_client):
    data = achievement_data(title="", patent_numbers="ZL201720001285.1", summary="保留用户输入的简介")

    response = university_client.post("/achievements/new", data=form_of(data))

    assert response.status_code == 422
    page = html(response)
    assert "校验位" in field_error(page, "patent_numbers")
    assert field_error(page, "title") == "请填写名称"
    assert "保留用户输入的简介" in page  # the user's input is kept
    assert 'value="ZL201720001285.1"' in page
    assert re.search(r'value="license" checked', page)
    assert count(db, Achievement) == 0


def test_missing_transfer_mode_and_bad_price_are_explained(db, university_client):
    data = achievement_data(transfer_modes=[], price="很贵")

    page = html(university_client.post("/achievements/new", data=form_of(data)))

    assert field_error(page, "transfer_modes") == "请至少选择一种转化方式"
    assert "无法识别" in field_error(page, "price")
    assert count(db, Achievement) == 0


def test_successful_create_makes_a_draft(db, login_as, make_user):
    user = make_user("university")
    client = login_as(user)

    response = client.post("/achievements/new", data=form_of(achievement_data(title="新的成果")))

    listing = db.session.scalar(select(Achievement))
    assert response.status_code == 302 and response.location.endswith(f"/achievements/{listing.id}")
    assert listing.status == "draft" and listing.org_id == user.active_org.id
    assert listing.transfer_modes == ["transfer", "license"] and listing.price_low == 500000
    page = html(client.get(response.location))
    assert "已保存为草稿" in page and "提交审核" in page


def test_create_a_demand(db, enterprise_client):
    response = enterprise_client.post(
        "/demands/new", data=form_of(demand_data(title="新的需求", valid_until="2099-01-01"))
    )

    demand = db.session.scalar(select(Demand))
    assert response.status_code == 302 and demand.title == "新的需求" and demand.status == "draft"
    assert str(demand.valid_until) == "2099-01-01" and demand.budget_high == 200000


def test_demand_with_a_past_date_is_refused(db, enterprise_client):
    page = html(enterprise_client.post("/demands/new", data=form_of(demand_data(valid_until="2001-01-01"))))

    assert field_error(page, "valid_until") == "有效期不能早于今天"
    assert count(db, Demand) == 0


def test_duplicate_patent_number_in_the_same_organisation_is_refused(db, login_as, make_user, make_achievement):
    user = make_user("university")
    make_achievement(owner=user, status="draft")

    response = login_as(user).post("/achievements/new", data=form_of(achievement_data(title="重复登记")))

    assert response.status_code == 422
    assert "已登记在本机构" in field_error(html(response), "patent_numbers")
    assert count(db, Achievement) == 1


def test_unverified_organisation_can_save_but_not_submit(db, login_as, make_user, make_org):
    user = make_user("university", org=make_org(verified=False))
    client = login_as(user)

    response = client.post("/achievements/new", data={**form_of(achievement_data()), "intent": "submit"})

    listing = db.session.scalar(select(Achievement))
    assert listing.status == "draft"
    page = html(client.get(response.location))
    assert "暂不能提交审核" in page and "尚未通过平台认证" in page

    client.post(f"/achievements/{listing.id}/submit")
    assert fresh(db, listing).status == "draft"
    assert "尚未通过平台认证" in html(client.get(f"/achievements/{listing.id}"))


def test_save_and_submit_from_a_verified_organisation(db, university_client):
    university_client.post("/achievements/new", data={**form_of(achievement_data()), "intent": "submit"})

    assert db.session.scalar(select(Achievement)).status == "pending"


@pytest.mark.parametrize("who", ["anonymous", "admin", "official", "broker"])
def test_only_listing_members_may_create(client, login_as, make_user, who):
    if who == "anonymous":
        response = client.get("/achievements/new")
        assert response.status_code == 302 and "/login" in response.location
        return
    response = login_as(make_user(who, org=None) if who == "admin" else make_user(who)).get("/demands/new")
    assert response.status_code == 403
    assert "高校/院所或企业成员可以发布" in html(response)


def test_pending_member_gets_a_helpful_refusal(login_as, make_user):
    from marketplace.core.taxonomy import MembershipStatus

    user = make_user("university", membership=MembershipStatus.PENDING)

    response = login_as(user).get("/achievements/new")

    assert response.status_code == 403 and "等待机构管理员审批" in html(response)


def test_edit_form_is_prefilled_and_saves(db, login_as, make_achievement):
    listing = make_achievement(status="draft", price="100万-200万", keywords="机器视觉；尺寸测量")
    client = login_as(listing.created_by)

    page = html(client.get(f"/achievements/{listing.id}/edit"))
    assert f'value="{listing.title}"' in page
    assert 'value="100万-200万"' in page and 'value="机器视觉；尺寸测量"' in page
    assert 'value="ZL201720001285.X"' in page

    data = achievement_data(title="改过的名称", price="100万-200万", keywords="机器视觉；尺寸测量")
    response = client.post(f"/achievements/{listing.id}/edit", data=form_of(data))

    assert response.status_code == 302
    assert fresh(db, listing).title == "改过的名称"
    assert "修改已保存" in html(client.get(response.location))


def test_edit_with_errors_keeps_the_stored_listing(db, login_as, make_achievement):
    listing = make_achievement(status="draft")

    response = login_as(listing.created_by).post(
        f"/achievements/{listing.id}/edit", data=form_of(achievement_data(title="", price="abc"))
    )

    assert response.status_code == 422 and field_error(html(response), "title") == "请填写名称"
    assert fresh(db, listing).title == "基于机器视觉的尺寸测量系统"


def test_non_owner_cannot_edit(db, login_as, make_user, make_achievement):
    listing = make_achievement(status="draft")
    stranger = login_as(make_user("university"))

    assert stranger.get(f"/achievements/{listing.id}/edit").status_code == 403
    response = stranger.post(f"/achievements/{listing.id}/edit", data=form_of(achievement_data(title="被篡改")))

    assert response.status_code == 403
    assert fresh(db, listing).title == "基于机器视觉的尺寸测量系统"


def test_listing_under_review_cannot_be_edited(login_as, make_achievement):
    listing = make_achievement(status="pending")

    response = login_as(listing.created_by).get(f"/achievements/{listing.id}/edit")

    assert response.status_code == 409 and "请先在详情页撤回" in html(response)


# ---------------------------------------------------------------------------------------------
# Workflow


def test_owner_submits_and_admin_approves(db, login_as, admin_client, make_achievement):
    listing = make_achievement(status="draft")
    owner = login_as(listing.created_by)

    owner_page = html(owner.get(f"/achievements/{listing.id}"))
    assert "提交审核" in owner_page and "data-confirm" in owner_page and 'name="csrf_token"' in owner_page

    response = owner.post(f"/achievements/{listing.id}/submit")
    assert response.status_code == 302 and fresh(db, listing).status == "pending"
    assert "已提交审核" in html(owner.get(response.location))

    admin_page = html(admin_client.get(f"/achievements/{listing.id}"))
    assert "审核通过" in admin_page and 'name="reason"' in admin_page

    admin_client.post(f"/achievements/{listing.id}/approve")
    assert fresh(db, listing).status == "published"
    assert listing.title in html(admin_client.get("/achievements"))


def test_reject_needs_a_reason_which_the_owner_then_sees(db, login_as, admin_client, make_achievement):
    listing = make_achievement(status="pending")

    refused = admin_client.post(f"/achievements/{listing.id}/reject", data={"reason": "  "}, follow_redirects=True)
    assert "驳回时请填写原因" in html(refused)
    assert fresh(db, listing).status == "pending"

    admin_client.post(f"/achievements/{listing.id}/reject", data={"reason": "请补充专利证书扫描件"})
    assert fresh(db, listing).status == "draft"

    owner_page = html(login_as(listing.created_by).get(f"/achievements/{listing.id}"))
    assert "驳回原因" in owner_page and "请补充专利证书扫描件" in owner_page
    assert 'data-testid="history"' in owner_page and "驳回" in owner_page


def test_owner_withdraws_a_published_listing(db, client, login_as, make_achievement):
    listing = make_achievement()

    response = login_as(listing.created_by).post(f"/achievements/{listing.id}/withdraw", follow_redirects=True)

    assert "已撤回" in html(response)
    assert fresh(db, listing).status == "withdrawn"
    assert listing.title not in html(client.get("/achievements"))


def test_refused_actions_change_nothing(db, login_as, make_user, make_achievement):
    listing = make_achievement()
    stranger = login_as(make_user("university"))

    response = stranger.post(f"/achievements/{listing.id}/withdraw", follow_redirects=True)
    assert "您不能对该科技成果执行“撤回”" in html(response)
    owner = login_as(listing.created_by)
    response = owner.post(f"/achievements/{listing.id}/submit", follow_redirects=True)
    assert "不能提交审核" in html(response)
    assert fresh(db, listing).status == "published"


def test_actions_need_a_post_and_a_login(client, make_achievement):
    listing = make_achievement()

    assert client.get(f"/achievements/{listing.id}/withdraw").status_code == 405
    response = client.post(f"/achievements/{listing.id}/withdraw")
    assert response.status_code == 302 and "/login" in response.location


def test_post_without_csrf_token_is_refused(db, login_as, make_achievement, csrf_enabled):
    listing = make_achievement()
    owner = login_as(listing.created_by)

    assert owner.post(f"/achievements/{listing.id}/withdraw").status_code == 400
    assert fresh(db, listing).status == "published"

    page = html(owner.get(f"/achievements/{listing.id}"))
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    owner.post(f"/achievements/{listing.id}/withdraw", data={"csrf_token": token})
    assert fresh(db, listing).status == "withdrawn"


# ---------------------------------------------------------------------------------------------
# 我的发布


def test_my_listings_lists_my_organisation_with_status_filters(login_as, make_user, make_achievement, make_demand):
    user = make_user("university")
    make_achievement(owner=user, title="我的草稿成果", status="draft")
    make_achievement(owner=user, title="我的已发布成果", patent_numbers="ZL201720001286.4")
    make_achievement(title="别人的成果")
    client = login_as(user)

    page = html(client.get("/my/listings"))
    assert "我的草稿成果" in page and "我的已发布成果" in page and "别人的成果" not in page
    assert "草稿" in page and "已发布" in page
    assert "/import/" in page
    drafts = html(client.get("/my/listings?status=draft"))
    assert "我的草稿成果" in drafts and "我的已发布成果" not in drafts
    assert drafts.count("/edit") == 1  # a draft can be edited, a published one cannot
    empty = html(client.get("/my/listings?kind=demand"))
    assert 'data-testid="empty-state"' in empty and "/demands/new" in empty


def test_my_listings_needs_an_organisation_member(client, admin_client):
    assert client.get("/my/listings").status_code == 302
    assert admin_client.get("/my/listings").status_code == 403


# ---------------------------------------------------------------------------------------------
# Attachments


def upload(client, listing, content: bytes, filename: str = "成果介绍.pdf"):
    from io import BytesIO

    return client.post(
        f"/achievements/{listing.id}/attachments",
        data={"file": (BytesIO(content), filename)},
        content_type="multipart/form-data",
        follow_redirects=True,
    )


def test_pdf_attachment_is_accepted_and_downloads_for_logged_in_users(
    db, client, login_as, make_user, make_achievement
):
    listing = make_achievement()
    owner = login_as(listing.created_by)

    page = html(upload(owner, listing, PDF))

    assert "已上传" in page and "成果介绍.pdf" in page
    attachment = db.session.scalar(select(Attachment))
    anonymous = client.get(f"/attachments/{attachment.id}")
    assert anonymous.status_code == 302 and "/login" in anonymous.location
    assert "成果介绍.pdf" in html(client.get(f"/achievements/{listing.id}"))  # listed, not linked

    with login_as(make_user("enterprise")).get(f"/attachments/{attachment.id}") as response:
        assert response.status_code == 200 and response.data == PDF
        assert response.headers["Content-Disposition"].startswith("attachment")
        assert "filename*=UTF-8''%E6%88%90%E6%9E%9C" in response.headers["Content-Disposition"]
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.mimetype == "application/pdf"


def test_a_pdf_name_with_other_content_is_refused(db, login_as, make_achievement):
    listing = make_achievement()

    page = html(upload(login_as(listing.created_by), listing, b"<html><script>alert(1)</script></html>", "假的.pdf"))

    assert "只能上传 PDF 文件或图片" in page
    assert count(db, Attachment) == 0


def test_oversize_attachment_is_refused(app, db, login_as, make_achievement):
    listing = make_achievement()
    saved = app.config["MAX_UPLOAD_MB"]
    app.config["MAX_UPLOAD_MB"] = 0.001  # about 1 KB
    try:
        page = html(upload(login_as(listing.created_by), listing, PDF + b"0" * 2048))
    finally:
        app.config["MAX_UPLOAD_MB"] = saved

    assert "上传失败" in page and "大小限制" in page
    assert count(db, Attachment) == 0


def test_only_owners_upload(db, login_as, make_user, make_achievement):
    listing = make_achievement()

    page = html(upload(login_as(make_user("enterprise")), listing, PDF))

    assert "只有所属机构的成员可以上传附件" in page and count(db, Attachment) == 0


def test_deleted_attachment_is_gone(db, login_as, make_user, make_achievement):
    listing = make_achievement()
    owner = login_as(listing.created_by)
    upload(owner, listing, PDF, "将被删除.pdf")
    attachment = db.session.scalar(select(Attachment))

    refused = login_as(make_user("enterprise")).post(f"/attachments/{attachment.id}/delete")
    assert refused.status_code == 403
    assert "只有所属机构的成员可以删除附件" in html(refused)
    assert "将被删除.pdf" in html(owner.get(f"/achievements/{listing.id}"))

    page = html(owner.post(f"/attachments/{attachment.id}/delete", follow_redirects=True))

    assert "已删除" in page
    assert 'data-testid="attachments"' not in page
    assert owner.get(f"/attachments/{attachment.id}").status_code == 404


def test_attachment_of_an_unpublished_listing_is_private(db, login_as, make_user, make_achievement):
    listing = make_achievement(status="draft")
    upload(login_as(listing.created_by), listing, PDF)
    attachment = db.session.scalar(select(Attachment))

    assert login_as(make_user("enterprise")).get(f"/attachments/{attachment.id}").status_code == 403


def test_demand_owner_edits_and_attaches_an_image(db, login_as, make_demand):
    from io import BytesIO

    demand = make_demand(status="draft", valid_until="2099-06-30")
    owner = login_as(demand.created_by)

    form = html(owner.get(f"/demands/{demand.id}/edit"))
    assert 'value="10万-20万"' in form and 'value="2099-06-30"' in form and "预算与期限" in form

    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    page = html(
        owner.post(
            f"/demands/{demand.id}/attachments",
            data={"file": (BytesIO(png), "现场照片.png")},
            content_type="multipart/form-data",
            follow_redirects=True,
        )
    )
    assert "现场照片.png" in page and "已上传" in page
    assert db.session.scalar(select(Attachment)).demand_id == demand.id
