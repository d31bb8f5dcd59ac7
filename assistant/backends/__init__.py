"""Answer backends: each turns chat messages into text; importing this package registers
the built-in ones (see `registry`)."""

from assistant.backends import extractive, local, openai_compat
from assistant.backends.base import (
    BackendContext,
    BackendError,
    BackendSettings,
    GenerationRequest,
    Generator,
    Message,
    Readiness,
)
from assistant.backends.registry import FALLBACK, BackendSpec, register

__all__ = [
    "FALLBACK",
    "BackendContext",
    "BackendError",
    "BackendSettings",
    "BackendSpec",
    "GenerationRequest",
    "Generator",
    "Message",
    "Readiness",
    "extractive",
    "local",
    "openai_compat",
    "register",
]
