"""The story of the foundation issue, in a real browser: a university user registers, an admin
verifies the organisation, the user publishes an achievement, a visitor finds it in the list."""

from playwright.sync_api import expect

from marketplace.accounts import services as accounts
from marketplace.extensions import db
from tests.conftest import PASSWORD
from tests.e2e.journeys_support import suggestions_settled

TITLE = "深远海养殖网箱智能投喂系统"


def log_in(page, base, email, password=PASSWORD):
    page.goto(base + "/login")
    page.fill("[name=email]", email)
    page.fill("[name=password]", password)
    page.get_by_role("button", name="登录").click()


def test_register_verify_publish_and_find(live_server, new_page):
    accounts.create_user({"email": "admin@example.cn", "name": "审核员", "role": "admin", "password": PASSWORD})
    db.session.commit()

    # 1. A university member registers with a new organisation.
    user = new_page()
    user.goto(live_server + "/register")
    user.select_option("[name=role]", "university")
    user.fill("[name=name]", "王老师")
    user.fill("[name=email]", "wang@rzut.example.cn")
    user.fill("[name=password]", "Haiyang2026")
    user.fill("[name=password_confirm]", "Haiyang2026")
    user.check("#org-mode-new")
    user.fill("[name=org_name]", "日照海洋职业学院")
    user.select_option("[name=org_type]", "university")
    user.fill("[name=org_uscc]", "12371100MB2851445R")
    user.select_option("[name=org_district]", "371102")
    user.get_by_role("button", name="注册").click()
    expect(user.locator("body")).to_contain_text("未认证")

    # 2. An administrator verifies the organisation.
    admin = new_page()
    log_in(admin, live_server, "admin@example.cn")
    admin.goto(live_server + "/admin/organizations?verified=unverified")
    row = admin.locator("tr", has_text="日照海洋职业学院")
    row.get_by_test_id("verify").click()
    expect(admin.locator(".alert")).to_contain_text("日照海洋职业学院")

    # 3. The member writes an achievement and submits it for review.
    user.goto(live_server + "/achievements/new")
    user.fill("[name=title]", TITLE)
    user.fill("[name=summary]", "面向深远海养殖工船与网箱，基于鱼群行为视觉识别的精准投喂系统，饵料利用率提高15%。")
    user.select_option("[name=field]", "0904")
    user.fill("[name=keywords]", "深远海养殖；智能投喂；机器视觉")
    user.select_option("[name=maturity]", "pilot")
    user.select_option("[name=ip_type]", "invention")
    user.fill("[name=patent_numbers]", "ZL201720001285.X")
    user.check("#f-transfer_modes-license")
    user.fill("[name=price]", "80万")
    suggestions_settled(user)
    user.get_by_role("button", name="保存并提交审核").click()
    expect(user.locator("body")).to_contain_text("待审核")

    # 4. The administrator approves it from the review queue.
    admin.goto(live_server + "/admin/reviews")
    admin.locator("li, .card, tr", has_text=TITLE).first.get_by_test_id("approve").click()
    expect(admin.locator(".alert").first).to_contain_text("通过")

    # 5. A visitor finds it in the list and opens it.
    visitor = new_page()
    visitor.goto(live_server + "/achievements")
    visitor.fill("main [name=q]", "智能投喂")
    visitor.locator("main form").first.get_by_role("button", name="筛选").click()
    link = visitor.get_by_role("link", name=TITLE)
    expect(link).to_be_visible()
    link.click()
    expect(visitor.locator("h1")).to_have_text(TITLE)
    expect(visitor.locator("body")).to_contain_text("80 万元")
    expect(visitor.locator("body")).to_contain_text("登录后可查看")  # contact hidden from visitors
