"""Recommendation benchmark: latency of the recommendations for one listing. Prints figures only.

    .venv/bin/python bench/match_bench.py             # N = 10,000
    .venv/bin/python bench/match_bench.py --n 100000  # the issue's target size (index build: minutes)

Corpus: bench/search_bench.py's builder (real 51jishu and CSL texts, recombined beyond ~9,300).
For `--listings` listings drawn at random (demands → achievements, achievements → demands), one
recommendation = key terms of the listing (12, TF-IDF on the index's document frequencies) +
the weighted-terms pool (40 candidates, with field / district / maturity bonuses) +
rescoring the pool with marketplace.matching's rules on the stored facets. Not included: the one
primary-key `IN (…40 ids)` query the service makes to drop unpublished rows (a few ms).

Reported: the first pass over distinct listings (per-token postings not yet cached — the realistic
case for a listing page) and a second pass over the same listings (cached).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from search_bench import make_docs, pct  # noqa: E402

POOL = 40


def rescore(source: dict, cands, weights: dict, fit_table: dict) -> list:
    """marketplace.matching._score on index facets (no database), best first."""
    out = []
    for c in cands:
        s = weights["text"] * c.text
        if source.get("field") and source["field"] == c.facets.get("field"):
            s += weights["field_same"]
        elif source.get("field_top") and source["field_top"] == c.facets.get("field_top"):
            s += weights["field_top"]
        demand_type = source.get("demand_type") or c.facets.get("demand_type")
        maturity = source.get("maturity") or c.facets.get("maturity")
        s += weights["maturity"] * fit_table.get(demand_type or "", {}).get(maturity or "", 0.5)
        if source.get("price") is None or c.price is None:
            s += weights["price_negotiable"]
        elif source["kind"] == "demand" and c.price <= source["price"]:
            s += weights["price_within"]
        if source.get("district") and source["district"] == c.facets.get("district"):
            s += weights["district"]
        out.append((s, c.id, c.shared[:5]))
    out.sort(key=lambda x: (-x[0], -x[1]))
    return out[:10]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--listings", type=int, default=200)
    ap.add_argument("--procs", type=int, default=None)
    ap.add_argument("--index", help="re-use (or keep) the index in this directory")
    args = ap.parse_args()

    from marketplace.matching import MATURITY_FIT, WEIGHTS
    from search_index import SearchIndex, analysis
    from search_index import match as text_match

    print(f"# match_bench N={args.n:,} ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    docs = make_docs(args.n)
    # the demand-type codes of the app (search_bench uses its own placeholders)
    rnd = random.Random(3)
    for d in docs:
        if d["kind"] == "demand":
            d["demand_type"] = rnd.choice(list(MATURITY_FIT))
    tmp = Path(args.index) if args.index else Path(tempfile.mkdtemp(prefix="match-bench-")) / "index"
    ix = SearchIndex(tmp)
    analysis.segmenter()
    if not ix.versions():
        t = time.perf_counter()
        ix.rebuild(iter(docs), 1, total=len(docs), procs=args.procs)
        print(f"index build {time.perf_counter() - t:.1f} s")
    kinds = {k: sum(1 for d in docs if d["kind"] == k) for k in ("achievement", "demand")}
    print(f"corpus: {len(docs):,} documents ({kinds['achievement']:,} achievements, {kinds['demand']:,} demands)")

    sample = random.Random(5).sample(docs, min(args.listings, len(docs)))
    text_match.key_terms(ix, title="预热", body="预热")  # opens the searcher

    def one(src: dict):
        target = "demand" if src["kind"] == "achievement" else "achievement"
        t0 = time.perf_counter()
        terms = text_match.document_terms(ix, src)
        t1 = time.perf_counter()
        bonus = {
            "field": {src.get("field") or "-": WEIGHTS["field_same"] - WEIGHTS["field_top"]},
            "field_top": {src.get("field_top") or "-": WEIGHTS["field_top"]},
            "district": {src["district"]: WEIGHTS["district"]},
        }
        cands = text_match.match_terms(ix, terms, target, limit=POOL, bonus=bonus)
        t2 = time.perf_counter()
        top = rescore(src, cands, WEIGHTS, MATURITY_FIT)
        t3 = time.perf_counter()
        return (t3 - t0) * 1000, (t1 - t0) * 1000, (t2 - t1) * 1000, len(terms), len(top)

    for label in ("first pass (uncached postings)", "second pass (cached)"):
        rows = [one(src) for src in sample]
        total = [r[0] for r in rows]
        print(
            f"{label}: {len(rows)} listings; total p50 {pct(total, 50):.1f} ms, p95 {pct(total, 95):.1f} ms, "
            f"max {max(total):.1f} ms | key terms p50 {pct([r[1] for r in rows], 50):.1f} ms | "
            f"pool p50 {pct([r[2] for r in rows], 50):.1f} / p95 {pct([r[2] for r in rows], 95):.1f} ms | "
            f"terms/listing {sum(r[3] for r in rows) / len(rows):.1f}, "
            f"with ≥1 recommendation {sum(1 for r in rows if r[4]) / len(rows):.0%}"
        )
    example = next((s for s in sample if s["kind"] == "demand"), sample[0])
    terms = text_match.document_terms(ix, example)
    print(f"example: {example['title'][:40]} → key terms {', '.join(t for t, _ in terms)}")
    if not args.index:
        shutil.rmtree(tmp.parent, ignore_errors=True)


if __name__ == "__main__":
    main()
