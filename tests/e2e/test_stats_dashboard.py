"""An official opens the turnover dashboard in a real browser, sees the charts drawn, filters by
a district, and downloads the Excel report whose figure is the one on the page."""

from datetime import datetime
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook
from playwright.sync_api import expect

from marketplace.accounts import services as accounts
from marketplace.extensions import db
from tests.conftest import PASSWORD
from tests.e2e.test_publish_flow import log_in
from tests.unit.test_stats_figures import contract


def test_official_filters_by_district_and_downloads_the_report(live_server, new_page):
    accounts.create_user({"email": "tongji@example.cn", "name": "统计员", "role": "official", "password": PASSWORD})
    db.session.commit()
    contract(datetime(2025, 3, 10, 2), "1200000.00", seller_region="371102", field_code="01")
    contract(datetime(2025, 4, 10, 2), "345678.90", seller_region="371103", field_code="05")
    contract(datetime(2025, 9, 10, 2), "800000.00", seller_region="371103", field_code="03")

    page = new_page()
    log_in(page, live_server, "tongji@example.cn")
    page.get_by_test_id("nav-stats").click()
    expect(page.locator("h1")).to_contain_text("技术合同成交额统计")

    page.select_option("#s-year", "2025")
    page.get_by_test_id("filter-submit").click()
    expect(page.get_by_test_id("kpi-output")).to_contain_text("234.57")  # 2345678.90 元 in 万元
    # The charts are drawn by the vendored ECharts (a canvas in the trend chart).
    expect(page.locator("#chart-trend canvas")).to_have_count(1)

    page.select_option("[data-testid=filter-district]", "371103")
    page.get_by_test_id("filter-submit").click()
    expect(page.get_by_test_id("kpi-output")).to_contain_text("114.57")  # 岚山区: 1145678.90 元
    expect(page.get_by_test_id("table-district")).to_contain_text("岚山区")
    expect(page.get_by_test_id("table-district")).not_to_contain_text("东港区")

    with page.expect_download() as info:
        page.get_by_test_id("download-report").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    with open(download.path(), "rb") as handle:
        sheet = load_workbook(BytesIO(handle.read()))["总表"]
    assert "岚山区" in sheet["A2"].value
    assert Decimal(str(sheet["D5"].value)) * 10000 == Decimal("1145678.90")

    # Every figure opens the list behind it, whose total is that figure.
    page.get_by_test_id("kpi-output").click()
    expect(page.get_by_test_id("total-amount")).to_have_text("1,145,678.90")
