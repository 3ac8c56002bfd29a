"""Grow the shipped domain dictionary (domain_words.txt) from the real texts in ../shared/data.

    .venv/bin/python -m search_index.dictionary.grow [DATA_DIR]

Candidates are technical terms that jieba's base dictionary does not know as one word:
  * real author keywords (FewCLUE CSL keyword pairs with label 1 - every keyword genuine), and
  * frequent 3-6 character n-grams of listing / patent / paper titles,
that are all-CJK, 3-8 characters long, and occur verbatim in at least MIN_DF distinct texts of
the corpus. ``csl_papers.jsonl`` is deliberately NOT used (neither its keywords nor its texts):
bench/search_quality.py evaluates on its keywords, and a dictionary grown from the test queries
would flatter the figures. Seed terms from the spec are always kept.

Not imported by the library; run by hand, review the diff, commit the text file.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

SEEDS = [
    "氢冶金",
    "软件定义卫星",
    "深远海养殖",
    "高强钢",
    "电液控制",
    "锂离子电池",
    "钠离子电池",
    "固态电池",
    "燃料电池",
    "光伏组件",
    "储能系统",
    "工业互联网",
    "数字孪生",
    "碳中和",
    "碳达峰",
    "新能源汽车",
    "智能制造",
    "增材制造",
    "激光熔覆",
    "海水淡化",
    "生物降解",
    "石墨烯",
    "碳纤维",
    "复合材料",
    "无人机",
    "机器视觉",
    "深度学习",
    "边缘计算",
    "区块链",
    "物联网",
    "大数据",
    "云计算",
    "人工智能",
    "集成电路",
    "半导体材料",
    "氢燃料电池",
    "电解水制氢",
    "二氧化碳捕集",
    "污水处理",
    "土壤修复",
    "中药材",
    "水产养殖",
    "设施农业",
    "精准农业",
    "智慧农业",
    "医疗器械",
    "生物医药",
    "基因编辑",
    "细胞治疗",
    "疫苗研发",
    "轨道交通",
    "自动驾驶",
    "动力电池",
    "风力发电",
    "光伏发电",
    "热泵",
    "余热回收",
    "特高压",
    "智能电网",
]
MIN_DF = 3
# words that never start or end a technical term (plus the stop list)
FUNCTION_WORDS = {
    "一种",
    "基于",
    "用于",
    "具有",
    "使用",
    "利用",
    "一个",
    "及其",
    "以及",
    "方法",
    "技术",
    "装置",
    "系统",
    "研究",
    "设计",
    "应用",
    "分析",
    "制备",
    "实现",
    "新型",
    "可以",
    "进行",
    "通过",
    "关于",
    "对于",
    "我国",
    "中国",
    "探讨",
    "探析",
    "浅谈",
    "浅析",
    "研制",
    "开发",
    "其中",
    "一体",
    "便于",
    "可调",
    "专用",
    "提高",
    "影响",
    "问题",
    "对策",
    "现状",
    "发展",
    "作用",
    "效果",
    "机制",
    "模式",
    "策略",
    "思考",
    "视角",
    "背景",
    "条件",
    "过程",
    "方式",
}
CJK = re.compile(r"^[\u4e00-\u9fff]{3,8}$")
RUN = re.compile(r"[\u4e00-\u9fff]+")


def load(data: Path):
    texts, titles, keywords = [], [], []
    for name in ("achievements.jsonl", "requirements.jsonl"):
        for line in (data / "techmarket_51jishu" / name).open(encoding="utf-8"):
            d = json.loads(line)
            titles.append(d["name"])
            texts.append(d["name"] + "。" + d.get("description", ""))
    for line in (data / "patents" / "cn_patent_titles_ipc.tsv").open(encoding="utf-8").readlines()[1:]:
        title = line.split("\t")[1]
        titles.append(title)
        texts.append(title)
    for line in (data / "csl" / "csl_titles_category.tsv").open(encoding="utf-8").readlines()[1:]:
        title = line.split("\t")[0]
        titles.append(title)
        texts.append(title)
    for line in (data / "csl" / "fewclue_csl_keywords.jsonl").open(encoding="utf-8"):
        d = json.loads(line)
        texts.append(d["abstract"])
        if d.get("label") == 1:
            keywords.extend(d["keywords"])
    return texts, titles, keywords


def grow(data: Path) -> list[str]:
    import rjieba

    texts, titles, keywords = load(data)
    joined = "\n".join(texts)
    candidates: Counter[str] = Counter()
    for kw in keywords:
        if CJK.match(kw) and not rjieba.has_word(kw):
            candidates[kw] += 1
    # frequent title n-grams that the base dictionary cuts into pieces
    grams: Counter[str] = Counter()
    for t in titles:
        for run in RUN.findall(t):
            seen = set()
            for n in range(3, 7):
                for i in range(len(run) - n + 1):
                    seen.add(run[i : i + n])
            grams.update(seen)
    for g, c in grams.items():
        if c >= 8 and not rjieba.has_word(g):
            pieces = rjieba.cut(g, False)
            # a real compound: split into dictionary words, no dangling single characters at the edges
            if 1 < len(pieces) <= 3 and all(len(x) > 1 and x not in FUNCTION_WORDS for x in pieces):
                candidates[g] += c
    words = []
    for w in candidates:
        if joined.count(w) >= MIN_DF:
            words.append(w)
    # drop n-grams that are only a fragment of a longer kept n-gram with the same frequency
    keep = set(words)
    for w in list(keep):
        for longer in keep:
            if len(longer) > len(w) and w in longer and grams.get(w, 0) and grams.get(w) == grams.get(longer):
                keep.discard(w)
                break
    return sorted(set(SEEDS) | keep)


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[3] / "shared" / "data"
    words = grow(data)
    out = Path(__file__).with_name("domain_words.txt")
    header = (
        "# Domain dictionary for the segmenter: technical terms the base jieba dictionary splits.\n"
        "# Generated by `python -m search_index.dictionary.grow` from ../shared/data (51jishu listings,\n"
        "# patent titles, CSL titles, FewCLUE author keywords; NOT csl_papers.jsonl, the quality test set),\n"
        "# plus seed terms. One word per line; '#' starts a comment. Admins add more via user_words.\n"
    )
    out.write_text(header + "\n".join(words) + "\n", encoding="utf-8")
    print(f"{len(words)} words -> {out}")


if __name__ == "__main__":
    main()
