"""Relevance benchmark: CSL papers (title + abstract only, author keywords withheld) searched with
author keywords as queries; relevant = the papers whose authors tagged that keyword
(../shared/data/csl/csl_keyword_qrels.tsv). Prints MRR@10, nDCG@10, Recall@10 and P@10.

    .venv/bin/python bench/search_quality.py               # the shipped configuration
    .venv/bin/python bench/search_quality.py --sweep       # + ranking variants (query-time knobs)
    .venv/bin/python bench/search_quality.py --no-domain-dict   # without the shipped dictionary

Generic keywords are filtered as the data README suggests: keep len(keyword) >= 3 or n_papers <= 20.
The domain dictionary is grown without csl_papers.jsonl (see search_index/dictionary/grow.py).
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CSL = ROOT.parent / "shared" / "data" / "csl"


def load():
    papers = [json.loads(line) for line in (CSL / "csl_papers.jsonl").open(encoding="utf-8")]
    qrels = []
    for line in (CSL / "csl_keyword_qrels.tsv").open(encoding="utf-8").readlines()[1:]:
        kw, n, ids = line.rstrip("\n").split("\t")
        if len(kw) >= 3 or int(n) <= 20:
            qrels.append((kw, set(ids.split(","))))
    return papers, qrels


def evaluate(ix, qrels, key_to_id) -> dict[str, float]:
    from search_index import SearchQuery

    mrr, ndcg, recall, prec, lat = [], [], [], [], []
    for kw, rel in qrels:
        t = time.perf_counter()
        r = ix.search(SearchQuery(text=kw, per_page=10, facets=(), highlight=False))
        lat.append((time.perf_counter() - t) * 1000)
        ranked = [key_to_id[h.key] for h in r.hits]
        rr = next((1 / (i + 1) for i, pid in enumerate(ranked) if pid in rel), 0.0)
        dcg = sum(1 / math.log2(i + 2) for i, pid in enumerate(ranked) if pid in rel)
        idcg = sum(1 / math.log2(i + 2) for i in range(min(len(rel), 10)))
        hits = sum(1 for pid in ranked if pid in rel)
        mrr.append(rr)
        ndcg.append(dcg / idcg)
        recall.append(hits / len(rel))
        prec.append(hits / 10)
    return {
        "MRR@10": statistics.mean(mrr),
        "nDCG@10": statistics.mean(ndcg),
        "Recall@10": statistics.mean(recall),
        "P@10": statistics.mean(prec),
        "p50 ms": statistics.median(lat),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sweep", action="store_true")
    ap.add_argument("--no-domain-dict", action="store_true")
    args = ap.parse_args()

    from search_index import SearchIndex, analysis
    from search_index import index as engine

    if args.no_domain_dict:
        empty = Path(tempfile.mkdtemp()) / "empty.txt"
        empty.write_text("", encoding="utf-8")
        analysis.DOMAIN_DICTIONARY = empty

    papers, qrels = load()
    docs = [
        {"key": f"achievement:{i}", "kind": "achievement", "id": i, "title": p["title"], "body": p["abstract"]}
        for i, p in enumerate(papers, 1)
    ]
    key_to_id = {d["key"]: p["id"] for d, p in zip(docs, papers, strict=True)}
    path = Path(tempfile.mkdtemp(prefix="search-quality-")) / "index"
    t = time.perf_counter()
    SearchIndex(path).rebuild(iter(docs), 0, total=len(docs))
    print(
        f"# search_quality: {len(docs)} CSL papers indexed (title + abstract) in {time.perf_counter() - t:.1f} s; "
        f"{len(qrels)} keyword queries (len>=3 or n<=20); domain dictionary: "
        f"{'off' if args.no_domain_dict else 'on'} ({analysis.dictionary_size()} words)"
    )

    def run(label: str, **knobs) -> None:
        saved = {k: getattr(engine, k) for k in knobs if k != "FIELD_BOOSTS"}
        saved_boosts = dict(engine.FIELD_BOOSTS)
        for k, v in knobs.items():
            if k == "FIELD_BOOSTS":
                engine.FIELD_BOOSTS.update(v)
            else:
                setattr(engine, k, v)
        try:
            m = evaluate(SearchIndex(path), qrels, key_to_id)
        finally:
            for k, v in saved.items():
                setattr(engine, k, v)
            engine.FIELD_BOOSTS.clear()
            engine.FIELD_BOOSTS.update(saved_boosts)
        print(f"| {label} | " + " | ".join(f"{v:.3f}" if k != "p50 ms" else f"{v:.1f}" for k, v in m.items()) + " |")

    print("| configuration | MRR@10 | nDCG@10 | Recall@10 | P@10 | p50 ms |")
    print("|---|---|---|---|---|---|")
    try:
        run("shipped")
        if args.sweep:
            sweep(run)
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


def sweep(run) -> None:
    """Query-time ranking variants (no reindex needed): the evidence for the shipped knobs."""
    run("no verbatim bonus", TITLE_VERBATIM_BONUS=0.0, TEXT_VERBATIM_BONUS=0.0)
    run("verbatim bonus x2", TITLE_VERBATIM_BONUS=1.0, TEXT_VERBATIM_BONUS=0.4)
    run("text verbatim bonus 0.5", TEXT_VERBATIM_BONUS=0.5)
    run("title boost 1", FIELD_BOOSTS={"title": 1.0})
    run("title boost 2", FIELD_BOOSTS={"title": 2.0})
    run("title boost 5", FIELD_BOOSTS={"title": 5.0})
    run("BM25 b=0.5", B=0.5)
    run("BM25 b=0.9", B=0.9)
    run("BM25 k1=0.9", K1=0.9)
    run("BM25 k1=1.6", K1=1.6)
    run("pieces weight 0", PIECES_WEIGHT=0.0)
    run("pieces weight 1", PIECES_WEIGHT=1.0)


if __name__ == "__main__":
    main()
