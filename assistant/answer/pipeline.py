"""The path of a question: (rewrite a follow-up,) normalize, retrieve, select evidence, judge
support, generate under the grounding guard, verify citations, respond.

`ask_stream` yields events as they happen (the standalone question, tokens, a regeneration)
and the Response last; `ask` is the same path without the events. Together they are the one
code path behind `assistant ask`, the chat, the UI, the eval and the bench; `factory` builds
the Pipeline they take.
"""

from __future__ import annotations

import time
from collections.abc import Generator as Gen
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from assistant.answer import refusal
from assistant.answer.citations import drawn_on, renumber, verify_citations
from assistant.answer.conversation import Turn, standalone_question
from assistant.answer.events import Event, Generating, Retrieved, Retry, Rewritten, Token
from assistant.answer.evidence import Evidence, select_evidence
from assistant.answer.extractive import extract
from assistant.answer.facts import answer_series, match_facts, retrieval_hints
from assistant.answer.generate import Generation, Outcome, generate, model_is_asked
from assistant.answer.prompts import Prompter, passage_label
from assistant.answer.question import Question, check_question, read_question
from assistant.answer.request import AnswerRequest
from assistant.answer.retrieve import Filters, Hints, Retriever
from assistant.backends.base import Generator
from assistant.backends.registry import FALLBACK
from assistant.config import Config
from assistant.index.live import Index
from assistant.models import Citation, GuardLog, Hit, Response
from assistant.textnorm import for_search, to_traditional
from assistant.timings import ms_since, timed


@dataclass
class Pipeline:
    """What answering needs, opened once and reused for every question (see `factory`)."""

    config: Config
    index: Index
    retriever: Retriever
    backend: Generator | None = None  # None: answers are quoted from the passages
    notice: str = ""  # why the configured backend is not the one answering

    @property
    def backend_name(self) -> str:
        return self.backend.name if self.backend is not None else FALLBACK

    @property
    def prompter(self) -> Prompter:
        return Prompter.of(self.config)

    def warm_up(self) -> None:
        """Pay one-off costs (jieba's dictionary, the embedder's first call, loading a local
        model and prefilling its fixed prompt) before a question; BackendError when the
        model cannot be loaded."""
        self.retriever.retrieve(for_search("罗湖"), top_k=1)
        if self.backend is not None:
            self.backend.warm(self.prompter.warm())


def ask(
    pipe: Pipeline,
    question: str,
    filters: Filters | None = None,
    mode: str | None = None,
    history: Sequence[Turn] | None = None,
) -> Response:
    for event in ask_stream(pipe, question, filters, mode, history):
        if isinstance(event, Response):
            return event
    raise AssertionError("ask_stream ends with a Response")


def ask_stream(
    pipe: Pipeline,
    question: str,
    filters: Filters | None = None,
    mode: str | None = None,
    history: Sequence[Turn] | None = None,
) -> Iterator[Event]:
    """Events as they happen, the Response last; BadQuestion (one line) before any work
    for a question too long or not text."""
    prepared = prepare(pipe, question, filters, mode, history)
    if prepared.rewritten:
        yield Rewritten(prepared.standalone)
    yield from answer_stream(pipe, prepared)


@dataclass
class Prepared:
    """A question read, its passages retrieved and judged: everything before composing.

    Preparing is quick and asks no model (but to rewrite a follow-up no rule can), so a
    page can show the verified answer at once and queue only the model's phrasing behind
    it (`verified`, then `answer_stream`)."""

    question: str  # as asked
    standalone: str  # what was retrieved for
    request: AnswerRequest
    filters: Filters | None
    timings: dict[str, float]
    t0: float

    @property
    def rewritten(self) -> bool:
        return self.standalone != self.question


def prepare(
    pipe: Pipeline,
    question: str,
    filters: Filters | None = None,
    mode: str | None = None,
    history: Sequence[Turn] | None = None,
) -> Prepared:
    """Normalize, retrieve, select evidence, match facts and judge support."""
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    question = check_question(question, pipe.config.answer.max_question_chars)
    standalone = _standalone(pipe, question, history, timings)
    with timed(timings, "normalize"):
        # `text` keeps the asker's language and script; every reading is of the standalone.
        q = read_question(question, standalone)

    hints = retrieval_hints(q, pipe.index)
    hits = pipe.retriever.retrieve(q.norm, filters, mode=mode, timings=timings, hints=hints)

    with timed(timings, "evidence"):
        evidence = select_evidence(
            q, hits, pipe.index.bm25, pipe.config.answer, _subjects(pipe.index, hits, hints)
        )
    with timed(timings, "facts"):
        facts = match_facts(q, hits, pipe.index)
        support = refusal.judge(
            q, hits, evidence, pipe.config.answer, pipe.index.document_search_text, facts
        )
    labels = [_label(pipe.index, h) for h in hits]
    of_passage = {i + 1: pipe.index.facts.of_chunk(h.chunk.chunk_id) for i, h in enumerate(hits)}
    request = AnswerRequest(q, hits, evidence, support, facts, of_passage, labels=labels)
    return Prepared(question, standalone, request, filters, timings, t0)


def asks_model(pipe: Pipeline, prepared: Prepared) -> bool:
    """Whether composing will ask the backend's model (else `verified` is the answer)."""
    return pipe.backend is not None and model_is_asked(prepared.request, pipe.config.llm)


def verified(pipe: Pipeline, prepared: Prepared) -> Response:
    """The answer that needs no model: the extractive one, as the guard's fallback would
    give it. Shown while the model writes; the model's answer replaces it only if it
    passes the guard."""
    timings = dict(prepared.timings)
    with timed(timings, "generate"):
        draft = extract(prepared.request, pipe.config.answer)
    outcome = Outcome(draft.text, draft.refused, FALLBACK, GuardLog())
    return _respond(pipe, replace(prepared, timings=timings), outcome)


def answer_stream(pipe: Pipeline, prepared: Prepared) -> Iterator[Event]:
    """Compose the answer (the model's under the guard, or the extractive one), verify its
    citations and respond: tokens and retries as they happen, the Response last."""
    if pipe.backend is not None:  # a draft will stream: its [n] point into these
        request = prepared.request
        hits, evidence = request.hits, request.evidence
        yield Retrieved([_citation(pipe.index, i + 1, h, i, evidence) for i, h in enumerate(hits)])
    outcome = yield from _compose(pipe, prepared.request, prepared.timings, prepared.t0)
    yield _respond(pipe, prepared, outcome)


def _respond(pipe: Pipeline, prepared: Prepared, outcome: Outcome) -> Response:
    q, hits, timings = prepared.request.question, prepared.request.hits, prepared.timings
    support, evidence = prepared.request.support, prepared.request.evidence
    noted = outcome.refused and bool(support.note)
    if noted:
        outcome.text = support.note  # a refusal that says what the sources hold, cited
    with timed(timings, "verify"):
        text, order, dropped = verify_citations(outcome.text, len(hits))
        text = renumber(text, order)
        if outcome.backend != FALLBACK and q.traditional:
            text = to_traditional(text)  # the model wrote Simplified; the asker reads Traditional
    log = outcome.guard
    log.dropped_citations = log.dropped_citations or dropped
    refused = outcome.refused or not order
    if refused:
        log.refusal_reason = log.refusal_reason or support.reason
    cited = [hits[n - 1] for n in order]
    response = respond(pipe.index, q, text, refused, cited, hits, evidence, noted)
    response.backend = outcome.backend
    response.guard = log
    response.notice = outcome.notice
    response.standalone_question = prepared.standalone if prepared.rewritten else ""
    response.series = answer_series(pipe.index, prepared.request.facts, cited, prepared.filters)
    response.timings_ms = timings
    response.latency_ms = ms_since(prepared.t0)
    return response


def _subjects(index: Index, hits: list[Hit], hints: Hints | None) -> list[str] | None:
    """Each hit's district when it is the asked one and the index holds others too (then
    the passages of the asked district's reports cover its name without writing it)."""
    about = hints.subject_ids if hints is not None else None
    if not about:
        return None
    return [
        index.documents[h.chunk.doc_id].meta.subject if h.chunk.doc_id in about else ""
        for h in hits
    ]


def _standalone(
    pipe: Pipeline, question: str, history: Sequence[Turn] | None, timings: dict[str, float]
) -> str:
    llm = pipe.config.llm
    if not (history and llm.rewrite_followups and llm.history_turns):
        return question
    with timed(timings, "rewrite"):
        recent = list(history)[-llm.history_turns :]
        standalone, how = standalone_question(
            question, recent, pipe.backend, pipe.config.paths.prompts_dir
        )
    return standalone if how else question


def _compose(
    pipe: Pipeline, request: AnswerRequest, timings: dict[str, float], t0: float
) -> Gen[Generating | Token | Retry, None, Outcome]:
    """The answer's text: the generator's under the guard, or the extractive one."""
    if pipe.backend is None:
        with timed(timings, "generate"):
            draft = extract(request, pipe.config.answer)
        # Answering without a generator by choice, or because the one asked for could not
        # be used (then the answer is the fallback's, and the log says so).
        log = GuardLog(fallback=FALLBACK, error=pipe.notice) if pipe.notice else GuardLog()
        return Outcome(draft.text, draft.refused, FALLBACK, log, notice=pipe.notice)
    generation = Generation(pipe.backend, pipe.prompter, pipe.config.llm, pipe.config.answer)
    return (yield from generate(generation, request, timings, t0))


def respond(
    index: Index,
    question: Question,
    text: str,
    refused: bool,
    cited: list[Hit],
    hits: list[Hit],
    evidence: Evidence,
    noted: bool = False,
) -> Response:
    """The Response; a refusal is the plain words of refusal unless it is `noted`: it says
    what the sources do hold, citing it."""
    retrieved = [_citation(index, i + 1, h, i, evidence) for i, h in enumerate(hits)]
    if refused and not noted:
        text, cited = refusal.refusal_text(question), []
    citations = [_citation(index, n + 1, h, hits.index(h), evidence) for n, h in enumerate(cited)]
    for c in citations:  # marked: what the answer drew on, not what evidence selection chose
        c.highlight = drawn_on(text, c.n, c.text)
    return Response(
        answer=text,
        refused=refused,
        citations=citations,
        latency_ms=0.0,
        backend=FALLBACK,
        question=question.text,
        retrieved=retrieved,
    )


def _label(index: Index, hit: Hit) -> str:
    meta = index.documents[hit.chunk.doc_id].meta
    return passage_label(meta.title, meta.date, hit.chunk.section)


def _citation(index: Index, n: int, hit: Hit, pos: int, evidence: Evidence) -> Citation:
    """A passage as shown to users; `pos` is its place among the retrieved hits."""
    doc = index.documents[hit.chunk.doc_id]
    highlight = [s.text for s in evidence.sentences if s.hit == pos]
    return Citation(
        n=n,
        doc_id=doc.doc_id,
        title=doc.meta.title,
        date=doc.meta.date,
        section=hit.chunk.section,
        text=hit.chunk.text,
        score=round(hit.score, 6),
        chunk_id=hit.chunk.chunk_id,
        start=hit.chunk.start,
        end=hit.chunk.end,
        highlight=highlight[:2],
        flagged=[hit.chunk.text[s:e] for s, e in hit.chunk.flagged],
    )


def retrieve_passages(
    pipe: Pipeline, question: str, filters: Filters | None = None, mode: str | None = None
) -> list[Citation]:
    """The passages a question retrieves, best first, as `Response.retrieved` lists them
    (the same retrieval as `ask_stream`), without composing an answer: for callers that
    only want passages (the llama-index retriever)."""
    q = read_question(question, question)
    hints = retrieval_hints(q, pipe.index)
    hits = pipe.retriever.retrieve(q.norm, filters, mode=mode, hints=hints)
    evidence = select_evidence(q, hits, pipe.index.bm25, pipe.config.answer)
    return [_citation(pipe.index, i + 1, h, i, evidence) for i, h in enumerate(hits)]
