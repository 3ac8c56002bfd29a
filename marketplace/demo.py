"""`flask demo load`: a demo marketplace built from real public listings in ../shared/data.

The listing texts were written by third parties (51jishu.com posters, CSL paper authors); they
are demo data only, marked with a `source_ref`, and credited in README and in the page footer.
Organisations and people are fictional and marked （演示）."""

from __future__ import annotations

import json
import os
import random
import sys
from datetime import timedelta
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from .accounts import services as accounts
from .accounts.models import Organization, User
from .core.errors import ServiceError
from .core.taxonomy import MembershipStatus
from .core.timeutil import local_today
from .core.validators import USCC_ALPHABET, uscc_check_char
from .extensions import db
from .listings import services as listings

demo_cli = AppGroup("demo", help="演示数据 (demo data)")

DEMO_PASSWORD = "Demo2026kjtb"

ORGS = [
    # key, name, type, district, verified
    ("univ", "日照理工大学（演示）", "university", "371102", True),
    ("ocean", "日照海洋科学研究院（演示）", "institute", "rz-oceancity", True),
    ("agri", "鲁东南农业科学研究所（演示）", "institute", "371122", True),
    ("steel", "岚山精工钢铁有限公司（演示）", "enterprise", "371103", True),
    ("port", "日照港智能装备有限公司（演示）", "enterprise", "rz-etdz", True),
    ("food", "五莲绿色食品科技有限公司（演示）", "enterprise", "371121", True),
    ("energy", "日照新能源材料有限公司（演示）", "enterprise", "rz-hitech", True),
    ("tto", "日照技术转移服务中心（演示）", "agency", "371102", True),
    ("gov", "日照市科学技术局（演示）", "government", "371102", True),
    ("newco", "山海天文旅科技有限公司（演示，待认证）", "enterprise", "rz-shanhaitian", False),
]

USERS = [
    # email, name, role, org key, manager, extra
    ("admin@demo.kjtb.cn", "平台管理员", "admin", None, False, {}),
    ("official@demo.kjtb.cn", "科技局 赵科长", "official", "gov", True, {}),
    (
        "broker@demo.kjtb.cn",
        "技术经纪人 孙经理",
        "broker",
        "tto",
        True,
        {"broker_level": "manager", "broker_cert_no": "SD-JSJL-2024-0371"},
    ),
    ("univ@demo.kjtb.cn", "日照理工大学 王老师", "university", "univ", True, {}),
    ("ocean@demo.kjtb.cn", "海洋科学研究院 刘研究员", "university", "ocean", True, {}),
    ("agri@demo.kjtb.cn", "农科所 陈研究员", "university", "agri", True, {}),
    ("steel@demo.kjtb.cn", "岚山精工 李总工", "enterprise", "steel", True, {}),
    ("port@demo.kjtb.cn", "港口装备 张经理", "enterprise", "port", True, {}),
    ("food@demo.kjtb.cn", "绿色食品 周经理", "enterprise", "food", True, {}),
    ("energy@demo.kjtb.cn", "新能源材料 吴博士", "enterprise", "energy", True, {}),
    ("newco@demo.kjtb.cn", "文旅科技 郑经理", "enterprise", "newco", True, {}),
]

# 51jishu's top-level fields -> the national technology-market fields (our default taxonomy).
FIELD_MAP = {
    "现代农业": "09",
    "新材料": "05",
    "装备制造": "03",
    "电子信息": "01",
    "生物医药": "04",
    "交通运输": "10",
    "技术服务": "11",
    "新能源": "06",
    "资源环保": "07",
    "生活必需": "11",
    "建筑安装": "11",
}
# Second levels whose names differ from ours.
SUBFIELD_MAP = {
    "计算机软件": "软件与信息服务",
    "人工智能": "人工智能与大数据",
    "大数据": "人工智能与大数据",
    "光电子": "光电子与显示",
    "电子仪表": "电子仪器仪表",
    "计算机硬件": "计算机与网络",
    "互联网": "计算机与网络",
    "物联网": "计算机与网络",
    "网络": "计算机与网络",
    "通信": "通信技术",
    "微电子": "集成电路与微电子",
    "信息服务": "软件与信息服务",
    "新型机械装置": "通用与精密机械",
    "通用机械": "通用与精密机械",
    "精密机械": "通用与精密机械",
    "机器人": "智能装备与机器人",
    "自动化": "自动化与控制",
    "智能仪表": "自动化与控制",
    "复合材料": "高分子与复合材料",
    "高分子材料": "高分子与复合材料",
    "纳米材料及应用": "纳米材料",
    "农林植物新品种": "农林植物新品种",
    "畜禽水产新品种": "畜禽水产新品种",
    "新型农业机械设备": "农业机械与智慧农业",
    "农业信息化": "农业机械与智慧农业",
    "农副产品深加工": "农产品加工与贮藏",
    "农副产品贮藏": "农产品加工与贮藏",
    "新型肥料及添加剂": "肥料、饲料与植保",
    "新型饲料": "肥料、饲料与植保",
    "农林植物灾害防治技术": "肥料、饲料与植保",
    "汽车及零部件": "汽车及零部件",
    "轨道交通": "轨道交通",
    "智能交通": "道路与智能交通",
    "船舶及装备": "港口航运与船舶",
    "物流仓储": "物流仓储",
    "生物": "生物技术",
    "生化": "生物技术",
    "化学药": "化学药",
    "中药": "中药",
    "生物制品": "生物制品",
    "医疗器械": "医疗器械",
    "太阳能": "太阳能",
    "风能": "风能",
    "氢能": "氢能",
    "生物质能": "生物质能",
    "电池": "储能与电池",
    "高效节能": "高效节能",
    "水污染防治": "水污染防治",
    "大气污染防治": "大气污染防治",
    "固体废弃物处理与综合利用": "固体废弃物处理与综合利用",
    "生态修复保护": "生态修复",
    "环境检测": "环境监测",
    "金属材料": "金属材料",
    "陶瓷材料": "无机非金属材料",
    "电子信息材料": "电子信息材料",
    "纺织新材料": "纺织新材料",
    "膜材料": "膜材料",
    "建筑机械": "建筑与土木工程",
    "结构": "建筑与土木工程",
    "新型建材": "建筑与土木工程",
    "知识产权": "技术服务",
    "检验检测": "技术服务",
    "工业设计": "技术服务",
}
INDUSTRY_FIELD = {
    "制造业": "03",
    "信息传输、软件和信息技术服务业": "01",
    "科学研究和技术服务业": "11",
    "农、林、牧、渔业": "09",
    "水利、环境和公共设施管理业": "07",
    "电力、热力、燃气、及水生产和供应业": "06",
    "建筑业": "1101",
    "交通运输、仓储和邮政业": "10",
    "卫生和社会工作": "04",
}
CSL_FIELD = {
    "材料科学与工程": "05",
    "化学/化学工程与技术": "05",
    "食品科学与工程": "0906",
    "园艺学": "0903",
    "农业工程": "0905",
    "作物学": "0903",
    "水产": "0902",
    "畜牧学/兽医学": "0902",
    "林学/林业工程": "0901",
    "农业资源利用": "09",
    "植物保护": "0907",
    "信息与通信工程": "0103",
    "计算机科学与技术": "0102",
    "电子科学与技术": "0101",
    "控制科学与工程": "0303",
    "机械工程": "0302",
    "动力工程及工程热物理": "06",
    "电气工程": "06",
    "环境科学与工程": "07",
    "交通运输工程": "10",
    "船舶与海洋工程": "0305",
    "土木工程": "1101",
    "水利工程": "1101",
    "矿业工程": "0306",
    "冶金工程": "0501",
    "光学工程": "0106",
    "药学": "0402",
    "中医学/中药学": "0403",
    "基础医学/临床医学": "04",
    "生物学/生物科学与工程": "0401",
    "海洋科学": "0904",
    "航空宇航科学与技术": "02",
    "核科学与技术": "08",
    "纺织科学与工程": "0506",
    "石油与天然气工程": "06",
    "测绘科学与技术": "11",
}
ACH_ORGS = ["univ", "ocean", "agri", "univ", "ocean"]
DEMAND_ORGS = ["steel", "port", "food", "energy"]


def data_dir() -> Path:
    configured = os.environ.get("DEMO_DATA_DIR") or current_app.config.get("DEMO_DATA_DIR")
    if configured:
        return Path(configured)
    return Path(current_app.root_path).parent.parent / "shared" / "data"


def achievement_from_51jishu(row: dict) -> dict:
    """The achievement form's fields from one row of the 51jishu achievements (the demo, the
    matching bench and the load-test world all read them this way)."""
    return {
        "title": row["name"][:200],
        "summary": row["description"] or row["name"],
        "field": _field_for(row["tech_field_l1"], row["tech_field_l2"]) or "11",
        "keywords": [row["tech_field_l2"]] if row.get("tech_field_l2") else [],
        "maturity": row["maturity"],
        "ip_type": row["ip_type"],
        "transfer_modes": row["cooperation"] or ["其他"],
        "price": row["price"],
        "application_scope": row.get("application_scope") or None,
    }


def _field_for(l1: str, l2: str) -> str | None:
    taxonomy = current_app.extensions["taxonomy"]
    top = FIELD_MAP.get(l1)
    if top is None:
        return None
    wanted = SUBFIELD_MAP.get(l2, l2)
    for child in taxonomy.children(top):
        if child.name == wanted:
            return child.code
    return top


def _uscc(seed: int) -> str:
    rng = random.Random(seed)
    body = "91371100" + "".join(rng.choice(USCC_ALPHABET[:10] + "ABCDEFGH") for _ in range(9))
    return body + uscc_check_char(body)


def _read_jsonl(path: Path, limit: int | None) -> list[dict]:
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
            if limit and len(rows) >= limit:
                break
    return rows


def _publish(listing, owner, admin) -> None:
    listings.transition(listing, "submit", owner)
    listings.transition(listing, "approve", admin)


def load_demo(achievements: int | None, demands: int | None, papers: int | None, echo=click.echo) -> dict:
    """Create the demo organisations, users and listings. Idempotent: does nothing when the demo
    administrator already exists."""
    if accounts.find_user(USERS[0][0]) is not None:
        return {"skipped": True}
    source = data_dir()
    if not (source / "techmarket_51jishu" / "achievements.jsonl").exists():
        raise click.ClickException(f"找不到演示数据目录 {source}（设置 DEMO_DATA_DIR 指向 shared/data）")
    orgs: dict[str, Organization] = {}
    for index, (key, name, org_type, district, verified) in enumerate(ORGS):
        orgs[key] = accounts.create_org(
            {
                "name": name,
                "org_type": org_type,
                "district": district,
                "uscc": _uscc(index),
                "contact_name": "演示联系人",
                "contact_phone": "0633-8000000",
                "description": "本机构为演示数据，名称与信息均为虚构。",
            },
            verified=verified,
        )
    users: dict[str, User] = {}
    for email, name, role, org_key, manager, extra in USERS:
        users[org_key or "admin"] = accounts.create_user(
            {"email": email, "name": name, "role": role, "password": DEMO_PASSWORD, **extra},
            orgs.get(org_key) if org_key else None,
            membership=MembershipStatus.ACTIVE,
            manager=manager,
        )
    admin = users["admin"]
    db.session.flush()

    rng = random.Random(2026)
    counts = {"achievements": 0, "demands": 0, "papers": 0, "rejected": 0}
    rows = [r for r in _read_jsonl(source / "csl" / "csl_papers.jsonl", None) if r["discipline"] in CSL_FIELD]
    rows = rows[: papers or 0] if papers is not None else rows
    with click.progressbar(rows, label="科研成果（CSL 论文摘要）", file=sys.stderr) as bar:
        for i, row in enumerate(bar):
            owner = users[["univ", "ocean", "agri"][i % 3]]
            data = {
                "title": row["title"][:200],
                "summary": row["abstract"],
                "field": CSL_FIELD[row["discipline"]],
                "keywords": row["keywords"][:10],
                "maturity": "research",
                "ip_type": "non_patent",
                "transfer_modes": ["co_develop", "license"],
                "price": "面议",
                "contact_name": owner.name.split(" ")[-1],
                "contact_phone": "0633-8000000",
            }
            counts["rejected"] += not _create(owner, admin, "achievement", data, f"csl:{row['id']}", publish=True)
            counts["papers"] += 1
            if i % 200 == 199:
                db.session.commit()
    rows = _read_jsonl(source / "techmarket_51jishu" / "achievements.jsonl", achievements)
    with click.progressbar(rows, label="科技成果", file=sys.stderr) as bar:
        for i, row in enumerate(bar):
            owner = users[ACH_ORGS[i % len(ACH_ORGS)]]
            data = {
                **achievement_from_51jishu(row),
                "contact_name": owner.name.split(" ")[-1],
                "contact_phone": "0633-8000000",
            }
            counts["rejected"] += not _create(
                owner, admin, "achievement", data, f"51jishu:{row['id']}", publish=i % 25 != 24
            )
            counts["achievements"] += 1
            if i % 200 == 199:
                db.session.commit()
    today = local_today()
    rows = _read_jsonl(source / "techmarket_51jishu" / "requirements.jsonl", demands)
    with click.progressbar(rows, label="技术需求", file=sys.stderr) as bar:
        for i, row in enumerate(bar):
            owner = users[DEMAND_ORGS[i % len(DEMAND_ORGS)]]
            coop = row.get("cooperation") or []
            demand_type = "co_develop" if "委托开发" in coop else "introduce" if coop and coop != ["其他"] else "tackle"
            data = {
                "title": row["name"][:200],
                "description": row["description"] or row["name"],
                "field": INDUSTRY_FIELD.get((row.get("industry_classes") or [""])[0], "11"),
                "demand_type": demand_type,
                "budget": "面议" if i % 3 else f"{rng.choice([5, 10, 20, 30, 50, 80, 100])}万",
                # The crawled dates lie in 2020-2021; the demo keeps the demands open.
                "valid_until": (today + timedelta(days=rng.randint(30, 365))).isoformat(),
                "contact_name": owner.name.split(" ")[-1],
                "contact_phone": "13800000000",
            }
            counts["rejected"] += not _create(
                owner, admin, "demand", data, f"51jishu:{row['id']}", publish=i % 30 != 29
            )
            counts["demands"] += 1
            if i % 200 == 199:
                db.session.commit()
    # A draft of the unverified organisation shows the verification rule in the demo.
    _create(
        users["newco"],
        admin,
        "demand",
        {
            "title": "景区游客流量智能预测与疏导系统",
            "description": "山海天景区节假日游客集中，需要基于客流数据的预测与疏导方案。",
            "field": "0105",
            "demand_type": "co_develop",
            "budget": "30万-50万",
            "contact_name": "郑经理",
            "contact_phone": "13800000001",
        },
        "demo:newco-1",
        publish=False,
        submit=False,
    )
    from .challenges import demo as challenges_demo

    counts["challenges"] = challenges_demo.load(orgs, users)
    db.session.flush()
    from .deals import demo as deals_demo

    counts["deals"] = deals_demo.load(orgs, users)
    from .stats import demo as stats_demo

    counts["contracts"] = stats_demo.load()
    from .trading import demo as trading_demo

    counts["trade_listings"] = trading_demo.load(orgs, users)
    # The service side: experts and instruments first (evaluation panels draw on the experts).
    from .evaluation import demo as evaluation_demo
    from .finance import demo as finance_demo
    from .providers import demo as providers_demo
    from .resources import demo as resources_demo
    from .valuation import demo as valuation_demo

    counts["experts"] = resources_demo.load(orgs, users)
    counts["service_offerings"] = providers_demo.load(orgs, users)
    counts["finance_products"] = finance_demo.load(orgs, users)
    counts["evaluations"] = evaluation_demo.load(orgs, users)
    counts["valuations"] = valuation_demo.load(orgs, users)
    db.session.commit()
    return counts


def _create(owner, admin, kind, data, source_ref, *, publish: bool, submit: bool = True) -> bool:
    """A listing as its owner would make it: published ones approved by the admin, the others left
    waiting in the review queue (or as a draft when submit=False)."""
    try:
        with db.session.begin_nested():
            listing = listings.create_listing(
                kind, owner, {k: v for k, v in data.items() if v is not None}, source_ref=source_ref
            )
            if publish:
                _publish(listing, owner, admin)
            elif submit:
                listings.transition(listing, "submit", owner)
        return True
    except ServiceError as exc:
        click.echo(f"跳过 {source_ref}: {exc.message} {exc.fields}", err=True)
        return False


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="only when the database has no users (first start)")
@click.option("--achievements", type=int, default=600, show_default=True, help="51jishu achievements (0 = all)")
@click.option("--demands", type=int, default=400, show_default=True, help="51jishu demands (0 = all)")
@click.option("--papers", type=int, default=200, show_default=True, help="CSL paper abstracts as research results")
def load_command(if_empty: bool, achievements: int, demands: int, papers: int) -> None:
    """Load the demo marketplace (idempotent)."""
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("数据库已有用户，跳过演示数据。")
        return
    result = load_demo(achievements or None, demands or None, papers)
    if result.get("skipped"):
        click.echo("演示数据已存在，未重复加载。")
        return
    click.echo(
        f"演示数据已加载：科技成果 {result['achievements']} 条，技术需求 {result['demands']} 条，"
        f"论文成果 {result['papers']} 条（跳过 {result['rejected']} 条）。"
    )
    print_accounts()


def print_accounts() -> None:
    click.echo("")
    click.echo(f"演示账号（仅供演示，密码均为 {DEMO_PASSWORD}）：")
    for email, name, _role, org_key, _manager, _extra in USERS:
        org = next((o[1] for o in ORGS if o[0] == org_key), "—")
        click.echo(f"  {email:<24} {name:<20} {org}")
    # The service side's demos (experts, providers, financial institutions) add their own accounts.
    known = {row[0] for row in USERS}
    extra = db.session.scalars(select(User).where(User.email.like("%@demo.kjtb.cn")).order_by(User.id)).all()
    for user in (u for u in extra if u.email not in known):
        org = user.organization.name if user.organization else "—"
        click.echo(f"  {user.email:<24} {user.role_label + ' ' + user.name:<20} {org}")


@demo_cli.command("accounts")
def accounts_command() -> None:
    """Print the demo log-in details."""
    print_accounts()
