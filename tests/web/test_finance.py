"""科技金融 pages: the catalogue and its filters, publishing (refused to non-finance orgs), applying
with field errors (another organisation's contract refused, nothing saved), the reviewer's
workbench and the 403 for another institution, field follows alerting once, roadshows (capacity,
deadline, double registration, cancel, past events read-only, registrants only for the
organiser) and the officials' figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace import search
from marketplace.alerts import services as alerts
from marketplace.alerts.models import EmailOutbox, Notification
from marketplace.core.timeutil import local_today, utcnow
from marketplace.extensions import db
from marketplace.finance import services as finance
from marketplace.finance.models import FinanceApplication, FinanceProduct
from marketplace.listings import services as listings
from tests.web.access_finance import (
    LOAN,
    PDF,
    approve_and_disburse,
    local_in,
    make_contract,
    make_institution,
    make_product,
)


@pytest.fixture
def bank():
    org, member = make_institution("日照银行科技支行（测试）")
    db.session.commit()
    return org, member


@pytest.fixture
def enterprise(make_user):
    return make_user("enterprise")


def text(response) -> str:
    return response.get_data(as_text=True)


def test_catalogue_lists_published_products_and_filters(client, bank):
    _org, member = bank
    make_product(member, title="成果转化贷（电子信息）", fields=["01"])
    make_product(member, title="科创股权基金", kind="equity_fund", rate_min="", rate_max="", fields=[])
    make_product(member, title="未发布的草稿", status="draft")
    db.session.commit()
    page = text(client.get("/finance"))
    assert "成果转化贷（电子信息）" in page and "科创股权基金" in page and "未发布的草稿" not in page
    assert "3.45% – 4.35%" in page
    only_funds = text(client.get("/finance?kind=equity_fund"))
    assert "科创股权基金" in only_funds and "成果转化贷（电子信息）" not in only_funds
    by_field = text(client.get("/finance?field=03"))
    assert "科创股权基金" in by_field and "成果转化贷（电子信息）" not in by_field  # no fields = every field
    too_big = text(client.get("/finance?amount=2000万"))
    assert "成果转化贷（电子信息）" not in too_big
    assert 'data-testid="empty-state"' in text(client.get("/finance?q=不存在的产品"))


def test_a_finance_member_publishes_a_product_and_others_are_refused(login_as, bank, make_user):
    _org, member = bank
    page = login_as(member)
    response = page.post("/finance/products/new", data={**LOAN, "rate_min": "-1", "publish": "1"})
    assert response.status_code == 422
    assert "不能为负数" in text(response) and 'data-field-error="rate_min"' in text(response)
    response = page.post("/finance/products/new", data={**LOAN, "fields": ["03", "06"], "publish": "1"})
    assert response.status_code == 302
    product = db.session.scalar(select(FinanceProduct))
    assert product.status == "published" and product.fields == ["03", "06"]
    detail = text(page.get(f"/finance/products/{product.id}"))
    assert "50 万元 – 1,000 万元" in detail and "先进制造" in detail

    refused = login_as(make_user("enterprise")).get("/finance/products/new")
    assert refused.status_code == 403 and "只有经认证的金融机构可以发布金融产品" in text(refused)
    _other_org, other = make_institution()
    db.session.commit()
    assert login_as(other).post(f"/finance/products/{product.id}/edit", data=LOAN).status_code == 403


def test_apply_with_field_errors_and_another_orgs_contract_saves_nothing(login_as, bank, enterprise, make_user):
    _org, member = bank
    product = make_product(member)
    foreign = make_contract(make_user("university").active_org)
    db.session.commit()
    page = login_as(enterprise)
    form = text(page.get(f"/finance/products/{product.id}/apply"))
    assert f'value="{foreign.id}"' not in form  # only the organisation's own materials are offered
    response = page.post(
        f"/finance/products/{product.id}/apply",
        data={"amount_requested": "20万", "term_months": "12", "purpose": "x", "contract_ids": str(foreign.id)},
    )
    assert response.status_code == 422
    body = text(response)
    assert "申请金额须在该产品额度范围内：50 万元 至 1,000 万元" in body
    assert 'data-field-error="contract_ids"' in body and "不属于本机构" in body
    assert db.session.scalar(select(func.count(FinanceApplication.id))) == 0


def test_apply_review_and_the_applicants_view(login_as, bank, enterprise, make_user):
    _org, member = bank
    product = make_product(member)
    own = make_contract(make_user("university").active_org, buyer_org=enterprise.active_org)
    db.session.commit()
    applicant = login_as(enterprise)
    response = applicant.post(
        f"/finance/products/{product.id}/apply",
        data={
            "amount_requested": "300万",
            "term_months": "12",
            "purpose": "海洋装备成果中试",
            "contract_ids": str(own.id),
            "file": (__import__("io").BytesIO(PDF), "可研报告.pdf"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    application = db.session.scalar(select(FinanceApplication))
    assert {a.kind for a in application.attachments} == {"contract", "file"}
    mine = text(applicant.get("/finance/applications"))
    assert "已提交" in mine and product.title in mine

    reviewer = login_as(member)
    desk = text(reviewer.get("/finance/workbench"))
    assert enterprise.active_org.name in desk
    reviewer.post(f"/finance/applications/{application.id}/transition", data={"action": "review"})
    reviewer.post(
        f"/finance/applications/{application.id}/transition",
        data={"action": "request_documents", "note": "请补充专利证书"},
    )
    page = text(applicant.get(f"/finance/applications/{application.id}"))
    assert "待补充材料" in page and "请补充专利证书" in page and "已补充材料，提交审核" in page
    file_row = next(a for a in application.attachments if a.kind == "file")
    download = reviewer.get(f"/finance/applications/{application.id}/files/{file_row.id}")
    assert download.status_code == 200 and download.data == PDF
    download.close()

    _other_org, other = make_institution()
    db.session.commit()
    stranger = login_as(other)
    assert stranger.get(f"/finance/applications/{application.id}").status_code == 403
    assert (
        stranger.post(
            f"/finance/applications/{application.id}/transition", data={"action": "decline", "reason": "x"}
        ).status_code
        == 403
    )
    db.session.refresh(application)
    assert application.status == "documents_requested"


def test_repayments_on_the_page(login_as, bank, enterprise):
    _org, member = bank
    application = finance.create_application(
        enterprise, make_product(member), {"amount_requested": "300万", "term_months": "12", "purpose": "x"}
    )
    approve_and_disburse(application, member, "300万", local_today())
    db.session.commit()
    reviewer = login_as(member)
    response = reviewer.post(
        f"/finance/applications/{application.id}/repayments",
        data={"amount": "400万", "paid_on": local_today().isoformat()},
        follow_redirects=True,
    )
    assert "不能超过未偿余额 300 万元" in text(response)
    reviewer.post(
        f"/finance/applications/{application.id}/repayments",
        data={"amount": "100万", "paid_on": local_today().isoformat()},
    )
    page = text(login_as(enterprise).get(f"/finance/applications/{application.id}"))
    assert "200 万元" in page and "记录还款" in page


# ---------------------------------------------------------------------------------------------
# Follows


def _publish(listing, admin) -> None:
    listings.transition(listing, "approve", admin)
    db.session.commit()


def test_a_followed_field_alerts_once_per_achievement_and_never_for_withdrawn(
    db, index, login_as, make_user, make_achievement
):
    investor = make_user("enterprise")
    page = login_as(investor)
    assert page.post("/finance/follows", data={"field": "03"}).status_code == 302
    overlap = page.post("/finance/follows", data={"field": "0303"}, follow_redirects=True)
    assert "重叠" in text(overlap)
    assert "先进制造" in text(page.get("/finance/follows"))
    admin = make_user("admin", org=None)

    matching = make_achievement(status="pending", title="智能焊接机器人", field="0301")
    other_field = make_achievement(status="pending", title="耐盐碱水稻新品种", field="0901")
    withdrawn = make_achievement(status="pending", title="激光熔覆装备", field="0303")
    for listing in (matching, other_field, withdrawn):
        _publish(listing, admin)
    listings.transition(withdrawn, "withdraw", withdrawn.created_by)
    db.session.commit()
    search.catch_up(index)
    alerts.run_pending()
    notes = db.session.scalars(select(Notification).where(Notification.user_id == investor.id)).all()
    assert [n.listing_id for n in notes] == [matching.id]
    assert "智能焊接机器人" in notes[0].title
    assert db.session.scalar(select(func.count(EmailOutbox.id)).where(EmailOutbox.to_address == investor.email)) == 1

    # Withdrawn and published again: still one notification for it.
    listings.transition(matching, "withdraw", matching.created_by)
    listings.transition(matching, "submit", matching.created_by)
    _publish(matching, admin)
    search.catch_up(index)
    alerts.run_pending()
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == investor.id)) == 1

    [follow] = finance.follows_of(investor)
    assert page.post(f"/finance/follows/{follow.id}/delete").status_code == 302
    assert finance.follows_of(investor) == []


# ---------------------------------------------------------------------------------------------
# Roadshows


def _roadshow(organiser, **data):
    values = {
        "title": "日照市科技成果路演（第一期）",
        "description": "面向投资机构的成果路演",
        "place": "日照市科技馆报告厅",
        "capacity": "2",
        "starts_at": local_in(10),
        "registration_deadline": local_in(9),
        **data,
    }
    roadshow = finance.create_roadshow(organiser, values)
    db.session.commit()
    return roadshow


def test_roadshow_form_refuses_a_deadline_after_the_start(login_as, make_user):
    page = login_as(make_user("official"))
    response = page.post(
        "/finance/roadshows/new",
        data={
            "title": "路演",
            "description": "x",
            "capacity": "10",
            "starts_at": local_in(2),
            "registration_deadline": local_in(3),
        },
    )
    assert response.status_code == 422
    body = text(response)
    assert "报名截止时间不能晚于开始时间" in body and "请填写活动地点或线上链接" in body


def test_registration_capacity_double_cancel_and_names_only_for_the_organiser(login_as, make_user, client):
    official = make_user("official")
    roadshow = _roadshow(official)
    first, second, third = (make_user("enterprise") for _ in range(3))
    for user in (first, second):
        assert login_as(user).post(f"/finance/roadshows/{roadshow.id}/register").status_code == 302
    again = login_as(first).post(f"/finance/roadshows/{roadshow.id}/register", follow_redirects=True)
    assert "您已报名此路演" in text(again)
    full = login_as(third).post(f"/finance/roadshows/{roadshow.id}/register", follow_redirects=True)
    assert "名额已满" in text(full)
    login_as(second).post(f"/finance/roadshows/{roadshow.id}/cancel")
    assert login_as(third).post(f"/finance/roadshows/{roadshow.id}/register").status_code == 302
    db.session.refresh(roadshow)
    assert sorted(r.user_id for r in roadshow.registrations) == sorted([first.id, third.id])

    public = text(client.get(f"/finance/roadshows/{roadshow.id}"))
    assert "2 / 2" in public and first.name not in public and 'data-testid="registrants"' not in public
    organiser_page = text(login_as(official).get(f"/finance/roadshows/{roadshow.id}"))
    assert 'data-testid="registrants"' in organiser_page and first.name in organiser_page


def test_deadline_passed_and_past_events_are_read_only(login_as, make_user, make_achievement):
    official = make_user("official")
    roadshow = _roadshow(official)
    owner = make_user("university")
    achievement = make_achievement(owner=owner)
    roadshow.registration_deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()
    late = login_as(make_user("enterprise")).post(f"/finance/roadshows/{roadshow.id}/register", follow_redirects=True)
    assert "报名已截止" in text(late)
    # Presenting is still possible until the start.
    login_as(owner).post(f"/finance/roadshows/{roadshow.id}/present", data={"achievement_id": str(achievement.id)})
    roadshow.starts_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    project = roadshow.projects[0]
    refused = login_as(official).post(
        f"/finance/roadshows/{roadshow.id}/projects/{project.id}/accept", follow_redirects=True
    )
    assert "路演已开始或结束" in text(refused)
    db.session.refresh(project)
    assert project.status == "applied"
    page = text(login_as(owner).get(f"/finance/roadshows/{roadshow.id}"))
    assert "已结束" in page and "报名参会" not in page and "申请路演" not in page


def test_presenting_projects_are_accepted_by_the_organiser(login_as, make_user, make_achievement, client):
    _org, member = make_institution()
    roadshow = _roadshow(member)
    owner = make_user("university")
    mine = make_achievement(owner=owner, title="海洋牧场智能投喂系统")
    foreign = make_achievement(title="别人的成果")
    page = login_as(owner)
    refused = page.post(
        f"/finance/roadshows/{roadshow.id}/present", data={"achievement_id": str(foreign.id)}, follow_redirects=True
    )
    assert "请选择本机构已发布的科技成果" in text(refused)
    page.post(f"/finance/roadshows/{roadshow.id}/present", data={"achievement_id": str(mine.id)})
    assert "海洋牧场智能投喂系统" not in text(client.get(f"/finance/roadshows/{roadshow.id}"))  # not yet accepted
    project = roadshow.projects[0]
    assert (
        login_as(make_user("official"))
        .post(f"/finance/roadshows/{roadshow.id}/projects/{project.id}/accept")
        .status_code
        == 403
    )
    login_as(member).post(f"/finance/roadshows/{roadshow.id}/projects/{project.id}/accept")
    public = text(client.get(f"/finance/roadshows/{roadshow.id}"))
    assert "海洋牧场智能投喂系统" in public
    notes = db.session.scalars(select(Notification.title).where(Notification.user_id == owner.id)).all()
    assert any("已确认参加路演" in t for t in notes)


# ---------------------------------------------------------------------------------------------
# Officials' figures


def test_officials_see_the_balance_against_the_target(login_as, make_user, bank, enterprise):
    _org, member = bank
    application = finance.create_application(
        enterprise, make_product(member), {"amount_requested": "500万", "term_months": "12", "purpose": "x"}
    )
    approve_and_disburse(application, member, "500万", local_today())
    finance.record_repayment(application, member, {"amount": "125万", "paid_on": local_today().isoformat()})
    db.session.commit()
    page = login_as(make_user("official"))
    body = text(page.get("/finance/stats"))
    assert 'data-amount="3750000.00"' in body and "375.00" in body
    assert "目标 <strong>5 亿元</strong>" in body and "（0.8%）" in body  # 375万 / 5亿 = 0.75% → 0.8
    assert "日照银行科技支行（测试）" in body
    assert page.get("/finance/stats?start=2026-02-30").status_code == 422
    dashboard = text(page.get("/stats/"))
    assert "/finance/stats" in dashboard
    assert login_as(enterprise).get("/finance/stats").status_code == 403


def test_a_finance_member_registers_with_a_new_institution(client):
    form = text(client.get("/register"))
    assert '<option value="finance"' in form and "金融机构成员选择“金融机构”" in form
    data = {
        "role": "finance",
        "name": "孙经理",
        "email": "sun@bank.example.cn",
        "password": "Passw0rd2026",
        "password_confirm": "Passw0rd2026",
        "org_mode": "new",
        "org_name": "日照某银行科技支行",
        "org_type": "enterprise",
    }
    refused = client.post("/register", data=data)
    assert refused.status_code == 422 and "不能加入企业类机构" in text(refused)
    assert client.post("/register", data={**data, "org_type": "finance"}).status_code == 302
