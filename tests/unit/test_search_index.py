"""SearchIndex against small fixed corpora: matching, facets, sorting, paging, highlight, phrases,
filters, apply / last_applied_id, rebuild swap, versions, stats, and two writer processes."""

from __future__ import annotations

import multiprocessing
from datetime import datetime

import pytest

from search_index import SearchIndex, SearchQuery


def doc(n, title, body="", kind="achievement", **kw):
    d = {
        "key": f"{kind}:{n}",
        "kind": kind,
        "id": n,
        "title": title,
        "body": body,
        "version": kw.pop("version", f"v{n}"),
        "published_at": kw.pop("published_at", datetime(2024, 1, n % 28 + 1)),
    }
    d.update(kw)
    return d


CORPUS = [
    doc(
        1,
        "氢冶金关键技术",
        "采用氢气直接还原铁矿石，大幅降低CO2排放。",
        field_top="01",
        field="0101",
        district="rz1",
        maturity="pilot",
        transfer_modes=["license", "transfer"],
        ip_type="invention",
        price_band="lt10w",
        price=80_000,
    ),
    doc(
        2,
        "Q690高强钢焊接工艺",
        "适用于工程机械的高强钢焊接，符合GB/T 1591-2018。",
        field_top="02",
        field="0201",
        district="rz2",
        maturity="mass",
        transfer_modes=["transfer"],
        ip_type="utility",
        price_band="100w-500w",
        price=2_000_000,
    ),
    doc(
        3,
        "锂离子电池正极材料",
        "高镍三元正极材料的制备方法，提升锂离子电池能量密度。",
        keywords=["锂离子电池", "正极"],
        field_top="03",
        field="0301",
        district="rz1",
        maturity="mass",
        transfer_modes=["license"],
        ip_type="invention",
        price_band="10w-50w",
        price=300_000,
    ),
    doc(
        4,
        "深远海养殖装备",
        "面向深远海养殖的智能网箱与投喂系统，支持5G远程监控。",
        field_top="04",
        field="0401",
        district="rz3",
        maturity="sample",
        transfer_modes=["coop"],
        price_band="negotiable",
    ),
    doc(
        5,
        "软件定义卫星在轨重构",
        "软件定义卫星的载荷软件可在轨升级，TRL7。",
        field_top="01",
        field="0102",
        district="rz2",
        maturity="pilot",
        transfer_modes=["license"],
        ip_type="software",
        price_band="gt500w",
        price=8_000_000,
    ),
    doc(
        6,
        "电液控制系统",
        "液压支架电液控制系统，已在煤矿应用。專利號ZL201720001285.X",
        field_top="02",
        field="0202",
        district="rz1",
        maturity="mass",
        transfer_modes=["transfer", "license"],
        ip_type="invention",
        price_band="50w-100w",
        price=600_000,
    ),
    doc(7, "<script>alert(1)</script> 安全 检测", "检测 <b>粗体</b> & 转义。AI芯片", field_top="05", district="rz3"),
    doc(
        8,
        "寻求锂电池回收技术",
        "现寻求一种废旧锂电池回收的技术。",
        kind="demand",
        district="rz1",
        demand_type="tech",
        price_band="10w-50w",
    ),
    doc(
        9,
        "日照科技大学",
        "从事海洋工程与新材料研究的高校。",
        kind="organization",
        district="rz1",
        org_type="university",
    ),
]


@pytest.fixture
def ix(tmp_path):
    index = SearchIndex(tmp_path / "search")
    index.apply(CORPUS, [], 42)
    return index


def keys(result):
    return [h.key for h in result.hits]


def search(index, text="", **kw):
    return index.search(SearchQuery(text=text, **kw))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("氢冶金", "achievement:1"),
        ("氫冶金", "achievement:1"),  # traditional
        ("Q690", "achievement:2"),
        ("q690 高强钢", "achievement:2"),
        ("GB/T 1591", "achievement:2"),
        ("gb/t1591-2018", "achievement:2"),
        ("ＡＩ芯片", "achievement:7"),  # full-width
        ("5G", "achievement:4"),
        ("TRL7", "achievement:5"),
        ("CO2", "achievement:1"),
        ("ZL201720001285.X", "achievement:6"),
        ("zl201720001285", "achievement:6"),
        ("专利号", "achievement:6"),  # 專利號 folded at index time
        ("软件定义卫星", "achievement:5"),
        ("深远海养殖", "achievement:4"),
        ("电液控制", "achievement:6"),
        ("镍", "achievement:3"),  # a single character inside a word
        ("锂", "achievement:3"),
    ],
)
def test_finds(ix, text, expected):
    assert expected in keys(search(ix, text))


def test_ranking_title_and_exact_compound_first(ix):
    assert keys(search(ix, "锂离子电池"))[0] == "achievement:3"
    assert keys(search(ix, "高强钢"))[0] == "achievement:2"


def test_kinds_are_separate(ix):
    assert keys(search(ix, "锂电池", kind="demand")) == ["demand:8"]
    assert keys(search(ix, "高校", kind="organization")) == ["organization:9"]
    assert "demand:8" not in keys(search(ix, "锂电池"))


def test_phrase_queries_are_exact(ix):
    assert keys(search(ix, '"直接还原"')) == ["achievement:1"]
    assert keys(search(ix, "“电液控制系统”")) == ["achievement:6"]
    assert keys(search(ix, '"还原直接"')) == []  # same characters, wrong order
    assert keys(search(ix, '"锂离子电池能量密度"')) == ["achievement:3"]


def test_stop_word_only_query_still_matches(ix):
    assert "achievement:1" in keys(search(ix, "技术"))


def test_multi_term_query_relaxes_instead_of_zero(ix):
    r = search(ix, "氢冶金 铁矿石 火星探测")
    assert keys(r)[0] == "achievement:1"
    assert r.suggestions  # tells the user which part did not match / what to try
    assert any("火星探测" in s or "火星" in s for s in r.suggestions)


def test_all_terms_required_when_possible(ix):
    r = search(ix, "锂离子电池 正极")
    assert keys(r) == ["achievement:3"]
    assert r.suggestions == []


def test_exclusion(ix):
    assert "achievement:6" in keys(search(ix, "系统"))
    assert "achievement:6" not in keys(search(ix, "系统 -煤矿"))


def test_nothing_found_gives_empty_result_not_error(ix):
    r = search(ix, "完全不存在的词汇组合")
    assert r.total == 0 or r.suggestions is not None


def test_facets_count_within_query_and_other_filters(ix):
    r = search(ix, "")  # browse all achievements
    assert r.total == 7
    assert r.facets["district"] == {"rz1": 3, "rz2": 2, "rz3": 2}
    assert r.facets["maturity"] == {"mass": 3, "pilot": 2, "sample": 1}
    assert r.facets["transfer_modes"] == {"license": 4, "transfer": 3, "coop": 1}
    assert r.facets["price_band"]["negotiable"] == 1

    r = search(ix, "", filters={"district": "rz1"})
    assert r.total == 3
    # the district facet ignores its own filter (so users can switch), the others apply it
    assert r.facets["district"] == {"rz1": 3, "rz2": 2, "rz3": 2}
    assert r.facets["maturity"] == {"mass": 2, "pilot": 1}
    assert r.facets["field_top"] == {"01": 1, "02": 1, "03": 1}

    r = search(ix, "", filters={"district": "rz1", "maturity": "mass"})
    assert sorted(keys(r)) == ["achievement:3", "achievement:6"]
    assert r.facets["maturity"] == {"mass": 2, "pilot": 1}
    assert r.facets["district"] == {"rz1": 2, "rz2": 1}

    r = search(ix, "系统", filters={"transfer_modes": "license"})
    assert keys(r) == ["achievement:6"]


def test_sorting_and_paging(ix):
    by_price = keys(search(ix, "", sort="price_asc", per_page=10))
    assert by_price[:5] == ["achievement:1", "achievement:3", "achievement:6", "achievement:2", "achievement:5"]
    assert set(by_price[5:]) == {"achievement:4", "achievement:7"}  # no price: last
    assert keys(search(ix, "", sort="price_desc", per_page=2)) == ["achievement:5", "achievement:2"]
    newest = keys(search(ix, "", sort="newest", per_page=10))
    assert newest[0] == "achievement:7"
    pages = [keys(search(ix, "", sort="newest", page=p, per_page=3)) for p in (1, 2, 3, 4)]
    assert pages[0] + pages[1] + pages[2] == newest and pages[3] == []
    r = search(ix, "", page=2, per_page=3)
    assert r.total == 7 and r.page == 2 and r.per_page == 3


def test_highlight_is_html_safe(ix):
    r = search(ix, "检测")
    hit = r.hits[0]
    assert "<script>" not in hit.title_highlight and "&lt;script&gt;" in hit.title_highlight
    assert "<mark>检测</mark>" in hit.title_highlight
    assert "<b>" not in hit.highlight and "&amp;" in hit.highlight
    assert "<mark>检测</mark>" in hit.highlight
    r = search(ix, "氫冶金")
    assert r.hits[0].title_highlight == "<mark>氢冶金</mark>关键技术"


def test_snippet_is_cut_around_the_match(tmp_path):
    ix = SearchIndex(tmp_path / "s")
    body = "无关内容。" * 100 + "这里提到了石墨烯散热膜。" + "其他内容。" * 100
    ix.apply([doc(1, "材料", body)], [], 1)
    h = search(ix, "石墨烯").hits[0].highlight
    assert "<mark>石墨烯</mark>" in h and h.startswith("…") and h.endswith("…") and len(h) < 200


def test_documents_containing_every_keyword_verbatim_always_match(tmp_path):
    """Regression for the measured trap: keywords cut differently alone than inside the sentence."""
    texts = [
        "中华人民共和国科学技术部支持的研究生命科学项目",
        "基于深度学习的输电线路绝缘子缺陷检测方法",
        "高性能混凝土在跨海大桥工程中的耐久性研究",
        "农村集体经营性建设用地入市改革的法律问题",
    ]
    ix = SearchIndex(tmp_path / "s")
    ix.apply([doc(i, t) for i, t in enumerate(texts, 1)], [], 1)
    queries = [
        ("人民共和国", 1),
        ("生命科学", 1),
        ("研究生命", 1),
        ("绝缘子缺陷", 2),
        ("输电线路 缺陷检测", 2),
        ("跨海大桥 耐久性", 3),
        ("建设用地入市", 4),
        ("集体经营性", 4),
        ("经营性建设", 4),
    ]
    for q, n in queries:
        assert f"achievement:{n}" in keys(search(ix, q)), q


def test_apply_updates_deletes_and_records_position(ix, tmp_path):
    assert ix.last_applied_id() == 42
    other = SearchIndex(ix.path)  # another process's view of the same directory
    assert keys(search(other, "氢冶金")) == ["achievement:1"]
    ix.apply([doc(1, "氢能炼钢", "全新描述", version="v1b")], ["achievement:2"], 43)
    assert keys(search(other, "氢冶金")) == []
    assert keys(search(other, "氢能炼钢")) == ["achievement:1"]
    assert keys(search(other, "Q690")) == []
    assert other.last_applied_id() == 43
    assert other.versions()["achievement:1"] == "v1b"
    assert "achievement:2" not in other.versions()
    # the position never moves backwards; upsert+delete of one key in a batch = deleted
    ix.apply([doc(3, "再次更新")], ["achievement:3"], 10)
    assert ix.last_applied_id() == 43
    assert "achievement:3" not in ix.versions()
    # the same key twice in one batch: one document, the last version
    ix.apply([doc(4, "版本一"), doc(4, "版本二", version="x")], [], 44)
    assert search(ix, "版本二").total == 1 and search(ix, '"版本一"').total == 0


def test_versions_and_stats(ix):
    v = ix.versions()
    assert len(v) == len(CORPUS) and v["achievement:5"] == "v5"
    assert set(ix.versions("demand")) == {"demand:8"}
    s = ix.stats()
    assert s["documents"] == {"achievement": 7, "demand": 1, "organization": 1, "contract": 0, "expert": 0}
    assert s["last_applied_id"] == 42 and s["size_bytes"] > 0 and s["segments"] >= 1
    assert s["dictionary_words"] > 1000


def test_empty_directory(tmp_path):
    ix = SearchIndex(tmp_path / "nothing")
    assert ix.last_applied_id() == 0
    assert search(ix, "氢冶金").total == 0
    assert ix.versions() == {}
    assert ix.stats()["total"] == 0


def test_an_index_built_with_an_older_schema_asks_for_a_rebuild(tmp_path, ix):
    from whoosh import index as windex

    from search_index.schema import build_schema

    assert not ix.schema_outdated()
    assert not SearchIndex(tmp_path / "nothing").schema_outdated()
    schema = build_schema()
    schema.remove("contract_type")  # as built before the contract facets existed
    (tmp_path / "old" / "gen-1").mkdir(parents=True)
    windex.create_in(str(tmp_path / "old" / "gen-1"), schema)
    (tmp_path / "old" / "CURRENT").write_text("gen-1\n", encoding="utf-8")
    old = SearchIndex(tmp_path / "old")
    assert old.schema_outdated()
    old.apply([doc(1, "旧索引仍可写入")], [], 1)  # writing what its schema knows still works
    assert search(old, "旧索引").total == 1


def test_rebuild_swaps_atomically(ix):
    reader = SearchIndex(ix.path)
    assert search(reader, "氢冶金").total == 1
    before = ix.stats()["generation"]
    seen = []

    def docs():
        for d in CORPUS[2:]:
            # while the new index is being built, the old one still answers
            seen.append(search(reader, "氢冶金").total)
            yield d

    progress = []
    ix.rebuild(docs(), 100, total=len(CORPUS) - 2, progress=progress.append)
    assert set(seen) == {1}
    assert progress[-1] == len(CORPUS) - 2
    assert search(reader, "氢冶金").total == 0
    assert search(reader, "锂离子电池").total == 1
    assert reader.last_applied_id() == 100
    assert reader.stats()["generation"] != before
    gens = [p.name for p in ix.path.iterdir() if p.name.startswith(("gen-", "build-"))]
    assert gens == [reader.stats()["generation"]]  # old generation removed
    ix.apply([CORPUS[0]], [], 101)
    assert search(reader, "氢冶金").total == 1


def test_rebuild_with_two_processes(tmp_path):
    ix = SearchIndex(tmp_path / "mp")
    many = [doc(i, f"样品{i}号 锂离子电池", f"批次{i}") for i in range(1, 401)]
    ix.rebuild(iter(many), 7, total=len(many), procs=2)
    assert ix.stats()["documents"]["achievement"] == 400
    assert search(ix, "锂离子电池").total == 400
    assert keys(search(ix, "样品123号"))[0] == "achievement:123"


def _writer(path, start, n):
    index = SearchIndex(path, lock_timeout=60)
    for i in range(start, start + n, 5):
        index.apply([doc(j, f"并发写入{j}") for j in range(i, i + 5)], [], i)


def test_two_writer_processes_lose_nothing(tmp_path):
    path = tmp_path / "concurrent"
    SearchIndex(path).apply([], [], 0)
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, start, 60)) for start in (1000, 2000)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0]
    v = SearchIndex(path).versions()
    expected = {f"achievement:{j}" for start in (1000, 2000) for j in range(start, start + 60)}
    assert set(v) == expected
    assert SearchIndex(path).last_applied_id() == max(2055, 1055)


def test_edits_after_a_rebuild_never_merge_the_big_segments(tmp_path, monkeypatch):
    from search_index import index as engine

    monkeypatch.setattr(engine, "SEGMENT_DOCS", 40)
    monkeypatch.setattr(engine, "SMALL_SEGMENT_DOCS", 20)
    monkeypatch.setattr(engine, "SMALL_MERGE_AT", 4)
    ix = SearchIndex(tmp_path / "segs")
    ix.rebuild((doc(i, f"文档{i}") for i in range(1, 201)), 1, procs=1)
    assert ix.stats()["segments"] == 6  # 5 x 40 documents + the meta document

    def big_segments():
        snap = ix._snapshot()
        return sum(1 for r, _ in snap.leaves if r.doc_count_all() >= 40)

    for i in range(12):
        ix.apply([doc(1000 + i, f"编辑{i}")], [], 2 + i)
        assert big_segments() == 5
    assert ix.stats()["segments"] <= 5 + 4
    assert search(ix, "编辑11").total == 1 and ix.stats()["documents"]["achievement"] == 212


def test_reader_copes_with_a_generation_that_has_no_segment_yet(tmp_path):
    """Another process created the index (under its write lock) but has not committed: a reader
    opening it then must answer, not crash (seen once in CI with two writer processes)."""
    from search_index import SearchIndex, SearchQuery

    writer = SearchIndex(tmp_path / "ix")
    writer._open_for_write()  # what apply() does first, before its commit
    reader = SearchIndex(tmp_path / "ix")
    assert reader.last_applied_id() == 0
    assert reader.search(SearchQuery(text="电池")).total == 0
    assert reader.stats()["total"] == 0
