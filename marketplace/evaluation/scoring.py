"""The documented scoring model of 成果评价 and its arithmetic (Decimal only, never floats).

Each panel expert scores six dimensions 0–100 (integers or one decimal). The overall score is
Σ weight × (mean of the panel's scores in that dimension), computed from the unrounded means and
rounded half-up to 2 decimals once, at the end. The grade is read from the overall score. Shown on
/evaluations/model and in every report; the grade is the panel's assessment under this model,
not a certification."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")
TENTH = Decimal("0.1")
MIN_SCORE, MAX_SCORE = Decimal(0), Decimal(100)
OUT_OF_RANGE = "评分须在 0–100 之间"


@dataclass(frozen=True)
class Dimension:
    code: str
    label: str
    weight: Decimal
    question: str
    levels: tuple[str, str, str, str]  # what 90 / 70 / 50 / 30 mean

    @property
    def weight_percent(self) -> str:
        return f"{(self.weight * 100).normalize():f}%"


LEVEL_POINTS = (90, 70, 50, 30)

DIMENSIONS: tuple[Dimension, ...] = (
    Dimension(
        "maturity",
        "技术成熟度",
        Decimal("0.20"),
        "技术离实际应用有多远：实验室原理、样品样机、中试还是已批量应用。",
        (
            "已完成中试或小批量应用，工艺稳定，有用户使用数据",
            "已有样机或样品，关键指标经第三方或用户测试",
            "完成实验室验证，尚无样机或工程化数据",
            "停留在原理或方案阶段，关键技术尚未验证",
        ),
    ),
    Dimension(
        "innovation",
        "创新性",
        Decimal("0.20"),
        "与现有技术相比的新颖程度和技术进步幅度。",
        (
            "核心方法或指标相对现有公开技术有显著突破",
            "在已有技术基础上有明确改进，指标优于常见方案",
            "集成或改良为主，改进幅度有限",
            "与公开技术基本相同，未见实质性改进",
        ),
    ),
    Dimension(
        "ip",
        "知识产权",
        Decimal("0.15"),
        "权利的状态、范围与稳定性：授权发明专利、布局、权属是否清晰。",
        (
            "核心技术有授权发明专利并形成布局，权属清晰无纠纷",
            "有授权专利或已进入实审的发明申请，权属清晰",
            "仅有实用新型、软件著作权或公开申请，保护范围较窄",
            "无知识产权或权属不清",
        ),
    ),
    Dimension(
        "market",
        "市场前景",
        Decimal("0.20"),
        "需求是否明确、市场规模、替代品与进入门槛。",
        (
            "需求明确且规模大，已有意向用户或订单",
            "目标市场清楚，有可信的需求测算",
            "应用场景尚需验证，市场规模不确定",
            "缺乏明确的应用场景或需求",
        ),
    ),
    Dimension(
        "team",
        "团队能力",
        Decimal("0.10"),
        "研发与转化团队的完整性、经验和持续投入能力。",
        (
            "团队完整，有成功转化经验，能持续投入",
            "核心成员稳定，具备工程化能力",
            "以科研人员为主，缺少工程化或市场人员",
            "团队不稳定或投入难以保证",
        ),
    ),
    Dimension(
        "risk",
        "风险",
        Decimal("0.15"),
        "技术、市场、政策与法律风险；分数越高表示风险越低。",
        (
            "主要风险已识别并有应对措施，总体风险低",
            "存在可控的一般风险",
            "存在较大的技术或市场不确定性",
            "存在重大风险（如权属争议、政策限制、关键技术未突破）",
        ),
    ),
)
DIMENSION_CODES = tuple(d.code for d in DIMENSIONS)
BY_CODE = {d.code: d for d in DIMENSIONS}
assert sum(d.weight for d in DIMENSIONS) == 1


@dataclass(frozen=True)
class Grade:
    code: str
    label: str
    minimum: Decimal  # inclusive

    @property
    def text(self) -> str:
        return f"{self.code} {self.label}"


GRADES: tuple[Grade, ...] = (
    Grade("A", "优秀", Decimal(85)),
    Grade("B", "良好", Decimal(70)),
    Grade("C", "一般", Decimal(55)),
    Grade("D", "较弱", Decimal(0)),
)
GRADE_BY_CODE = {g.code: g for g in GRADES}

DISCLAIMER = (
    "本评价等级是评审专家组依据本平台公开的评分模型作出的评估意见，仅供参考，"
    "不构成任何形式的认证、鉴定、评级或价值担保，也不代表“国际先进”“国内领先”等水平认定。"
)


def grade_of(overall: Decimal) -> Grade:
    for grade in GRADES:
        if overall >= grade.minimum:
            return grade
    return GRADES[-1]


def grade_text(code: str | None) -> str:
    grade = GRADE_BY_CODE.get(code or "")
    return grade.text if grade else "—"


def parse_score(raw: Any) -> Decimal:
    """A score as typed or sent: 78, "78", "78.5", 78.5. Raises ValueError with the reason."""
    if raw is None or isinstance(raw, bool) or (isinstance(raw, str) and not raw.strip()):
        raise ValueError("请填写评分")
    try:
        value = Decimal(str(raw).strip())
    except InvalidOperation:
        raise ValueError("评分须为数字，如 78 或 78.5") from None
    if not value.is_finite():
        raise ValueError("评分须为数字，如 78 或 78.5")
    if not MIN_SCORE <= value <= MAX_SCORE:
        raise ValueError(OUT_OF_RANGE)
    if value != value.quantize(TENTH):
        raise ValueError("评分最多保留一位小数")
    return value.quantize(TENTH)


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class DimensionResult:
    dimension: Dimension
    count: int
    mean: Decimal  # unrounded
    minimum: Decimal
    maximum: Decimal

    @property
    def weighted(self) -> Decimal:
        return self.dimension.weight * self.mean

    @property
    def mean_2(self) -> Decimal:
        return round2(self.mean)

    @property
    def weighted_2(self) -> Decimal:
        return round2(self.weighted)


@dataclass(frozen=True)
class Result:
    dimensions: tuple[DimensionResult, ...]
    overall: Decimal
    grade: Grade
    sheets: int


def compute(sheets: Iterable[Mapping[str, Decimal]]) -> Result:
    """The panel's result from its score sheets (dimension code -> score), one per expert."""
    sheets = list(sheets)
    if not sheets:
        raise ValueError("没有评分")
    results = []
    for dim in DIMENSIONS:
        values = [Decimal(sheet[dim.code]) for sheet in sheets]
        results.append(DimensionResult(dim, len(values), sum(values) / len(values), min(values), max(values)))
    overall = round2(sum((r.weighted for r in results), Decimal(0)))
    return Result(tuple(results), overall, grade_of(overall), len(sheets))


def model_document() -> dict[str, Any]:
    """The model as data (the API's /evaluations/model and the public page)."""
    return {
        "scale": {"min": 0, "max": 100, "decimals": 1},
        "dimensions": [
            {
                "code": d.code,
                "label": d.label,
                "weight": f"{d.weight:.2f}",
                "description": d.question,
                "levels": [{"score": p, "meaning": m} for p, m in zip(LEVEL_POINTS, d.levels, strict=True)],
            }
            for d in DIMENSIONS
        ],
        "overall": "综合得分 = Σ 权重 × 该维度专家评分的平均值，按四舍五入保留两位小数",
        "grades": [{"code": g.code, "label": g.label, "minimum": f"{g.minimum:.2f}"} for g in GRADES],
        "disclaimer": DISCLAIMER,
    }
