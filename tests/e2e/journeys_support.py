"""What the persona journeys (tests/e2e/test_journeys.py) share: a camera that saves full-page
screenshots as CI artifacts and first checks each page for what a user should never read
(template leftovers, error pages, raw taxonomy codes), a log-in through the navbar, and the small
world each persona starts in, built through the services (the journeys themselves are clicks and
typing).

Worlds return plain values (ids, titles, e-mails), never ORM rows: the live server writes to the
same database, and the test thread should not reload expired rows while the browser works."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from marketplace.accounts import services as accounts
from marketplace.core.taxonomy import LabeledEnum
from marketplace.core.timeutil import local_today
from marketplace.extensions import db
from marketplace.finance import services as finance
from marketplace.listings import services as listings
from marketplace.matching import precompute
from marketplace.providers import services as providers
from marketplace.resources import services as resources
from tests.conftest import PASSWORD, _advance, achievement_data, demand_data
from tests.unit.test_matching import HYDROGEN_ACHIEVEMENT, HYDROGEN_DEMAND
from tests.unit.test_stats_figures import contract
from tests.web.access_contracts import make_deal, registered, submitted
from tests.web.access_finance import approve_and_disburse, make_institution, make_product

ARTIFACTS = Path(__file__).parent / "artifacts"

# What a user must never read on a page: template leftovers, Python/JS values, error pages.
LEFTOVERS = re.compile(r"\bNone\b|\bundefined\b|\bNaN\b|\{\{|\}\}|\{%|Traceback|Internal Server Error")
# Lower-case ASCII words (e-mail addresses and URLs taken out first): a taxonomy code among them
# is an enum shown raw instead of its Chinese label.
_ADDRESSES = re.compile(r"\S+@\S+|https?://\S+")
_ASCII_WORD = re.compile(r"(?<![A-Za-z_])[a-z][a-z_]*(?![A-Za-z_])")


def raw_codes(text: str) -> set[str]:
    """Taxonomy codes (pending, license_patent, …) that appear as words in `text`."""
    words = set(_ASCII_WORD.findall(_ADDRESSES.sub(" ", text)))
    return words & _codes()


def _codes() -> set[str]:
    def subclasses(cls):
        for sub in cls.__subclasses__():
            yield sub
            yield from subclasses(sub)

    return {member.value for enum in subclasses(LabeledEnum) for member in enum}


@dataclass
class Camera:
    """camera.shoot(page, "search") checks the page holds no leftovers or raw codes and saves a
    full-page <persona>-<n>-search.png (n counts from 1). A persona's screenshots of an earlier run are
    removed first, so the folder always shows the last run of each journey."""

    persona: str
    directory: Path
    taken: list[Path] = field(default_factory=list)

    def __post_init__(self) -> None:
        for old in self.directory.glob(f"{self.persona}-*.png"):
            old.unlink()

    def shoot(self, page: Page, step: str) -> Path:
        page.wait_for_load_state("networkidle")
        text = page.locator("body").inner_text()
        leftover = LEFTOVERS.search(text)
        assert leftover is None, f"{page.url} shows {leftover.group(0)!r}"
        assert not raw_codes(text), f"{page.url} shows raw codes {sorted(raw_codes(text))}"
        if page.locator("canvas").count():
            page.wait_for_timeout(1200)  # let ECharts finish its entry animation before the picture
        page.evaluate("window.scrollTo(0, 0)")  # sticky panels then sit where a reader sees them
        path = self.directory / f"{self.persona}-{len(self.taken) + 1}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        self.taken.append(path)
        return path


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    """As a person does: the navbar's 登录 link on the home page, then the form."""
    page.goto(base + "/")
    page.get_by_role("navigation").get_by_role("link", name="登录", exact=True).click()
    page.get_by_label("邮箱").fill(email)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()


def suggestions_settled(page: Page) -> None:
    """Wait until the listing form's keyword/field suggestions have come back.

    The panel appears above the submit button about a second after the text was typed; a
    click at that moment lands on the shifted layout and submits nothing. A person sees the
    panel arrive before reaching the button; the test waits for it the same way.
    """
    from playwright.sync_api import expect

    expect(page.locator("form[data-suggest-url]")).to_have_attribute("data-suggest-state", "done")


def open_services_menu(page: Page, item: str) -> None:
    """科技服务 in the navbar is a dropdown: open it, then click the item."""
    page.get_by_test_id("nav-services").click()
    page.get_by_role("link", name=item).click()


def person(email: str, name: str, role: str, org=None, *, manager: bool = False, **extra: Any):
    return accounts.create_user(
        {"email": email, "name": name, "role": role, "password": PASSWORD, **extra}, org, manager=manager
    )


def org(name: str, org_type: str, *, verified: bool = True, **extra: Any):
    return accounts.create_org({"name": name, "org_type": org_type, **extra}, verified=verified)


def listing(kind: str, owner, status: str = "published", **data: Any):
    """A listing walked through the real workflow to `status`. Achievements carry no patent unless
    given one: an organisation cannot list the default patent number twice."""
    if kind == "achievement":
        values = achievement_data(**{"patent_numbers": "", **data})
    else:
        values = demand_data(**data)
    row = listings.create_listing(kind, owner, values)
    db.session.commit()
    _advance(row, owner, status)
    return row


def approve_listing(kind: str, listing_id: int, admin_email: str) -> None:
    """The platform's review, done by the service while the persona waits (the admin journey
    does it through the review queue)."""
    db.session.rollback()
    row = listings.get_listing(kind, listing_id)
    listings.transition(row, "approve", accounts.find_user(admin_email))
    db.session.commit()


def broker_org_and_manager(name: str, email: str, person_name: str):
    agency = org(name, "agency")
    manager = person(
        email, person_name, "broker", agency, manager=True, broker_level="manager", broker_cert_no="JJR-2026-0002"
    )
    return agency, manager


# ---------------------------------------------------------------------------------------------
# Worlds

ADMIN = "admin@example.cn"
SOLID_STATE = "高安全固态锂电池电解质材料"
SECOND_LIFE = "退役锂电池梯次利用快速分选系统"
PENDING_TITLE = "锂电池硅碳负极材料"
SECRET_DETAIL = "硫化物电解质掺杂配比：三成硫化锂、七成五硫化二磷，球磨十二小时"
EXPERT_PHONE = "13912345678"
OFFERING = "科技成果转化全流程服务"


def visitor_world() -> None:
    """Two published 锂电池 achievements (中试 and 已有样品), an unrelated one, one still waiting
    for review, a provider's service and an expert whose phone is private."""
    univ = org("日照理工大学", "university", district="371102")
    teacher = person("wang@rzut.example.cn", "王老师", "university", univ, manager=True)
    listing(
        "achievement",
        teacher,
        title=SOLID_STATE,
        summary="面向动力与储能锂电池的硫化物固态电解质，室温离子电导率 8 mS/cm，针刺不起火。",
        detail=SECRET_DETAIL,
        field="0605",
        keywords="锂电池；固态电解质；储能",
        maturity="pilot",
        patent_numbers="ZL201720001285.X",
        price="120万元",
        contact_phone="0633-8123456",
    )
    listing(
        "achievement",
        teacher,
        title=SECOND_LIFE,
        summary="对退役动力锂电池进行内阻、容量快速检测与分选，用于储能电站梯次利用。",
        field="0605",
        keywords="锂电池；梯次利用；电池检测",
        maturity="sample",
        ip_type="utility",
        price="面议",
    )
    listing("achievement", teacher, title="海水淡化反渗透膜组件", field="0507", keywords="海水淡化；反渗透")
    listing("achievement", teacher, "pending", title=PENDING_TITLE, field="0605", keywords="锂电池；负极材料")
    _agency, manager = broker_org_and_manager("日照技术转移服务中心", "li@tto.example.cn", "李主任")
    providers.create_offering(
        manager,
        {
            "category": "transfer",
            "title": OFFERING,
            "description": "成果梳理、价值评估、对接企业、合同登记一站式服务。",
            "price_note": "按成交额 3% 收费",
            "turnaround_days": "30",
        },
    )
    resources.create_expert(
        teacher,
        {
            "name": "刘海涛",
            "title": "教授",
            "field_codes": ["0605"],
            "expertise": "锂电池固态电解质与储能系统",
            "phone": EXPERT_PHONE,
            "email": "liuht@rzut.example.cn",
            "available_consulting": True,
        },
    )
    db.session.commit()


def university_world() -> None:
    """A verified university whose manager publishes, an expert of the university for the
    team, and the platform's administrator."""
    person(ADMIN, "审核员", "admin")
    univ = org("日照海洋科学研究院", "institute", district="371102")
    manager = person("chen@ocean.example.cn", "陈研究员", "university", univ, manager=True)
    resources.create_expert(
        manager,
        {"name": "赵立新", "title": "研究员", "field_codes": ["0305"], "expertise": "海洋工程装备与智能投喂"},
    )
    db.session.commit()


def enterprise_world() -> dict[str, Any]:
    """A verified steel company, an institute's published 氢冶金 achievement, an IP service and a
    bank's 科技成果转化贷款."""
    person(ADMIN, "审核员", "admin")
    steel = org("岚山精工钢铁有限公司", "enterprise", district="371103")
    person("zhang@steel.example.cn", "张经理", "enterprise", steel, manager=True)
    lab = org("山东冶金研究院", "institute", district="371102")
    achievement = listing(
        "achievement", person("sun@metal.example.cn", "孙工", "university", lab), **HYDROGEN_ACHIEVEMENT
    )
    _agency, manager = broker_org_and_manager("日照知识产权运营服务中心", "ip@ipc.example.cn", "周主任")
    providers.create_offering(
        manager,
        {
            "category": "ip",
            "title": "专利导航与布局分析",
            "description": "围绕引进技术开展专利检索、自由实施（FTO）分析与布局规划。",
            "price_note": "1.5 万元起",
            "turnaround_days": "25",
        },
    )
    _bank, banker = make_institution("日照银行科技支行")
    product = make_product(banker, title="科技成果转化贷款")
    db.session.commit()
    return {"achievement": achievement.title, "product": product.title}


PRICING_AMOUNTS = ("1000000", "2000000", "3000000")  # 100 / 200 / 300 万元: the median is 200.00


def broker_world() -> dict[str, Any]:
    """A published 氢冶金 demand with its candidate achievement precomputed for the board, and three
    registered contracts on the same technology for the pricing reference."""
    _agency, broker = broker_org_and_manager("日照技术转移服务中心", "li@tto.example.cn", "李经纪")
    steel = org("日照钢铁有限公司", "enterprise", district="371102")
    manager = person("liu@rzsteel.example.cn", "刘经理", "enterprise", steel)
    lab = org("山东冶金研究院", "institute", district="371102")
    teacher = person("sun@metal.example.cn", "孙工", "university", lab)
    demand = listing("demand", manager, **HYDROGEN_DEMAND)
    achievement = listing("achievement", teacher, **HYDROGEN_ACHIEVEMENT)
    official = person("zhao@kjj.example.cn", "赵登记员", "official")
    other_buyer = org("日照港精密仪器有限公司", "enterprise")
    for n, amount in enumerate(PRICING_AMOUNTS, start=1):
        registered(
            make_deal(lab, other_buyer, broker),
            broker,
            official,
            project_name=f"氢基竖炉直接还原铁技术专利实施许可（{n}）",
            contract_type="license_patent",
            license_scope="ordinary",
            amount=amount,
            cost_equipment="",
            cost_instruments="",
            cost_materials="",
            field_code="0501",
            ip_type="invention",
        )
    db.session.commit()
    precompute.refresh()
    return {"demand": demand.title, "achievement": achievement.title}


CONTRACT = "港口散货智能抑尘系统技术转让"


def official_world() -> dict[str, Any]:
    """Last year's registered contracts (234.57 万元 in all), one contract submitted for
    registration this year, and a bank's disbursed 科技成果转化贷款."""
    last_year = local_today().year - 1
    contract(datetime(last_year, 3, 10, 2), "1200000.00", seller_region="371102", field_code="01")
    contract(datetime(last_year, 4, 10, 2), "345678.90", seller_region="371103", field_code="05")
    contract(datetime(last_year, 9, 10, 2), "800000.00", seller_region="371103", field_code="03")
    person("zhao@kjj.example.cn", "赵登记员", "official")
    _agency, broker = broker_org_and_manager("日照技术转移服务中心", "li@tto.example.cn", "李经纪")
    univ = org("日照理工大学", "university", district="371102")
    port = org("日照港机械有限公司", "enterprise", district="371102")
    manager = person("zhang@port.example.cn", "张经理", "enterprise", port, manager=True)
    submitted(make_deal(univ, port, broker), broker, project_name=CONTRACT)
    _bank, banker = make_institution("日照银行科技支行")
    product = make_product(banker, title="科技成果转化贷款")
    loan = finance.create_application(
        manager, product, {"amount_requested": "300万", "term_months": "24", "purpose": "抑尘系统产业化"}
    )
    today = local_today()
    disbursed_on = max(today - timedelta(days=3), date(today.year, 1, 1))  # in this year's figures
    approve_and_disburse(loan, banker, "3000000", disbursed_on)
    db.session.commit()
    return {"last_year": last_year}


def admin_world() -> dict[str, Any]:
    """An achievement of a verified university waiting for review, and an organisation that
    registered today (with its first member) waiting for verification."""
    person(ADMIN, "平台管理员", "admin")
    univ = org("日照理工大学", "university", district="371102")
    pending = listing(
        "achievement",
        person("wang@rzut.example.cn", "王老师", "university", univ),
        "pending",
        title="港口散货智能抑尘系统",
    )
    newcomer = org("日照海洋职业学院", "university", verified=False, uscc="12371100MB2851445R", district="rz-oceancity")
    person("qian@rzhy.example.cn", "钱老师", "university", newcomer, manager=True)
    db.session.commit()
    return {"listing": pending.title, "newcomer": newcomer.name}
