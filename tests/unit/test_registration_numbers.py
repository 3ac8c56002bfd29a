"""Contract registration numbers (合同登记号): the configurable format, one gap-free counter per
registration office and (Beijing-time) year, numbers given back by a rolled-back registration,
and no duplicates when several processes register at once (PostgreSQL only: SQLite serialises
writers, so it cannot show the race)."""

from __future__ import annotations

import multiprocessing
import os
import tempfile
from datetime import datetime

import pytest
from sqlalchemy import select

from marketplace.core.errors import Conflict
from marketplace.deals import contracts
from marketplace.deals.models import NumberSequence, TechContract
from marketplace.extensions import db
from tests.web.access_contracts import contract_data, make_deal

PROCESSES = 4
PER_PROCESS = 10


@pytest.fixture
def people(make_org, make_user):
    return {
        "seller": make_org(org_type="university"),
        "buyer": make_org(org_type="enterprise"),
        "broker": make_user("broker"),
        "official": make_user("official"),
    }


def submitted_contracts(people, count: int) -> list[TechContract]:
    made = []
    for _ in range(count):
        deal = make_deal(people["seller"], people["buyer"], people["broker"])
        contract = contracts.save_draft(deal, people["broker"], contract_data())
        contracts.submit(contract, people["broker"])
        made.append(contract)
    db.session.commit()
    return made


def register(contract, people) -> str:
    contracts.register(contract, people["official"])
    db.session.commit()
    return contract.registration_number


@pytest.fixture
def config(app):
    """Set app.config keys for one test and put the old values back afterwards."""
    saved: dict = {}

    def set_(**values):
        for key, value in values.items():
            saved.setdefault(key, app.config.get(key, KeyError))
            app.config[key] = value

    yield set_
    for key, value in saved.items():
        if value is KeyError:
            app.config.pop(key, None)
        else:
            app.config[key] = value


def test_default_format_is_year_office_and_six_digit_sequence(people, monkeypatch):
    # 2026-12-31 17:30 UTC is already 2027-01-01 in Beijing: the registration year is 2027.
    monkeypatch.setattr(contracts, "utcnow", lambda: datetime(2026, 12, 31, 17, 30))
    first, second = submitted_contracts(people, 2)
    assert register(first, people) == "2027371100000001"
    assert register(second, people) == "2027371100000002"
    assert len(first.registration_number) == 16  # the length of the national form's number


def test_the_format_and_office_come_from_the_configuration(people, config, monkeypatch):
    monkeypatch.setattr(contracts, "utcnow", lambda: datetime(2026, 6, 1, 2, 0))
    config(CONTRACT_NUMBER_FORMAT="{office}-{year}-{seq:04d}", REGISTRATION_OFFICE_CODE="371102")
    (contract,) = submitted_contracts(people, 1)
    assert register(contract, people) == "371102-2026-0001"
    assert contract.office_code == "371102"


def test_each_office_and_year_counts_on_its_own(people, config, monkeypatch):
    a1, a2, b1, next_year = submitted_contracts(people, 4)
    monkeypatch.setattr(contracts, "utcnow", lambda: datetime(2026, 3, 1, 2, 0))
    assert register(a1, people) == "2026371100000001"
    config(REGISTRATION_OFFICE_CODE="371121")
    assert register(b1, people) == "2026371121000001"
    config(REGISTRATION_OFFICE_CODE="371100")
    assert register(a2, people) == "2026371100000002"
    monkeypatch.setattr(contracts, "utcnow", lambda: datetime(2027, 1, 5, 2, 0))
    assert register(next_year, people) == "2027371100000001"
    counters = {(s.scope, s.year): s.last_value for s in db.session.scalars(select(NumberSequence))}
    assert counters == {("371100", 2026): 2, ("371121", 2026): 1, ("371100", 2027): 1}


def test_a_rolled_back_registration_gives_its_number_back(people, monkeypatch):
    monkeypatch.setattr(contracts, "utcnow", lambda: datetime(2026, 3, 1, 2, 0))
    first, second, third = submitted_contracts(people, 3)
    assert register(first, people) == "2026371100000001"
    contracts.register(second, people["official"])
    assert second.registration_number == "2026371100000002"
    db.session.rollback()  # e.g. a later step of the same request failed
    assert db.session.get(TechContract, second.id).status == "submitted"
    assert register(third, people) == "2026371100000002"  # no gap: 000002 was never used
    assert register(second, people) == "2026371100000003"


def test_a_refused_second_registration_takes_no_number(people, monkeypatch):
    monkeypatch.setattr(contracts, "utcnow", lambda: datetime(2026, 3, 1, 2, 0))
    first, second = submitted_contracts(people, 2)
    register(first, people)
    with pytest.raises(Conflict):
        contracts.register(first, people["official"])
    db.session.rollback()
    assert register(second, people) == "2026371100000002"


# ---------------------------------------------------------------------------------------------
# Concurrency: several processes, one database


def _register_share(url: str, contract_ids: list[int], official_id: int, barrier, errors) -> None:
    """Runs in a spawned process: its own app and connection pool, one commit per contract."""
    from marketplace import create_app
    from marketplace.accounts.models import User

    app = create_app(
        "testing",
        SQLALCHEMY_DATABASE_URI=url,
        UPLOAD_DIR=tempfile.mkdtemp(),
        SEARCH_INDEX_DIR=tempfile.mkdtemp(),
        WTF_CSRF_ENABLED=False,
    )
    with app.app_context():
        try:
            official = db.session.get(User, official_id)
            barrier.wait(timeout=60)  # start together, so the first-use insert races too
            for contract_id in contract_ids:
                contracts.register(db.session.get(TechContract, contract_id), official)
                db.session.commit()
        except Exception as exc:  # report to the parent, which fails the test
            db.session.rollback()
            errors.put(f"{os.getpid()}: {exc!r}")
        finally:
            db.session.remove()
            db.engine.dispose()


def _is_postgresql(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0].startswith(("postgresql", "postgres"))


@pytest.mark.skipif(
    not _is_postgresql(os.environ.get("TEST_DATABASE_URL")),
    reason="needs TEST_DATABASE_URL=postgresql://… (SQLite serialises writers, so it cannot show the race)",
)
def test_concurrent_registrations_from_several_processes_never_share_a_number(app, people):
    total = PROCESSES * PER_PROCESS
    made = submitted_contracts(people, total)
    ids = [c.id for c in made]
    official_id = people["official"].id
    db.session.commit()
    db.session.remove()  # hold no connection (or lock) while the children work

    context = multiprocessing.get_context("spawn")
    barrier, errors = context.Barrier(PROCESSES), context.Queue()
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workers = [
        context.Process(target=_register_share, args=(url, ids[n::PROCESSES], official_id, barrier, errors))
        for n in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=180)
    reported = []
    while not errors.empty():
        reported.append(errors.get())
    assert reported == []
    assert [worker.exitcode for worker in workers] == [0] * PROCESSES

    rows = db.session.execute(select(TechContract.status, TechContract.registration_number)).all()
    assert {status for status, _ in rows} == {"registered"}
    numbers = [number for _, number in rows]
    assert len(set(numbers)) == total
    sequences = sorted(int(number[-6:]) for number in numbers)
    assert sequences == list(range(1, total + 1))  # distinct, and no gaps
    (counter,) = db.session.scalars(select(NumberSequence)).all()
    assert counter.last_value == total
