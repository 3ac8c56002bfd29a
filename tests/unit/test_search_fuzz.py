"""Odd user input never raises: arbitrary unicode, query-syntax characters, huge pages, bad filters."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from search_index import SearchIndex, SearchQuery
from search_index.query import parse

ODD = [
    '"',
    "“",
    "」",
    "-",
    "--",
    "*",
    "?",
    "~",
    "^",
    "(",
    ")",
    "AND",
    "OR",
    "NOT",
    ":",
    "\\",
    "\x00",
    "/",
    "\u200b",
    "　",
    "title:",
    "锂",
    "氫",
    "ＡＩ",
    "GB/T ",
    "'",
    "\ud7ff",
    "🔋",
    "%",
    "<mark>",
    "&amp;",
]


@pytest.fixture(scope="module")
def ix(tmp_path_factory):
    index = SearchIndex(tmp_path_factory.mktemp("fuzz") / "s")
    docs = [
        {"key": f"achievement:{i}", "kind": "achievement", "id": i, "title": t, "body": b, "district": "rz1"}
        for i, (t, b) in enumerate(
            [("锂离子电池", "正极材料 GB/T 2260"), ("氢冶金", 'CO2 减排 "引号"'), ("<b>标签</b>", "a & b")], 1
        )
    ]
    index.apply(docs, [], 1)
    return index


query_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from(ODD) | st.text(max_size=5), max_size=20).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=query_text)
def test_any_text_searches_without_error(ix, text):
    r = ix.search(SearchQuery(text=text))
    assert r.total >= 0 and len(r.hits) <= r.per_page
    for h in r.hits:
        assert "<script" not in h.highlight


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=query_text,
    kind=st.sampled_from(["achievement", "demand", "organization", "", "x"]),
    sort=st.sampled_from(["relevance", "newest", "price_asc", "price_desc", "", "bogus"]),
    page=st.integers(-5, 10**9),
    per_page=st.integers(-5, 10**6),
    filters=st.dictionaries(st.sampled_from(["district", "field", "nope", "transfer_modes"]), st.text(max_size=5)),
)
def test_any_parameters_search_without_error(ix, text, kind, sort, page, per_page, filters):
    r = ix.search(SearchQuery(text=text, kind=kind, sort=sort, page=page, per_page=per_page, filters=filters))
    assert r.page >= 1 and 1 <= r.per_page <= 100


@given(st.text(max_size=500))
def test_parse_never_raises(text):
    parse(text)
