"""The local model computes on one thread of its own, at a lower CPU priority.

On two cores, llama.cpp's threads take both while a model writes. A verified answer needs
only some 30 ms of CPU, but queued behind a busy model it waited seconds. So every call
into llama.cpp runs on one long-lived thread whose nice value is raised once, at start:
the OpenMP workers it spawns inherit it, the kernel then serves the page's own threads
first, and the model gets whatever they leave (all of it when the page is idle). One
thread also means the model's calls never overlap, whoever asks.

OMP_WAIT_POLICY=PASSIVE (set before llama.cpp is loaded, unless the environment says
otherwise) lets idle OpenMP workers sleep between tokens instead of spinning on a core.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

log = logging.getLogger(__name__)

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_DONE = object()


class ModelThread:
    """Runs iterators to completion, one at a time, on one thread niced by `nice`."""

    def __init__(self, nice: int) -> None:
        self.nice = nice
        self._jobs: queue.Queue[Callable[[], None] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._serve, name="local-model", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        if self.nice:
            try:
                os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self.nice)
            except OSError as err:  # a platform without per-thread priorities: run as is
                log.warning("local model runs at normal priority: %s", err)
        while (job := self._jobs.get()) is not None:
            job()

    def stop(self, timeout: float = 10.0) -> None:
        """End the thread once its current work is done: at exit, so that llama.cpp's OpenMP
        workers, which belong to it, are not left waiting while the interpreter tears down."""
        self._jobs.put(None)
        self._thread.join(timeout)

    def run(self, make: Callable[[], Iterable[Any]]) -> Iterator[Any]:
        """The items of `make()`, computed on the model's thread, handed over as they come.
        Closing the returned iterator (a stopped answer) ends the work at its next item."""
        out: queue.Queue[tuple[Any, BaseException | None]] = queue.Queue()
        dropped = threading.Event()

        def work() -> None:
            try:
                for item in make():
                    if dropped.is_set():
                        break
                    out.put((item, None))
                out.put((_DONE, None))
            except BaseException as err:  # raised again in the caller's thread
                out.put((_DONE, err))

        self._jobs.put(work)
        try:
            while True:
                item, err = out.get()
                if err is not None:
                    raise err
                if item is _DONE:
                    return
                yield item
        finally:
            dropped.set()

    def call(self, fn: Callable[[], Any]) -> Any:
        """`fn()` on the model's thread; its result (or its exception) here."""
        (result,) = self.run(lambda: [fn()])
        return result


_THREADS: dict[int, ModelThread] = {}
_LOCK = threading.Lock()


@atexit.register
def _stop_all() -> None:
    with _LOCK:
        threads = list(_THREADS.values())
        _THREADS.clear()
    for thread in threads:
        thread.stop()


def model_thread(nice: int) -> ModelThread:
    """The process's model thread (one per priority asked for: in practice, one)."""
    with _LOCK:
        if nice not in _THREADS:
            _THREADS[nice] = ModelThread(nice)
        return _THREADS[nice]
