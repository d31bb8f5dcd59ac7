"""What every answer backend takes and gives."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from assistant.answer.evidence import Evidence
from assistant.models import Hit


class BackendError(Exception):
    """A backend could not answer; the message is shown to the user in one line."""


@dataclass
class AnswerRequest:
    question: str  # as the user asked it
    question_norm: str  # normalized (Simplified) form
    hits: list[Hit]  # passages, numbered [1]..[n] in this order
    evidence: Evidence
    history: list[tuple[str, str]] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)  # per hit: "title (date) › section"
    # A regeneration: the rejected draft and what the grounding guard found wrong with it.
    previous: str = ""
    failure: str = ""


@dataclass
class Draft:
    text: str  # with [n] markers that refer to request.hits (1-based)
    refused: bool


class Backend(Protocol):
    name: str

    def answer(self, request: AnswerRequest) -> Draft: ...


@runtime_checkable
class Generator(Protocol):
    """A backend that writes text with a language model, token by token."""

    name: str

    def answer(self, request: AnswerRequest) -> Draft: ...

    def stream(self, request: AnswerRequest) -> Iterator[str]:
        """Pieces of the draft (its [n] refer to request.hits); raises BackendError."""
        ...

    def complete(self, system: str, user: str, max_tokens: int) -> str:
        """One short reply (follow-up rewriting); raises BackendError."""
        ...

    def ready(self) -> tuple[bool, str]: ...
