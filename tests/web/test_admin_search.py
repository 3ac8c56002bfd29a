"""The back office's search page: statistics, domain terms, and a rebuild with progress."""

import pytest

from marketplace import search
from marketplace.extensions import db
from search_index import SearchQuery


@pytest.fixture
def index_dir(app, tmp_path):
    previous = app.config["SEARCH_INDEX_DIR"]
    app.config["SEARCH_INDEX_DIR"] = str(tmp_path / "index")
    yield app.config["SEARCH_INDEX_DIR"]
    for thread in app.extensions.pop("search_jobs", []):
        thread.join(timeout=30)
    app.config["SEARCH_INDEX_DIR"] = previous


def page(response) -> str:
    return response.get_data(as_text=True)


def test_admin_sees_index_figures(index_dir, admin_client, make_achievement):
    make_achievement(title="深远海养殖网箱")
    search.run_search(SearchQuery(text="网箱"))  # catches the index up
    text = page(admin_client.get("/admin/search"))
    assert "全文检索" in text and "开始重建" in text
    assert 'data-testid="reindex-card"' in text


def test_adding_domain_words(index_dir, admin_client):
    response = admin_client.post("/admin/search/words", data={"words": "氢冶金， 软件定义卫星"}, follow_redirects=True)
    assert "已添加 2 个词" in page(response)
    assert search.user_words() == ["氢冶金", "软件定义卫星"]
    again = admin_client.post("/admin/search/words", data={"words": "氢冶金"}, follow_redirects=True)
    assert "已存在：氢冶金" in page(again)
    empty = admin_client.post("/admin/search/words", data={"words": "  "}, follow_redirects=True)
    assert "请输入要添加的词语" in page(empty)
    long = admin_client.post("/admin/search/words", data={"words": "长" * 51}, follow_redirects=True)
    assert "不能超过50个字" in page(long)
    assert search.user_words() == ["氢冶金", "软件定义卫星"]


def test_rebuild_runs_in_the_background_and_reports_progress(app, index_dir, admin_client, make_achievement):
    listing = make_achievement(title="锂离子电池正极材料")
    response = admin_client.post("/admin/search/reindex", follow_redirects=True)
    assert "已开始重建索引" in page(response)
    for thread in app.extensions.get("search_jobs", []):
        thread.join(timeout=30)
    status = search.reindex_status(index_dir)
    assert status["state"] == "done" and status["total"] == 2  # the listing and its organisation
    assert "上次重建完成：2 条" in page(admin_client.get("/admin/search"))
    hits = search.get_index().search(SearchQuery(text="正极材料")).hits
    assert [hit.id for hit in hits] == [listing.id]
    db.session.rollback()


def test_a_second_rebuild_is_refused_while_one_runs(app, index_dir, admin_client):
    from pathlib import Path

    marker = Path(index_dir + ".rebuilding")
    Path(index_dir).mkdir(parents=True, exist_ok=True)
    marker.write_text(str(__import__("os").getpid()))
    try:
        response = admin_client.post("/admin/search/reindex", follow_redirects=True)
        assert "索引正在重建中" in page(response)
    finally:
        marker.unlink()
