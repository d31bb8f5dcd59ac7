"""`assistant ask`: cited answers, honest refusals, and the documented JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from assistant.answer.pipeline import ask
from assistant.config import Config
from assistant.textnorm import for_match
from tests.conftest import ROOT


def _cli(cfg: Config, tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    toml = tmp / "assistant.toml"
    toml.write_text(
        f'[paths]\nsources = "{cfg.paths.sources}"\nindex_dir = "{cfg.paths.index_dir}"\n'
        f'data_dir = "{tmp / "data"}"\n[llm]\nbackend = "extractive"\n'
    )
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--config", str(toml), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_ask_json_matches_the_schema(corpus_config: Config, tmp_path: Path) -> None:
    run = _cli(corpus_config, tmp_path, "ask", "--json", "2019年罗湖完成固定资产投资多少亿元?")
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert isinstance(data["answer"], str) and data["refused"] is False
    assert isinstance(data["latency_ms"], float) and data["backend"] == "extractive"
    assert data["citations"]
    for c in data["citations"]:
        assert {"n", "doc_id", "title", "date", "section", "text", "score"} <= set(c)
        assert isinstance(c["n"], int) and isinstance(c["score"], float)
    assert [c["n"] for c in data["citations"]] == list(range(1, len(data["citations"]) + 1))
    assert "332亿元" in for_match(data["answer"])


def test_every_citation_marker_points_at_a_citation(pipeline) -> None:
    response = ask(pipeline, "罗湖区2019年投入产业转型升级扶持资金多少?")
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", response.answer)}
    assert markers == {c.n for c in response.citations}
    assert "6.6亿元" in response.answer


def test_refuses_a_year_the_sources_do_not_give(pipeline) -> None:
    response = ask(pipeline, "罗湖区2035年地区生产总值目标是多少?")
    # A refusal that says what the sources do hold, cited: the 2025 target, not 2035's.
    assert response.refused and response.answer.startswith("资料中没有2035年的数据")
    assert "3300亿元" in response.answer and "[1]" in response.answer
    assert [c.n for c in response.citations] == [1]
    assert "3300亿元" in for_match(response.citations[0].text)
    assert response.retrieved  # the closest passages are still offered


def test_refusal_keeps_the_question_script(pipeline) -> None:
    response = ask(pipeline, "福田區2019年新建了幾所學校?")
    assert response.refused
    assert response.answer.startswith(("資料中未找到", "資料中沒有"))


def test_missing_index_is_a_one_line_error(tmp_path: Path, corpus_config: Config) -> None:
    cfg = corpus_config.model_copy(
        update={"paths": corpus_config.paths.model_copy(update={"index_dir": tmp_path / "none"})}
    )
    run = _cli(cfg, tmp_path, "ask", "问题")
    assert run.returncode == 1
    assert "assistant ingest" in run.stderr and "Traceback" not in run.stderr
