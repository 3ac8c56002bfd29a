"""Search benchmark: tokenizer comparison, full reindex, query latency with facets + highlights,
commit-to-visible time, memory. Prints figures; never asserts times.

    .venv/bin/python bench/search_bench.py            # N = 10,000
    .venv/bin/python bench/search_bench.py --n 100000 # the issue's target size (a few minutes)

Corpus: the real 51jishu achievements (2,810) and requirements (1,728) and the CSL papers (4,758)
from ../shared/data; beyond those, documents are recombined from real sentences of texts in the
same field / discipline with a real title of that group, so term statistics stay realistic.
Queries: 1-4 terms drawn from real titles and author keywords (about a quarter with a filter).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import re
import resource
import shutil
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DATA = ROOT.parent / "shared" / "data"
DISTRICTS = ["371102", "371103", "371121", "371122", "371171", "371172"]
MATURITY = {"正在研发": "research", "通过小试": "lab", "通过中试": "pilot", "已有样品": "sample", "可以量产": "mass"}
IP = {"非专利技术": "know_how", "发明专利": "invention", "实用新型专利": "utility", "外观专利": "design"}
MODES = {
    "完全转让": "transfer",
    "许可转让": "license",
    "技术入股": "equity",
    "合作生产": "coop",
    "其他": "other",
    "技术转让": "transfer",
    "技术许可": "license",
    "委托开发": "commission",
}
BANDS = [
    ("lt10w", 0, 1e5),
    ("10w-50w", 1e5, 5e5),
    ("50w-100w", 5e5, 1e6),
    ("100w-500w", 1e6, 5e6),
    ("gt500w", 5e6, 1e18),
]
SENT = re.compile(r"[^。！？；.!?;]+[。！？；.!?;]?")


def _band(price_text: str) -> tuple[str, float | None]:
    m = re.match(r"([\d.]+)万元", price_text or "")
    if not m:
        return "negotiable", None
    yuan = float(m.group(1)) * 10_000
    return next(code for code, lo, hi in BANDS if lo <= yuan < hi), yuan


def load_base() -> list[dict]:
    rnd = random.Random(1)
    base = []
    for line in (DATA / "techmarket_51jishu" / "achievements.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        band, price = _band(d.get("price", ""))
        base.append(
            {
                "kind": "achievement",
                "title": d["name"],
                "body": d.get("description") or "",
                "keywords": [],
                "group": d.get("tech_field") or "",
                "field_top": d.get("tech_field_l1") or "",
                "field": d.get("tech_field_l2") or "",
                "maturity": MATURITY.get(d.get("maturity"), ""),
                "ip_type": IP.get(d.get("ip_type"), ""),
                "transfer_modes": sorted({MODES.get(c, "other") for c in d.get("cooperation") or []}),
                "price_band": band,
                "price": price,
            }
        )
    for line in (DATA / "techmarket_51jishu" / "requirements.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        base.append(
            {
                "kind": "demand",
                "title": d["name"],
                "body": d.get("description") or "",
                "keywords": [],
                "group": d.get("industry_class") or "",
                "field_top": (d.get("industry_classes") or [""])[0],
                "transfer_modes": sorted({MODES.get(c, "other") for c in d.get("cooperation") or []}),
                "price_band": "negotiable",
                "demand_type": rnd.choice(["tech", "challenge", "consult"]),
            }
        )
    for line in (DATA / "csl" / "csl_papers.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        base.append(
            {
                "kind": "achievement",
                "title": d["title"],
                "body": d["abstract"],
                "keywords": d["keywords"],
                "group": d["discipline"],
                "field_top": d["category"],
                "field": d["discipline"],
                "maturity": rnd.choice(list(MATURITY.values())),
                "ip_type": rnd.choice(list(IP.values())),
                "transfer_modes": [rnd.choice(["transfer", "license", "equity", "coop"])],
                "price_band": "negotiable",
                "price": None,
            }
        )
    return base


def make_docs(n: int, seed: int = 7) -> list[dict]:
    rnd = random.Random(seed)
    base = load_base()
    groups: dict[str, list[dict]] = {}
    for b in base:
        groups.setdefault(b["group"], []).append(b)
    t0 = datetime(2023, 1, 1)
    docs = []
    for i in range(n):
        if i < len(base):
            src = dict(base[i])
        else:
            src = dict(rnd.choice(base))
            peers = groups[src["group"]]
            sents = [s for p in rnd.sample(peers, min(3, len(peers))) for s in SENT.findall(p["body"])]
            rnd.shuffle(sents)
            body, k = "", 0
            while k < len(sents) and len(body) < 300:
                body += sents[k]
                k += 1
            src["body"] = body
            src["title"] = rnd.choice(peers)["title"]
            src["keywords"] = rnd.choice(peers)["keywords"]
        src.pop("group", None)
        kind = src["kind"]
        src.update(
            key=f"{kind}:{i + 1}",
            id=i + 1,
            district=rnd.choice(DISTRICTS),
            version=f"v{i}",
            published_at=t0 + timedelta(minutes=rnd.randrange(0, 60 * 24 * 700)),
            org_name=rnd.choice(["日照科技大学", "山东海洋研究院", "日照钢铁有限公司", "曲阜师范大学日照校区", ""]),
        )
        docs.append(src)
    return docs


def make_queries(n_queries: int = 240, seed: int = 11) -> list[tuple[str, str, dict]]:
    from search_index import analysis

    rnd = random.Random(seed)
    base = load_base()
    queries = []
    stop = analysis.stopwords()
    while len(queries) < n_queries:
        b = rnd.choice(base)
        if b["keywords"] and rnd.random() < 0.5:
            terms = rnd.sample(b["keywords"], min(len(b["keywords"]), rnd.randint(1, 4)))
        else:
            toks = [t for t in analysis.query_tokens(b["title"]) if len(t) > 1 and t not in stop]
            if not toks:
                continue
            terms = rnd.sample(toks, min(len(toks), rnd.randint(1, 4)))
        filters = {}
        if rnd.random() < 0.25:
            filters = {"district": rnd.choice(DISTRICTS)} if rnd.random() < 0.5 else {"field_top": b["field_top"]}
        queries.append((" ".join(terms), b["kind"], filters))
    return queries


def tokenizer_comparison(n_docs: int = 3000) -> None:
    import jieba
    import rjieba

    jieba.setLogLevel(60)
    base = load_base()[:n_docs]
    texts = [d["title"] + "。" + d["body"] for d in base]
    chars = sum(map(len, texts))
    t = time.perf_counter()
    jieba.initialize()
    jload = time.perf_counter() - t
    t = time.perf_counter()
    rjieba.cut("预热")
    print(f"\n## Tokenizers ({len(texts)} real texts, {chars:,} chars); jieba dictionary load {jload:.2f} s")
    print("| tokenizer | chars/s | tokens/doc | word-set Jaccard vs jieba (words of 2+ chars) |")
    print("|---|---|---|---|")
    pairs = [
        ("cut (HMM off; our query side)", lambda s: jieba.lcut(s, HMM=False), lambda s: rjieba.cut(s, False)),
        ("cut_all (our index side)", lambda s: jieba.lcut(s, cut_all=True), rjieba.cut_all),
        ("cut_for_search", lambda s: jieba.lcut_for_search(s), rjieba.cut_for_search),
    ]
    for name, jf, rf in pairs:
        res = {}
        for lib, f in (("jieba", jf), ("rjieba", rf)):
            t = time.perf_counter()
            out = [f(x) for x in texts]
            res[lib] = (chars / (time.perf_counter() - t), out)
        # jieba's cut_all leaves out single characters that rjieba's includes: compare words of 2+ chars
        jac = statistics.mean(
            len(sa & sb) / max(len(sa | sb), 1)
            for a, b in zip(res["jieba"][1], res["rjieba"][1], strict=True)
            for sa, sb in [({w for w in a if len(w) > 1}, {w for w in b if len(w) > 1})]
        )
        for lib in ("jieba", "rjieba"):
            cps, out = res[lib]
            tpd = sum(map(len, out)) / len(out)
            print(f"| {lib}.{name} | {cps / 1e6:.2f}M | {tpd:.0f} | {'' if lib == 'jieba' else f'{jac:.3f}'} |")
    from search_index import analysis

    analysis.segmenter()
    t = time.perf_counter()
    for x in texts:
        analysis.index_terms(x)
    dt = time.perf_counter() - t
    print(f"| our full index analysis (fold + rjieba cut_all + tech tokens + chars) | {chars / dt / 1e6:.2f}M | | |")


def _status_mb(*keys: str) -> dict[str, float]:
    """RssAnon (private heap: what a worker really costs) and RssFile (index files mapped read-only:
    page cache shared by all workers, reclaimable) from /proc/self/status, in MB."""
    out = {}
    with open("/proc/self/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            if name in keys:
                out[name] = int(value.split()[0]) / 1024
    return out


def _query_worker(path: str, queries, conn) -> None:
    """A fresh process, like a web worker: open the index, answer queries, report latencies + memory."""
    import psutil

    from search_index import SearchIndex, SearchQuery

    proc = psutil.Process()
    rss0 = proc.memory_info().rss
    ix = SearchIndex(path)
    t = time.perf_counter()
    ix.search(SearchQuery(text="材料", kind="achievement"))
    first = time.perf_counter() - t
    lat, totals, relaxed, zero = [], [], 0, 0
    peak = proc.memory_info().rss
    peak_anon = _status_mb("RssAnon")["RssAnon"]
    for text, kind, filters in queries:
        q = SearchQuery(text=text, kind=kind, filters=filters)
        t = time.perf_counter()
        r = ix.search(q)
        lat.append((time.perf_counter() - t) * 1000)
        totals.append(r.total)
        relaxed += any(s.startswith("没有同时") for s in r.suggestions)
        zero += r.total == 0
        peak = max(peak, proc.memory_info().rss)
        peak_anon = max(peak_anon, _status_mb("RssAnon")["RssAnon"])
    # second pass: the same queries again (warm caches), to show the steady state
    lat2 = []
    for text, kind, filters in queries:
        t = time.perf_counter()
        ix.search(SearchQuery(text=text, kind=kind, filters=filters))
        lat2.append((time.perf_counter() - t) * 1000)
    end = _status_mb("RssAnon", "RssFile")
    conn.send(
        {
            "first": first,
            "lat": lat,
            "lat2": lat2,
            "totals": totals,
            "relaxed": relaxed,
            "zero": zero,
            "rss0": rss0,
            "peak": max(peak, proc.memory_info().rss),
            "peak_anon": peak_anon,
            **end,
        }
    )


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=240)
    ap.add_argument("--procs", type=int, default=None)
    ap.add_argument("--no-tokenizers", action="store_true")
    ap.add_argument("--keep", action="store_true")
    args = ap.parse_args()

    from search_index import SearchIndex, SearchQuery, analysis

    print(f"# search_bench N={args.n:,} ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    if not args.no_tokenizers:
        tokenizer_comparison()

    docs = make_docs(args.n)
    chars = sum(len(d["title"]) + len(d["body"]) for d in docs)
    print(f"\n## Corpus: {len(docs):,} documents, {chars / len(docs):.0f} chars/doc (title+body)")
    tmp = Path(tempfile.mkdtemp(prefix="search-bench-"))
    path = tmp / "index"
    ix = SearchIndex(path)
    t = time.perf_counter()
    analysis.segmenter()
    load = time.perf_counter() - t
    t = time.perf_counter()
    ix.rebuild(iter(docs), 1, total=len(docs), procs=args.procs)
    build = time.perf_counter() - t
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    self_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    st = ix.stats()
    print(
        f"dictionary load {load:.2f} s; full reindex {build:.1f} s = {len(docs) / build:,.0f} docs/s; "
        f"index {size / 1e6:.1f} MB, {st['segments']} segments"
    )
    print(f"peak RSS during build: main {self_rss:.0f} MB, largest sub-process {child_rss:.0f} MB")

    queries = make_queries(args.queries)
    ctx = multiprocessing.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    p = ctx.Process(target=_query_worker, args=(str(path), queries, send))
    p.start()
    res = recv.recv()
    p.join()
    lat, lat2 = res["lat"], res["lat2"]
    nterms = [len(q[0].split()) for q in queries]
    print(
        f"\n## Queries: {len(queries)} (1-4 terms, mean {statistics.mean(nterms):.1f}; "
        f"{sum(1 for q in queries if q[2])} with a filter), all facets + highlights, fresh worker process"
    )
    print(f"first query in the worker (opens index, builds columns): {res['first'] * 1000:.0f} ms")
    print(
        f"latency ms, first pass: p50 {pct(lat, 50):.1f} / p95 {pct(lat, 95):.1f} / p99 {pct(lat, 99):.1f} / "
        f"max {max(lat):.1f}"
    )
    print(
        f"latency ms, warm (same queries again): p50 {pct(lat2, 50):.1f} / p95 {pct(lat2, 95):.1f} / "
        f"p99 {pct(lat2, 99):.1f}"
    )
    print(
        f"results: median total {statistics.median(res['totals']):.0f}; relaxed (not all terms matched) "
        f"{res['relaxed']}; zero hits {res['zero']}"
    )
    print(
        f"worker memory: private heap (RssAnon) peak {res['peak_anon']:.0f} MB, {res['RssAnon']:.0f} MB at the end; "
        f"total RSS {res['rss0'] / 1e6:.0f} MB at start, peak {res['peak'] / 1e6:.0f} MB, including "
        f"{res['RssFile']:.0f} MB of index files mapped read-only (page cache shared by all workers, reclaimable)"
    )

    # commit-to-visible: one writer, one long-lived reader (another SearchIndex on the same path)
    reader = SearchIndex(path)
    reader.search(SearchQuery(text="材料"))
    times = []
    for i in range(5):
        d = dict(docs[i], title=f"可见性测试{i}号样品", version=f"edit{i}")
        t = time.perf_counter()
        ix.apply([d], [], 2 + i)
        applied = time.perf_counter() - t
        r = reader.search(SearchQuery(text=f"可见性测试{i}号样品", kind=d["kind"]))
        visible = time.perf_counter() - t
        assert r.total >= 1
        times.append((applied, visible))
    print(
        "\n## Edit: apply (lock + commit) / visible in another reader's next search, ms: "
        + ", ".join(f"{a * 1000:.0f}/{v * 1000:.0f}" for a, v in times)
    )
    if args.keep:
        print(f"index kept at {path}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
