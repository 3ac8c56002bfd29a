"""Demo data of the evaluation domain for `flask demo load`, through the real services: one
completed evaluation (its badge on the achievement page) and one being scored, on achievements of
日照理工大学, with panels drawn from the demo experts that have accounts (created here, through the
Expert model and the accounts services, when resources/demo.py made too few)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ..accounts import services as accounts
from ..core.taxonomy import ListingStatus
from ..core.timeutil import local_today
from ..extensions import db
from ..listings.models import Achievement
from ..providers import services as providers
from ..resources.models import Expert
from . import services
from .models import EvaluationRequest

PASSWORD = "Demo2026kjtb"  # the demo password of marketplace/demo.py

FALLBACK_EXPERTS = [
    # email, name, title, org key, field codes, expertise
    ("expert.liu@demo.kjtb.cn", "刘海涛", "研究员", "ocean", ["03"], "海洋装备、智能控制"),
    ("expert.chen@demo.kjtb.cn", "陈雪梅", "研究员", "agri", ["05"], "农产品加工、食品安全"),
    ("expert.zhao@demo.kjtb.cn", "赵立新", "高级工程师", "port", ["03"], "港口机械、工业自动化"),
    ("expert.sun@demo.kjtb.cn", "孙文博", "教授", "ocean", ["01", "03"], "新材料、技术经济评价"),
]

SHEETS = [
    (
        [82, 80, 75, 85, 78, 72],
        "已完成样机并在港区试运行，关键指标有第三方检测。",
        "建议尽快开展小批量应用，同时完善专利布局。",
    ),
    (
        [78, 76, 70, 82, 80, 70],
        "技术路线清晰，与现有方案相比能耗明显下降。",
        "市场需求明确，可优先面向本市港口企业推广。",
    ),
    (
        [75, 79, 72, 80, 74, 68],
        "工程化数据尚少，长期可靠性有待验证。",
        "建议补充一年以上的运行数据后再扩大推广。",
    ),
]


def _sheet(scores: list[int], comment: str, opinion: str) -> dict[str, Any]:
    from .scoring import DIMENSION_CODES

    data: dict[str, Any] = {"opinion": opinion}
    for code, value in zip(DIMENSION_CODES, scores, strict=True):
        data[code] = value
        data[f"{code}_comment"] = comment
    return data


def _ensure_experts(orgs: dict[str, Any], owner_org_id: int) -> None:
    usable = [
        e
        for e in db.session.scalars(
            select(Expert).where(
                Expert.user_id.is_not(None), Expert.active.is_(True), Expert.available_evaluation.is_(True)
            )
        )
        if e.organization_id != owner_org_id and (e.user is None or e.user.organization_id != owner_org_id)
    ]
    for email, name, title, org_key, fields, expertise in FALLBACK_EXPERTS:
        if len(usable) >= 4:
            return
        org = orgs.get(org_key)
        user = accounts.find_user(email) or accounts.create_user(
            {
                "email": email,
                "name": name,
                "role": "university" if org_key != "port" else "enterprise",
                "password": PASSWORD,
            },
            org,
        )
        if db.session.scalar(select(Expert.id).where(Expert.user_id == user.id)):
            continue
        expert = Expert(
            name=name,
            organization_id=org.id if org is not None else None,
            user_id=user.id,
            title=title,
            field_codes=fields,
            expertise=expertise,
            available_evaluation=True,
            active=True,
        )
        db.session.add(expert)
        db.session.flush()
        usable.append(expert)


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the demo rows once (skipped when any exists). Returns how many were created."""
    orgs, users = orgs or {}, users or {}
    owner, admin = users.get("univ"), users.get("admin")
    if owner is None or admin is None or db.session.scalar(select(EvaluationRequest.id).limit(1)):
        return 0
    achievements = list(
        db.session.scalars(
            select(Achievement)
            .where(Achievement.org_id == owner.organization_id, Achievement.status == ListingStatus.PUBLISHED.value)
            .order_by(Achievement.id)
            .limit(2)
        )
    )
    if len(achievements) < 2:
        return 0
    _ensure_experts(orgs, owner.organization_id)
    due = (local_today() + timedelta(days=20)).isoformat()

    done = services.create_request(
        owner, achievements[0], {"purpose": "成果转让定价参考", "notes": "已有样机和第三方检测报告。"}
    )
    panel = services.candidate_experts(done)[:3]
    if len(panel) < 3:
        db.session.rollback()
        return 0
    services.assign_panel(done, admin, [e.id for e in panel], due)
    for expert, (scores, comment, opinion) in zip(panel, SHEETS, strict=True):
        services.submit_scores(done, expert.user, _sheet(scores, comment, opinion))
    services.close_panel(done, admin)

    tto, broker = orgs.get("tto"), users.get("tto")
    use_provider = tto is not None and broker is not None and providers.offers(tto.id, services.CATEGORY)
    open_one = services.create_request(
        owner,
        achievements[1],
        {"purpose": "申报科技成果转化项目", "provider_org_id": tto.id if use_provider else None},
    )
    assigner = broker if use_provider else admin
    panel = services.candidate_experts(open_one)[:3]
    services.assign_panel(open_one, assigner, [e.id for e in panel], due)
    scores, comment, opinion = SHEETS[1]
    services.submit_scores(open_one, panel[0].user, _sheet(scores, comment, opinion))
    db.session.flush()
    return 2
