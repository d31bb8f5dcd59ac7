"""Near-duplicate passages: found across figures and renamed places, counted once in the
word weights of the evidence test, and a statement they repeat quoted once."""

from __future__ import annotations

import numpy as np

from assistant.answer.evidence import Sentence, distinct
from assistant.index.bm25 import BM25Index
from assistant.index.duplicates import near_duplicate_groups, same_statement

PASSAGE = (
    "四是营商环境日益优化筹办市、区两级招商大会6场,吸引中国燃气全球总部、国任保险全国总部、"
    "中建材华南总部等33个重点项目落户罗湖,新增总部企业20家,深圳500强企业达到61家。"
)
OTHERS = [
    "二是产业升级提速换挡,社会消费品零售总额增至1216.5亿元,金融业增加值突破850亿元。",
    "建成东门步行街、湖贝古村等一批特色街区,东门商圈改造提升工程顺利完工。",
    "实施教育提质工程,新改扩建学校12所,新增中小学学位6589个,普惠性幼儿园比例提升到81%。",
    "扎实推进生态文明建设,空气质量优良率达到96.4%,PM2.5浓度降至19微克每立方米。",
]


def _copy(text: str, k: int) -> str:
    """Another district's report in the same words: other figures, another name."""
    place = ("龙岗", "宝安", "盐田", "坪山")[k % 4]
    return text.replace("罗湖", place).replace("33", str(20 + k)).replace("6场", f"{k % 9}场")


def test_copies_with_other_figures_and_places_are_one_group() -> None:
    texts = [PASSAGE, *OTHERS, *(_copy(PASSAGE, k) for k in range(30))]
    groups = near_duplicate_groups(texts)
    assert len(set(groups[[0, *range(5, 35)]])) == 1  # the passage and its 30 copies
    assert len(set(groups[:5])) == 5  # different passages stay apart
    assert groups[0] == 0 and list(groups[:5]) == [0, 1, 2, 3, 4]  # numbered as first seen


def test_word_weights_do_not_move_when_a_passage_is_copied() -> None:
    """A word of a copied paragraph keeps its weight, and a word no passage uses does not
    outgrow the others as copies pile up (列举 at 1x: 5.2; counted per passage at 100x: 9.8,
    which refused a question the real report answers)."""
    one = BM25Index.build([f"r{i}" for i in range(5)], [PASSAGE, *OTHERS])
    texts = [PASSAGE, *OTHERS] + [_copy(t, k) for k in range(40) for t in (PASSAGE, *OTHERS)]
    many = BM25Index.build([f"c{i}" for i in range(len(texts))], texts)
    for word in ("落户", "总部", "学位", "列举"):
        assert abs(many.idf(word) - one.idf(word)) < 0.05, word
    # Without the groups (an index saved before they were kept) the unseen word grows.
    plain = BM25Index(many._retriever, many.ids, None)
    assert plain.idf("列举") > one.idf("列举") + 2


def test_groups_survive_save_and_load(tmp_path) -> None:  # type: ignore[no-untyped-def]
    texts = [PASSAGE, *OTHERS, _copy(PASSAGE, 1)]
    index = BM25Index.build([f"c{i}" for i in range(len(texts))], texts)
    index.save(tmp_path / "bm25")
    loaded = BM25Index.load(tmp_path / "bm25")
    assert loaded.groups is not None and np.array_equal(loaded.groups, index.groups)
    assert loaded.idf("落户") == index.idf("落户")


def test_a_statement_repeated_by_copies_is_read_once() -> None:
    said = "全年筹集人才房和保障性住房10012套、供应1357套,罗湖“二线插花地”棚改5900套开工建设。"
    copy = "全年筹集人才房和保障性住房6904套、供应1543套,龙岗“二线插花地”棚改3893套开工建设。"
    other = "2019年罗湖新增中小学学位6589个,普惠性幼儿园在园儿童比例提升到81%。"
    assert same_statement(said, copy)
    assert not same_statement(said, other)
    sentences = [
        Sentence(t, t, hit, 0, len(t), score=1.0 - hit / 10)
        for hit, t in enumerate((said, copy, said, other))
    ]
    picked = distinct(sentences, 3)
    assert [s.hit for s in picked] == [0, 3]  # the best of the repeated statement, cited once
