"""The backends a configuration may name, each declared once: its name, its label for staff,
its config section and how to build it.

Config validation (`[llm] backend`, the `[llm.<name>]` sections), the CLI's `--backend`
choices, the UI's list and the fallback when a backend cannot be used all read this
registry, so a new backend is one `register(...)` call beside its code.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.backends.base import BackendContext, BackendError, BackendSettings, Generator

Factory = Callable[[Any, BackendContext], Generator]

# Answers by quoting the passages; what every other backend falls back to.
FALLBACK = "extractive"


@dataclass(frozen=True)
class BackendSpec:
    name: str  # what config and --backend say
    label: str  # plain words for staff: who writes the answer
    settings: type[BackendSettings] | None = None  # its section, [llm.<name>]
    # Builds the generator from its section (an instance of `settings`) and the context;
    # cheap: loading a model or reaching a server waits for the first use. None: answers
    # are quoted from the passages, no generator.
    factory: Factory | None = None

    @property
    def generates(self) -> bool:
        return self.factory is not None


_SPECS: dict[str, BackendSpec] = {}


def register(spec: BackendSpec) -> BackendSpec:
    existing = _SPECS.get(spec.name)
    if existing is not None and existing != spec:
        raise ValueError(f"a backend named {spec.name!r} is already registered")
    _SPECS[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    _SPECS.pop(name, None)


def specs() -> list[BackendSpec]:
    return list(_SPECS.values())


def names() -> tuple[str, ...]:
    return tuple(_SPECS)


def get(name: str) -> BackendSpec:
    try:
        return _SPECS[name]
    except KeyError:
        raise BackendError(f"unknown backend {name!r}; registered: {', '.join(names())}") from None
