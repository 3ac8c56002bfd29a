"""One journey per persona in a real browser (issue 9 §6): a visitor, a university's
technology-transfer office, an enterprise, a broker, an official and the administrator each go
through the pages they come for, by clicks and typing, checking what they see at every step.
Full-page screenshots of the key pages are saved as CI artifacts, named
tests/e2e/artifacts/<persona>-<n>-<step>.png; before each picture the camera fails the step if
the page shows a template leftover (None, undefined, {{ … }}), an error page or a raw taxonomy
code (pending, license_patent, …) instead of its Chinese label.

Each world is built through the services (journeys_support); the only service call in the
middle of a journey is the platform's review for the university and the enterprise, which the
admin journey does through the review queue."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from marketplace.core.timeutil import local_today
from tests.e2e.journeys_support import (
    ADMIN,
    ARTIFACTS,
    CONTRACT,
    EXPERT_PHONE,
    OFFERING,
    PENDING_TITLE,
    SECOND_LIFE,
    SECRET_DETAIL,
    SOLID_STATE,
    Camera,
    admin_world,
    approve_listing,
    broker_world,
    enterprise_world,
    log_in,
    official_world,
    open_services_menu,
    suggestions_settled,
    university_world,
    visitor_world,
)


@pytest.fixture
def artifacts() -> Path:
    """Where the screenshots go: tests/e2e/artifacts/ (ignored by git, kept by CI)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def flash(page):
    return page.locator(".alert").first


def listing_id_of(url: str) -> int:
    return int(re.search(r"/(\d+)(?:[/?#]|$)", url).group(1))


def test_visitor_searches_filters_and_sees_only_public_data(live_server, new_page, index, artifacts):
    visitor_world()
    camera = Camera("visitor", artifacts)
    page = new_page()

    # 1. The home page counts what is published (the listing under review is not counted).
    page.goto(live_server + "/")
    counts = page.get_by_test_id("counts")
    expect(counts.locator(".hero-stat", has_text="项科技成果").locator("strong")).to_have_text("3")
    expect(page.get_by_test_id("latest-achievements")).not_to_contain_text(PENDING_TITLE)
    camera.shoot(page, "home")

    # 2. A Chinese query from the hero box: both 锂电池 achievements, never the unpublished one.
    hero = page.get_by_test_id("hero-search")
    hero.get_by_role("searchbox").fill("锂电池")
    hero.get_by_role("button", name="搜索").click()
    expect(page.get_by_test_id("result-count")).to_contain_text("找到 2 条科技成果")
    results = page.get_by_test_id("results")
    expect(results.get_by_test_id("search-hit")).to_have_count(2)
    expect(results).to_contain_text(SOLID_STATE)
    expect(results).to_contain_text(SECOND_LIFE)
    expect(results).not_to_contain_text(PENDING_TITLE)
    expect(results.locator("mark").first).to_have_text("锂电池")  # the match is highlighted
    camera.shoot(page, "search")

    # 3. The 成熟度 facet narrows to the 中试 one and shows a removable chip.
    maturity = page.locator("[data-testid=facet][data-param=maturity]")
    expect(maturity).to_contain_text("中试")
    maturity.get_by_role("link", name="中试").click()
    expect(page.get_by_test_id("result-count")).to_contain_text("找到 1 条科技成果")
    expect(page.get_by_test_id("chip")).to_contain_text("中试")
    expect(results).not_to_contain_text(SECOND_LIFE)
    camera.shoot(page, "facet")

    # 4. The detail page: public facts, but the confidential detail and the contacts are locked.
    results.get_by_test_id("hit-link").click()
    expect(page.locator("h1")).to_have_text(SOLID_STATE)
    expect(page.get_by_test_id("price")).to_have_text("120 万元")
    expect(page.get_by_test_id("patents")).to_contain_text("ZL201720001285.X")
    expect(page.get_by_test_id("detail-locked")).to_contain_text("登录并加入通过认证的机构后可查看详细技术内容")
    expect(page.get_by_test_id("contact-locked")).to_contain_text("登录后可查看联系人和联系电话")
    body = page.locator("body")
    expect(body).not_to_contain_text(SECRET_DETAIL)
    expect(body).not_to_contain_text("0633-8123456")
    camera.shoot(page, "detail")

    # 5. 科技服务 › 服务机构: the 1+7+N catalogue with the provider's service.
    open_services_menu(page, "服务机构（1+7+N）")
    expect(page.locator("h1")).to_contain_text("科技服务")
    card = page.get_by_test_id("offering-card").filter(has_text=OFFERING)
    expect(card).to_contain_text("日照技术转移服务中心")
    expect(card).to_contain_text("约 30 天")
    camera.shoot(page, "services")

    # 6. 科技服务 › 科技人才库: the expert's page keeps the phone private.
    open_services_menu(page, "科技人才库")
    expect(page.get_by_test_id("expert-card")).to_have_count(1)
    page.get_by_test_id("expert-card").get_by_role("link", name="刘海涛").first.click()
    expect(page.get_by_test_id("expert-name")).to_contain_text("刘海涛")
    expect(page.get_by_test_id("contact-hidden")).to_be_visible()
    expect(body).not_to_contain_text(EXPERT_PHONE)
    camera.shoot(page, "expert")

    # 7. The login page, and a wrong password answered in Chinese.
    page.get_by_role("navigation").get_by_role("link", name="登录", exact=True).click()
    expect(page.locator("h1")).to_have_text("登录科技淘宝")
    page.get_by_label("邮箱").fill("wang@rzut.example.cn")
    page.get_by_label("密码").fill("wrong-password-1")
    page.get_by_role("button", name="登录").click()
    expect(page.locator("[data-field-error=password]")).to_have_text("邮箱或密码错误")
    camera.shoot(page, "login")


UNIV_TITLE = "深远海养殖工船智能投喂系统"


def test_university_publishes_an_achievement_builds_its_team_and_requests_an_evaluation(
    live_server, new_page, index, artifacts
):
    university_world()
    camera = Camera("university", artifacts)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())

    # 1. The office logs in and starts from the home page's call to action.
    log_in(page, live_server, "chen@ocean.example.cn")
    expect(flash(page)).to_contain_text("欢迎回来，陈研究员")
    expect(page.get_by_test_id("cta")).to_contain_text("日照海洋科学研究院")
    camera.shoot(page, "logged-in")

    # 2. The form: IP, maturity, transfer modes and price among the fields.
    page.get_by_test_id("cta").get_by_role("link", name="发布科技成果").click()
    expect(page.locator("h1")).to_have_text("发布科技成果")
    page.get_by_label("成果名称").fill(UNIV_TITLE)
    page.get_by_label("技术领域").select_option(label="\u3000先进制造 › 船舶与海洋工程装备")
    page.get_by_label("关键词").fill("深远海养殖；智能投喂；机器视觉")
    page.get_by_label("成果简介").fill(
        "面向深远海养殖工船与网箱，基于鱼群行为视觉识别的精准投喂系统，饵料利用率提高 15%。"
    )
    page.get_by_label("技术优势").fill("投喂量随鱼群摄食强度自动调节，单船可管理 12 个养殖舱。")
    page.get_by_label("成熟度").select_option(label="中试")
    page.get_by_label("知识产权类型").select_option(label="发明专利")
    page.get_by_label("专利号").fill("ZL201720001285.X")
    page.get_by_label("许可", exact=True).check()
    page.get_by_label("作价入股").check()
    page.get_by_label("参考价格").fill("80万")
    page.get_by_label("联系人").fill("陈研究员")
    page.get_by_label("联系电话").fill("0633-8778899")
    suggestions_settled(page)
    camera.shoot(page, "form")

    # 3. Saved and submitted: the page says it waits for the platform's review.
    page.get_by_role("button", name="保存并提交审核").click()
    expect(page.locator("h1")).to_have_text(UNIV_TITLE)
    expect(page.get_by_test_id("status-notice")).to_contain_text("待审核")
    expect(page.get_by_test_id("status-notice")).to_contain_text("已提交，等待平台审核")
    camera.shoot(page, "pending")

    # 4. Once the platform approves it, the page is public: price, modes, the history.
    achievement_id = listing_id_of(page.url)
    approve_listing("achievement", achievement_id, ADMIN)
    page.reload()
    expect(page.get_by_test_id("status-notice")).to_have_count(0)
    expect(page.get_by_test_id("price")).to_have_text("80 万元")
    facts = page.locator(".facts")
    expect(facts).to_contain_text("中试")
    expect(facts).to_contain_text("许可")
    expect(facts).to_contain_text("作价入股")
    expect(page.get_by_test_id("history")).to_contain_text("待审核 → 已发布")
    camera.shoot(page, "published")
    visitor = new_page()  # and anyone finds it in the list of achievements
    visitor.goto(live_server + "/")
    visitor.get_by_role("navigation").get_by_role("link", name="科技成果", exact=True).click()
    visitor.get_by_role("link", name=UNIV_TITLE).click()
    expect(visitor.get_by_test_id("price")).to_have_text("80 万元")
    expect(visitor.get_by_test_id("contact-locked")).to_be_visible()

    # 5. The team page: add the institute's expert as 负责人.
    page.get_by_test_id("manage-team").click()
    page.get_by_label("专家").select_option(label="赵立新（研究员） · 日照海洋科学研究院")
    page.get_by_label("团队角色").fill("负责人")
    page.get_by_test_id("add-member").click()
    expect(flash(page)).to_contain_text("已添加团队成员")
    expect(page.get_by_test_id("team-member")).to_contain_text("赵立新")
    camera.shoot(page, "team")

    # 6. Back on the achievement: the team is shown; request an evaluation.
    page.get_by_role("navigation", name="breadcrumb").get_by_role("link").first.click()
    expect(page.get_by_test_id("achievement-team").get_by_test_id("team-member")).to_contain_text("负责人")
    page.get_by_test_id("request-evaluation").click()
    expect(page.get_by_label("科技成果")).to_have_value(str(achievement_id))
    page.get_by_label("评价目的").fill("成果作价入股定价参考")
    page.get_by_test_id("submit-evaluation").click()
    expect(page.get_by_test_id("evaluation-status")).to_have_text("待组建专家组")
    expect(page.locator("body")).to_contain_text(UNIV_TITLE)
    camera.shoot(page, "evaluation")


DEMAND_TITLE = "高炉煤气余热高效回收利用技术"


def test_enterprise_posts_a_demand_searches_asks_requests_a_service_and_applies_for_a_loan(
    live_server, new_page, index, artifacts
):
    world = enterprise_world()
    camera = Camera("enterprise", artifacts)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "zhang@steel.example.cn")

    # 1. A technical demand through the form, submitted for review.
    page.get_by_test_id("cta").get_by_role("link", name="发布技术需求").click()
    page.get_by_label("需求名称").fill(DEMAND_TITLE)
    page.get_by_label("技术领域").select_option(label="\u3000新能源与高效节能 › 高效节能")
    page.get_by_label("需求类型").select_option(label="成果引进")
    page.get_by_label("关键词").fill("余热回收；高炉煤气；节能")
    page.get_by_label("需求描述").fill(
        "我公司两座高炉煤气余热未充分利用，寻求成熟的余热回收发电技术，吨铁节能 10 kgce 以上。"
    )
    page.get_by_label("预算").fill("100-300万")
    page.get_by_label("有效期至").fill((local_today() + timedelta(days=180)).isoformat())
    suggestions_settled(page)
    page.get_by_role("button", name="保存并提交审核").click()
    expect(page.locator("h1")).to_have_text(DEMAND_TITLE)
    expect(page.get_by_test_id("status-notice")).to_contain_text("待审核")
    expect(page.get_by_test_id("price")).to_have_text("100 万元 – 300 万元")
    camera.shoot(page, "demand")
    approve_listing("demand", listing_id_of(page.url), ADMIN)

    # 2. Search achievements from the navbar box.
    box = page.get_by_test_id("nav-search").get_by_role("searchbox")
    box.fill("氢冶金")
    box.press("Enter")
    expect(page.get_by_test_id("result-count")).to_contain_text("找到 1 条科技成果")
    camera.shoot(page, "search")

    # 3. A 合作意向 from the achievement's page opens a thread in 消息.
    page.get_by_test_id("hit-link").click()
    expect(page.locator("h1")).to_have_text(world["achievement"])
    expect(page.get_by_test_id("contact")).to_contain_text("0633-8888888")  # a verified member sees it
    inquiry = page.get_by_test_id("inquiry-form")
    inquiry.get_by_label("留言").fill("我公司拟建氢冶金示范线，希望了解竖炉工艺包与许可条件，可否下周面谈？")
    inquiry.get_by_role("button", name="发送合作意向").click()
    expect(flash(page)).to_contain_text("合作意向已发送")
    expect(page.get_by_test_id("message")).to_have_count(1)
    expect(page.get_by_test_id("messages")).to_contain_text("竖炉工艺包")
    camera.shoot(page, "inquiry")

    # 4. 科技服务 › 服务机构: the 知识产权 line, then a request linked to the demand.
    open_services_menu(page, "服务机构（1+7+N）")
    page.get_by_test_id("categories").locator("[data-category=ip]").click()
    page.get_by_test_id("offering-card").get_by_role("link", name="专利导航与布局分析").click()
    page.get_by_test_id("request-service").click()
    page.get_by_label("请求主题").fill("氢冶金引进技术的专利自由实施分析")
    page.get_by_label("需求描述").fill("拟引进氢基竖炉技术，需评估国内相关专利的侵权风险。")
    page.get_by_label("关联本机构的成果或需求").select_option(label=f"[需求] {DEMAND_TITLE}")
    page.get_by_role("button", name="提交请求").click()
    expect(page.get_by_test_id("request-status")).to_have_text("待受理")
    expect(page.locator("h1")).to_have_text("氢冶金引进技术的专利自由实施分析")
    camera.shoot(page, "service-request")

    # 5. 科技服务 › 科技金融: apply for the bank's 科技成果转化贷款.
    open_services_menu(page, "科技金融")
    page.get_by_test_id("product-item").filter(has_text=world["product"]).click()
    expect(page.get_by_test_id("product-rate")).to_have_text("3.45% – 4.35%")
    page.get_by_test_id("apply-product").click()
    page.get_by_label("申请金额").fill("300万")
    page.get_by_label("期限（月）").fill("24")
    page.get_by_label("资金用途").fill("用于氢冶金示范线的技术引进与设备改造。")
    page.get_by_role("button", name="提交申请").click()
    expect(flash(page)).to_contain_text("融资申请已提交")
    expect(page.get_by_test_id("application-status")).to_have_text("已提交")
    expect(page.get_by_test_id("amount-requested")).to_contain_text("300")
    camera.shoot(page, "finance")


def test_broker_introduces_opens_a_deal_moves_it_and_reads_the_pricing_reference(
    live_server, new_page, index, artifacts
):
    world = broker_world()
    camera = Camera("broker", artifacts)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "li@tto.example.cn")

    # 1. 撮合看板: the open demand and its candidate, with a score and the reasons.
    page.get_by_test_id("nav-board").click()
    summary = page.get_by_test_id("board-summary")
    expect(summary.locator(".board-stat", has_text="待撮合需求").locator("strong")).to_have_text("1")
    expect(summary.locator(".board-stat", has_text="未引荐").locator("strong")).to_have_text("1")
    row = page.get_by_test_id("board-row").filter(has_text=world["demand"])
    expect(row.get_by_test_id("intro-count")).to_have_text("未引荐")
    candidate = row.get_by_test_id("candidate").filter(has_text=world["achievement"])
    expect(candidate.get_by_test_id("reasons")).to_contain_text("领域一致")
    camera.shoot(page, "board")

    # 2. 引荐 with a note.
    candidate.locator("summary", has_text="附说明").click()
    candidate.get_by_placeholder("写给双方的引荐说明（可选）").fill("双方技术路线一致，建议先做工艺包评估。")
    candidate.get_by_test_id("introduce").click()
    expect(flash(page)).to_contain_text(f"已引荐：《{world['achievement']}》→《{world['demand']}》，已通知双方机构")
    expect(row.get_by_test_id("intro-count")).to_have_text("已引荐 1 项")
    expect(candidate.get_by_test_id("introduced")).to_be_visible()
    camera.shoot(page, "introduced")

    # 3. 我的引荐 → 转为项目: the parties come from the introduction.
    summary.locator(".board-stat", has_text="我的引荐").click()
    expect(page.get_by_test_id("introduction")).to_contain_text("双方技术路线一致")
    page.get_by_test_id("open-deal").click()
    expect(page.get_by_test_id("fixed-seller_org_id")).to_contain_text("山东冶金研究院")
    expect(page.get_by_test_id("fixed-buyer_org_id")).to_contain_text("日照钢铁有限公司")
    page.get_by_label("预计成交额").fill("200万")
    page.get_by_label("佣金方式").select_option(label="按成交额比例")
    page.get_by_label("佣金比例（%）").fill("5")
    page.get_by_label("佣金支付方").select_option(label="买方支付")
    page.get_by_role("button", name="开设项目").click()
    expect(page.get_by_test_id("stage")).to_have_text("意向")
    expect(page.get_by_test_id("expected-value")).to_contain_text("200")
    camera.shoot(page, "deal")

    # 4. The deal moves 意向 → 洽谈, with the reason in the timeline.
    page.get_by_label("阶段变更说明").first.fill("双方已约定下周技术交流")
    page.get_by_test_id("advance").first.click()
    expect(page.get_by_test_id("stage")).to_have_text("洽谈")
    expect(page.get_by_test_id("stepper").locator("li.current")).to_have_text("洽谈")
    expect(page.get_by_test_id("timeline")).to_contain_text("双方已约定下周技术交流")
    camera.shoot(page, "stage")

    # 5. From the deal to the achievement, and its 技术定价参考 of registered contracts.
    page.get_by_role("link", name=f"科技成果：{world['achievement']}").click()
    page.get_by_test_id("pricing-link").click()
    expect(page.get_by_test_id("case-title")).to_have_text(world["achievement"])
    expect(page.get_by_test_id("comparables").locator("tbody tr")).to_have_count(3)
    expect(page.get_by_test_id("quartiles")).to_contain_text("200.00")  # the median of 100/200/300 万元
    expect(page.get_by_test_id("few-warning")).to_contain_text("可比合同仅 3 份")
    camera.shoot(page, "pricing")


def test_official_reads_the_dashboard_registers_a_contract_and_reads_finance_figures(live_server, new_page, artifacts):
    world = official_world()
    camera = Camera("official", artifacts)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "zhao@kjj.example.cn")

    # 1. 统计: last year's turnover, with the charts drawn.
    page.get_by_test_id("nav-stats").click()
    expect(page.locator("h1")).to_contain_text("技术合同成交额统计")
    page.get_by_label("年度").select_option(str(world["last_year"]))
    page.get_by_test_id("filter-submit").click()
    expect(page.get_by_test_id("kpi-output")).to_contain_text("234.57")
    expect(page.get_by_test_id("kpi-output")).to_contain_text("3 项")
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    expect(page.locator("#chart-field canvas")).to_have_count(1)
    camera.shoot(page, "stats")

    # 2. 合同登记: one contract waits.
    page.get_by_test_id("nav-registry").click()
    tabs = page.get_by_test_id("registry-tabs")
    expect(tabs.get_by_role("link", name=re.compile("待登记"))).to_contain_text("1")
    row = page.get_by_test_id("registry-row").filter(has_text=CONTRACT)
    expect(row).to_contain_text("1,234,567.89")
    camera.shoot(page, "registry")

    # 3. The contract: check the technology amount and register it.
    row.get_by_role("link", name=CONTRACT).click()
    expect(page.get_by_test_id("detail-technology-amount")).to_contain_text("999,999.99")
    page.get_by_test_id("register").click()
    number = f"{local_today().year}371100000001"
    expect(page.get_by_test_id("registration-number").first).to_have_text(number)
    expect(page.get_by_test_id("contract-status")).to_have_text("已登记")
    camera.shoot(page, "registered")

    # 4. The registry's 已登记 tab lists it under its number.
    page.get_by_test_id("nav-registry").click()
    page.get_by_test_id("registry-tabs").get_by_role("link", name=re.compile("已登记")).click()
    expect(page.get_by_test_id("registry-row").filter(has_text=CONTRACT)).to_contain_text(number)

    # 5. 科技金融统计 from the dashboard: the disbursed loan is counted.
    page.get_by_test_id("nav-stats").click()
    page.get_by_test_id("open-finance-stats").click()
    expect(page.locator("h1")).to_contain_text("科技金融统计")
    expect(page.get_by_test_id("disbursed-total")).to_contain_text("300")
    expect(page.locator("#chart-finance-target canvas")).to_have_count(1)
    camera.shoot(page, "finance-stats")


def test_admin_approves_a_listing_verifies_an_organisation_and_finds_both_in_the_audit_log(
    live_server, new_page, artifacts
):
    world = admin_world()
    camera = Camera("admin", artifacts)
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, ADMIN)

    # 1. 管理后台: what waits.
    page.get_by_role("navigation").get_by_role("link", name="管理后台").click()
    expect(page.get_by_test_id("card-pending-achievements").locator("[data-count]")).to_have_text("1")
    expect(page.get_by_test_id("card-unverified-orgs").locator("[data-count]")).to_have_text("1")
    camera.shoot(page, "dashboard")

    # 2. The review queue: approve the achievement.
    page.get_by_test_id("card-pending-achievements").click()
    item = page.get_by_test_id("review-item").filter(has_text=world["listing"])
    expect(item).to_contain_text("日照理工大学")
    camera.shoot(page, "queue")
    item.get_by_test_id("approve").click()
    expect(flash(page)).to_contain_text("通过")
    expect(page.get_by_test_id("review-item")).to_have_count(0)
    expect(page.get_by_test_id("empty-state")).to_contain_text("没有待审核的科技成果")
    camera.shoot(page, "approved")

    # 3. 机构管理: verify the newcomer.
    page.get_by_test_id("admin-nav").get_by_role("link", name=re.compile("机构管理")).click()
    org_row = page.get_by_test_id("org-table").locator("tr", has_text=world["newcomer"])
    expect(org_row).to_contain_text("未认证")
    org_row.get_by_test_id("verify").click()
    expect(flash(page)).to_contain_text(f"已认证“{world['newcomer']}”")
    expect(page.get_by_test_id("org-table").locator("tr", has_text=world["newcomer"])).to_contain_text("已认证")
    camera.shoot(page, "verified")

    # 4. 审计日志: both decisions, by the admin, with the state change.
    page.get_by_test_id("admin-nav").get_by_role("link", name=re.compile("审计日志")).click()
    table = page.get_by_test_id("audit-table")
    approved = table.locator("tr", has_text=world["listing"]).filter(has=page.locator("[data-action=approve]"))
    expect(approved).to_contain_text("待审核")
    expect(approved).to_contain_text("已发布")
    expect(approved).to_contain_text("平台管理员")
    verified = table.locator("tr", has_text=world["newcomer"]).filter(has=page.locator("[data-action=verify]"))
    expect(verified).to_have_count(1)
    expect(verified).to_contain_text(ADMIN)
    camera.shoot(page, "audit")
