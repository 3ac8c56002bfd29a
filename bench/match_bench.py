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

Brokers' board (`--board`): the real application on a temporary SQLite database and index.

    .venv/bin/python bench/match_bench.py --board                  # 1,000 open demands, 3,000 achievements
    .venv/bin/python bench/match_bench.py --board --demands 1000 --achievements 3000 --repeat 20

Listings are real 51jishu achievements and demands plus CSL paper abstracts (`/work/shared/data`),
cleaned by the app's own validation and inserted as published rows; the search index is built
with `search.reindex`. Reported: `precompute.refresh()` throughput on the empty cache (listings/s),
an incremental refresh after new achievements are published through the services (propagation),
and GET /broker/board through the Flask test client as a logged-in broker — the first page
(default page size, cold = nothing cached yet, inline refresh within its budget; then warm) and
every page of the 1,000 demands (20 and 50 per page, filtered, sorted by score), p50/p95 over
`--repeat` runs.
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
    ap.add_argument("--board", action="store_true", help="benchmark the brokers' board instead")
    ap.add_argument("--demands", type=int, default=1000, help="--board: published open demands")
    ap.add_argument("--achievements", type=int, default=3000, help="--board: published achievements")
    ap.add_argument("--repeat", type=int, default=20, help="--board: runs per measured request")
    args = ap.parse_args()
    if args.board:
        board_bench(args)
        return

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


# ---------------------------------------------------------------------------------------------
# The brokers' board


def _read(path: Path, limit: int) -> list[dict]:
    import json

    rows = []
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                rows.append(json.loads(line))
            if len(rows) >= limit:
                break
    return rows


def _populate(n_demands: int, n_achievements: int) -> dict:
    """Organisations, a broker, and published listings from the real texts (the app's own
    validation; rows inserted directly, published)."""
    from datetime import timedelta

    from marketplace import demo
    from marketplace.accounts import services as accounts
    from marketplace.core.errors import ServiceError
    from marketplace.core.timeutil import local_today, utcnow
    from marketplace.extensions import db
    from marketplace.listings.models import Achievement, Demand
    from marketplace.listings.validation import clean_achievement, clean_demand

    data = ROOT.parent / "shared" / "data"
    if not data.exists():
        data = Path("/work/shared/data")
    rnd = random.Random(2026)
    districts = ["371102", "371103", "371121", "371122"]
    sellers = [accounts.create_org({"name": f"高校院所{i}", "org_type": "institute"}, verified=True) for i in range(8)]
    buyers = [accounts.create_org({"name": f"日照企业{i}", "org_type": "enterprise"}, verified=True) for i in range(12)]
    agency = accounts.create_org({"name": "日照技术转移中心", "org_type": "agency"}, verified=True)
    broker = accounts.create_user(
        {
            "email": "broker@bench.cn",
            "name": "经纪人",
            "role": "broker",
            "password": "Passw0rd-bench",
            "broker_level": "junior",
            "broker_cert_no": "JJR-1",
        },
        agency,
    )
    db.session.flush()
    now, today = utcnow(), local_today()
    made = {"achievement": 0, "demand": 0, "skipped": 0}

    def add(model, cleaned, org, i):
        cleaned.pop("patent_numbers", None)
        cleaned.setdefault("district", None)
        cleaned["district"] = cleaned["district"] or rnd.choice(districts)
        published = now - timedelta(minutes=i)
        db.session.add(
            model(**cleaned, org_id=org.id, status="published", published_at=published, created_at=published)
        )

    rows = _read(data / "techmarket_51jishu" / "achievements.jsonl", n_achievements)
    papers = _read(data / "csl" / "csl_papers.jsonl", max(0, n_achievements - len(rows)) * 2)
    for i, row in enumerate(rows):
        raw = demo.achievement_from_51jishu(row)
        try:
            add(Achievement, clean_achievement(raw), sellers[i % len(sellers)], i)
            made["achievement"] += 1
        except ServiceError:
            made["skipped"] += 1
    for i, row in enumerate(p for p in papers if p["discipline"] in demo.CSL_FIELD):
        if made["achievement"] >= n_achievements:
            break
        raw = {
            "title": row["title"][:200],
            "summary": row["abstract"],
            "field": demo.CSL_FIELD[row["discipline"]],
            "keywords": row["keywords"][:10],
            "maturity": "research",
            "ip_type": "non_patent",
            "transfer_modes": ["co_develop", "license"],
            "price": "面议",
        }
        try:
            add(Achievement, clean_achievement(raw), sellers[i % len(sellers)], i)
            made["achievement"] += 1
        except ServiceError:
            made["skipped"] += 1
    for i, row in enumerate(_read(data / "techmarket_51jishu" / "requirements.jsonl", n_demands * 2)):
        if made["demand"] >= n_demands:
            break
        coop = row.get("cooperation") or []
        raw = {
            "title": row["name"][:200],
            "description": row["description"] or row["name"],
            "field": demo.INDUSTRY_FIELD.get((row.get("industry_classes") or [""])[0], "11"),
            "demand_type": "co_develop"
            if "委托开发" in coop
            else "introduce"
            if coop and coop != ["其他"]
            else "tackle",
            "budget": "面议" if i % 3 else f"{rnd.choice([5, 10, 20, 30, 50, 80, 100])}万",
            "valid_until": (today + timedelta(days=rnd.randint(30, 365))).isoformat(),
        }
        try:
            add(Demand, clean_demand(raw, today=today), buyers[i % len(buyers)], i)
            made["demand"] += 1
        except ServiceError:
            made["skipped"] += 1
    db.session.commit()
    made["broker"] = broker
    made["sellers"] = sellers
    return made


def board_bench(args) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import select

    from marketplace import create_app, search
    from marketplace.accounts import services as accounts
    from marketplace.extensions import db
    from marketplace.listings import services as listings
    from marketplace.listings.models import Demand
    from marketplace.matching import precompute

    print(f"# match_bench --board: {args.demands:,} demands ({os.cpu_count()} cores, Python {sys.version.split()[0]})")
    tmp = Path(tempfile.mkdtemp(prefix="board-bench-"))
    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'bench.db'}",
        SEARCH_INDEX_DIR=str(tmp / "index"),
        UPLOAD_DIR=str(tmp / "uploads"),
        WTF_CSRF_ENABLED=False,
        MATCH_REFRESH_AFTER_REQUEST=False,  # measured separately below
        SEARCH_SYNC_AFTER_REQUEST=False,
    )
    try:
        with app.app_context():
            upgrade()
            t = time.perf_counter()
            made = _populate(args.demands, args.achievements)
            print(
                f"database: {made['demand']:,} published demands, {made['achievement']:,} published achievements "
                f"({made['skipped']} rows refused by validation) in {time.perf_counter() - t:.1f} s"
            )
            t = time.perf_counter()
            docs = search.reindex(procs=args.procs)
            print(f"search index: {docs:,} documents in {time.perf_counter() - t:.1f} s")
            broker_id = made["broker"].get_id()
            client = app.test_client()
            with client.session_transaction() as session:
                session["_user_id"] = broker_id
                session["_fresh"] = True

            def get(url: str) -> float:
                t0 = time.perf_counter()
                response = client.get(url)
                elapsed = time.perf_counter() - t0
                assert response.status_code == 200, (url, response.status_code)
                return elapsed * 1000

            cold = get("/broker/board")
            computed_inline = sum(precompute.pending().values())
            print(
                f"board, first page, cold (no cache; inline refresh within "
                f"{precompute.setting('MATCH_BOARD_REFRESH_SECONDS')} s): {cold:.0f} ms "
                f"({computed_inline:,} lists still waiting)"
            )

            result = precompute.refresh(lock_wait=None, index_wait=None)
            print(
                f"precompute (empty cache): {result.computed:,} demand lists in {result.seconds:.1f} s = "
                f"{result.computed / result.seconds:.1f} listings/s; {result.seeded:,} achievement states seeded"
            )

            rounds = max(1, args.repeat)
            first = [get("/broker/board") for _ in range(rounds)]
            print(
                f"board, first page (20), warm: p50 {pct(first, 50):.0f} ms, p95 {pct(first, 95):.0f} ms (n={rounds})"
            )
            for per_page in (20, 50):
                pages = -(-made["demand"] // per_page)
                times, totals = [], []
                for _ in range(max(1, rounds // 5)):
                    run = [get(f"/broker/board?per_page={per_page}&page={p}") for p in range(1, pages + 1)]
                    times += run
                    totals.append(sum(run))
                print(
                    f"board, every page ({pages} pages × {per_page}): per page p50 {pct(times, 50):.0f} ms, "
                    f"p95 {pct(times, 95):.0f} ms, max {max(times):.0f} ms; all {made['demand']:,} demands "
                    f"{pct(totals, 50) / 1000:.2f} s (n={len(totals)})"
                )
            for label, url in (
                ("sorted by best score", "/broker/board?sort=score"),
                ("sorted by candidates, 50", "/broker/board?sort=candidates&per_page=50"),
                ("filtered: field 01 + 未引荐", "/broker/board?field=01&introduced=no"),
                ("text q=系统", "/broker/board?q=系统"),
            ):
                runs = [get(url) for _ in range(rounds)]
                print(f"board, {label}: p50 {pct(runs, 50):.0f} ms, p95 {pct(runs, 95):.0f} ms")

            # Incremental: achievements published through the services (the outbox hook marks
            # nothing yet: they are new), then one refresh computes them and what they propagate to.
            owner_org = made["sellers"][0]
            owner = accounts.create_user(
                {"email": "owner@bench.cn", "name": "成果方", "role": "university", "password": "Passw0rd-bench"},
                owner_org,
            )
            admin = accounts.create_user(
                {"email": "admin@bench.cn", "name": "管理员", "role": "admin", "password": "Passw0rd-bench"}
            )
            demands = random.Random(9).sample(list(db.session.scalars(select(Demand))), 10)
            for i, demand in enumerate(demands):
                text = {"title": f"{demand.title[:180]}（新成果{i}）", "summary": demand.description}
                data = {
                    **text,
                    "field": demand.field_code,
                    "maturity": "sample",
                    "ip_type": "invention",
                    "transfer_modes": ["license"],
                    "price": "面议",
                    "contact_name": "王老师",
                    "contact_phone": "0633-8888888",
                }
                listing = listings.create_listing("achievement", owner, data)
                listings.transition(listing, "submit", owner)
                listings.transition(listing, "approve", admin)
            db.session.commit()
            t = time.perf_counter()
            search.catch_up()
            inc = precompute.refresh(lock_wait=None, index_wait=None)
            print(
                f"incremental: 10 new achievements → refresh {inc.computed} lists "
                f"({inc.propagated} demand lists marked by propagation) in {time.perf_counter() - t:.2f} s "
                "(including the search catch-up)"
            )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
