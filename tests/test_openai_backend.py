"""The `openai` backend end to end against a real HTTP server on 127.0.0.1 speaking the
chat-completions protocol: streaming and not, the grounding guard on planted answers, and
every fault the network can produce ending as one line plus the extractive answer."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.answer.events import Retry, Rewritten, Token
from assistant.answer.factory import build_generator
from assistant.answer.generate import tally
from assistant.answer.pipeline import (
    Pipeline,
    answer_stream,
    ask,
    ask_stream,
    asks_model,
    prepare,
    verified,
)
from assistant.backends.openai_compat import OpenAIConfig
from assistant.config import Config
from assistant.models import Response
from assistant.textnorm import for_match
from tests.conftest import ROOT
from tests.fake_openai import FakeOpenAI, free_port

QUESTION = "罗湖区2019年投入产业转型升级扶持资金多少?"
GOOD = "罗湖区2019年投入产业转型升级扶持资金6.6亿元[{n:6.6亿元}]。"
KEY_ENV = "LUOHU_TEST_LLM_KEY"


@pytest.fixture
def server() -> Iterator[FakeOpenAI]:
    fake = FakeOpenAI().start()
    yield fake
    fake.stop()


def openai_config(cfg: Config, base_url: str, **settings: object) -> Config:
    values: dict[str, object] = {
        "base_url": base_url,
        "model": "fake-model",
        "api_key_env": KEY_ENV,
        "timeout": 2.0,
        "retries": 0,
    }
    openai = OpenAIConfig.model_validate({**values, **settings})
    # every answer from the model: facts first would answer figure questions without it
    llm = cfg.llm.model_copy(update={"backend": "openai", "openai": openai, "facts_first": False})
    return cfg.model_copy(update={"llm": llm})


def openai_pipeline(pipeline: Pipeline, base_url: str, **settings: object) -> Pipeline:
    """The session's index and retriever with an openai backend pointed at `base_url`."""
    cfg = openai_config(pipeline.config, base_url, **settings)
    return Pipeline(cfg, pipeline.index, pipeline.retriever, build_generator(cfg, "openai"))


def test_with_facts_first_a_figure_question_is_answered_without_the_model(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    server.script = ["扶持资金为9.9亿元[{n:6.6亿元}]。"]  # would be rejected if asked
    cfg = openai_config(pipeline.config, server.base_url)
    cfg = cfg.model_copy(update={"llm": cfg.llm.model_copy(update={"facts_first": True})})
    response = ask(
        Pipeline(cfg, pipeline.index, pipeline.retriever, build_generator(cfg, "openai")), QUESTION
    )
    assert not server.seen  # the matched fact's clause is the answer: no request was made
    assert response.guard.fallback == "facts" and "6.6亿元[1]" in response.answer
    assert "6.6亿元" in for_match(response.citations[0].text)
    # a question that asks more than a figure still goes to the model
    server.script = [GOOD]
    ask(
        Pipeline(cfg, pipeline.index, pipeline.retriever, build_generator(cfg, "openai")),
        "罗湖区2019年投入产业转型升级扶持资金多少?用于哪些方面?",
    )
    assert server.seen


@pytest.mark.parametrize("stream", [False, True])
def test_answers_with_the_figure_cited(
    pipeline: Pipeline, server: FakeOpenAI, stream: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-test-123")
    server.script = [GOOD]
    response = ask(openai_pipeline(pipeline, server.base_url, stream=stream), QUESTION)
    assert response.backend == "openai" and not response.notice and not response.refused
    assert "6.6亿元[1]" in response.answer
    assert "6.6亿元" in for_match(response.citations[0].text)
    assert response.guard.attempts == 1 and response.guard.fallback is None
    request = server.seen[-1]
    assert request.headers["Authorization"] == "Bearer sk-test-123"
    assert request.body["stream"] is stream and request.body["model"] == "fake-model"
    assert "产业转型升级扶持资金" in request.prompt  # the evidence reached the model


def test_streams_tokens_then_the_response(pipeline: Pipeline, server: FakeOpenAI) -> None:
    server.script = [GOOD]
    events = list(ask_stream(openai_pipeline(pipeline, server.base_url), QUESTION))
    tokens = [e.text for e in events if isinstance(e, Token)]
    assert len(tokens) > 3 and "".join(tokens).startswith("罗湖区2019年")
    final = events[-1]
    assert isinstance(final, Response) and "6.6亿元" in final.answer
    assert 0 < final.timings_ms["ttft"] <= final.latency_ms


def test_an_invented_figure_is_retried_with_the_failure_named(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    server.script = ["罗湖区2019年投入扶持资金8.8亿元[{n:6.6亿元}]。", GOOD]
    events = list(ask_stream(openai_pipeline(pipeline, server.base_url), QUESTION))
    retries = [e for e in events if isinstance(e, Retry)]
    assert len(retries) == 1 and "8.8亿元" in retries[0].problems
    assert "8.8亿元" in server.seen[-1].prompt  # the regeneration names the failure
    final = events[-1]
    assert isinstance(final, Response) and "6.6亿元" in final.answer
    assert final.guard.retried is True and final.guard.ungrounded_numbers == ["8.8亿元"]


def test_invented_twice_falls_back_to_the_extractive_answer(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    server.default = "扶持资金为9.9亿元[{n:6.6亿元}]。"
    response = ask(openai_pipeline(pipeline, server.base_url), QUESTION)
    extractive = ask(pipeline, QUESTION)
    assert response.backend == "extractive" and response.answer == extractive.answer
    assert response.guard.fallback == "extractive" and "9.9亿元" not in response.answer
    assert "未通过核对" in response.notice and "\n" not in response.notice


def test_a_citation_out_of_range_is_dropped(pipeline: Pipeline, server: FakeOpenAI) -> None:
    server.script = ["扶持资金6.6亿元[{n:6.6亿元}][42]。"]
    response = ask(openai_pipeline(pipeline, server.base_url), QUESTION)
    assert response.guard.dropped_citations == [42]
    assert "[42]" not in response.answer and "6.6亿元[1]" in response.answer


def test_a_model_refusal_of_covered_passages_gives_the_extractive_answer(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    # The evidence test found passages on the question: the model's "not found" is not
    # trusted, and the passages' best sentences are given, marked as a quotation.
    server.script = ["资料中未找到相关内容。"]
    response = ask(openai_pipeline(pipeline, server.base_url), QUESTION)
    assert not response.refused and response.backend == "extractive"
    assert response.guard.model_refused is True and response.guard.attempts == 1
    assert "6.6亿元" in response.answer and "原文摘录" in response.notice


def test_a_model_refusal_of_an_english_question_stands(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    # An English question shares no words with the passages: only its year was checked,
    # so nothing contradicts the model.
    server.script = ["The passages do not contain this information."]
    question = "What was Luohu's industrial support funding in 2019?"
    response = ask(openai_pipeline(pipeline, server.base_url), question)
    assert response.refused and response.guard.refused_by == "model"
    assert response.guard.model_refused is False and len(server.seen) == 1


def test_a_model_refusal_stands_when_the_passages_do_not_cover_the_question(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    # With the evidence test off, the model is the one that says "not in the sources".
    cfg = openai_config(pipeline.config, server.base_url)
    cfg = cfg.model_copy(update={"llm": cfg.llm.model_copy(update={"refuse_unsupported": False})})
    backend = Pipeline(cfg, pipeline.index, pipeline.retriever, build_generator(cfg, "openai"))
    server.script = ["资料中未找到相关内容。"]
    response = ask(backend, "福田区2035年的人口目标是多少?")
    assert response.refused and not response.citations
    assert response.guard.refused_by == "model"


def test_an_answer_that_restates_the_question_is_retried(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    server.script = ["罗湖区2019年投入产业转型升级扶持资金多少？[{n:6.6亿元}]", GOOD]
    response = ask(openai_pipeline(pipeline, server.base_url), QUESTION)
    assert response.guard.unanswered == ["echo"] and response.guard.retried is True
    assert "复述了问题" in server.seen[-1].prompt
    assert "6.6亿元[1]" in response.answer and response.backend == "openai"


def test_a_refusal_after_a_rejected_draft_gives_the_extractive_answer(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    # The evidence test found the passages cover the question; a model that gives up once
    # told its figure is wrong does not turn that into "not in the sources".
    server.script = ["扶持资金为9.9亿元[{n:6.6亿元}]。", "资料中未找到相关内容。"]
    response = ask(openai_pipeline(pipeline, server.base_url), QUESTION)
    assert not response.refused and response.backend == "extractive"
    assert response.guard.retried is True and response.guard.fallback == "extractive"
    assert response.guard.refused_by is None and "6.6亿元" in response.answer


def test_a_retryable_fault_is_retried(pipeline: Pipeline, server: FakeOpenAI) -> None:
    server.script = ["500", GOOD]
    response = ask(openai_pipeline(pipeline, server.base_url, retries=1), QUESTION)
    assert response.backend == "openai" and "6.6亿元" in response.answer
    assert len([s for s in server.seen if s.path.endswith("/chat/completions")]) == 2


FAULT_MESSAGES = {
    "429": "HTTP 429",
    "500": "HTTP 500",
    "401": KEY_ENV,  # says which variable holds the rejected key
    "malformed": "malformed",
    "cut": "cut the reply off",
    "unfinished": "cut the reply off",
    "slow": "did not answer within",
    "html": "answered with text/html instead of the OpenAI protocol",
}


STREAM_ONLY = ("cut", "unfinished")  # a single JSON reply cannot be cut off halfway
FAULT_CASES = [(f, s) for f in FAULT_MESSAGES for s in (True, False) if s or f not in STREAM_ONLY]


@pytest.mark.parametrize(("fault", "stream"), FAULT_CASES)
def test_a_fault_is_one_line_and_the_extractive_answer(
    pipeline: Pipeline, server: FakeOpenAI, fault: str, stream: bool
) -> None:
    server.default = fault
    server.slow_seconds = 2.0
    pipe = openai_pipeline(pipeline, server.base_url, stream=stream, timeout=0.5)
    response = ask(pipe, QUESTION)
    _assert_fell_back(response, ask(pipeline, QUESTION))
    assert FAULT_MESSAGES[fault] in response.notice


def test_a_server_that_never_replies_costs_its_timeout_once(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    """Retries are for refused connections and 5xx; a timeout is not tried again, so the
    wait is what the message says."""
    server.default, server.slow_seconds = "slow", 30.0
    pipe = openai_pipeline(pipeline, server.base_url, retries=2, timeout=1.0)
    t = time.perf_counter()
    response = ask(pipe, QUESTION)
    seconds = time.perf_counter() - t
    assert "did not answer within 1 s" in response.notice
    assert seconds < 3.0, f"{seconds:.1f} s for a 1 s timeout"
    assert len([s for s in server.seen if s.path.endswith("/chat/completions")]) == 1


def test_endpoint_down_is_one_line_and_the_extractive_answer(pipeline: Pipeline) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    response = ask(openai_pipeline(pipeline, url), QUESTION)
    _assert_fell_back(response, ask(pipeline, QUESTION))
    assert "cannot reach" in response.notice and url in response.notice


def _assert_fell_back(response: Response, extractive: Response) -> None:
    assert response.backend == "extractive" and response.guard.fallback == "extractive"
    assert response.answer == extractive.answer and "6.6亿元" in response.answer
    assert response.notice and "\n" not in response.notice
    assert "Traceback" not in response.notice


def test_ready_reports_the_server(pipeline: Pipeline, server: FakeOpenAI) -> None:
    ok, detail = build_generator(openai_config(pipeline.config, server.base_url), "openai").ready()
    assert ok and "fake-model" in detail
    wrong = openai_config(pipeline.config, server.base_url).llm.openai.model_copy(
        update={"model": "other"}
    )
    cfg = pipeline.config.model_copy(
        update={"llm": pipeline.config.llm.model_copy(update={"openai": wrong})}
    )
    ok, detail = build_generator(cfg, "openai").ready()
    assert not ok and "other" in detail
    down = openai_config(pipeline.config, f"http://127.0.0.1:{free_port()}/v1")
    ok, detail = build_generator(down, "openai").ready()
    assert not ok and "cannot reach" in detail


def test_follow_up_is_rewritten_before_retrieval(pipeline: Pipeline, server: FakeOpenAI) -> None:
    from assistant.answer.conversation import Conversation

    chat = Conversation()
    chat.add("罗湖区2019年投入产业转型升级扶持资金多少?", "", "6.6亿元[1]")
    server.script = ["罗湖区为企业减税降费超过多少?", "为企业减税降费超过120亿元[{n:120亿元}]。"]
    pipe = openai_pipeline(pipeline, server.base_url)
    events = list(ask_stream(pipe, "那减税降费呢?", history=chat.turns))
    assert isinstance(events[0], Rewritten)
    assert events[0].standalone == "罗湖区为企业减税降费超过多少?"
    final = events[-1]
    assert isinstance(final, Response) and final.standalone_question == events[0].standalone
    assert "120亿元" in final.answer and not final.refused


def test_cli_with_the_server_down_prints_json_and_a_notice(
    corpus_config: Config, tmp_path: Path
) -> None:
    toml = tmp_path / "assistant.toml"
    toml.write_text(
        f'[paths]\nsources = "{corpus_config.paths.sources}"\n'
        f'index_dir = "{corpus_config.paths.index_dir}"\ndata_dir = "{tmp_path / "data"}"\n'
        f'prompts_dir = "{ROOT / "prompts"}"\n'
        f'[llm]\nbackend = "openai"\n[llm.openai]\nretries = 0\ntimeout = 2\n'
        f'base_url = "http://127.0.0.1:{free_port()}/v1"\n'
    )
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--config", str(toml), "ask", "--json", QUESTION],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr
    data = json.loads(run.stdout)
    assert data["backend"] == "extractive" and "cannot reach" in data["notice"]
    assert data["guard"]["fallback"] == "extractive" and "6.6亿元" in data["answer"]


def test_tally_counts_what_the_guard_did_per_answer(pipeline: Pipeline, server: FakeOpenAI) -> None:
    openai = openai_pipeline(pipeline, server.base_url)
    server.script = [
        GOOD,
        "扶持资金为8.8亿元[{n:6.6亿元}]。",  # invented, then right
        GOOD,
        "扶持资金为9.9亿元[{n:6.6亿元}]。",  # invented twice: extractive
        "扶持资金为9.9亿元[{n:6.6亿元}]。",
    ]
    guards = [ask(openai, QUESTION).guard for _ in range(3)]
    guards.append(ask(openai, "福田区2035年的人口目标是多少?").guard)  # evidence refuses
    counts = tally(guards)
    assert counts["asked the model"] == 3 and counts["refused by the evidence test"] == 1
    assert counts["ungrounded figures"] == 2 and counts["regenerated"] == 2
    assert counts["extractive fallback"] == 1 and counts["backend failed"] == 0


def test_the_verified_answer_comes_before_the_model_and_gives_way_to_a_checked_draft(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    """A page shows `verified` at once and the model's answer only after the guard passed
    it; preparing asks the model nothing."""
    server.script = [GOOD]
    pipe = openai_pipeline(pipeline, server.base_url)
    prepared = prepare(pipe, QUESTION)
    first = verified(pipe, prepared)
    assert not server.seen and asks_model(pipe, prepared)
    assert first.backend == "extractive" and not first.refused and "6.6亿元" in first.answer
    assert first.citations and first.guard.attempts == 0
    final = [e for e in answer_stream(pipe, prepared) if isinstance(e, Response)][-1]
    assert server.seen and final.backend == "openai" and "6.6亿元[1]" in final.answer


def test_a_rejected_draft_leaves_the_verified_answer_standing(
    pipeline: Pipeline, server: FakeOpenAI
) -> None:
    server.script = ["罗湖区2019年投入扶持资金8.8亿元[{n:6.6亿元}]。"] * 2
    pipe = openai_pipeline(pipeline, server.base_url)
    prepared = prepare(pipe, QUESTION)
    first = verified(pipe, prepared)
    final = [e for e in answer_stream(pipe, prepared) if isinstance(e, Response)][-1]
    assert final.backend == "extractive" and final.answer == first.answer
    assert "8.8亿元" not in final.answer


def test_without_a_model_to_ask_the_verified_answer_is_the_answer(pipeline: Pipeline) -> None:
    prepared = prepare(pipeline, QUESTION)
    assert not asks_model(pipeline, prepared)
    assert verified(pipeline, prepared).answer == ask(pipeline, QUESTION).answer
