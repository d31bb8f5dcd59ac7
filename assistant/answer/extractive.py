"""The extractive answer: no generator, no guessing. For a question asking figures, the
clause of each matched fact, cited; otherwise the best evidence sentences, each cited.

It answers when no generator is configured and whenever a generator fails or its answer
fails the guard.
"""

from __future__ import annotations

from assistant.answer.facts import FactMatch
from assistant.answer.request import AnswerRequest, Draft
from assistant.config import AnswerConfig


def extract(request: AnswerRequest, cfg: AnswerConfig) -> Draft:
    if not request.support.supported:
        return Draft(text="", refused=True)
    if answered_by_facts(request):
        return Draft(text=fact_clauses(request.facts), refused=False)
    # A question that asks for more than facts can give (a name, a list, a figure not read)
    # is answered with the sentences that best cover it.
    picked = request.evidence.sentences[: cfg.max_sentences]
    # Keep document order within a passage so the quote reads naturally.
    picked = sorted(picked, key=lambda s: (s.hit, s.start))
    text = "".join(f"{s.text}[{s.hit + 1}]" for s in picked)
    return Draft(text=text, refused=not picked)


def answered_by_facts(request: AnswerRequest) -> bool:
    """The question asks only for figures and each has a matched fact."""
    facts = request.facts
    return (
        request.support.supported
        and facts.answered
        and request.question.asks_only_figures
        and all(p.fits for p in facts.parts)
    )


def fact_clauses(facts: FactMatch) -> str:
    """One clause per part of the question, each with its passage's marker; a part that
    facts could not decide gets nothing here (the other parts still answer)."""
    seen: list[str] = []
    out: list[str] = []
    for found in facts.found:
        clause = found.fact.clause
        if clause in seen:
            continue
        seen.append(clause)
        out.append(f"{clause}[{found.hit + 1}]")
    return "；".join(out) + "。"
