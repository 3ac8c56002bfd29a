"""Demo registered contracts so the dashboard's charts look like a real city's register.

`generate(n, ...)` yields plausible contract rows (dicts for a bulk insert) — spread over years
with growth, over Rizhao's districts and other regions (a few 港澳台/境外), over fields, contract
types and party natures, with long-tailed amounts (log-normal, median about 60万元). The bench
(bench/stats_bench.py) uses the same generator. `load()` inserts a few thousand in bulk, and gives
some of them a deal with a broker when the demo's organisations and brokers exist."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, insert, select

from ..accounts.models import Organization, User
from ..core.timeutil import local_today, utcnow
from ..deals.models import Deal, DealBroker, TechContract
from ..extensions import db

CITY_REGIONS = [("371102", 44), ("371103", 20), ("371121", 9), ("371122", 12), ("371100", 15)]
OTHER_REGIONS = [
    ("370102", 10),  # 济南历下
    ("370212", 8),  # 青岛崂山
    ("370305", 3),  # 淄博临淄
    ("370602", 3),  # 烟台芝罘
    ("371302", 4),  # 临沂兰山
    ("110108", 6),  # 北京海淀
    ("310104", 4),  # 上海徐汇
    ("320102", 3),  # 南京玄武
    ("330106", 3),  # 杭州西湖
    ("440305", 2),  # 深圳南山
    ("420111", 2),  # 武汉洪山
]
FOREIGN_REGIONS = [("810000", 3), ("820000", 1), ("710000", 1), ("900276", 2), ("900410", 2), ("900840", 1)]
CONTRACT_TYPES = [
    ("service", 38),
    ("dev_commissioned", 24),
    ("dev_cooperative", 6),
    ("consulting", 7),
    ("transfer_patent", 6),
    ("transfer_application", 1),
    ("transfer_secret", 2),
    ("transfer_other", 1),
    ("license_patent", 4),
    ("license_secret", 1),
    ("training", 4),
    ("intermediary", 6),
]
FIELDS = [
    ("01", 17),
    ("02", 1),
    ("03", 22),
    ("04", 8),
    ("05", 11),
    ("06", 10),
    ("07", 9),
    ("08", 1),
    ("09", 7),
    ("10", 6),
    ("11", 8),
]
SELLER_NATURES = [
    ("enterprise_domestic", 62),
    ("university", 16),
    ("institute", 12),
    ("enterprise_foreign", 3),
    ("enterprise_hmt", 1),
    ("individual", 2),
    ("other", 4),
]
BUYER_NATURES = [
    ("enterprise_domestic", 80),
    ("government", 6),
    ("institute", 4),
    ("university", 3),
    ("enterprise_foreign", 3),
    ("enterprise_hmt", 1),
    ("other", 3),
]
IP_TYPES = [
    (None, 48),
    ("invention", 16),
    ("utility", 10),
    ("software", 12),
    ("trade_secret", 7),
    ("non_patent", 5),
    ("design", 1),
    ("plant", 1),
]
OBJECTIVES = [
    ("industry", 40),
    ("energy", 10),
    ("environment", 11),
    ("agriculture", 8),
    ("infrastructure", 10),
    ("health", 7),
    ("social", 8),
    ("education", 3),
    ("undirected", 1),
    ("other", 2),
]

UNIVERSITIES = [
    "曲阜师范大学",
    "日照职业技术学院",
    "山东外国语职业技术大学",
    "山东大学",
    "中国海洋大学",
    "山东科技大学",
    "青岛科技大学",
    "哈尔滨工业大学",
    "中国科学院海洋研究所",
    "山东省科学院",
    "齐鲁工业大学",
]
WORDS = [
    "海港",
    "钢联",
    "海洋",
    "岚桥",
    "五莲",
    "莒州",
    "东港",
    "鲁南",
    "黄海",
    "阳光",
    "蓝湾",
    "汇丰",
    "宏达",
    "银河",
    "正泰",
    "金马",
    "瑞丰",
    "华信",
    "创新",
    "智造",
]
TRADES = [
    "科技",
    "智能装备",
    "新材料",
    "生物科技",
    "环保科技",
    "能源",
    "信息技术",
    "食品",
    "机械",
    "化工",
    "水产",
    "港务",
]


def _pick(rng: random.Random, table: list[tuple[Any, int]]) -> Any:
    values, weights = zip(*table, strict=True)
    return rng.choices(values, weights)[0]


def _company(rng: random.Random, region: str) -> str:
    place = {"3711": "日照", "3701": "济南", "3702": "青岛", "1101": "北京", "3101": "上海", "4403": "深圳"}.get(
        region[:4], ""
    )
    if region.startswith(("81", "82", "71", "9")):
        return rng.choice(["香港", "澳门", "台湾", "德国", "新加坡", "美国"]) + rng.choice(WORDS) + "技术有限公司"
    return f"{place}{rng.choice(WORDS)}{rng.choice(TRADES)}有限公司"


def _party(rng: random.Random, nature: str, region: str) -> str:
    if nature in ("university", "institute"):
        return rng.choice(UNIVERSITIES)
    if nature == "government":
        return rng.choice(["日照市", "东港区", "岚山区"]) + rng.choice(
            ["农业农村局", "生态环境局", "海洋发展局", "住房和城乡建设局"]
        )
    if nature == "individual":
        return rng.choice(["张", "王", "李", "刘", "陈"]) + rng.choice(["伟", "敏", "强", "磊", "静"])
    return _company(rng, region)


def _amount(rng: random.Random) -> Decimal:
    """Log-normal, median about 60万元, clipped to [5千, 5亿]; big ones in round numbers."""
    value = math.exp(rng.gauss(math.log(600_000), 1.5))
    value = min(max(value, 5_000), 500_000_000)
    step = 10_000 if value > 1_000_000 else 100
    return Decimal(int(value // step * step))


def generate(
    n: int, *, seed: int = 6, first_year: int = 2019, last_day: date | None = None, start_seq: int = 1
) -> Iterator[dict[str, Any]]:
    """n registered contracts as insert rows, registered between first_year and last_day."""
    rng = random.Random(seed)
    last_day = last_day or local_today()
    years = list(range(first_year, last_day.year + 1))
    weights = [1.22**index for index in range(len(years))]  # about 22 % growth a year
    now = utcnow()
    for seq in range(start_seq, start_seq + n):
        year = rng.choices(years, weights)[0]
        start = datetime(year, 1, 1, tzinfo=UTC) - timedelta(hours=8)
        end = min(datetime(year + 1, 1, 1, tzinfo=UTC) - timedelta(hours=8), now.replace(tzinfo=UTC))
        registered = (start + (end - start) * rng.random()).replace(tzinfo=None, microsecond=0)
        side = rng.random()
        seller_region = _pick(rng, CITY_REGIONS if side < 0.72 else FOREIGN_REGIONS if side > 0.985 else OTHER_REGIONS)
        if seller_region.startswith("3711"):
            other = rng.random()
            buyer_region = _pick(
                rng, CITY_REGIONS if other < 0.55 else FOREIGN_REGIONS if other > 0.975 else OTHER_REGIONS
            )
        else:
            buyer_region = _pick(rng, CITY_REGIONS)
        ctype = _pick(rng, CONTRACT_TYPES)
        amount = _amount(rng)
        non_tech = Decimal(0)
        if ctype.startswith("dev") and rng.random() < 0.5:
            non_tech = (amount * Decimal(rng.uniform(0.05, 0.35))).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        seller_nature = _pick(rng, SELLER_NATURES)
        buyer_nature = _pick(rng, BUYER_NATURES)
        field = _pick(rng, FIELDS)
        signed = (registered + timedelta(hours=8) - timedelta(days=rng.randint(3, 40))).date()
        yield {
            "project_name": f"{rng.choice(['', '新型', '高效', '智能', '绿色'])}{_topic(rng, field)}{_suffix(ctype)}",
            "contract_type": ctype,
            "seller_name": _party(rng, seller_nature, seller_region),
            "seller_nature": seller_nature,
            "seller_region": seller_region,
            "buyer_name": _party(rng, buyer_nature, buyer_region),
            "buyer_nature": buyer_nature,
            "buyer_region": buyer_region,
            "amount": amount,
            "non_tech_costs": non_tech,
            "non_tech_breakdown": {},
            "technology_amount": amount - non_tech,
            "payment_mode": "lump_sum" if amount < 500_000 else "installments",
            "signed_on": signed,
            "field_code": field,
            "ip_type": _pick(rng, IP_TYPES),
            "objective": _pick(rng, OBJECTIVES),
            "status": "registered",
            "office_code": "371100",
            "registration_number": f"{year}371100{seq:07d}",
            "registered_at": registered,
            "created_at": registered,
            "updated_at": registered,
        }


TOPICS = {
    "01": ["工业互联网平台", "港口调度系统", "视觉检测算法", "数据中台", "5G专网"],
    "02": ["无人机巡检", "卫星遥感应用"],
    "03": ["冷轧板形控制", "焊接机器人", "数控机床改造", "智能产线", "液压系统"],
    "04": ["海洋生物制药", "医用敷料", "诊断试剂", "中药提取工艺"],
    "05": ["高强钢", "海工防腐涂层", "复合材料", "石墨烯改性"],
    "06": ["氢能储运", "余热回收", "光伏运维", "储能电池管理"],
    "07": ["钢渣综合利用", "污水深度处理", "脱硫脱硝", "海洋生态修复"],
    "08": ["辐照灭菌"],
    "09": ["绿茶种植", "海水养殖", "蓝莓栽培", "农机装备"],
    "10": ["港口自动化", "智慧物流", "船舶节能"],
    "11": ["海绵城市", "装配式建筑", "智慧社区"],
}


def _topic(rng: random.Random, field: str) -> str:
    return rng.choice(TOPICS[field])


def _suffix(ctype: str) -> str:
    fixed = {"service": "技术服务", "consulting": "技术咨询", "training": "技术培训", "intermediary": "技术中介服务"}
    if ctype in fixed:
        return fixed[ctype]
    return {"dev": "技术开发", "transfer": "技术转让", "license": "技术许可"}[ctype.split("_")[0]]


def load(count: int = 3000, seed: int = 6, first_year: int = 2019) -> int:
    """Insert `count` demo contracts in bulk (a second run adds more, numbered after the first)."""
    existing = db.session.scalar(select(func.count(TechContract.id))) or 0
    rows = list(generate(count, seed=seed + existing, first_year=first_year, start_seq=existing + 1))
    _number(rows)
    _attach_deals(rows, random.Random(seed))
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(TechContract), rows[start : start + 1000])
    db.session.commit()
    return len(rows)


def _attach_deals(rows: list[dict[str, Any]], rng: random.Random) -> None:
    """Give about a third of the contracts a deal (between demo organisations) and a broker."""
    brokers = db.session.scalars(select(User.id).where(User.role == "broker")).all()
    orgs = db.session.scalars(select(Organization.id).limit(200)).all()
    if not brokers or len(orgs) < 2:
        return
    chosen = [row for row in rows if rng.random() < 0.35]
    deals = [
        {
            "title": row["project_name"],
            "seller_org_id": rng.choice(orgs),
            "buyer_org_id": rng.choice(orgs),
            "stage": "completed",
            "expected_value": row["amount"],
            "created_at": row["registered_at"] - timedelta(days=rng.randint(30, 200)),
            "stage_changed_at": row["registered_at"],
            "updated_at": row["registered_at"],
        }
        for row in chosen
    ]
    ids = db.session.scalars(insert(Deal).returning(Deal.id, sort_by_parameter_order=True), deals).all()
    links = []
    for row, deal_id in zip(chosen, ids, strict=True):
        row["deal_id"] = deal_id
        links.append({"deal_id": deal_id, "user_id": rng.choice(brokers), "lead": True})
    db.session.execute(insert(DealBroker), links)
    for row in rows:
        row.setdefault("deal_id", None)


def _number(rows: list[dict[str, Any]]) -> None:
    """Registration numbers as the registration office gives them (CONTRACT_NUMBER_FORMAT, one
    gap-free counter per office and Beijing-time year), and the counters moved past them, so a
    contract registered later in the demo gets the next number, never a used one."""
    from flask import current_app

    from ..deals.models import NumberSequence

    fmt = current_app.config.get("CONTRACT_NUMBER_FORMAT", "{year}{office}{seq:06d}")
    office = current_app.config.get("REGISTRATION_OFFICE_CODE", "371100")
    sequences = {
        seq.year: seq
        for seq in db.session.scalars(
            select(NumberSequence).where(NumberSequence.name == "contract_registration", NumberSequence.scope == office)
        )
    }
    for row in sorted(rows, key=lambda r: r["registered_at"]):
        year = (row["registered_at"] + timedelta(hours=8)).year
        sequence = sequences.get(year)
        if sequence is None:
            sequence = sequences[year] = NumberSequence(
                name="contract_registration", scope=office, year=year, last_value=0
            )
            db.session.add(sequence)
        sequence.last_value += 1
        row["office_code"] = office
        row["registration_number"] = fmt.format(year=year, office=office, seq=sequence.last_value)
    db.session.flush()
