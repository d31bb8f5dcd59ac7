"""Chroma server mode: a real `chroma run` on 127.0.0.1, and ingest, ask and eval through
`chromadb.HttpClient`; a server that is down gives a one-line error.

The tests run in file order against one server and one index (two of the five reports,
to keep embedding short): ingest -> ask -> eval -> change and removal -> server down.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.answer.factory import open_pipeline
from assistant.answer.pipeline import ask
from assistant.bench.measure import free_port, wait_http
from assistant.cli import cli
from assistant.config import Config
from assistant.corpus.ingest import ingest
from assistant.evaluation.gold import load_gold
from assistant.evaluation.run import evaluate, open_scored_pipeline
from assistant.index import Index, read_manifest
from assistant.index.vectors import StoreError, VectorStore, connect
from tests.conftest import ROOT, SOURCES, make_config

NEWS = "001_bfd75f84de2c2b1c.txt"
MEETING = "003_6c292aaa073e0d9c.txt"
PREFIX = "srvtest"
NOT_NUMERAL = "零一二三四五六七八九十百千万两"
GOLD = [
    {
        "id": "s-eight",
        "question": "罗湖全方位融入国家重大战略,在几个方面主动谋划?",
        "answers": [f"(?:(?<![\\d.])8(?!\\.?\\d)|(?<![{NOT_NUMERAL}])八(?![{NOT_NUMERAL}]))"],
        "evidence": ["八个方面主动谋划"],
        "unanswerable": False,
        "kind": "count",
    },
    {
        "id": "s-ten",
        "question": "罗湖全区高质量发展大会上,区委书记为几大攻坚克难行动代表单位授旗?",
        "answers": ["(?:10|十)大"],
        "evidence": ["十大攻坚克难行动代表单位授旗"],
        "unanswerable": False,
        "kind": "count",
    },
    {
        "id": "s-futian",
        "question": "福田区2035年地区生产总值的目标是多少?",
        "answers": [],
        "evidence": [],
        "unanswerable": True,
        "kind": "unanswerable",
    },
]


class ChromaServer:
    """`chroma run` from this environment, on a free port, persisting under `path`."""

    def __init__(self, path: Path, port: int) -> None:
        self.path = path
        self.port = port
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = path.parent / "chroma.log"

    def start(self) -> None:
        chroma = Path(sys.executable).parent / "chroma"
        assert chroma.exists(), f"the chroma CLI is not installed next to {sys.executable}"
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [
                    str(chroma),
                    "run",
                    "--path",
                    str(self.path),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                stdout=log,
                stderr=log,
                env=env,
            )
        if not self._wait_heartbeat(60):
            self.stop()
            pytest.fail(f"chroma run did not answer; see {self.log}")

    def _wait_heartbeat(self, timeout: float) -> bool:
        return wait_http(f"http://127.0.0.1:{self.port}/api/v2/heartbeat", timeout, self.proc)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChromaServer]:
    srv = ChromaServer(tmp_path_factory.mktemp("chroma") / "data", free_port())
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def http_config(server: ChromaServer, tmp_path_factory: pytest.TempPathFactory) -> Config:
    tmp = tmp_path_factory.mktemp("http-index")
    src = tmp / "sources"
    src.mkdir()
    for name in (NEWS, MEETING):
        shutil.copy(SOURCES / name, src / name)
    index = {"mode": "http", "host": "127.0.0.1", "port": server.port, "collection": PREFIX}
    return make_config(tmp, src, index=index)


def _collections(cfg: Config) -> list[str]:
    client = connect(cfg.index, cfg.paths.index_dir)
    names = [c if isinstance(c, str) else c.name for c in client.list_collections()]
    return sorted(n for n in names if n.startswith(PREFIX + "_"))


def _vector_count(cfg: Config) -> int:
    manifest = read_manifest(cfg.paths.index_dir)
    assert manifest is not None
    return VectorStore(connect(cfg.index, cfg.paths.index_dir), manifest.collection).count()


def test_ingest_and_ask_over_http(http_config: Config) -> None:
    summary = ingest(http_config)
    assert (summary.documents, summary.added) == (2, 2) and not summary.skipped
    manifest = read_manifest(http_config.paths.index_dir)
    assert manifest is not None and manifest.index_mode == "http"
    # The vectors are on the server, not in a local Chroma folder.
    assert not (http_config.paths.index_dir / "chroma").exists()
    assert _collections(http_config) == [manifest.collection]
    assert _vector_count(http_config) == summary.chunks

    again = ingest(http_config)
    assert again.up_to_date and again.embedded_chunks == 0

    pipe = open_pipeline(http_config, "extractive")
    response = ask(pipe, "罗湖全方位融入国家重大战略,在几个方面主动谋划?")
    assert not response.refused
    assert "八个方面" in response.answer
    assert response.citations and response.citations[0].doc_id == NEWS
    assert "dense" in response.timings_ms


def test_eval_over_http(http_config: Config, tmp_path: Path) -> None:
    gold_path = tmp_path / "gold.jsonl"
    gold_path.write_text(
        "".join(json.dumps(g, ensure_ascii=False) + "\n" for g in GOLD), encoding="utf-8"
    )
    gold = load_gold(gold_path)
    result = evaluate(open_scored_pipeline(http_config), gold, gold.items, tmp_path / "out")
    overall = result.summary.overall
    assert (overall.correct, overall.supported, overall.answerable) == (2, 2, 2)
    assert overall.refusal_recall == 1.0
    assert (tmp_path / "out" / "report.json").exists()


def test_changed_and_removed_file_over_http(http_config: Config) -> None:
    news = http_config.paths.sources / NEWS
    news.write_text(news.read_text(encoding="utf-8") + "\n罗湖区新增测试段落,共计42个试点项目。\n")
    (http_config.paths.sources / MEETING).unlink()
    summary = ingest(http_config, remove={MEETING})
    assert (summary.changed, summary.removed, summary.unchanged) == (1, 1, 0)
    assert summary.embedded_chunks >= 1

    index = Index.open(http_config)
    assert {c.doc_id for c in index.chunks} == {NEWS}
    assert any("42个试点项目" in c.text for c in index.chunks)
    assert _vector_count(http_config) == len(index.chunks)
    # Pruning works through the HTTP client: the live generation and the one before remain.
    live = read_manifest(http_config.paths.index_dir)
    assert live is not None
    names = _collections(http_config)
    assert live.collection in names and len(names) <= 2


def test_server_down_is_one_line_error(
    http_config: Config, server: ChromaServer, tmp_path: Path
) -> None:
    pipe = open_pipeline(http_config, "extractive")
    server.stop()

    # Mid-session: the open pipeline loses its server.
    with pytest.raises(StoreError, match="stopped answering") as mid:
        ask(pipe, "罗湖全方位融入国家重大战略,在几个方面主动谋划?")
    assert "\n" not in str(mid.value)

    # At start: ingest and ask say where they tried, on one line, without a traceback.
    with pytest.raises(StoreError, match=f"127.0.0.1:{server.port}") as start:
        ingest(http_config, rebuild=True)
    assert "\n" not in str(start.value)

    env = {
        "ASSISTANT_PATHS__SOURCES": str(http_config.paths.sources),
        "ASSISTANT_PATHS__INDEX_DIR": str(http_config.paths.index_dir),
        "ASSISTANT_INDEX__MODE": "http",
        "ASSISTANT_LLM__BACKEND": "extractive",
        "ASSISTANT_INDEX__PORT": str(server.port),
        "ASSISTANT_INDEX__COLLECTION": PREFIX,
    }
    result = CliRunner().invoke(
        cli, ["--config", str(ROOT / "assistant.toml"), "ask", "罗湖有几个方面?"], env=env
    )
    assert result.exit_code == 1
    # One line of error, after the status line that says what was being done.
    assert result.stderr.splitlines() == ["正在载入模型…", result.stderr.splitlines()[-1]]
    assert "cannot open the Chroma store" in result.stderr.splitlines()[-1], result.output
    assert not result.stdout.strip() and "Traceback" not in result.output
