"""Queries and time per request for the load test's endpoints, in-process on the load world.

    .venv/bin/python bench/load/profile.py                       # every endpoint: queries, ms
    .venv/bin/python bench/load/profile.py --only /stats/ --profile   # + a pyinstrument tree
    .venv/bin/python bench/load/profile.py --sql /deals          # print the statements

Runs with the application's venv (pyinstrument is taken from bench/load/.venv). Uses Flask's
test client against the same database and index as the load test (bench/load/seed.py), logged in
as one persona per role. Each path is requested `--repeat` times after one warm-up request; the
figures are the median. Prints figures; never passes or fails on time."""

from __future__ import annotations

import argparse
import functools
import json
import os
import re
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(HERE))
for site in (HERE / ".venv" / "lib").glob("python3*/site-packages"):
    sys.path.append(str(site))  # pyinstrument only; the app's own packages come first

from seed import environment  # noqa: E402

WORLD = json.loads((HERE / ".accounts.json").read_text(encoding="utf-8"))
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def persona(role: str) -> dict:
    return next(p for p in WORLD["personas"] if p["role"] == role)


def endpoints() -> list[tuple[str, str | None, str, dict]]:
    """(label, role or None, path, extra) for the load mix's endpoints."""
    a = WORLD["achievement_ids"][0]
    d = WORLD["demand_ids"][0]
    return [
        ("home", None, "/", {}),
        ("search", None, "/search?q=锂电池", {}),
        ("search facet", None, "/search?q=机器人&field=03", {}),
        ("search demand", None, "/search?q=污水处理&type=demand", {}),
        ("search, a word found nowhere", None, "/search?q=交替方向乘子法", {}),
        ("achievement", None, f"/achievements/{a}", {}),
        ("demand", None, f"/demands/{d}", {}),
        ("services", None, "/services", {}),
        ("experts", None, "/experts", {}),
        ("login form", None, "/login", {}),
        ("me (university)", "university", "/me", {}),
        ("me (enterprise)", "enterprise", "/me", {}),
        ("deals (enterprise)", "enterprise", "/deals", {}),
        ("deals (broker)", "broker", "/deals", {}),
        ("stats", "official", "/stats/", {}),
        ("stats 2025 q3", "official", "/stats/?year=2025&period=q3", {}),
        ("api search", "token", "/api/v1/search?q=锂电池", {}),
        ("api achievement", "token", f"/api/v1/achievements/{a}", {}),
        ("api draft (with the work after the response)", "token", "/api/v1/achievements", {"json": DRAFT}),
    ]


DRAFT = {
    "title": "性能剖析草稿",
    "summary": "bench/load/profile.py 写入的草稿，不提交审核。",
    "field": "03",
    "maturity": "lab",
    "ip_type": "non_patent",
    "transfer_modes": ["license"],
    "price": "面议",
}


def request(client, path: str, headers: dict, extra: dict):
    if "json" in extra:  # a write: closing the response runs the after-response work too
        response = client.post(path, headers=headers, json=extra["json"])
        response.close()
        return response
    return client.get(path, headers=headers)


def explain(app, captured: list[tuple[str, object]]) -> None:
    """Print the statements whose plan reads a large table sequentially, with the plan's cost."""
    from marketplace.extensions import db

    seen = set()
    with app.app_context():
        raw = db.engine.raw_connection()
        try:
            cursor = raw.cursor()
            for statement, parameters in captured:
                if not statement.lstrip().upper().startswith("SELECT") or statement in seen:
                    continue
                seen.add(statement)
                cursor.execute("EXPLAIN " + statement, parameters or None)
                plan = "\n".join(row[0] for row in cursor.fetchall())
                scans = re.findall(r"Seq Scan on (\w+)", plan)
                cost = re.search(r"cost=[\d.]+\.\.([\d.]+)", plan)
                if scans and cost and float(cost.group(1)) > 1000:
                    print(
                        f"    seq scan {sorted(set(scans))} cost {cost.group(1)}: {' '.join(statement.split())[:200]}"
                    )
            raw.rollback()
        finally:
            raw.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="kjtb_load")
    parser.add_argument("--only", default="", help="substring of the paths to run")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="print a pyinstrument tree per path")
    parser.add_argument("--sql", action="store_true", help="print the statements (grouped) per path")
    parser.add_argument("--login", action="store_true", help="also time POST /login")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN every statement; show sequential scans")
    args = parser.parse_args()
    os.environ.update(environment(args.db))
    os.environ["LOGIN_LIMIT_PER_ADDRESS"] = "100000 per minute"

    from sqlalchemy import event

    from marketplace import create_app
    from marketplace.extensions import db

    app = create_app()
    statements: list[str] = []
    captured: list[tuple[str, object]] = []

    def before(_conn, _cursor, statement, parameters, _context, _many):
        statements.append(statement)
        captured.append((statement, parameters))

    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", before)

    clients = {}

    def client_for(role: str | None):
        if role in clients:
            return clients[role]
        c = app.test_client()
        if role and role != "token":
            p = persona(role)
            page = c.get("/login").get_data(as_text=True)
            token = CSRF.search(page).group(1)
            t0 = time.perf_counter()
            r = c.post("/login", data={"csrf_token": token, "email": p["email"], "password": p["password"]})
            if args.login:
                print(f"POST /login ({role}): {(time.perf_counter() - t0) * 1000:.0f} ms, status {r.status_code}")
        clients[role] = c
        return c

    print(f"| endpoint | path | status | queries | ms (median of {args.repeat}) |\n|---|---|---:|---:|---:|")
    for label, role, path, extra in endpoints():
        if args.only and args.only not in path and args.only not in label:
            continue
        c = client_for(role)
        headers = {"Authorization": f"Bearer {persona('university')['token']}"} if role == "token" else {}
        call = functools.partial(request, c, path, headers, extra)
        call()  # warm
        times, counts = [], []
        status = 0
        for _ in range(args.repeat):
            statements.clear()
            t0 = time.perf_counter()
            response = call()
            times.append((time.perf_counter() - t0) * 1000)
            counts.append(len(statements))
            status = response.status_code
        print(f"| {label} | {path} | {status} | {counts[-1]} | {statistics.median(times):.0f} |", flush=True)
        if args.explain:
            explain(app, captured)
        captured.clear()
        if args.sql:
            for text, n in Counter(" ".join(s.split())[:160] for s in statements).most_common(15):
                print(f"    {n:>4} × {text}")
        if args.profile:
            from pyinstrument import Profiler

            profiler = Profiler(interval=0.0005)
            profiler.start()
            call()
            profiler.stop()
            print(profiler.output_text(unicode=True, color=False, show_all=False))


if __name__ == "__main__":
    main()
