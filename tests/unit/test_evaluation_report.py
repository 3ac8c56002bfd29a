"""The 成果评价报告 PDF, read back with poppler: number, achievement, owner, field, panel, the
per-dimension table, overall and grade, the comments, the model and the disclaimer; the CJK font
embedded; page 1 rasterises."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from marketplace.evaluation import documents
from marketplace.evaluation import services as evaluation
from marketplace.extensions import db
from tests.web.access_evaluation import due, make_expert, published, sheet

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture
def report(make_org, make_user, tmp_path):
    org = make_org(name="日照海洋工程研究院", org_type="university")
    owner = make_user("university", org=org)
    admin = make_user("admin", org=None)
    experts = [
        make_expert("刘建国", title="教授"),
        make_expert("陈海燕", title="研究员"),
        make_expert("杨帆", title="高级工程师"),
        make_expert("黄磊", title="教授"),
    ]
    request = evaluation.create_request(
        owner, published(owner, "深远海养殖网箱智能投喂系统"), {"purpose": "成果转让定价参考"}
    )
    evaluation.assign_panel(request, admin, [e.id for e in experts], due())
    rows = ([80, 85, 70, 90, 75, 60], [85, 80, 75, 85, 80, 65], [90, 78.5, 72, 80, 70, 70.5])
    for expert, scores in zip(experts[:3], rows, strict=True):
        evaluation.submit_scores(request, expert.user, sheet(scores, comment=f"{expert.name}的意见"))
    evaluation.close_panel(request, admin, {experts[3].id: "临时出差"})
    db.session.commit()
    path = tmp_path / "report.pdf"
    path.write_bytes(documents.render_report(request))
    return request, path


def text_of(path) -> str:
    out = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True, check=True).stdout
    return re.sub(r"\s+", "", out.decode("utf-8"))


def test_report_states_the_result_panel_and_model(report):
    request, path = report
    text = text_of(path)
    for expected in (
        "科技成果评价报告",
        request.report_number,
        "深远海养殖网箱智能投喂系统",
        "日照海洋工程研究院",
        "成果转让定价参考",
        "综合得分78.36分",
        "评价等级B良好",
        # per dimension: weight, mean, min, max, weighted
        "创新性20%81.1778.585.016.23",
        "风险15%65.1760.070.59.78",
        "刘建国教授",
        "陈海燕研究员",
        "黄磊",
        "已退出（临时出差）",
        "杨帆的意见（技术成熟度）",
        "总体意见",
        "90分：",
        "不构成任何形式的认证",
    ):
        assert expected in text, expected
    assert re.fullmatch(r"PJ\d{4}\d{6}", request.report_number)


def test_cjk_font_is_embedded_and_page_one_rasterises(report, tmp_path):
    _request, path = report
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, check=True, text=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all("WenQuanYiMicroHei" in row for row in rows), fonts
    assert all(re.search(r"\byes\s+yes\s+yes\b", row) for row in rows), fonts
    subprocess.run(["pdftoppm", "-r", "60", "-png", str(path), str(tmp_path / "page")], check=True)
    shutil.copy(sorted(tmp_path.glob("page*.png"))[0], "/tmp/eval_report_p1.png")
    assert len(list(tmp_path.glob("page*.png"))) >= 2
