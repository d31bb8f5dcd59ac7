"""One writer at a time: an ingest holds an exclusive lock on the index folder.

Two ingests that interleave can each prune the generation the other is building, and leave
the pointer on a collection that is gone. The lock is `flock` on `index_dir/ingest.lock`:
the kernel drops it when its process ends, however it ends (kill -9 included), so a dead
ingest never leaves the index locked. Readers take no lock: they read the generation the
pointer names, which no ingest deletes while it is live or the one before.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = "ingest.lock"
POLL_SECONDS = 0.5


class IndexBusy(Exception):
    """Another ingest is writing the index; the message says which and what to do."""


@contextmanager
def writer_lock(
    index_dir: Path,
    when_locked: str = "wait",  # or "refuse" (config: ingest.when_locked)
    wait_seconds: float = 3600.0,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the index's writer lock for the block. Another holder makes this wait (telling
    `on_wait` once) up to `wait_seconds`, or refuse at once: IndexBusy either way."""
    index_dir.mkdir(parents=True, exist_ok=True)
    path = index_dir / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd):
            holder = _holder(path)
            if when_locked == "refuse":
                raise IndexBusy(
                    f"another ingest ({holder}) is writing {index_dir}; try again when it "
                    'has finished (ingest.when_locked = "refuse")'
                )
            if on_wait:
                on_wait(f"another ingest ({holder}) is writing {index_dir}; waiting for it…")
            deadline = time.monotonic() + wait_seconds
            while not _try_lock(fd):
                if time.monotonic() >= deadline:
                    raise IndexBusy(
                        f"another ingest ({_holder(path)}) held {index_dir} for more than "
                        f"{wait_seconds:g} s (ingest.lock_wait_seconds); try again later"
                    )
                time.sleep(POLL_SECONDS)
        _record_holder(fd)
        yield
    finally:
        os.close(fd)  # releases the lock


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _record_holder(fd: int) -> None:
    """Who holds the lock, for the message another ingest shows while it waits."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    data = json.dumps({"pid": os.getpid(), "started": started}).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _holder(path: Path) -> str:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {data['pid']}, started {data['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "pid unknown"
