"""The contract between the application and the search library (implementation in progress)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Price bands used as a facet, in yuan: (code, Chinese label, low inclusive, high exclusive).
PRICE_BANDS: tuple[tuple[str, str, float | None, float | None], ...] = (
    ("negotiable", "面议", None, None),
    ("lt10w", "10万元以下", 0, 100_000),
    ("10w-50w", "10–50万元", 100_000, 500_000),
    ("50w-100w", "50–100万元", 500_000, 1_000_000),
    ("100w-500w", "100–500万元", 1_000_000, 5_000_000),
    ("gt500w", "500万元以上", 5_000_000, None),
)

FACETS = ("field_top", "field", "district", "maturity", "transfer_modes", "ip_type", "price_band",
          "demand_type", "org_type")


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


class SearchIndex:
    """One index directory. Many readers, one writer at a time across processes (an inter-process
    lock); `apply` never raises LockError to the caller, it waits (bounded) for the lock."""

    def __init__(self, path: str | Path, *, user_words: Iterable[str] = ()):
        raise NotImplementedError

    def apply(self, upserts: list[dict[str, Any]], deletes: list[str], last_applied_id: int) -> None:
        """Add or replace documents and delete keys in ONE commit that also records
        `last_applied_id` (the outbox position) inside the index."""
        raise NotImplementedError

    def last_applied_id(self) -> int:
        raise NotImplementedError

    def rebuild(self, docs: Iterable[dict[str, Any]], last_applied_id: int, *, total: int | None = None,
                progress: Callable[[int], None] | None = None) -> None:
        """Build a complete new index in a sibling directory and swap it in atomically; searches
        keep working on the old one meanwhile."""
        raise NotImplementedError

    def search(self, query: SearchQuery) -> SearchResult:
        """Never raises for user input: bad syntax falls back to plain terms."""
        raise NotImplementedError

    def versions(self, kind: str | None = None) -> dict[str, str]:
        """key -> version of every document (for drift checks)."""
        raise NotImplementedError

    def stats(self) -> dict[str, Any]:
        """Document counts per kind, size on disk, segments, last applied id, dictionary words."""
        raise NotImplementedError
