"""The outbox keeps the search index in step with the database: the row commits (or rolls back)
with the change, every workflow step is reflected after the indexer runs, unpublished rows never
reach the index, late commits below the applied position (PostgreSQL gaps) are picked up, a
process killed between commit and indexing is repaired, and two writer processes and two index
directories lose nothing."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from marketplace import search
from marketplace.accounts import services as accounts
from marketplace.accounts.models import User
from marketplace.core.timeutil import local_today, utcnow
from marketplace.listings import services as listings
from marketplace.listings.models import Achievement, Demand
from marketplace.outbox_models import SearchOutbox
from search_index import SearchQuery
from tests.conftest import achievement_data

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def admin(make_user) -> User:
    return make_user("admin", org=None)


def titles(index, words: str, kind: str = "achievement") -> list[str]:
    return [hit.title for hit in index.search(SearchQuery(text=words, kind=kind, per_page=100)).hits]


def outbox_count(db) -> int:
    return db.session.scalar(select(func.count()).select_from(SearchOutbox))


def publish(listing, owner, admin, db) -> None:
    listings.transition(listing, "submit", owner)
    listings.transition(listing, "approve", admin)
    db.session.commit()


def is_postgres(db) -> bool:
    return db.engine.dialect.name == "postgresql"


# ---------------------------------------------------------------------------------------------
# One transaction


def test_a_rollback_leaves_no_outbox_row_and_no_document(db, index, make_user, admin):
    owner = make_user("university")
    db.session.commit()
    before = outbox_count(db)
    listing = listings.create_listing("achievement", owner, achievement_data(title="回滚的氢冶金成果"))
    listings.transition(listing, "submit", owner)
    listings.transition(listing, "approve", admin)
    db.session.flush()
    assert outbox_count(db) > before  # written into the same transaction ...
    db.session.rollback()
    assert outbox_count(db) == before  # ... and gone with it
    search.catch_up(index)
    assert titles(index, "氢冶金") == []
    assert not any(key.startswith("achievement:") for key in index.versions())


def test_the_outbox_row_becomes_visible_with_the_change_not_before(db, index, make_achievement):
    listing = make_achievement(title="提交前不可见的成果")
    search.catch_up(index)
    listings.transition(listing, "withdraw", listing.created_by)
    db.session.flush()
    with Session(db.engine) as other:  # another connection sees neither the change nor its row
        assert other.scalar(select(Achievement.status).where(Achievement.id == listing.id)) == "published"
        assert other.scalar(select(func.max(SearchOutbox.id))) == index.last_applied_id()
    db.session.commit()
    assert search.is_behind(index)
    search.catch_up(index)
    assert titles(index, "提交前不可见") == []


def test_enqueue_writes_one_row_per_object_and_unit_of_work(db, make_org):
    org = make_org(verified=False)
    before = outbox_count(db)
    search.enqueue(org)
    search.enqueue(org)
    search.enqueue(org, listings=True)
    db.session.commit()
    rows = db.session.execute(select(SearchOutbox.kind, SearchOutbox.object_id).order_by(SearchOutbox.id)).all()
    assert outbox_count(db) == before + 2
    assert [tuple(r) for r in rows[-2:]] == [("organization", org.id), ("org_listings", org.id)]
    with pytest.raises(TypeError):
        search.enqueue(object())


# ---------------------------------------------------------------------------------------------
# The workflow, reflected after commit


def test_every_step_of_an_achievement_is_reflected(db, index, make_user, admin):
    owner = make_user("university")
    listing = listings.create_listing("achievement", owner, achievement_data(title="深远海养殖网箱监测系统"))
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "深远海养殖") == []  # draft

    listings.transition(listing, "submit", owner)
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "深远海养殖") == []  # pending review

    listings.transition(listing, "approve", admin)
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "深远海养殖") == ["深远海养殖网箱监测系统"]

    listings.transition(listing, "withdraw", owner)
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "深远海养殖") == []

    listings.update_listing(listing, owner, {"title": "软件定义卫星地面站"})
    publish(listing, owner, admin, db)
    search.catch_up(index)
    assert titles(index, "软件定义卫星") == ["软件定义卫星地面站"]
    assert titles(index, "深远海养殖") == []
    key = f"achievement:{listing.id}"
    assert index.versions()[key] == search.expected_versions()[key]

    listings.transition(listing, "close", owner)
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "软件定义卫星") == []
    assert search.check(index).clean


def test_editing_a_draft_spends_no_index_commit(db, index, make_user, admin):
    owner = make_user("university")
    listing = listings.create_listing("achievement", owner, achievement_data(title="草稿里的高强钢"))
    db.session.commit()
    search.catch_up(index)
    position = index.last_applied_id()
    for n in range(3):
        listings.update_listing(listing, owner, {"title": f"草稿里的高强钢第{n}版"})
        db.session.commit()
    assert search.is_behind(index)
    assert search.catch_up(index).applied == 3
    assert index.last_applied_id() == position  # read, but nothing to write
    assert not search.is_behind(index)
    publish(listing, owner, admin, db)
    search.catch_up(index)
    assert index.last_applied_id() == db.session.scalar(select(func.max(SearchOutbox.id)))
    assert titles(index, "高强钢") == ["草稿里的高强钢第2版"]


def test_rejected_and_expired_demands_leave_the_index(db, index, make_user, make_demand, admin):
    owner = make_user("enterprise")
    due = local_today() + timedelta(days=3)
    demand = make_demand(owner, title="电液控制阀门国产化需求", valid_until=due.isoformat())
    other = make_demand(owner, status="pending", title="电液控制系统改造需求")
    search.catch_up(index)
    assert titles(index, "电液控制", "demand") == ["电液控制阀门国产化需求"]

    listings.transition(other, "reject", admin, reason="请补充预算")
    assert listings.expire_due_demands(today=due + timedelta(days=1)) == 1
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "电液控制", "demand") == []
    assert db.session.get(Demand, demand.id).status == "expired"


def test_drafts_pending_withdrawn_and_closed_are_never_indexed(db, index, make_achievement):
    for status in ("draft", "pending", "published", "withdrawn", "closed"):
        make_achievement(status=status, title=f"高强钢焊接工艺（{status}）")
    search.catch_up(index)
    assert titles(index, "高强钢") == ["高强钢焊接工艺（published）"]
    assert sorted(index.versions("achievement")) == sorted(
        f"achievement:{a.id}" for a in db.session.scalars(select(Achievement).where(Achievement.status == "published"))
    )


def test_only_verified_organisations_are_indexed_and_renames_reach_their_listings(
    db, index, make_org, make_user, make_achievement, admin
):
    org = make_org(name="黄海锂电研究院", org_type="institute", verified=False)
    search.catch_up(index)
    assert titles(index, "黄海锂电", "organization") == []

    accounts.set_verified(org, True, admin)
    db.session.commit()
    owner = make_user("university", org=org)
    listing = make_achievement(owner, title="锂离子电池正极材料")
    search.catch_up(index)
    assert titles(index, "黄海锂电", "organization") == ["黄海锂电研究院"]

    accounts.update_org(org, {"name": "东港新材料中心"}, admin)
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "东港新材料中心", "organization") == ["东港新材料中心"]
    assert titles(index, "黄海", "organization") == []
    key = f"achievement:{listing.id}"
    assert index.versions()[key] == search.expected_versions()[key]  # carries the new name
    assert search.check(index).clean

    accounts.set_verified(org, False, admin)
    db.session.commit()
    search.catch_up(index)
    assert titles(index, "东港新材料中心", "organization") == []
    assert titles(index, "锂离子电池") == ["锂离子电池正极材料"]  # published listings stay public


def test_a_document_holds_public_text_only(db, make_achievement, make_demand):
    ach = make_achievement(
        title="氢冶金短流程",
        summary="公开简介",
        detail="保密的详细工艺参数",
        problem="解决碳排放",
        advantages="能耗低",
        application_scope="钢铁企业",
        team="张三团队",
        price="50万元",
        keywords="氢冶金；低碳",
        patent_numbers="ZL201720001285.X",
        contact_phone="0633-1234567",
    )
    doc = search.document_for(ach)
    assert doc["key"] == f"achievement:{ach.id}" and doc["kind"] == "achievement"
    assert doc["body"] == "公开简介\n解决碳排放\n能耗低\n钢铁企业"
    assert "保密" not in json.dumps(doc, ensure_ascii=False, default=str)
    assert "0633" not in json.dumps(doc, ensure_ascii=False, default=str)
    assert "张三" not in json.dumps(doc, ensure_ascii=False, default=str)
    assert doc["keywords"] == ["氢冶金", "低碳", "ZL201720001285.X"]
    assert (doc["price_band"], doc["price"]) == ("50w-100w", 500_000.0)
    assert (doc["field"], doc["field_top"]) == ("0303", "03")
    assert doc["org_name"] == ach.organization.name and doc["published_at"] == ach.published_at

    demand = make_demand(budget="面议")
    doc = search.document_for(demand)
    assert (doc["body"], doc["price_band"], doc["price"], doc["demand_type"]) == (
        demand.description,
        "negotiable",
        None,
        "tackle",
    )
    assert search.document_for(make_demand(budget="10-20万"))["price_band"] == "10w-50w"


# ---------------------------------------------------------------------------------------------
# Gaps: a lower id that commits after a higher one was applied


def _take_ids(db, *ids: int) -> None:
    """Give the unflushed outbox rows of this unit of work the ids a slow transaction would hold."""
    rows = [o for o in db.session.new if isinstance(o, SearchOutbox)]
    assert len(rows) == len(ids)
    for row, wanted in zip(rows, ids, strict=True):
        row.id = wanted


def _sync_sequence(db) -> None:
    if is_postgres(db):
        db.session.execute(
            text("SELECT setval(pg_get_serial_sequence('search_outbox', 'id'), (SELECT MAX(id) FROM search_outbox))")
        )
        db.session.commit()


def test_a_change_committing_below_the_applied_position_is_picked_up(db, index, make_achievement):
    slow = make_achievement(title="慢事务里的电液控制成果")
    fast = make_achievement(title="快事务里的高强钢成果")
    search.catch_up(index)
    position = index.last_applied_id()

    # The fast transaction was given id position+2 and commits first; it is applied ...
    listings.transition(fast, "withdraw", fast.created_by)
    _take_ids(db, position + 2)
    db.session.commit()
    assert search.catch_up(index).last_applied_id == position + 2
    assert titles(index, "高强钢") == []

    # ... then the slow one, holding position+1, commits: below the applied position.
    listings.transition(slow, "withdraw", slow.created_by)
    _take_ids(db, position + 1)
    db.session.commit()
    _sync_sequence(db)
    assert search.is_behind(index)
    search.catch_up(index)
    assert titles(index, "电液控制") == []
    assert not search.is_behind(index)
    assert search.check(index).clean


def test_a_gap_is_found_again_when_the_shared_state_is_lost(db, index, app, make_achievement):
    slow = make_achievement(title="状态丢失后的深远海养殖成果")
    fast = make_achievement(title="状态丢失后的高强钢成果")
    search.catch_up(index)
    position = index.last_applied_id()
    listings.transition(fast, "withdraw", fast.created_by)
    _take_ids(db, position + 2)
    db.session.commit()
    search.catch_up(index)
    # A crash between the index commit and the state write: the state no longer matches.
    Path(app.config["SEARCH_INDEX_DIR"] + ".sync.json").unlink()
    listings.transition(slow, "withdraw", slow.created_by)
    _take_ids(db, position + 1)
    db.session.commit()
    _sync_sequence(db)
    search.catch_up(index)  # re-applies the recent rows at or below the position
    assert titles(index, "深远海养殖") == []
    assert search.check(index).clean


def test_a_gap_older_than_the_gap_period_is_forgotten_and_check_reports_it(db, index, app, make_achievement):
    slow = make_achievement(title="超时事务里的软件定义卫星")
    fast = make_achievement(title="超时对照成果")
    search.catch_up(index)
    position = index.last_applied_id()
    listings.transition(fast, "withdraw", fast.created_by)
    _take_ids(db, position + 2)
    db.session.commit()
    search.catch_up(index)
    app.config["SEARCH_OUTBOX_GAP_SECONDS"] = 0  # the slow transaction outlived the gap period
    try:
        listings.transition(slow, "withdraw", slow.created_by)
        _take_ids(db, position + 1)
        db.session.commit()
        _sync_sequence(db)
        search.catch_up(index)
        drift = search.check(index)
    finally:
        del app.config["SEARCH_OUTBOX_GAP_SECONDS"]
    assert drift.extra == [f"achievement:{slow.id}"]
    search.reindex(index)
    assert search.check(index).clean


def test_postgresql_gap_between_two_open_transactions(db, index, make_achievement):
    if not is_postgres(db):
        pytest.skip("SQLite serialises writers: a lower id cannot commit after a higher one")
    slow = make_achievement(title="并发慢事务的锂离子电池成果")
    fast = make_achievement(title="并发快事务的氢冶金成果")
    search.catch_up(index)
    with Session(db.engine) as slow_tx:
        slow_tx.execute(update(Achievement).where(Achievement.id == slow.id).values(status="withdrawn"))
        slow_tx.add(SearchOutbox(kind="achievement", object_id=slow.id))
        slow_tx.flush()  # the id is taken now, the commit comes later
        listings.transition(fast, "withdraw", fast.created_by)
        db.session.commit()
        search.catch_up(index)
        assert titles(index, "氢冶金") == []
        slow_tx.commit()
    search.catch_up(index)
    assert titles(index, "锂离子电池") == []
    assert search.check(index).clean


# ---------------------------------------------------------------------------------------------
# Processes


def _child(script: str, app, index_dir: str, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run `script` in a new Python process on the same database and index directory."""
    code = _script_with_prelude(script, app, index_dir)
    return subprocess.run(
        [sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout
    )


def test_a_process_killed_after_its_commit_is_repaired_by_the_next_run(db, app, index, make_achievement):
    listing = make_achievement(title="被杀进程修改前的标题")
    listing_id, owner_id = listing.id, listing.created_by_id
    search.catch_up(index)
    db.session.commit()
    db.session.close()  # no open transaction while the child writes
    script = """
    with app.app_context():
        listing = db.session.get(Achievement, int(sys.argv[1]))
        owner = db.session.get(User, int(sys.argv[2]))
        listings.transition(listing, "withdraw", owner)
        listings.update_listing(listing, owner, {"title": "氢冶金新标题"})
        listings.transition(listing, "submit", owner)
        admin = db.session.scalar(db.select(User).where(User.role == "admin"))
        listings.transition(listing, "approve", admin)
        db.session.commit()
        os.kill(os.getpid(), signal.SIGKILL)  # after the commit, before any indexing
    """
    done = _child(script, app, app.config["SEARCH_INDEX_DIR"], str(listing_id), str(owner_id))
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert db.session.get(Achievement, listing_id).title == "氢冶金新标题"
    assert titles(index, "被杀进程") == ["被杀进程修改前的标题"]  # the index missed it
    search.catch_up(index)
    assert titles(index, "被杀进程") == []
    assert titles(index, "氢冶金") == ["氢冶金新标题"]
    assert search.check(index).clean


WRITER = """
from sqlalchemy.exc import OperationalError
from tests.conftest import achievement_data
tag, rounds = sys.argv[1], int(sys.argv[2])
retries = 0
with app.app_context():
    owner_id, admin_id = int(sys.argv[3]), int(sys.argv[4])

    def unit(work):
        # SQLite refuses a writer that would deadlock ("database is locked"): retry the unit.
        global retries
        for attempt in range(50):
            try:
                result = work(db.session.get(User, owner_id), db.session.get(User, admin_id))
                db.session.commit()
                break
            except OperationalError:
                db.session.rollback()
                retries += 1
                time.sleep(0.05 * (attempt + 1))
        else:
            raise SystemExit("gave up")
        # what the request hook does after a response: a short wait for the lock, else skip
        search.catch_up(wait=0.1)
        return result

    for i in range(rounds):
        def create(owner, admin):
            listing = listings.create_listing(
                "achievement", owner, achievement_data(title=f"并发写入{tag}第{i}条", patent_numbers="")
            )
            listings.transition(listing, "submit", owner)
            listings.transition(listing, "approve", admin)
            return listing.id
        listing_id = unit(create)
        if i % 3 == 1:
            def edit(owner, admin, listing_id=listing_id):
                listing = db.session.get(Achievement, listing_id)
                listings.transition(listing, "withdraw", owner)
                listings.update_listing(listing, owner, {"title": f"并发改写{tag}第{i}条"})
                listings.transition(listing, "submit", owner)
                listings.transition(listing, "approve", admin)
            unit(edit)
        elif i % 3 == 2:
            unit(lambda owner, admin, listing_id=listing_id: listings.transition(
                db.session.get(Achievement, listing_id), "withdraw", owner))
print("retries", retries)
"""


def test_two_writer_processes_lose_nothing(db, app, index, make_user, admin):
    owner = make_user("university")
    db.session.commit()
    owner_id, admin_id = owner.id, admin.id
    db.session.close()
    index_dir = app.config["SEARCH_INDEX_DIR"]
    rounds = 12
    args = [str(rounds), str(owner_id), str(admin_id)]
    procs = []
    for tag in ("甲", "乙"):
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", _script_with_prelude(WRITER, app, index_dir), tag, *args],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for proc in procs:
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert "LockError" not in err
    # Nothing lost by the writers' own catch-ups: compare before this process applies anything.
    expected = search.expected_versions()
    published = [k for k in expected if k.startswith("achievement:")]
    assert len(published) == 2 * (rounds - rounds // 3)
    actual = {k: v for k, v in index.versions().items() if k.startswith("achievement:")}
    assert actual == {k: expected[k] for k in published}
    assert len(titles(index, "并发改写")) == 2 * (rounds // 3)
    assert search.check(index).clean


def _script_with_prelude(script: str, app, index_dir: str) -> str:
    prelude = textwrap.dedent(
        f"""
        import os, signal, sys, time
        from marketplace import create_app
        from marketplace.extensions import db
        from marketplace.listings import services as listings
        from marketplace.listings.models import Achievement
        from marketplace.accounts.models import User
        from marketplace import search
        app = create_app("testing", SQLALCHEMY_DATABASE_URI={app.config["SQLALCHEMY_DATABASE_URI"]!r},
                         SEARCH_INDEX_DIR={index_dir!r}, UPLOAD_DIR={index_dir + "-uploads"!r})
        """
    )
    return prelude + textwrap.dedent(script)


def test_two_index_directories_each_catch_up_from_the_same_outbox(db, app, index, tmp_path, make_achievement):
    other = search.open_index(tmp_path / "node2")
    listing = make_achievement(title="两个节点都能找到的氢冶金成果")
    search.catch_up(index)
    assert titles(index, "氢冶金") == [listing.title]
    assert titles(other, "氢冶金") == []  # the second node has not caught up yet
    search.catch_up(other)
    assert titles(other, "氢冶金") == [listing.title]

    listings.transition(listing, "withdraw", listing.created_by)
    db.session.commit()
    search.catch_up(other)
    assert titles(other, "氢冶金") == [] and titles(index, "氢冶金") == [listing.title]
    search.catch_up(index)
    assert titles(index, "氢冶金") == []
    assert index.last_applied_id() == other.last_applied_id()
    assert search.check(index).clean and search.check(other).clean


# ---------------------------------------------------------------------------------------------
# Housekeeping and laziness


def test_prune_keeps_recent_rows_and_rows_this_node_has_not_applied(db, index, make_achievement):
    make_achievement(title="旧变更记录")
    search.catch_up(index)
    make_achievement(title="未应用的变更")  # after the node's position
    old = utcnow() - timedelta(days=30)
    db.session.execute(update(SearchOutbox).values(created_at=old))
    db.session.commit()
    position = index.last_applied_id()
    unapplied = db.session.scalar(select(func.count()).where(SearchOutbox.id > position))
    assert search.prune_outbox(index) > 0
    assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == unapplied
    make_achievement(title="新变更")
    assert search.prune_outbox(index) == 0  # recent rows stay, whoever has applied them
    search.catch_up(index)
    assert titles(index, "新变更") == ["新变更"]


def test_the_app_loads_no_segmenter_until_something_searches(app):
    code = (
        "import sys; from marketplace import create_app; create_app('testing'); "
        "loaded = [m for m in sys.modules if m.split('.')[0] in ('jieba', 'rjieba', 'opencc')]; "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


def test_one_search_index_per_process_and_app(app, index):
    assert search.get_index() is index
    assert app.extensions["search"].index is index
