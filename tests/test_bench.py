"""The bench: the synthetic corpus generator, and a tiny end-to-end run (one report, 1x and
10x, two questions) that writes JSON, markdown and a plot with sane numbers."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant.bench import synth
from assistant.bench.report import users_md
from assistant.bench.results import BenchOptions
from assistant.bench.run import run_bench
from assistant.bench.scale import Restated
from assistant.bench.users import run_users
from assistant.config import Config
from assistant.corpus.chunk import chunk_document
from assistant.corpus.ingest import build_document
from assistant.corpus.load import load_file
from assistant.facts.extract import extract_facts
from assistant.models import Chunk, Document
from tests.conftest import SOURCES, make_config
from tests.ui_server import SlowFake, ui_config

NEWS = "001_bfd75f84de2c2b1c.txt"
MEETING = "003_6c292aaa073e0d9c.txt"
GOLD = [
    {
        "id": "b-ten",
        "question": "罗湖全区高质量发展大会上,区委书记为几大攻坚克难行动代表单位授旗?",
        "answers": ["(?:10|十)大"],
        "evidence": ["十大攻坚克难行动代表单位授旗"],
        "unanswerable": False,
        "kind": "count",
    },
    {
        "id": "b-futian",
        "question": "福田区2035年地区生产总值的目标是多少?",
        "answers": [],
        "evidence": [],
        "unanswerable": True,
        "kind": "unanswerable",
    },
]


# ------------------------------------------------------------------------------ synth


def _real(names: tuple[str, ...]) -> tuple[list[Document], list[Chunk]]:
    cfg = make_config(Path("/nonexistent"), SOURCES)
    docs = [build_document(n, load_file(SOURCES / n, 10_000_000), {}) for n in names]
    return docs, [c for d in docs for c in chunk_document(d, cfg.chunk)]


@pytest.fixture(scope="module")
def real() -> tuple[list[Document], list[Chunk]]:
    return _real((NEWS, MEETING))


def test_synthetic_documents_are_seeded_and_nested(
    real: tuple[list[Document], list[Chunk]],
) -> None:
    docs, chunks = real
    five = list(synth.generate(docs, chunks, 5, seed=3))
    again = list(synth.generate(docs, chunks, 5, seed=3))
    three = list(synth.generate(docs, chunks, 3, seed=3))
    other = list(synth.generate(docs, chunks, 5, seed=4))
    assert [d.document.text for d in five] == [d.document.text for d in again]
    assert [d.document.text for d in three] == [d.document.text for d in five[:3]]
    assert [d.document.text for d in five] != [d.document.text for d in other]


def test_synthetic_documents_look_like_reports(real: tuple[list[Document], list[Chunk]]) -> None:
    docs, chunks = real
    by_id = {d.doc_id: d for d in docs}
    for made in synth.generate(docs, chunks, 20, seed=0):
        doc = made.document
        source = by_id[chunks[made.source_rows[0]].doc_id]
        assert doc.doc_id.startswith(synth.SYNTH_DIR + "/")
        # Every chunk points at its own text in the new document, and has a source chunk.
        assert len(made.chunks) == len(made.source_rows)
        for c in made.chunks:
            assert doc.text[c.start : c.end] == c.text and c.doc_id == doc.doc_id
            assert c.search_text.startswith(doc.meta.title[:4])
        # The report is of another year, with other figures; the words are the source's.
        assert doc.meta.date[:4] != source.meta.date[:4]
        assert doc.text != source.text
        assert len(doc.text) == pytest.approx(len(source.text), rel=0.1)
        assert len({c.chunk_id for c in made.chunks}) == len(made.chunks)


def test_synthetic_reports_are_other_districts_never_restating_a_real_one(
    real: tuple[list[Document], list[Chunk]],
) -> None:
    """A copy speaks of another district, its streets renamed: no synthetic fact says
    something else than a real fact about the same subject, metric and period; the old
    corpus (copies stay Luohu's) did, which is why this generator changed."""
    docs, chunks = real
    real_facts = [
        f for d in docs for f in extract_facts(d, [c for c in chunks if c.doc_id == d.doc_id])
    ]
    places = synth.places_outside(["2020年福田区地区生产总值是多少?", "光明区…"])
    assert "福田" not in places and "光明" not in places and "龙岗" in places
    honest, restated = Restated.of(real_facts, {"罗湖区"}), Restated.of(real_facts, {"罗湖区"})
    for made in synth.generate(docs, chunks, 20, seed=0, places=places):
        doc = made.document
        assert not re.search("罗湖|羅湖|东门|東門|清水河", doc.text + doc.meta.title)
        assert doc.meta.subject in {f"{p}区" for p in places}
        facts = extract_facts(doc, made.chunks)
        assert facts and not any(f.subject == "罗湖区" for f in facts)
        honest.count(facts)
    for made in synth.generate(docs, chunks, 20, seed=0, places=()):
        assert made.document.meta.subject == "罗湖区"
        restated.count(extract_facts(made.document, made.chunks))
    assert honest.found == honest.home == 0
    assert restated.home > 100  # the old corpus: every copy a Luohu report


def test_anniversaries_move_with_the_years() -> None:
    rewrite = synth._Rewriter(random.Random(0), 3)
    assert rewrite("2019年是罗湖建区40周年。") == "2022年是罗湖建区43周年。"
    renamed = synth._Rewriter(random.Random(0), -2, synth._Renamer.to("龙岗", traditional=True))
    assert renamed("2021年羅湖區東門街道") == "2019年龍崗區布吉街道"


def test_perturbed_vectors_stay_near_their_source() -> None:
    rng = np.random.default_rng(0)
    real = rng.normal(size=(50, 384)).astype(np.float32)
    real /= np.linalg.norm(real, axis=1, keepdims=True)
    noisy = synth.perturb(real, seed=1)
    assert np.allclose(np.linalg.norm(noisy, axis=1), 1.0, atol=1e-5)
    cosines = (noisy * real).sum(axis=1)
    assert cosines.min() > 0.95 and cosines.max() < 0.999
    assert np.array_equal(noisy, synth.perturb(real, seed=1))


# ------------------------------------------------------------------------------ bench run


def test_tiny_bench_run(tmp_path: Path) -> None:
    src = tmp_path / "sources"
    src.mkdir()
    shutil.copy(SOURCES / MEETING, src / MEETING)
    gold = tmp_path / "gold.jsonl"
    gold.write_text("".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GOLD), "utf-8")
    cfg = make_config(tmp_path, src)
    out = tmp_path / "out"
    opts = BenchOptions(
        scales=(1, 10),
        out_dir=out,
        gold=gold,
        repeats=1,
        ui=False,
        work=tmp_path,
        memory_questions=3,
        memory_backend="extractive",  # the code path; the local model's run is the README's
    )
    result = run_bench(cfg, opts, log=lambda _: None)

    for name in ("bench.json", "bench.md", "bench.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "bench.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    data = json.loads((out / "bench.json").read_text(encoding="utf-8"))
    assert [s["scale"] for s in data["scales"]] == [1, 10]

    one, ten = result.scales
    assert one.ingest is not None and ten.build is not None
    assert one.documents == 1 and ten.documents == 10
    assert ten.chunks == 10 * one.chunks  # each synthetic report copies all the chunks
    assert 0 < one.ingest.embed_seconds <= one.ingest.seconds
    assert 0 < one.ingest.embed_share <= 1 and one.ingest.peak_rss_mb > 50
    assert ten.build.projected_embed_seconds > 0
    for s in result.scales:
        assert s.reingest.up_to_date
        stages = s.query.stages
        assert {"bm25", "embed_query", "dense", "evidence", "generate"} <= set(stages)
        assert 0 < (stages["retrieval"].p50 or 0) <= (stages["total"].p95 or 0)
        assert s.query.questions == 2 and s.query.peak_rss_mb > 50
        assert s.cold_ask.median_seconds > 0 and s.index_mb > 0
    assert one.query.answer_accuracy == 1.0

    c = result.comparison
    assert c is not None and c.questions == 2 and c.baseline_nodes >= 1
    assert c.ours.answer_accuracy is not None and c.plain.answer_accuracy is not None
    assert c.plain.retrieval_ms.p50 and c.retrieval_p50_ratio

    md = (out / "bench.md").read_text(encoding="utf-8")
    assert "| 1x |" in md and "| 10x |" in md and "## Targets" in md
    assert "dominant stage" in md
    # The copies are other districts' reports, none the gold set asks about (福田 here),
    # and none restates a claim of the real report.
    assert ten.build.places and "福田" not in ten.build.places
    assert ten.build.home_facts == ten.build.restated_facts == 0
    assert "Distractors: other districts" in md and "| 0 / 0 |" in md
    (memory,) = result.memory
    assert memory.available and memory.process == "query" and memory.questions == 3
    assert all(mb > 50 for mb in memory.rss_mb) and (memory.peak_mb or 0) >= max(memory.rss_mb)
    assert "## Memory over many questions" in md and (out / "memory.png").stat().st_size > 0
    targets = {t.name: t for t in result.targets}
    assert len(targets) == 11
    assert targets["memory of a process answering with the local model"].met is None
    # --no-ui: no page, so no users asking it, and said so rather than passed
    assert (
        targets["time to the first verified answer in the page, 1 and 10 users at once"].measured
        == "not run"
    )
    # The scale-accuracy targets need 100x and 1000x: not run here, and said so, not passed.
    for n in (100, 1000):
        assert targets[f"accuracy at {n}x against 1x"].met is None
    assert targets["retrieval p95 at 1x"].met is not None


def test_the_plain_pipeline_answers_with_the_backends_llm(tmp_path: Path) -> None:
    """With a generator, the baseline is llama-index's default query engine on that LLM: its
    own English prompt reaches the server, and the server's text is the answer."""
    from assistant.answer.factory import build_generator
    from assistant.bench.baseline import build
    from assistant.index.bm25 import BM25Index
    from tests.fake_openai import FakeOpenAI

    src = tmp_path / "sources"
    src.mkdir()
    shutil.copy(SOURCES / MEETING, src / MEETING)
    fake = FakeOpenAI(default="社会消费品零售总额达1600亿元。").start()
    try:
        cfg = make_config(tmp_path, src)
        openai = cfg.llm.openai.model_copy(
            update={"base_url": fake.base_url, "model": "fake-model", "retries": 0}
        )
        cfg = cfg.model_copy(update={"llm": cfg.llm.model_copy(update={"openai": openai})})
        idf = BM25Index.build(["x"], ["罗湖"])
        plain, stats = build(cfg, tmp_path / "plain", build_generator(cfg, "openai"), idf)
        answer = plain.ask("“三力三区”行动方案提出社会消费品零售总额达到多少?").prediction
    finally:
        fake.stop()
    assert stats.nodes >= 1 and "llama-index default" in plain.answering
    assert answer.answer == "社会消费品零售总额达1600亿元。" and answer.retrieved
    assert "Context information" in fake.seen[-1].prompt  # llama-index's default prompt


def test_staff_asking_at_once_see_the_verified_answer_while_the_model_is_busy(
    corpus_config: Config, tmp_path: Path
) -> None:
    # A slow model (a real HTTP server speaking the OpenAI protocol), phrasing one answer
    # at a time: each user's verified answer must not wait for it, and those whose
    # phrasing queues behind another's are told their place.
    fake = SlowFake().start()
    fake.delay = 0.05
    try:
        openai = corpus_config.llm.openai.model_copy(
            update={"base_url": fake.base_url, "model": "fake-model", "retries": 0}
        )
        cfg = ui_config(corpus_config, tmp_path / "data", backend="openai", openai=openai)
        (three,) = run_users(cfg, tmp_path, Path("eval/gold.jsonl"), (3,))
    finally:
        fake.stop()
    assert three.available, three.detail
    assert three.verified_ms and three.phrased_ms and three.verified_max_ms
    assert (three.verified_ms.p50 or 0) < (three.phrased_ms.p50 or 0)
    assert three.told_place >= 1
    md = users_md([three])
    assert "| 3 | openai |" in md and f"{three.told_place} / 3" in md
