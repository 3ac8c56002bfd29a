"""Access-matrix rows for the valuation blueprint and its API endpoints.

In this world the owner's university has one worksheet and sells to the enterprise member's
company in a deal whose lead broker is the broker (its contract is a draft). Pricing guidance:
officials and admins for any case, brokers for published achievements and their deals'
contracts, members for their own organisation's cases. Worksheets: any member with an active
organisation (officials included) and brokers may keep them; admins (no organisation) only read."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.valuation import services
from tests.web.access_common import FORBIDDEN, LOGGED_IN, LOGIN, NOT_FOUND, OK, ROLES, A, B, D, E, F, M, O
from tests.web.access_contracts import draft, make_deal

SHEET = {
    "title": "矩阵测试工作表",
    "revenues": [{"year": "2027", "amount": "100"}],
    "share_pct": "25",
    "discount_pct": "10",
    "life_years": "3",
}


def extend_world(users: dict, ids: dict) -> dict:
    owner, enterprise, broker = users["owner"], users["enterprise"], users["broker"]
    contract = draft(make_deal(owner.active_org, enterprise.active_org, broker), broker)
    sheet = services.create(owner, SHEET)
    db.session.flush()
    return {"v_contract": contract.id, "v_sheet": sheet.id}


USERS = {**LOGGED_IN, D: FORBIDDEN}  # worksheets: members with an organisation and brokers
OWN_ACHIEVEMENT = {A: LOGIN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: OK, F: OK, D: OK}
OWN_CONTRACT = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: OK, F: OK, D: OK}
SHEET_READERS = {A: LOGIN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: FORBIDDEN, F: FORBIDDEN, D: OK}
SHEET_EDITORS = {**SHEET_READERS, D: FORBIDDEN}
MISSING = {**dict.fromkeys(ROLES, NOT_FOUND), A: LOGIN}

CASES: list[tuple] = [
    ("valuation.pricing_page", "GET", "/valuation/pricing", LOGGED_IN),
    ("valuation.pricing_page", "GET", "/valuation/pricing?achievement={published}", OWN_ACHIEVEMENT),
    ("valuation.pricing_page", "GET", "/valuation/pricing?contract={v_contract}", OWN_CONTRACT),
    ("valuation.pricing_page", "GET", "/valuation/pricing?achievement=999999", MISSING),
    ("valuation.worksheets", "GET", "/valuation/worksheets", USERS),
    ("valuation.new_worksheet", "GET", "/valuation/worksheets/new", USERS),
    ("valuation.new_worksheet", "POST", "/valuation/worksheets/new", USERS),
    ("valuation.worksheet", "GET", "/valuation/worksheets/{v_sheet}", SHEET_READERS),
    ("valuation.worksheet", "GET", "/valuation/worksheets/999999", MISSING),
    ("valuation.edit_worksheet", "GET", "/valuation/worksheets/{v_sheet}/edit", SHEET_EDITORS),
    ("valuation.edit_worksheet", "POST", "/valuation/worksheets/{v_sheet}/edit", SHEET_EDITORS),
    ("valuation.delete_worksheet", "POST", "/valuation/worksheets/{v_sheet}/delete", SHEET_EDITORS),
    ("valuation.worksheet_pdf", "GET", "/valuation/worksheets/{v_sheet}.pdf", SHEET_READERS),
    ("api.valuation_pricing", "GET", "/api/v1/valuation/pricing?achievement={published}", OWN_ACHIEVEMENT),
    ("api.valuation_pricing", "GET", "/api/v1/valuation/pricing?contract={v_contract}", OWN_CONTRACT),
    ("api.valuation_worksheets", "GET", "/api/v1/valuation/worksheets", USERS),
    ("api.valuation_worksheet_create", "POST", "/api/v1/valuation/worksheets", USERS),
    ("api.valuation_worksheet_preview", "POST", "/api/v1/valuation/worksheets/preview", USERS),
    ("api.valuation_worksheet", "GET", "/api/v1/valuation/worksheets/{v_sheet}", SHEET_READERS),
    ("api.valuation_worksheet_update", "PUT", "/api/v1/valuation/worksheets/{v_sheet}", SHEET_EDITORS),
    ("api.valuation_worksheet_delete", "DELETE", "/api/v1/valuation/worksheets/{v_sheet}", SHEET_EDITORS),
    ("api.valuation_worksheet_pdf", "GET", "/api/v1/valuation/worksheets/{v_sheet}/pdf", SHEET_READERS),
]
