"""Build the data files behind the posting suggestions (search_index/suggest.py):

* search_index/dictionary/field_model.json - naive Bayes field model, trained from the real
  51jishu achievements (name + description), their tech_field_l1/l2 mapped onto OUR taxonomy codes
  with marketplace.demo's FIELD_MAP / SUBFIELD_MAP;
* search_index/dictionary/suggest_idf.json - document frequencies for keyword TF-IDF, counted over
  the 51jishu achievements and requirements and the FewCLUE csldcp abstracts (not csl_papers.jsonl,
  which bench/match_quality.py uses to measure the keywords).

    .venv/bin/python bench/train_field_model.py

bench/match_quality.py re-trains the field model on a held-apart split to measure it; the shipped
model is trained on every achievement.
"""

from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"

from marketplace.core.taxonomy import Taxonomy  # noqa: E402
from marketplace.demo import FIELD_MAP, SUBFIELD_MAP  # noqa: E402
from search_index import suggest  # noqa: E402


def read_jsonl(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def field_code(taxonomy: Taxonomy, l1: str, l2: str) -> str | None:
    """Our code for a 51jishu field (same rule as marketplace.demo._field_for, without Flask)."""
    top = FIELD_MAP.get(l1)
    if top is None:
        return None
    wanted = SUBFIELD_MAP.get(l2, l2)
    for child in taxonomy.children(top):
        if child.name == wanted:
            return child.code
    return top


def listing_text(row: dict) -> str:
    return f"{row.get('name', '')}\n{row.get('description', '')}"


def labelled_achievements() -> list[tuple[str, str, str]]:
    """(id, text, code) of every 51jishu achievement with text and a mappable field."""
    taxonomy = Taxonomy.default()
    out = []
    for row in read_jsonl(DATA / "techmarket_51jishu" / "achievements.jsonl"):
        code = field_code(taxonomy, row.get("tech_field_l1", ""), row.get("tech_field_l2", ""))
        text = listing_text(row)
        if code and text.strip():
            out.append((row["id"], text, code))
    return out


def is_held_out(doc_id: str, percent: int = 20) -> bool:
    """The held-apart split: a stable hash of the id, so every run splits the same way."""
    return zlib.crc32(doc_id.encode()) % 100 < percent


def idf_texts() -> list[str]:
    texts = [listing_text(r) for r in read_jsonl(DATA / "techmarket_51jishu" / "achievements.jsonl")]
    texts += [listing_text(r) for r in read_jsonl(DATA / "techmarket_51jishu" / "requirements.jsonl")]
    texts += [r["abstract"] for r in read_jsonl(DATA / "csl" / "fewclue_csldcp.jsonl") if r.get("abstract")]
    return [t for t in texts if t.strip()]


def main() -> None:
    docs = labelled_achievements()
    classifier = suggest.FieldClassifier.train([(text, code) for _id, text, code in docs])
    classifier.save(suggest.FIELD_MODEL_FILE)
    idf = suggest.IdfTable.build(idf_texts(), min_df=2)
    suggest.IDF_FILE.write_text(json.dumps(idf.to_json(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
    for path in (suggest.FIELD_MODEL_FILE, suggest.IDF_FILE):
        print(f"{path.relative_to(ROOT)}: {path.stat().st_size / 1024:.0f} KiB")
    print(f"field model: {len(docs)} achievements, vocabulary {classifier.top.vocab_size}")
    print(f"idf: {idf.n_docs} documents, {len(idf.df)} terms")


if __name__ == "__main__":
    main()
