"""Every enumeration of the marketplace, each member with its Chinese label.

Enumerations with fixed meaning are `LabeledEnum`s stored by code (a short ASCII string).
Districts and technology fields are deployment data: the defaults below are Rizhao's districts
and functional zones and the national technology-market classification; a deployment may
replace them with the JSON file named by `TAXONOMY_FILE` (see README).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from enum import Enum
from pathlib import Path


class LabeledEnum(str, Enum):
    """A string enum whose members carry a Chinese label and optional aliases for imports."""

    def __new__(cls, code: str, label: str, *aliases: str):
        member = str.__new__(cls, code)
        member._value_ = code
        member.label = label
        member.aliases = aliases
        return member

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]

    @classmethod
    def parse(cls, raw: object):
        """Member for a code, a Chinese label or an alias; None when nothing matches."""
        if isinstance(raw, cls):
            return raw
        text = str(raw or "").strip()
        if not text:
            return None
        for member in cls:
            if text.lower() == member.value or text == member.label or text in member.aliases:
                return member
        return None

    @classmethod
    def label_of(cls, code: str | None) -> str:
        member = cls.parse(code)
        return member.label if member else (code or "")


class OrgType(LabeledEnum):
    UNIVERSITY = ("university", "高校")
    INSTITUTE = ("institute", "科研院所")
    ENTERPRISE = ("enterprise", "企业")
    AGENCY = ("agency", "技术转移服务机构")
    FINANCE = ("finance", "金融机构", "银行", "投资机构")
    GOVERNMENT = ("government", "政府部门")
    OTHER = ("other", "其他")


class Role(LabeledEnum):
    UNIVERSITY = ("university", "高校/院所成员")
    ENTERPRISE = ("enterprise", "企业成员")
    BROKER = ("broker", "技术经纪人")
    FINANCE = ("finance", "金融机构成员")
    OFFICIAL = ("official", "科技管理人员")
    ADMIN = ("admin", "平台管理员")


class BrokerLevel(LabeledEnum):
    JUNIOR = ("junior", "初级技术经纪人", "初级")
    INTERMEDIATE = ("intermediate", "中级技术经纪人", "中级")
    MANAGER = ("manager", "技术经理人")


class MembershipStatus(LabeledEnum):
    PENDING = ("pending", "待审批")
    ACTIVE = ("active", "已加入")
    REJECTED = ("rejected", "已拒绝")


class Maturity(LabeledEnum):
    RESEARCH = ("research", "正在研发")
    LAB = ("lab", "小试", "通过小试", "小试阶段")
    PILOT = ("pilot", "中试", "通过中试", "中试阶段")
    SAMPLE = ("sample", "已有样品", "样品")
    MASS = ("mass", "可以量产", "量产", "批量生产")


class IPType(LabeledEnum):
    INVENTION = ("invention", "发明专利")
    UTILITY = ("utility", "实用新型", "实用新型专利")
    DESIGN = ("design", "外观设计", "外观专利", "外观设计专利")
    SOFTWARE = ("software", "软件著作权", "软著", "计算机软件著作权")
    PLANT = ("plant", "植物新品种")
    IC_LAYOUT = ("ic_layout", "集成电路布图设计")
    TRADE_SECRET = ("trade_secret", "技术秘密")
    NON_PATENT = ("non_patent", "非专利技术")

    @property
    def is_patent(self) -> bool:
        return self in (IPType.INVENTION, IPType.UTILITY, IPType.DESIGN)


class TransferMode(LabeledEnum):
    TRANSFER = ("transfer", "转让", "完全转让", "技术转让")
    LICENSE = ("license", "许可", "许可转让", "技术许可")
    EQUITY = ("equity", "作价入股", "技术入股")
    CO_DEVELOP = ("co_develop", "合作开发", "合作生产", "委托开发")
    OTHER = ("other", "其他")


class DemandType(LabeledEnum):
    TACKLE = ("tackle", "技术难题攻关", "难题攻关")
    INTRODUCE = ("introduce", "成果引进")
    CO_DEVELOP = ("co_develop", "合作开发", "委托开发")
    CONSULT = ("consult", "技术咨询")
    TALENT = ("talent", "人才需求")


class ListingStatus(LabeledEnum):
    DRAFT = ("draft", "草稿")
    PENDING = ("pending", "待审核")
    PUBLISHED = ("published", "已发布")
    WITHDRAWN = ("withdrawn", "已撤回")
    CLOSED = ("closed", "已关闭")
    EXPIRED = ("expired", "已过期")


class PriceKind(LabeledEnum):
    FIXED = ("fixed", "固定价格")
    RANGE = ("range", "价格区间")
    NEGOTIABLE = ("negotiable", "面议")


class ServiceCategory(LabeledEnum):
    """The seven service lines of the city's "1+7+N" technology-transfer service system."""

    TRANSFER = ("transfer", "技术转移")
    EVALUATION = ("evaluation", "成果评价")
    LISTING = ("listing", "挂牌交易")
    BROKERAGE = ("brokerage", "技术经纪")
    FINANCE = ("finance", "金融服务")
    IP = ("ip", "知识产权")
    PARK = ("park", "园区落地")


# ---------------------------------------------------------------------------------------------
# Deals and technology contracts (技术合同)


class DealStage(LabeledEnum):
    INTENT = ("intent", "意向")
    NEGOTIATION = ("negotiation", "洽谈")
    SIGNED = ("signed", "签约")
    REGISTRATION = ("registration", "登记")
    PERFORMANCE = ("performance", "履约")
    COMPLETED = ("completed", "完成")
    TERMINATED = ("terminated", "终止")


class CommissionKind(LabeledEnum):
    NONE = ("none", "未约定")
    RATE = ("rate", "按成交额比例")
    FIXED = ("fixed", "固定金额")


class CommissionPayer(LabeledEnum):
    SELLER = ("seller", "卖方支付")
    BUYER = ("buyer", "买方支付")
    BOTH = ("both", "双方各半")


class ContractType(LabeledEnum):
    """The Civil Code's technology contracts (Arts. 843, 851, 862-863), with the two service
    sub-classes that register separately (技术培训, 技术中介). `group` is the statistics' 大类."""

    DEV_COMMISSIONED = ("dev_commissioned", "委托开发", "技术开发（委托开发）")
    DEV_COOPERATIVE = ("dev_cooperative", "合作开发", "技术开发（合作开发）")
    TRANSFER_PATENT = ("transfer_patent", "专利权转让")
    TRANSFER_APPLICATION = ("transfer_application", "专利申请权转让")
    TRANSFER_SECRET = ("transfer_secret", "技术秘密转让")
    TRANSFER_OTHER = ("transfer_other", "其他技术转让")
    LICENSE_PATENT = ("license_patent", "专利实施许可")
    LICENSE_SECRET = ("license_secret", "技术秘密使用许可")
    CONSULTING = ("consulting", "技术咨询")
    SERVICE = ("service", "技术服务")
    TRAINING = ("training", "技术培训")
    INTERMEDIARY = ("intermediary", "技术中介")

    @property
    def group(self) -> str:
        return self.value.split("_")[0] if "_" in self.value else self.value

    @property
    def group_label(self) -> str:
        return CONTRACT_GROUPS[self.group]

    @property
    def is_transfer(self) -> bool:
        return self.group == "transfer"

    @property
    def is_license(self) -> bool:
        return self.group == "license"


CONTRACT_GROUPS = {
    "dev": "技术开发",
    "transfer": "技术转让",
    "license": "技术许可",
    "consulting": "技术咨询",
    "service": "技术服务",
    "training": "技术服务",
    "intermediary": "技术服务",
}


class LicenseScope(LabeledEnum):
    EXCLUSIVE = ("exclusive", "独占许可", "独占")
    SOLE = ("sole", "排他许可", "排他")
    ORDINARY = ("ordinary", "普通许可", "普通")


class PartyNature(LabeledEnum):
    """买方/卖方性质 as the statistics break them down (交易主体)."""

    UNIVERSITY = ("university", "高等院校", "高校")
    INSTITUTE = ("institute", "科研机构", "科研院所")
    ENTERPRISE_DOMESTIC = ("enterprise_domestic", "内资企业", "企业")
    ENTERPRISE_HMT = ("enterprise_hmt", "港澳台商投资企业", "港澳台企业")
    ENTERPRISE_FOREIGN = ("enterprise_foreign", "外商投资企业", "外资企业")
    GOVERNMENT = ("government", "机关法人")
    INDIVIDUAL = ("individual", "个人")
    OTHER = ("other", "其他")


class PaymentMode(LabeledEnum):
    LUMP_SUM = ("lump_sum", "一次总付", "一次总算一次总付")
    INSTALLMENTS = ("installments", "分期支付", "一次总算分期支付")
    ROYALTY = ("royalty", "提成支付")
    ROYALTY_WITH_FEE = ("royalty_with_fee", "提成附入门费", "提成支付附加预付入门费")


class ContractStatus(LabeledEnum):
    DRAFT = ("draft", "草稿")
    SUBMITTED = ("submitted", "待登记")
    RETURNED = ("returned", "已退回")
    REGISTERED = ("registered", "已登记")
    CANCELLED = ("cancelled", "已注销")


class SocioEconomicObjective(LabeledEnum):
    """社会经济目标 (GB/T 24450-2009 style, the values seen in real registration data)."""

    ENERGY = ("energy", "能源生产、分配和合理利用")
    ENVIRONMENT = ("environment", "环境保护、生态建设及污染防治")
    AGRICULTURE = ("agriculture", "农林牧渔业发展")
    INDUSTRY = ("industry", "工商业发展")
    INFRASTRUCTURE = ("infrastructure", "交通运输、通信和城市基础设施")
    HEALTH = ("health", "卫生事业发展")
    SOCIAL = ("social", "社会发展和社会服务")
    EDUCATION = ("education", "教育事业发展")
    DEFENCE = ("defence", "国防")
    EARTH_SPACE = ("earth_space", "地球和大气层的探索与利用")
    UNDIRECTED = ("undirected", "非定向研究")
    OTHER = ("other", "其他")


class InvoiceKind(LabeledEnum):
    COMMISSION = ("commission", "经纪佣金发票")
    SERVICE_FEE = ("service_fee", "平台服务费发票")


class InvoiceStatus(LabeledEnum):
    UNPAID = ("unpaid", "未付款")
    PAID = ("paid", "已付款")
    VOID = ("void", "作废")


# ---------------------------------------------------------------------------------------------
# Deployment data: districts and technology fields


@dataclass(frozen=True)
class District:
    code: str
    name: str
    kind: str  # 区县 or 功能区 or 其他


@dataclass(frozen=True)
class TechField:
    code: str
    name: str
    parent: str | None  # None for a top-level field

    @property
    def is_top(self) -> bool:
        return self.parent is None


DEFAULT_DISTRICTS: list[District] = [
    District("371102", "东港区", "区县"),
    District("371103", "岚山区", "区县"),
    District("371121", "五莲县", "区县"),
    District("371122", "莒县", "区县"),
    District("rz-etdz", "日照经济技术开发区", "功能区"),
    District("rz-hitech", "日照高新技术产业开发区", "功能区"),
    District("rz-shanhaitian", "山海天旅游度假区", "功能区"),
    District("rz-oceancity", "日照国际海洋城", "功能区"),
    District("outside", "市外", "其他"),
]

# The 11 fields of the national technology-market statistics, with second levels.
_DEFAULT_FIELD_TREE: list[tuple[str, str, list[str]]] = [
    (
        "01",
        "电子信息",
        [
            "集成电路与微电子",
            "计算机与网络",
            "通信技术",
            "软件与信息服务",
            "人工智能与大数据",
            "光电子与显示",
            "电子仪器仪表",
            "其他电子信息",
        ],
    ),
    ("02", "航空航天", ["航空器及部件", "航天与卫星应用", "其他航空航天"]),
    (
        "03",
        "先进制造",
        [
            "智能装备与机器人",
            "通用与精密机械",
            "自动化与控制",
            "汽车及零部件",
            "船舶与海洋工程装备",
            "工艺与加工技术",
            "其他先进制造",
        ],
    ),
    ("04", "生物、医药和医疗器械", ["生物技术", "化学药", "中药", "生物制品", "医疗器械", "其他生物医药"]),
    (
        "05",
        "新材料及其应用",
        [
            "金属材料",
            "无机非金属材料",
            "高分子与复合材料",
            "纳米材料",
            "电子信息材料",
            "纺织新材料",
            "膜材料",
            "其他新材料",
        ],
    ),
    ("06", "新能源与高效节能", ["太阳能", "风能", "氢能", "生物质能", "储能与电池", "高效节能", "其他新能源"]),
    (
        "07",
        "环境保护与资源综合利用",
        ["水污染防治", "大气污染防治", "固体废弃物处理与综合利用", "生态修复", "环境监测", "其他环保"],
    ),
    ("08", "核应用", ["核技术应用", "其他核应用"]),
    (
        "09",
        "农业",
        [
            "农林植物新品种",
            "畜禽水产新品种",
            "种植与栽培",
            "农业生物技术",
            "农业机械与智慧农业",
            "农产品加工与贮藏",
            "肥料、饲料与植保",
            "其他农业",
        ],
    ),
    ("10", "现代交通", ["轨道交通", "道路与智能交通", "港口航运与船舶", "物流仓储", "其他交通"]),
    (
        "11",
        "城市建设与社会发展",
        ["建筑与土木工程", "公共安全与防灾", "医疗卫生与健康", "文化、教育与体育", "技术服务", "其他社会发展"],
    ),
]


def _default_fields() -> list[TechField]:
    fields: list[TechField] = []
    for code, name, children in _DEFAULT_FIELD_TREE:
        fields.append(TechField(code, name, None))
        for index, child in enumerate(children, start=1):
            fields.append(TechField(f"{code}{index:02d}", child, code))
    return fields


class Taxonomy:
    """Districts and fields of one deployment; lookups by code and by name."""

    def __init__(self, districts: list[District], fields: list[TechField]):
        self.districts = districts
        self.fields = fields
        self._districts = {d.code: d for d in districts}
        self._fields = {f.code: f for f in fields}

    @classmethod
    def default(cls) -> Taxonomy:
        return cls(list(DEFAULT_DISTRICTS), _default_fields())

    @classmethod
    def from_file(cls, path: str | Path) -> Taxonomy:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        default = cls.default()
        districts = [District(d["code"], d["name"], d.get("kind", "区县")) for d in data.get("districts", [])]
        fields = [TechField(f["code"], f["name"], f.get("parent")) for f in data.get("fields", [])]
        return cls(districts or default.districts, fields or default.fields)

    # districts
    def district(self, code: str | None) -> District | None:
        return self._districts.get(code or "")

    def district_name(self, code: str | None) -> str:
        district = self.district(code)
        return district.name if district else ""

    def parse_district(self, raw: object) -> District | None:
        text = str(raw or "").strip()
        if text in self._districts:
            return self._districts[text]
        for district in self.districts:
            if text and (text == district.name or text == district.name.removesuffix("区")):
                return district
        return None

    def district_choices(self) -> list[tuple[str, str]]:
        return [(d.code, d.name) for d in self.districts]

    # fields
    def field(self, code: str | None) -> TechField | None:
        return self._fields.get(code or "")

    def top_fields(self) -> list[TechField]:
        return [f for f in self.fields if f.is_top]

    def children(self, code: str) -> list[TechField]:
        return [f for f in self.fields if f.parent == code]

    def field_path(self, code: str | None) -> str:
        """'电子信息 › 人工智能与大数据' for a second-level code, the name for a top one."""
        field = self.field(code)
        if field is None:
            return ""
        if field.parent:
            return f"{self._fields[field.parent].name} › {field.name}"
        return field.name

    def field_and_descendants(self, code: str) -> list[str]:
        return [code] + [f.code for f in self.children(code)]

    def parse_field(self, raw: object) -> TechField | None:
        """A field by code, by name, or by 'parent-child' / 'parent › child' / 'parent/child'."""
        text = str(raw or "").strip()
        if not text:
            return None
        if text in self._fields:
            return self._fields[text]
        for sep in ("›", ">", "-", "/", "－"):
            if sep in text:
                parent_name, _, child_name = (part.strip() for part in text.partition(sep))
                parent = next((f for f in self.top_fields() if f.name == parent_name), None)
                if parent:
                    child = next((f for f in self.children(parent.code) if f.name == child_name), None)
                    return child or parent
        matches = [f for f in self.fields if f.name == text]
        return matches[0] if matches else None

    def field_choices(self) -> list[tuple[str, str]]:
        """Grouped choices for a select: top fields and their children, indented."""
        choices: list[tuple[str, str]] = []
        for top in self.top_fields():
            choices.append((top.code, top.name))
            choices.extend((child.code, f"　{top.name} › {child.name}") for child in self.children(top.code))
        return choices


def load_taxonomy(path: str | None) -> Taxonomy:
    return Taxonomy.from_file(path) if path else Taxonomy.default()
