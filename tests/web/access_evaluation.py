"""Access-matrix rows for the evaluation blueprint (成果评价) and its API endpoints, and the small
factories the evaluation tests share.

In this world the owner's university has three published achievements: one evaluation is
completed (the platform's admin assigned a panel of three, all scored, the admin closed it), one
is being scored (the other member's university is the chosen 成果评价 provider and assigned the
panel; one expert scored), one is requested from that provider. The broker is an expert on both
panels, so the broker's column is the panel expert's."""

from __future__ import annotations

from datetime import timedelta
from itertools import count
from typing import Any

from marketplace.accounts import services as accounts
from marketplace.core.timeutil import local_today
from marketplace.evaluation import scoring
from marketplace.evaluation import services as evaluation
from marketplace.extensions import db
from marketplace.listings import services as listings
from marketplace.providers.models import ServiceOffering
from marketplace.resources.models import Expert
from tests.conftest import PASSWORD, _advance, achievement_data
from tests.web.access_common import (
    API_LOGGED_IN,
    EVERYONE,
    FORBIDDEN,
    LOGGED_IN,
    LOGIN,
    NOT_FOUND,
    OK,
    OWNER_ONLY,
    ROLES,
    A,
    B,
    D,
    E,
    F,
    M,
    O,
)

_seq = count(1)


# ---------------------------------------------------------------------------------------------
# Factories shared by the evaluation tests


def make_expert(name: str | None = None, org=None, *, user=None, account: bool = True, **extra) -> Expert:
    """An expert (with a login account unless account=False; `user` links an existing one)."""
    n = next(_seq)
    name = name or f"评审专家{n}"
    if org is None and user is None:
        org = accounts.create_org({"name": f"日照专家单位{n}", "org_type": "university"}, verified=True)
    if user is None and account:
        user = accounts.create_user(
            {"email": f"expert{n}@example.cn", "name": name, "role": "university", "password": PASSWORD}, org
        )
    expert = Expert(
        name=name,
        organization_id=org.id if org is not None else None,
        org_name=None if org is not None else "日照市科学技术协会",
        user_id=user.id if user is not None else None,
        title=extra.pop("title", "教授"),
        field_codes=extra.pop("field_codes", ["0303"]),
        available_evaluation=extra.pop("available_evaluation", True),
        active=extra.pop("active", True),
        **extra,
    )
    db.session.add(expert)
    db.session.flush()
    return expert


def make_provider(org) -> ServiceOffering:
    offering = ServiceOffering(org_id=org.id, category="evaluation", title="科技成果评价服务", active=True)
    db.session.add(offering)
    db.session.flush()
    return offering


def published(owner, title: str | None = None):
    item = listings.create_listing(
        "achievement", owner, achievement_data(title=title or f"评价测试成果{next(_seq)}", patent_numbers="")
    )
    _advance(item, owner, "published")
    return item


def sheet(scores, comment: str = "评语") -> dict[str, Any]:
    """A score sheet: six scores in the model's order (maturity, innovation, ip, market, team, risk)."""
    data: dict[str, Any] = {"opinion": "总体意见：建议推进转化。"}
    for code, value in zip(scoring.DIMENSION_CODES, scores, strict=True):
        data[code] = value
        data[f"{code}_comment"] = f"{comment}（{scoring.BY_CODE[code].label}）"
    return data


def due() -> str:
    return (local_today() + timedelta(days=14)).isoformat()


def completed(owner, admin, experts, sheets, achievement=None):
    """A completed evaluation through the real services."""
    request = evaluation.create_request(owner, achievement or published(owner), {"purpose": "转让定价参考"})
    evaluation.assign_panel(request, admin, [e.id for e in experts], due())
    for expert, scores in zip(experts, sheets, strict=True):
        evaluation.submit_scores(request, expert.user, sheet(scores))
    evaluation.close_panel(request, admin)
    return request


# ---------------------------------------------------------------------------------------------
# The world


def extend_world(users: dict, ids: dict) -> dict:
    owner, other, admin, broker = users["owner"], users["other_member"], users["admin"], users["broker"]
    make_provider(other.active_org)
    panel = [make_expert("王评审", user=broker), make_expert("李评审"), make_expert("赵评审")]
    done = completed(owner, admin, panel, [[80] * 6, [75] * 6, [70] * 6])
    scoring_one = evaluation.create_request(
        owner, published(owner), {"purpose": "融资参考", "provider_org_id": other.active_org.id}
    )
    evaluation.assign_panel(scoring_one, other, [e.id for e in panel], due())
    evaluation.submit_scores(scoring_one, panel[1].user, sheet([70] * 6))
    requested = evaluation.create_request(
        owner, published(owner), {"purpose": "申报项目", "provider_org_id": other.active_org.id}
    )
    db.session.flush()
    return {"ev_completed": done.id, "ev_scoring": scoring_one.id, "ev_requested": requested.id}


MISSING = dict.fromkeys(ROLES, NOT_FOUND)
HIDDEN = {**MISSING, A: LOGIN}
PARTIES = {A: LOGIN, O: OK, M: OK, E: FORBIDDEN, B: OK, F: OK, D: OK}  # the scoring request
ASSIGNERS = {A: LOGIN, O: FORBIDDEN, M: OK, E: FORBIDDEN, B: FORBIDDEN, F: FORBIDDEN, D: OK}
EXPERT = {A: LOGIN, O: FORBIDDEN, M: FORBIDDEN, E: FORBIDDEN, B: OK, F: FORBIDDEN, D: FORBIDDEN}
REQUESTER_OR_ADMIN = {**OWNER_ONLY, D: OK}
REPORT = {A: LOGIN, O: OK, M: FORBIDDEN, E: FORBIDDEN, B: OK, F: OK, D: OK}  # the completed one

CASES: list[tuple] = [
    ("evaluation.model", "GET", "/evaluations/model", EVERYONE),
    ("evaluation.index", "GET", "/evaluations", LOGGED_IN),
    ("evaluation.tasks", "GET", "/evaluations/tasks", LOGGED_IN),
    ("evaluation.new", "GET", "/evaluations/new", OWNER_ONLY),
    ("evaluation.new", "POST", "/evaluations/new", OWNER_ONLY),
    ("evaluation.detail", "GET", "/evaluations/{ev_scoring}", PARTIES),
    ("evaluation.detail", "GET", "/evaluations/999999", HIDDEN),
    ("evaluation.assign", "POST", "/evaluations/{ev_requested}/assign", ASSIGNERS),
    ("evaluation.score", "GET", "/evaluations/{ev_scoring}/score", EXPERT),
    ("evaluation.score", "POST", "/evaluations/{ev_scoring}/score", EXPERT),
    ("evaluation.close", "POST", "/evaluations/{ev_scoring}/close", ASSIGNERS),
    ("evaluation.cancel", "POST", "/evaluations/{ev_requested}/cancel", REQUESTER_OR_ADMIN),
    ("evaluation.badge", "POST", "/evaluations/{ev_completed}/badge", OWNER_ONLY),
    ("evaluation.report", "GET", "/evaluations/{ev_completed}/report.pdf", REPORT),
    ("evaluation.report", "GET", "/evaluations/{ev_scoring}/report.pdf", HIDDEN),
    ("evaluation.summary", "GET", "/evaluations/{ev_completed}/summary", EVERYONE),
    ("evaluation.summary", "GET", "/evaluations/{ev_scoring}/summary", MISSING),
    ("api.evaluation_model", "GET", "/api/v1/evaluations/model", EVERYONE),
    ("api.evaluation_list", "GET", "/api/v1/evaluations", API_LOGGED_IN),
    ("api.evaluation_create", "POST", "/api/v1/evaluations", OWNER_ONLY),
    ("api.evaluation_detail", "GET", "/api/v1/evaluations/{ev_scoring}", PARTIES),
    ("api.evaluation_detail", "GET", "/api/v1/evaluations/999999", HIDDEN),
    ("api.evaluation_assign", "POST", "/api/v1/evaluations/{ev_requested}/panel", ASSIGNERS),
    ("api.evaluation_scores", "PUT", "/api/v1/evaluations/{ev_scoring}/scores", EXPERT),
    ("api.evaluation_close", "POST", "/api/v1/evaluations/{ev_scoring}/close", ASSIGNERS),
    ("api.evaluation_cancel", "POST", "/api/v1/evaluations/{ev_requested}/cancel", REQUESTER_OR_ADMIN),
    ("api.evaluation_report", "GET", "/api/v1/evaluations/{ev_completed}/report.pdf", REPORT),
    ("api.evaluation_report", "GET", "/api/v1/evaluations/{ev_scoring}/report.pdf", HIDDEN),
]
