"""The analyzer: folding, technical tokens, the domain dictionary, stop words, and the guarantee
that every query token is produced at index time for text that contains it verbatim."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search_index import analysis
from search_index.query import parse


def words(text):
    return analysis.index_terms(text)[0]


def test_normalize_folds_width_case_and_traditional():
    assert analysis.normalize("ＡＩ芯片") == "ai芯片"
    assert analysis.normalize("氫冶金") == "氢冶金"
    assert analysis.normalize("電動汽車 Q690") == "电动汽车 q690"
    assert analysis.normalize("") == ""


@pytest.mark.parametrize(
    ("text", "token"),
    [
        ("采用Q690高强钢", "q690"),
        ("5G通信模块", "5g"),
        ("成熟度达到TRL7", "trl7"),
        ("降低CO2排放", "co2"),
        ("PM2.5监测", "pm2.5"),
        ("C++开发", "c++"),
        ("符合GB/T 2260-2007要求", "gb/t2260-2007"),
        ("符合GB/T 2260-2007要求", "gb/t2260"),
        ("符合GB/T2260标准", "gb/t2260"),
        ("专利号ZL201720001285.X", "zl201720001285.x"),
        ("专利号ZL201720001285.X", "zl201720001285"),
        ("公开号CN114081026A", "cn114081026a"),
        ("ＱＵ６９０", "qu690"),
    ],
)
def test_technical_tokens_are_kept_whole(text, token):
    assert token in words(text)


@pytest.mark.parametrize(
    ("query", "token"),
    [("GB/T 2260", "gb/t2260"), ("gb/t2260", "gb/t2260"), ("Q690", "q690"), ("ZL201720001285.X", "zl201720001285.x")],
)
def test_query_side_technical_tokens(query, token):
    assert token in [t for c in parse(query).clauses for t in c.tokens]


@pytest.mark.parametrize("term", ["氢冶金", "软件定义卫星", "深远海养殖", "高强钢", "电液控制", "锂离子电池"])
def test_domain_terms_are_one_query_token_and_indexed(term):
    assert analysis.query_tokens(term) == (term,)
    assert term in words("本项目研究" + term + "的应用")
    # the base dictionary's split is remembered so the pieces also match
    assert analysis.pieces(term)


def test_stop_words_are_not_indexed_but_characters_are():
    w, chars = analysis.index_terms("本发明公开了一种锂电池的制备方法和技术")
    for stop in ("一种", "方法", "技术", "本发明"):
        assert stop not in w
    assert "锂电池" in w
    assert {"技", "术", "方", "法"} <= chars


def test_query_drops_stop_words_unless_nothing_else():
    tokens = [t for c in parse("一种锂电池的制备方法").clauses for t in c.tokens]
    assert "锂电池" in tokens
    assert not {"一种", "方法", "的"} & set(tokens)
    only_stop = parse("技术").clauses
    assert len(only_stop) == 1 and only_stop[0].phrase == "技术"


def test_user_words_join_the_dictionary():
    assert analysis.query_tokens("钙钛矿叠层光伏") != ("钙钛矿叠层光伏",)
    analysis.add_user_words(["钙钛矿叠层光伏"])
    assert analysis.query_tokens("钙钛矿叠层光伏") == ("钙钛矿叠层光伏",)
    assert "钙钛矿叠层光伏" in words("新型钙钛矿叠层光伏组件")


def test_importing_the_package_does_not_load_the_dictionary():
    code = "import sys, search_index; print('rjieba' in sys.modules, 'jieba' in sys.modules, 'opencc' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "False"]


SENTENCES = [
    "中华人民共和国研究生命起源的实验室开展锂离子电池正极材料研究",
    "采用氢冶金工艺与深远海养殖装备相结合的软件定义卫星遥感监测系统",
    "基于机器视觉的尺寸测量系统可以满足大多数尺寸测量应用包括距离测量宽度测量",
    "智能化数控矿山金刚石绳锯机设备主要用于矿山石材的开采",
    "现有产品中手电筒的开关是机械式非常容易损坏导致接触不良",
]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(SENTENCES), st.integers(0, 40), st.integers(1, 8))
def test_every_query_token_of_a_verbatim_substring_is_an_index_token(sentence, start, length):
    """The trap 'search-mode query + AND misses documents containing every keyword' cannot happen:
    any substring of a text, cut as a query, gives only tokens that the text's index terms contain."""
    fragment = sentence[start : start + length]
    if not fragment:
        return
    w, chars = analysis.index_terms(sentence)
    index_tokens = set(w) | chars
    stop = analysis.stopwords()
    for tok in analysis.query_tokens(fragment):
        assert tok in index_tokens or tok in stop, (fragment, tok)
