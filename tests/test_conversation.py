"""Follow-ups rewritten into standalone questions before retrieval, and the chat history."""

from __future__ import annotations

from collections.abc import Iterator

from assistant.answer.conversation import (
    Conversation,
    Turn,
    is_followup,
    rewrite_by_rule,
    standalone_question,
)
from assistant.answer.events import Rewritten
from assistant.answer.pipeline import Pipeline, ask, ask_stream
from assistant.backends.base import BackendError, GenerationRequest, Readiness
from assistant.models import Response
from tests.conftest import ROOT

PROMPTS = ROOT / "prompts"


class ScriptedGenerator:
    """A generator whose replies are given: what the rewriting sends it is recorded."""

    name = "scripted"

    def __init__(self, reply: str | Exception) -> None:
        self.reply = reply
        self.asked: list[str] = []

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        raise AssertionError("not used")

    def complete(self, request: GenerationRequest) -> str:
        self.asked.append(request.messages[-1]["content"])
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply

    def warm(self, request: GenerationRequest) -> None:
        pass

    def ready(self) -> Readiness:
        return Readiness(True, "")

    def describe(self) -> str:
        return "scripted replies"


def test_followups_are_recognized() -> None:
    for q in ("那2019年呢?", "那么教育方面呢？", "它增长了多少?", "What about 2019?"):
        assert is_followup(q), q
    for q in ("2019年罗湖新增产业面积超过多少?", "罗湖区2019年投入产业转型升级扶持资金多少?"):
        assert not is_followup(q), q


def test_a_year_follow_up_is_rewritten_by_rule() -> None:
    assert rewrite_by_rule("2020年罗湖区GDP是多少？", "那2019年呢?") == "2019年罗湖区GDP是多少?"
    # The report's year stays; the year asked about changes.
    assert (
        rewrite_by_rule("2021年政府工作报告中,罗湖区2020年地区生产总值是多少?", "那2019年呢?")
        == "2021年政府工作报告中,罗湖区2019年地区生产总值是多少?"
    )
    assert rewrite_by_rule("罗湖区GDP是多少?", "那2019年呢?") is None  # no year to swap
    assert rewrite_by_rule("2020年罗湖区GDP是多少?", "那教育呢?") is None


def test_other_follow_ups_go_to_the_model() -> None:
    history = [Turn("2019年罗湖新增中小学学位多少个?", "2019年罗湖新增中小学学位多少个?", "6589个")]
    gen = ScriptedGenerator("改写后的问题：2019年罗湖普惠性幼儿园在园儿童比例是多少？\n")
    question, how = standalone_question("那幼儿园呢?", history, gen, PROMPTS)
    assert (question, how) == ("2019年罗湖普惠性幼儿园在园儿童比例是多少？", "model")
    assert "2019年罗湖新增中小学学位多少个?" in gen.asked[0] and "那幼儿园呢?" in gen.asked[0]


def test_a_failed_rewrite_keeps_the_question() -> None:
    history = [Turn("2019年罗湖新增中小学学位多少个?", "2019年罗湖新增中小学学位多少个?", "")]
    gen = ScriptedGenerator(BackendError("server down"))
    assert standalone_question("那幼儿园呢?", history, gen, PROMPTS) == ("那幼儿园呢?", "")
    assert standalone_question("那幼儿园呢?", history, None, PROMPTS) == ("那幼儿园呢?", "")
    assert standalone_question("那幼儿园呢?", [], gen, PROMPTS) == ("那幼儿园呢?", "")


def test_conversation_keeps_the_last_turns() -> None:
    chat = Conversation(max_turns=2)
    for i in range(4):
        chat.add(f"问题{i}", "", f"回答{i}")
    assert [t.question for t in chat.turns] == ["问题2", "问题3"]
    assert chat.turns[-1].standalone == "问题3"


def test_a_follow_up_is_answered_as_its_standalone_question(pipeline: Pipeline) -> None:
    """Extractive backend: the rule rewrites the year, retrieval sees the full question."""
    first = ask(pipeline, "2019年罗湖完成固定资产投资多少亿元?")
    chat = Conversation()
    chat.add("2019年罗湖完成固定资产投资多少亿元?", first.standalone_question, first.answer)
    events = list(ask_stream(pipeline, "那2018年呢?", history=chat.turns))
    assert isinstance(events[0], Rewritten)
    assert events[0].standalone == "2018年罗湖完成固定资产投资多少亿元?"
    final = events[-1]
    assert isinstance(final, Response) and final.question == "那2018年呢?"
    assert final.standalone_question == "2018年罗湖完成固定资产投资多少亿元?"
    assert final.refused  # the sources give no 2018 figure: not the 2019 one instead
