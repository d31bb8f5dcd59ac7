"""Token membership read from the BM25 index equals tokenizing the text again (reranking
and evidence selection rely on it instead of a second jieba pass)."""

from __future__ import annotations

from assistant.index.bm25 import AnyOf, BM25Index, tokenize

TEXTS = [
    "罗湖区2020年地区生产总值达到2375.3亿元,年均增长6.2%。",
    "羅湖社會消費品零售總額目標是多少",
    "全区固定资产投资累计完成1428亿元,GDP产出增至30.2亿元。",
    "",
]


def test_tokens_from_the_index_match_tokenizing() -> None:
    ids = [f"c{i}" for i in range(len(TEXTS))]
    index = BM25Index.build(ids, TEXTS)
    # "∅" (the placeholder of a text without tokens) is left out: tokenize never yields it.
    vocabulary = {t for text in TEXTS for t in tokenize(text)} | {"不存在的词"}
    for row, text in enumerate(TEXTS):
        expected = set(tokenize(text))
        from_index = index.tokens_at(row)
        assert {t for t in vocabulary if t in from_index} == expected
        assert {t for t in vocabulary if t in index.tokens_of(ids[row], text)} == expected


def test_unknown_chunk_is_tokenized_and_union_works() -> None:
    index = BM25Index.build(["a"], [TEXTS[0]])
    other = index.tokens_of("not-in-index", TEXTS[2])
    assert "固定资产" in other and "固定资产" not in index.tokens_at(0)
    both = AnyOf([index.tokens_at(0), other])
    assert "固定资产" in both and "罗湖" in both and "零售" not in both
