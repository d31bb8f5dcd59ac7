"""The `local` backend: the packaged model assembled and checked, faults that end in the
extractive answer, and the real model answering gold questions end to end."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from assistant.answer.factory import build_generator, open_pipeline
from assistant.answer.pipeline import Pipeline, ask
from assistant.backends.base import BackendError
from assistant.backends.modelfile import ModelSpec, ensure_model
from assistant.config import Config
from assistant.textnorm import for_match
from tests.conftest import ROOT

QUESTION = "罗湖区2019年投入产业转型升级扶持资金多少?"


# ------------------------------------------------------------------ model assembly


def fake_spec(tmp_path: Path, parts: list[bytes], expected: bytes | None = None) -> ModelSpec:
    paths = []
    for i, data in enumerate(parts, start=1):
        path = tmp_path / f"part{i:02d}.bin"
        path.write_bytes(data)
        paths.append(path)
    whole = expected if expected is not None else b"".join(parts)
    return ModelSpec("m.gguf", hashlib.sha256(whole).hexdigest(), len(whole), lambda: paths)


def test_parts_are_assembled_once_and_verified(tmp_path: Path) -> None:
    spec = fake_spec(tmp_path, [b"GGUF", b"-part-two", b"-three"])
    target = tmp_path / "models" / "m.gguf"
    assert ensure_model(target, spec) == target
    assert target.read_bytes() == b"GGUF-part-two-three"
    mtime = target.stat().st_mtime_ns
    ensure_model(target, spec)  # verified by its stamp: not rebuilt
    assert target.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in target.parent.iterdir()) == ["m.gguf", "m.gguf.sha256"]


def test_a_corrupt_cache_file_is_assembled_again(tmp_path: Path) -> None:
    spec = fake_spec(tmp_path, [b"GGUF", b"-data"])
    target = tmp_path / "m.gguf"
    ensure_model(target, spec)
    target.write_bytes(b"GGUF-dat!")  # same size, one byte flipped
    ensure_model(target, spec)
    assert target.read_bytes() == b"GGUF-data"


def test_corrupt_parts_are_refused_with_what_to_do(tmp_path: Path) -> None:
    spec = fake_spec(tmp_path, [b"GGUF", b"-data"], expected=b"GGUF-other")
    target = tmp_path / "m.gguf"
    with pytest.raises(BackendError, match=r"corrupt.*reinstall"):
        ensure_model(target, spec)
    assert list(tmp_path.glob("*.gguf*")) == [] and not list(tmp_path.glob(".*tmp"))


# ------------------------------------------------------ faults: the extractive answer


def local_config(cfg: Config, **local: object) -> Config:
    """The local backend, asked for every answer: with facts first, a question asking only
    figures is answered from the facts and the model is never run."""
    llm = cfg.llm.model_copy(
        update={
            "backend": "local",
            "facts_first": False,
            "local": cfg.llm.local.model_copy(update=local),
        }
    )
    return cfg.model_copy(update={"llm": llm})


def test_a_missing_model_file_is_one_line_and_the_extractive_answer(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    cfg = local_config(pipeline.config, model_file=tmp_path / "missing.gguf")
    with pytest.raises(BackendError, match="model_file not found"):
        build_generator(cfg, "local")
    pipe = open_pipeline(cfg)
    response = ask(pipe, QUESTION)
    assert response.backend == "extractive" and "6.6亿元" in response.answer
    assert "missing.gguf" in response.notice and "\n" not in response.notice


def test_a_corrupt_model_file_is_one_line_and_the_extractive_answer(
    pipeline: Pipeline, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 4096)
    cfg = local_config(pipeline.config, model_file=bad)
    pipe = Pipeline(cfg, pipeline.index, pipeline.retriever, build_generator(cfg, "local"))
    ok, _ = pipe.backend.ready()  # type: ignore[attr-defined]
    assert ok  # the file exists; only loading it shows it is broken
    response = ask(pipe, QUESTION)
    assert response.backend == "extractive" and "6.6亿元" in response.answer
    assert "cannot load the local model" in response.notice and "\n" not in response.notice
    assert response.guard.fallback == "extractive"


# ------------------------------------------------------ the real model, end to end


def gold(ids: list[str]) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in (ROOT / "eval" / "gold.jsonl").read_text().splitlines()]
    by_id = {r["id"]: r for r in rows if r.get("id")}
    return [by_id[i] for i in ids]


@pytest.fixture(scope="module")
def local_pipeline(pipeline: Pipeline) -> Pipeline:
    # The model cache is the one `make run` fills (data/models), not a temporary folder:
    # assembling 1.1 GB again for every test session would be waste.
    paths = pipeline.config.paths.model_copy(update={"data_dir": ROOT / "data"})
    cfg = local_config(pipeline.config.model_copy(update={"paths": paths}))
    pipe = Pipeline(cfg, pipeline.index, pipeline.retriever, build_generator(cfg, "local"))
    pipe.warm_up()
    return pipe


Check = Callable[[str], bool]


@pytest.mark.slow
@pytest.mark.parametrize("item", gold(["g010", "g011", "g121"]), ids=lambda r: r["id"])
def test_the_local_model_answers_gold_questions(
    local_pipeline: Pipeline, item: dict[str, object]
) -> None:
    response = ask(local_pipeline, str(item["question"]))
    assert response.backend == "local", response.notice
    assert not response.refused, response.guard
    answer = for_match(response.answer)
    for pattern in item["answers"]:  # type: ignore[attr-defined]
        assert re.search(pattern, answer), (pattern, response.answer)
    cited = for_match("".join(c.text for c in response.citations))
    for pattern in item["evidence"]:  # type: ignore[attr-defined]
        assert re.search(pattern, cited), (pattern, response.answer)
    assert response.timings_ms["ttft"] > 0
    assert {int(n) for n in re.findall(r"\[(\d+)\]", response.answer)} == {
        c.n for c in response.citations
    }


@pytest.mark.slow
def test_the_local_model_answers_traditional_in_traditional(local_pipeline: Pipeline) -> None:
    response = ask(local_pipeline, gold(["g011"])[0]["question"])  # type: ignore[arg-type]
    assert "機構" in response.answer or "構" in response.answer


@pytest.mark.slow
@pytest.mark.parametrize("item", gold(["g153", "g161"]), ids=lambda r: r["id"])
def test_the_local_model_gives_no_figure_for_an_unanswerable_question(
    local_pipeline: Pipeline, item: dict[str, object]
) -> None:
    response = ask(local_pipeline, str(item["question"]))
    assert response.refused, response.answer
    if response.citations:
        # A refusal that says what the sources hold: every figure of it is in the passage
        # it cites, and the asked one is named missing.
        assert response.answer.startswith("资料中没有"), response.answer
        cited = for_match("".join(c.text for c in response.citations))
        said = re.sub(r"\[\d+\]", "", response.answer.split("资料中有：", 1)[1])
        said = re.sub(r"^[^，]*年[^，]*，", "", said)  # the fact's period, read from its report
        for number in re.findall(r"\d+(?:\.\d+)?", for_match(said)):
            assert number in cited, (number, response.answer)
    else:
        assert not re.search(r"\d", response.answer)
