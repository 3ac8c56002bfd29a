"""search_index.suggest: keyword extraction (TF-IDF) and the naive Bayes field model."""

from __future__ import annotations

import json

from search_index import suggest
from search_index.suggest import FieldClassifier, FieldModel, IdfTable

VISION = "本项目采用机器视觉原理，开发一套尺寸测量系统。尺寸测量精度高，机器视觉算法稳定，适用于零件检测。"


def test_keywords_prefer_repeated_specific_terms_over_generic_ones():
    keywords = suggest.suggest_keywords(VISION, title="机器视觉尺寸测量系统")
    assert keywords[0] == "机器视觉"
    assert "尺寸测量" in keywords  # 尺寸 + 测量, side by side twice, becomes one keyword
    for generic in ("本项目", "采用", "系统", "一套", "开发"):
        assert generic not in keywords


def test_keywords_respect_limit_exclusions_and_have_no_duplicates():
    keywords = suggest.suggest_keywords(VISION, limit=2, exclude=["机器视觉"])
    assert len(keywords) == 2
    assert "机器视觉" not in keywords
    assert len(set(keywords)) == len(keywords)


def test_keywords_reuse_the_analysers_normalisation():
    # traditional and full-width forms meet their simplified / half-width lower-case forms
    assert "机器视觉" in suggest.suggest_keywords("機器視覺檢測，機器視覺定位")
    # full-width ＬＥＤ and LED are one keyword, shown as the user wrote it
    assert "LED" in suggest.suggest_keywords("ＬＥＤ恒流驱动，LED 亮度稳定")


def test_empty_and_punctuation_only_texts_give_nothing():
    assert suggest.suggest_keywords("") == []
    assert suggest.suggest_keywords("，。！？ 123 ……") == []


def test_idf_prefers_rare_terms():
    idf = IdfTable.build(["机器视觉 检测", "检测 方法", "检测 装置", "视觉 检测"], min_df=1)
    assert idf.idf("机器视觉") > idf.idf("检测")
    assert IdfTable.from_json(json.loads(json.dumps(idf.to_json()))).df == idf.df


def test_naive_bayes_learns_fields_and_round_trips():
    docs = [
        ("水稻品种选育 高产 抗病 栽培", "0901"),
        ("小麦新品种 抗倒伏 高产 栽培技术", "0901"),
        ("锂离子电池 正极材料 储能 电池", "0605"),
        ("储能电池 电池管理 锂电池 充放电", "0605"),
        ("太阳能电池 光伏组件 发电", "0601"),
        ("光伏发电 太阳能 组件效率", "0601"),
    ]
    classifier = FieldClassifier.train(docs, min_df=1)
    found = classifier.suggest("一种高产抗病的水稻新品种及其栽培方法")
    assert found.top[0][0] == "09"
    assert abs(sum(p for _c, p in classifier.top.scores("水稻 栽培")) - 1) < 1e-9
    found = classifier.suggest("锂离子电池储能系统的电池管理")
    assert found.code == "0605"
    again = FieldClassifier.from_json(json.loads(json.dumps(classifier.to_json())))
    assert again.suggest("锂离子电池储能系统的电池管理").code == "0605"
    assert classifier.suggest("水稻") is None  # too little text to say anything


def test_field_model_restricted_to_some_labels():
    model = FieldModel.train([("水稻 栽培", "09"), ("电池 储能", "06")], min_df=1)
    assert [code for code, _p in model.scores("水稻", ["06"])] == ["06"]
    assert model.scores("水稻", ["99"]) == []


def test_shipped_model_suggests_sensible_top_fields():
    cases = {
        "一种高产优质水稻新品种的选育与配套栽培技术，亩产提高百分之十五。": "09",
        "高镍三元锂离子电池正极材料及储能电池组的制备，提高电池循环寿命。": "06",
        "治疗糖尿病的中药复方制剂及其制备方法，临床疗效显著。": "04",
        "基于深度学习的图像识别算法和大数据平台软件，支持云计算部署。": "01",
    }
    for text, top in cases.items():
        found = suggest.suggest_field(text)
        assert found is not None, text
        assert top in [code for code, _p in found.top], (text, found.top)
        assert len(found.top) == 3
        assert found.code[:2] == found.top[0][0]
