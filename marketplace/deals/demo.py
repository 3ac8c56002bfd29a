"""Demo deals for `flask demo load`: one at 洽谈 with notes and a meeting, one at 签约 (quiet for
a while, so the board flags it 停滞), one terminated with a reason. Between the demo
organisations of marketplace/demo.py, driven by the demo broker; texts marked （演示）.

Everything goes through the real services; afterwards the timestamps are moved back so the
timeline reads like weeks of work, as time would have done."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ..accounts.models import User
from ..core.timeutil import utcnow
from ..extensions import db
from . import services
from .models import Deal, DealEvent

BROKER = "broker@demo.kjtb.cn"
PEOPLE = {
    "univ": "univ@demo.kjtb.cn",
    "ocean": "ocean@demo.kjtb.cn",
    "agri": "agri@demo.kjtb.cn",
    "steel": "steel@demo.kjtb.cn",
    "port": "port@demo.kjtb.cn",
    "food": "food@demo.kjtb.cn",
}


def _user(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None:
        raise LookupError(f"演示账号 {email} 不存在：请先加载演示机构和账号")
    return user


def _age(deal: Deal, opened_days_ago: float, stage_days_ago: float, event_days: list[float]) -> None:
    """Move the deal's timestamps back: opened, last stage change, and each event (oldest first,
    in the order they were recorded)."""
    now = utcnow()
    deal.created_at = now - timedelta(days=opened_days_ago)
    deal.stage_changed_at = now - timedelta(days=stage_days_ago)
    events = db.session.scalars(select(DealEvent).where(DealEvent.deal_id == deal.id).order_by(DealEvent.id)).all()
    for event, days in zip(events, event_days, strict=False):
        event.created_at = now - timedelta(days=days)
    deal.updated_at = now - timedelta(days=min(event_days or [stage_days_ago]))


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the three demo deals (idempotent: skipped when the demo broker already has deals).
    `orgs`/`users` are accepted for symmetry with the other demo loaders and otherwise unused;
    the demo accounts are looked up by e-mail. Returns the number of deals created."""
    broker = _user(BROKER)
    people = {key: _user(email) for key, email in PEOPLE.items()}
    if services.broker_deals(broker):
        return 0

    # 1. 洽谈: a license of desulphurisation adsorbent, notes and a site meeting.
    first = services.open_deal(
        broker,
        people["univ"].organization,
        people["steel"].organization,
        "高炉煤气精脱硫吸附剂技术许可（演示）",
        expected_value="180万",
        commission_kind="rate",
        commission_rate="5",
        commission_payer="seller",
        summary="日照理工大学改性氧化铁精脱硫吸附剂，拟以普通许可方式在岚山精工两座高炉煤气系统应用。（演示）",
    )
    services.add_note(
        first, broker, "已向李总工提供中试报告和吸附剂寿命测试数据，对方关心低温（60 ℃）下的有机硫转化率。"
    )
    services.change_stage(first, "negotiation", broker)
    meeting_day = (utcnow() + timedelta(hours=8) - timedelta(days=9)).strftime("%Y-%m-%d")
    services.add_meeting(
        first,
        broker,
        meeting_day,
        "14:30",
        "现场会（岚山精工 2 号高炉煤气站）：王老师介绍两段工艺；李总工提出先做 3 个月侧线试验，"
        "试验费用由企业承担；许可费拟按一次总付 + 销售提成。下一步：学校出具侧线试验方案。",
    )
    services.add_note(
        first,
        people["univ"],
        "侧线试验方案已发给李总工，请经纪人协调试验开始时间。",
    )
    _age(first, 24, 16, [24, 21, 16, 9, 3])

    # 2. 签约: a patent transfer the parties have agreed; quiet since, so it shows as 停滞.
    second = services.open_deal(
        broker,
        people["ocean"].organization,
        people["port"].organization,
        "港口起重机钢结构腐蚀在线监测技术转让（演示）",
        expected_value="260万",
        commission_kind="fixed",
        commission_amount="8万",
        commission_payer="buyer",
        summary="海洋科学研究院的腐蚀电化学传感与预警模型，专利权转让给港口装备公司并提供一年技术服务。（演示）",
    )
    services.change_stage(second, "negotiation", broker)
    services.add_note(second, people["port"], "我方法务已审阅合同文本，同意转让价款 260 万元，分两期支付。")
    services.change_stage(second, "signed", people["ocean"])
    _age(second, 47, 19, [47, 38, 25, 19])

    # 3. 终止: the buyer postponed its investment.
    third = services.open_deal(
        broker,
        people["agri"].organization,
        people["food"].organization,
        "果蔬低温等离子体保鲜技术合作开发（演示）",
        expected_value="45万",
        commission_kind="rate",
        commission_rate="6",
        commission_payer="both",
    )
    services.add_note(third, broker, "双方已互访，企业希望先在蓝莓冷库做小规模试验。")
    services.change_stage(
        third,
        "terminated",
        people["food"],
        "公司调整本年度投资计划，暂缓引进新的保鲜线；双方同意保持联系，明年再议。（演示）",
    )
    _age(third, 33, 12, [33, 28, 12])
    db.session.flush()
    return 3
