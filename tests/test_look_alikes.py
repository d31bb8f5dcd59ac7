"""The five reports beside look-alike reports of other districts (the bench's synthetic
copies: the same words, another district's name and streets, other years and figures): the
asked district's report still answers, near duplicates are shown once, and each copy is
read as its own district's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answer.facts import retrieval_hints
from assistant.answer.pipeline import Pipeline, ask
from assistant.answer.question import read_question
from assistant.bench import synth
from assistant.bench.scale import build_scaled
from assistant.config import Config
from assistant.facts.reader import doc_context, document_subject
from tests.conftest import make_config

PLACES = ("龙岗", "宝安")


@pytest.fixture(scope="module")
def scaled(corpus_config: Config, tmp_path_factory: pytest.TempPathFactory) -> Config:
    """The real index and four copies of each report (vectors: the real ones with noise)."""
    tmp = tmp_path_factory.mktemp("look_alikes")
    cfg = make_config(tmp, tmp / "sources", index={"collection": "lookalike"})
    build = build_scaled(corpus_config, cfg, scale=5, seed=1, places=PLACES)
    assert build.documents == 25 and build.home_facts == build.restated_facts == 0
    return cfg


@pytest.fixture(scope="module")
def pipe(scaled: Config) -> Iterator[Pipeline]:
    from assistant.answer.factory import open_pipeline

    yield open_pipeline(scaled, "extractive")


def test_a_report_is_about_the_district_its_text_names() -> None:
    header = "——2021年11月3日在深圳市龙岗区第八届人民代表大会第一次会议上\n我代表龙岗区人民政府"
    assert document_subject("政府工作报告", header + ",对接罗湖、福田。") == "龙岗区"
    assert document_subject("罗湖区委八届六次全会召开", "龙岗龙岗龙岗") == "罗湖区"
    assert document_subject("会议纪要", "没有地名") == ""
    # the facts of a sentence that names no place are the document's district's
    assert (
        doc_context("d", "政府工作报告", "2021-11-03", "work_report", "龙岗区").subject == "龙岗区"
    )
    assert doc_context("d", "政府工作报告", "2021-11-03", "work_report").subject == "罗湖区"


def test_copies_are_read_as_their_own_districts(pipe: Pipeline) -> None:
    copies = [d for d in pipe.index.documents.values() if d.doc_id.startswith(synth.SYNTH_DIR)]
    assert {d.meta.subject for d in copies} == {f"{p}区" for p in PLACES}
    for doc in copies:
        assert {f.subject for f in pipe.index.facts.of_doc(doc.doc_id)} & {"罗湖区"} == set()


def test_a_question_naming_no_district_is_answered_from_the_home_reports(pipe: Pipeline) -> None:
    """Five copies of the paragraph say 8000多户 with other figures, of other districts."""
    r = ask(pipe, "「二線插花地」棚戶區改造中,有多少戶居民完成了選房?")
    assert not r.refused and "8000" in r.answer
    assert not r.citations[0].doc_id.startswith(synth.SYNTH_DIR)


def test_near_duplicates_are_retrieved_once(pipe: Pipeline) -> None:
    q = read_question("2021年政府工作报告列举的落户罗湖的总部项目有哪些?")
    hits = pipe.retriever.retrieve(q.norm, hints=retrieval_hints(q, pipe.index))
    groups = pipe.index.bm25.groups
    assert groups is not None and len(hits) == pipe.config.retrieval.top_k
    rows = [pipe.index.row_of[h.chunk.chunk_id] for h in hits]
    assert len({int(groups[r]) for r in rows}) == len(hits)
    # each group is shown by the home district's passage, not by a copy of it
    assert not any(h.chunk.doc_id.startswith(synth.SYNTH_DIR) for h in hits)
    r = ask(pipe, q.text)
    assert "中國燃氣" in r.answer and r.answer.count("中國燃氣") == 1


def test_another_districts_reports_answer_a_question_about_it(pipe: Pipeline) -> None:
    """The copies are real reports of their district to the assistant: asked about 龙岗,
    it answers from a 龙岗 report, and the home report's figure is a near miss."""
    r = ask(pipe, "龙岗区「二线插花地」棚户区改造中,有多少户居民完成了选房?")
    assert r.citations and all(c.doc_id.startswith(synth.SYNTH_DIR) for c in r.citations)
    assert "龍崗" in r.citations[0].text or "龙岗" in r.citations[0].text


def test_an_english_question_still_finds_several_passages(pipe: Pipeline) -> None:
    q = read_question("How many reform measures does the implementation plan put forward?")
    hits = pipe.retriever.retrieve(q.norm, hints=retrieval_hints(q, pipe.index))
    assert len(hits) == pipe.config.retrieval.top_k
    assert not hits[0].chunk.doc_id.startswith(synth.SYNTH_DIR)
    groups = pipe.index.bm25.groups
    assert groups is not None
    assert len({int(groups[pipe.index.row_of[h.chunk.chunk_id]]) for h in hits}) == len(hits)


def test_the_scaled_index_answers_like_the_real_one(pipe: Pipeline, scaled: Config) -> None:
    assert Path(scaled.paths.sources, synth.SYNTH_DIR).is_dir()
    r = ask(pipe, "2021年政府工作报告中,罗湖区2020年地区生产总值是多少?")
    assert "2375.3" in r.answer and not r.citations[0].doc_id.startswith(synth.SYNTH_DIR)


@pytest.fixture(scope="module")
def restated(corpus_config: Config, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    """Copies that stay Luohu's, years shifted (the bench's old corpus)."""
    from assistant.answer.factory import open_pipeline

    tmp = tmp_path_factory.mktemp("restated")
    cfg = make_config(tmp, tmp / "sources", index={"collection": "restated"})
    build = build_scaled(corpus_config, cfg, scale=5, seed=1, places=())
    assert build.home_facts > 0  # every copy speaks of Luohu
    yield open_pipeline(cfg, "extractive")


def test_the_named_report_decides_between_look_alikes_of_other_years(
    restated: Pipeline,
) -> None:
    """Four copies of the 2021 work report, dated other years, state other GDP figures in
    the same words: the report the question names is the one shown and quoted."""
    r = ask(restated, "2021年政府工作报告中,罗湖区2020年地区生产总值是多少?")
    assert "2375.3" in r.answer
    assert r.citations[0].doc_id == "002_833012a21d5118d3.txt"
    # the paragraph and its copies are one candidate: shown once, by the named report
    same = [c for c in r.retrieved if "地區生產總值由" in c.text or "地区生产总值由" in c.text]
    assert [c.doc_id for c in same] == ["002_833012a21d5118d3.txt"]
