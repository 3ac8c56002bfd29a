"""The upload page /import/ and the template download."""

from __future__ import annotations

import csv
import io
import re

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from marketplace.extensions import db
from marketplace.listings.models import Achievement, Demand

HEADER = ["成果名称", "成果简介", "技术领域", "成熟度", "知识产权类型", "转化方式", "联系电话"]
GOOD = ["盐碱地改良剂", "一种改良滨海盐碱地的复合改良剂。", "农业", "中试", "非专利技术", "许可", ""]
BAD = ["电话写错", "简介", "农业", "中试", "非专利技术", "许可", "123"]


def csv_bytes(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode("utf-8-sig")


def upload(client, content: bytes, filename: str = "成果.csv", **fields):
    data = {"kind": "achievement", **fields, "file": (io.BytesIO(content), filename)}
    return client.post("/import/", data=data, content_type="multipart/form-data")


def achievement_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Achievement))


def test_a_university_member_uploads_and_sees_counts_rejections_and_links(university_client):
    page = university_client.get("/import/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "仅检查，不导入" in html and "导入后提交审核" in html and "直接发布" not in html

    response = upload(university_client, csv_bytes([HEADER + ["备注"], GOOD + ["x"], BAD + ["y"]]))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "共 2 行：导入 1 行，拒绝 1 行" in html
    assert re.search(r"<td>3</td>\s*<td>联系电话</td>\s*<td>电话号码格式不正确", html)
    assert "未识别的列：备注" in html
    assert 'href="/my/listings"' in html
    listing = db.session.scalar(select(Achievement))
    assert listing.org_id == university_client.user.active_org.id and listing.status == "draft"
    assert listing.created_by_id == university_client.user.id
    assert re.search(rf'<a href="/achievements/{listing.id}">盐碱地改良剂</a>', html)


def test_dry_run_from_the_page_writes_nothing(university_client):
    response = upload(university_client, csv_bytes([HEADER, GOOD]), dry_run="1")

    assert response.status_code == 200
    assert "仅检查，未写入任何数据" in response.get_data(as_text=True)
    assert achievement_count() == 0


def test_submit_for_review_after_import(university_client):
    response = upload(university_client, csv_bytes([HEADER, GOOD]), submit_review="1")

    assert "提交审核 1 行" in response.get_data(as_text=True)
    assert db.session.scalar(select(Achievement.status)) == "pending"


@pytest.mark.parametrize(
    ("filename", "content", "message"),
    [
        ("成果.txt", b"title\n", "只能导入 .xlsx、.csv 或 .jsonl 文件"),
        ("成果.pdf", b"%PDF-1.4", "只能导入 .xlsx、.csv 或 .jsonl 文件"),
        ("成果.xlsx", b"not a workbook", "不是有效的 Excel"),
        ("成果.csv", b"", "文件是空的"),
    ],
)
def test_a_wrong_or_unreadable_file_gets_a_clear_message_and_writes_nothing(
    university_client, filename, content, message
):
    response = upload(university_client, content, filename)

    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert achievement_count() == 0


def test_a_file_over_the_size_limit_is_refused(app, university_client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_UPLOAD_MB", 1)
    big = csv_bytes([HEADER] + [GOOD] * 20_000)
    assert len(big) > 1024 * 1024

    # encoded in memory: the test client would spool a body this large to an unclosed temp file
    boundary, body = encode_multipart({"kind": "achievement", "file": FileStorage(io.BytesIO(big), "big.csv")})
    response = university_client.post("/import/", data=body, content_type=f"multipart/form-data; boundary={boundary}")

    assert response.status_code == 400
    assert "文件超过1MB的大小限制" in response.get_data(as_text=True)
    assert achievement_count() == 0


def test_missing_file(university_client):
    response = university_client.post("/import/", data={"kind": "achievement"}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "请选择要导入的文件" in response.get_data(as_text=True)


@pytest.mark.parametrize("kind", ["achievement", "demand"])
def test_the_template_is_a_valid_xlsx_with_chinese_headers(client, kind):
    response = client.get(f"/import/template/{kind}.xlsx")

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response.headers["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.data))
    sheet = workbook.worksheets[0]
    headers = [cell.value for cell in sheet[1]]
    if kind == "achievement":
        assert sheet.title == "科技成果"
        for header in (
            "成果名称",
            "成果简介",
            "详细内容",
            "关键词",
            "技术领域",
            "成熟度",
            "知识产权类型",
            "专利号",
            "转化方式",
            "价格",
            "所在区县",
            "联系人",
            "联系电话",
        ):
            assert header in headers
    else:
        assert sheet.title == "技术需求"
        for header in ("需求名称", "需求描述", "技术领域", "需求类型", "预算", "有效期至"):
            assert header in headers
    assert sheet["A2"].value.startswith("示例：")
    guide = workbook["填写说明"]
    values = {cell.value for row in guide.iter_rows() for cell in row if cell.value}
    assert ("已有样品" in values and "发明专利" in values) if kind == "achievement" else "技术难题攻关" in values
    assert "先进制造-自动化与控制" in values and "东港区" in values
    assert sheet.data_validations.dataValidation


def test_the_template_link_is_on_the_page(university_client):
    html = university_client.get("/import/").get_data(as_text=True)
    assert "/import/template/achievement.xlsx" in html and "/import/template/demand.xlsx" in html
    assert client_unknown_kind_is_404(university_client)


def client_unknown_kind_is_404(client) -> bool:
    return client.get("/import/template/other.xlsx").status_code == 404


def test_an_admin_chooses_the_organisation_and_may_publish(admin_client, make_org):
    target = make_org(name="日照职业技术学院", verified=True)
    page = admin_client.get("/import/").get_data(as_text=True)
    assert "日照职业技术学院（已认证）" in page and "直接发布" in page

    rows = [
        ["需求名称", "需求描述", "技术领域", "需求类型"],
        ["海带烘干设备改进", "降低烘干能耗。", "农业", "技术咨询"],
    ]
    response = upload(admin_client, csv_bytes(rows), "需求.csv", kind="demand", org_id=str(target.id), publish="1")

    assert response.status_code == 200, response.get_data(as_text=True)
    assert "直接发布 1 行" in response.get_data(as_text=True)
    demand = db.session.scalar(select(Demand))
    assert demand.org_id == target.id and demand.status == "published"
    assert demand.created_by_id == admin_client.user.id


def test_an_admin_must_choose_an_organisation(admin_client):
    response = upload(admin_client, csv_bytes([HEADER, GOOD]))
    assert response.status_code == 400
    assert "请选择要导入到的机构" in response.get_data(as_text=True)
    assert achievement_count() == 0


def test_an_admin_cannot_publish_for_an_unverified_org(admin_client, make_org):
    target = make_org(verified=False)
    response = upload(admin_client, csv_bytes([HEADER, GOOD]), org_id=str(target.id), publish="1")

    assert response.status_code == 409
    assert "尚未通过平台认证" in response.get_data(as_text=True)
    assert achievement_count() == 0


def test_anonymous_visitors_are_sent_to_login(client):
    response = client.get("/import/")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]
    assert client.post("/import/").status_code == 302


@pytest.mark.parametrize("role", ["official", "broker"])
def test_other_roles_get_403(login_as, make_user, role):
    client = login_as(make_user(role))
    assert client.get("/import/").status_code == 403
    assert upload(client, csv_bytes([HEADER, GOOD])).status_code == 403
    assert achievement_count() == 0


def test_a_member_whose_membership_is_pending_gets_403(login_as, make_user):
    from marketplace.core.taxonomy import MembershipStatus

    client = login_as(make_user("university", membership=MembershipStatus.PENDING))
    response = client.get("/import/")
    assert response.status_code == 403
    assert "尚未批准" in response.get_data(as_text=True)


def test_the_form_carries_a_csrf_token_and_a_post_without_it_is_refused(university_client, csrf_enabled):
    html = university_client.get("/import/").get_data(as_text=True)
    assert re.search(
        r'<form method="post" enctype="multipart/form-data"[^>]*>\s*<input type="hidden" name="csrf_token"', html
    )

    response = upload(university_client, csv_bytes([HEADER, GOOD]))

    assert response.status_code == 400
    assert achievement_count() == 0
