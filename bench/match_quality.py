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

    .venv/bin/python bench/match_quality.py
"""

from __future__ import annotations

import statistics
import sys
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


def main() -> None:
    suggest.idf_table()
    analysis.segmenter()
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


if __name__ == "__main__":
    main()
