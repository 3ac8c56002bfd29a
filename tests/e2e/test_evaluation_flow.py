"""成果评价 in a real browser: the owner requests an evaluation from the achievement page, the
admin assigns a panel of three experts, each expert logs in and scores, the admin closes the
panel, and the owner sees the badge on the listing and downloads the report (read back with
poppler's pdftotext: the overall score and the grade are in it)."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from marketplace.accounts import services as accounts
from marketplace.core.timeutil import local_today
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.resources.models import Expert
from tests.conftest import PASSWORD, _advance, achievement_data

TITLE = "港口散货智能抑尘系统"
SCORES = ([80, 85, 70, 90, 75, 60], [85, 80, 75, 85, 80, 65], [90, 78.5, 72, 80, 70, 70.5])  # → 78.36, B
CODES = ("maturity", "innovation", "ip", "market", "team", "risk")


def log_in(page, base, email, password=PASSWORD):
    page.goto(base + "/login")
    page.fill("[name=email]", email)
    page.fill("[name=password]", password)
    page.get_by_role("button", name="登录").click()


def pdf_text(path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("NOTICE: poppler-utils (pdftotext) not installed — PDF text not checked")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True).stdout


def test_owner_requests_admin_assigns_experts_score_owner_gets_badge_and_report(live_server, new_page):
    accounts.create_user({"email": "admin@example.cn", "name": "审核员", "role": "admin", "password": PASSWORD})
    univ = accounts.create_org({"name": "日照理工大学", "org_type": "university"}, verified=True)
    owner = accounts.create_user(
        {"email": "wang@univ.example.cn", "name": "王老师", "role": "university", "password": PASSWORD}, univ
    )
    experts = []
    for i, (name, org_name) in enumerate(
        (("刘海涛", "日照海洋科学研究院"), ("陈雪梅", "鲁东南农业科学研究所"), ("赵立新", "日照港研究院"))
    ):
        org = accounts.create_org({"name": org_name, "org_type": "institute"}, verified=True)
        user = accounts.create_user(
            {"email": f"expert{i}@example.cn", "name": name, "role": "university", "password": PASSWORD}, org
        )
        expert = Expert(name=name, organization_id=org.id, user_id=user.id, title="研究员", field_codes=["0303"])
        db.session.add(expert)
        experts.append((expert, user))
    achievement = listings.create_listing("achievement", owner, achievement_data(title=TITLE, patent_numbers=""))
    db.session.commit()
    _advance(achievement, owner, "published")

    # 1. The owner requests an evaluation from the achievement page.
    page = new_page()
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(page, live_server, "wang@univ.example.cn")
    page.goto(f"{live_server}/achievements/{achievement.id}")
    page.get_by_test_id("request-evaluation").click()
    page.fill("[name=purpose]", "成果转让定价参考")
    page.get_by_test_id("submit-evaluation").click()
    expect(page.get_by_test_id("evaluation-status")).to_have_text("待组建专家组")
    detail_url = page.url

    # 2. The admin assigns three experts and a due date.
    admin = new_page()
    log_in(admin, live_server, "admin@example.cn")
    admin.goto(detail_url)
    for expert, _user in experts:
        admin.check(f"#expert-{expert.id}")
    admin.fill("[name=due_date]", (local_today() + timedelta(days=14)).isoformat())
    admin.get_by_test_id("assign-panel").click()
    expect(admin.get_by_test_id("evaluation-status")).to_have_text("专家组已组建")
    expect(admin.get_by_test_id("panel-member")).to_have_count(3)

    # 3. Each expert logs in, finds the task and scores all six dimensions.
    for (expert, user), scores in zip(experts, SCORES, strict=True):
        reviewer = new_page()
        log_in(reviewer, live_server, user.email)
        reviewer.goto(live_server + "/evaluations/tasks")
        reviewer.get_by_test_id("task-row").filter(has_text=TITLE).get_by_test_id("score-link").click()
        for code, value in zip(CODES, scores, strict=True):
            reviewer.fill(f"[name={code}]", str(value))
            reviewer.fill(f"[name={code}_comment]", f"{expert.name}：{code} 评语")
        reviewer.fill("[name=opinion]", "建议推进转化。")
        reviewer.get_by_test_id("submit-scores").click()
        expect(reviewer.locator(".alert-success").first).to_contain_text("评分已保存")
        expect(reviewer.get_by_test_id("result")).to_have_count(0)  # nothing of the others yet
        reviewer.context.close()

    # 4. The admin closes the panel.
    admin.goto(detail_url)
    admin.get_by_test_id("close-panel").click()
    expect(admin.get_by_test_id("evaluation-status")).to_have_text("已完成")
    expect(admin.get_by_test_id("overall")).to_contain_text("78.36")

    # 5. The owner sees the badge on the listing and downloads the report.
    page.goto(f"{live_server}/achievements/{achievement.id}")
    badge = page.get_by_test_id("evaluation-badge")
    expect(badge).to_contain_text(re.compile(r"已评价 · B 良好 · 78\.36 分 · \d{4}-\d{2}-\d{2}"))
    badge.click()
    expect(page.get_by_test_id("grade")).to_have_text("B 良好")
    with page.expect_download() as download:
        page.get_by_test_id("download-report").click()
    text = re.sub(r"\s+", "", pdf_text(download.value.path()))
    assert "综合得分78.36分" in text and "评价等级B良好" in text and TITLE in text
