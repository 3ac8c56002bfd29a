import json

from marketplace.core.taxonomy import IPType, Maturity, Taxonomy, TransferMode


def test_enums_parse_codes_labels_and_aliases():
    assert Maturity.parse("lab") is Maturity.LAB
    assert Maturity.parse("小试") is Maturity.LAB
    assert Maturity.parse("通过小试") is Maturity.LAB  # 51jishu's wording
    assert IPType.parse("实用新型专利") is IPType.UTILITY
    assert TransferMode.parse("技术入股") is TransferMode.EQUITY
    assert Maturity.parse("成熟") is None
    assert Maturity.LAB.label == "小试"


def test_default_taxonomy_has_rizhao_districts_and_the_11_national_fields():
    taxonomy = Taxonomy.default()
    assert [d.name for d in taxonomy.districts][:4] == ["东港区", "岚山区", "五莲县", "莒县"]
    assert taxonomy.parse_district("日照高新技术产业开发区").code == "rz-hitech"
    tops = [f.name for f in taxonomy.top_fields()]
    assert len(tops) == 11 and tops[0] == "电子信息" and "核应用" in tops
    assert taxonomy.field_path("0105") == "电子信息 › 人工智能与大数据"
    assert taxonomy.parse_field("电子信息-通信技术").code == "0103"
    assert taxonomy.parse_field("电子信息").code == "01"
    assert set(taxonomy.field_and_descendants("08")) == {"08", "0801", "0802"}


def test_a_deployment_can_replace_districts_and_fields(tmp_path):
    path = tmp_path / "taxonomy.json"
    path.write_text(
        json.dumps(
            {
                "districts": [{"code": "370202", "name": "市南区"}],
                "fields": [{"code": "X", "name": "海洋"}, {"code": "X1", "name": "海工装备", "parent": "X"}],
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    taxonomy = Taxonomy.from_file(path)
    assert taxonomy.district_choices() == [("370202", "市南区")]
    assert taxonomy.field_path("X1") == "海洋 › 海工装备"
