"""Access-matrix rows for the providers blueprint (科技服务 1+7+N) and its API endpoints.

In this world the owner's university (verified; the owner is its manager) offers two services:
one active, one deactivated (hidden from everyone but its managers and admins). The enterprise
member's company submitted two requests: one waits for an answer, one was completed with a PDF
result file and is not yet rated."""

from __future__ import annotations

from marketplace.extensions import db
from marketplace.providers import services as providers
from tests.web.access_common import (
    EVERYONE,
    FORBIDDEN,
    LOGIN,
    NOT_FOUND,
    OK,
    OWNER_ONLY,
    OWNER_OR_ADMIN,
    ROLES,
    THREAD_PARTIES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)

PDF = b"%PDF-1.4\n%service result\n"
OFFERING = {
    "category": "evaluation",
    "title": "科技成果评价",
    "description": "组织同行专家对成果的技术水平与成熟度出具评价意见。",
    "price_note": "按项目收费",
    "turnaround_days": "20",
}
REQUEST = {"subject": "海水淡化膜成果评价", "description": "拟申报科技奖励，需第三方评价意见。"}


def extend_world(users: dict, ids: dict) -> dict:
    owner, enterprise = users["owner"], users["enterprise"]
    offering = providers.create_offering(owner, OFFERING)
    hidden = providers.create_offering(owner, {**OFFERING, "title": "已下架的服务"})
    providers.set_offering_active(hidden, owner, False)
    waiting = providers.create_request(enterprise, offering, REQUEST)
    done = providers.create_request(enterprise, offering, {**REQUEST, "subject": "已完成的评价"})
    providers.transition(done, "accept", owner)
    providers.transition(done, "start", owner)
    providers.transition(done, "complete", owner, {"result": "评价报告已出具"}, ("评价报告.pdf", PDF))
    db.session.flush()
    return {
        "offering": offering.id,
        "hidden_offering": hidden.id,
        "service_request": waiting.id,
        "done_request": done.id,
    }


MISSING = dict.fromkeys(ROLES, NOT_FOUND)
MANAGERS_SEE = {**MISSING, O: OK, D: OK}
# Anyone with an approved organisation other than the provider's (admins have none).
REQUESTERS = {A: LOGIN, O: FORBIDDEN, M: OK, E: OK, B: OK, F: OK, D: FORBIDDEN}
WITH_ORG = {A: LOGIN, O: OK, M: OK, E: OK, B: OK, F: OK, D: FORBIDDEN}
REQUESTER_ONLY = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: OK, B: FORBIDDEN, F: FORBIDDEN, D: FORBIDDEN}
PARTIES_ONLY = {**THREAD_PARTIES, D: FORBIDDEN}
REQ = "/services/requests/{service_request}"

CASES: list[tuple] = [
    ("providers.catalogue", "GET", "/services", EVERYONE),
    ("providers.provider", "GET", "/services/providers/{org}", EVERYONE),
    ("providers.provider", "GET", "/services/providers/999999", MISSING),
    ("providers.new_offering", "GET", "/services/offerings/new", OWNER_ONLY),
    ("providers.new_offering", "POST", "/services/offerings/new", OWNER_ONLY),
    ("providers.offering", "GET", "/services/offerings/{offering}", EVERYONE),
    ("providers.offering", "GET", "/services/offerings/{hidden_offering}", MANAGERS_SEE),
    ("providers.offering", "GET", "/services/offerings/999999", MISSING),
    ("providers.edit_offering", "GET", "/services/offerings/{offering}/edit", OWNER_OR_ADMIN),
    ("providers.edit_offering", "POST", "/services/offerings/{offering}/edit", OWNER_OR_ADMIN),
    ("providers.set_active", "POST", "/services/offerings/{offering}/active", OWNER_OR_ADMIN),
    ("providers.new_request", "GET", "/services/offerings/{offering}/request", REQUESTERS),
    ("providers.new_request", "POST", "/services/offerings/{offering}/request", REQUESTERS),
    (
        "providers.new_request",
        "GET",
        "/services/offerings/{hidden_offering}/request",
        {**MANAGERS_SEE, A: LOGIN, O: FORBIDDEN, D: FORBIDDEN},
    ),
    ("providers.my_requests", "GET", "/services/requests", WITH_ORG),
    ("providers.workbench", "GET", "/services/workbench", WITH_ORG),
    ("providers.request_detail", "GET", REQ, THREAD_PARTIES),
    ("providers.request_detail", "GET", "/services/requests/999999", {**MISSING, A: LOGIN}),
    ("providers.request_action", "POST", REQ + "/accept", OWNER_ONLY),
    ("providers.request_action", "POST", REQ + "/decline", OWNER_ONLY),
    ("providers.request_action", "POST", REQ + "/start", OWNER_ONLY),
    ("providers.request_action", "POST", REQ + "/complete", OWNER_ONLY),
    ("providers.request_action", "POST", REQ + "/cancel", REQUESTER_ONLY),
    ("providers.rate", "POST", "/services/requests/{done_request}/rating", REQUESTER_ONLY),
    ("providers.message", "POST", REQ + "/messages", PARTIES_ONLY),
    ("providers.result_file", "GET", "/services/requests/{done_request}/file", THREAD_PARTIES),
    ("providers.result_file", "GET", REQ + "/file", {**THREAD_PARTIES, O: NOT_FOUND, E: NOT_FOUND, D: NOT_FOUND}),
    ("api.services_offerings", "GET", "/api/v1/services/offerings", EVERYONE),
    ("api.services_offering_create", "POST", "/api/v1/services/offerings", OWNER_ONLY),
    ("api.services_offering_detail", "GET", "/api/v1/services/offerings/{offering}", EVERYONE),
    ("api.services_offering_detail", "GET", "/api/v1/services/offerings/{hidden_offering}", MANAGERS_SEE),
    ("api.services_offering_update", "PATCH", "/api/v1/services/offerings/{offering}", OWNER_OR_ADMIN),
    ("api.services_offering_deactivate", "POST", "/api/v1/services/offerings/{offering}/deactivate", OWNER_OR_ADMIN),
    ("api.services_provider", "GET", "/api/v1/services/providers/{org}", EVERYONE),
    ("api.services_provider", "GET", "/api/v1/services/providers/999999", MISSING),
    ("api.services_request_create", "POST", "/api/v1/services/offerings/{offering}/requests", REQUESTERS),
    ("api.services_requests", "GET", "/api/v1/services/requests", WITH_ORG),
    ("api.services_request_detail", "GET", "/api/v1/services/requests/{service_request}", THREAD_PARTIES),
    # Without an action the parties (and the read-only admin) get a 422; others never see it.
    (
        "api.services_request_transition",
        "POST",
        "/api/v1/services/requests/{service_request}/transition",
        THREAD_PARTIES,
    ),
    ("api.services_request_rate", "POST", "/api/v1/services/requests/{done_request}/rating", REQUESTER_ONLY),
]
