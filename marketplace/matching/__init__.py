"""Recommendations: for a demand, the published achievements that could meet it; for an
achievement, the published demands it could meet. Every recommendation says why, in Chinese.

How a listing is matched
------------------------
1. Key terms: the listing's public text (title, keywords, body — the same text its search
   document holds) is cut into words and the 12 most characteristic ones are kept, by TF-IDF with
   the search index's own document frequencies (`search_index.match.key_terms`).
2. Pool: the index scores every document of the other kind that contains any of those terms
   (weighted BM25F on the index's posting sets, `search_index.match.match_terms`) and keeps the best
   `POOL` by text relevance plus the index-side bonuses below (field, district, maturity).
3. Score: the pool is loaded from the database, anything not published (or a demand past its
   date) and the listing's own organisation's listings are dropped, and each candidate is scored as a weighted sum — the weights are `WEIGHTS`,
   overridable per deployment with `app.config["MATCH_WEIGHTS"]` (a dict of the keys to change):

   ================== ======================================================================
   text               × normalised text relevance (0..1: half relative to the best candidate,
                        half the share of key-term weight the candidate contains)
   field_same         same second-level technology field            → 领域一致
   field_top          same top-level field only                      → 同属…领域
   maturity           × fit of the achievement's maturity to the demand type (MATURITY_FIT,
                        0..1; e.g. 成果引进 wants 可以量产/已有样品, 合作开发/难题攻关 accept
                        earlier stages)                               → 成熟度“…”适合…
   price_within       the achievement's price is within the budget   → 报价在预算范围内
   price_negotiable   price or budget is 面议                         → 价格面议 / 预算面议
   price_over         the price is above the budget (0 by default; make it negative to
                        push such candidates down)                    → 报价高于预算
   district           same district                                  → 同在东港区
   ================== ======================================================================

   Shared key terms are always the first reason ("共同关键词：直接还原、氢冶金").

Freshness: nothing is stored. The recommendations are computed when asked for (a listing page
or the API), after applying pending search-outbox rows, so a newly published listing gets — and
appears in — recommendations without any manual step. The cost is bounded by the 12 key terms
(bench/match_bench.py measures it at 10,000 and 100,000 listings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import current_app, url_for
from sqlalchemy import select

from search_index import match as text_match

from .. import search
from ..core.taxonomy import DemandType, ListingStatus, Maturity, PriceKind
from ..extensions import db
from ..listings.models import Achievement, Demand

WEIGHTS: dict[str, float] = {
    "text": 0.60,
    "field_same": 0.20,
    "field_top": 0.10,
    "maturity": 0.10,
    "price_within": 0.08,
    "price_negotiable": 0.04,
    "price_over": 0.0,
    "district": 0.05,
}

# How well an achievement at a maturity stage suits a demand of a type (0..1). Unknown: neutral.
MATURITY_FIT: dict[str, dict[str, float]] = {
    "introduce": {"mass": 1.0, "sample": 0.8, "pilot": 0.4, "lab": 0.1, "research": 0.0},
    "co_develop": {"mass": 0.6, "sample": 0.8, "pilot": 1.0, "lab": 1.0, "research": 0.8},
    "tackle": {"mass": 0.8, "sample": 0.9, "pilot": 1.0, "lab": 0.9, "research": 0.8},
    "consult": dict.fromkeys(("mass", "sample", "pilot", "lab", "research"), 0.5),
    "talent": dict.fromkeys(("mass", "sample", "pilot", "lab", "research"), 0.5),
}
NEUTRAL_FIT = 0.5
GOOD_FIT = 0.8  # from here on the fit is named as a reason
SHARED_TERMS_SHOWN = 5
DEFAULT_LIMIT = 10
MAX_LIMIT = 50
PLURAL = {"achievement": "achievements", "demand": "demands"}
OTHER = {"achievement": "demand", "demand": "achievement"}
MODELS = {"achievement": Achievement, "demand": Demand}


@dataclass
class Match:
    kind: str
    id: int
    title: str
    score: float
    reasons: list[str]
    url: str
    shared_terms: list[str] = field(default_factory=list)
    listing: Any = None

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "score": self.score, "reasons": self.reasons, "url": self.url}


def weights() -> dict[str, float]:
    """WEIGHTS with the deployment's MATCH_WEIGHTS applied (unknown keys are ignored)."""
    out = dict(WEIGHTS)
    for key, value in (current_app.config.get("MATCH_WEIGHTS") or {}).items():
        if key in out:
            out[key] = float(value)
    return out


def maturity_fit(demand_type: str | None, maturity: str | None) -> float:
    return MATURITY_FIT.get(demand_type or "", {}).get(maturity or "", NEUTRAL_FIT)


def recommend(listing: Achievement | Demand, limit: int = DEFAULT_LIMIT) -> list[Match]:
    """Ranked published listings of the other kind for `listing` (best first, at most `limit`)."""
    limit = max(1, min(int(limit), MAX_LIMIT))
    kind = listing.KIND
    target = OTHER[kind]
    w = weights()
    index = search.get_index()
    _catch_up(index)
    doc = search.document_for(listing)
    terms = text_match.document_terms(index, doc)
    if not terms:
        return []
    bonus = _index_bonus(listing, doc, w)
    pool = text_match.match_terms(index, terms, target, limit=max(4 * limit, 40), bonus=bonus)
    if not pool:
        return []
    model = MODELS[target]
    rows = {
        obj.id: obj
        for obj in db.session.scalars(
            select(model).where(model.id.in_([c.id for c in pool]), model.status == ListingStatus.PUBLISHED.value)
        ).unique()
    }
    matches = []
    for cand in pool:
        obj = rows.get(cand.id)
        if obj is None or not search.is_public(obj) or obj.org_id == listing.org_id:  # not one's own
            continue
        score, reasons = _score(listing, obj, cand, w)
        matches.append(
            Match(
                target, obj.id, obj.title, score, reasons, _url(target, obj.id), cand.shared[:SHARED_TERMS_SHOWN], obj
            )
        )
    matches.sort(key=lambda m: (-m.score, -m.id))
    return matches[:limit]


def _catch_up(index) -> None:
    """Apply what other requests or processes committed (bounded), as searches do."""
    try:
        if search.is_behind(index):
            search.catch_up(
                index,
                wait=search.setting("SEARCH_BEFORE_SEARCH_WAIT"),
                max_rows=search.setting("SEARCH_BEFORE_SEARCH_MAX_ROWS"),
            )
    except Exception:  # stale recommendations beat an error page
        current_app.logger.exception("matching: catch-up failed")


def _index_bonus(listing, doc: dict[str, Any], w: dict[str, float]) -> dict[str, dict[str, float]]:
    bonus: dict[str, dict[str, float]] = {}
    if doc.get("field") and doc.get("field") != doc.get("field_top"):
        bonus["field"] = {doc["field"]: w["field_same"] - w["field_top"]}
    if doc.get("field_top"):
        bonus["field_top"] = {doc["field_top"]: w["field_top"]}
    if doc.get("district"):
        bonus["district"] = {doc["district"]: w["district"]}
    if isinstance(listing, Demand) and listing.demand_type in MATURITY_FIT:
        bonus["maturity"] = {m: w["maturity"] * fit for m, fit in MATURITY_FIT[listing.demand_type].items()}
    elif isinstance(listing, Achievement) and listing.maturity:
        bonus["demand_type"] = {dt: w["maturity"] * maturity_fit(dt, listing.maturity) for dt in MATURITY_FIT}
    return bonus


def _score(source, other, cand: text_match.Candidate, w: dict[str, float]) -> tuple[float, list[str]]:
    taxonomy = current_app.extensions["taxonomy"]
    reasons = []
    score = w["text"] * cand.text
    if cand.shared:
        reasons.append("共同关键词：" + "、".join(cand.shared[:SHARED_TERMS_SHOWN]))

    a_field, a_top = _field_pair(taxonomy, source.field_code)
    b_field, b_top = _field_pair(taxonomy, other.field_code)
    if a_field and a_field == b_field:
        score += w["field_same"]
        reasons.append("领域一致")
    elif a_top and a_top == b_top:
        score += w["field_top"]
        top = taxonomy.field(a_top)
        reasons.append(f"同属{top.name}领域" if top else "同属一个一级领域")

    achievement, demand = (source, other) if isinstance(source, Achievement) else (other, source)
    if demand.demand_type in MATURITY_FIT and achievement.maturity:
        fit = maturity_fit(demand.demand_type, achievement.maturity)
        score += w["maturity"] * fit
        if fit >= GOOD_FIT:
            reasons.append(
                f"成熟度“{Maturity.label_of(achievement.maturity)}”适合{DemandType.label_of(demand.demand_type)}"
            )
    else:
        score += w["maturity"] * NEUTRAL_FIT

    price_reason, price_key = price_fit(achievement, demand)
    score += w[price_key]
    reasons.append(price_reason)

    if source.district and source.district == other.district:
        score += w["district"]
        reasons.append(f"同在{taxonomy.district_name(source.district) or source.district}")
    return round(score, 4), reasons


def price_fit(achievement: Achievement, demand: Demand) -> tuple[str, str]:
    """(reason, weight key): within budget, negotiable, or over budget."""
    if achievement.price_kind == PriceKind.NEGOTIABLE.value or achievement.price_low is None:
        return "价格面议", "price_negotiable"
    if demand.budget_kind == PriceKind.NEGOTIABLE.value or demand.budget_low is None:
        return "预算面议", "price_negotiable"
    top: Decimal = demand.budget_high if demand.budget_high is not None else demand.budget_low
    if achievement.price_low <= top:
        return "报价在预算范围内", "price_within"
    return "报价高于预算", "price_over"


def _field_pair(taxonomy, code: str | None) -> tuple[str, str]:
    if not code:
        return "", ""
    known = taxonomy.field(code)
    top = (known.parent or known.code) if known else code[:2]
    return code, top


def _url(kind: str, listing_id: int) -> str:
    try:
        return url_for(f"listings.{kind}_detail", listing_id=listing_id)
    except RuntimeError:  # no request context (commands, tests)
        return f"/{PLURAL[kind]}/{listing_id}"
