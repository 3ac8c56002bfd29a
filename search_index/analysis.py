"""Text analysis: normalisation, the segmenter and the token streams the index and the queries use.

Design (see bench/search_bench.py for the measurements behind it):

* ``normalize`` folds NFKC (full-width -> half-width), traditional -> simplified (OpenCC t2s) and
  ASCII case, so 「氫冶金」, 「ＡＩ」 and 「Ai」 meet their simplified / half-width / lower-case forms.
* Text is split into CJK runs and technical tokens. Technical tokens (``q690``, ``5g``, ``trl7``,
  ``co2``, ``pm2.5``, ``c++``, ``gb/t2260``, ``zl201720001285.x``, ``cn114081026a``) are kept whole;
  compound ones also yield their parts so ``ZL201720001285`` finds ``ZL201720001285.X``.
* CJK runs are segmented with rjieba (Rust port of jieba, ~20x faster, same dictionary):
  - at index time with ``cut_all``: every dictionary word that occurs in the text, plus every single
    character (those go to a separate ``chars`` field);
  - at query time with the precise cut without HMM: each query token is then a dictionary word or a
    single character, and therefore is *guaranteed* to be among the index tokens of any text that
    contains it verbatim. That is what designs out the "search-mode query + AND misses documents
    that contain every keyword" trap.
* Domain words (``dictionary/domain_words.txt``) and admins' ``user_words`` are added to the
  segmenter. For each of them we remember how the base dictionary splits it ("pieces"), so a query
  for 氢冶金 matches documents containing 氢冶金, and - as a weaker alternative - documents
  containing all of 氢 + 冶金; the exact compound ranks higher.
* The dictionary loads lazily, once per process, on the first call that needs segmentation.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

_HERE = Path(__file__).parent
DOMAIN_DICTIONARY = _HERE / "dictionary" / "domain_words.txt"
STOPWORDS_FILE = _HERE / "stopwords.txt"

# CJK ideographs (BMP unified + extension A + compatibility). Extension B+ are rare in listings and
# are treated as their own "runs" by the same class below.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff"
# Standards: GB, GB/T, GB/Z, JB/T, HG/T, QB/T, YY/T, DB37/T, ISO, IEC ... followed by a number.
_STD = r"(?:[a-z]{1,2}|db\d{0,4})/[tz]|gb|iso|iec|astm|ieee|din|jis"
_TOKEN_RE = re.compile(
    rf"(?P<cjk>[{_CJK}]+)"
    rf"|(?P<std>(?<![a-z0-9])(?:{_STD})\s?\d+(?:[.\-]\d+)*)"
    r"|(?P<tech>[a-z0-9]+(?:[._\-/+][a-z0-9]+)*(?:\+\+|#)?)"
)
_PART_SPLIT = re.compile(r"[._\-/+#]+")
_PATENT = re.compile(r"^(?:zl|cn)?(\d{8,13})(?:[.]?[0-9x])?[a-z]?\d?$")
_STD_YEAR = re.compile(r"^(.*\d)-(?:19|20)\d\d$")

_lock = threading.Lock()
_segmenter = None  # rjieba.Jieba, loaded lazily
_pieces: dict[str, tuple[str, ...]] = {}  # domain/user word -> how the base dictionary splits it
_added_words: set[str] = set()
_opencc = None


def _load_lines(path: Path) -> list[str]:
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            words.append(line.split()[0])
    return words


@lru_cache(maxsize=1)
def stopwords() -> frozenset[str]:
    """Words found in nearly every listing (evidence in stopwords.txt). Single characters are never
    stop words: they stay findable and phrase-checkable."""
    return frozenset(normalize(w) for w in _load_lines(STOPWORDS_FILE))


def _t2s(text: str) -> str:
    global _opencc
    if _opencc is None:
        import opencc

        _opencc = opencc.OpenCC("t2s")
    return _opencc.convert(text)


def normalize(text: str) -> str:
    """NFKC + traditional->simplified + lower case. Cheap: ~10M chars/s NFKC, ~20M chars/s t2s."""
    if not text:
        return ""
    text = unicodedata.normalize("NFKC", text)
    if not text.isascii():
        text = _t2s(text)
    return text.lower()


def segmenter():
    """The process-wide rjieba segmenter with the domain dictionary, loaded on first use."""
    global _segmenter
    if _segmenter is None:
        with _lock:
            if _segmenter is None:
                import rjieba  # importing rjieba loads its dictionary (~0.1 s, ~26 MB): only here

                seg = rjieba._DEFAULT_JIEBA
                _add_words(seg, _load_lines(DOMAIN_DICTIONARY))
                _segmenter = seg
    return _segmenter


def _add_words(seg, words: Iterable[str]) -> int:
    added = 0
    for raw in words:
        w = normalize(raw).strip()
        if not w or w in _added_words or not _is_cjk_word(w):
            continue
        if len(w) > 1:
            pieces = tuple(seg.cut(w, False))
            if len(pieces) > 1:
                _pieces[w] = pieces
        seg.add_word(w, None, None)
        _added_words.add(w)
        added += 1
    return added


def add_user_words(words: Iterable[str]) -> int:
    """Add admins' terms to this process's segmenter (reindex afterwards so documents get them)."""
    words = list(words)
    if not words:
        return 0
    seg = segmenter()
    with _lock:
        n = _add_words(seg, words)
    if n:
        _query_tokens_cached.cache_clear()
    return n


def dictionary_size() -> int:
    return len(_added_words)


def pieces(word: str) -> tuple[str, ...]:
    """How the base dictionary splits a domain/user word (empty when it is not one)."""
    return _pieces.get(word, ())


def _is_cjk_word(w: str) -> bool:
    return bool(re.fullmatch(f"[{_CJK}]+", w))


def _tech_tokens(tok: str, *, index: bool) -> list[str]:
    """A technical token, and at index time also its useful parts."""
    out = [tok]
    if not index:
        return out
    m = _STD_YEAR.match(tok)
    if m:
        out.append(m.group(1))
    if _PART_SPLIT.search(tok):
        out.extend(p for p in _PART_SPLIT.split(tok) if p and (len(p) > 1 or p.isdigit()))
    m = _PATENT.match(tok)
    if m and m.group(1) != tok:
        out.append(m.group(1))
    return out


def _std_token(raw: str) -> str:
    return raw.replace(" ", "")


def index_terms(text: str) -> tuple[list[str], set[str]]:
    """Index-time analysis of one field: (word tokens with repetitions, single CJK characters).

    Words: every dictionary word occurring in the text (rjieba cut_all, ≥ 2 chars, stop words
    removed) and the technical tokens. Characters: the set of CJK characters."""
    text = normalize(text)
    if not text:
        return [], set()
    seg = segmenter()
    stop = stopwords()
    words: list[str] = []
    chars: set[str] = set()
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "cjk":
            chars.update(tok)
            if len(tok) > 1:
                words.extend(w for w in seg.cut_all(tok) if len(w) > 1 and w not in stop)
        elif kind == "std":
            words.extend(_tech_tokens(_std_token(tok), index=True))
        elif tok not in stop:
            words.extend(_tech_tokens(tok, index=True))
    return words, chars


def char_set(text: str) -> set[str]:
    return set(re.findall(f"[{_CJK}]", normalize(text)))


def query_tokens(text: str) -> tuple[str, ...]:
    """Query-time analysis of one user term: precise cut without HMM, technical tokens whole.
    Stop words are kept here; the query planner decides whether to drop them."""
    return _query_tokens_cached(normalize(text))


@lru_cache(maxsize=4096)
def _query_tokens_cached(text: str) -> tuple[str, ...]:
    if not text:
        return ()
    seg = segmenter()
    out: list[str] = []
    for m in _TOKEN_RE.finditer(text):
        kind = m.lastgroup
        tok = m.group()
        if kind == "cjk":
            out.extend(seg.cut(tok, False))
        elif kind == "std":
            out.append(_std_token(tok))
        else:
            out.append(tok)
    return tuple(out)


def is_single_char(tok: str) -> bool:
    return len(tok) == 1 and _is_cjk_word(tok)


def highlight_terms(text: str) -> list[str]:
    """Surface strings to mark in snippets for a user query term (normalised)."""
    return [t for t in query_tokens(text) if t]
