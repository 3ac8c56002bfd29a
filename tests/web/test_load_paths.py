"""The slow paths the load test (bench/load) found, and what their fixes must keep: the pages show
the same thing, with a bounded number of queries.

- the search page asks the database the same few questions however many hits it shows;
- the home page lists the newest published listings first, with a fixed number of queries;
- the statistics dashboard keeps its register figures (per worker, or in Redis for all), yet shows a contract
  registered, changed or cancelled after it was drawn on the very next view;
- an API token's last use is written once a minute, not on every call."""

from __future__ import annotations

import os
import pickle
import re
import uuid
from contextlib import contextmanager
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import event, update

from marketplace.accounts.models import ApiToken
from marketplace.deals import contracts
from marketplace.deals.models import TechContract
from marketplace.extensions import db
from tests.unit.test_stats_figures import contract

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


@contextmanager
def counted() -> list[str]:
    """The SQL statements run inside the block."""
    statements: list[str] = []

    def record(_conn, _cursor, statement, *_args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


@pytest.fixture
def fresh_index(app, tmp_path):
    previous = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "search_index")
    yield
    app.config["SEARCH_INDEX_DIR"] = previous


# ---------------------------------------------------------------------------------------------
# Search page


def _search_queries(client, text: str) -> tuple[int, str]:
    client.get("/search", query_string={"q": text})  # the index catches up on the first search
    with counted() as statements:
        page = client.get("/search", query_string={"q": text}).get_data(as_text=True)
    return len(statements), page


def test_the_search_page_asks_the_same_few_queries_for_2_or_20_hits(client, make_user, make_achievement, fresh_index):
    owner = make_user("university")
    for n in range(2):
        make_achievement(owner=owner, title=f"海水淡化膜组件{n}号", patent_numbers="")
    few, page = _search_queries(client, "海水淡化")
    assert page.count('data-testid="hit-link"') == 2
    for n in range(2, 20):
        make_achievement(owner=owner, title=f"海水淡化膜组件{n}号", patent_numbers="")
    many, page = _search_queries(client, "海水淡化")
    assert page.count('data-testid="hit-link"') == 20
    assert many == few <= 6


def test_tab_counts_of_a_word_found_nowhere_still_say_nothing_was_found(client, make_achievement, fresh_index):
    make_achievement(title="静态磁场测量装置")
    page = client.get("/search", query_string={"q": "动态磁场"}).get_data(as_text=True)
    assert "静态磁场" in page  # the suggestion, once
    tabs = re.findall(r'data-kind="(\w+)">\s*[^<]+<span[^>]*data-testid="tab-count">(\d+)</span>', page)
    assert dict(tabs) == {"achievement": "0", "demand": "0", "organization": "0"}


# ---------------------------------------------------------------------------------------------
# Home page


def test_home_lists_the_newest_published_first_with_a_fixed_number_of_queries(
    client, make_user, make_achievement, make_demand
):
    owner = make_user("university")
    late = make_achievement(owner=owner, status="draft", title="先起草后发布的成果", patent_numbers="")  # created first
    make_achievement(owner=owner, title="较早发布的成果", patent_numbers="")
    from marketplace.listings import services as listings

    listings.transition(late, "submit", owner)
    listings.transition(late, "approve", make_user("admin", org=None))
    db.session.commit()
    with counted() as few:
        page = client.get("/").get_data(as_text=True)
    assert page.index("先起草后发布的成果") < page.index("较早发布的成果")
    for n in range(8):
        make_achievement(owner=owner, title=f"批量成果{n}", patent_numbers="")
        make_demand(title=f"批量需求{n}")
    with counted() as many:
        page = client.get("/").get_data(as_text=True)
    assert "批量成果7" in page and "批量需求7" in page and "较早发布的成果" not in page  # six of each
    assert len(many) == len(few)


# ---------------------------------------------------------------------------------------------
# Statistics dashboard


def _output_2025(official_client) -> Decimal:
    html = official_client.get("/stats/?year=2025").get_data(as_text=True)
    match = re.search(r'data-testid="kpi-output".*?data-amount="([0-9.]+)"', html, re.S)
    assert match
    return Decimal(match.group(1))


@pytest.fixture
def cached(app, monkeypatch):
    monkeypatch.setitem(app.config, "STATS_CACHE_SECONDS", 60)
    app.extensions.pop("stats_dashboard_cache", None)
    yield
    app.extensions.pop("stats_dashboard_cache", None)


def test_the_second_view_of_the_dashboard_reuses_the_register_figures(official_client, cached):
    contract(datetime(2025, 3, 1, 2), "120000.00")
    contract(datetime(2025, 5, 1, 2), "80000.00", field_code="05")
    with counted() as first:
        one = official_client.get("/stats/?year=2025").get_data(as_text=True)
    with counted() as second:
        two = official_client.get("/stats/?year=2025").get_data(as_text=True)
    assert one == two
    assert len(first) >= 30 and len(second) <= 12


def test_the_dashboard_shows_a_new_amended_or_cancelled_contract_at_once(official_client, make_user, cached):
    official = make_user("official")
    first = contract(datetime(2025, 3, 1, 2), "120000.00")
    assert _output_2025(official_client) == Decimal("120000.00")
    second = contract(datetime(2025, 4, 1, 2), "30000.00")  # registered after the first view
    assert _output_2025(official_client) == Decimal("150000.00")
    db.session.execute(update(TechContract).where(TechContract.id == first.id).values(amount=Decimal("100000.00")))
    db.session.commit()
    assert _output_2025(official_client) == Decimal("130000.00")
    contracts.cancel(db.session.get(TechContract, second.id), official, "双方解除")
    db.session.commit()
    assert _output_2025(official_client) == Decimal("100000.00")


def test_without_a_cache_setting_every_view_recomputes(app, official_client):
    assert not app.config["STATS_CACHE_SECONDS"]
    contract(datetime(2025, 3, 1, 2), "120000.00")
    official_client.get("/stats/?year=2025")
    with counted() as again:
        official_client.get("/stats/?year=2025")
    assert len(again) >= 30


@pytest.fixture
def shared_cache(app, monkeypatch):
    """The dashboard cache in Redis (REDIS_URL), under a key prefix of this test's own."""
    import redis

    from marketplace.stats import dashboard

    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            pytest.fail(f"CI needs Redis at {TEST_REDIS_URL}")
        pytest.skip(f"NOTICE: no Redis at {TEST_REDIS_URL} — the shared dashboard cache is not tried")
    prefix = f"kjtb-test:{uuid.uuid4().hex}:"
    monkeypatch.setattr(dashboard._RedisCache, "PREFIX", prefix)
    monkeypatch.setitem(app.config, "STATS_CACHE_SECONDS", 60)
    monkeypatch.setitem(app.config, "REDIS_URL", TEST_REDIS_URL)
    app.extensions.pop("stats_dashboard_cache", None)
    yield client, prefix
    app.extensions.pop("stats_dashboard_cache", None)
    for name in client.scan_iter(match=prefix + "*"):
        client.delete(name)
    client.close()


def _another_worker(app) -> None:
    """What a second gunicorn worker or node has: nothing cached in its own memory."""
    app.extensions.pop("stats_dashboard_cache", None)


def test_with_redis_every_worker_shares_the_dashboard_figures(app, official_client, shared_cache):
    client, prefix = shared_cache
    contract(datetime(2025, 3, 1, 2), "120000.00")
    with counted() as first:
        one = official_client.get("/stats/?year=2025").get_data(as_text=True)
    assert len(first) >= 30 and len(list(client.scan_iter(match=prefix + "*"))) == 1
    _another_worker(app)
    with counted() as second:
        two = official_client.get("/stats/?year=2025").get_data(as_text=True)
    assert one == two and len(second) <= 12
    contract(datetime(2025, 4, 1, 2), "30000.00")  # registered after both views: shown at once
    _another_worker(app)
    assert _output_2025(official_client) == Decimal("150000.00")


def test_a_cache_entry_not_signed_by_this_deployment_is_ignored(app, official_client, shared_cache):
    client, prefix = shared_cache
    contract(datetime(2025, 3, 1, 2), "120000.00")
    assert _output_2025(official_client) == Decimal("120000.00")
    [name] = client.scan_iter(match=prefix + "*")
    forged = pickle.dumps({"kpis": "forged"})
    client.set(name, b"\0" * 32 + forged)  # a wrong signature: never unpickled
    _another_worker(app)
    with counted() as statements:
        assert _output_2025(official_client) == Decimal("120000.00")
    assert len(statements) >= 30  # recomputed


def test_without_redis_the_dashboard_still_answers(app, official_client, monkeypatch, caplog):
    monkeypatch.setitem(app.config, "STATS_CACHE_SECONDS", 60)
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens there
    app.extensions.pop("stats_dashboard_cache", None)
    contract(datetime(2025, 3, 1, 2), "120000.00")
    try:
        assert _output_2025(official_client) == Decimal("120000.00")
        assert _output_2025(official_client) == Decimal("120000.00")
    finally:
        app.extensions.pop("stats_dashboard_cache", None)
    assert "stats cache: Redis unavailable" in caplog.text


# ---------------------------------------------------------------------------------------------
# API tokens


def test_a_tokens_last_use_is_written_once_a_minute(api_client, make_user):
    api = api_client(make_user("university"))
    token = db.session.query(ApiToken).one()
    assert token.last_used_at is None
    assert api.get("/api/v1/me").status_code == 200
    db.session.refresh(token)
    first = token.last_used_at
    assert first is not None
    with counted() as statements:
        assert api.get("/api/v1/me").status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE API_TOKENS")]
    db.session.execute(update(ApiToken).values(last_used_at=first - timedelta(minutes=2)))
    db.session.commit()
    assert api.get("/api/v1/me").status_code == 200
    db.session.refresh(token)
    assert token.last_used_at > first - timedelta(minutes=2)


# ---------------------------------------------------------------------------------------------
# Matching refresh after a change


def test_saving_a_draft_starts_no_matching_refresh_but_publishing_does(index, api_client, make_user, make_demand):
    from marketplace.matching.models import MatchState
    from tests.conftest import achievement_data

    make_demand(title="寻求机器视觉尺寸测量方案")
    owner_api = api_client(make_user("university"))
    admin_api = api_client(make_user("admin", org=None))
    with counted() as statements:
        created = owner_api.post("/api/v1/achievements", json=achievement_data(patent_numbers=""))
        created.close()  # runs the work scheduled for after the response
        patched = owner_api.patch(f"/api/v1/achievements/{created.get_json()['id']}", json={"title": "机器视觉测量"})
        patched.close()
    assert created.status_code == 201 and patched.status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith("SELECT") and "match_states" in s]

    url = f"/api/v1/achievements/{created.get_json()['id']}"
    owner_api.post(f"{url}/submit").close()
    approved = admin_api.post(f"{url}/review", json={"decision": "approve"})
    approved.close()
    assert approved.status_code == 200
    db.session.rollback()  # end this session's read snapshot (the requests shared it)
    states = {(s.source_kind, s.source_id) for s in db.session.query(MatchState)}
    assert ("achievement", created.get_json()["id"]) in states  # the refresh ran after the approval
