"""Search in step with the site: a change made through the web is searchable once its response is
sent, a search first applies what other processes committed, and the `flask search` commands
(reindex, check, stats, add-word, worker) do what operators rely on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import delete, select, update

from marketplace import search
from marketplace.core.timeutil import utcnow
from marketplace.listings import services as listings
from marketplace.listings.models import Achievement
from marketplace.outbox_models import SearchOutbox, SearchWord
from search_index import SearchQuery

ROOT = Path(__file__).resolve().parents[2]


def titles(index, words: str, kind: str = "achievement") -> list[str]:
    return [hit.title for hit in index.search(SearchQuery(text=words, kind=kind, per_page=100)).hits]


def found(words: str, kind: str = "achievement") -> list[str]:
    return [hit.title for hit in search.run_search(SearchQuery(text=words, kind=kind, per_page=100)).hits]


# ---------------------------------------------------------------------------------------------
# The web


def test_an_approval_is_searchable_once_its_response_is_sent(db, index, admin_client, make_achievement):
    listing = make_achievement(status="pending", title="氢冶金直接还原工艺")
    search.catch_up(index)
    response = admin_client.post(f"/achievements/{listing.id}/approve")
    assert response.status_code == 302
    assert titles(index, "氢冶金") == []  # the worker indexes after sending the response ...
    started = time.perf_counter()
    response.close()  # ... which the server signals by closing it
    took = time.perf_counter() - started
    assert titles(index, "氢冶金") == ["氢冶金直接还原工艺"]
    assert not search.is_behind(index)
    print(f"commit -> visible after the response: {took * 1000:.0f} ms")


def test_a_withdrawal_through_the_web_leaves_the_results(db, index, login_as, make_achievement):
    listing = make_achievement(title="软件定义卫星测控软件")
    search.catch_up(index)
    client = login_as(listing.created_by)
    with client.post(f"/achievements/{listing.id}/withdraw") as response:
        assert response.status_code == 302
    assert titles(index, "软件定义卫星") == []


def test_a_failed_request_indexes_nothing(db, index, login_as, make_achievement):
    listing = make_achievement(status="draft", title="深远海养殖平台")
    search.catch_up(index)
    position = index.last_applied_id()
    client = login_as(listing.created_by)
    with client.post(f"/achievements/{listing.id}/approve") as response:  # an owner may not approve
        assert response.status_code == 403
    assert index.last_applied_id() == position
    assert titles(index, "深远海养殖") == []


def test_a_search_first_applies_changes_committed_elsewhere(db, index, client, make_achievement):
    listing = make_achievement(title="电液控制液压支架")  # committed by services, no request
    assert search.is_behind(index)
    assert found("电液控制") == ["电液控制液压支架"]
    page = client.get("/search?q=电液控制").get_data(as_text=True)
    assert "电液控制液压支架" in page.replace("<mark>", "").replace("</mark>", "")

    listings.transition(listing, "withdraw", listing.created_by)
    db.session.commit()
    assert found("电液控制") == []
    assert "电液控制液压支架" not in client.get("/search?q=电液控制").get_data(as_text=True)


def test_drafts_and_withdrawn_listings_are_never_found(db, index, make_achievement):
    for status in ("draft", "pending", "withdrawn", "closed"):
        make_achievement(status=status, title=f"锂离子电池回收（{status}）")
    make_achievement(title="锂离子电池回收（公开）")
    assert found("锂离子电池") == ["锂离子电池回收（公开）"]


def test_searches_do_not_wait_for_a_rebuild_in_progress(db, app, index, make_achievement):
    make_achievement(title="氢冶金示范成果")
    search.catch_up(index)
    make_achievement(title="深远海养殖网箱")
    path = app.config["SEARCH_INDEX_DIR"]
    with search.sync_lock(path, None), search._rebuild_marker(path):  # as `flask search reindex` holds them
        started = time.perf_counter()
        assert found("氢冶金") == ["氢冶金示范成果"]  # the old index keeps answering
        assert time.perf_counter() - started < 0.3
        assert found("深远海养殖") == []
    assert found("深远海养殖") == ["深远海养殖网箱"]  # caught up once the lock is free


# ---------------------------------------------------------------------------------------------
# flask search ...


def test_reindex_builds_from_the_database_with_a_progress_bar(db, app, index, make_achievement, make_demand):
    make_achievement(title="高强钢冷轧技术")
    make_achievement(status="draft", title="高强钢草稿")
    make_demand(title="高强钢焊接需求")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "重建索引" in result.stderr  # the bar goes to stderr
    assert "索引已重建" in result.stdout
    assert titles(index, "高强钢") == ["高强钢冷轧技术"]
    assert titles(index, "高强钢", "demand") == ["高强钢焊接需求"]
    top = db.session.scalar(select(SearchOutbox.id).order_by(SearchOutbox.id.desc()).limit(1))
    assert index.last_applied_id() == top
    assert search.check(index).clean

    again = runner.invoke(args=["search", "reindex", "--if-needed"])
    assert again.exit_code == 0 and "无需重建" in again.stdout


def test_reindex_if_needed_builds_a_missing_index(db, app, tmp_path, make_achievement):
    make_achievement(title="新节点上的氢冶金成果")
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "new-node")
    try:
        result = app.test_cli_runner().invoke(args=["search", "reindex", "--if-needed"])
        assert result.exit_code == 0, result.output
        assert "索引已重建" in result.stdout
        assert titles(search.get_index(), "氢冶金") == ["新节点上的氢冶金成果"]
    finally:
        del app.extensions["search"]


def test_check_reports_drift_behind_the_outboxs_back_and_reindex_repairs_it(db, app, index, make_achievement):
    edited = make_achievement(title="被偷偷修改的成果")
    closed = make_achievement(title="变更记录丢失的成果")
    draft = make_achievement(status="draft", title="被偷偷发布的草稿")
    runner = app.test_cli_runner()
    clean = runner.invoke(args=["search", "check"])
    assert clean.exit_code == 0, clean.output
    assert "一致" in clean.output
    position = index.last_applied_id()

    # Changes that bypass the services, hence the outbox ...
    db.session.execute(
        update(Achievement).where(Achievement.id == edited.id).values(title="改过的标题", updated_at=utcnow())
    )
    db.session.execute(
        update(Achievement).where(Achievement.id == draft.id).values(status="published", published_at=utcnow())
    )
    # ... and a change whose outbox row was lost.
    listings.transition(closed, "close", closed.created_by)
    db.session.flush()
    db.session.execute(delete(SearchOutbox).where(SearchOutbox.id > position))
    db.session.commit()

    drift = runner.invoke(args=["search", "check"])
    assert drift.exit_code == 1, drift.output
    assert f"missing 1: achievement:{draft.id}" in drift.output
    assert f"stale 1: achievement:{edited.id}" in drift.output
    assert f"extra 1: achievement:{closed.id}" in drift.output
    assert "flask search reindex" in drift.output

    fixed = runner.invoke(args=["search", "reindex"])
    assert fixed.exit_code == 0, fixed.output
    after = runner.invoke(args=["search", "check"])
    assert after.exit_code == 0, after.output
    assert titles(index, "改过的标题") == ["改过的标题"]
    assert titles(index, "变更记录丢失") == []
    assert titles(index, "偷偷发布的草稿") == ["被偷偷发布的草稿"]


def test_stats_show_the_index_and_the_outbox_backlog(db, app, index, make_achievement):
    make_achievement(title="统计用成果")
    search.catch_up(index)
    make_achievement(title="尚未应用的成果")
    result = app.test_cli_runner().invoke(args=["search", "stats"])
    assert result.exit_code == 0, result.output
    assert "[index]" in result.output and "[outbox]" in result.output
    backlog = search.outbox_stats(index)["backlog"]
    assert backlog > 0
    assert f"backlog: {backlog}" in result.output
    assert "achievement" in result.output


def test_add_word_stores_admin_terms_for_every_node(db, app, tmp_path):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "add-word", "钠离子储能", "海上风电运维"])
    assert result.exit_code == 0, result.output
    assert "已添加：钠离子储能 海上风电运维" in result.output
    assert "reindex" in result.output
    assert set(db.session.scalars(select(SearchWord.word))) == {"钠离子储能", "海上风电运维"}
    again = runner.invoke(args=["search", "add-word", "钠离子储能"])
    assert "已存在：钠离子储能" in again.output
    assert search.open_index(tmp_path / "node").user_words == ("海上风电运维", "钠离子储能")
    assert runner.invoke(args=["search", "add-word", "长" * 51]).exit_code != 0


def test_the_worker_keeps_another_node_in_step_and_stops_on_sigterm(db, app, tmp_path, make_achievement):
    make_achievement(title="工作进程启动前的成果")
    node = tmp_path / "node2"
    env = {
        **os.environ,
        "APP_CONFIG": "testing",
        "TEST_DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "SEARCH_INDEX_DIR": str(node),
        "UPLOAD_DIR": str(tmp_path / "uploads"),
    }
    db.session.close()
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "--app", "wsgi", "search", "worker", "--interval", "0.1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        other = search.open_index(node)
        _wait_for(lambda: titles(other, "工作进程启动前") == ["工作进程启动前的成果"])  # built on start
        listing = make_achievement(title="氢冶金示范线")
        committed = time.perf_counter()
        _wait_for(lambda: titles(other, "氢冶金示范线") == ["氢冶金示范线"])
        print(f"commit -> visible on another node (worker, 0.1 s poll): {time.perf_counter() - committed:.2f} s")
        listings.transition(listing, "withdraw", listing.created_by)
        db.session.commit()
        _wait_for(lambda: titles(other, "氢冶金示范线") == [])
    finally:
        worker.send_signal(signal.SIGTERM)
        out, err = worker.communicate(timeout=30)
    assert worker.returncode == 0, err
    assert "search worker stopped" in err


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)
