"""A process killed with SIGKILL in the middle of a unit of work leaves no partial data, and the
next run repairs the search index from the outbox.

Each test runs the real work in a child process (the `flask listings import` command, or a short
script calling the service) that pauses at a named point of `marketplace.core.faultpoints` —
after its flush, before its commit — waits there for the parent to kill it, and then inspects
the database and the index. Runs on SQLite and on PostgreSQL (TEST_DATABASE_URL): on PostgreSQL
the killed transaction also held row locks (the registration counter, the auction row), and the
next unit of work must get them at once."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from marketplace import search
from marketplace.accounts.models import User
from marketplace.core import faultpoints
from marketplace.core.audit import AuditLog
from marketplace.core.timeutil import utcnow
from marketplace.core.validators import patent_check_char
from marketplace.deals import contracts
from marketplace.deals.models import NumberSequence, TechContract
from marketplace.extensions import db
from marketplace.listings.models import Achievement, AchievementPatent
from marketplace.outbox_models import SearchOutbox
from marketplace.trading import services as trading
from marketplace.trading.models import Auction, Bid
from search_index import SearchQuery
from tests.unit.test_trading_rules import live_auction, make_people
from tests.web.access_contracts import contract_data, make_deal

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 60  # a child imports the app (about 2 s) before it reaches its pause point

PRELUDE = """
import sys
from marketplace import create_app
from marketplace.extensions import db
from marketplace.accounts.models import User
app = create_app("testing", SQLALCHEMY_DATABASE_URI=sys.argv[1], SEARCH_INDEX_DIR=sys.argv[2],
                 UPLOAD_DIR=sys.argv[3], WTF_CSRF_ENABLED=False)
"""


def _is_postgresql(app) -> bool:
    return app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql")


def kill_when_paused(args: list[str], point: str, tmp_path: Path, env: dict[str, str] | None = None) -> None:
    """Start `args`, wait until it reaches `point`, SIGKILL it; the child never outlives this call."""
    marker = tmp_path / f"paused-{point}"
    log_path = tmp_path / f"child-{point}.log"
    child_env = {
        **os.environ,
        **(env or {}),
        faultpoints.ENV: point,
        faultpoints.MARKER_ENV: str(marker),
        faultpoints.SECONDS_ENV: "30",  # an orphan carries on (and ends) rather than hang forever
    }
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=ROOT, env=child_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not marker.exists():
            if proc.poll() is not None:
                pytest.fail(f"the child ended ({proc.returncode}) before {point}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"the child did not reach {point}:\n{log_path.read_text()}")
            time.sleep(0.02)
        pid, name = marker.read_text().split()
        assert (int(pid), name) == (proc.pid, point.partition(":")[0])
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=10) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def run_script(app, script: str, point: str, tmp_path: Path, *args: object) -> None:
    code = PRELUDE + textwrap.dedent(script)
    argv = [app.config["SQLALCHEMY_DATABASE_URI"], app.config["SEARCH_INDEX_DIR"], str(tmp_path / "uploads")]
    kill_when_paused([sys.executable, "-c", code, *argv, *map(str, args)], point, tmp_path)


def release_connections() -> None:
    """The parent holds no transaction (nor lock) while the child works."""
    db.session.commit()
    db.session.close()


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def titles(index, words: str) -> list[str]:
    return [hit.title for hit in index.search(SearchQuery(text=words)).hits]


@pytest.fixture
def lock_timeout(app):
    """On PostgreSQL, fail fast (instead of hanging) if a killed transaction's lock were kept."""
    if _is_postgresql(app):
        db.session.execute(text("SET lock_timeout = '10s'"))  # for this session's connection
    yield


# ---------------------------------------------------------------------------------------------
# The pause points themselves


def test_a_pause_point_is_inert_unless_the_variable_names_it(monkeypatch, tmp_path):
    marker = tmp_path / "marker"
    monkeypatch.setattr(faultpoints, "_hits", {})
    monkeypatch.setenv(faultpoints.MARKER_ENV, str(marker))
    monkeypatch.setenv(faultpoints.SECONDS_ENV, "0")
    monkeypatch.delenv(faultpoints.ENV, raising=False)
    faultpoints.pause_point("import.before_batch_commit")
    monkeypatch.setenv(faultpoints.ENV, "trading.bid.before_commit")
    faultpoints.pause_point("import.before_batch_commit")
    assert not marker.exists()
    faultpoints.pause_point("trading.bid.before_commit")
    assert marker.read_text() == f"{os.getpid()} trading.bid.before_commit\n"


def test_a_pause_point_can_wait_for_its_nth_hit(monkeypatch, tmp_path):
    marker = tmp_path / "marker"
    monkeypatch.setattr(faultpoints, "_hits", {})
    monkeypatch.setenv(faultpoints.MARKER_ENV, str(marker))
    monkeypatch.setenv(faultpoints.SECONDS_ENV, "0")
    monkeypatch.setenv(faultpoints.ENV, "import.before_batch_commit:3")
    for _ in range(2):
        faultpoints.pause_point("import.before_batch_commit")
    assert not marker.exists()
    faultpoints.pause_point("import.before_batch_commit")
    assert marker.exists()


def test_every_documented_pause_point_is_called_somewhere():
    sources = [ROOT / "marketplace" / "listings" / "importer.py", ROOT / "marketplace" / "deals" / "contracts.py"]
    sources += [ROOT / "marketplace" / "trading" / "services.py", ROOT / "marketplace" / "search.py"]
    code = "".join(path.read_text(encoding="utf-8") for path in sources)
    for point in faultpoints.POINTS:
        assert f'pause_point("{point}")' in code or f'pause_point, "{point}"' in code, point
        assert point in faultpoints.__doc__


# ---------------------------------------------------------------------------------------------
# (a) a bulk import, killed between two batch commits


def patent(n: int) -> str:
    digits = f"20171{n:07d}"
    return f"ZL{digits}.{patent_check_char(digits)}"


def write_import_file(path: Path, rows: int) -> Path:
    header = ["成果名称", "成果简介", "技术领域", "成熟度", "知识产权类型", "专利号", "转化方式", "价格"]
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        for n in range(1, rows + 1):
            writer.writerow(
                [
                    f"氢冶金导入成果{n:03d}",
                    "批量导入的科技成果简介。",
                    "新材料及其应用",
                    "已有样品",
                    "发明专利",
                    patent(n),
                    "转让",
                    "50万元",
                ]
            )
    return path


def test_an_import_killed_mid_batch_keeps_whole_batches_and_the_next_run_indexes_them(app, index, tmp_path, make_user):
    manager = make_user("university", manager=True)
    org = manager.active_org
    org_id, org_name = org.id, org.name
    release_connections()
    source = write_import_file(tmp_path / "成果.csv", 70)
    env = {
        "APP_CONFIG": "testing",
        "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SEARCH_INDEX_DIR": app.config["SEARCH_INDEX_DIR"],
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "listings", "import", str(source)]
    command += ["--org", org_name, "--publish", "--batch-size", "20"]
    # Batches 1 and 2 (rows 1-40) are committed; batch 3 (rows 41-60) is flushed, not committed.
    kill_when_paused(command, "import.before_batch_commit:3", tmp_path, env)

    listings = db.session.scalars(select(Achievement).order_by(Achievement.id)).all()
    assert [a.title for a in listings] == [f"氢冶金导入成果{n:03d}" for n in range(1, 41)]
    assert count(AchievementPatent) == 40
    ids = [a.id for a in listings]
    for listing in listings:  # every committed row is whole: patent, audit, outbox
        number = int(listing.title[-3:])
        assert listing.status == "published" and listing.patent_numbers == [patent(number)]
        assert [p.number for p in listing.patents] == [patent(number)]
    actions = db.session.execute(
        select(AuditLog.action, func.count()).where(AuditLog.object_type == "achievement").group_by(AuditLog.action)
    ).all()
    assert dict(actions) == {"create": 40, "approve": 40}
    assert count(AuditLog, AuditLog.action == "import", AuditLog.object_id == org_id) == 0  # never finished
    outboxed = db.session.scalars(select(SearchOutbox.object_id).where(SearchOutbox.kind == "achievement"))
    assert sorted(set(outboxed)) == ids
    assert titles(index, "氢冶金导入成果") == []  # the command died before any indexing

    # The next start (a fresh process reading the same index directory) catches up from the outbox.
    fresh = search.open_index(app.config["SEARCH_INDEX_DIR"])
    assert search.catch_up(fresh).applied >= 40
    assert len(fresh.search(SearchQuery(text="氢冶金导入成果", per_page=100)).hits) == 40
    release_connections()
    checked = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "search", "check"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "索引与数据库一致" in checked.stdout


# ---------------------------------------------------------------------------------------------
# (b) a contract registration, killed holding its number (SELECT … FOR UPDATE on PostgreSQL)


@pytest.fixture
def parties(make_org, make_user):
    return {
        "seller": make_org(org_type="university"),
        "buyer": make_org(org_type="enterprise"),
        "broker": make_user("broker"),
        "official": make_user("official"),
    }


def submitted_contract(parties) -> TechContract:
    deal = make_deal(parties["seller"], parties["buyer"], parties["broker"])
    contract = contracts.save_draft(deal, parties["broker"], contract_data())
    contracts.submit(contract, parties["broker"])
    db.session.commit()
    return contract


REGISTER = """
from marketplace.deals import contracts
from marketplace.deals.models import TechContract
with app.app_context():
    contract = db.session.get(TechContract, int(sys.argv[4]))
    contracts.register(contract, db.session.get(User, int(sys.argv[5])))
    db.session.commit()
"""


def test_a_registration_killed_before_its_commit_leaves_no_number_and_no_gap(
    app, index, tmp_path, parties, lock_timeout
):
    killed, other = submitted_contract(parties), submitted_contract(parties)
    killed_id, other_id, official_id = killed.id, other.id, parties["official"].id
    audits_before = count(AuditLog)
    release_connections()
    run_script(app, REGISTER, "contract.register.before_commit", tmp_path, killed_id, official_id)

    contract = db.session.get(TechContract, killed_id)
    assert (contract.status, contract.registration_number, contract.registered_at) == ("submitted", None, None)
    assert count(AuditLog) == audits_before  # no register audit, no timeline or deal-stage audit
    assert count(SearchOutbox, SearchOutbox.kind == "contract") == 0
    assert db.session.scalars(select(NumberSequence.last_value)).all() in ([], [0])

    # The lock (PostgreSQL: the counter and contract rows) died with the process: the next
    # registration goes through at once and takes the number the killed one never used.
    started = time.monotonic()
    official = db.session.get(User, official_id)
    registered = contracts.register(db.session.get(TechContract, other_id), official)
    db.session.commit()
    assert time.monotonic() - started < 5
    assert registered.registration_number.endswith("000001")
    contracts.register(db.session.get(TechContract, killed_id), official)
    db.session.commit()
    assert db.session.get(TechContract, killed_id).registration_number.endswith("000002")
    assert db.session.scalars(select(NumberSequence.last_value)).all() == [2]


# ---------------------------------------------------------------------------------------------
# (c) an auction bid, killed after its UPDATE and bid row were flushed


BID = """
from marketplace.trading import services as trading
with app.app_context():
    trading.place_bid(int(sys.argv[4]), db.session.get(User, int(sys.argv[5])), sys.argv[6])
    db.session.commit()
"""


def auction_state(auction_id: int) -> tuple:
    auction = db.session.get(Auction, auction_id)
    db.session.refresh(auction)
    bids = db.session.execute(select(Bid.seq, Bid.amount).where(Bid.auction_id == auction_id).order_by(Bid.seq))
    return auction.current_price, auction.bid_count, auction.version, auction.ends_at, list(bids)


def test_a_bid_killed_before_its_commit_changes_nothing(
    app, index, tmp_path, make_org, make_user, make_achievement, lock_timeout
):
    people = make_people(make_org, make_user, make_achievement)
    auction = live_auction(people)
    trading.place_bid(auction.id, people["b1"], "100万")
    db.session.commit()
    auction.ends_at = utcnow() + timedelta(minutes=2)  # the next bid falls in the 5-minute window
    db.session.commit()
    auction_id, b2_id = auction.id, people["b2"].id
    before = auction_state(auction_id)
    release_connections()
    run_script(app, BID, "trading.bid.before_commit", tmp_path, auction_id, b2_id, "110万")

    assert auction_state(auction_id) == before  # price, count, version, end time and bid rows
    # The auction row is free again: the next bid is accepted at once, as the second bid.
    started = time.monotonic()
    bid = trading.place_bid(auction_id, db.session.get(User, b2_id), "110万")
    db.session.commit()
    assert time.monotonic() - started < 5
    price, bid_count, version, ends_at, bids = auction_state(auction_id)
    assert (bid.seq, bid_count, version, len(bids)) == (2, 2, 2, 2)
    assert str(price) == "1100000.00" and ends_at > before[3]


# ---------------------------------------------------------------------------------------------
# (d) an index update, killed inside the Whoosh writer before its commit


CATCH_UP = """
from marketplace import search
with app.app_context():
    search.catch_up()
"""


def test_an_index_update_killed_before_its_commit_is_repaired_by_the_next_catch_up(
    app, index, tmp_path, make_achievement
):
    make_achievement(title="杀进程之前已索引的深远海养殖成果")
    search.catch_up(index)
    indexed_at = index.last_applied_id()
    make_achievement(title="杀进程时正在索引的氢冶金成果")
    release_connections()
    run_script(app, CATCH_UP, "search.index.before_commit", tmp_path)

    fresh = search.open_index(app.config["SEARCH_INDEX_DIR"])  # what the next process opens
    assert fresh.last_applied_id() == indexed_at  # the killed commit left no trace in the index
    assert titles(fresh, "深远海养殖") == ["杀进程之前已索引的深远海养殖成果"]
    assert titles(fresh, "氢冶金") == []
    # Neither the catch-up lock nor the index's write lock outlived the process.
    result = search.catch_up(fresh, wait=0.0)
    assert not result.skipped and result.applied >= 1
    assert titles(fresh, "氢冶金") == ["杀进程时正在索引的氢冶金成果"]
    assert titles(fresh, "深远海养殖") == ["杀进程之前已索引的深远海养殖成果"]
    assert search.check(fresh).clean
