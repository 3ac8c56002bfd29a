"""Suggestions while a listing is written: keywords (TF-IDF) and a technology field (naive Bayes).

Both reuse the analyser in ``analysis.py`` (normalisation, rjieba with the domain dictionary,
technical tokens, stop words); nothing here segments text on its own.

* Keywords: the precise cut of the text (``analysis.query_tokens``, clause by clause), words of
  two or more characters and technical tokens, minus stop words and generic listing vocabulary;
  scored tf × idf with an IDF table (``dictionary/suggest_idf.json``) computed from real
  marketplace texts and paper abstracts. Title words count double. Two adjacent words that occur
  together at least twice (尺寸 + 测量 → 尺寸测量) are proposed as one compound keyword.
* Field: a multinomial naive Bayes over the same tokens, one model for the top level (the 11
  national technology-market fields) and one for second-level codes, trained from the real 51jishu
  achievements mapped onto the taxonomy codes (``bench/train_field_model.py``) and shipped as
  ``dictionary/field_model.json``. The model knows codes only; names come from the caller's
  taxonomy.

No Flask here: the API (``marketplace/api/suggest.py``) is a thin wrapper.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from . import analysis

_HERE = Path(__file__).parent
IDF_FILE = _HERE / "dictionary" / "suggest_idf.json"
FIELD_MODEL_FILE = _HERE / "dictionary" / "field_model.json"

MAX_TEXT_CHARS = 20_000
# Words that are not stop words for search but make poor keywords for a listing.
GENERIC = frozenset(
    [
        "研究",
        "分析",
        "应用",
        "项目",
        "产品",
        "系统",
        "设备",
        "装置",
        "问题",
        "提高",
        "解决",
        "具有",
        "使用",
        "生产",
        "工艺",
        "成本",
        "效果",
        "效率",
        "主要",
        "国内",
        "国外",
        "市场",
        "企业",
        "行业",
        "领域",
        "需求",
        "需要",
        "要求",
        "相关",
        "一定",
        "不同",
        "现有",
        "传统",
        "新型",
        "以上",
        "以下",
        "本成果",
        "该成果",
        "成果",
        "我们",
        "公司",
        "单位",
        "合作",
        "推广",
        "开发",
        "研制",
        "研发",
        "实施",
        "完成",
        "达到",
        "获得",
        "取得",
        "具备",
        "方面",
        "过程",
        "条件",
        "情况",
        "作用",
        "影响",
        "特点",
        "优势",
        "优点",
        "显著",
        "有效",
        "良好",
        "较好",
        "更好",
        "广泛",
        "重要",
        "简单",
        "方便",
        "可靠",
        "稳定",
        "降低",
        "减少",
        "增加",
        "提升",
        "改善",
        "保证",
        "确保",
        "满足",
        "适用",
        "适合",
        "广大",
        "大量",
        "较高",
        "较低",
        "很多",
        "各种",
        "其他",
        "其它",
        "以及",
        "并且",
        "或者",
        "而且",
        "然后",
        "因此",
        "所以",
        "由于",
        "如果",
        "但是",
        "不仅",
        "还是",
        "已经",
        "正在",
        "目的",
        "意义",
        "时间",
        "年来",
        "我国",
        "全国",
        "国家",
        "内容",
        "方式",
        "措施",
        "手段",
        "水平",
        "能力",
        "工作",
        "部分",
        "目标",
        "专利",
        "发明专利",
        "授权",
        "申请",
        "实用新型",
        "知识产权",
        "技术领域",
        "技术方案",
        "有限公司",
        "大学",
        "学院",
        "研究所",
        "中心",
        "实验室",
        "团队",
        "人员",
        "第一",
        "第二",
        "一是",
        "二是",
        "三是",
        "万元",
        "亿元",
        "左右",
        "以来",
        "之一",
        "开展",
        "形成",
        "建立",
        "构建",
        "设计",
        "制备",
        "处理",
        "对于",
        "关于",
        "针对",
        "其中",
        "可以",
        "能够",
        "通过",
        "同时",
        "包括",
        "采用",
        "实现",
        "提供",
        "作为",
        "根据",
        "用于",
        "进一步",
        "本文",
        "一套",
        "一款",
        "一些",
        "一般",
        "一项",
        "一批",
        "一是",
        "多种",
        "多个",
        "各类",
        "精度高",
        "本产品",
        "该产品",
        "本系统",
    ]
)
_CLAUSE_SPLIT = re.compile(r"[\s,，。、；;：:！!？?（）()【】\[\]《》<>“”\"'‘’…—·/|]+")
_DIGITS = re.compile(r"^[\d.\-]+$")

_lock = threading.Lock()
_idf: IdfTable | None = None
_field_model: FieldClassifier | None = None


# ---------------------------------------------------------------------------------------------
# Tokens


def clause_tokens(text: str) -> list[list[str]]:
    """The analyser's precise-cut tokens, clause by clause (clauses bound compound keywords)."""
    out = []
    for clause in _CLAUSE_SPLIT.split(analysis.normalize(text or "")):
        if clause:
            out.append(list(analysis.query_tokens(clause)))
    return out


def _is_candidate(tok: str, stop: frozenset[str]) -> bool:
    if tok in stop or tok in GENERIC or _DIGITS.match(tok):
        return False
    if analysis.is_single_char(tok):
        return False
    if tok.isascii():
        return len(tok) >= 2 and any(c.isalpha() for c in tok)
    return len(tok) >= 2


def content_tokens(text: str) -> list[str]:
    """Candidate keyword tokens of a text, in order, with repetitions."""
    stop = analysis.stopwords()
    return [t for clause in clause_tokens(text) for t in clause if _is_candidate(t, stop)]


# ---------------------------------------------------------------------------------------------
# IDF


@dataclass
class IdfTable:
    n_docs: int
    df: dict[str, int]

    def idf(self, term: str) -> float:
        # Unknown terms count as seen once: rare, so informative, but not above every known one.
        return math.log((self.n_docs + 1) / (self.df.get(term, 1) + 0.5))

    @classmethod
    def build(cls, texts: Iterable[str], min_df: int = 2) -> IdfTable:
        df: Counter[str] = Counter()
        n = 0
        for text in texts:
            n += 1
            df.update(set(content_tokens(text)))
        return cls(n, {t: c for t, c in df.items() if c >= min_df})

    def to_json(self) -> dict:
        return {"n_docs": self.n_docs, "df": dict(sorted(self.df.items(), key=lambda kv: (-kv[1], kv[0])))}

    @classmethod
    def from_json(cls, data: dict) -> IdfTable:
        return cls(int(data["n_docs"]), {k: int(v) for k, v in data["df"].items()})


def idf_table() -> IdfTable:
    global _idf
    if _idf is None:
        with _lock:
            if _idf is None:
                if IDF_FILE.exists():
                    _idf = IdfTable.from_json(json.loads(IDF_FILE.read_text(encoding="utf-8")))
                else:  # a checkout without the data file still answers, with tf only
                    _idf = IdfTable(1, {})
    return _idf


# ---------------------------------------------------------------------------------------------
# Keywords


def suggest_keywords(
    text: str, title: str = "", limit: int = 8, exclude: Iterable[str] = (), idf: IdfTable | None = None
) -> list[str]:
    """Up to `limit` keywords for a listing, best first. `exclude`: keywords the user already has."""
    idf = idf or idf_table()
    stop = analysis.stopwords()
    excluded = {analysis.normalize(k).strip() for k in exclude}
    tf: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for weight, part in ((2, title), (1, text)):
        for clause in clause_tokens(part):
            for i, tok in enumerate(clause):
                if _is_candidate(tok, stop):
                    tf[tok] += weight
                    nxt = clause[i + 1] if i + 1 < len(clause) else ""
                    if nxt and _is_candidate(nxt, stop) and not tok.isascii() and not nxt.isascii():
                        pairs[(tok, nxt)] += weight
    if not tf:
        return []
    scores: dict[str, float] = {}
    for tok, count in tf.items():
        length_bonus = 1.0 if tok.isascii() else min(len(tok), 4) / 3
        scores[tok] = (1 + math.log(count)) * idf.idf(tok) * length_bonus
    # Compounds: two words side by side at least twice, e.g. 尺寸 + 测量 -> 尺寸测量.
    for (a, b), count in pairs.items():
        if count < 2 or len(a) > 3 or len(b) > 3:  # long words are keywords on their own
            continue
        compound = a + b
        scores[compound] = max(scores.get(compound, 0.0), (1 + math.log(count)) * (idf.idf(a) + idf.idf(b)) * 0.75)
        for part in (a, b):  # a part that only ever occurs inside the compound adds nothing
            if tf[part] <= count:
                scores[part] *= 0.5
    ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
    out: list[str] = []
    for word, _score in ranked:
        if word in excluded or any(word in chosen for chosen in out):
            continue
        out.append(word)
        if len(out) >= limit:
            break
    return [_as_written(word, title + "\n" + text) for word in out]


def _as_written(word: str, text: str) -> str:
    """The keyword as the user wrote it (Q690, not the folded q690) when it is ASCII and occurs."""
    if not word.isascii():
        return word
    match = re.search(re.escape(word), text, flags=re.IGNORECASE)
    return match.group(0) if match else word


# ---------------------------------------------------------------------------------------------
# Field classification


@dataclass
class FieldModel:
    """Multinomial naive Bayes: per label its document count, token total and token counts."""

    labels: dict[str, dict]  # label -> {"docs": int, "total": int, "counts": {token: int}}
    vocab_size: int
    alpha: float = 0.5

    @classmethod
    def train(cls, docs: Iterable[tuple[str, str]], min_df: int = 2, alpha: float = 0.5) -> FieldModel:
        """docs: (text, label). Tokens seen in fewer than `min_df` documents are dropped."""
        rows = [(Counter(content_tokens(text)), label) for text, label in docs]
        df: Counter[str] = Counter()
        for counts, _label in rows:
            df.update(counts.keys())
        vocab = {t for t, c in df.items() if c >= min_df}
        labels: dict[str, dict] = {}
        for counts, label in rows:
            entry = labels.setdefault(label, {"docs": 0, "total": 0, "counts": Counter()})
            entry["docs"] += 1
            for tok, c in counts.items():
                if tok in vocab:
                    entry["counts"][tok] += c
                    entry["total"] += c
        for entry in labels.values():
            entry["counts"] = dict(sorted(entry["counts"].items(), key=lambda kv: (-kv[1], kv[0])))
        return cls(labels, len(vocab), alpha)

    def scores(self, text: str, labels: Iterable[str] | None = None) -> list[tuple[str, float]]:
        """(label, posterior probability) best first, over `labels` (default: all)."""
        tokens = Counter(content_tokens(text))
        wanted = [lab for lab in (labels if labels is not None else self.labels) if lab in self.labels]
        if not wanted:
            return []
        n_docs = sum(self.labels[lab]["docs"] for lab in wanted)
        logp: dict[str, float] = {}
        for lab in wanted:
            entry = self.labels[lab]
            denom = entry["total"] + self.alpha * self.vocab_size
            counts = entry["counts"]
            score = math.log(entry["docs"] / n_docs)
            for tok, c in tokens.items():
                score += c * math.log((counts.get(tok, 0) + self.alpha) / denom)
            logp[lab] = score
        top = max(logp.values())
        exp = {lab: math.exp(v - top) for lab, v in logp.items()}
        total = sum(exp.values())
        return sorted(((lab, v / total) for lab, v in exp.items()), key=lambda kv: (-kv[1], kv[0]))

    def to_json(self) -> dict:
        return {"alpha": self.alpha, "vocab_size": self.vocab_size, "labels": self.labels}

    @classmethod
    def from_json(cls, data: dict) -> FieldModel:
        return cls(data["labels"], int(data["vocab_size"]), float(data.get("alpha", 0.5)))


@dataclass
class FieldSuggestion:
    code: str  # the suggested code: second level when the model is confident, else top level
    top: list[tuple[str, float]]  # top-level codes with probabilities, best first


class FieldClassifier:
    """Two naive Bayes models: top-level codes, and second-level codes (chosen within the top)."""

    SUB_CONFIDENCE = 0.6  # share a second-level code needs among its siblings to be suggested
    MIN_TOKENS = 3  # fewer content tokens than this: no suggestion

    def __init__(self, top: FieldModel, sub: FieldModel | None = None):
        self.top = top
        self.sub = sub

    @classmethod
    def train(cls, docs: list[tuple[str, str]], min_df: int = 2) -> FieldClassifier:
        """docs: (text, code) with top-level codes ("05") or second-level ones ("0501")."""
        top = FieldModel.train(((text, code[:2]) for text, code in docs), min_df=min_df)
        subs = [(text, code) for text, code in docs if len(code) > 2]
        return cls(top, FieldModel.train(subs, min_df=min_df) if subs else None)

    def suggest(self, text: str, n: int = 3) -> FieldSuggestion | None:
        if len(content_tokens(text)) < self.MIN_TOKENS:
            return None
        ranked = self.top.scores(text)[:n]
        if not ranked:
            return None
        code = ranked[0][0]
        if self.sub is not None:
            children = [lab for lab in self.sub.labels if lab[:2] == code]
            sub = self.sub.scores(text, children)
            if sub and sub[0][1] >= self.SUB_CONFIDENCE:
                code = sub[0][0]
        return FieldSuggestion(code, ranked)

    def to_json(self) -> dict:
        return {
            "format": 1,
            "description": "naive Bayes field model for search_index.suggest; built by bench/train_field_model.py",
            "top": self.top.to_json(),
            "sub": self.sub.to_json() if self.sub else None,
        }

    @classmethod
    def from_json(cls, data: dict) -> FieldClassifier:
        return cls(FieldModel.from_json(data["top"]), FieldModel.from_json(data["sub"]) if data.get("sub") else None)

    def save(self, path: Path = FIELD_MODEL_FILE) -> None:
        path.write_text(json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")), encoding="utf-8")


def field_classifier() -> FieldClassifier | None:
    """The shipped model, loaded once; None when the data file is missing."""
    global _field_model
    if _field_model is None:
        with _lock:
            if _field_model is None and FIELD_MODEL_FILE.exists():
                _field_model = FieldClassifier.from_json(json.loads(FIELD_MODEL_FILE.read_text(encoding="utf-8")))
    return _field_model


def suggest_field(text: str, n: int = 3) -> FieldSuggestion | None:
    classifier = field_classifier()
    return classifier.suggest(text, n) if classifier else None
