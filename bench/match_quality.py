"""Quality of the posting suggestions (search_index/suggest.py), on the real data in ../shared/data/.

* Field suggestion: the 51jishu achievements (name + description), truth = tech_field_l1 mapped
  onto our top-level codes (marketplace.demo.FIELD_MAP). The model is re-trained here on 80 % of
  them and measured on the other 20 % (a stable hash of the id decides, see
  bench/train_field_model.is_held_out): top-1 and top-3 accuracy at the top level, next to the
  majority-class baseline.
* Keyword suggestion: csl_papers.jsonl (title + abstract), truth = the authors' keywords;
  precision@5 and recall@5 of the first five suggested keywords (exact match after
  normalisation), and a lenient variant that also counts a suggestion contained in an author
  keyword or containing one. The IDF table is not built from csl_papers.jsonl.
* Recommendation retrieval: the text stage of the recommendations (key terms of the source
  listing → weighted-terms pool, search_index.match, exactly as marketplace.matching calls it),
  with CSL papers standing in for listings. Every paper is indexed as an achievement from its
  title and abstract only (author keywords withheld); 600 papers (seeded sample) that carry at
  least one specific author keyword (2–20 papers share it, csl_keyword_qrels.tsv) are used as
  the source listing in turn, and the relevant candidates are the other papers sharing one of
  its specific author keywords. Reported: hit@10 (at least one relevant among the first ten),
  MRR@10, P@5, and how many of the first five are of the source's discipline (学科) — next to
  the same figures for ten random papers of the source's own discipline (what "same field" alone
  would give).

    .venv/bin/python bench/match_quality.py
    .venv/bin/python bench/match_quality.py --only retrieval
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.train_field_model import DATA, is_held_out, labelled_achievements, read_jsonl  # noqa: E402
from search_index import analysis, suggest  # noqa: E402

K = 5


def field_accuracy() -> dict[str, float]:
    docs = labelled_achievements()
    train = [(text, code) for doc_id, text, code in docs if not is_held_out(doc_id)]
    test = [(text, code[:2]) for doc_id, text, code in docs if is_held_out(doc_id)]
    classifier = suggest.FieldClassifier.train(train)
    top1 = top3 = sub_ok = sub_n = 0
    for (text, truth), (_id, _t, full) in zip(test, [d for d in docs if is_held_out(d[0])], strict=True):
        ranked = [code for code, _p in classifier.top.scores(text)[:3]]
        top1 += ranked[0] == truth
        top3 += truth in ranked
        if len(full) > 2:
            found = classifier.suggest(text)
            if found and len(found.code) > 2:
                sub_n += 1
                sub_ok += found.code == full
    majority = Counter(code for _t, code in test).most_common(1)[0][1]
    return {
        "train": len(train),
        "test": len(test),
        "top1": top1 / len(test),
        "top3": top3 / len(test),
        "majority": majority / len(test),
        "sub_suggested": sub_n,
        "sub_precision": sub_ok / sub_n if sub_n else 0.0,
    }


def keyword_overlap() -> dict[str, float]:
    papers = [p for p in read_jsonl(DATA / "csl" / "csl_papers.jsonl") if p.get("keywords")]
    precision, recall, lenient_p, lenient_r = [], [], [], []
    started = time.perf_counter()
    for paper in papers:
        truth = {analysis.normalize(k).strip() for k in paper["keywords"] if k.strip()}
        got = suggest.suggest_keywords(paper.get("abstract", ""), title=paper.get("title", ""), limit=K)
        hits = [g for g in got if g in truth]
        precision.append(len(hits) / K)
        recall.append(len(set(hits)) / len(truth))
        loose = [g for g in got if any(g in t or t in g for t in truth)]
        lenient_p.append(len(loose) / K)
        lenient_r.append(sum(any(g in t or t in g for g in got) for t in truth) / len(truth))
    elapsed = time.perf_counter() - started
    return {
        "papers": len(papers),
        "p5": statistics.mean(precision),
        "r5": statistics.mean(recall),
        "lenient_p5": statistics.mean(lenient_p),
        "lenient_r5": statistics.mean(lenient_r),
        "ms_per_text": 1000 * elapsed / len(papers),
    }


RETRIEVAL_SOURCES = 600


def recommendation_retrieval(n_sources: int = RETRIEVAL_SOURCES) -> dict[str, float]:
    from search_index import SearchIndex
    from search_index import match as text_match

    papers = read_jsonl(DATA / "csl" / "csl_papers.jsonl")
    by_id = {p["id"]: p for p in papers}
    specific: dict[str, set[str]] = {}  # paper id -> ids of the other papers sharing a specific keyword
    for line in (DATA / "csl" / "csl_keyword_qrels.tsv").open(encoding="utf-8").readlines()[1:]:
        keyword, n, ids = line.rstrip("\n").split("\t")
        if not 2 <= int(n) <= 20:
            continue
        group = set(ids.split(","))
        for pid in group:
            specific.setdefault(pid, set()).update(group - {pid})
    docs = [
        {"key": f"achievement:{i}", "kind": "achievement", "id": i, "title": p["title"], "body": p["abstract"]}
        for i, p in enumerate(papers, 1)
    ]
    key_to_pid = {d["key"]: p["id"] for d, p in zip(docs, papers, strict=True)}
    pid_to_key = {v: k for k, v in key_to_pid.items()}
    path = Path(tempfile.mkdtemp(prefix="match-quality-")) / "index"
    try:
        index = SearchIndex(path)
        index.rebuild(iter(docs), 0, total=len(docs))
        by_discipline: dict[str, list[str]] = {}
        for p in papers:
            by_discipline.setdefault(p["discipline"], []).append(p["id"])
        rnd = random.Random(11)
        sources = rnd.sample(sorted(pid for pid in specific if pid in by_id), min(n_sources, len(specific)))
        got = {"hit10": [], "mrr10": [], "p5": [], "discipline5": [], "ms": []}
        base = {"hit10": [], "mrr10": [], "p5": [], "discipline5": []}

        def score(into: dict, ranked: list[str], relevant: set[str], discipline: str) -> None:
            into["hit10"].append(any(pid in relevant for pid in ranked[:10]))
            into["mrr10"].append(next((1 / (i + 1) for i, pid in enumerate(ranked[:10]) if pid in relevant), 0.0))
            into["p5"].append(sum(pid in relevant for pid in ranked[:5]) / 5)
            into["discipline5"].append(sum(by_id[pid]["discipline"] == discipline for pid in ranked[:5]) / 5)

        for pid in sources:
            paper, relevant = by_id[pid], specific[pid]
            started = time.perf_counter()
            terms = text_match.key_terms(index, title=paper["title"], body=paper["abstract"])
            pool = text_match.match_terms(index, terms, "achievement", limit=10, exclude_keys=[pid_to_key[pid]])
            got["ms"].append(1000 * (time.perf_counter() - started))
            score(got, [key_to_pid[c.key] for c in pool], relevant, paper["discipline"])
            same = [other for other in by_discipline[paper["discipline"]] if other != pid]
            score(base, rnd.sample(same, min(10, len(same))), relevant, paper["discipline"])
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    out: dict[str, float] = {"sources": len(sources), "papers": len(papers)}
    out.update({k: statistics.mean(v) for k, v in got.items() if k != "ms"})
    out.update({f"base_{k}": statistics.mean(v) for k, v in base.items()})
    out["p50_ms"] = statistics.median(got["ms"])
    return out


def print_retrieval(r: dict[str, float]) -> None:
    print(
        f"Recommendation retrieval - {int(r['sources'])} CSL papers as source listings against {int(r['papers'])} "
        "indexed (title + abstract); relevant = shares a specific author keyword"
    )
    print("  | ranking | hit@10 | MRR@10 | P@5 | same discipline in top 5 |")
    print("  |---|---|---|---|---|")
    print(
        f"  | key terms → weighted pool (shipped) | {r['hit10']:.1%} | {r['mrr10']:.3f} | {r['p5']:.3f} "
        f"| {r['discipline5']:.1%} |"
    )
    print(
        f"  | 10 random papers of the same discipline | {r['base_hit10']:.1%} | {r['base_mrr10']:.3f} "
        f"| {r['base_p5']:.3f} | {r['base_discipline5']:.1%} |"
    )
    print(f"  key terms + pool p50 {r['p50_ms']:.1f} ms per source listing")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=("field", "keywords", "retrieval"))
    args = parser.parse_args()
    suggest.idf_table()
    analysis.segmenter()
    if args.only == "retrieval":
        print_retrieval(recommendation_retrieval())
        return
    f = field_accuracy()
    print(f"Field suggestion - 51jishu achievements, held-apart split ({f['train']} train / {f['test']} test)")
    print(f"  top-level top-1 accuracy  {f['top1']:.1%}")
    print(f"  top-level top-3 accuracy  {f['top3']:.1%}")
    print(f"  majority-class baseline   {f['majority']:.1%}")
    print(
        f"  second level suggested for {f['sub_suggested']} test listings "
        f"with a known second level; {f['sub_precision']:.1%} of them correct"
    )
    k = keyword_overlap()
    print(f"Keyword suggestion - CSL papers with author keywords ({k['papers']}), first {K} suggestions")
    print(f"  precision@{K} {k['p5']:.1%}   recall@{K} {k['r5']:.1%}   (exact match)")
    print(
        f"  precision@{K} {k['lenient_p5']:.1%}   recall@{K} {k['lenient_r5']:.1%}   (lenient: one contains the other)"
    )
    print(f"  {k['ms_per_text']:.2f} ms per paper")
    print_retrieval(recommendation_retrieval())


if __name__ == "__main__":
    main()
