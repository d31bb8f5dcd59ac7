"""The Python API (`assistant.api.Assistant`) and its llama-index query engine, on the real
index, embedder and Chroma: the README's example as written, typed results, a corpus that
changes under an open Assistant, and the engine driven through llama-index's own API."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
from pathlib import Path

import pytest
from llama_index.core.base.response.schema import Response as LlamaResponse
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from llama_index.core.tools import QueryEngineTool

from assistant.answer.events import Generating, Token
from assistant.api import Assistant
from assistant.config import Config, ConfigError
from assistant.corpus.library import UnknownDocument
from assistant.integrations.llama_index import AssistantQueryEngine, AssistantRetriever
from assistant.models import Citation, DocumentInfo, Response
from tests.conftest import ROOT, make_config

QUESTION = "2019年罗湖完成固定资产投资多少亿元？"


def readme_python_blocks() -> str:
    """The code of the README's "Python API" section, as a reader would copy it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.S)
    assert len(blocks) >= 2, "the section shows the API and the llama-index engine"
    return "\n".join(blocks)


def test_the_readme_example_runs_as_written(corpus_config: Config, tmp_path: Path) -> None:
    (tmp_path / "assistant.toml").write_text(
        f'[paths]\nsources = "{corpus_config.paths.sources}"\n'
        f'index_dir = "{corpus_config.paths.index_dir}"\n'
        f'data_dir = "{tmp_path / "data"}"\nprompts_dir = "{ROOT / "prompts"}"\n'
        '[llm]\nbackend = "extractive"\n',
        encoding="utf-8",
    )
    run = subprocess.run(
        [sys.executable, "-c", readme_python_blocks()],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "完成固定资产投资332亿元[1]" in out
    assert "[1] 请回答2019!罗湖交出全面振兴答卷（2020-01-03）" in out
    assert "2018年罗湖完成固定资产投资多少亿元" in out  # the follow-up, read in full
    assert "002_833012a21d5118d3.txt 政府工作報告 2021-11-03" in out
    assert re.search(r"\n\d\.\d{3} 请回答2019!罗湖交出全面振兴答卷 ", out)  # a source node


@pytest.fixture
def small(tmp_path: Path) -> Config:
    src = tmp_path / "sources"
    src.mkdir()
    (src / "parks.txt").write_text(
        "罗湖区口袋公园建设情况\n2023-05-10\n2023年,罗湖区新建口袋公园12个,新增绿道8公里。\n",
        encoding="utf-8",
    )
    (src / "schools.txt").write_text(
        "罗湖区教育发展情况\n2022-09-01\n2022年,罗湖区新增公办学位6000个,新建学校3所。\n",
        encoding="utf-8",
    )
    return make_config(tmp_path, src)


def test_an_open_assistant_follows_its_corpus(small: Config, tmp_path: Path) -> None:
    upload = tmp_path / "upload.txt"
    upload.write_text(
        "罗湖区养老服务情况\n2024-03-15\n2024年,罗湖区建成长者饭堂20家,服务老年人10万人次。\n",
        encoding="utf-8",
    )
    with Assistant.open(small) as assistant:
        first = assistant.ingest()
        assert first.added == 2 and first.documents == 2
        answer = assistant.ask("2023年罗湖区新建口袋公园多少个?")
        assert isinstance(answer, Response) and "12个" in answer.answer
        assert all(isinstance(c, Citation) for c in answer.citations)
        assert answer.citations[0].doc_id == "parks.txt"
        embedder = assistant.pipeline().retriever.embedder

        added = assistant.add([upload], names=["养老.txt"])
        assert added.added_docs == ["养老.txt"]
        elderly = assistant.ask("2024年罗湖区建成长者饭堂多少家?")
        assert "20家" in elderly.answer and elderly.citations[0].doc_id == "养老.txt"
        assert assistant.pipeline().retriever.embedder is embedder  # reopened, not reloaded

        events = list(assistant.ask_stream("2022年罗湖区新增公办学位多少个?"))
        assert isinstance(events[-1], Response) and "6000个" in events[-1].answer
        assert not any(isinstance(e, Generating | Token) for e in events)  # quoted, no model

        only = assistant.ask("罗湖区新增了什么?", documents=["schools.txt"])
        assert {c.doc_id for c in only.citations} <= {"schools.txt"}

        removed = assistant.remove(["parks.txt"])
        assert removed.removed_docs == ["parks.txt"]
        assert [d.doc_id for d in assistant.sources()] == ["养老.txt", "schools.txt"]
        assert all(isinstance(d, DocumentInfo) for d in assistant.sources())
        with pytest.raises(UnknownDocument):
            assistant.ask("口袋公园有多少个?", documents=["parks.txt"])
        with pytest.raises(ValueError, match="起始日期“2019/13/01”无效"):
            assistant.ask("口袋公园有多少个?", date_from="2019/13/01")
        assert assistant.document("schools.txt").meta.title == "罗湖区教育发展情况"
    assert assistant._pipeline is None  # closed by the with block


def test_open_takes_a_file_and_overrides(small: Config, tmp_path: Path) -> None:
    toml = tmp_path / "assistant.toml"
    toml.write_text(f'[paths]\nsources = "{small.paths.sources}"\n', encoding="utf-8")
    opened = Assistant.open(toml, retrieval={"top_k": 3})
    assert opened.config.paths.sources == small.paths.sources
    assert opened.config.retrieval.top_k == 3 and opened.config.retrieval.mode == "hybrid"
    assert Assistant.open(small, retrieval={"top_k": 2}).config.retrieval.top_k == 2
    with pytest.raises(ConfigError, match=r"retrieval\.top_k"):
        Assistant.open(small, retrieval={"top_k": "many"})


# ------------------------------------------------------------------------- llama-index


@pytest.fixture(scope="module")
def assistant(corpus_config: Config) -> Assistant:
    return Assistant.open(corpus_config)


def test_the_query_engine_through_llama_index(assistant: Assistant) -> None:
    engine = AssistantQueryEngine(assistant)
    response = engine.query(QUESTION)
    assert isinstance(response, LlamaResponse)
    assert str(response) == "完成固定资产投资332亿元[1]。"
    (source,) = response.source_nodes  # one citation, [1]
    assert isinstance(source, NodeWithScore) and isinstance(source.node, TextNode)
    assert isinstance(source.score, float) and source.score > 0
    meta = source.node.metadata
    assert meta["title"] == "请回答2019!罗湖交出全面振兴答卷"
    assert (meta["date"], meta["n"]) == ("2020-01-03", 1)
    assert "332亿元" in source.node.get_content()
    assert "332亿元" in "".join(meta["highlight"])
    ours = response.metadata["response"]
    assert isinstance(ours, Response) and ours.citations[0].chunk_id == source.node.node_id
    assert response.metadata["refused"] is False and response.metadata["backend"] == "extractive"

    # As a tool of an agent, and asynchronously, through llama-index's own entry points.
    tool = QueryEngineTool.from_defaults(engine, name="luohu_reports", description="罗湖区报告")
    output = tool.call(QUESTION)
    assert output.content == str(response) and isinstance(output.raw_output, LlamaResponse)
    refused = asyncio.run(engine.aquery("福田区2035年地区生产总值的目标是多少?"))
    assert refused.metadata is not None and refused.metadata["refused"] is True


def test_the_retriever_through_llama_index(assistant: Assistant) -> None:
    nodes = AssistantRetriever(assistant).retrieve(QUESTION)
    assert len(nodes) == assistant.config.retrieval.top_k
    assert "332亿元" in nodes[0].node.get_content()
    assert all(isinstance(n.score, float) for n in nodes)
    scores = [n.score or 0.0 for n in nodes]
    assert scores == sorted(scores, reverse=True)
    narrowed = AssistantQueryEngine(assistant, documents=["002_833012a21d5118d3.txt"])
    found = narrowed.retrieve(QueryBundle("罗湖区地区生产总值"))
    assert found and {n.node.metadata["doc_id"] for n in found} == {"002_833012a21d5118d3.txt"}
