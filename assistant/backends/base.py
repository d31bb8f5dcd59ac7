"""What every generator backend takes and gives: chat messages in, pieces of text out.

A backend only generates. What to ask it (the prompts) and whether to trust what it wrote
(the grounding guard) are decided on the answering side, so a new backend is only a new way
to turn messages into text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple, Protocol, TypedDict, runtime_checkable

from pydantic import BaseModel, ConfigDict


class BackendError(Exception):
    """A backend could not answer; the message is shown to the user in one line."""


class Message(TypedDict):
    role: str  # "system" | "user" | "assistant"
    content: str


@dataclass(frozen=True)
class GenerationRequest:
    messages: tuple[Message, ...]
    max_tokens: int | None = None  # None: the backend's configured maximum


class Readiness(NamedTuple):
    ok: bool
    detail: str  # one line: what is ready, or why not and what to do


class BackendSettings(BaseModel):
    """A backend's own config section, `[llm.<name>]` in assistant.toml."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class BackendContext:
    """What a backend may use besides its own section."""

    data_dir: Path  # for caches (the assembled local model)


@runtime_checkable
class Generator(Protocol):
    """A backend that writes text with a language model, piece by piece."""

    name: str

    def stream(self, request: GenerationRequest) -> Iterator[str]:
        """Pieces of the reply; raises BackendError, whenever the fault happens."""
        ...

    def complete(self, request: GenerationRequest) -> str:
        """The whole reply; raises BackendError."""
        ...

    def warm(self, request: GenerationRequest) -> None:
        """Pay one-off costs (loading a model, prefilling a fixed prompt) ahead of the
        first question; a no-op where there are none worth paying early."""
        ...

    def ready(self) -> Readiness:
        """Whether it can answer now; never raises."""
        ...

    def describe(self) -> str:
        """What it runs, short, for people: "qwen2.5-coder-1.5b (本机)"."""
        ...
