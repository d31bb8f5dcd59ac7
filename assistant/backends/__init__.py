"""Answer backends: each turns a question and its evidence into a draft with [n] citations."""

from __future__ import annotations

from assistant.answer.extractive import ExtractiveBackend
from assistant.backends.base import AnswerRequest, Backend, BackendError, Draft, Generator
from assistant.config import Config

__all__ = ["AnswerRequest", "Backend", "BackendError", "Draft", "Generator", "make_backend"]


def make_backend(cfg: Config, name: str | None = None) -> Backend:
    """The configured backend (or `name`); BackendError, saying what to do, when it cannot
    be used. Generators are imported here, lazily: the extractive path never loads them."""
    name = name or cfg.llm.backend
    if name == "extractive":
        return ExtractiveBackend(cfg.answer)
    if name == "local":
        from assistant.backends.local import LocalBackend

        return LocalBackend(cfg)
    if name == "openai":
        from assistant.backends.openai_compat import OpenAIBackend

        return OpenAIBackend(cfg)
    raise BackendError(f"unknown or unavailable backend: {name}")
