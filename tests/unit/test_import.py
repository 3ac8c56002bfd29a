"""Bulk import: files in each format, rejected rows with line/column/reason, dry run, duplicate
patents, unknown columns, publishing, and the `flask listings import` command."""

from __future__ import annotations

import csv
import json
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, select

from marketplace.core.audit import AuditLog
from marketplace.core.errors import Conflict, PermissionDenied, ValidationFailed
from marketplace.extensions import db
from marketplace.listings import importer, services
from marketplace.listings.importer import ImportFileError
from marketplace.listings.models import Achievement, AchievementPatent, Demand

HEADER = [
    "成果名称",
    "成果简介",
    "技术领域",
    "关键词",
    "成熟度",
    "知识产权类型",
    "专利号",
    "转化方式",
    "价格",
    "联系人",
    "联系电话",
]
GOOD = [
    "海水淡化膜组件",
    "一种耐污染的反渗透膜组件。",
    "新材料及其应用",
    "膜材料；海水淡化",
    "已有样品",
    "发明专利",
    "ZL201720001285.X",
    "转让；许可",
    "50万元",
    "王老师",
    "0633-8888888",
]
GOOD_2 = [
    "智能灌溉控制器",
    "按土壤墒情自动灌溉。",
    "农业-农业机械与智慧农业",
    "灌溉,墒情",
    "小试",
    "非专利技术",
    "",
    "合作开发",
    "面议",
    "",
    "",
]
PATENT_2 = "2017200012864"  # a second valid application number, bare form


# ---------------------------------------------------------------------------------------------
# helpers


def write_xlsx(path: Path, rows: list[list], title: str = "Sheet1") -> Path:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def write_csv(path: Path, rows: list[list], encoding: str = "utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def write_jsonl(path: Path, records: list) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def run(path: Path, org, actor, **options) -> importer.ImportResult:
    return importer.import_file(path.read_bytes(), path.name, org, actor, **options)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def errors_of(result) -> list[tuple[int, str, str]]:
    return [(row.line, e.column, e.reason) for row in result.rejected_rows for e in row.errors]


@pytest.fixture
def member(make_user):
    return make_user("university", manager=True)


@pytest.fixture
def org(member):
    return member.active_org


# ---------------------------------------------------------------------------------------------
# good files in each format


def test_xlsx_with_chinese_labels_imports_drafts_owned_by_the_org(tmp_path, org, member):
    path = write_xlsx(tmp_path / "成果.xlsx", [HEADER, GOOD, GOOD_2])

    result = run(path, org, member)

    assert (result.total, result.imported, result.rejected) == (2, 2, 0)
    assert result.kind == "achievement" and result.warnings == []
    first, second = (db.session.get(Achievement, i) for i in result.ids)
    assert first.status == "draft" and first.org_id == org.id and first.created_by_id == member.id
    assert first.field_code == "05" and first.maturity == "sample" and first.ip_type == "invention"
    assert first.keywords == ["膜材料", "海水淡化"] and first.transfer_modes == ["transfer", "license"]
    assert first.patent_numbers == ["ZL201720001285.X"]
    assert (first.price_kind, str(first.price_low)) == ("fixed", "500000.00")
    assert (first.contact_name, first.contact_phone) == ("王老师", "0633-8888888")
    assert second.field_code == "0905" and second.maturity == "lab" and second.transfer_modes == ["co_develop"]
    assert second.price_kind == "negotiable"
    actions = db.session.scalars(select(AuditLog.action).where(AuditLog.object_type == "achievement")).all()
    assert actions == ["create", "create"]
    summary = db.session.scalar(select(AuditLog).where(AuditLog.action == "import"))
    assert summary.object_id == org.id and summary.details["imported"] == 2


def test_csv_with_chinese_headers_in_utf8_with_bom(tmp_path, org, member):
    path = write_csv(tmp_path / "a.csv", [HEADER, GOOD, GOOD_2], encoding="utf-8-sig")

    result = run(path, org, member)

    assert (result.imported, result.rejected) == (2, 0)
    assert db.session.get(Achievement, result.ids[0]).title == "海水淡化膜组件"


def test_csv_saved_by_excel_as_gb18030(tmp_path, org, member):
    path = write_csv(tmp_path / "gbk.csv", [HEADER, GOOD], encoding="gb18030")
    assert not path.read_bytes().startswith(b"\xef\xbb\xbf")

    result = run(path, org, member)

    assert result.imported == 1
    listing = db.session.get(Achievement, result.ids[0])
    assert listing.title == "海水淡化膜组件" and listing.keywords == ["膜材料", "海水淡化"]


def test_csv_with_english_keys_and_codes_without_bom(tmp_path, org, member):
    rows = [
        ["title", "summary", "field", "maturity", "ip_type", "transfer_modes", "price"],
        ["代码写法", "用代码而不是中文名称。", "0303", "pilot", "software", "equity license", "5-10万"],
    ]
    path = write_csv(tmp_path / "codes.csv", rows, encoding="utf-8")

    result = run(path, org, member)

    listing = db.session.get(Achievement, result.ids[0])
    assert (listing.maturity, listing.ip_type, listing.transfer_modes) == ("pilot", "software", ["equity", "license"])
    assert (listing.price_kind, str(listing.price_low), str(listing.price_high)) == ("range", "50000.00", "100000.00")


def test_jsonl_with_lists_and_both_forms_of_contact(tmp_path, org, member):
    records = [
        {
            "title": "甲",
            "summary": "简介甲",
            "field": "电子信息",
            "keywords": ["芯片", "封装"],
            "maturity": "已有样品",
            "ip_type": "实用新型专利",
            "patent_numbers": ["ZL201720001285.X"],
            "transfer_modes": ["完全转让", "技术入股"],
            "price": 120000,
            "district": "岚山区",
            "contact": "王老师 13800138000",
        },
        {
            "title": "乙",
            "summary": "简介乙",
            "field": "电子信息",
            "keywords": "传感器、物联网 低功耗",
            "maturity": "通过小试",
            "ip_type": "非专利技术",
            "transfer_modes": "其他",
            "detail": "保密的详细内容",
            "contact": {"name": "李工", "phone": "0633-2222222", "email": "li@example.cn"},
        },
    ]
    path = write_jsonl(tmp_path / "a.jsonl", records)

    result = run(path, org, member)

    assert (result.imported, result.rejected) == (2, 0), result.rejected_rows
    first, second = (db.session.get(Achievement, i) for i in result.ids)
    assert first.ip_type == "utility" and first.transfer_modes == ["transfer", "equity"]
    assert first.district == "371103" and str(first.price_low) == "120000.00"
    assert (first.contact_name, first.contact_phone) == ("王老师", "13800138000")
    assert second.keywords == ["传感器", "物联网", "低功耗"] and second.detail == "保密的详细内容"
    assert (second.contact_name, second.contact_phone, second.contact_email) == (
        "李工",
        "0633-2222222",
        "li@example.cn",
    )


def test_demands_from_jsonl_are_detected_without_a_kind(tmp_path, make_user):
    owner = make_user("enterprise")
    records = [
        {
            "title": "LED恒流驱动",
            "description": "寻求LED恒流供电方案。",
            "field": "电子信息",
            "keywords": "LED",
            "demand_type": "技术难题攻关",
            "budget": "10-20万",
            "valid_until": "2099-12-31",
            "contact": "李经理 13800138000",
        }
    ]
    path = write_jsonl(tmp_path / "demands.jsonl", records)

    result = run(path, owner.active_org, owner)

    assert result.kind == "demand" and result.imported == 1
    demand = db.session.get(Demand, result.ids[0])
    assert demand.demand_type == "tackle" and demand.valid_until.isoformat() == "2099-12-31"
    assert (demand.budget_kind, str(demand.budget_high)) == ("range", "200000.00")


def test_demand_csv_with_chinese_headers_is_detected(tmp_path, make_user):
    owner = make_user("enterprise")
    rows = [
        ["需求名称", "需求描述", "技术领域", "需求类型", "预算", "有效期至"],
        ["防起球工艺", "针织围巾容易起球。", "新材料及其应用-纺织新材料", "合作开发", "面议", "2099/6/30"],
    ]
    result = run(write_csv(tmp_path / "d.csv", rows), owner.active_org, owner)

    assert result.kind == "demand" and result.imported == 1
    assert db.session.get(Demand, result.ids[0]).valid_until.isoformat() == "2099-06-30"


# ---------------------------------------------------------------------------------------------
# rejected rows


def test_bad_rows_are_reported_by_line_column_and_reason_and_good_rows_imported(tmp_path, org, member):
    bad_maturity = GOOD_2.copy()
    bad_maturity[0], bad_maturity[4] = "成熟度写错", "差不多了"
    no_title = GOOD_2.copy()
    no_title[0], no_title[10] = "", "12345"
    last = GOOD_2.copy()
    last[0] = "最后一行"
    path = write_csv(tmp_path / "bad.csv", [HEADER, GOOD, bad_maturity, no_title, last])

    result = run(path, org, member)

    assert (result.total, result.imported, result.rejected) == (4, 2, 2)
    assert errors_of(result) == [
        (3, "成熟度", "成熟度“差不多了”无效，可选：正在研发、小试、中试、已有样品、可以量产"),
        (4, "成果名称", "请填写名称"),
        (4, "联系电话", "电话号码格式不正确，请填写手机号（11位）或带区号的固定电话，如 0633-8888888"),
    ]
    titles = db.session.scalars(select(Achievement.title).order_by(Achievement.id)).all()
    assert titles == ["海水淡化膜组件", "最后一行"]


def test_xlsx_line_numbers_count_blank_rows_as_excel_shows_them(tmp_path, org, member):
    bad = GOOD_2.copy()
    bad[2] = "不存在的领域"
    path = write_xlsx(tmp_path / "gaps.xlsx", [HEADER, GOOD, [], bad])

    result = run(path, org, member)

    assert result.total == 2
    assert errors_of(result) == [(4, "技术领域", "技术领域“不存在的领域”不在分类中")]


def test_a_title_row_above_the_table_is_skipped_and_lines_still_match(tmp_path, org, member):
    bad = GOOD_2.copy()
    bad[4] = "差不多了"
    path = write_xlsx(tmp_path / "title.xlsx", [["日照大学2025年科技成果汇总表"], [], HEADER, GOOD, bad])

    result = run(path, org, member)

    assert result.imported == 1
    assert [(line, column) for line, column, _ in errors_of(result)] == [(5, "成熟度")]
    assert "列名在第3行，上面的行没有导入" in result.warnings


def test_jsonl_rejections_name_the_physical_line_and_the_key(tmp_path, org, member):
    good = {
        "title": "好",
        "summary": "第一段\u2028第二段",
        "field": "电子信息",
        "maturity": "mass",
        "ip_type": "non_patent",
        "transfer_modes": "license",
    }
    path = write_jsonl(tmp_path / "a.jsonl", [good, "", "{not json", [1, 2], {**good, "maturity": "??", "summary": ""}])

    result = run(path, org, member)

    assert result.imported == 1
    assert errors_of(result) == [
        (3, "—", "不是有效的 JSON：Expecting property name enclosed in double quotes（第2个字符）"),
        (4, "—", "每一行应是一个 JSON 对象（用 {} 括起来的键值对）"),
        (5, "summary", "请填写简介"),
        (5, "maturity", "成熟度“??”无效，可选：正在研发、小试、中试、已有样品、可以量产"),
    ]


def test_duplicate_patent_numbers_within_the_org_are_rejected(tmp_path, org, member, make_achievement, make_user):
    make_achievement(owner=member, status="draft")  # holds ZL201720001285.X
    again = GOOD.copy()
    again[0] = "重复已有专利"
    new_a, new_b = GOOD.copy(), GOOD.copy()
    new_a[0], new_a[6] = "新专利A", PATENT_2
    new_b[0], new_b[6] = "新专利B", "ZL201720001286.4"  # the same number written another way
    path = write_csv(tmp_path / "dup.csv", [HEADER, again, new_a, new_b])

    result = run(path, org, member)

    assert result.imported == 1
    assert [(line, column) for line, column, _ in errors_of(result)] == [(2, "专利号"), (4, "专利号")]
    assert "ZL201720001285.X 已登记在本机构的成果" in result.rejected_rows[0].errors[0].reason
    assert "ZL201720001286.4 已登记在本机构的成果" in result.rejected_rows[1].errors[0].reason
    assert count(AchievementPatent) == 2
    # another organisation may list the same patent
    other = make_user("university")
    assert run(path, other.active_org, other).imported == 2  # rows 2 and 3; row 4 repeats row 3 there too


def test_a_failure_mid_row_leaves_no_listing_patent_or_audit(tmp_path, org, member, monkeypatch):
    real_record = services.audit.record

    def failing_record(actor, action, obj=None, **kwargs):
        if getattr(obj, "title", None) == "写到一半失败":
            raise ValidationFailed({"title": "模拟：写审计时失败"})
        return real_record(actor, action, obj, **kwargs)

    monkeypatch.setattr(services.audit, "record", failing_record)
    broken = GOOD.copy()
    broken[0] = "写到一半失败"
    path = write_csv(tmp_path / "mid.csv", [HEADER, broken, GOOD_2])

    result = run(path, org, member)

    assert (result.imported, result.rejected) == (1, 1)
    assert errors_of(result) == [(2, "成果名称", "模拟：写审计时失败")]
    assert count(Achievement) == 1 and count(AchievementPatent) == 0
    assert (
        db.session.scalars(select(AuditLog.object_id).where(AuditLog.object_type == "achievement")).all() == result.ids
    )


def test_commits_in_batches(tmp_path, org, member):
    rows = [HEADER] + [[f"成果{i}", *GOOD_2[1:]] for i in range(7)]
    result = run(write_csv(tmp_path / "many.csv", rows), org, member, batch_size=3)

    assert result.imported == 7 and count(Achievement) == 7
    db.session.rollback()
    assert count(Achievement) == 7  # every batch, including the last partial one, was committed


# ---------------------------------------------------------------------------------------------
# dry run, warnings, publish


def test_dry_run_validates_every_row_and_writes_nothing(tmp_path, org, member):
    bad = GOOD_2.copy()
    bad[5] = "祖传秘方"
    path = write_csv(tmp_path / "dry.csv", [HEADER, GOOD, bad, GOOD_2])
    before = (count(Achievement), count(AchievementPatent), count(AuditLog))

    result = run(path, org, member, dry_run=True)

    assert result.dry_run and (result.imported, result.rejected) == (2, 1) and result.ids == []
    assert errors_of(result)[0][:2] == (3, "知识产权类型")
    assert "仅检查" in result.summary()
    db.session.remove()
    assert (count(Achievement), count(AchievementPatent), count(AuditLog)) == before


def test_unknown_columns_are_reported_and_the_known_ones_imported(tmp_path, org, member):
    path = write_csv(tmp_path / "extra.csv", [HEADER + ["备注", "内部编号"], GOOD + ["无", "X-1"]])

    result = run(path, org, member)

    assert result.imported == 1
    assert any("未识别的列：备注、内部编号" in w and "其余列照常导入" in w for w in result.warnings)


def test_unknown_jsonl_keys_are_reported(tmp_path, org, member):
    record = {
        "title": "甲",
        "summary": "s",
        "field": "电子信息",
        "maturity": "小试",
        "ip_type": "技术秘密",
        "transfer_modes": "许可",
        "remark": "x",
        "owner": "y",
    }
    result = run(write_jsonl(tmp_path / "k.jsonl", [record]), org, member)

    assert result.imported == 1
    assert any("未识别的字段：remark、owner" in w for w in result.warnings)


def test_publish_for_a_verified_org_goes_straight_to_published(tmp_path, org, member):
    path = write_csv(tmp_path / "pub.csv", [HEADER, GOOD, GOOD_2])

    result = run(path, org, member, publish=True)

    assert result.published == 2
    listing = db.session.get(Achievement, result.ids[0])
    assert listing.status == "published" and listing.published_at is not None
    approval = db.session.scalar(select(AuditLog).where(AuditLog.action == "approve", AuditLog.object_id == listing.id))
    assert approval.actor_id is None and approval.reason == "批量导入直接发布"
    assert (approval.from_state, approval.to_state) == ("draft", "published")


def test_publish_is_refused_before_writing_for_an_unverified_org(tmp_path, make_org, make_user):
    org = make_org(verified=False)
    member = make_user("university", org=org)
    path = write_csv(tmp_path / "pub.csv", [HEADER, GOOD])
    before = count(AuditLog)

    with pytest.raises(Conflict, match="尚未通过平台认证"):
        run(path, org, member, publish=True)

    assert count(Achievement) == 0 and count(AuditLog) == before


def test_submit_sends_drafts_to_review_only_for_a_verified_org(tmp_path, org, member, make_org, make_user):
    path = write_csv(tmp_path / "s.csv", [HEADER, GOOD_2])
    result = run(path, org, member, submit=True)
    assert result.submitted == 1 and db.session.get(Achievement, result.ids[0]).status == "pending"

    unverified = make_user("university", org=make_org(verified=False))
    result = run(path, unverified.active_org, unverified, submit=True)
    assert result.submitted == 0 and db.session.get(Achievement, result.ids[0]).status == "draft"
    assert any("尚未通过平台认证" in w for w in result.warnings)


def test_a_member_cannot_import_into_another_org(tmp_path, member, make_org):
    with pytest.raises(PermissionDenied):
        run(write_csv(tmp_path / "x.csv", [HEADER, GOOD]), make_org(), member)


# ---------------------------------------------------------------------------------------------
# unreadable files


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.txt", b"title\nx\n", "不支持的文件类型"),
        ("a.xls", b"\xd0\xcf\x11\xe0", "另存为” .xlsx"),
        ("a.xlsx", b"this is not a zip", "不是有效的 Excel"),
        ("a.csv", b"", "文件是空的"),
        ("a.csv", "成果名称,成果简介\n".encode(), "没有数据行"),
        ("a.csv", b"foo,bar\n1,2\n", "列名一个也没有识别出来"),
        ("a.jsonl", b"not json\nat all\n", "不是 JSON Lines 格式"),
    ],
)
def test_unreadable_files_raise_a_clear_error(name, content, message):
    with pytest.raises(ImportFileError, match=message):
        importer.read_file(content, name)


def test_the_template_round_trips_and_its_example_row_is_skipped(tmp_path, org, member):
    workbook = load_workbook(BytesIO(importer.build_template("achievement")))
    sheet = workbook["科技成果"]
    assert workbook.sheetnames == ["科技成果", "填写说明"]
    assert sheet.data_validations.dataValidation  # drop-downs on the enumerated columns
    headers = [cell.value for cell in sheet[1]]
    assert headers[:3] == ["成果名称", "成果简介", "详细内容"]
    filled = {
        "成果名称": "模板里填写的成果",
        "成果简介": "简介",
        "技术领域": "电子信息",
        "成熟度": "中试",
        "知识产权类型": "软著",
        "转化方式": "许可",
    }
    sheet.append([filled.get(header) for header in headers])
    path = tmp_path / "filled.xlsx"
    workbook.save(path)

    result = run(path, org, member)

    assert (result.total, result.imported) == (1, 1)
    assert any("示例行" in w for w in result.warnings)
    assert db.session.get(Achievement, result.ids[0]).ip_type == "software"


def test_split_contact():
    assert importer.split_contact("王老师 0633-8888888 wang@example.cn") == {
        "contact_name": "王老师",
        "contact_phone": "0633-8888888",
        "contact_email": "wang@example.cn",
    }
    assert importer.split_contact("李工，电话：13800138000") == {"contact_name": "李工", "contact_phone": "13800138000"}
    with pytest.raises(ValueError, match="只能填写一个电话"):
        importer.split_contact("张 13800138000 13900139000")


# ---------------------------------------------------------------------------------------------
# the CLI


def invoke(app, *args):
    return app.test_cli_runner().invoke(args=["listings", "import", *map(str, args)])


def test_cli_imports_prints_rejections_and_a_summary_and_exits_zero(app, tmp_path, org, member):
    bad = GOOD_2.copy()
    bad[4] = "差不多了"
    path = write_csv(tmp_path / "cli.csv", [HEADER + ["备注"], GOOD + ["x"], bad + ["y"]])

    result = invoke(app, path, "--org", org.name)

    assert result.exit_code == 0, result.output
    assert "第3行 [成熟度] 成熟度“差不多了”无效" in result.stdout
    assert "未识别的列：备注" in result.stdout
    assert "共 2 行：导入 1 行，拒绝 1 行" in result.stdout
    assert f"导入人：{member.name} <{member.email}>" in result.stderr
    listing = db.session.scalar(select(Achievement))
    assert listing.created_by_id == member.id and listing.status == "draft"


def test_cli_dry_run_writes_nothing(app, tmp_path, org):
    path = write_csv(tmp_path / "cli.csv", [HEADER, GOOD, GOOD_2])

    result = invoke(app, path, "--org", org.name, "--dry-run")

    assert result.exit_code == 0, result.output
    assert "可导入 2 行" in result.stdout and "仅检查" in result.stdout
    assert count(Achievement) == 0 and count(AchievementPatent) == 0


def test_cli_publish_and_kind(app, tmp_path, make_user):
    owner = make_user("enterprise", manager=True)
    rows = [["需求名称", "需求描述", "技术领域", "需求类型"], ["需求一", "描述", "电子信息", "技术咨询"]]
    result = invoke(
        app, write_csv(tmp_path / "d.csv", rows), "--org", owner.active_org.name, "--kind", "demand", "--publish"
    )

    assert result.exit_code == 0, result.output
    assert "直接发布 1 行" in result.stdout
    assert db.session.scalar(select(Demand.status)) == "published"


def test_cli_refuses_publish_for_an_unverified_org(app, tmp_path, make_org, make_user):
    org = make_org(verified=False)
    make_user("university", org=org)

    result = invoke(app, write_csv(tmp_path / "a.csv", [HEADER, GOOD]), "--org", org.name, "--publish")

    assert result.exit_code != 0
    assert "尚未通过平台认证" in result.output
    assert count(Achievement) == 0


def test_cli_exits_non_zero_for_an_unreadable_file_or_unknown_org(app, tmp_path, org):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"not a workbook")
    result = invoke(app, broken, "--org", org.name)
    assert result.exit_code == 1 and "不是有效的 Excel" in result.output

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert invoke(app, empty, "--org", org.name).exit_code == 1

    wrong = tmp_path / "a.txt"
    wrong.write_text("x")
    assert "不支持的文件类型" in invoke(app, wrong, "--org", org.name).output

    result = invoke(app, write_csv(tmp_path / "a.csv", [HEADER, GOOD]), "--org", "没有这个机构")
    assert result.exit_code == 1 and "找不到机构" in result.output


def test_cli_acts_as_an_admin_when_the_org_has_no_members(app, tmp_path, make_org, make_user):
    org = make_org(name="无人机构")
    path = write_csv(tmp_path / "a.csv", [HEADER, GOOD])

    result = invoke(app, path, "--org", org.name)
    assert result.exit_code == 1 and "没有可用的成员账号" in result.output

    admin = make_user("admin", org=None)
    result = invoke(app, path, "--org", org.name)
    assert result.exit_code == 0, result.output
    assert f"<{admin.email}>（平台管理员）" in result.stderr
    assert db.session.scalar(select(Achievement.created_by_id)) == admin.id
