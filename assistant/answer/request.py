"""What answering hands a composer (the extractive one or a generator's prompt) and gets back."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.answer.evidence import Evidence
from assistant.answer.facts import NO_MATCH, FactMatch
from assistant.answer.question import Question
from assistant.answer.refusal import Support
from assistant.facts.model import Fact
from assistant.models import Hit


@dataclass
class AnswerRequest:
    question: Question
    hits: list[Hit]  # passages, numbered [1]..[n] in this order
    evidence: Evidence
    support: Support
    facts: FactMatch = NO_MATCH  # the facts that answer it, part by part
    passage_facts: dict[int, list[Fact]] = field(default_factory=dict)  # by passage number
    labels: list[str] = field(default_factory=list)  # per hit: "title (date) › section"
    # A regeneration: the rejected draft and what the grounding guard found wrong with it.
    previous: str = ""
    failure: str = ""


@dataclass
class Draft:
    text: str  # with [n] markers that refer to request.hits (1-based)
    refused: bool
