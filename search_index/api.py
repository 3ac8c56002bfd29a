"""The contract between the application and the search library."""

from __future__ import annotations

from dataclasses import dataclass, field

# Price bands used as a facet, in yuan: (code, Chinese label, low inclusive, high exclusive).
PRICE_BANDS: tuple[tuple[str, str, float | None, float | None], ...] = (
    ("negotiable", "面议", None, None),
    ("lt10w", "10万元以下", 0, 100_000),
    ("10w-50w", "10–50万元", 100_000, 500_000),
    ("50w-100w", "50–100万元", 500_000, 1_000_000),
    ("100w-500w", "100–500万元", 1_000_000, 5_000_000),
    ("gt500w", "500万元以上", 5_000_000, None),
)

FACETS = (
    "field_top",
    "field",
    "district",
    "maturity",
    "transfer_modes",
    "ip_type",
    "price_band",
    "demand_type",
    "org_type",
    "contract_type",  # kind "contract" only (ContractType code)
    "contract_group",  # kind "contract" only (its 大类: dev / transfer / license / ...)
)


@dataclass
class SearchQuery:
    text: str = ""
    kind: str = "achievement"  # achievement | demand | organization
    filters: dict[str, str] = field(default_factory=dict)  # facet name -> code, e.g. {"field_top": "01"}
    sort: str = "relevance"  # relevance | newest | price_asc | price_desc
    page: int = 1
    per_page: int = 20
    facets: tuple[str, ...] = FACETS  # facets to count (those that apply to the kind)
    highlight: bool = True
    # "did you mean" words and drop-a-term options; a query run only for its count (the search
    # page's tab counts) turns them off: for a word found nowhere they cost a lexicon lookup
    suggest: bool = True


@dataclass
class Hit:
    key: str
    kind: str
    id: int
    score: float
    title: str
    title_highlight: str  # HTML-safe, matches wrapped in <mark>
    highlight: str  # HTML-safe snippet of the body, matches wrapped in <mark>


@dataclass
class SearchResult:
    total: int
    page: int
    per_page: int
    hits: list[Hit]
    facets: dict[str, dict[str, int]]  # facet -> code -> count (within the query and the other filters)
    suggestions: list[str] = field(default_factory=list)  # "did you mean" / related terms
    took_ms: float = 0.0


# The implementation lives in index.py (Whoosh is an implementation detail of this package).
from .index import SearchIndex  # noqa: E402

__all__ = ["FACETS", "PRICE_BANDS", "Hit", "SearchIndex", "SearchQuery", "SearchResult"]
