"""The extractive backend: no generator; the answer quotes the best evidence sentences
(composed on the answering side, `answer.extractive`)."""

from assistant.backends.registry import FALLBACK, BackendSpec, register

SPEC = register(BackendSpec(FALLBACK, "原文摘录：直接引用资料中的原句（最快）"))
