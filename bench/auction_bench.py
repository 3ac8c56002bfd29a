"""Load on one auction: N concurrent bidders through the HTTP API on gunicorn with several workers.

    createdb -h 127.0.0.1 -U postgres auction_bench
    .venv/bin/python bench/auction_bench.py --url postgresql://postgres@127.0.0.1/auction_bench \
        --bidders 50 --workers 4 --seconds 60

Builds the schema with the real migrations on an empty database (the database is wiped), creates
a seller with a published achievement, N verified enterprise bidders with API tokens, and a live
auction (no deposit, so every bidder is qualified; no anti-sniping extension, so it stays open for
the whole run). Starts gunicorn, then each bidder thread loops: GET the auction's state, POST a bid
of the minimum plus 0–2 increments with a fresh Idempotency-Key. Many bids therefore race for the
same price; the losers get 409 or 422 and change nothing.

Prints accepted bids/s, refusals by status, p50/p95/p99 bid latency, then checks the final state
in the database: accepted bids strictly increasing by at least the increment, current price = the
highest bid, bid_count = number of bid rows, and after closing, winner = bidder of the highest bid.
Prints figures; the consistency checks exit non-zero when violated, the timings never do."""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "Bench-Passw0rd"
sys.path.insert(0, str(ROOT))


def build_world(app, bidders: int, minutes: int) -> tuple[int, list[str]]:
    from flask_migrate import upgrade
    from sqlalchemy import text

    from marketplace.accounts import services as accounts
    from marketplace.core.timeutil import utcnow
    from marketplace.extensions import db
    from marketplace.listings import services as listings
    from marketplace.trading import services as trading
    from tests.conftest import achievement_data

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            with db.engine.begin() as conn:
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
        upgrade()
        admin = accounts.create_user(
            {"email": "admin@bench.cn", "name": "管理员", "role": "admin", "password": PASSWORD}
        )
        seller_org = accounts.create_org({"name": "压测高校", "org_type": "university"}, verified=True)
        seller = accounts.create_user(
            {"email": "seller@bench.cn", "name": "卖方", "role": "university", "password": PASSWORD}, seller_org
        )
        achievement = listings.create_listing("achievement", seller, achievement_data(patent_numbers=""))
        listings.transition(achievement, "submit", seller)
        listings.transition(achievement, "approve", admin)
        listing = trading.create_listing(
            seller,
            achievement,
            {
                "transfer_mode": "transfer",
                "listing_price": "100000.00",
                "increment": "100.00",
                "reserve_price": "120000.00",
                "auction_minutes": str(minutes),
                "extend_minutes": "0",
            },
        )
        trading.review_listing(listing, admin, True)
        tokens = []
        users = []
        for n in range(bidders):
            org = accounts.create_org({"name": f"压测企业{n:03d}", "org_type": "enterprise"}, verified=True)
            user = accounts.create_user(
                {"email": f"bidder{n}@bench.cn", "name": f"竞买{n}", "role": "enterprise", "password": PASSWORD}, org
            )
            users.append(user)
            tokens.append(accounts.create_token(user, "bench"))
        for user in users:
            trading.register_interest(listing, user)
        listing.disclosure_end = utcnow() - timedelta(seconds=1)
        trading.conclude_listing(listing.id)
        db.session.commit()
        return listing.auction.id, tokens


def request(url: str, token: str, body: dict | None = None, key: str | None = None) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if key:
        headers["Idempotency-Key"] = key
    req = urllib.request.Request(url, data=data, headers=headers, method="POST" if body is not None else "GET")
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def bidder(base: str, auction_id: int, token: str, deadline: float, out: list, lock: threading.Lock) -> None:
    rng = random.Random()
    mine: list[tuple[int, float]] = []
    while time.monotonic() < deadline:
        status, state = request(f"{base}/api/v1/auctions/{auction_id}", token)
        if status != 200 or not state.get("minimum_bid"):
            mine.append((status, 0.0))
            continue
        amount = Decimal(state["minimum_bid"]) + Decimal(state["increment"]) * rng.randint(0, 2)
        started = time.perf_counter()
        status, _ = request(
            f"{base}/api/v1/auctions/{auction_id}/bids", token, {"amount": f"{amount:.2f}"}, key=uuid.uuid4().hex
        )
        mine.append((status, time.perf_counter() - started))
    with lock:
        out.extend(mine)


def wait_up(base: str, timeout: float = 30) -> None:
    until = time.monotonic() + timeout
    while time.monotonic() < until:
        try:
            urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=2).close()
            return
        except OSError:
            time.sleep(0.3)
    raise SystemExit("gunicorn did not start")


def check(app, auction_id: int) -> dict:
    from sqlalchemy import select

    from marketplace.extensions import db
    from marketplace.trading import services as trading
    from marketplace.trading.models import Auction, Bid

    with app.app_context():
        auction = db.session.get(Auction, auction_id)
        bids = db.session.scalars(select(Bid).where(Bid.auction_id == auction_id).order_by(Bid.seq)).all()
        problems = []
        if [b.seq for b in bids] != list(range(1, len(bids) + 1)):
            problems.append("bid sequence numbers are not 1..n")
        for before, after in zip(bids, bids[1:], strict=False):
            if after.amount < before.amount + auction.increment:
                problems.append(f"bid {after.seq} ({after.amount}) not above bid {before.seq} + increment")
                break
        if bids and auction.current_price != bids[-1].amount:
            problems.append("current price is not the last accepted bid")
        if bids and auction.current_price != max(b.amount for b in bids):
            problems.append("current price is not the highest bid")
        if auction.bid_count != len(bids):
            problems.append(f"bid_count {auction.bid_count} != {len(bids)} rows")
        closed = trading.close_auction(auction_id, now=auction.ends_at + timedelta(seconds=1))
        db.session.commit()
        if closed is None:
            problems.append("closing did not happen")
        elif bids and closed.status == "sold" and closed.winner_id != bids[-1].bidder_id:
            problems.append("winner is not the bidder of the highest bid")
        return {
            "accepted_rows": len(bids),
            "final_price": str(auction.final_price),
            "highest_bid": str(bids[-1].amount) if bids else None,
            "status": closed.status if closed else None,
            "problems": problems,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("DATABASE_URL"), required=not os.environ.get("DATABASE_URL"))
    parser.add_argument("--bidders", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    if args.bidders < 2:
        parser.error("--bidders must be at least 2 (one interested buyer is a 协议转让, not an auction)")

    from config import _normalise_db_url
    from marketplace import create_app

    url = _normalise_db_url(args.url)
    scratch = tempfile.mkdtemp(prefix="auction_bench")
    app = create_app(SQLALCHEMY_DATABASE_URI=url, UPLOAD_DIR=scratch, SEARCH_INDEX_DIR=scratch)
    auction_id, tokens = build_world(app, args.bidders, minutes=int(args.seconds / 60) + 30)
    env = {**os.environ, "DATABASE_URL": url, "UPLOAD_DIR": scratch, "SEARCH_INDEX_DIR": scratch}
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--log-level",
            "warning",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        wait_up(base)
        results: list[tuple[int, float]] = []
        lock = threading.Lock()
        deadline = time.monotonic() + args.seconds
        started = time.monotonic()
        threads = [
            threading.Thread(target=bidder, args=(base, auction_id, token, deadline, results, lock)) for token in tokens
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)

    bids = [(s, t) for s, t in results if t > 0]
    accepted = [t for s, t in bids if s == 201]
    by_status: dict[int, int] = {}
    for status, _ in bids:
        by_status[status] = by_status.get(status, 0) + 1
    latencies = sorted(t * 1000 for _, t in bids)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p * len(latencies)))] if latencies else 0.0

    final = check(app, auction_id)
    print(f"database: {app.config['SQLALCHEMY_DATABASE_URI'].split(':', 1)[0]}; gunicorn workers: {args.workers}")
    print(f"bidders: {args.bidders}; duration: {elapsed:.1f} s; bid requests: {len(bids)}")
    print(
        f"accepted bids: {len(accepted)} ({len(accepted) / elapsed:.1f}/s); all bid requests: {len(bids) / elapsed:.1f}/s"
    )
    print(f"answers by status: {dict(sorted(by_status.items()))}")
    print(
        f"bid latency ms: p50 {statistics.median(latencies) if latencies else 0:.1f}, p95 {pct(0.95):.1f}, "
        f"p99 {pct(0.99):.1f}, max {latencies[-1] if latencies else 0:.1f}"
    )
    print(
        f"final: {final['status']}, final price {final['final_price']}, highest bid {final['highest_bid']}, "
        f"bid rows {final['accepted_rows']}"
    )
    if final["accepted_rows"] != len(accepted):
        final["problems"].append(f"{len(accepted)} answers 201 but {final['accepted_rows']} bid rows")
    if final["problems"]:
        print("INCONSISTENT:", "; ".join(final["problems"]))
        raise SystemExit(1)
    print("consistent: accepted bids strictly increasing, current price = highest bid, winner = highest bidder")


if __name__ == "__main__":
    main()
