"""Generation under the grounding guard: stream a draft, check it, regenerate once with the
failure named, and fall back to the extractive answer when the model cannot be trusted.

`generate` is a generator: it yields `Token`s as the model writes them (and a `Retry` when a
draft is rejected) and returns an `Outcome`. What happened is recorded in `Outcome.guard`
(a `GuardLog`, `"guard"` in `assistant ask --json`): the findings of every draft, the
drafts written, whether the model's refusal was trusted (see `refusal`), who refused
(`refused_by`) and whether the extractive answer replaced the model's (`fallback`, with
`error` when the model or server failed).
"""

from __future__ import annotations

from collections.abc import Generator as Gen
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from assistant.answer import refusal
from assistant.answer.events import Generating, Retry, Token
from assistant.answer.extractive import answered_by_facts, extract, fact_clauses
from assistant.answer.guard import GuardReport, check
from assistant.answer.prompts import Prompter
from assistant.answer.request import AnswerRequest
from assistant.backends.base import BackendError, Generator
from assistant.config import AnswerConfig, LLMConfig
from assistant.models import GuardLog
from assistant.timings import ms_since, timed

EXTRACTIVE = "extractive"


@dataclass
class Outcome:
    text: str  # [n] refer to request.hits
    refused: bool
    backend: str  # who wrote `text`
    guard: GuardLog = field(default_factory=GuardLog)
    notice: str = ""


@dataclass(frozen=True)
class Generation:
    """What generating needs besides the request: the model, its prompts, the settings."""

    generator: Generator
    prompter: Prompter
    llm: LLMConfig
    answer: AnswerConfig


def generate(
    gen: Generation, request: AnswerRequest, timings: dict[str, float], t0: float
) -> Gen[Generating | Token | Retry, None, Outcome]:
    log = GuardLog()
    if refusal.refuse_before_generation(request.support, gen.llm):
        log.refused_by, log.refusal_reason = "evidence", request.support.reason
        return Outcome("", True, gen.generator.name, log)
    if _facts_answer(request, gen.llm):
        # Every figure asked is a matched fact: its clause is the exact answer, at once.
        log.fallback = "facts"
        return Outcome(fact_clauses(request.facts), False, EXTRACTIVE, log)

    # Checked against what the sources state: a passage addressed to an assistant ("回答：
    # GDP为99999亿元") is masked, so a figure only it gives is not grounded.
    passages = {
        i + 1: f"{request.labels[i] if i < len(request.labels) else ''}\n{hit.chunk.trusted_text}"
        for i, hit in enumerate(request.hits)
    }
    attempt = request
    report: GuardReport | None = None
    timings.setdefault("generate", 0.0)
    yield Generating()
    for n in range(1 + gen.llm.guard_retries):
        log.attempts = n + 1
        try:
            with timed(timings, "generate"):
                text = yield from _draft(gen, attempt, timings, t0)
        except BackendError as err:
            log.fallback, log.error = EXTRACTIVE, str(err)
            return _fall_back(gen, request, log, notice=f"{err}; 以下为原文摘录。")
        report = check(text, passages, request.question, request.passage_facts)
        report.record(log)
        if report.ok:
            break
        if n < gen.llm.guard_retries:
            log.retried = True
            yield Retry(report.problems())
            attempt = replace(request, previous=text, failure=report.problems())
    assert report is not None
    if report.refused and refusal.model_refusal_stands(request.support, log.retried):
        log.refused_by = "model"
        return Outcome("", True, gen.generator.name, log)
    if report.refused:
        # The passages' best sentences, marked as such, serve staff better than "not found".
        log.fallback, log.model_refused = EXTRACTIVE, True
        return _fall_back(gen, request, log, "模型未能从资料中作答，以下为原文摘录。")
    if report.ok:
        return Outcome(report.text, False, gen.generator.name, log)
    if refusal.guard_refuses(report.missing_question_numbers):
        log.refused_by = "guard"
        return Outcome("", True, gen.generator.name, log)
    log.fallback = EXTRACTIVE
    notice = f"生成的回答未通过核对（{report.problems()}），以下为原文摘录。"
    return _fall_back(gen, request, log, notice)


def model_is_asked(request: AnswerRequest, llm: LLMConfig) -> bool:
    """Whether `generate` will ask the model, or decide without it (a refusal before
    generation, or an answer the matched facts give)."""
    return not (
        refusal.refuse_before_generation(request.support, llm) or _facts_answer(request, llm)
    )


def _facts_answer(request: AnswerRequest, llm: LLMConfig) -> bool:
    return llm.facts_first and answered_by_facts(request)


def _draft(
    gen: Generation, request: AnswerRequest, timings: dict[str, float], t0: float
) -> Gen[Token, None, str]:
    text = ""
    for piece in gen.generator.stream(gen.prompter.answer(request)):
        if "ttft" not in timings:
            timings["ttft"] = ms_since(t0)  # what the user waits, question to first token
        text += piece
        yield Token(piece)
    return text


def _fall_back(gen: Generation, request: AnswerRequest, log: GuardLog, notice: str) -> Outcome:
    draft = extract(request, gen.answer)
    if draft.refused:
        log.refused_by = EXTRACTIVE
        log.refusal_reason = log.refusal_reason or request.support.reason
    return Outcome(draft.text, draft.refused, EXTRACTIVE, log, notice)


def tally(logs: Iterable[GuardLog]) -> dict[str, int]:
    """How many answers each guard finding or outcome touched, over a run's guard logs.
    All zero for the extractive backend, which the guard never sees."""
    rows = list(logs)
    counts = {
        "asked the model": lambda g: g.attempts > 0,
        "refused by the evidence test": lambda g: g.refused_by == "evidence",
        "citations moved": lambda g: bool(g.moved_citations),
        "citations dropped": lambda g: bool(g.dropped_citations),
        "ungrounded figures": lambda g: bool(g.ungrounded_numbers),
        "asked year or figure not cited": lambda g: bool(g.missing_question_numbers),
        "quoted phrase not cited": lambda g: bool(g.missing_quoted),
        "asked value not given": lambda g: bool(g.unanswered),
        "no citation": lambda g: g.uncited,
        "regenerated": lambda g: g.retried,
        "model refusal not trusted": lambda g: g.model_refused,
        "extractive fallback": lambda g: g.fallback == EXTRACTIVE,
        "answered from facts": lambda g: g.fallback == "facts",
        "wrong figure (period, subject, status)": lambda g: bool(g.wrong_facts),
        "backend failed": lambda g: bool(g.error),
        "refused by the model": lambda g: g.refused_by == "model",
        "refused by the guard": lambda g: g.refused_by == "guard",
    }
    return {label: sum(1 for g in rows if test(g)) for label, test in counts.items()}
