"""Several staff at once in the page: how long each waits for the verified answer, and for
the model's phrasing queued behind it.

`assistant serve` runs as a child with the model's backend; N users (each a gradio_client
of its own, so a session of its own) ask N different gold questions at the same moment,
as the page asks: `/ask` returns the verified answer (no model needed), then `/phrase`
streams the model's wording, which waits for the one model. While a user waits for a step,
the queue's word on their place is recorded: the page shows the same to a person.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.bench.measure import serving
from assistant.bench.results import Stat, UsersResult
from assistant.config import Config
from assistant.evaluation.gold import load_gold
from assistant.ui.render import AUTO as SCRIPT  # answers in the asker's script

POLL_S = 0.1  # how often a waiting user reads the queue's status (the page hears it pushed)


@dataclass
class Waited:
    """One step of one user: its wall time and the queue places it was told meanwhile."""

    seconds: float
    places: list[int] = field(default_factory=list)


class PageUser:
    """One browser tab, as the page drives the server: its own session and browser id."""

    def __init__(self, url: str, backend: str) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")  # before gradio_client is imported
        from gradio_client import Client

        self.client = Client(url, analytics_enabled=False, verbose=False)
        self.backend = backend
        self.browser: dict[str, str] = {"id": uuid.uuid4().hex, "open": ""}

    def ask(self, question: str) -> tuple[Waited, Waited]:
        """The verified answer (`/ask`), then the model's phrasing (`/phrase`)."""
        args = (question, [], "", "", self.backend, SCRIPT, self.browser)
        verified = self._wait(self.client.submit(*args, api_name="/ask"))
        phrased = self._wait(self.client.submit(SCRIPT, api_name="/phrase"))
        return verified, phrased

    def new_chat(self) -> None:
        self.client.predict(self.browser, api_name="/new_chat")

    def _wait(self, job: Any) -> Waited:
        t0 = time.perf_counter()
        places: list[int] = []
        # Wakes the moment the job is done (the time is not rounded up to a poll).
        while not futures.wait([job], timeout=POLL_S).done:
            rank = getattr(job.status(), "rank", None)
            if rank is not None and (not places or places[-1] != rank):
                places.append(int(rank))
        seconds = time.perf_counter() - t0
        outputs = job.result()
        if isinstance(outputs, (list, tuple)) and len(outputs) > 4:
            self.browser = outputs[4] or self.browser  # /ask hands the browser's state back
        return Waited(seconds, places)


def run_users(
    cfg: Config, work: Path, gold: Path, counts: tuple[int, ...], timeout: float = 600.0
) -> list[UsersResult]:
    """For each count of users, one round of them asking at once (a fresh server each)."""
    questions = [i.question for i in load_gold(gold).items if i.kind != "unanswerable"]
    return [_round(cfg, work, questions, n, timeout) for n in counts]


def _round(cfg: Config, work: Path, questions: list[str], n: int, timeout: float) -> UsersResult:
    backend = cfg.llm.backend
    with serving(cfg, work, timeout) as served:
        if not served.up:
            return UsersResult(n, backend, False, served.problem)
        users = [PageUser(served.url, backend) for _ in range(n)]
        users[0].ask(questions[-1])  # the first question's one-off costs, not measured
        start = threading.Barrier(n)
        done: list[tuple[Waited, Waited] | BaseException] = [RuntimeError("not run")] * n

        def one(i: int) -> None:
            start.wait()
            try:
                done[i] = users[i].ask(questions[i % len(questions)])
            except Exception as err:  # said in the result, not a dead thread
                done[i] = err

        threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    failed = [d for d in done if isinstance(d, BaseException)]
    if failed:
        return UsersResult(n, backend, False, f"{len(failed)} of {n} failed: {failed[0]}")
    steps = [d for d in done if not isinstance(d, BaseException)]
    verified = [v.seconds for v, _ in steps]
    phrased = [v.seconds + p.seconds for v, p in steps]
    return UsersResult(
        users=n,
        backend=backend,
        available=True,
        detail=f"assistant serve, {n} gradio_client sessions asking at once",
        verified_ms=Stat.of([s * 1000 for s in verified]),
        phrased_ms=Stat.of([s * 1000 for s in phrased]),
        verified_max_ms=max(verified) * 1000,
        told_place=sum(bool(v.places or p.places) for v, p in steps),
    )
