"""Retrieval finds the passage that holds the answer, whatever the script or language."""

from __future__ import annotations

import pytest

from assistant.answer.retrieve import Filters, rrf
from assistant.textnorm import for_match, for_search

# (question, a phrase of the passage that answers it, in Simplified after normalization)
QUESTIONS = [
    ("2019年罗湖区投入产业转型升级扶持资金多少?", "扶持资金6.6亿元"),
    ("罗湖2019年完成固定资产投资多少亿元?", "固定资产投资332亿元"),
    ("八大措施中的规划引领要求高质量编制什么规划?", "高质量编制“十四五”规划"),
    ("羅湖區委八屆六次全會審議通過了什麼實施方案?", "审议通过了《中共深圳市罗湖区委关于贯彻落实"),
    ("政府工作報告提出全區優良水體比例要達到多少?", "优良水体比例达到80%"),
    ("全區高質量發展大會上區委書記提出了幾個「干」?", "六个“干”"),
    ("How much fixed-asset investment did Luohu complete in 2019?", "固定资产投资332亿元"),
    (
        "Which session of the Luohu district party committee met on 26 September 2024?",
        "第八届委员会第六次全体会议",
    ),
]


def _texts(hits: list) -> list[str]:
    return [for_match(h.chunk.text) for h in hits]


@pytest.mark.parametrize(("question", "phrase"), QUESTIONS)
def test_hybrid_finds_the_passage_in_top_5(pipeline, question: str, phrase: str) -> None:
    hits = pipeline.retriever.retrieve(for_search(question), mode="hybrid", top_k=5)
    assert any(for_match(phrase) in t for t in _texts(hits)), [h.chunk.text[:40] for h in hits]


@pytest.mark.parametrize("mode", ["bm25", "dense", "hybrid"])
def test_each_mode_finds_most_chinese_questions(pipeline, mode: str) -> None:
    chinese = [(q, p) for q, p in QUESTIONS if not q.isascii()]
    found = sum(
        any(
            for_match(p) in t for t in _texts(pipeline.retriever.retrieve(for_search(q), mode=mode))
        )
        for q, p in chinese
    )
    assert found >= len(chinese) - 1


def test_ranks_are_reported_per_retriever(pipeline) -> None:
    hits = pipeline.retriever.retrieve(for_search(QUESTIONS[0][0]), mode="hybrid")
    assert hits[0].bm25_rank is not None or hits[0].dense_rank is not None
    assert all(h.score > 0 for h in hits)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_document_filter(pipeline) -> None:
    only = ["002_833012a21d5118d3.txt"]
    for mode in ("bm25", "dense", "hybrid"):
        hits = pipeline.retriever.retrieve(
            for_search("固定资产投资"), Filters(doc_ids=only), mode=mode
        )
        assert hits and {h.chunk.doc_id for h in hits} == set(only)


def test_date_filter(pipeline) -> None:
    flt = Filters(date_from="2024-01-01", date_to="2024-12-31")
    for mode in ("bm25", "dense"):
        hits = pipeline.retriever.retrieve(for_search("高质量发展"), flt, mode=mode)
        dates = {pipeline.index.documents[h.chunk.doc_id].meta.date for h in hits}
        assert dates and all(d.startswith("2024") for d in dates)


def test_rrf_rewards_agreement() -> None:
    fused = rrf([(["a", "b", "c"], 1.0), (["b", "c", "a"], 1.0)], k=60)
    assert fused[0][0] == "b"
    assert fused[0][2] == [2, 1]
