"""Stage timings in milliseconds, as every path reports them (`Response.timings_ms`)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager


def ms_since(t: float) -> float:
    """Milliseconds since `t`, a `time.perf_counter()` reading."""
    return (time.perf_counter() - t) * 1000


@contextmanager
def timed(timings: dict[str, float], stage: str) -> Iterator[None]:
    """Record how long the block took under `stage` (added to what is there)."""
    t = time.perf_counter()
    try:
        yield
    finally:
        timings[stage] = timings.get(stage, 0.0) + ms_since(t)
