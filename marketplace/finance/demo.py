"""Demo data of 科技金融 for `flask demo load`, through the real services: two verified financial
institutions with one member each, five products, applications in different states (one
disbursed 科技成果转化贷款 with a repayment), a field follow and one upcoming roadshow with two
presenting projects. The clock is moved back where an earlier moment is needed."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.models import User
from ..core.taxonomy import ListingStatus, MembershipStatus
from ..core.timeutil import local_today
from ..extensions import db
from ..listings.models import Achievement
from . import services
from .models import FinanceProduct

INSTITUTIONS = [
    # key, org name, district, member e-mail, member name
    ("bank", "日照银行科技支行（演示）", "371102", "bank@demo.kjtb.cn", "日照银行科技支行 孙经理"),
    ("fund", "日照市科技创新投资基金（演示）", "rz-hitech", "fund@demo.kjtb.cn", "科创投资基金 钱总监"),
]

PRODUCTS = {
    "transfer": (
        "bank",
        {
            "kind": "transfer_loan",
            "title": "科技成果转化贷",
            "description": "支持企业受让、许可使用高校院所科技成果并实施产业化，可凭已登记的技术合同申请，市财政按规定给予贴息（演示）。",
            "requirements": "已在技术合同登记机构登记的技术转让/许可合同；企业成立满 1 年，无不良信用记录。",
            "amount_min": "50万",
            "amount_max": "2000万",
            "rate_min": "3.45",
            "rate_max": "4.35",
            "term_min": "6",
            "term_max": "36",
            "fields": [],
        },
    ),
    "pledge": (
        "bank",
        {
            "kind": "patent_pledge",
            "title": "知识产权质押贷",
            "description": "以已授权发明专利、实用新型专利的专有权质押，评估值最高按 50% 授信（演示）。",
            "requirements": "质押专利须已授权且权属清晰，剩余保护期不少于 5 年。",
            "amount_min": "30万",
            "amount_max": "1000万",
            "rate_min": "3.6",
            "rate_max": "4.8",
            "term_min": "12",
            "term_max": "36",
            "fields": ["03", "05", "06"],
        },
    ),
    "ip": (
        "bank",
        {
            "kind": "ip_loan",
            "title": "科创积分贷",
            "description": "按企业研发投入、专利和技术合同等科创积分核定信用额度，随借随还（演示）。",
            "amount_min": "10万",
            "amount_max": "500万",
            "rate_min": "3.95",
            "rate_max": "5.2",
            "term_min": "3",
            "term_max": "24",
            "fields": [],
        },
    ),
    "seed": (
        "fund",
        {
            "kind": "equity_fund",
            "title": "种子期科技成果股权投资",
            "description": "投资日照本地高校院所成果转化项目和初创科技企业，单项目投资 100 万–3000 万元（演示）。",
            "requirements": "项目核心技术已形成专利或软件著作权，团队全职投入。",
            "amount_min": "100万",
            "amount_max": "3000万",
            "rate_min": "",
            "rate_max": "",
            "term_min": "36",
            "term_max": "84",
            "fields": ["01", "04", "06", "09"],
        },
    ),
    "guide": (
        "fund",
        {
            "kind": "other",
            "title": "海洋产业成果转化引导基金",
            "description": "与社会资本合作设立子基金，重点投向深远海养殖、海洋装备和海洋生物医药（演示）。",
            "amount_min": "500万",
            "amount_max": "5000万",
            "rate_min": "",
            "rate_max": "",
            "term_min": "60",
            "term_max": "120",
            "fields": ["03", "04", "09"],
        },
    ),
}


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _demo_password() -> str:
    from ..demo import DEMO_PASSWORD

    return DEMO_PASSWORD


def _published(org_id: int, limit: int) -> list[Achievement]:
    stmt = (
        select(Achievement)
        .where(Achievement.org_id == org_id, Achievement.status == ListingStatus.PUBLISHED.value)
        .order_by(Achievement.id)
        .limit(limit)
    )
    return list(db.session.scalars(stmt))


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the demo rows once (skipped when any product exists). Returns how many products."""
    if db.session.scalar(select(FinanceProduct.id).limit(1)) is not None:
        return 0
    members: dict[str, User] = {}
    for key, name, district, email, person in INSTITUTIONS:
        org = accounts.find_org(name) or accounts.create_org(
            {
                "name": name,
                "org_type": "finance",
                "district": district,
                "contact_name": "演示联系人",
                "contact_phone": "0633-8000000",
                "description": "本机构为演示数据，名称与信息均为虚构。",
            },
            verified=True,
        )
        members[key] = _user(email) or accounts.create_user(
            {"email": email, "name": person, "role": "finance", "password": _demo_password()},
            org,
            membership=MembershipStatus.ACTIVE,
            manager=True,
        )
    db.session.flush()
    products = {}
    for key, (owner, data) in PRODUCTS.items():
        products[key] = services.create_product(members[owner], {**data, "publish": True})
    bank, fund = members["bank"], members["fund"]
    steel, port, food, energy = (_user(f"{k}@demo.kjtb.cn") for k in ("steel", "port", "food", "energy"))
    today = local_today()

    if steel is not None:
        loan = services.create_application(
            steel,
            products["transfer"],
            {
                "amount_requested": "600万",
                "term_months": "24",
                "purpose": "受让日照理工大学“高强钢激光焊接工艺”专利后建设示范产线（演示）",
            },
        )
        services.transition(loan, "review", bank)
        services.transition(
            loan, "approve", bank, {"approved_amount": "500万", "approved_rate": "3.85", "approved_term": "24"}
        )
        loan.decided_at = datetime.combine(today - timedelta(days=60), time(2, 0))
        services.transition(
            loan,
            "disburse",
            bank,
            {"disbursed_amount": "500万", "disbursed_on": (today - timedelta(days=55)).isoformat()},
        )
        services.record_repayment(
            loan, bank, {"amount": "80万", "paid_on": (today - timedelta(days=25)).isoformat(), "note": "按季还本"}
        )
    if port is not None:
        pledge = services.create_application(
            port,
            products["pledge"],
            {"amount_requested": "300万", "term_months": "24", "purpose": "港口智能装卸装备样机试制（演示）"},
        )
        services.transition(pledge, "review", bank)
        services.transition(
            pledge, "request_documents", bank, {"note": "请补充质押专利的评估报告和最近一期年费缴纳凭证"}
        )
    if energy is not None:
        services.create_application(
            energy,
            products["seed"],
            {"amount_requested": "1000万", "term_months": "60", "purpose": "固态电池电解质中试放大（演示）"},
        )
    if food is not None:
        declined = services.create_application(
            food,
            products["transfer"],
            {"amount_requested": "200万", "term_months": "12", "purpose": "果蔬低温加工技术改造（演示）"},
        )
        services.transition(declined, "decline", bank, {"reason": "未提供已登记的技术合同，建议登记后重新申请"})
    services.follow_field(fund, "06")

    roadshow = services.create_roadshow(
        fund,
        {
            "title": "日照市科技成果转化项目路演（2026 年第一期，演示）",
            "description": "面向银行、投资机构推介本地高校院所的成熟成果，每个项目路演 10 分钟、问答 5 分钟。",
            "place": "日照市科技创新中心 3 楼报告厅",
            "online_url": "https://meeting.example.cn/rz-roadshow",
            "capacity": "120",
            "starts_at": f"{today + timedelta(days=14)} 14:30",
            "registration_deadline": f"{today + timedelta(days=12)} 18:00",
        },
    )
    presenters = [_user("univ@demo.kjtb.cn"), _user("ocean@demo.kjtb.cn")]
    for presenter in presenters:
        if presenter is None or presenter.active_org is None:
            continue
        for achievement in _published(presenter.active_org.id, 1):
            project = services.apply_to_present(roadshow, presenter, achievement)
            services.accept_project(roadshow, fund, project.id)
    if steel is not None:
        services.register(roadshow, steel)
    db.session.flush()
    return len(products)
