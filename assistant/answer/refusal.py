"""When the assistant says "not in the sources", and how it says it.

One home for the refusal policy:
- the support test (`judge`): do the retrieved passages cover the question at all;
- the moments a refusal is decided (`refuse_before_generation`, `model_refusal_stands`,
  `guard_refuses`), and how a model's own refusal is recognised (`is_refusal`);
- the words of a refusal, in the asker's language and script (`refusal_text`).

A confident, cited, wrong figure is the worst answer there is; a refusal is the honest one
when the passages do not hold what is asked.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from assistant.answer.evidence import Evidence
from assistant.answer.question import Question
from assistant.config import AnswerConfig, LLMConfig
from assistant.figures import has_number, states_value
from assistant.models import Hit
from assistant.textnorm import for_search, to_traditional

REFUSAL_ZH = "资料中未找到与该问题直接相关的内容。"
REFUSAL_EN = "The sources do not contain the answer to this question."

_REFUSAL = re.compile(
    r"未找到|没有找到|找不到|未提及|没有提及|未提到|没有提到|并未提|未涉及|没有涉及|未包含|"
    r"不包含|没有包含|没有相关|无相关|未给出|没有给出|没有具体|未说明|没有说明|未明确|没有明确|"
    r"无法回答|无法确定|无法得知|无法从|不能确定|没有这方面|没有关于|"
    r"not (?:contain|mention|provide|include|say|state|specify)|no information|"
    r"cannot (?:be )?(?:found|answer|determine)|does not (?:say|state|specify|contain|mention)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Support:
    """The support test's verdict on the retrieved passages."""

    supported: bool
    reason: str  # why not, for the guard log
    # The passages' words were found to cover the question's. Not for English questions:
    # they share no words with Chinese passages, so only their years were checked.
    covered: bool = False


def refusal_text(question: Question) -> str:
    if question.english:
        return REFUSAL_EN
    return to_traditional(REFUSAL_ZH) if question.traditional else REFUSAL_ZH


def is_refusal(text: str) -> bool:
    """Whether a text says the passages do not hold the answer."""
    return bool(_REFUSAL.search(for_search(text)))


# -------------------------------------------------------------------------- the support test


def judge(
    question: Question,
    hits: list[Hit],
    evidence: Evidence,
    cfg: AnswerConfig,
    document_text: Callable[[str], str],
) -> Support:
    """Whether the passages support an answer: they cover the question's key terms, name
    the years, figures and places it names, and state the kind of value it asks for."""
    reason = _unsupported(question, hits, evidence, cfg, document_text) or _no_value(
        question, evidence, cfg
    )
    if reason:
        return Support(False, reason)
    return Support(True, "", covered=not question.english)


def _unsupported(
    question: Question,
    hits: list[Hit],
    evidence: Evidence,
    cfg: AnswerConfig,
    document_text: Callable[[str], str],
) -> str:
    if not hits:
        return "nothing retrieved"
    covs = evidence.passage_coverage
    # English questions share no words with Chinese passages; only literal terms are checked.
    if not question.english:
        if max(covs) < cfg.min_coverage:
            return f"no passage covers the question ({max(covs):.2f} < {cfg.min_coverage})"
        if evidence.joint_coverage < cfg.min_joint_coverage:
            joint = evidence.joint_coverage
            return f"passages miss key terms ({joint:.2f} < {cfg.min_joint_coverage})"
    relevant = [
        h for h, cov in zip(hits, covs, strict=True) if question.english or cov >= cfg.min_coverage
    ]
    # A year or ordinal the question gives must appear in a passage about it: a question
    # about 2035 GDP is not answered by a passage on 2035 governance.
    for term in question.passage_terms:
        if not any(_mentions(term, h.chunk.search_text) for h in relevant):
            return f"no passage on the question mentions {term}"
    # A place, person or organisation it names must at least occur in their documents
    # (a report on Luohu need not repeat 罗湖 in every paragraph; one on Futian would).
    if not question.english:
        docs = [document_text(d) for d in dict.fromkeys(h.chunk.doc_id for h in relevant)]
        for name in question.entities:
            if not any(name in d for d in docs):
                return f"the sources found do not mention {name}"
    return ""


def _mentions(term: str, text: str) -> bool:
    return has_number(term, text) if term[0].isdigit() else term in text


def _no_value(question: Question, evidence: Evidence, cfg: AnswerConfig) -> str:
    """A question asking "how many X" needs a sentence on the question that states a number
    of X; a sentence about the subject without the figure does not answer it."""
    on_topic = [s.norm for s in evidence.candidates if s.coverage >= cfg.min_sentence_coverage]
    for unit in question.asked_units:
        if not any(states_value(unit, t) for t in on_topic):
            return f"no sentence on the question gives a value in {unit or 'numbers'}"
    return ""


# --------------------------------------------------------------- when a refusal is decided


def refuse_before_generation(support: Support, cfg: LLMConfig) -> bool:
    """The evidence test already knows: refusing without the model is fast and gives no
    figure it could invent."""
    return cfg.refuse_unsupported and not support.supported


def model_refusal_stands(support: Support, retried: bool) -> bool:
    """A model's "not found" is the best judgement there is only when nothing showed the
    passages cover the question (the evidence test is off by config, or the question is
    in English and only its years could be checked) and no draft of it was rejected.

    Otherwise its refusals are mostly wrong: of the 1.5B model's 7 first-draft refusals
    over the 167 gold questions 6 were answerable, and asked to read again it refused all 6
    again; after a rejected draft, all 7 refusals in a 42-question sample were answerable.
    """
    return not (support.covered or retried)


def guard_refuses(missing_asked_terms: list[str]) -> bool:
    """Drafts that kept citing passages without the year or figure asked about answer
    another question: the passages do not hold this one. Saying so beats quoting the
    wrong year."""
    return bool(missing_asked_terms)
