"""Demo data of the providers domain for `flask demo load`, through the real services.

The demo's 技术转移服务中心 and 日照理工大学 offer services, and two service organisations are
added (registered, then verified by the demo admin), so that each of the seven service lines has
a provider (成果评价 by two). Six requests from the demo enterprises and institutes show every
state: waiting, in progress, completed and rated (twice), declined, cancelled — with their
submission times moved back so the response-time figures are realistic."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select

from ..accounts import services as accounts
from ..accounts.models import Organization, User
from ..core.taxonomy import MembershipStatus
from ..core.timeutil import utcnow
from ..extensions import db
from . import services
from .models import ServiceOffering

PASSWORD = "Demo2026kjtb"  # the demo's shared password (marketplace.demo.DEMO_PASSWORD)

NEW_ORGS = [
    # key, name, district, user email, user name, description
    (
        "ipc",
        "日照知识产权运营服务中心（演示）",
        "rz-hitech",
        "ip@demo.kjtb.cn",
        "知识产权中心 韩代理师",
        "专利代理、专利导航与知识产权运营服务机构（演示数据，名称与信息均为虚构）。",
    ),
    (
        "park",
        "日照高新区科创园区运营有限公司（演示）",
        "rz-hitech",
        "park@demo.kjtb.cn",
        "科创园区 马主任",
        "高新区孵化器、加速器运营与科技金融对接（演示数据，名称与信息均为虚构）。",
    ),
]

OFFERINGS = [
    # org key, category, title, price note, district, days, description
    (
        "tto",
        "transfer",
        "技术转移全流程服务",
        "按成交额 3%–5% 收取服务费",
        None,
        60,
        "需求诊断、成果筛选与对接、商务谈判、技术合同起草与登记辅导，直至成果落地。",
    ),
    (
        "tto",
        "brokerage",
        "技术经纪人驻企撮合",
        "基础服务免费，成交后按约定佣金",
        None,
        30,
        "持证技术经纪人驻企业梳理技术需求，对接高校院所成果，陪同洽谈并跟进履约。",
    ),
    (
        "tto",
        "listing",
        "成果挂牌交易组织",
        "挂牌免费，成交后收取交易服务费",
        None,
        30,
        "协助成果方确定挂牌条件，组织公示、意向登记和网络竞价，出具成交确认书。",
    ),
    (
        "tto",
        "evaluation",
        "科技成果第三方评价",
        "2 万元起，按项目报价",
        None,
        20,
        "依据科技成果评价规范，组织 5–7 名同行专家对技术创新性、成熟度、应用前景出具评价意见。",
    ),
    (
        "univ",
        "evaluation",
        "高校专家团队成果评价咨询",
        "面议",
        "371102",
        15,
        "依托材料、海洋、机械等学科专家，为企业成果提供技术评价与改进建议。",
    ),
    (
        "univ",
        "transfer",
        "高校科技成果转化对接",
        "免费",
        "371102",
        30,
        "学校技术转移中心对接企业需求，推荐可转化成果，协助签订技术开发与转让合同。",
    ),
    (
        "ipc",
        "ip",
        "专利导航与布局分析",
        "1.5 万元起",
        None,
        25,
        "围绕企业产品开展专利检索、技术路线与竞争对手分析，提出专利布局方案。",
    ),
    (
        "ipc",
        "ip",
        "专利申请代理",
        "按件收费，发明专利 6000 元起",
        None,
        10,
        "发明、实用新型、外观设计专利申请代理，含答复审查意见。",
    ),
    (
        "park",
        "park",
        "高新区孵化载体入驻",
        "首年租金减半（符合条件的项目）",
        "rz-hitech",
        14,
        "为成果转化项目提供孵化器、加速器场地，协助工商注册、政策申报与人才公寓申请。",
    ),
    (
        "park",
        "finance",
        "知识产权质押融资对接",
        "对接服务免费",
        None,
        21,
        "联合合作银行为科技型中小企业办理知识产权质押贷款、科技保险和投贷联动。",
    ),
]

REQUESTS = [
    # requester key, (provider key, offering title), subject, hours since submission, steps, score
    (
        "steel",
        ("tto", "科技成果第三方评价"),
        "高强度耐候钢焊接工艺成果评价",
        240,
        [
            ("accept", 3, {"note": "拟组织 5 名专家会评，报价 2.8 万元。"}),
            ("start", 24, {}),
            ("complete", 200, {"result": "评价会已召开，评价意见：技术达到国内领先水平。报告已邮寄。"}),
        ],
        (5, "专家阵容强，报告规范，时间比约定提前。"),
    ),
    (
        "energy",
        ("univ", "高校专家团队成果评价咨询"),
        "钠离子电池正极材料中试评价",
        180,
        [
            ("accept", 8, {"note": "安排材料学院两位教授现场考察。"}),
            ("start", 30, {}),
            ("complete", 150, {"result": "已出具评价咨询意见，建议优化烧结工艺。"}),
        ],
        (4, "意见专业，沟通及时。"),
    ),
    (
        "port",
        ("ipc", "专利导航与布局分析"),
        "自动化码头装卸设备专利布局",
        96,
        [("accept", 5, {"note": "报价 3 万元，4 周完成。"}), ("start", 20, {})],
        None,
    ),
    ("food", ("tto", "技术转移全流程服务"), "果蔬冷链保鲜技术引进", 5, [], None),
    (
        "energy",
        ("park", "高新区孵化载体入驻"),
        "储能项目中试车间选址",
        72,
        [("decline", 30, {"reason": "现有孵化载体暂无满足防爆要求的中试车间，建议联系经开区。"})],
        None,
    ),
    (
        "agri",
        ("ipc", "专利申请代理"),
        "耐盐碱小麦品种相关专利申请",
        48,
        [("cancel", 10, {"reason": "改为申请植物新品种权。"})],
        None,
    ),
]


def _user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == email))


def _new_orgs(admin: User | None) -> dict[str, tuple[Organization, User]]:
    made = {}
    for key, name, district, email, user_name, description in NEW_ORGS:
        org = accounts.find_org(name) or accounts.create_org(
            {
                "name": name,
                "org_type": "agency",
                "district": district,
                "contact_name": user_name.split(" ")[-1],
                "contact_phone": "0633-8000000",
                "description": description,
            }
        )
        if not org.verified and admin is not None:
            accounts.set_verified(org, True, admin, "演示：服务机构认证")
        user = _user(email) or accounts.create_user(
            {
                "email": email,
                "name": user_name,
                "role": "broker",  # the role of a technology-transfer service organisation's staff
                "password": PASSWORD,
                "broker_level": "intermediate",
                "broker_cert_no": f"SD-JSJL-2025-{key.upper()}",
            },
            org,
            membership=MembershipStatus.ACTIVE,
            manager=True,
        )
        made[key] = (org, user)
    return made


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the demo rows once (skipped when any exists). Returns how many were created."""
    if db.session.scalar(select(ServiceOffering.id).limit(1)) is not None:
        return 0
    users = dict(users or {})
    admin = users.get("admin")
    managers: dict[str, User] = {"tto": users.get("tto"), "univ": users.get("univ")}  # keyed by org
    for key, (_org, user) in _new_orgs(admin).items():
        managers[key] = user
    created = 0
    offerings: dict[tuple[str, str], ServiceOffering] = {}
    for key, category, title, price, district, days, description in OFFERINGS:
        manager = managers.get(key)
        if manager is None or manager.active_org is None or not manager.active_org.verified:
            continue
        offerings[(key, title)] = services.create_offering(
            manager,
            {
                "category": category,
                "title": title,
                "price_note": price,
                "district": district or "",
                "turnaround_days": days,
                "description": description,
            },
        )
        created += 1
    now = utcnow()
    for requester_key, target, subject, hours_ago, steps, rating in REQUESTS:
        requester = users.get(requester_key)
        offering = offerings.get(target)
        if requester is None or offering is None:
            continue
        req = services.create_request(
            requester,
            offering,
            {"subject": subject, "description": f"{subject}：详见附件材料，期待与贵机构合作（演示）。"},
        )
        req.created_at = now - timedelta(hours=hours_ago)
        for action, after_hours, data in steps:
            actor = requester if action == "cancel" else managers[target[0]]
            services.transition(req, action, actor, data)
            if action in ("accept", "decline"):
                # As if answered `after_hours` after submission.
                req.response_seconds = after_hours * 3600
                req.responded_at = req.created_at + timedelta(hours=after_hours)
        if rating is not None:
            services.rate(req, requester, rating[0], rating[1])
        created += 1
    db.session.flush()
    return created
