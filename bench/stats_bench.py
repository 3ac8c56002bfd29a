"""Times the statistics dashboard's queries on a large register.

    .venv/bin/python bench/stats_bench.py --url sqlite:////tmp/stats_bench.db --n 1000000
    createdb -h 127.0.0.1 -U postgres stats_bench
    .venv/bin/python bench/stats_bench.py --url postgresql://postgres@127.0.0.1/stats_bench --n 1000000

Builds the schema with the real migrations (on an empty database), inserts N plausible registered
contracts from marketplace.stats.demo.generate (PostgreSQL: COPY; SQLite: executemany), plus a
few hundred amendments and cancellations, runs ANALYZE, then times every query the dashboard
(and the register list and the API) runs, `--repeat` times each, and prints p50 / p95 in ms.
Prints figures; never passes or fails on time. `--keep` reuses a loaded database."""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text

COLUMNS = [
    "project_name",
    "contract_type",
    "seller_name",
    "seller_nature",
    "seller_region",
    "buyer_name",
    "buyer_nature",
    "buyer_region",
    "amount",
    "non_tech_costs",
    "non_tech_breakdown",
    "technology_amount",
    "payment_mode",
    "signed_on",
    "field_code",
    "ip_type",
    "objective",
    "status",
    "office_code",
    "registration_number",
    "registered_at",
    "created_at",
    "updated_at",
]


def load(db, n: int, last_day: date) -> float:
    from marketplace.stats.demo import generate

    started = time.perf_counter()
    rows = generate(n, seed=2025, first_year=2017, last_day=last_day)
    engine = db.engine
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            cursor = raw.cursor()
            with cursor.copy(f"COPY tech_contracts ({', '.join(COLUMNS)}) FROM STDIN") as copy:
                for row in rows:
                    row["non_tech_breakdown"] = json.dumps(row["non_tech_breakdown"])
                    copy.write_row([row[c] for c in COLUMNS])
            raw.commit()
        finally:
            raw.close()
    else:
        from marketplace.deals.models import TechContract

        batch: list[dict] = []
        with engine.begin() as conn:
            for row in rows:
                batch.append(row)
                if len(batch) == 20000:
                    conn.execute(insert(TechContract), batch)
                    batch = []
            if batch:
                conn.execute(insert(TechContract), batch)
    return time.perf_counter() - started


def amend_and_cancel(db, count: int = 300) -> None:
    """Amendments after 2025-06-30 (so an as-of query has work to undo) and cancellations."""
    from marketplace.deals.models import ContractAmendment, TechContract

    rng = random.Random(7)
    ids = db.session.scalars(
        select(TechContract.id)
        .where(TechContract.registered_at < datetime(2025, 6, 1))
        .order_by(TechContract.id.desc())
        .limit(count * 2)
    ).all()
    for contract_id in ids[:count]:
        contract = db.session.get(TechContract, contract_id)
        before = contract.amount
        contract.amount = before + 10000
        contract.technology_amount = contract.technology_amount + 10000
        db.session.add(
            ContractAmendment(
                contract_id=contract_id,
                kind="amend",
                changes={"amount": [f"{before:.2f}", f"{contract.amount:.2f}"]},
                reason="bench",
                created_at=datetime(2025, 9, 1) + timedelta(days=rng.randint(0, 60)),
            )
        )
    for contract_id in ids[count:]:
        contract = db.session.get(TechContract, contract_id)
        contract.status = "cancelled"
        contract.cancelled_at = datetime(2025, 10, 1)
    db.session.commit()


def queries(year: int):
    from marketplace.stats import dashboard, query
    from marketplace.stats.query import Filters

    f = Filters(date(year, 1, 1), date(year, 12, 31))
    q3 = Filters(date(year, 7, 1), date(year, 9, 30))
    district = f.with_(district="371103")
    ly = f.with_(start=date(year - 1, 1, 1), end=date(year - 1, 12, 31))
    asof = f.with_(as_of=date(year, 6, 30))
    named = [
        ("figure 技术输出 (year)", lambda: query.figures(f)),
        ("figure 技术吸纳 (year)", lambda: query.figures(f.with_(direction="input"))),
        ("figure 涉外输出 (year)", lambda: query.figures(f.with_(direction="foreign_output"))),
        ("figure 涉外吸纳 (year)", lambda: query.figures(f.with_(direction="foreign_input"))),
        ("figure last year (YoY)", lambda: query.figures(ly)),
        ("figure quarter", lambda: query.figures(q3)),
        ("figure district 岚山区", lambda: query.figures(district)),
        ("figure field 03 + type dev", lambda: query.figures(f.with_(field="03", contract_type="dev"))),
        ("figure as of a past date", lambda: query.figures(asof)),
        ("target progress (YTD)", lambda: query.target_progress(f)),
    ]
    for group in (
        "month",
        "district",
        "field",
        "contract_group",
        "contract_type",
        "ip_type",
        "seller_nature",
        "buyer_nature",
        "objective",
        "broker",
    ):
        named.append((f"breakdown {group}", lambda g=group: query.breakdown(f, g)))
    named += [
        ("breakdown month, district", lambda: query.breakdown(district, "month")),
        ("breakdown month, last year", lambda: query.breakdown(ly, "month")),
        ("breakdown month, as of", lambda: query.breakdown(asof, "month")),
        ("top 10 sellers", lambda: query.breakdown(f, "seller", limit=10)),
        ("top 10 buyers", lambda: query.breakdown(f, "buyer", limit=10)),
        ("list page 1 (+ its total)", lambda: query.contract_rows(f, "-registered", 1, 50)),
        ("list page 200 by amount", lambda: query.contract_rows(f, "-amount", 200, 50)),
        ("list drill-down district", lambda: query.contract_rows(f.with_(by="district", key="371121"))),
        ("list search 氢能", lambda: query.contract_rows(f.with_(q="氢能"))),
        ("funnel", lambda: dashboard.funnel(f.start, f.end, None)),
    ]
    return named


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True)
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="reuse an already loaded database")
    parser.add_argument("--whole-page", action="store_true", help="also time dashboard.build (all queries)")
    args = parser.parse_args()
    os.environ["DATABASE_URL"] = args.url

    from flask_migrate import upgrade

    from marketplace import create_app
    from marketplace.deals.models import TechContract
    from marketplace.extensions import db

    app = create_app(STATS_TARGETS={"2025": "12500000000"})
    with app.app_context():
        dialect = db.engine.dialect.name
        if not args.keep:
            if dialect == "postgresql":
                with db.engine.begin() as conn:
                    conn.execute(text("DROP SCHEMA public CASCADE"))
                    conn.execute(text("CREATE SCHEMA public"))
            elif args.url.startswith("sqlite:///"):
                Path(args.url.removeprefix("sqlite:///")).unlink(missing_ok=True)
            upgrade()
            seconds = load(db, args.n, date(2026, 11, 27))
            print(f"loaded {args.n:,} contracts in {seconds:.1f} s", flush=True)
            amend_and_cancel(db)
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE" if dialect == "postgresql" else "ANALYZE"))
        count = db.session.scalar(select(func.count(TechContract.id)))
        year_rows = db.session.scalar(
            select(func.count(TechContract.id)).where(
                TechContract.registered_at >= datetime(2024, 12, 31, 16),
                TechContract.registered_at < datetime(2025, 12, 31, 16),
            )
        )
        print(f"{dialect}: {count:,} contracts, {year_rows:,} registered in 2025; {args.repeat} runs each\n")
        print(f"{'query':<32} {'p50 ms':>8} {'p95 ms':>8}")
        worst = 0.0
        for name, run in queries(2025):
            run()  # warm
            times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                run()
                times.append((time.perf_counter() - started) * 1000)
                db.session.rollback()
            times.sort()
            p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
            worst = max(worst, p95)
            print(f"{name:<32} {statistics.median(times):>8.1f} {p95:>8.1f}", flush=True)
        print(f"\nworst p95: {worst:.1f} ms")
        if args.whole_page:
            from marketplace.stats import dashboard
            from marketplace.stats.query import Filters

            started = time.perf_counter()
            dashboard.build(Filters(date(2025, 1, 1), date(2025, 12, 31)))
            print(f"whole dashboard (all its queries, one run): {(time.perf_counter() - started) * 1000:.0f} ms")


if __name__ == "__main__":
    main()
