"""SearchIndex: the implementation of the contract in api.py.

STATUS: usable. The whole contract works (apply / last_applied_id / rebuild / search with filters,
facets, highlight, sort, paging, suggestions / versions / stats) and is covered by
tests/unit/test_search_*.py. Figures: bench/search_bench.py, bench/search_quality.py.

Layout of an index directory ``path``::

    path/write.lock        fcntl lock file: one writer at a time across processes (bounded wait,
                           TimeoutError after `lock_timeout`; never Whoosh's LockError)
    path/CURRENT           name of the live generation, replaced atomically (os.replace)
    path/gen-<ns>-<pid>/   a Whoosh index (one per rebuild); older generations are removed
    path/build-<pid>-<ns>/ a rebuild in progress (renamed to gen-* at the swap)

`last_applied_id` lives in a special document (key ``__meta__``) written in the same commit as the
documents, so it is always consistent with them. Each process keeps one searcher per index and
refreshes it (re-using unchanged segment readers) when CURRENT or the Whoosh generation changed.

Query execution (why it is fast in pure Python): Whoosh stores the postings; matching, scoring and
faceting are done here on Python sets/dicts built from whole posting blocks (C-level set/dict
operations instead of one Python call per posting per matcher):

* a clause's document set = the union of its token's postings over the text fields (or the
  ``chars`` field for a single character); clauses are intersected; when that is empty the query is
  relaxed to "as many clauses as possible" (coordination-weighted), with suggestions;
* BM25F per token and field, summed; cached per token per index generation (bounded);
* facet counts = Counter over per-document code lists (built once per segment) of the matched set
  with the *other* filters applied;
* verbatim bonus: the top candidates are re-scored when a user term occurs verbatim in the title or
  the text (phrases are verified the same way, so they are exact).

Concurrency: searches in one process are serialised per snapshot (a lock); writers in any process
serialise on write.lock. Index writes happen only in `apply` and `rebuild`.
"""

from __future__ import annotations

import calendar
import contextlib
import fcntl
import heapq
import html
import math
import mmap
import os
import shutil
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from itertools import accumulate
from pathlib import Path
from typing import Any

from whoosh import index as windex
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher
from whoosh.filedb.filestore import FileStorage
from whoosh.filedb.structfile import StructFile
from whoosh.reading import ReaderClosed
from whoosh.support.levenshtein import distance
from whoosh.util.numeric import byte_to_length

from . import analysis
from .api import FACETS, Hit, SearchQuery, SearchResult
from .query import Clause, Plan, parse
from .schema import (
    CHARS_FIELD,
    FIELD_BOOSTS,
    META_KEY,
    META_KIND,
    MULTI_FACETS,
    SINGLE_FACETS,
    TEXT_FIELDS,
    SearchCodec,
    build_schema,
)

K1 = 1.2
B = 0.75
CHARS_BOOST = 0.5  # a single character matched anywhere scores like a weak body term
PIECES_WEIGHT = 0.5  # domain word found only as its pieces (氢 + 冶金 for 氢冶金)
TITLE_VERBATIM_BONUS = 0.5
TEXT_VERBATIM_BONUS = 0.2
RERANK_DEPTH = 60
PHRASE_VERIFY_LIMIT = 5000  # candidates checked verbatim for a quoted phrase
LOCK_TIMEOUT = 120.0
SNIPPET_CHARS = 120
KINDS = ("achievement", "demand", "organization", "contract", "expert")  # contract: internal, never searched publicly
MAX_PER_PAGE = 100
# Per-process cache bounds (entries; ~100 bytes each): keeps a worker's memory bounded at 100k docs
TOKEN_CACHE_POSTINGS = 300_000
TERM_CACHE_DOCS = 300_000
MAX_PAGE = 1000

_seg_cache: OrderedDict[tuple, Any] = OrderedDict()  # per-segment columns (segments are immutable)
_SEG_CACHE_MAX = 4096


def _seg_cached(segreader, name: str, build: Callable[[], Any]) -> Any:
    segment = segreader.segment()
    if segment is None:  # an empty index's reader: nothing worth caching
        return build()
    key = (segment.segment_id(), name)
    try:
        val = _seg_cache[key]
        _seg_cache.move_to_end(key)
        return val
    except KeyError:
        pass
    val = build()
    _seg_cache[key] = val
    while len(_seg_cache) > _SEG_CACHE_MAX:
        _seg_cache.popitem(last=False)
    return val


class _MmapStorage(FileStorage):
    """Read-only storage that maps the index files (shared, reclaimable page cache instead of
    private memory or a read() system call per posting block)."""

    def open_file(self, name, **kwargs):
        with open(self._fpath(name), "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                return super().open_file(name, **kwargs)
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        return StructFile(mm, name=name, **kwargs)


class _WriteLock:
    """fcntl.flock on path/write.lock with a bounded wait (never Whoosh's LockError)."""

    def __init__(self, path: Path, timeout: float):
        self.path = path / "write.lock"
        self.timeout = timeout
        self.fd: int | None = None

    def __enter__(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        delay = 0.005
        while True:
            try:
                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return self
            except BlockingIOError:
                if time.monotonic() > deadline:
                    os.close(self.fd)
                    self.fd = None
                    raise TimeoutError(f"search index {self.path.parent} is locked by another writer") from None
                time.sleep(delay)
                delay = min(delay * 2, 0.1)

    def __exit__(self, *exc):
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


# ----------------------------------------------------------------------------------------------
# Reading postings in whole blocks


def _term_postings(segreader, fieldname: str, tbytes: bytes) -> Iterator[tuple[Iterable[int], Any]]:
    """(ids, weights) per posting block of one term in one segment (local docnums; deleted included)."""
    terms = segreader._terms
    if (fieldname, tbytes) not in terms:
        return
    fmt = segreader.schema[fieldname].format
    m = terms.matcher(fieldname, tbytes, fmt)
    if isinstance(m, W3LeafMatcher):
        while not m._atend:
            if m._data is None:
                m._read_data()
            raw = m._data[0]
            ids = raw if m._byteids else accumulate(raw)
            w = m._data[1]
            if w is None or isinstance(w, float):
                w = (w or 1.0,) * m._blocklength
            yield ids, w
            if m._lastblock:
                break
            m._goto(m._nextoffset)
    else:
        ids, ws = [], []
        while m.is_active():
            ids.append(m.id())
            ws.append(m.weight())
            m.next()
        yield ids, ws


def _lengths(segreader, fieldname: str) -> list[int]:
    def build():
        col = segreader._perdoc._cached_reader(f"_{fieldname}_len", LENGTHS_COLUMN)
        n = segreader.doc_count_all()
        if col is None:
            return [0] * n
        table = [byte_to_length(b) for b in range(256)]
        return [table[b] for b in col]

    return _seg_cached(segreader, "len:" + fieldname, build)


def _codes(segreader, fieldname: str) -> list[str]:
    """Per-document code of a single-valued ID field ("" when absent)."""

    def build():
        out = [""] * segreader.doc_count_all()
        if fieldname not in segreader.schema:  # an index built before the field existed
            return out
        for tbytes in segreader.lexicon(fieldname):
            code = tbytes.decode("utf-8")
            for ids, _ in _term_postings(segreader, fieldname, tbytes):
                for d in ids:
                    out[d] = code
        return out

    return _seg_cached(segreader, "codes:" + fieldname, build)


def _numbers(segreader, fieldname: str) -> list[float | None]:
    def build():
        n = segreader.doc_count_all()
        if not segreader.has_column(fieldname):
            return [None] * n
        return [None if v != v else v for v in segreader.column_reader(fieldname)]  # NaN -> None

    return _seg_cached(segreader, "num:" + fieldname, build)


class _Snapshot:
    """One searcher over one generation of the index, with per-generation caches."""

    def __init__(self, ix, gen: str, searcher=None):
        self.ix = ix
        self.gen = gen
        # refresh() re-uses the readers of unchanged segments (opening 20 segment readers of a 100k
        # index from scratch costs ~0.2 s; an edit only adds a small segment)
        self.searcher = searcher if searcher is not None else ix.searcher()
        self.reader = self.searcher.reader()
        self.leaves = list(self.reader.leaf_readers())
        self.n_all = self.reader.doc_count_all()
        live: set[int] = set()
        for r, off in self.leaves:
            n = r.doc_count_all()
            seg_live = set(range(off, off + n))
            if r.has_deletions():
                seg_live.difference_update(off + d for d in r._perdoc.deleted_docs())
            live |= seg_live
        self.live = live
        # forget columns of segments that are gone (merged away or replaced by a rebuild)
        # An index with no segment yet (a writer created it, nothing committed) has an EmptyReader
        # leaf whose segment() is None.
        segids = {seg.segment_id() for r, _ in self.leaves if (seg := r.segment()) is not None}
        for key in [k for k in _seg_cache if k[0] not in segids]:
            del _seg_cache[key]
        self._token_cache: OrderedDict[tuple, tuple[set[int], dict[int, float]]] = OrderedDict()
        self._term_cache: OrderedDict[tuple, frozenset[int]] = OrderedDict()
        self._token_cache_size = 0
        self._term_cache_size = 0
        self.facet_cache: dict[tuple, dict[str, int]] = {}
        self._kind: dict[str, frozenset[int]] = {}
        self._global_lists: dict[str, list] = {}
        self._avg: dict[str, float] = {}
        self.lock = threading.Lock()

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.searcher.close()

    def __del__(self) -> None:
        # only when this snapshot was not superseded by a refresh() that re-uses its readers
        if not getattr(self, "superseded", False):
            self.close()

    def is_current(self) -> bool:
        try:
            return self.searcher.up_to_date()
        except Exception:
            return False

    # ---- sets ------------------------------------------------------------------------------
    def term_docs(self, fieldname: str, text: str) -> frozenset[int]:
        key = (fieldname, text)
        hit = self._term_cache.get(key)
        if hit is not None:
            return hit
        tbytes = text.encode("utf-8")
        out: set[int] = set()
        for r, off in self.leaves:
            for ids, _ in _term_postings(r, fieldname, tbytes):
                out.update(map(off.__add__, ids) if off else ids)
        res = frozenset(out & self.live)
        self._term_cache[key] = res
        self._term_cache_size += len(res)
        while self._term_cache_size > TERM_CACHE_DOCS and len(self._term_cache) > 1:
            _, old = self._term_cache.popitem(last=False)
            self._term_cache_size -= len(old)
        return res

    def kind_docs(self, kind: str) -> frozenset[int]:
        if kind not in self._kind:
            self._kind[kind] = self.term_docs("kind", kind)
        return self._kind[kind]

    def global_list(self, name: str, per_segment: Callable) -> list:
        lst = self._global_lists.get(name)
        if lst is None:
            lst = []
            for r, _ in self.leaves:
                lst.extend(per_segment(r))
            self._global_lists[name] = lst
        return lst

    def avg_length(self, fieldname: str) -> float:
        if fieldname not in self._avg:
            n = max(len(self.live), 1)
            self._avg[fieldname] = max(self.reader.field_length(fieldname) / n, 1.0)
        return self._avg[fieldname]

    def token(self, tok: str) -> tuple[set[int], dict[int, float]]:
        """Documents containing a query token in any text field, and their BM25F contribution."""
        hit = self._token_cache.get((tok,))
        if hit is not None:
            self._token_cache.move_to_end((tok,))
            return hit
        n = max(len(self.live), 1)
        imp: dict[int, float] = {}
        tbytes = tok.encode("utf-8")
        if analysis.is_single_char(tok):
            df = self.reader.doc_frequency(CHARS_FIELD, tbytes)
            if df:
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                val = CHARS_BOOST * idf
                for r, off in self.leaves:
                    for ids, _ in _term_postings(r, CHARS_FIELD, tbytes):
                        imp.update(dict.fromkeys(map(off.__add__, ids) if off else ids, val))
        else:
            a = K1 * (1 - B)
            for f in TEXT_FIELDS:
                df = self.reader.doc_frequency(f, tbytes)
                if not df:
                    continue
                idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
                k = FIELD_BOOSTS[f] * idf * (K1 + 1)
                c = K1 * B / self.avg_length(f)
                lengths = self.global_list("len:" + f, lambda r, f=f: _lengths(r, f))
                get = imp.get
                for r, off in self.leaves:
                    for ids, ws in _term_postings(r, f, tbytes):
                        for d, tf in zip(ids, ws, strict=False):
                            d += off
                            imp[d] = get(d, 0.0) + k * tf / (tf + a + c * lengths[d])
        docs = imp.keys() & self.live
        res = (docs, imp)
        self._token_cache[(tok,)] = res
        self._token_cache_size += 2 * len(imp)
        while self._token_cache_size > TOKEN_CACHE_POSTINGS and len(self._token_cache) > 1:
            _, (_, old) = self._token_cache.popitem(last=False)
            self._token_cache_size -= 2 * len(old)
        return res

    def stored(self, docnum: int) -> dict[str, Any]:
        return self.searcher.stored_fields(docnum)


# ----------------------------------------------------------------------------------------------
# Highlighting


def _fold_map(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, the index of the original character."""
    folded = analysis.normalize(text)
    if len(folded) == len(text):
        return folded, list(range(len(text)))
    parts, index = [], []
    for i, ch in enumerate(text):
        f = analysis.normalize(ch)
        parts.append(f)
        index.extend([i] * len(f))
    return "".join(parts), index


def _match_ranges(folded: str, terms: list[str]) -> list[tuple[int, int]]:
    ranges = []
    for t in sorted(set(terms), key=len, reverse=True):
        if not t:
            continue
        start = folded.find(t)
        while start >= 0:
            ranges.append((start, start + len(t)))
            start = folded.find(t, start + len(t))
    ranges.sort()
    merged: list[tuple[int, int]] = []
    for s, e in ranges:
        if merged and s <= merged[-1][1]:
            if e > merged[-1][1]:
                merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return merged


def highlight(text: str, terms: list[str], size: int | None = None) -> str:
    """HTML-safe text (or a snippet of about `size` characters) with matches in <mark>."""
    if not text:
        return ""
    folded, index = _fold_map(text)
    ranges = [(index[s], index[e - 1] + 1) for s, e in _match_ranges(folded, terms)]
    lo, hi = 0, len(text)
    if size and len(text) > size:
        if ranges:
            # window with the most matches, starting a little before the first of them
            best, best_n = ranges[0][0], 0
            for s, _ in ranges:
                n = sum(1 for s2, _ in ranges if s <= s2 < s + size)
                if n > best_n:
                    best, best_n = s, n
            lo = max(0, best - size // 6)
        hi = min(len(text), lo + size)
        lo = max(0, min(lo, hi - size))
    out = ["…"] if lo > 0 else []
    pos = lo
    for s, e in ranges:
        if e <= lo or s >= hi:
            continue
        s, e = max(s, lo), min(e, hi)
        out.append(html.escape(text[pos:s]))
        out.append("<mark>" + html.escape(text[s:e]) + "</mark>")
        pos = e
    out.append(html.escape(text[pos:hi]))
    if hi < len(text):
        out.append("…")
    return "".join(out)


# ----------------------------------------------------------------------------------------------


def _doc_fields(doc: dict[str, Any]) -> dict[str, Any]:
    """Application document dict -> Whoosh fields (drop empties: Whoosh wants no None values)."""
    kw = doc.get("keywords") or []
    keywords = "，".join(str(k) for k in kw) if isinstance(kw, list | tuple) else str(kw)
    title = str(doc.get("title") or "")
    body = str(doc.get("body") or "")
    org = str(doc.get("org_name") or "")
    out: dict[str, Any] = {
        "key": str(doc["key"]),
        "kind": str(doc.get("kind") or str(doc["key"]).split(":", 1)[0]),
        "id": int(doc.get("id") or 0),
        "version": str(doc.get("version") or "").encode("utf-8"),
        "title": title,
        "keywords": keywords,
        "body": body,
        "org": org,
        "chars": " ".join((title, keywords, body, org)),
    }
    for f in SINGLE_FACETS:
        v = doc.get(f)
        if v not in (None, ""):
            out[f] = str(v)
    tm = doc.get("transfer_modes") or []
    if isinstance(tm, str):
        tm = [tm]
    tm = [str(x) for x in tm if x]
    if tm:
        out["transfer_modes"] = ",".join(tm)
    price = doc.get("price")
    if price is not None:
        out["price"] = float(price)
    pub = doc.get("published_at")
    if isinstance(pub, datetime):
        out["published_at"] = float(calendar.timegm(pub.utctimetuple()))
    return {k: v for k, v in out.items() if v not in ("", None)}


SMALL_SEGMENT_DOCS = 1000
SMALL_MERGE_AT = 8


def _merge_small_segments(writer, segments):
    """Merge policy for incremental commits: fold the small segments (the ones single edits make)
    together once there are SMALL_MERGE_AT of them, never the big ones a rebuild wrote. (Whoosh's
    default MERGE_SMALL would merge all 20 rebuild segments of a 100k index into one on the
    first edit, taking minutes under the lock.)"""
    from whoosh.reading import SegmentReader

    small = sorted((s for s in segments if s.doc_count_all() < SMALL_SEGMENT_DOCS), key=lambda s: s.doc_count_all())
    if len(small) < SMALL_MERGE_AT:
        return segments
    merged, total = [], 0
    for seg in small:
        if total + seg.doc_count_all() > 4 * SMALL_SEGMENT_DOCS and len(merged) >= 2:
            break
        total += seg.doc_count_all()
        merged.append(seg)
    for seg in merged:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        writer.add_reader(reader)
        reader.close()
    ids = {id(s) for s in merged}
    return [s for s in segments if id(s) not in ids]


SEGMENT_DOCS = 5000  # documents per segment in a rebuild: the writer's pool stays in memory (no spill)


def _segment_worker(ix_dir: str, jobs, results) -> None:
    """Rebuild sub-process: turn batches of documents into finished segments (no TOC, no lock)."""
    from whoosh.writing import SegmentWriter

    ix = windex.open_dir(ix_dir)
    while True:
        batch = jobs.get()
        if batch is None:
            break
        w = SegmentWriter(ix, _lk=False, codec=SearchCodec(), limitmb=1024, compound=False)
        for fields in batch:
            w.add_document(**fields)
        seg = w._finalize_segment()
        results.put(seg)
    results.put(None)


def _build_segments(ix, docs: Iterable[dict[str, Any]], procs: int, progress) -> int:
    """Index all documents into segments of SEGMENT_DOCS, with `procs` sub-processes, and commit
    them in one TOC. Whoosh's own MpWriter spills its posting pool to disk and merges the runs in
    Python at commit: measured at 100k documents that merge alone ran for over 5 minutes."""
    batches: Iterator[list[dict[str, Any]]]

    def batched() -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for doc in docs:
            batch.append(_doc_fields(doc))
            if len(batch) >= SEGMENT_DOCS:
                yield batch
                batch = []
        if batch:
            yield batch

    batches = batched()
    segments = []
    n = 0
    if procs <= 1:
        from whoosh.writing import SegmentWriter

        for batch in batches:
            w = SegmentWriter(ix, _lk=False, codec=SearchCodec(), limitmb=1024, compound=False)
            for fields in batch:
                w.add_document(**fields)
            segments.append(w._finalize_segment())
            n += len(batch)
            if progress:
                progress(n)
    else:
        import multiprocessing

        ctx = multiprocessing.get_context("fork")
        jobs, results = ctx.Queue(procs), ctx.Queue()
        workers = [ctx.Process(target=_segment_worker, args=(ix.storage.folder, jobs, results)) for _ in range(procs)]
        for p in workers:
            p.start()
        try:
            for batch in batches:
                jobs.put(batch)
                n += len(batch)
                if progress:
                    progress(n)
            for _ in workers:
                jobs.put(None)
            done = 0
            while done < len(workers):
                seg = results.get()
                if seg is None:
                    done += 1
                else:
                    segments.append(seg)
            for p in workers:
                p.join()
            if any(p.exitcode for p in workers):
                raise RuntimeError("a search index build process failed")
        finally:
            for p in workers:
                if p.is_alive():
                    p.terminate()
    w = ix.writer(codec=SearchCodec())
    w._close_segment()  # its own (empty) segment is not used
    w._commit_toc(segments)
    w._finish()
    return n


def _meta_fields(last_applied_id: int) -> dict[str, Any]:
    return {"key": META_KEY, "kind": META_KIND, "meta": {"last_applied_id": int(last_applied_id), "at": time.time()}}


# Segments are written as separate files, not Whoosh's default compound file: a compound segment is
# read through an mmap whose sub-files Whoosh copies into memory (BytesIO(memoryview)); measured at
# 100k documents that was 300 MB of private memory per worker just for opening the index.


def _deletions(word: str) -> set[str]:
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class _TitleWords:
    """The title terms of an index generation for "did you mean": every word one edit away.

    Two words within one Damerau-Levenshtein edit (a substitution, insertion, deletion or swap of
    neighbours) always share a key among {word} and its single deletions, so a lookup is a handful
    of dictionary reads; candidates are then checked with Whoosh's own distance (the same answer as
    `terms_within(field, word, 1)`). Segments are read once each (new ones as they appear), and
    the whole is dropped when the generation changes (a rebuild). Terms of deleted documents may
    stay: the caller keeps only words that still match documents of the searched kind."""

    FIELD = "title"

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.gen: str | None = None
        self.segments: set[Any] = set()
        self.keys: dict[str, set[str]] = {}  # a word and each of its single deletions -> words

    def within_one(self, snap: _Snapshot, word: str) -> list[str]:
        with self.lock:
            self._update(snap)
            found: set[str] = set()
            for key in _deletions(word) | {word}:
                found |= self.keys.get(key, set())
        return [w for w in found if distance(w, word, limit=1) <= 1]

    def _update(self, snap: _Snapshot) -> None:
        if snap.gen != self.gen:
            self.gen, self.segments, self.keys = snap.gen, set(), {}
        for reader, _offset in snap.leaves:
            segment = reader.segment()
            sid = segment.segment_id() if segment is not None else id(reader)
            if sid in self.segments:
                continue
            if self.FIELD in reader.schema:
                for tbytes in reader.lexicon(self.FIELD):
                    w = tbytes.decode("utf-8")
                    if w not in self.keys.get(w, ()):  # not seen in an earlier segment
                        for key in _deletions(w) | {w}:
                            self.keys.setdefault(key, set()).add(w)
            self.segments.add(sid)


class SearchIndex:
    """One index directory. Many readers, one writer at a time across processes (an inter-process
    lock); `apply` never raises LockError to the caller, it waits (bounded) for the lock."""

    # Called by `apply` just before its Whoosh commit: marketplace.search wires its test-only fault
    # point (marketplace.core.faultpoints) here; None costs nothing.
    before_commit: Callable[[], None] | None = None

    def __init__(self, path: str | Path, *, user_words: Iterable[str] = (), lock_timeout: float = LOCK_TIMEOUT):
        self.path = Path(path)
        self.user_words = tuple(user_words)
        self.lock_timeout = lock_timeout
        self._snap: _Snapshot | None = None
        self._snap_lock = threading.Lock()
        self._words_loaded = False
        self._pid = os.getpid()
        self._title_words = _TitleWords()

    # ---- layout ------------------------------------------------------------------------------
    def _ensure_words(self) -> None:
        if not self._words_loaded:
            analysis.segmenter()
            analysis.add_user_words(self.user_words)
            self._words_loaded = True

    def _current_name(self) -> str | None:
        try:
            name = (self.path / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return name or None

    def _set_current(self, name: str) -> None:
        tmp = self.path / f"CURRENT.tmp-{os.getpid()}"
        tmp.write_text(name + "\n", encoding="utf-8")
        os.replace(tmp, self.path / "CURRENT")

    def _lock(self) -> _WriteLock:
        self.path.mkdir(parents=True, exist_ok=True)
        return _WriteLock(self.path, self.lock_timeout)

    def _open_for_write(self):
        """Under the lock: the current generation's Whoosh index, created when missing."""
        name = self._current_name()
        if name and (self.path / name).is_dir():
            return windex.open_dir(str(self.path / name))
        name = f"gen-{time.time_ns()}-{os.getpid()}"
        (self.path / name).mkdir(parents=True)
        ix = windex.create_in(str(self.path / name), build_schema())
        self._set_current(name)
        return ix

    def _cleanup(self, keep: str) -> None:
        for p in self.path.iterdir():
            if p.name.startswith("gen-") and p.name != keep:
                shutil.rmtree(p, ignore_errors=True)
            elif p.name.startswith("build-"):
                pid = p.name.split("-")[1]
                if pid.isdigit() and not _pid_alive(int(pid)):
                    shutil.rmtree(p, ignore_errors=True)

    # ---- reading -----------------------------------------------------------------------------
    def _snapshot(self) -> _Snapshot | None:
        if self._pid != os.getpid():  # forked: never share a searcher across processes
            self._snap, self._pid = None, os.getpid()
        snap = self._snap
        name = self._current_name()
        if snap is not None and snap.gen == name and snap.is_current():
            return snap
        with self._snap_lock:
            snap = self._snap
            if snap is not None and snap.gen == name and snap.is_current():
                return snap
            if not name or not (self.path / name).is_dir():
                return None
            try:
                if snap is not None and snap.gen == name:
                    # same generation, new commit: re-use the unchanged segment readers
                    new = _Snapshot(snap.ix, name, _refreshed_searcher(snap.ix, snap.reader))
                    snap.superseded = True
                else:
                    ix = _MmapStorage(str(self.path / name), readonly=True).open_index()
                    new = _Snapshot(ix, name)
                    if snap is not None:
                        snap.close()
            except (FileNotFoundError, windex.EmptyIndexError):
                return None
            self._snap = new
            return new

    def last_applied_id(self) -> int:
        snap = self._snapshot()
        if snap is None:
            return 0
        return _read_meta(snap.searcher).get("last_applied_id", 0)

    # ---- writing -----------------------------------------------------------------------------
    def apply(self, upserts: list[dict[str, Any]], deletes: list[str], last_applied_id: int) -> None:
        """Add or replace documents and delete keys in ONE commit that also records
        `last_applied_id` (the outbox position) inside the index. The recorded position never moves
        backwards (two workers may commit out of order)."""
        self._ensure_words()
        deleted = {str(k) for k in deletes}
        latest: dict[str, dict[str, Any]] = {}
        for doc in upserts:
            if str(doc["key"]) not in deleted:
                latest[str(doc["key"])] = doc  # the last version of a key in the batch wins
        with self._lock():
            ix = self._open_for_write()
            w = ix.writer(timeout=5.0, codec=SearchCodec(), compound=False)
            try:
                prev = _read_meta(w.searcher()).get("last_applied_id", 0)
                for key in deleted:
                    w.delete_by_term("key", key)
                for doc in latest.values():
                    # an index built before a facet field existed: write what its schema knows
                    # (`flask search reindex` brings the new field)
                    w.update_document(**{k: v for k, v in _doc_fields(doc).items() if k in ix.schema})
                w.update_document(**_meta_fields(max(prev, int(last_applied_id))))
                if self.before_commit is not None:
                    self.before_commit()
                w.commit(mergetype=_merge_small_segments)
            except BaseException:
                w.cancel()
                raise
            finally:
                ix.close()

    def rebuild(
        self,
        docs: Iterable[dict[str, Any]],
        last_applied_id: int,
        *,
        total: int | None = None,
        progress: Callable[[int], None] | None = None,
        procs: int | None = None,
    ) -> None:
        """Build a complete new index in a sibling directory and swap it in atomically; searches
        keep working on the old one meanwhile.

        `last_applied_id` must be the outbox position read *before* the documents were read: rows
        applied to the old generation meanwhile are then re-applied by the indexer after the swap.
        `procs` (default: 2 when `total` ≥ 2000 and there are 2+ cores) sub-processes analyse and
        write segments of SEGMENT_DOCS documents in parallel; the segments are not merged."""
        self._ensure_words()  # before forking: children inherit the loaded dictionary
        self.path.mkdir(parents=True, exist_ok=True)
        build = self.path / f"build-{os.getpid()}-{time.time_ns()}"
        build.mkdir()
        try:
            ix = windex.create_in(str(build), build_schema())
            if procs is None:
                procs = min(2, os.cpu_count() or 1) if (total or 0) >= 2000 else 1
            n = _build_segments(ix, docs, procs, progress)
            ix.close()
            if progress:
                progress(n)
            # under the lock: the meta document, the rename and the swap (so that a concurrent
            # rebuild's clean-up never sees a finished generation that is not yet current)
            with self._lock():
                ix = windex.open_dir(str(build))
                w = ix.writer(codec=SearchCodec(), compound=False)
                w.add_document(**_meta_fields(last_applied_id))
                w.commit(merge=False)
                ix.close()
                name = f"gen-{time.time_ns()}-{os.getpid()}"
                os.rename(build, self.path / name)
                self._set_current(name)
                self._cleanup(keep=name)
        except BaseException:
            shutil.rmtree(build, ignore_errors=True)
            raise

    # ---- search ------------------------------------------------------------------------------
    def search(self, query: SearchQuery) -> SearchResult:
        """Never raises for user input: bad syntax falls back to plain terms."""
        t0 = time.perf_counter()
        page = max(1, min(_int(query.page, 1), MAX_PAGE))
        per_page = max(1, min(_int(query.per_page, 20), MAX_PER_PAGE))
        facets = tuple(f for f in (query.facets or ()) if f in FACETS)
        result = SearchResult(total=0, page=page, per_page=per_page, hits=[], facets={f: {} for f in facets})
        self._ensure_words()
        for attempt in range(2):
            snap = self._snapshot()
            if snap is None:
                break
            try:
                with snap.lock:
                    self._search(snap, query, page, per_page, facets, result)
                break
            except (OSError, ReaderClosed):
                # a generation removed under us (rebuild swap in another process): reopen once
                if attempt:
                    raise
                self._snap = None
        result.took_ms = (time.perf_counter() - t0) * 1000
        return result

    def _search(self, snap: _Snapshot, q: SearchQuery, page: int, per_page: int, facets, result) -> None:
        plan = parse(q.text or "")
        kind_docs = snap.kind_docs(str(q.kind or "achievement"))
        filters = {f: str(v) for f, v in (q.filters or {}).items() if f in FACETS and v not in (None, "")}
        filter_sets = {f: snap.term_docs(f, v) for f, v in filters.items()}

        # 1. text match
        scored: dict[int, float] | None = None
        coord: dict[int, int] | None = None
        if plan.empty:
            matched = set(kind_docs)
        else:
            matched, coord = self._match(snap, plan, kind_docs, filter_sets, result, suggest=q.suggest)
            scored = {}
        for ex in plan.excludes:
            matched -= self._clause_docs(snap, ex, None)
        text_matched = matched
        for s in filter_sets.values():
            matched = matched & s
        result.total = len(matched)

        # 2. facets: each facet with the other filters applied
        for f in facets:
            ck = (f, q.kind, tuple(sorted((g, v) for g, v in filters.items() if g != f)))
            if plan.empty and not plan.excludes and ck in snap.facet_cache:
                result.facets[f] = dict(snap.facet_cache[ck])
                continue
            base = text_matched
            for g, s in filter_sets.items():
                if g != f:
                    base = base & s
            result.facets[f] = self._count(snap, f, base)
            if plan.empty and not plan.excludes:  # browsing: the same counts for every visitor
                snap.facet_cache[ck] = dict(result.facets[f])

        # 3. order and page
        k = page * per_page
        if k - per_page >= len(matched):
            return
        sort = q.sort if q.sort in ("relevance", "newest", "price_asc", "price_desc") else "relevance"
        if sort == "relevance" and scored is None:
            sort = "newest"
        scores: dict[int, float] = {}
        if scored is not None:
            scores = self._score(snap, plan, matched, coord)
        if sort == "relevance":
            top = heapq.nlargest(max(k, RERANK_DEPTH), matched, key=scores.__getitem__)
            top = self._rerank(snap, plan, top, scores)[k - per_page : k]
        elif sort == "newest":
            pub = snap.global_list("num:published_at", lambda r: _numbers(r, "published_at"))
            top = heapq.nlargest(k, matched, key=lambda d: (pub[d] or -1e18, scores.get(d, 0), -d))
            top = top[k - per_page :]
        else:
            price = snap.global_list("num:price", lambda r: _numbers(r, "price"))
            inf = float("inf")
            if sort == "price_asc":
                top = heapq.nsmallest(k, matched, key=lambda d: (inf if price[d] is None else price[d], d))
            else:
                top = heapq.nsmallest(k, matched, key=lambda d: (-(price[d] if price[d] is not None else -inf), d))
            top = top[k - per_page :]

        terms = list(plan.highlight)
        for c in plan.clauses:
            for t in c.tokens:
                terms.extend(p for p in analysis.pieces(t) if len(p) > 1)
        for d in top:
            sf = snap.stored(d)
            title = sf.get("title", "")
            body = sf.get("body", "")
            if q.highlight:
                th = highlight(title, terms)
                bh = highlight(body or sf.get("keywords", ""), terms, SNIPPET_CHARS)
            else:
                th = html.escape(title)
                bh = html.escape(body[:SNIPPET_CHARS])
            result.hits.append(
                Hit(
                    key=sf.get("key", ""),
                    kind=sf.get("kind", ""),
                    id=int(sf.get("id") or 0),
                    score=round(float(scores.get(d, 0.0)), 4),
                    title=title,
                    title_highlight=th,
                    highlight=bh,
                )
            )

    # ---- matching ------------------------------------------------------------------------------
    def _clause_docs(self, snap: _Snapshot, c: Clause, within: set[int] | frozenset[int] | None) -> set[int]:
        docs: set[int] | None = None
        for tok in sorted(c.tokens, key=lambda t: len(snap.token(t)[0])):
            tdocs = snap.token(tok)[0]
            pcs = analysis.pieces(tok)
            if pcs:  # a domain word also matches when only its pieces occur
                alt: set[int] | None = None
                for p in pcs:
                    pd = snap.token(p)[0]
                    alt = set(pd) if alt is None else alt & pd
                tdocs = tdocs | (alt or set())
            docs = set(tdocs) if docs is None else docs & tdocs
            if within is not None:
                docs &= within
            if not docs:
                return set()
        docs = docs or set()
        if c.phrase:
            docs = self._verify(snap, docs, c.phrase)
        return docs

    def _verify(self, snap: _Snapshot, docs: set[int], phrase: str) -> set[int]:
        if len(docs) > PHRASE_VERIFY_LIMIT:
            return docs  # too many to check: the AND of its words stands in for the phrase
        out = set()
        for d in docs:
            sf = snap.stored(d)
            text = analysis.normalize(
                " ".join((sf.get("title", ""), sf.get("keywords", ""), sf.get("body", ""), sf.get("org", "")))
            )
            if phrase in text:
                out.add(d)
        return out

    def _match(
        self, snap, plan: Plan, kind_docs, filter_sets, result, *, suggest: bool = True
    ) -> tuple[set[int], dict[int, int] | None]:
        within = kind_docs
        for s in filter_sets.values():
            within = within & s
        per_clause = [self._clause_docs(snap, c, None) for c in plan.clauses]
        strict: set[int] | None = None
        for docs in sorted(per_clause, key=len):
            strict = (docs & kind_docs) if strict is None else strict & docs
            if not strict:
                break
        strict = strict or set()
        if strict & within or len(plan.clauses) == 1:
            if suggest and not strict & within:
                self._suggest(snap, plan, per_clause, kind_docs, within, result)
            return strict, None
        # relax: documents matching as many clauses as possible (coordination-weighted score)
        counts: Counter[int] = Counter()
        for docs in per_clause:
            counts.update(docs & kind_docs)
        n = len(plan.clauses)
        best = max((cnt for d, cnt in counts.items() if d in within), default=0)
        if suggest:
            self._suggest(snap, plan, per_clause, kind_docs, within, result)
        if best == 0:
            return set(), None
        matched = {d for d, cnt in counts.items() if cnt >= best}
        if best < n:
            dropped = [c.label for c, docs in zip(plan.clauses, per_clause, strict=True) if not docs & within]
            if dropped:
                result.suggestions.insert(
                    0, f"没有同时包含全部词语的结果，已显示部分匹配（未匹配：{'、'.join(dropped)}）"
                )
        return matched, counts

    def _suggest(self, snap, plan: Plan, per_clause, kind_docs, within, result) -> None:
        """Queries that do have results: drop one term; or, for a term found nowhere, similar words."""
        labels = [c.label for c in plan.clauses]
        n = len(labels)
        if n > 1:
            options = []
            for i in range(n):
                rest = [per_clause[j] for j in range(n) if j != i]
                docs = within
                for r in sorted(rest, key=len):
                    docs = docs & r
                    if not docs:
                        break
                if docs:
                    options.append((len(docs), " ".join(labels[j] for j in range(n) if j != i)))
            options.sort(reverse=True)
            result.suggestions.extend(q for _, q in options[:3])
        if any(docs & within for docs in per_clause):
            return  # something matches: no spelling help needed
        for c, docs in zip(plan.clauses, per_clause, strict=True):
            if docs or len(c.tokens) != 1 or analysis.is_single_char(c.tokens[0]):
                continue
            result.suggestions.extend(self._similar(snap, c.tokens[0], kind_docs))

    def _similar(self, snap, tok: str, kind_docs=None) -> list[str]:
        """Title words one edit away from an unknown token, most frequent first (only words that
        occur in the searched kind: another kind's titles, e.g. internal contracts, never leak)."""
        try:
            cands = []
            # The title lexicon, keyed by single deletions, is kept per process (see _TitleWords):
            # Whoosh's terms_within walked every title term of every segment (1.5 s at 200,000
            # documents in 42 segments) for each word found nowhere.
            for t in self._title_words.within_one(snap, tok):
                if kind_docs is not None and not (snap.token(t)[0] & kind_docs):
                    continue
                if t != tok:
                    cands.append((snap.reader.doc_frequency("title", t), t))
            cands.sort(reverse=True)
            return list(dict.fromkeys(t for _, t in cands))[:3]
        except Exception:
            return []

    def _score(self, snap, plan: Plan, matched: set[int], coord: dict[int, int] | None) -> dict[int, float]:
        scores = dict.fromkeys(matched, 0.0)
        seen: set[str] = set()
        for c in plan.clauses:
            for tok in c.tokens:
                for t, weight in ((tok, 1.0), *((p, PIECES_WEIGHT) for p in analysis.pieces(tok))):
                    if t in seen:
                        continue
                    seen.add(t)
                    imp = snap.token(t)[1]
                    if len(imp) < len(scores):
                        for d, v in imp.items():
                            if d in scores:
                                scores[d] += weight * v
                    else:
                        get = imp.get
                        for d in scores:
                            scores[d] += weight * get(d, 0.0)
        if coord:
            n = len(plan.clauses)
            for d in scores:
                scores[d] *= coord.get(d, 0) / n
        return scores

    def _rerank(self, snap, plan: Plan, top: list[int], scores: dict[int, float]) -> list[int]:
        """Bonus for user terms occurring verbatim (in the title, or anywhere) among the top candidates."""
        phrases = plan.terms
        if not phrases or len(top) < 2:
            return top
        head, tail = top[:RERANK_DEPTH], top[RERANK_DEPTH:]
        for d in head:
            sf = snap.stored(d)
            title = analysis.normalize(sf.get("title", ""))
            text = analysis.normalize(sf.get("keywords", "") + " " + sf.get("body", ""))
            in_title = sum(1 for p in phrases if p in title) / len(phrases)
            in_text = sum(1 for p in phrases if p in text) / len(phrases)
            scores[d] *= 1 + TITLE_VERBATIM_BONUS * in_title + TEXT_VERBATIM_BONUS * in_text
        head.sort(key=lambda d: (-scores[d], d))
        return head + tail

    def _count(self, snap: _Snapshot, facet: str, docs) -> dict[str, int]:
        if not docs:
            return {}
        if facet in SINGLE_FACETS:
            codes = snap.global_list("codes:" + facet, lambda r: _codes(r, facet))
            counts = Counter(map(codes.__getitem__, docs))
            counts.pop("", None)
        elif facet in MULTI_FACETS:
            counts = Counter()
            for tbytes in snap.reader.lexicon(facet):
                code = tbytes.decode("utf-8")
                n = len(snap.term_docs(facet, code) & docs)
                if n:
                    counts[code] = n
        else:
            return {}
        return dict(counts.most_common())

    # ---- maintenance -------------------------------------------------------------------------
    def warm(self) -> None:
        """Optional: open the searcher and build the per-segment columns now (e.g. in a web worker's
        start-up hook), so the first visitor does not pay for it (~1 s at 100k documents)."""
        for kind in KINDS:
            self.search(SearchQuery(text="", kind=kind, per_page=1))
        self.search(SearchQuery(text="材料", per_page=1))

    def versions(self, kind: str | None = None) -> dict[str, str]:
        """key -> version of every document (for drift checks)."""
        snap = self._snapshot()
        if snap is None:
            return {}
        out: dict[str, str] = {}
        wanted = snap.kind_docs(kind) if kind else None
        for r, off in snap.leaves:
            keys = r.column_reader("version") if r.has_column("version") else None
            for local in range(r.doc_count_all()):
                d = off + local
                if d not in snap.live or (wanted is not None and d not in wanted):
                    continue
                sf = r.stored_fields(local)
                if sf.get("key") == META_KEY:
                    continue
                v = keys[local] if keys is not None else b""
                out[sf["key"]] = v.decode("utf-8") if isinstance(v, bytes) else str(v or "")
        return out

    def schema_outdated(self) -> bool:
        """True when the index on disk lacks a field of the current schema (it was built by an
        older release): `apply` then leaves the new fields out, so a rebuild is due."""
        snap = self._snapshot()
        if snap is None:
            return False
        return not set(build_schema().names()) <= set(snap.searcher.schema.names())

    def stats(self) -> dict[str, Any]:
        """Document counts per kind, size on disk, segments, last applied id, dictionary words."""
        snap = self._snapshot()
        size = sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file()) if self.path.exists() else 0
        out: dict[str, Any] = {
            "path": str(self.path),
            "generation": snap.gen if snap else None,
            "documents": {k: 0 for k in KINDS},
            "total": 0,
            "size_bytes": size,
            "segments": 0,
            "last_applied_id": 0,
            "dictionary_words": analysis.dictionary_size() if self._words_loaded else None,
            "user_words": len(self.user_words),
        }
        if snap is None:
            return out
        for k in KINDS:
            out["documents"][k] = len(snap.kind_docs(k))
        out["total"] = sum(out["documents"].values())
        out["segments"] = len(snap.leaves)
        out["last_applied_id"] = _read_meta(snap.searcher).get("last_applied_id", 0)
        return out

    def close(self) -> None:
        if self._snap is not None:
            self._snap.close()
            self._snap = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):
            self.close()


def _refreshed_searcher(ix, old_reader):
    """A searcher on the latest commit that re-uses the old reader's segment readers whose segment
    and deletions did not change. (Whoosh's own ``Searcher.refresh`` in whoosh-reloaded 2.7.5
    re-uses a segment reader even when the segment gained deletions, and keeps segments that a
    merge removed - deleted documents would stay visible.)"""
    from whoosh.reading import MultiReader, SegmentReader
    from whoosh.searching import Searcher

    toc = ix._read_toc()
    reusable = {}
    for r, _ in old_reader.leaf_readers():
        seg = r.segment()
        if seg is not None:
            reusable[seg.segment_id()] = r
    readers = []
    for seg in toc.segments:
        r = reusable.get(seg.segment_id())
        if r is not None and not r.is_closed and r.segment().deleted_count() == seg.deleted_count():
            del reusable[seg.segment_id()]
            readers.append(r)
        else:
            readers.append(SegmentReader(ix.storage, ix.schema, seg, generation=toc.generation))
    for r in reusable.values():
        with contextlib.suppress(Exception):
            r.close()
    if len(readers) == 1:
        reader = readers[0]
    else:
        reader = MultiReader(readers, generation=toc.generation)
    return Searcher(reader, fromindex=ix)


def _read_meta(searcher) -> dict[str, Any]:
    if searcher.reader().doc_count_all() == 0:  # no segment yet: Whoosh's lookup would fail
        return {}
    docnum = searcher.document_number(key=META_KEY)
    if docnum is None:
        return {}
    return searcher.stored_fields(docnum).get("meta") or {}


def _int(v: Any, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
