"""Access-matrix rows for the deals routes of the deals blueprint (and their API endpoints).

`extend_world(users, ids)` creates the objects the rows refer to (users: role -> User, see
test_access_matrix.world) and returns their ids for the URL templates; CASES uses the vocabulary of
access_common. In this world the owner's university sells to the enterprise member's company; the
broker is the deal's lead broker; other_member belongs to an unrelated university."""

from __future__ import annotations

from marketplace.deals import services as deals
from marketplace.extensions import db
from tests.web.access_common import (
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    ROLES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)

PDF = b"%PDF-1.4\n%deal file\n"

# The deal's participants (both parties, the lead broker, admins) and officials read-only.
DEAL_VIEWERS = {A: LOGIN, O: OK, M: FORBIDDEN, E: OK, B: OK, F: OK, D: OK}
DEAL_WORKERS = {**DEAL_VIEWERS, F: FORBIDDEN}
API_DEAL_VIEWERS = {**DEAL_VIEWERS}  # anonymous API callers get 401, which counts as LOGIN
API_DEAL_WORKERS = {**DEAL_WORKERS}
# Who may open deals: brokers, admins and members of an organisation; never officials.
DEAL_OPENERS = {A: LOGIN, O: OK, M: OK, E: OK, B: OK, F: FORBIDDEN, D: OK}
MISSING = {**dict.fromkeys(ROLES, NOT_FOUND), A: LOGIN}


def extend_world(users: dict, ids: dict) -> dict:
    owner, enterprise, broker = users["owner"], users["enterprise"], users["broker"]
    deal = deals.open_deal(
        broker,
        owner.active_org,
        enterprise.active_org,
        "机器视觉尺寸测量系统技术许可",
        expected_value="800000",
        commission_kind="rate",
        commission_rate="5",
        commission_payer="seller",
    )
    deals.add_note(deal, broker, "双方已交换技术资料")
    event = deals.add_file(deal, owner, "技术方案.pdf", PDF)
    db.session.flush()
    return {"deal": deal.id, "deal_file": event.id, "deal_broker": broker.id}


# (endpoint, method, url template, expected outcome per role)
CASES: list[tuple] = [
    # Everyone logged in has a deals page: brokers a board, parties 我的项目, officials/admins all.
    ("deals.index", "GET", "/deals", {**dict.fromkeys(ROLES, OK), A: LOGIN}),
    ("deals.new", "GET", "/deals/new", DEAL_OPENERS),
    ("deals.new", "POST", "/deals/new", DEAL_OPENERS),
    ("deals.detail", "GET", "/deals/{deal}", DEAL_VIEWERS),
    ("deals.detail", "GET", "/deals/999999", MISSING),
    ("deals.stage", "POST", "/deals/{deal}/stage", DEAL_WORKERS),
    ("deals.terms", "POST", "/deals/{deal}/terms", DEAL_WORKERS),
    ("deals.add_broker", "POST", "/deals/{deal}/brokers", DEAL_WORKERS),
    # Removing a broker: the deal's brokers and admins; the parties are refused.
    (
        "deals.remove_broker",
        "POST",
        "/deals/{deal}/brokers/999999/remove",
        {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: NOT_FOUND, F: FORBIDDEN, D: NOT_FOUND},
    ),
    ("deals.add_note", "POST", "/deals/{deal}/notes", DEAL_WORKERS),
    ("deals.add_meeting", "POST", "/deals/{deal}/meetings", DEAL_WORKERS),
    ("deals.upload_file", "POST", "/deals/{deal}/files", DEAL_WORKERS),
    ("deals.file", "GET", "/deals/{deal}/files/{deal_file}", DEAL_VIEWERS),
    ("deals.file", "GET", "/deals/{deal}/files/999999", {**DEAL_VIEWERS, O: 404, E: 404, B: 404, F: 404, D: 404}),
    ("api.deal_create", "POST", "/api/v1/deals", DEAL_OPENERS),
    ("api.deal_detail", "GET", "/api/v1/deals/{deal}", API_DEAL_VIEWERS),
    ("api.deal_detail", "GET", "/api/v1/deals/999999", MISSING),
    ("api.deal_stage", "POST", "/api/v1/deals/{deal}/stage", API_DEAL_WORKERS),
]
