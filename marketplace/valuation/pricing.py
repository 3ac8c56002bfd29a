"""技术定价 guidance: comparable registered technology contracts for an achievement or a contract
being drafted, found through the search index (kind "contract", see marketplace.search).

Attribute filters first (same technology field — exact sub-field, then its top-level field —,
same contract sub-type, same IP type), ranked by text relevance of the contract titles to the
case's title and keywords (`search_index.match.key_terms` / `score_within`). When a level gives
fewer than MIN_COMPARABLES, the next level relaxes one attribute, and the page says which.
Amounts are 技术交易额 (核定) of registered, not cancelled, contracts; the database is re-read for
every comparable, so a contract cancelled a moment ago is never shown even if the index lags.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select

from search_index import match as text_match

from .. import search
from ..core.errors import Conflict, NotFound, PermissionDenied
from ..core.taxonomy import CONTRACT_GROUPS, ContractStatus, ContractType, IPType, PriceKind
from ..core.timeutil import to_local
from ..core.validators import parse_id
from ..deals.models import TechContract
from ..extensions import db
from ..listings.models import Achievement
from . import compute, policy

MIN_COMPARABLES = 10  # relax until at least this many
MAX_COMPARABLES = 20
FEW = 5  # below this the page warns that the guidance means little
TEN_THOUSAND = Decimal(10000)
OPEN_CONTRACT_STATES = (ContractStatus.DRAFT.value, ContractStatus.SUBMITTED.value, ContractStatus.RETURNED.value)
# An achievement's transfer modes -> the contract 大类 it would be signed as.
MODE_GROUP = {"transfer": "transfer", "license": "license", "co_develop": "dev", "equity": "transfer"}
IP_SUBTYPE = {
    ("transfer", "invention"): "transfer_patent",
    ("transfer", "utility"): "transfer_patent",
    ("transfer", "design"): "transfer_patent",
    ("transfer", "trade_secret"): "transfer_secret",
    ("license", "invention"): "license_patent",
    ("license", "utility"): "license_patent",
    ("license", "design"): "license_patent",
    ("license", "trade_secret"): "license_secret",
}


@dataclass
class Case:
    kind: str  # achievement | contract
    id: int
    title: str
    keywords: list[str]
    field_code: str
    field_top: str
    contract_type: str  # sub-type code ("" unknown)
    contract_group: str
    ip_type: str
    price: Decimal | None  # yuan
    price_label: str
    obj: Any = None


@dataclass
class Comparable:
    id: int
    year: int | None
    title: str
    contract_type: str
    type_label: str
    field_code: str
    field_label: str
    ip_type: str
    ip_label: str
    amount: Decimal  # 技术交易额, yuan
    score: float  # text relevance 0..1
    shared: list[str]
    matches: dict[str, str]  # attribute -> "same" | "near" | "differs" | "unknown"
    level: int

    @property
    def amount_wan(self) -> Decimal:
        return wan(self.amount)


@dataclass
class Guidance:
    case: Case
    comparables: list[Comparable] = field(default_factory=list)
    relaxed: list[str] = field(default_factory=list)
    criteria: list[str] = field(default_factory=list)
    stats: dict[str, Decimal] | None = None  # 万元
    percentile: Decimal | None = None
    index_ready: bool = True

    @property
    def count(self) -> int:
        return len(self.comparables)

    @property
    def few(self) -> bool:
        return self.count < FEW


def wan(yuan: Decimal) -> Decimal:
    return (yuan / TEN_THOUSAND).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _taxonomy():
    return current_app.extensions["taxonomy"]


def field_label(code: str | None) -> str:
    if not code:
        return "—"
    known = _taxonomy().field(code)
    return known.name if known else code


def _top(code: str | None) -> str:
    if not code:
        return ""
    known = _taxonomy().field(code)
    return (known.parent or known.code) if known else code[:2]


# ---------------------------------------------------------------------------------------------
# Cases


def achievement_case(achievement: Achievement) -> Case:
    modes = [m for m in (achievement.transfer_modes or []) if m in MODE_GROUP]
    group = MODE_GROUP[modes[0]] if modes else ""
    ip = achievement.ip_type or ""
    price, label = None, "面议"
    if achievement.price_kind != PriceKind.NEGOTIABLE.value and achievement.price_low is not None:
        high = achievement.price_high or achievement.price_low
        price = (
            (achievement.price_low + high) / 2
            if achievement.price_kind == PriceKind.RANGE.value
            else achievement.price_low
        )
        label = achievement.price.display()
    return Case(
        kind="achievement",
        id=achievement.id,
        title=achievement.title,
        keywords=list(achievement.keywords or []),
        field_code=achievement.field_code or "",
        field_top=_top(achievement.field_code),
        contract_type=IP_SUBTYPE.get((group, ip), ""),
        contract_group=group,
        ip_type=ip,
        price=price,
        price_label=label,
        obj=achievement,
    )


def contract_case(contract: TechContract) -> Case:
    ctype = contract.contract_type or ""
    return Case(
        kind="contract",
        id=contract.id,
        title=contract.project_name,
        keywords=[],
        field_code=contract.field_code or "",
        field_top=_top(contract.field_code),
        contract_type=ctype,
        contract_group=ctype.split("_")[0] if ctype else "",
        ip_type=contract.ip_type or "",
        price=contract.technology_amount,
        price_label=f"技术交易额 {wan(contract.technology_amount)} 万元"
        if contract.technology_amount is not None
        else "",
        obj=contract,
    )


def load_case(user: Any, *, achievement_id: Any = None, contract_id: Any = None) -> Case:
    """The case a user asked about, after the policy (404 for a missing one, 403 for another
    organisation's)."""
    if achievement_id not in (None, ""):
        item = db.session.get(Achievement, _int(achievement_id))
        if item is None:
            raise NotFound("科技成果不存在")
        if not policy.can_price_achievement(user, item):
            raise PermissionDenied("只有成果所属机构的成员、技术经纪人、科技管理人员和管理员可以查看定价参考")
        return achievement_case(item)
    if contract_id not in (None, ""):
        contract = db.session.get(TechContract, _int(contract_id))
        if contract is None:
            raise NotFound("技术合同不存在")
        if not policy.can_price_contract(user, contract):
            raise PermissionDenied("只有合同双方、交易的技术经纪人、科技管理人员和管理员可以查看定价参考")
        if contract.status not in OPEN_CONTRACT_STATES:
            raise Conflict("定价参考用于起草中或待登记的合同；已登记或已注销的合同不再提供")
        return contract_case(contract)
    raise NotFound("请指定科技成果（achievement）或技术合同（contract）")


def _int(raw: Any) -> int:
    value = parse_id(raw)  # digits only, within the database's INTEGER
    if value is None:
        raise NotFound("编号无效")
    return value


# ---------------------------------------------------------------------------------------------
# Comparables


def levels(case: Case) -> list[tuple[dict[str, str], list[str]]]:
    """(filters, relaxed so far) from the strictest to the loosest; attributes the case does not
    have are simply not filtered (and not reported as relaxed)."""
    out: list[tuple[dict[str, str], list[str]]] = []
    ip = {"ip_type": case.ip_type} if case.ip_type else {}
    sub = {"contract_type": case.contract_type} if case.contract_type else {}
    group = {"contract_group": case.contract_group} if case.contract_group else {}
    typed = sub or group
    relaxed: list[str] = []
    if case.field_code and case.field_code != case.field_top:
        out.append(({"field": case.field_code, **typed, **ip}, []))
        relaxed = ["细分技术领域（放宽到一级领域）"]
    top = {"field_top": case.field_top} if case.field_top else {}
    out.append(({**top, **typed, **ip}, list(relaxed)))
    if ip:
        relaxed = [*relaxed, "知识产权类型"]
        out.append(({**top, **typed}, list(relaxed)))
    if sub and group:
        relaxed = [*relaxed, "合同子类型（放宽到同一大类）"]
        out.append(({**top, **group}, list(relaxed)))
    if typed and top:
        relaxed = [*relaxed, "合同类型"]
        out.append((dict(top), list(relaxed)))
        relaxed = [*relaxed[:-1], "技术领域"]
        out.append((dict(group or typed), list(relaxed)))
    unique, seen = [], set()
    for filters, why in out:
        key = tuple(sorted(filters.items()))
        if key not in seen:
            seen.add(key)
            unique.append((filters, why))
    return unique


def _index():
    index = search.get_index()
    try:
        if search.is_behind(index):
            search.catch_up(
                index,
                wait=search.setting("SEARCH_BEFORE_SEARCH_WAIT"),
                max_rows=search.setting("SEARCH_BEFORE_SEARCH_MAX_ROWS"),
            )
    except Exception:  # a slightly stale answer beats an error page
        current_app.logger.exception("valuation: catch-up before the pricing guidance failed")
    return index


def guidance(case: Case) -> Guidance:
    index = _index()
    result = Guidance(case=case)
    terms = text_match.key_terms(index, title=case.title, keywords=case.keywords)
    picked: list[tuple[int, float, list[str], int]] = []
    seen = {search.key_of(search.CONTRACT, case.id)} if case.kind == "contract" else set()
    steps = levels(case)
    for level, (filters, relaxed) in enumerate(steps):
        found = text_match.score_within(
            index, terms, search.CONTRACT, filters, limit=MAX_COMPARABLES - len(picked), exclude_keys=seen
        )
        for cid, score, shared in found:
            picked.append((cid, score, shared, level))
            seen.add(search.key_of(search.CONTRACT, cid))
        result.relaxed += [r for r in relaxed if r not in result.relaxed]  # every level visited
        result.criteria = _describe(filters)
        if len(picked) >= MIN_COMPARABLES or len(picked) >= MAX_COMPARABLES:
            break
    rows = {
        c.id: c
        for c in db.session.scalars(
            select(TechContract).where(
                TechContract.id.in_([p[0] for p in picked]), TechContract.status == ContractStatus.REGISTERED.value
            )
        )
    }
    for cid, score, shared, level in picked:
        contract = rows.get(cid)
        if contract is not None:
            result.comparables.append(_comparable(case, contract, score, shared, level))
    amounts = [c.amount for c in result.comparables]
    stats = compute.summary(amounts)
    result.stats = {k: wan(v) for k, v in stats.items()} if stats else None
    if case.price is not None and amounts:
        result.percentile = compute.percentile_of(case.price, amounts)
    return result


def _describe(filters: dict[str, str]) -> list[str]:
    out = []
    if "field" in filters:
        out.append(f"技术领域：{field_label(filters['field'])}")
    if "field_top" in filters:
        out.append(f"技术领域（一级）：{field_label(filters['field_top'])}")
    if "contract_type" in filters:
        out.append(f"合同类型：{ContractType.label_of(filters['contract_type'])}")
    if "contract_group" in filters:
        out.append(f"合同大类：{CONTRACT_GROUPS.get(filters['contract_group'], filters['contract_group'])}")
    if "ip_type" in filters:
        out.append(f"知识产权类型：{IPType.label_of(filters['ip_type'])}")
    return out


def _comparable(case: Case, c: TechContract, score: float, shared: list[str], level: int) -> Comparable:
    ctype = c.contract_type or ""
    group = ctype.split("_")[0]
    top = _top(c.field_code)
    if not case.field_code:
        field_match = "unknown"
    elif c.field_code == case.field_code:
        field_match = "same"
    else:
        field_match = "near" if top and top == case.field_top else "differs"
    if not case.contract_group:
        type_match = "unknown"
    elif case.contract_type and ctype == case.contract_type:
        type_match = "same"
    elif group == case.contract_group:
        type_match = "same" if not case.contract_type else "near"
    else:
        type_match = "differs"
    ip_match = "unknown" if not case.ip_type else ("same" if c.ip_type == case.ip_type else "differs")
    return Comparable(
        id=c.id,
        year=to_local(c.registered_at).year if c.registered_at else None,
        title=c.project_name,
        contract_type=ctype,
        type_label=ContractType.label_of(ctype) if ctype else "—",
        field_code=c.field_code or "",
        field_label=field_label(c.field_code),
        ip_type=c.ip_type or "",
        ip_label=IPType.label_of(c.ip_type) if c.ip_type else "—",
        amount=c.technology_amount,
        score=score,
        shared=shared[:5],
        matches={"field": field_match, "type": type_match, "ip": ip_match},
        level=level,
    )


def as_json(g: Guidance) -> dict[str, Any]:
    def m(v: Decimal | None) -> str | None:
        return None if v is None else f"{v:.2f}"

    return {
        "case": {
            "kind": g.case.kind,
            "id": g.case.id,
            "title": g.case.title,
            "field": g.case.field_code or None,
            "contract_type": g.case.contract_type or None,
            "contract_group": g.case.contract_group or None,
            "ip_type": g.case.ip_type or None,
            "price": m(g.case.price),
        },
        "count": g.count,
        "few": g.few,
        "warning": f"可比合同仅 {g.count} 份，参考价值有限" if g.few else None,
        "criteria": g.criteria,
        "relaxed": g.relaxed,
        "unit": "万元",
        "quartile_method": "linear interpolation, inclusive (statistics.quantiles(method='inclusive'))",
        "stats": {k: m(v) for k, v in g.stats.items()} if g.stats else None,
        "percentile": m(g.percentile),
        "comparables": [
            {
                "id": c.id,
                "registration_year": c.year,
                "title": c.title,
                "contract_type": {"code": c.contract_type, "label": c.type_label},
                "field": {"code": c.field_code or None, "label": c.field_label},
                "ip_type": {"code": c.ip_type or None, "label": c.ip_label},
                "technology_amount_wan": m(c.amount_wan),
                "similarity": c.score,
                "shared_terms": c.shared,
                "matches": c.matches,
            }
            for c in g.comparables
        ],
    }
