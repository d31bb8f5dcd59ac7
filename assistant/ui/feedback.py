"""Staff feedback on answers (thumbs up/down, an optional comment), kept in SQLite.

One row per rated answer: a thumb and a comment given to the same answer update that row
rather than adding a second one. WAL mode lets the UI write while `assistant feedback
export` reads; every write is committed with synchronous=FULL, so a row the page reported
as saved survives a power cut. One connection per operation and a lock make the store safe
to share between the server's worker threads.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from assistant.config import Config

FILE_NAME = "feedback.sqlite3"
RATINGS = ("up", "down", "")  # "": a comment without a thumb

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down', '')),
    comment TEXT NOT NULL DEFAULT '',
    question TEXT NOT NULL,
    standalone_question TEXT NOT NULL DEFAULT '',
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]',
    backend TEXT NOT NULL,
    session TEXT NOT NULL DEFAULT '',
    turn INTEGER NOT NULL DEFAULT 0
)
"""


@dataclass
class FeedbackRecord:
    question: str
    answer: str
    backend: str
    rating: str = ""  # "up" | "down" | ""
    comment: str = ""
    citations: list[dict[str, Any]] = field(default_factory=list)
    standalone_question: str = ""
    refused: bool = False
    session: str = ""  # which browser session gave it (an opaque id, not a person)
    turn: int = 0  # which answer of that session
    created_at: str = ""
    updated_at: str = ""
    id: int | None = None

    def __post_init__(self) -> None:
        if self.rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {self.rating!r}")


COLUMNS = [f.name for f in fields(FeedbackRecord)]


def feedback_path(cfg: Config) -> Path:
    return cfg.paths.data_dir / FILE_NAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class FeedbackStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA synchronous=FULL")
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    def add(self, record: FeedbackRecord) -> int:
        """Store `record`; returns its id (also set on the record)."""
        now = _now()
        record.created_at = record.created_at or now
        record.updated_at = now
        row = asdict(record)
        row.pop("id")
        row["citations"] = json.dumps(record.citations, ensure_ascii=False)
        row["refused"] = int(record.refused)
        names = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        with self._lock, self._connect() as db:
            cur = db.execute(f"INSERT INTO feedback ({names}) VALUES ({marks})", row)
        record.id = int(cur.lastrowid or 0)
        return record.id

    def update(
        self, record_id: int, *, rating: str | None = None, comment: str | None = None
    ) -> None:
        """Change the thumb and/or the comment of a stored record."""
        changes: dict[str, Any] = {}
        if rating is not None:
            if rating not in RATINGS:
                raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
            changes["rating"] = rating
        if comment is not None:
            changes["comment"] = comment
        if not changes:
            return
        sets = ", ".join(f"{k} = :{k}" for k in changes)
        with self._lock, self._connect() as db:
            cur = db.execute(
                f"UPDATE feedback SET {sets}, updated_at = :now WHERE id = :id",
                {**changes, "now": _now(), "id": record_id},
            )
        if cur.rowcount != 1:
            raise KeyError(f"no feedback record {record_id}")

    def get(self, record_id: int) -> FeedbackRecord:
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            row = db.execute("SELECT * FROM feedback WHERE id = ?", (record_id,)).fetchone()
        if row is None:
            raise KeyError(f"no feedback record {record_id}")
        return _record(row)

    def all(self) -> list[FeedbackRecord]:
        """Every record, oldest first."""
        with self._connect() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM feedback ORDER BY id").fetchall()
        return [_record(r) for r in rows]

    def export_jsonl(self, out: TextIO) -> int:
        """One JSON object a line (citations as a list); returns the number written."""
        records = self.all()
        for r in records:
            out.write(json.dumps(asdict(r), ensure_ascii=False) + "\n")
        return len(records)

    def export_csv(self, out: TextIO) -> int:
        """A header row, then one row a record (citations as a JSON string)."""
        records = self.all()
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for r in records:
            row = asdict(r)
            row["citations"] = json.dumps(r.citations, ensure_ascii=False)
            writer.writerow(row)
        return len(records)


def _record(row: sqlite3.Row) -> FeedbackRecord:
    data = dict(row)
    data["citations"] = json.loads(data["citations"])
    data["refused"] = bool(data["refused"])
    return FeedbackRecord(**data)
