"""Which answer backends the page offers, and whether each can answer now.

The page lists every registered backend in plain words; one that cannot answer (no server
listening, no model file) is listed as unavailable with the reason in Chinese and cannot be
chosen. Asking a server costs a connection, so each backend is probed in the background and
the result kept for `TTL_S`; the page waits at most `WAIT_S` for a probe on its first look.
A local model that is not on disk is reported as missing without assembling it (a readiness
check must not write a 1 GB file).
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from assistant.answer.factory import build_generator
from assistant.backends import registry
from assistant.backends.base import BackendError, Generator
from assistant.backends.local import LocalBackend
from assistant.config import Config
from assistant.ui.wording import backend_reason

TTL_S = 20.0  # a probe's answer is trusted this long
WAIT_S = 1.5  # longest the page waits for a probe before showing "checking"
UNAVAILABLE = "不可用"  # marks a choice the page disables (static/page.js reads it)


@dataclass(frozen=True)
class BackendState:
    name: str
    label: str  # plain words: who writes the answer
    ready: bool
    reason: str = ""  # Chinese, when not ready

    @property
    def choice_label(self) -> str:
        return self.label if self.ready else f"{self.label} — {UNAVAILABLE}：{self.reason}"


class BackendBoard:
    """The backends' readiness, probed in the background and cached."""

    def __init__(self, cfg: Config) -> None:
        self.cfg = cfg
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="backend-probe")
        self._probes: dict[str, tuple[float, Future[BackendState]]] = {}

    def states(self, wait: float = WAIT_S) -> list[BackendState]:
        futures = [self._probe(spec.name) for spec in registry.specs()]
        deadline = time.monotonic() + wait
        out = []
        for spec, future in zip(registry.specs(), futures, strict=True):
            try:
                out.append(future.result(timeout=max(0.0, deadline - time.monotonic())))
            except TimeoutError:
                out.append(BackendState(spec.name, spec.label, False, "正在检查，请稍候刷新"))
        return out

    def state(self, name: str) -> BackendState | None:
        return next((s for s in self.states() if s.name == name), None)

    def _probe(self, name: str) -> Future[BackendState]:
        with self._lock:
            stamp, future = self._probes.get(name, (0.0, None))
            if future is None or (future.done() and time.monotonic() - stamp > TTL_S):
                future = self._pool.submit(probe, self.cfg, name)
                self._probes[name] = (time.monotonic(), future)
            return future


def probe(cfg: Config, name: str) -> BackendState:
    spec = registry.get(name)
    try:
        generator = build_generator(cfg, name)
    except BackendError as err:
        return BackendState(name, spec.label, False, backend_reason(str(err)))
    if generator is None:
        return BackendState(name, spec.label, True)
    missing = _missing_model(generator)
    if missing:
        return BackendState(name, spec.label, False, missing)
    try:
        ready = generator.ready()
    except Exception as err:  # ready() should not raise; a probe must not take the page down
        return BackendState(name, spec.label, False, backend_reason(str(err)))
    reason = "" if ready.ok else backend_reason(ready.detail)
    return BackendState(name, _label(spec.label, generator), ready.ok, reason)


def _missing_model(generator: Generator) -> str:
    if isinstance(generator, LocalBackend) and not generator.path.is_file():
        return "本机模型文件还没有准备好，运行 make run 会组装它"
    return ""


def _label(label: str, generator: Generator) -> str:
    """The registry's plain words; for a server, which model it runs."""
    model = getattr(getattr(generator, "settings", None), "model", "")
    return f"{label}（{model}）" if isinstance(model, str) and model else label
