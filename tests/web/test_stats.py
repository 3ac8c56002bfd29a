"""The statistics pages, exports and API as an official sees them: the figure equals the list
behind it, the CSV and the Excel report carry the same numbers to the fen, the API's rows add up
to its total, and bad input gets a clear 422 — never a 500."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from marketplace.deals.models import ContractAmendment
from marketplace.extensions import db
from marketplace.stats import query
from marketplace.stats.query import Filters
from tests.unit.test_stats_figures import contract

API = "/api/v1/stats/turnover"


@pytest.fixture
def register():
    """A small 2025 register (and one 2024 contract for the growth figures)."""
    rows = [
        contract(datetime(2025, 1, 15, 2), "120000.00", "100000.00", seller_region="371102", field_code="01"),
        contract(
            datetime(2025, 2, 3, 2), "300000.50", seller_region="371103", field_code="03", contract_type="service"
        ),
        contract(datetime(2025, 3, 31, 15, 59), "0.01", seller_region="371102", field_code="03"),  # Q1, 23:59
        contract(datetime(2025, 6, 1, 2), "99999.99", seller_region="371121", buyer_region="371102", field_code="05"),
        contract(datetime(2025, 12, 31, 15, 30), "5000000.00", seller_region="371122", contract_type="transfer_patent"),
        contract(datetime(2025, 7, 1, 2), "700000.00", seller_region="370102", buyer_region="371102"),  # 吸纳 only
        contract(datetime(2025, 8, 1, 2), "800000.00", seller_region="371102", buyer_region="810000"),  # 涉外输出
        contract(datetime(2025, 9, 1, 2), "7.00", status="cancelled", cancelled_at=datetime(2025, 10, 1)),
        contract(datetime(2024, 5, 1, 2), "1000000.00", seller_region="371102"),
    ]
    return rows


OUTPUT_2025 = (
    Decimal("120000.00")
    + Decimal("300000.50")
    + Decimal("0.01")
    + Decimal("99999.99")
    + Decimal("5000000.00")
    + Decimal("800000.00")
)


def _amount(html: str, testid: str) -> Decimal:
    match = re.search(rf'data-testid="{testid}".*?data-amount="([0-9.]+)"', html, re.S)
    assert match, testid
    return Decimal(match.group(1))


def test_dashboard_shows_the_figures_and_each_links_to_its_list(official_client, register):
    page = official_client.get("/stats/?year=2025")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "技术合同成交额统计" in html and "echarts-5.6.0/echarts.min.js" in html
    # 技术输出 2025 in 万元: 6320000.50 / 10000 = 632.00 (half up), 6 contracts.
    assert "632.00" in html and "6 项" in html
    # The 东港区 row links to its list; that list's total is the row's figure.
    row = query.breakdown(Filters(date(2025, 1, 1), date(2025, 12, 31)), "district")
    donggang = next(r for r in row if r.key == "371102")
    assert donggang.totals.contract_amount == Decimal("920000.01")
    link = re.search(r'href="(/stats/contracts\?[^"]*by=district[^"]*key=371102[^"]*)"', html)
    assert link
    listing = official_client.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert _amount(listing, "total-amount") == Decimal("920000.01")
    assert 'data-testid="total-count">3<' in listing


def test_kpi_list_total_equals_the_kpi(official_client, register):
    html = official_client.get("/stats/?year=2025").get_data(as_text=True)
    for direction, expected in (
        ("output", OUTPUT_2025),
        ("input", Decimal("99999.99") + Decimal("700000.00")),
        ("foreign_output", Decimal("800000.00")),
        ("foreign_input", Decimal("0.00")),
    ):
        assert _amount(html, f"kpi-{direction}") == expected
        href = re.search(rf'href="([^"]+)" data-testid="kpi-{direction}"', html).group(1).replace("&amp;", "&")
        assert _amount(official_client.get(href).get_data(as_text=True), "total-amount") == expected


def test_dashboard_district_filter(official_client, register):
    html = official_client.get("/stats/?year=2025&district=371103").get_data(as_text=True)
    assert _amount(html, "kpi-output") == Decimal("300000.50")
    assert "岚山区" in html


def test_register_search_sort_and_pages(official_client, register):
    html = official_client.get("/stats/contracts?year=2025&sort=-amount&per_page=2").get_data(as_text=True)
    amounts = re.findall(r'<td class="text-end">([0-9,]+\.\d\d)</td><td class="text-end">', html)
    assert amounts == ["5,000,000.00", "800,000.00"]
    assert "第 1 / 3 页" in html
    # The totals are those of the whole selection, not of the page.
    assert _amount(html, "total-amount") == OUTPUT_2025
    found = official_client.get("/stats/contracts?year=2025&q=" + register[1].project_name).get_data(as_text=True)
    assert 'data-testid="total-count">1<' in found


def test_csv_export_of_a_filtered_list(official_client, register):
    response = official_client.get("/stats/contracts.csv?year=2025&field=03")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][0] == "合同登记号" and rows[0][-2] == "成交额（元）"
    body, total = rows[1:-1], rows[-1]
    assert len(body) == 4  # 300000.50 + 0.01 + 5000000.00 + 800000.00 are in 先进制造
    assert sum(Decimal(r[-2]) for r in body) == Decimal("6100000.51")
    assert total[:2] == ["合计", "4 项"] and total[-2] == "6100000.51"
    assert {r[12] for r in body} == {"先进制造"}


def test_excel_report_cells_equal_the_dashboard(official_client, register):
    response = official_client.get("/stats/report.xlsx?year=2025")
    assert response.status_code == 200
    wb = load_workbook(io.BytesIO(response.data))
    assert wb.sheetnames[:3] == ["总表", "按月份", "按区县"]
    assert "按合同类型" in wb.sheetnames and "合同明细" in wb.sheetnames
    summary = wb["总表"]
    assert summary["A1"].value == "日照市技术合同成交额统计总表"
    assert "2025-01-01 至 2025-12-31" in summary["A2"].value and "单位：万元" in summary["A2"].value
    assert summary["B5"].value == "技术输出" and summary["C5"].value == 6
    # Exact to the fen in the cell (万元 with six decimals), two decimals on display.
    assert Decimal(str(summary["D5"].value)) * 10000 == OUTPUT_2025
    assert summary["D5"].number_format == "#,##0.00"
    assert summary["G5"].value == 1  # 2024: one contract
    districts = wb["按区县"]
    assert [districts.cell(3, c).value for c in (1, 2, 3)] == ["序号", "项目", "合同"]
    assert districts.cell(4, 3).value == "项数"
    assert districts["B5"].value == "合计" and Decimal(str(districts["E5"].value)) * 10000 == OUTPUT_2025
    body = {districts.cell(r, 2).value: Decimal(str(districts.cell(r, 5).value)) * 10000 for r in range(6, 10)}
    assert list(body)[0] == "莒县" and districts.cell(10, 2).value is None  # largest first, four districts
    assert body["东港区"] == Decimal("920000.01") and body["莒县"] == Decimal("5000000.00")
    assert sum(body.values()) == OUTPUT_2025
    types = wb["按合同类型"]
    labels = [types.cell(r, 2).value for r in range(5, 20)]
    assert "技术开发小计" in labels and "技术服务小计" in labels
    transfer = labels.index("技术转让小计") + 5
    assert Decimal(str(types.cell(transfer, 5).value)) * 10000 == Decimal("5000000.00")
    assert types.cell(transfer + 1, 2).value == "专利权转让"
    assert any("四舍五入" in str(types.cell(r, 1).value or "") for r in range(5, 40))


def test_report_from_the_cli(app, register, tmp_path):
    out = tmp_path / "r.xlsx"
    result = app.test_cli_runner().invoke(
        args=["stats", "report", "--year", "2025", "--district", "371102", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "920000.01" in result.output
    sheet = load_workbook(out)["总表"]
    assert Decimal(str(sheet["D5"].value)) * 10000 == Decimal("920000.01")
    bad = app.test_cli_runner().invoke(
        args=["stats", "report", "--year", "2025", "--district", "999", "--out", str(out)]
    )
    assert bad.exit_code != 0 and "不存在" in bad.output


def test_api_rows_add_up_to_the_total(official_client, register):
    for group in ("month", "district", "field", "contract_type", "ip_type", "seller_nature", "broker", "objective"):
        body = official_client.get(f"{API}?from=2025-01-01&to=2025-12-31&group_by={group}").get_json()
        assert body["total"] == {"count": 6, "contract_amount": f"{OUTPUT_2025:.2f}", "tech_amount": "6300000.50"}
        assert sum(r["count"] for r in body["rows"]) == 6
        assert sum(Decimal(r["contract_amount"]) for r in body["rows"]) == OUTPUT_2025, group
        assert all(isinstance(r["contract_amount"], str) for r in body["rows"])
    months = official_client.get(f"{API}?from=2025-01-01&to=2025-03-31").get_json()["rows"]
    assert [(r["key"], r["contract_amount"]) for r in months] == [
        ("2025-01", "120000.00"),
        ("2025-02", "300000.50"),
        ("2025-03", "0.01"),
    ]
    inputs = official_client.get(f"{API}?from=2025-01-01&to=2025-12-31&direction=input&district=371102").get_json()
    assert inputs["total"]["contract_amount"] == "799999.99"


def test_api_respects_amendments_as_of(official_client, register):
    amended = register[0]
    db.session.add(
        ContractAmendment(
            contract_id=amended.id,
            kind="amend",
            changes={"amount": ["20000.00", "120000.00"], "technology_amount": ["20000.00", "100000.00"]},
            reason="补充协议",
            created_at=datetime(2026, 1, 10),
        )
    )
    db.session.commit()
    now = official_client.get(f"{API}?from=2025-01-01&to=2025-01-31").get_json()
    then = official_client.get(f"{API}?from=2025-01-01&to=2025-01-31&as_of=2025-12-31").get_json()
    assert now["total"]["contract_amount"] == "120000.00"
    assert then["total"]["contract_amount"] == "20000.00"


@pytest.mark.parametrize(
    "args, field",
    [
        ("from=2025-13-01&to=2025-12-31", "from"),
        ("from=2025-12-31&to=2025-01-01", "from"),
        ("from=1900-01-01&to=2025-01-01", "from"),
        ("from=2025-01-01&to=9999-12-31", "to"),
        ("from=yesterday", "from"),
        ("group_by=galaxy", "group_by"),
        ("group_by=seller", "group_by"),
        ("district=999999", "district"),
        ("district=rz-etdz", "district"),
        ("field=99", "field"),
        ("field=0101", "field"),
        ("direction=sideways", "direction"),
        ("contract_type=lease", "contract_type"),
        ("as_of=2025-02-30", "as_of"),
        ("year=20255", "year"),
    ],
)
def test_api_bad_input_is_a_422_with_the_field(official_client, args, field):
    response = official_client.get(f"{API}?{args}")
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert field in error["fields"] and error["fields"][field]


def test_pages_never_500_on_bad_input(official_client, register):
    page = official_client.get("/stats/?from=2025-12-31&to=2025-01-01&district=nowhere")
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "起始日期不能晚于截止日期" in html and "区县“nowhere”不存在" in html
    huge = official_client.get("/stats/contracts?year=2025&per_page=1000000")
    assert huge.status_code == 422 and "每页条数须为 1–200" in huge.get_data(as_text=True)
    far = official_client.get("/stats/contracts?year=2025&page=999999")
    assert far.status_code == 200 and "没有符合条件" in far.get_data(as_text=True)
    assert official_client.get("/stats/contracts?year=2025&sort=drop%20table").status_code == 422
    assert official_client.get("/stats/contracts?year=2025&by=broker&key=abc").status_code == 200
    assert official_client.get("/stats/contracts.csv?from=2025-02-30").status_code == 422
    assert official_client.get("/stats/report.xlsx?field=xx").status_code == 422


def test_others_are_refused(client, make_user, login_as, register):
    assert login_as(make_user("enterprise")).get("/stats/").status_code == 403
    assert login_as(make_user("broker")).get(API).status_code == 403
    assert client.get(API).status_code == 401
    assert login_as(make_user("admin", org=None)).get("/stats/").status_code == 200


def test_nav_item_for_officials_only(official_client, make_user, login_as):
    assert 'data-testid="nav-stats"' in official_client.get("/").get_data(as_text=True)
    assert 'data-testid="nav-stats"' not in login_as(make_user("broker")).get("/").get_data(as_text=True)


def test_demo_load_makes_a_plausible_register(app):
    from marketplace.stats import demo

    assert demo.load(count=400) == 400
    today = date.today()
    total = query.figures(Filters(date(2019, 1, 1), today, direction="output"))
    assert 200 < total.count < 400  # most sellers are in the city
    years = {r.key[:4] for r in query.breakdown(Filters(date(2019, 1, 1), today), "quarter")}
    assert len(years) >= 5
    assert query.figures(Filters(date(2019, 1, 1), today, direction="foreign_output")).count > 0
