"""Matching support: key terms of a listing's text, and a weighted-terms query over the index.

A whole paragraph used as a query is slow and noisy (every common word is a clause). Instead:

* `key_terms(index, title=..., keywords=..., body=...)` cuts the text with the query-side segmenter
  (precise cut, no HMM: every token is guaranteed to be an index term of a text containing it),
  drops stop words, single characters and pure numbers, and ranks the rest by TF-IDF with the
  index's own document frequencies (title and keyword occurrences count double). Terms absent
  from the index (they cannot match) and terms in more than `MAX_DF_RATIO` of the documents
  (they do not discriminate) are left out; the top `limit` (12) are kept.
* `match_terms(index, terms, kind)` scores the documents of one kind that contain any of the
  terms: the BM25F contribution of each term (the same per-token postings the search uses, cached
  per index generation) times the term's weight, summed. The text score is normalised to 0..1 as
  the mean of (raw / best raw) and (the weight of the terms a document shares / all the weight).
  Optional per-facet bonuses (e.g. the same technology field) pick the pool of `limit`
  candidates; each comes back with its shared terms, most important first, and its facet codes.

Everything runs on the posting sets in `index.py`'s snapshot (under its lock), so it costs a few
dictionary passes per term rather than a query parse and a Whoosh matcher per clause.
"""

from __future__ import annotations

import heapq
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from whoosh.reading import ReaderClosed

from . import analysis
from .index import SearchIndex, _codes, _numbers
from .schema import SINGLE_FACETS, TEXT_FIELDS

KEY_TERMS = 12
MAX_DF_RATIO = 0.05  # a term in more than 5% of the documents does not discriminate (with N ≥ 200)
MIN_DOCS_FOR_DF_CUT = 200
FIELD_TF = {"title": 2.0, "keywords": 2.0, "body": 1.0}
DF_FIELDS = tuple(f for f in TEXT_FIELDS if f in FIELD_TF)  # not "org": organisation names
MAX_LOOKUPS = 60  # distinct terms of a listing whose document frequency is looked up
DF_CACHE_TERMS = 200_000
MAX_TEXT_CHARS = 20_000  # huge texts: the first 20k characters are plenty for 12 terms
FACET_COLUMNS = ("field", "field_top", "district", "maturity", "demand_type", "price_band")
_NUMBER = re.compile(r"^[\d.]+$|\d{6,}")  # numbers, patent and phone numbers


@dataclass
class Candidate:
    key: str
    kind: str
    id: int
    text: float  # normalised text relevance, 0..1
    raw: float  # summed weighted BM25F
    shared: list[str]  # the key terms this document contains, most important first
    facets: dict[str, str] = field(default_factory=dict)  # field, field_top, district, maturity, ...
    price: float | None = None
    pool_score: float = 0.0


def _snapshot_call(index: SearchIndex, fn):
    """fn(snapshot) under the snapshot lock; None when there is no index yet."""
    index._ensure_words()
    for attempt in range(2):
        snap = index._snapshot()
        if snap is None:
            return None
        try:
            with snap.lock:
                return fn(snap)
        except (OSError, ReaderClosed):
            if attempt:
                raise
            index._snap = None  # a generation removed under us: reopen once
    return None


def _tokens(text: str) -> list[str]:
    stop = analysis.stopwords()
    out = []
    for tok in analysis.query_tokens(text[:MAX_TEXT_CHARS]):
        if len(tok) < 2 or tok in stop or _NUMBER.search(tok) or not tok.strip():
            continue
        out.append(tok)
    return out


def _doc_frequency(snap, tok: str) -> int:
    """The largest document frequency of a term over the scored text fields (cached per snapshot)."""
    cache = snap.__dict__.get("_match_df")
    if cache is None or len(cache) > DF_CACHE_TERMS:
        cache = snap.__dict__["_match_df"] = {}
    df = cache.get(tok)
    if df is None:
        tbytes = tok.encode("utf-8")
        reader = snap.reader
        df = cache[tok] = max(reader.doc_frequency(f, tbytes) for f in DF_FIELDS)
    return df


def key_terms(
    index: SearchIndex,
    *,
    title: str = "",
    keywords: Iterable[str] = (),
    body: str = "",
    limit: int = KEY_TERMS,
) -> list[tuple[str, float]]:
    """The `limit` most characteristic terms of a text as (term, weight), weight normalised so the
    first is 1.0. Empty when nothing in the text is in the index."""
    tf: Counter[str] = Counter()
    for name, text in (("title", title or ""), ("keywords", " ".join(keywords or ())), ("body", body or "")):
        for tok in _tokens(text):
            tf[tok] += FIELD_TF[name]
    if not tf:
        return []

    # document frequencies cost a lookup per segment per field: look up the likeliest terms only
    # (most frequent, then longest), and remember them per index generation
    candidates = heapq.nlargest(MAX_LOOKUPS, tf.items(), key=lambda x: (x[1], len(x[0]), x[0]))

    def run(snap) -> list[tuple[str, float]]:
        n = max(len(snap.live), 1)
        scored = []
        for tok, count in candidates:
            df = _doc_frequency(snap, tok)
            if not df:
                continue
            if n >= MIN_DOCS_FOR_DF_CUT and df > MAX_DF_RATIO * n:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            scored.append((tok, (1 + math.log(count)) * idf))
        top = heapq.nlargest(limit, scored, key=lambda x: (x[1], len(x[0]), x[0]))
        if not top:
            return []
        best = top[0][1] or 1.0
        return [(t, round(w / best, 4)) for t, w in top]

    return _snapshot_call(index, run) or []


def match_terms(
    index: SearchIndex,
    terms: list[tuple[str, float]],
    kind: str,
    *,
    limit: int = 100,
    bonus: Mapping[str, Mapping[str, float]] | None = None,
    exclude_keys: Iterable[str] = (),
) -> list[Candidate]:
    """Documents of `kind` sharing at least one of the weighted `terms`, best `limit` first.

    `bonus` maps a facet column (field, field_top, district, maturity, demand_type, price_band) to
    code -> amount added to the normalised text score when choosing the pool (the caller rescores
    the pool with its own rules)."""
    terms = [(t, float(w)) for t, w in terms if t and w > 0]
    if not terms:
        return []
    bonus = {f: dict(codes) for f, codes in (bonus or {}).items() if f in FACET_COLUMNS and codes}
    excluded = set(exclude_keys)

    def run(snap) -> list[Candidate]:
        kind_docs = snap.kind_docs(kind)
        raw: dict[int, float] = {}
        covered: dict[int, float] = {}
        total_weight = sum(w for _, w in terms)
        per_term = []
        for t, w in terms:
            docs, imp = snap.token(t)
            per_term.append((t, w, docs, imp))
            rget, cget = raw.get, covered.get
            for d in docs:
                if d not in kind_docs:
                    continue
                raw[d] = rget(d, 0.0) + w * imp[d]
                covered[d] = cget(d, 0.0) + w
        if not raw:
            return []
        top_raw = max(raw.values()) or 1.0
        columns = {f: snap.global_list("codes:" + f, lambda r, f=f: _codes(r, f)) for f in bonus}
        pool: dict[int, float] = {}
        for d, r in raw.items():
            s = 0.5 * r / top_raw + 0.5 * covered[d] / total_weight
            for f, codes in bonus.items():
                s += codes.get(columns[f][d], 0.0)
            pool[d] = s
        best = heapq.nlargest(limit + len(excluded), pool, key=lambda d: (pool[d], -d))
        all_columns = {f: snap.global_list("codes:" + f, lambda r, f=f: _codes(r, f)) for f in FACET_COLUMNS}
        price = snap.global_list("num:price", lambda r: _numbers(r, "price"))
        out = []
        for d in best:
            sf = snap.stored(d)
            key = sf.get("key", "")
            if key in excluded:
                continue
            shared = [t for t, w, docs, imp in sorted(per_term, key=lambda x: -x[1] * x[3].get(d, 0.0)) if d in docs]
            out.append(
                Candidate(
                    key=key,
                    kind=sf.get("kind", ""),
                    id=int(sf.get("id") or 0),
                    text=round(0.5 * raw[d] / top_raw + 0.5 * covered[d] / total_weight, 4),
                    raw=round(raw[d], 4),
                    shared=shared,
                    facets={f: all_columns[f][d] for f in FACET_COLUMNS},
                    price=price[d],
                    pool_score=round(pool[d], 4),
                )
            )
            if len(out) >= limit:
                break
        return out

    return _snapshot_call(index, run) or []


def document_terms(index: SearchIndex, doc: Mapping[str, Any], limit: int = KEY_TERMS) -> list[tuple[str, float]]:
    """key_terms of a search document (the dict `marketplace.search.document_for` builds)."""
    return key_terms(
        index,
        title=str(doc.get("title") or ""),
        keywords=[str(k) for k in doc.get("keywords") or ()],
        body=str(doc.get("body") or ""),
        limit=limit,
    )


def score_within(
    index: SearchIndex,
    terms: list[tuple[str, float]],
    kind: str,
    filters: Mapping[str, str],
    *,
    limit: int = 50,
    exclude_keys: Iterable[str] = (),
) -> list[tuple[int, float, list[str]]]:
    """Every document of `kind` whose facet codes equal `filters` (field, field_top, ip_type,
    contract_type, ...), as (id, normalised text score 0..1, shared terms), best `limit` first.

    Unlike `match_terms`, documents sharing no term are kept (score 0, newest first): the caller
    asked for *these attributes*, the text only orders them. The score is the same blend as
    `match_terms` (best raw BM25F within the filtered set, weight coverage)."""
    terms = [(t, float(w)) for t, w in terms if t and w > 0]
    excluded = set(exclude_keys)

    def run(snap) -> list[tuple[int, float, list[str]]]:
        docs = set(snap.kind_docs(kind))
        for name, code in filters.items():
            if name not in SINGLE_FACETS or code in (None, ""):
                continue
            docs &= snap.term_docs(name, str(code))
            if not docs:
                return []
        raw: dict[int, float] = {}
        covered: dict[int, float] = {}
        shared: dict[int, list[tuple[float, str]]] = {}
        for t, w in terms:
            tdocs, imp = snap.token(t)
            for d in tdocs & docs if len(tdocs) < len(docs) else (d for d in docs if d in tdocs):
                raw[d] = raw.get(d, 0.0) + w * imp[d]
                covered[d] = covered.get(d, 0.0) + w
                shared.setdefault(d, []).append((w * imp[d], t))
        top_raw = max(raw.values(), default=0.0) or 1.0
        total_weight = sum(w for _, w in terms) or 1.0
        score = {d: 0.5 * r / top_raw + 0.5 * covered[d] / total_weight for d, r in raw.items()}
        published = snap.global_list("num:published_at", lambda r: _numbers(r, "published_at"))
        best = heapq.nlargest(limit + len(excluded), docs, key=lambda d: (score.get(d, 0.0), published[d] or -1e18, -d))
        out = []
        for d in best:
            sf = snap.stored(d)
            if sf.get("key", "") in excluded:
                continue
            words = [t for _, t in sorted(shared.get(d, []), reverse=True)]
            out.append((int(sf.get("id") or 0), round(score.get(d, 0.0), 4), words))
            if len(out) >= limit:
                break
        return out

    return _snapshot_call(index, run) or []
