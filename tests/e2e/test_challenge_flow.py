"""揭榜挂帅 in a real browser: an enterprise posts a challenge and submits it, an admin approves
it, a university applies, the deadline passes (moved in the database, as time would), the
enterprise scores the application and picks it as the winner, and a visitor sees the result."""

from datetime import timedelta

from playwright.sync_api import expect

from marketplace.accounts import services as accounts
from marketplace.challenges.models import Challenge
from marketplace.core.timeutil import local_today, utcnow
from marketplace.extensions import db
from tests.conftest import PASSWORD

TITLE = "港口门机钢丝绳在线损伤检测技术攻关"


def log_in(page, base, email, password=PASSWORD):
    page.goto(base + "/login")
    page.fill("[name=email]", email)
    page.fill("[name=password]", password)
    page.get_by_role("button", name="登录").click()


def test_enterprise_posts_university_applies_enterprise_picks_it(live_server, new_page):
    accounts.create_user({"email": "admin@example.cn", "name": "审核员", "role": "admin", "password": PASSWORD})
    port = accounts.create_org({"name": "日照港机械有限公司", "org_type": "enterprise"}, verified=True)
    univ = accounts.create_org({"name": "日照理工大学", "org_type": "university"}, verified=True)
    for email, name, role, org in (
        ("zhang@port.example.cn", "张经理", "enterprise", port),
        ("wang@univ.example.cn", "王老师", "university", univ),
    ):
        accounts.create_user({"email": email, "name": name, "role": role, "password": PASSWORD}, org)
    db.session.commit()

    # 1. The enterprise writes the challenge and submits it for review.
    enterprise = new_page()
    enterprise.on("dialog", lambda dialog: dialog.accept())
    log_in(enterprise, live_server, "zhang@port.example.cn")
    enterprise.goto(live_server + "/challenges")
    enterprise.get_by_test_id("new-challenge").click()
    enterprise.fill("[name=title]", TITLE)
    enterprise.fill("[name=problem]", "门座起重机钢丝绳断丝、磨损依靠人工目检，漏检率高，需在线检测。")
    enterprise.fill("[name=indicators]", "断丝检出率 ≥ 95%；检测速度 ≥ 1 m/s；误报率 ≤ 5%。")
    enterprise.fill("[name=bounty]", "80万")
    enterprise.fill("[name=deadline_date]", (local_today() + timedelta(days=20)).isoformat())
    enterprise.get_by_test_id("save-submit").click()
    expect(enterprise.get_by_test_id("status-notice")).to_contain_text("待审核")
    expect(enterprise.get_by_test_id("bounty")).to_have_text("80 万元")

    # 2. The administrator approves it from the queue.
    admin = new_page()
    log_in(admin, live_server, "admin@example.cn")
    admin.goto(live_server + "/admin/challenges")
    admin.get_by_test_id("queue-item").filter(has_text=TITLE).get_by_test_id("approve").click()
    expect(admin.locator(".alert").first).to_contain_text("已审核通过")

    # 3. The university finds it and applies.
    teacher = new_page()
    log_in(teacher, live_server, "wang@univ.example.cn")
    teacher.goto(live_server + "/challenges")
    teacher.get_by_role("link", name=TITLE).click()
    expect(teacher.get_by_test_id("countdown")).to_contain_text("还剩")
    teacher.get_by_test_id("apply-button").click()
    teacher.fill("[name=proposal]", "漏磁 + 视觉融合检测，深度学习识别断丝，已在实验室验证检出率 97%。")
    teacher.fill("[name=team]", "机电学院 6 人，负责人王老师。")
    teacher.fill("[name=schedule]", "3 个月样机，3 个月现场试验。")
    teacher.fill("[name=budget]", "75万")
    teacher.get_by_test_id("submit-application").click()
    expect(teacher.get_by_test_id("application-status")).to_have_text("已提交")

    # 4. The deadline passes.
    challenge = db.session.scalar(db.select(Challenge).where(Challenge.title == TITLE))
    challenge.deadline = utcnow() - timedelta(minutes=1)
    db.session.commit()

    # 5. The enterprise scores the application and picks it.
    enterprise.goto(live_server + f"/challenges/{challenge.id}")
    row = enterprise.get_by_test_id("application-row").filter(has_text="日照理工大学")
    row.get_by_test_id("score-link").click()
    for index, value in enumerate(("90", "85", "80", "88")):
        enterprise.fill(f"[name=score_{index}]", value)
    enterprise.fill("[name=comment]", "检测原理成熟，建议补充雨雾天气试验。")
    enterprise.get_by_test_id("save-score").click()
    expect(enterprise.locator(".alert").first).to_contain_text("加权总分 86.30")
    enterprise.goto(live_server + f"/challenges/{challenge.id}")
    enterprise.get_by_label("日照理工大学").check()
    enterprise.get_by_test_id("decide").click()
    expect(enterprise.locator(".alert").first).to_contain_text("揭榜结果已公布")

    # 6. Anyone sees the result; the university sees its outcome and the reviewer's comment.
    visitor = new_page()
    visitor.goto(live_server + f"/challenges/{challenge.id}")
    expect(visitor.get_by_test_id("winner")).to_have_text("日照理工大学")
    expect(visitor.get_by_test_id("phase").first).to_have_text("已揭晓")
    teacher.goto(live_server + "/my/challenges")
    expect(teacher.get_by_test_id("my-applications")).to_contain_text("揭榜成功")
    teacher.get_by_role("link", name="查看").click()
    expect(teacher.get_by_test_id("comment")).to_contain_text("雨雾天气")
