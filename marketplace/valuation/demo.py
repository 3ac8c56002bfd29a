"""Demo data of the valuation domain for `flask demo load`, through the real services: two
worksheets of the demo university on its published achievements (loaded after the contracts)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from ..accounts.models import User
from ..core.taxonomy import ListingStatus
from ..extensions import db
from ..listings.models import Achievement
from . import services
from .models import ValuationWorksheet


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the demo rows once (skipped when any exists). Returns how many were created."""
    if db.session.scalar(select(ValuationWorksheet.id).limit(1)) is not None:
        return 0
    owner = db.session.scalar(select(User).where(User.email == "univ@demo.kjtb.cn"))
    if owner is None or owner.active_org is None:
        return 0
    items = list(
        db.session.scalars(
            select(Achievement)
            .where(Achievement.org_id == owner.active_org.id, Achievement.status == ListingStatus.PUBLISHED.value)
            .order_by(Achievement.id)
            .limit(2)
        ).unique()
    )
    sheets = [
        {
            "subject": "拟以专利实施许可方式向日照本地钢铁企业转化，许可期 5 年，按销售额提成。",
            "revenues": [
                {"year": "2027", "amount": "320"},
                {"year": "2028", "amount": "480"},
                {"year": "2029", "amount": "560"},
                {"year": "2030", "amount": "600"},
                {"year": "2031", "amount": "600"},
            ],
            "share_pct": "8",
            "discount_pct": "10",
            "risk_pct": "3",
            "life_years": "4.5",
            "cost_items": [
                {"name": "研发人工", "amount": "68"},
                {"name": "材料与测试", "amount": "22"},
                {"name": "设备折旧", "amount": "15"},
                {"name": "专利申请与维持费", "amount": "1.6"},
            ],
            "margin_pct": "10",
            "obsolescence_mode": "rates",
            "functional_pct": "15",
            "economic_pct": "10",
        },
        {
            "subject": "港口企业提出整体受让，谈判前按成本法与收益法两种口径准备底价。",
            "revenues": [
                {"year": "2027", "amount": "150"},
                {"year": "2028", "amount": "180"},
                {"year": "2029", "amount": "200"},
            ],
            "share_pct": "20",
            "discount_pct": "12",
            "life_years": "3",
            "cost_items": [{"name": "研发人工", "amount": "40"}, {"name": "样机试制", "amount": "18"}],
            "margin_pct": "8",
            "obsolescence_mode": "life",
            "cost_remaining_life": "6",
            "cost_total_life": "10",
        },
    ]
    created = 0
    for item, data in zip(items, sheets, strict=False):
        services.create(
            owner,
            {**data, "title": f"{item.title} 价值评估", "achievement_id": item.id, "patent_number": ""},
        )
        created += 1
    db.session.flush()
    return created
