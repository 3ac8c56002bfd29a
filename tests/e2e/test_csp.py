"""The Content-Security-Policy in a real browser: each role opens its main pages and Chromium
reports no violation (no `securitypolicyviolation` event, no console error, no script error),
while the behaviour that moved out of inline attributes still works: charts drawn by ECharts
(and their tooltips, drawn on the canvas), stylesheets applied, bar widths and calendar positions
set from data- attributes, confirmations on forms, the copy button of a new API token.

The data is the access matrix's world (a user of every role, listings, an auction, a deal, an
instrument with bookings ...), plus registered contracts for the statistics."""

from __future__ import annotations

from datetime import datetime

import pytest
from playwright.sync_api import expect

from marketplace.alerts.models import SavedSearch
from marketplace.extensions import db
from tests.e2e.test_publish_flow import log_in
from tests.unit.test_stats_figures import contract
from tests.web.test_access_matrix import build_world

WATCH_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.effectiveDirective} blocked ${event.blockedURI || "inline"} at ${event.sourceFile}:${event.lineNumber}`);
});
"""


class Watched:
    """A page whose CSP violations, console errors and script errors are collected."""

    def __init__(self, page, base: str):
        self.page, self.base = page, base
        self.console: list[str] = []
        self.errors: list[str] = []
        page.add_init_script(WATCH_VIOLATIONS)  # evaluated by the browser itself, not subject to the page's CSP
        page.on("console", lambda message: message.type == "error" and self.console.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def visit(self, path: str):
        response = self.page.goto(self.base + path)
        assert response.status == 200, f"{path}: {response.status}"
        self.assert_clean(path)

    def assert_clean(self, where: str) -> None:
        # Violations are reported in a task after the fact: let one pass before reading them.
        violations = self.page.evaluate(
            "() => new Promise((done) => setTimeout(() => done(window.__cspViolations), 50))"
        )
        assert violations == [], f"{where}: CSP violations {violations}"
        assert self.console == [], f"{where}: console errors {self.console}"
        assert self.errors == [], f"{where}: script errors {self.errors}"


@pytest.fixture
def world(make_org, make_user, make_achievement, make_demand):
    built = build_world(make_org, make_user, make_achievement, make_demand)
    contract(datetime(2025, 3, 10, 2), "1200000.00", seller_region="371102", field_code="01")
    contract(datetime(2025, 9, 10, 2), "800000.00", seller_region="371103", field_code="03")
    db.session.commit()
    return built


def signed_in(new_page, live_server, user) -> Watched:
    watched = Watched(new_page(), live_server)
    log_in(watched.page, live_server, user.email)
    expect(watched.page.get_by_test_id("logout")).to_be_attached()
    watched.assert_clean("log-in")
    return watched


def test_a_visitor_browses_without_violations(live_server, new_page, world):
    ids = world.ids
    visitor = Watched(new_page(), live_server)
    for path in (
        "/",
        "/achievements",
        f"/achievements/{ids['published']}",
        "/search?q=机器视觉",
        "/trading",
        f"/trading/auctions/{ids['auction']}",
        "/login",
        "/password/forgot",
        f"/orgs/{ids['org']}",
    ):
        visitor.visit(path)
    # The registration form still shows and hides its blocks by the chosen option (app.js).
    visitor.visit("/register")
    visitor.page.check("#org-mode-new")
    expect(visitor.page.locator("[name=org_name]")).to_be_visible()
    visitor.assert_clean("/register")


def test_the_university_member_pages(live_server, new_page, world):
    owner = world.users["owner"]
    member = signed_in(new_page, live_server, owner)
    page = member.page
    for path in ("/me", "/my/listings", "/import/", "/inbox", f"/orgs/{world.ids['org']}"):
        member.visit(path)

    # The instrument's week calendar: hour lines placed from data-pct-top by app.js.
    member.visit(f"/instruments/{world.ids['instrument']}")
    tops = page.locator(".day-col").first.locator(".gridline").evaluate_all("(lines) => lines.map((l) => l.style.top)")
    assert tops[:3] == ["0%", "12.5%", "25%"]
    assert page.locator(".week-cal").evaluate("(el) => getComputedStyle(el).display") == "grid"  # instrument.css

    # A new API token: the copy button (an onclick= before) copies it.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    member.visit("/me/tokens")
    page.get_by_role("button", name="创建令牌").click()
    expect(page.get_by_test_id("new-token")).to_be_visible()
    page.get_by_role("button", name="复制").click()
    expect(page.get_by_role("button", name="已复制")).to_be_visible()
    token = page.locator("#new-token-value").input_value()
    assert page.evaluate("() => navigator.clipboard.readText()") == token
    member.assert_clean("/me/tokens")

    # Deleting a subscription asks first (an onsubmit= before): dismissed, nothing happens.
    member.visit("/alerts")
    rows = page.get_by_test_id("saved-search")
    before = rows.count()
    stored = db.session.scalar(db.select(db.func.count(SavedSearch.id)))
    assert before >= 1
    delete = rows.first.locator("form[data-confirm] button")
    page.once("dialog", lambda dialog: dialog.dismiss())
    delete.click()
    expect(rows).to_have_count(before)
    page.once("dialog", lambda dialog: dialog.accept())
    delete.click()
    expect(rows).to_have_count(before - 1)
    db.session.rollback()  # end this test's read transaction: see what the server committed
    assert db.session.scalar(db.select(db.func.count(SavedSearch.id))) == stored - 1
    member.assert_clean("/alerts")


def test_the_enterprise_and_broker_pages(live_server, new_page, world):
    ids = world.ids
    buyer = signed_in(new_page, live_server, world.users["enterprise"])
    buyer.visit(f"/trading/auctions/{ids['auction']}")
    expect(buyer.page.get_by_test_id("countdown")).not_to_have_text("—")  # auction.js runs
    for path in ("/me", "/inbox", f"/demands/{ids['published_demand']}"):
        buyer.visit(path)

    broker = signed_in(new_page, live_server, world.users["broker"])
    for path in ("/me", "/broker/board", "/broker/introductions", "/deals"):
        broker.visit(path)
    broker.visit(f"/deals/{ids['deal']}")
    stepper = broker.page.locator(".stepper").first
    assert stepper.evaluate("(el) => getComputedStyle(el).display") == "flex"  # deals.css is applied


def test_the_officials_dashboards_draw_their_charts(live_server, new_page, world):
    official = signed_in(new_page, live_server, world.users["official"])
    page = official.page
    official.visit("/stats/?year=2025")
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    assert int(page.locator("body").get_attribute("data-charts-ready")) >= 5
    # stats.css gives the chart its height; ECharts drew into it.
    assert page.locator("#chart-trend canvas").bounding_box()["height"] == pytest.approx(320, abs=2)
    # Tooltips (HTML ones would carry inline styles) appear on hover without a violation.
    for chart in ("#chart-trend", "#chart-contract_group", "#chart-funnel"):
        box = page.locator(chart).bounding_box()
        page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.mouse.move(box["x"] + box["width"] / 2 + 5, box["y"] + box["height"] / 2 + 5)
    official.assert_clean("/stats tooltips")

    official.visit("/finance/stats")
    expect(page.locator("#chart-finance-target canvas")).to_have_count(1)
    for path in ("/registry", "/deals", "/admin/audit", "/me"):
        official.visit(path)


def test_the_admin_pages(live_server, new_page, world):
    admin = signed_in(new_page, live_server, world.users["admin"])
    for path in (
        "/admin/",
        "/admin/reviews",
        "/admin/organizations",
        "/admin/users",
        "/admin/audit",
        "/admin/search",
        "/admin/mail",
        f"/deals/{world.ids['deal']}",
        "/stats/",
    ):
        admin.visit(path)
