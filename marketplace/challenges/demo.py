"""Demo 揭榜挂帅 challenges for `flask demo load`: one open with two applications, one past its
deadline under review, one decided with a winner. Texts are fictional and marked （演示）.

Everything goes through the real services; a challenge "in the past" is published with a future
deadline and then has its deadline moved back, as time would have done."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from ..core.timeutil import local_today
from ..extensions import db
from . import services
from .validation import parse_deadline

CRITERIA = [
    {"name": "技术方案先进性与可行性", "weight": 40},
    {"name": "团队能力与研究基础", "weight": 30},
    {"name": "进度安排与经费合理性", "weight": 20},
    {"name": "产业化前景", "weight": 10},
]


def _data(title: str, problem: str, indicators: str, bounty: str, days: int, field: str, **extra: Any) -> dict:
    return {
        "title": title,
        "problem": problem,
        "indicators": indicators,
        "bounty": bounty,
        "deadline_date": (local_today() + timedelta(days=days)).isoformat(),
        "deadline_time": "17:00",
        "criteria": [dict(c) for c in CRITERIA],
        "eligible_org_types": ["university", "institute", "enterprise"],
        "field": field,
        **extra,
    }


def _publish(publisher, admin, data: dict):
    challenge = services.create_challenge(publisher, data)
    services.transition(challenge, "submit", publisher)
    services.transition(challenge, "approve", admin)
    return challenge


def _apply(user, challenge, proposal: str, team: str, schedule: str, budget: str):
    return services.apply(user, challenge, {"proposal": proposal, "team": team, "schedule": schedule, "budget": budget})


def _close(challenge, days_ago: int) -> None:
    challenge.deadline = parse_deadline(local_today() - timedelta(days=days_ago), "17:00")
    challenge.published_at = challenge.deadline - timedelta(days=40)
    db.session.flush()


def load(orgs: dict[str, Any], users: dict[str, Any]) -> int:
    """Create the three demo challenges; `users` maps the demo org keys (and "admin") to users."""
    admin = users["admin"]

    # 1. Open: the steel enterprise, two applications.
    steel = _publish(
        users["steel"],
        admin,
        _data(
            "高炉煤气精脱硫与有机硫水解技术攻关（演示）",
            "我公司两座 1080 m³ 高炉的煤气经干法脱硫后总硫仍在 60–80 mg/m³，其中有机硫（COS、CS₂）占七成以上，"
            "下游热风炉、轧钢加热炉烟气难以稳定满足超低排放要求。现有水解催化剂寿命短、低温活性差。"
            "现面向社会征集高炉煤气精脱硫成套技术方案，要求可在现有煤气管网上改造实施。（演示）",
            "1. 精脱硫后煤气总硫 ≤ 20 mg/m³，H₂S ≤ 1 mg/m³；\n2. 有机硫水解转化率 ≥ 95%（入口温度 60–120 ℃）；\n"
            "3. 催化剂/吸附剂使用寿命 ≥ 2 年；\n4. 吨煤气运行成本 ≤ 0.015 元/m³；\n5. 系统压降 ≤ 3 kPa，不影响高炉顶压发电。",
            "300万",
            45,
            "0702",
            contact_name="李总工",
            contact_phone="0633-8000000",
        ),
    )
    _apply(
        users["univ"],
        steel,
        "采用“低温有机硫水解 + 改性氧化铁精脱”两段工艺：自主研制的稀土改性氧化铝水解催化剂在 70 ℃ 下 COS 转化率 97%，"
        "配合高硫容氧化铁吸附剂，实验室模拟煤气出口总硫 8 mg/m³。（演示）",
        "负责人王教授（环境工程），团队 9 人，其中高级职称 4 人；承担过省重点研发计划“钢铁烟气多污染物协同治理”。",
        "第 1–3 个月：催化剂放大制备与侧线试验；第 4–8 个月：5000 m³/h 中试；第 9–14 个月：工业示范与考核。",
        "260万",
    )
    _apply(
        users["energy"],
        steel,
        "以我公司量产的介孔碳基脱硫吸附材料为核心，构建可在线再生的固定床精脱硫装置，再生尾气回收硫磺。（演示）",
        "材料研发团队 12 人，具备年产 500 吨吸附材料的生产线。",
        "6 个月完成侧线验证，12 个月完成一座高炉的工业化改造。",
        "280万",
    )

    # 2. Under review: the port enterprise; applications closed last week.
    port = _publish(
        users["port"],
        admin,
        _data(
            "自动化集装箱码头水平运输智能调度算法（演示）",
            "我公司承建的自动化集装箱码头采用 40 台无人集卡进行岸桥—堆场水平运输。高峰时段集卡拥堵、岸桥等车时间长，"
            "现有基于规则的调度系统难以兼顾船期与能耗。征集可与现有 TOS 对接的集卡实时调度与路径规划算法。（演示）",
            "1. 岸桥平均等车时间降低 30% 以上；\n2. 单机作业效率 ≥ 32 自然箱/小时；\n3. 调度决策时间 ≤ 1 秒（40 台集卡）；\n"
            "4. 提供仿真验证平台与接口文档，支持在现场系统中 A/B 测试。",
            "150万",
            30,
            "1003",
        ),
    )
    port_univ = _apply(
        users["univ"],
        port,
        "基于多智能体强化学习的集卡调度与时空冲突消解路径规划，离线以历史作业数据训练，在线滚动优化。（演示）",
        "交通运输工程学院团队 7 人，已完成两个港口的仿真项目。",
        "3 个月仿真验证，3 个月现场 A/B 测试。",
        "120万",
    )
    port_ocean = _apply(
        users["ocean"],
        port,
        "混合整数规划 + 大邻域搜索的分层调度框架，保证可解释性，便于调度员人工干预。（演示）",
        "海洋信息研究室 5 人。",
        "4 个月算法开发，2 个月现场验证。",
        "90万",
    )
    services.invite_reviewer(users["port"], port, users["tto"].email)
    _close(port, 5)
    services.score(users["port"], port_univ, [88, 82, 80, 85], "算法先进，仿真结果可信，需补充极端天气工况。")
    services.score(users["port"], port_ocean, [78, 75, 85, 80], "可解释性好，但效率提升幅度论证不足。")
    services.score(users["tto"], port_univ, [85, 80, 78, 90], "建议分阶段验收。")
    services.set_shortlisted(users["port"], port_univ, True)

    # 3. Decided: the science bureau on behalf of the city.
    city = _publish(
        users["gov"],
        admin,
        _data(
            "深远海养殖工船水质在线监测与病害预警系统（演示）",
            "为支撑日照国际海洋城深远海养殖产业发展，市科技局代表市政府发榜，征集适用于养殖工船舱养环境的水质在线监测、"
            "鱼类病害早期预警成套技术，形成可推广的装备与平台。（演示）",
            "1. 溶解氧、温度、盐度、pH、氨氮在线监测，连续运行 ≥ 90 天免维护；\n2. 病害预警提前量 ≥ 72 小时，准确率 ≥ 85%；\n"
            "3. 传感器国产化率 ≥ 80%；\n4. 在不少于 2 个养殖舱示范应用。",
            "500万",
            60,
            "0905",
            district="rz-oceancity",
            eligible_org_types=["university", "institute"],
        ),
    )
    city_ocean = _apply(
        users["ocean"],
        city,
        "自研抗生物附着多参数水质传感阵列 + 基于鱼群行为视频与水质时序的病害预警模型。（演示）",
        "海洋科学研究院养殖工程团队 15 人，已在“国信 1 号”开展过舱养试验。",
        "6 个月样机，6 个月两舱示范，3 个月验收。",
        "480万",
    )
    city_agri = _apply(
        users["agri"],
        city,
        "以水产病原快速检测试剂盒为核心，结合常规水质监测，实现病害早期诊断。（演示）",
        "水产病害研究组 6 人。",
        "12 个月完成。",
        "300万",
    )
    _close(city, 20)
    services.score(users["gov"], city_ocean, [92, 90, 85, 90], "技术路线完整，已有舱养试验基础，建议尽快示范。")
    services.score(users["gov"], city_agri, [70, 78, 80, 72], "检测手段可靠，但在线化、自动化程度不足。")
    services.set_shortlisted(users["gov"], city_ocean, True)
    services.decide(
        users["gov"], city, city_ocean.id, note="揭榜单位须在签约后 15 个月内完成示范应用并通过第三方验收。"
    )
    db.session.flush()
    return 3
