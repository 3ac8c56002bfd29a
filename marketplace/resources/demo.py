"""Demo data of the resources domain for `flask demo load`, through the real services: a dozen
experts at the demo universities and institutes (five with accounts, so evaluation panels can be
formed), a few achievement teams, five shared instruments and a couple of bookings."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select

from ..accounts import services as accounts
from ..core.taxonomy import MembershipStatus, Role
from ..core.timeutil import LOCAL_TZ
from ..extensions import db
from ..listings.models import Achievement
from . import services
from .models import Expert

# key, org key, name, title, fields, expertise, representative achievements, evaluation, consulting,
# account e-mail (or None). Names and details are invented for the demo.
EXPERTS = [
    (
        "e1",
        "univ",
        "王建国",
        "教授",
        ["0301", "0303"],
        "工业机器人视觉引导与智能装配，港口装卸设备自动化控制",
        "主持山东省重点研发计划“港口智能装卸关键技术”；授权发明专利12项",
        True,
        True,
        "expert.wang@demo.kjtb.cn",
    ),
    (
        "e2",
        "univ",
        "李雪梅",
        "副教授",
        ["0105", "0104"],
        "工业大数据分析与设备故障预测，边缘计算",
        "钢铁产线设备健康管理系统在日照两家企业应用",
        True,
        True,
        "expert.li@demo.kjtb.cn",
    ),
    (
        "e3",
        "univ",
        "张志强",
        "教授",
        ["0501", "0306"],
        "高强钢焊接与表面改性，激光熔覆修复",
        "获山东省科技进步二等奖；高强钢激光熔覆工艺转让一家钢企",
        True,
        False,
        None,
    ),
    (
        "e4",
        "univ",
        "陈静",
        "讲师",
        ["0703", "0704"],
        "固体废弃物资源化利用，钢渣微粉制备建材",
        "钢渣综合利用中试线一条",
        False,
        True,
        None,
    ),
    (
        "e5",
        "ocean",
        "刘海涛",
        "研究员",
        ["0902", "0305"],
        "深远海养殖装备与海洋牧场，养殖工船设计",
        "参与国家重点研发计划“深远海大型养殖装备”；海洋牧场监测系统",
        True,
        True,
        "expert.liu@demo.kjtb.cn",
    ),
    (
        "e6",
        "ocean",
        "赵文博",
        "副研究员",
        ["0701", "0706"],
        "海水淡化与膜分离，浓盐水资源化",
        "反渗透膜组件国产化课题；授权发明专利6项",
        True,
        False,
        "expert.zhao@demo.kjtb.cn",
    ),
    (
        "e7",
        "ocean",
        "孙丽娜",
        "高级工程师",
        ["0401", "0906"],
        "海洋生物活性物质提取，海藻多糖",
        "海藻寡糖制备技术许可一家食品企业",
        False,
        True,
        None,
    ),
    (
        "e8",
        "agri",
        "周国庆",
        "研究员",
        ["0901", "0903"],
        "绿茶新品种选育与标准化栽培，茶园病虫害绿色防控",
        "选育省级审定茶树品种2个",
        True,
        True,
        "expert.zhou@demo.kjtb.cn",
    ),
    (
        "e9",
        "agri",
        "吴晓燕",
        "副研究员",
        ["0906", "0907"],
        "农产品贮藏保鲜与精深加工，生物有机肥",
        "蓝莓气调保鲜技术在五莲推广",
        True,
        False,
        None,
    ),
    (
        "e10",
        "agri",
        "郑宏伟",
        "农艺师",
        ["0905"],
        "智慧农业与农机装备，丘陵山区小型农机",
        "丘陵茶园管理机获实用新型专利3项",
        False,
        True,
        None,
    ),
    (
        "e11",
        "energy",
        "马俊",
        "高级工程师",
        ["0605", "0504"],
        "锂电池正极材料与储能系统集成",
        "磷酸锰铁锂中试线负责人",
        True,
        True,
        None,
    ),
    (
        "e12",
        "steel",
        "黄伟",
        "正高级工程师",
        ["0501", "0306"],
        "钢铁冶金工艺优化，氢冶金",
        "参与宝武氢基竖炉技术交流；企业技术中心负责人",
        True,
        False,
        None,
    ),
]
ACCOUNTS_ORG_ROLE = {
    "univ": Role.UNIVERSITY,
    "ocean": Role.UNIVERSITY,
    "agri": Role.UNIVERSITY,
    "energy": Role.ENTERPRISE,
}

INSTRUMENTS = [
    (
        "univ",
        {
            "name": "场发射扫描电子显微镜",
            "model": "SU8010",
            "manufacturer": "日立",
            "field_code": "0501",
            "specs": "分辨率 1.0 nm（15 kV）；放大倍数 20–800,000×；配能谱仪（EDS）",
            "district": "371102",
            "address": "日照市东港区学苑路（演示）材料楼 105",
            "fee": "300",
            "fee_unit": "元/小时",
            "availability_notes": "工作日 8:30–17:30 开放；非导电样品需喷金，请在样品说明中注明",
        },
    ),
    (
        "univ",
        {
            "name": "X 射线衍射仪",
            "model": "D8 Advance",
            "manufacturer": "布鲁克",
            "field_code": "0502",
            "specs": "Cu 靶；2θ 范围 5°–140°；可做物相定性与定量分析",
            "district": "371102",
            "address": "日照市东港区学苑路（演示）材料楼 110",
            "fee": "200",
            "fee_unit": "元/样品",
            "availability_notes": "按样品收费，常规样品 3 个工作日出结果",
        },
    ),
    (
        "ocean",
        {
            "name": "液相色谱-质谱联用仪",
            "model": "6470 LC/TQ",
            "manufacturer": "安捷伦",
            "field_code": "0401",
            "specs": "三重四极杆；ESI 源；适用于海洋活性物质、农兽药残留检测",
            "district": "rz-oceancity",
            "address": "日照国际海洋城（演示）实验楼 3 层",
            "fee": "800",
            "fee_unit": "元/小时",
            "availability_notes": "需提前提交样品前处理方案",
        },
    ),
    (
        "ocean",
        {
            "name": "海水淡化膜性能测试平台",
            "model": "自研 RO-200",
            "manufacturer": "日照海洋科学研究院",
            "field_code": "0701",
            "specs": "膜片有效面积 42 cm²；操作压力 0–8 MPa；可测通量与脱盐率",
            "district": "rz-oceancity",
            "address": "日照国际海洋城（演示）中试基地",
            "fee": "1500",
            "fee_unit": "元/天",
            "availability_notes": "按天预约，可连续使用多日",
            "status": "maintenance",
        },
    ),
    (
        "agri",
        {
            "name": "近红外品质分析仪",
            "model": "DA7250",
            "manufacturer": "珀金埃尔默",
            "field_code": "0906",
            "specs": "测定茶叶、粮食水分、蛋白、氨基酸等；单样 6 秒",
            "district": "371122",
            "address": "莒县（演示）农科所检测中心",
            "fee": "50",
            "fee_unit": "元/样品",
            "availability_notes": "茶季（4–5 月）预约紧张，请提前一周申请",
        },
    ),
]
TEAMS = {"univ": ("e1", "e2"), "ocean": ("e5", "e6"), "agri": ("e8",)}


def _local(days: int, hour: int) -> str:
    day = datetime.now(LOCAL_TZ).date() + timedelta(days=days)
    return f"{day.isoformat()} {hour:02d}:00"


def _account(org_key: str, name: str, email: str, orgs: dict[str, Any]):
    existing = accounts.find_user(email)
    if existing is not None:
        return existing
    from ..demo import DEMO_PASSWORD

    return accounts.create_user(
        {"email": email, "name": name, "role": ACCOUNTS_ORG_ROLE[org_key].value, "password": DEMO_PASSWORD},
        orgs[org_key],
        membership=MembershipStatus.ACTIVE,
    )


def load(orgs: dict[str, Any] | None = None, users: dict[str, Any] | None = None) -> int:
    """Create the demo rows once (skipped when any exists). Returns how many experts were created."""
    if not orgs or not users or db.session.scalar(select(func.count(Expert.id))):
        return 0
    admin = users["admin"]
    experts: dict[str, Expert] = {}
    for key, org_key, name, title, fields, expertise, achievements, evaluation, consulting, email in EXPERTS:
        org = orgs.get(org_key)
        if org is None:
            continue
        account = _account(org_key, name, email, orgs) if email else None
        experts[key] = services.create_expert(
            admin,
            {
                "name": name,
                "title": title,
                "organization_id": org.id,
                "field_codes": fields,
                "expertise": expertise,
                "achievements_text": achievements,
                "available_evaluation": evaluation,
                "available_consulting": consulting,
                "phone": f"1380633{len(experts):04d}",
                "email": email or f"{key}@expert.demo.kjtb.cn",
                "user_id": account.id if account else None,
            },
        )
    for org_key, keys in TEAMS.items():
        owner, lead = users.get(org_key), experts.get(keys[0])
        if owner is None or lead is None:
            continue
        published = select(Achievement).where(Achievement.org_id == orgs[org_key].id, Achievement.status == "published")
        top = lead.field_codes[0][:2]  # an achievement of the lead expert's field, else none
        achievement = db.session.scalar(
            published.where(Achievement.field_code.like(f"{top}%"))
            .order_by(case((Achievement.field_code.in_(lead.field_codes), 0), else_=1), Achievement.id)
            .limit(1)
        )
        if achievement is None:
            continue
        for n, key in enumerate(keys):
            if key in experts:
                services.add_team_member(owner, achievement, experts[key].id, "负责人" if n == 0 else "核心成员")
    instruments = []
    for org_key, data in INSTRUMENTS:
        owner = users.get(org_key)
        if owner is not None:
            instruments.append(
                services.create_instrument(owner, {"contact_name": owner.name, "contact_phone": "0633-8000000", **data})
            )
    if instruments and users.get("steel") and users.get("port"):
        sem = instruments[0]
        approved = services.request_booking(
            users["steel"],
            sem,
            {
                "starts_at": _local(2, 9),
                "ends_at": _local(2, 12),
                "purpose": "高强钢焊缝断口形貌观察",
                "sample_description": "焊缝断口试样 4 件，已切割至 10 mm × 10 mm",
            },
        )
        services.approve_booking(users["univ"], approved)
        services.request_booking(
            users["port"],
            sem,
            {
                "starts_at": _local(3, 14),
                "ends_at": _local(3, 17),
                "purpose": "起重机吊具磨损面分析",
                "sample_description": "磨损件切片 2 件",
            },
        )
        if len(instruments) > 2:
            services.request_booking(
                users["food"] if users.get("food") else users["port"],
                instruments[2],
                {"starts_at": _local(4, 9), "ends_at": _local(4, 11), "purpose": "海藻提取物成分检测"},
            )
    db.session.flush()
    return len(experts)
