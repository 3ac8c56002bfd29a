"""Access-matrix rows for the statistics pages and their API endpoint: officials and admins
only; everyone else logged in gets 403, anonymous callers are sent to log in (401 for the API).

The world gets one registered contract so the pages and exports have something to show."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from marketplace.deals.models import TechContract
from marketplace.extensions import db
from tests.web.access_common import FORBIDDEN, LOGIN, OK, A, B, D, E, F, M, O

OFFICIALS = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: OK, D: OK}


def extend_world(users: dict, ids: dict) -> dict:
    contract = TechContract(
        project_name="港口装卸智能调度系统技术开发",
        contract_type="dev_commissioned",
        seller_name="日照职业技术学院",
        seller_nature="university",
        seller_region="371102",
        buyer_name="日照港集团",
        buyer_nature="enterprise_domestic",
        buyer_region="371103",
        amount=Decimal("880000.00"),
        technology_amount=Decimal("800000.00"),
        signed_on=datetime(2025, 5, 6).date(),
        field_code="01",
        status="registered",
        registration_number="2025371100999001",
        registered_at=datetime(2025, 5, 20, 2),
    )
    db.session.add(contract)
    db.session.flush()
    return {"stats_contract": contract.id}


# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = [
    ("stats.index", "GET", "/stats/", OFFICIALS),
    ("stats.index", "GET", "/stats/?year=2025&district=371102", OFFICIALS),
    ("stats.contracts", "GET", "/stats/contracts?year=2025", OFFICIALS),
    ("stats.contracts_csv", "GET", "/stats/contracts.csv?year=2025", OFFICIALS),
    ("stats.report_xlsx", "GET", "/stats/report.xlsx?year=2025", OFFICIALS),
    ("api.stats_turnover", "GET", "/api/v1/stats/turnover?from=2025-01-01&to=2025-12-31", OFFICIALS),
]
