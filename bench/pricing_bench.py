"""Times the 技术定价 guidance (comparables through the search index) on a register of N contracts.

    .venv/bin/python bench/pricing_bench.py --n 3000 --cases 200
    .venv/bin/python bench/pricing_bench.py --n 100000 --cases 200   # index build takes minutes

Builds a fresh SQLite database with the real migrations, inserts N registered contracts from
marketplace.stats.demo.generate (the demo's generator), rebuilds the search index (timed), then
runs `pricing.guidance` for `--cases` of them taken as cases (each excludes itself) and prints
p50 / p95 / max in ms, plus how many cases had fewer than 5 comparables and how often filters
were relaxed. Prints figures; never passes or fails on time."""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--cases", type=int, default=200)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pricing_bench_"))
    os.environ["DATABASE_URL"] = f"sqlite:///{tmp}/b.db"
    os.environ["SEARCH_INDEX_DIR"] = str(tmp / "ix")

    from flask_migrate import upgrade
    from sqlalchemy import insert, select

    from marketplace import create_app, search
    from marketplace.deals.models import TechContract
    from marketplace.extensions import db
    from marketplace.stats import demo as stats_demo
    from marketplace.valuation import pricing

    app = create_app()
    with app.app_context():
        upgrade()
        rows = list(stats_demo.generate(args.n, seed=6))
        for start in range(0, len(rows), 5000):
            db.session.execute(insert(TechContract), rows[start : start + 5000])
        db.session.commit()
        t0 = time.perf_counter()
        search.reindex()
        build = time.perf_counter() - t0
        ids = list(db.session.scalars(select(TechContract.id)))
        rng = random.Random(8)
        picked = rng.sample(ids, min(args.cases, len(ids)))
        times, few, relaxed, counts = [], 0, 0, []
        pricing.guidance(pricing.contract_case(db.session.get(TechContract, picked[0])))  # warm
        with app.test_request_context():
            for cid in picked:
                case = pricing.contract_case(db.session.get(TechContract, cid))
                t = time.perf_counter()
                g = pricing.guidance(case)
                times.append((time.perf_counter() - t) * 1000)
                few += g.few
                relaxed += bool(g.relaxed)
                counts.append(g.count)
        times.sort()
        p95 = times[int(0.95 * (len(times) - 1))]
        print(f"contracts {args.n:,}  index rebuild {build:.1f} s  cases {len(times)}")
        print(f"guidance latency ms: p50 {statistics.median(times):.1f}  p95 {p95:.1f}  max {times[-1]:.1f}")
        print(
            f"comparables per case: median {statistics.median(counts)}  <5: {few}  relaxed filters: {relaxed}"
            f" ({relaxed / len(times):.0%})"
        )


if __name__ == "__main__":
    main()
