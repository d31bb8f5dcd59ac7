"""The path of a question: (rewrite a follow-up,) normalize, retrieve, select evidence,
generate under the grounding guard, verify citations, respond.

`ask_stream` yields events as they happen (the standalone question, tokens, a regeneration)
and the Response last; `ask` is the same path without the events. Together they are the one
code path behind `assistant ask`, the chat, the UI and the eval.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from assistant.answer.conversation import Turn, standalone_question
from assistant.answer.evidence import Evidence, is_english, select_evidence
from assistant.answer.extractive import ExtractiveBackend
from assistant.answer.generate import Outcome, Retry, Token, generate
from assistant.answer.guard import renumber
from assistant.answer.guard import verify_citations as _verify
from assistant.answer.prompts import passage_label
from assistant.answer.retrieve import Filters, Retriever
from assistant.backends import AnswerRequest, Backend, BackendError, Draft, Generator, make_backend
from assistant.config import Config
from assistant.index.embed import E5Embedding
from assistant.index.generations import Index
from assistant.models import Citation, Hit, Response
from assistant.textnorm import for_search, is_traditional, to_traditional

REFUSAL_ZH = "资料中未找到与该问题直接相关的内容。"
REFUSAL_EN = "The sources do not contain the answer to this question."


@dataclass
class Rewritten:
    """The follow-up was rewritten into this standalone question (shown to the user)."""

    standalone: str


Event = Rewritten | Token | Retry | Response


@dataclass
class Pipeline:
    """What answering needs, opened once and reused for every question."""

    config: Config
    index: Index
    retriever: Retriever
    backend: Backend
    notice: str = ""  # why the configured backend is not the one answering

    @classmethod
    def open(cls, cfg: Config, backend: str | None = None) -> Pipeline:
        index = Index.open(cfg)
        embedder = E5Embedding(cfg.embedding)
        chosen, notice = _open_backend(cfg, backend)
        pipe = cls(cfg, index, Retriever(index, cfg.retrieval, embedder), chosen, notice)
        pipe.warm_up()
        return pipe

    def warm_up(self) -> None:
        """Pay one-off costs (jieba's dictionary, the embedder's first call, loading a local
        model and prefilling its fixed prompt) before a question."""
        self.retriever.retrieve(for_search("罗湖"), top_k=1)
        warm = getattr(self.backend, "warm", None)
        if warm is not None:
            # A failure here is reported by the first question, with the extractive answer.
            with contextlib.suppress(BackendError):
                warm()

    @property
    def fallback(self) -> Backend:
        return ExtractiveBackend(self.config.answer)


def _open_backend(cfg: Config, name: str | None) -> tuple[Backend, str]:
    """The backend asked for; a generator that cannot be used (no model file, parts not
    installed) gives way to the extractive backend with a one-line notice."""
    try:
        return make_backend(cfg, name), ""
    except BackendError as err:
        if (name or cfg.llm.backend) not in ("local", "openai"):
            raise  # an unknown name is a mistake to report, not to work around
        return ExtractiveBackend(cfg.answer), f"{err}; 以下为原文摘录。"


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
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    generator = pipe.backend if isinstance(pipe.backend, Generator) else None

    standalone, how = question, ""
    if history and pipe.config.llm.rewrite_followups and pipe.config.llm.history_turns:
        t = time.perf_counter()
        recent = list(history)[-pipe.config.llm.history_turns :]
        standalone, how = standalone_question(
            question, recent, generator, pipe.config.paths.prompts_dir
        )
        timings["rewrite"] = _ms(t)
        if how:
            yield Rewritten(standalone)

    t = time.perf_counter()
    question_norm = for_search(standalone)
    timings["normalize"] = _ms(t)

    hits = pipe.retriever.retrieve(question_norm, filters, mode=mode, timings=timings)

    t = time.perf_counter()
    evidence = select_evidence(
        question_norm,
        hits,
        pipe.index.bm25,
        pipe.config.answer,
        pipe.index.document_search_text,
    )
    timings["evidence"] = _ms(t)

    labels = [_label(pipe.index, h) for h in hits]
    # `question` keeps the asker's language and script; the model reads `question_norm`.
    request = AnswerRequest(question, question_norm, hits, evidence, labels=labels)
    if generator is None:
        t = time.perf_counter()
        draft = pipe.backend.answer(request)
        timings["generate"] = _ms(t)
        outcome = Outcome(draft.text, draft.refused, pipe.backend.name, notice=pipe.notice)
    else:
        outcome = yield from generate(
            generator, request, pipe.config.llm, pipe.fallback, timings, t0
        )

    t = time.perf_counter()
    text, cited, guard = verify_citations(Draft(outcome.text, outcome.refused), hits)
    written = generator is not None and outcome.backend == generator.name
    if written and is_traditional(question) and not is_english(question):
        text = to_traditional(text)  # the model wrote Simplified; the asker reads Traditional
    timings["verify"] = _ms(t)

    refused = outcome.refused or not cited
    response = respond(pipe, question, text, refused, cited, hits, evidence)
    response.backend = outcome.backend
    response.guard = {**guard, **response.guard, **outcome.guard}
    response.notice = outcome.notice
    response.standalone_question = standalone if how else ""
    response.timings_ms = timings
    response.latency_ms = _ms(t0)
    yield response


def verify_citations(draft: Draft, hits: list[Hit]) -> tuple[str, list[Hit], dict[str, object]]:
    """Drop markers that point at no passage; renumber the rest 1..m in order of use."""
    text, order, dropped = _verify(draft.text, len(hits))
    return renumber(text, order), [hits[n - 1] for n in order], {"dropped_citations": dropped}


def respond(
    pipe: Pipeline,
    question: str,
    text: str,
    refused: bool,
    cited: list[Hit],
    hits: list[Hit],
    evidence: Evidence,
) -> Response:
    retrieved = [_citation(pipe.index, i + 1, h, i, evidence) for i, h in enumerate(hits)]
    if refused:
        return Response(
            answer=refusal_text(question),
            refused=True,
            citations=[],
            latency_ms=0.0,
            backend=pipe.backend.name,
            question=question,
            retrieved=retrieved,
            guard={"refusal_reason": evidence.reason},
        )
    citations = [
        _citation(pipe.index, n + 1, h, hits.index(h), evidence) for n, h in enumerate(cited)
    ]
    return Response(
        answer=text,
        refused=False,
        citations=citations,
        latency_ms=0.0,
        backend=pipe.backend.name,
        question=question,
        retrieved=retrieved,
    )


def refusal_text(question: str) -> str:
    if is_english(question):
        return REFUSAL_EN
    return to_traditional(REFUSAL_ZH) if is_traditional(question) else REFUSAL_ZH


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
    )


def _ms(t: float) -> float:
    return (time.perf_counter() - t) * 1000
