"""Experts in the search index (kind "expert"): found by Chinese text of their expertise, never
carrying private contact data, removed when deactivated, and covered by reindex and check."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from marketplace import search
from marketplace.extensions import db
from marketplace.outbox_models import SearchOutbox
from marketplace.resources import queries, services
from search_index import SearchQuery

EXPERT = {
    "name": "王海明",
    "title": "教授",
    "field_codes": ["0701"],
    "expertise": "反渗透海水淡化膜材料，浓盐水资源化利用",
    "achievements_text": "主持国家重点研发计划“海水淡化关键装备”",
    "phone": "13812345678",
    "email": "wanghm@example.cn",
}


@pytest.fixture
def manager(make_user):
    return make_user("university", manager=True)


def expert_hits(index, text: str) -> list[int]:
    search.catch_up(index)
    return [hit.id for hit in index.search(SearchQuery(text=text, kind="expert")).hits]


def test_an_expert_is_found_by_chinese_expertise_and_lost_when_deactivated(index, manager):
    expert = services.create_expert(manager, EXPERT)
    other = services.create_expert(
        manager, {**EXPERT, "name": "李青", "expertise": "智能网联汽车线控底盘", "achievements_text": ""}
    )
    queued = db.session.scalars(select(SearchOutbox.object_id).where(SearchOutbox.kind == "expert")).all()
    assert sorted(queued) == [expert.id, other.id]  # in the same transaction as the change
    db.session.commit()
    assert expert_hits(index, "海水淡化") == [expert.id]
    assert expert_hits(index, "线控底盘") == [other.id]
    assert expert_hits(index, "海水淡化") == [expert.id]
    # the list page goes through the same index
    assert [e.id for e in queries.expert_page(queries.ExpertArgs(q="浓盐水")).items] == [expert.id]
    services.set_expert_active(manager, expert, False)
    db.session.commit()
    assert expert_hits(index, "海水淡化") == []
    assert queries.expert_page(queries.ExpertArgs(q="浓盐水")).total == 0
    services.set_expert_active(manager, expert, True)
    db.session.commit()
    assert expert_hits(index, "海水淡化") == [expert.id]


def test_an_edit_is_reindexed_and_a_rollback_leaves_nothing(index, manager):
    expert = services.create_expert(manager, EXPERT)
    db.session.commit()
    services.update_expert(manager, expert, {"expertise": "海洋牧场与深远海养殖"})
    db.session.commit()
    assert expert_hits(index, "深远海养殖") == [expert.id]
    assert expert_hits(index, "反渗透") == []
    services.create_expert(manager, {**EXPERT, "name": "回滚", "expertise": "盐碱地改良"})
    db.session.rollback()
    assert expert_hits(index, "盐碱地") == []


def test_documents_never_carry_contact_data(app, manager):
    expert = services.create_expert(manager, EXPERT)
    document = search.document_for(expert)
    flat = repr(document)
    assert "13812345678" not in flat and "wanghm@example.cn" not in flat
    assert document["kind"] == "expert" and document["title"] == "王海明"
    assert "环境保护与资源综合利用 › 水污染防治" in document["keywords"]


def test_reindex_and_check_cover_experts(index, manager):
    active = services.create_expert(manager, EXPERT)
    gone = services.create_expert(manager, {**EXPERT, "name": "停用者"})
    services.set_expert_active(manager, gone, False)
    db.session.commit()
    search.reindex(index)
    assert expert_hits(index, "海水淡化") == [active.id]
    assert search.check(index).clean
    # drift is seen: a document removed behind the bridge's back shows up as missing
    index.apply([], [search.key_of("expert", active.id)], index.last_applied_id())
    drift = search.check(index)
    assert drift.missing == [f"expert:{active.id}"]
