"""Staff feedback on answers (thumbs up/down, an optional comment), kept in SQLite.

One row per rated answer, keyed by the answer (`answer_id`, unique): a thumb and a comment
given to the same answer, or a changed mind, update that row in place; another answer gets
its own row. WAL mode lets the UI write while `assistant feedback export` reads; every
write is committed with synchronous=FULL, so a row the page reported as saved survives a
power cut. One connection per operation and a lock make the store safe to share between
the server's worker threads. A comment longer than `ui.max_comment_chars` is refused; the
CSV export defuses cells a spreadsheet would run as formulas and caps every field.
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
DEFAULT_MAX_COMMENT = 2000
# A spreadsheet cell holds at most 32,767 characters; longer fields are cut with a note.
CSV_FIELD_MAX = 32_000
CSV_CUT_NOTE = "…[已截断，全文见 JSONL 导出]"
# A cell starting with these is read as a formula (=cmd|' /C calc'!A0) by Excel and
# LibreOffice; tab and carriage return open the same door through some importers.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

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
    turn INTEGER NOT NULL DEFAULT 0,
    answer_id TEXT NOT NULL DEFAULT ''
)
"""
# Rows from before answers were keyed get a key of their own, so the index can be unique.
_MIGRATE = [
    "ALTER TABLE feedback ADD COLUMN answer_id TEXT NOT NULL DEFAULT ''",
    "UPDATE feedback SET answer_id = 'legacy-' || id WHERE answer_id = ''",
]
_ANSWER_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS feedback_answer ON feedback (answer_id) "
    "WHERE answer_id != ''"
)


class FeedbackError(ValueError):
    """Feedback refused (a comment too long); the message says why, for the page."""


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
    answer_id: str = ""  # the answer rated: one row per answer
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
    def __init__(self, path: Path, max_comment_chars: int = DEFAULT_MAX_COMMENT) -> None:
        self.path = path
        self.max_comment_chars = max_comment_chars
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            columns = {row[1] for row in db.execute("PRAGMA table_info(feedback)")}
            if "answer_id" not in columns:
                for statement in _MIGRATE:
                    db.execute(statement)
            db.execute(_ANSWER_INDEX)

    def _check_comment(self, comment: str | None) -> None:
        if comment is not None and len(comment) > self.max_comment_chars:
            raise FeedbackError(
                f"意见太长：{len(comment):,} 字，上限 {self.max_comment_chars:,} 字"
                "（ui.max_comment_chars）；请写短一些"
            )

    def rate(
        self, record: FeedbackRecord, *, rating: str | None = None, comment: str | None = None
    ) -> int:
        """The feedback on one answer (`record.answer_id`): its row is written the first
        time, with `rating` and `comment` ("" when None), and updated in place after, where
        None leaves a field as it was (a comment after a thumb keeps the thumb). Returns the
        row's id."""
        if not record.answer_id:
            raise ValueError("feedback needs the answer it rates (answer_id)")
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
        self._check_comment(comment)
        with self._lock, self._connect() as db:
            found = db.execute(
                "SELECT id FROM feedback WHERE answer_id = ?", (record.answer_id,)
            ).fetchone()
            if found is None:
                record.rating, record.comment = rating or "", comment or ""
                record.id = self._insert(db, record)
                return record.id
            self._set(db, int(found[0]), rating, comment)
            record.id = int(found[0])
            return record.id

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
        """Store `record` as a new row; returns its id (also set on the record). An answer
        already rated is rated again with `rate`, which keeps one row per answer."""
        self._check_comment(record.comment)
        with self._lock, self._connect() as db:
            record.id = self._insert(db, record)
        return record.id

    def _insert(self, db: sqlite3.Connection, record: FeedbackRecord) -> int:
        now = _now()
        record.created_at = record.created_at or now
        record.updated_at = now
        row = asdict(record)
        row.pop("id")
        row["citations"] = json.dumps(record.citations, ensure_ascii=False)
        row["refused"] = int(record.refused)
        names = ", ".join(row)
        marks = ", ".join(f":{k}" for k in row)
        cur = db.execute(f"INSERT INTO feedback ({names}) VALUES ({marks})", row)
        return int(cur.lastrowid or 0)

    def update(
        self, record_id: int, *, rating: str | None = None, comment: str | None = None
    ) -> None:
        """Change the thumb and/or the comment of a stored record."""
        if rating is not None and rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}, got {rating!r}")
        self._check_comment(comment)
        with self._lock, self._connect() as db:
            self._set(db, record_id, rating, comment)

    def _set(
        self, db: sqlite3.Connection, record_id: int, rating: str | None, comment: str | None
    ) -> None:
        changes: dict[str, Any] = {}
        if rating is not None:
            changes["rating"] = rating
        if comment is not None:
            changes["comment"] = comment
        if not changes:
            return
        sets = ", ".join(f"{k} = :{k}" for k in changes)
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
        """A header row, then one row a record (citations as a JSON string); every text
        cell safe to open in a spreadsheet (see `csv_cell`)."""
        records = self.all()
        writer = csv.DictWriter(out, fieldnames=COLUMNS)
        writer.writeheader()
        for r in records:
            row = asdict(r)
            row["citations"] = json.dumps(r.citations, ensure_ascii=False)
            writer.writerow({k: csv_cell(v) for k, v in row.items()})
        return len(records)


def csv_cell(value: object) -> object:
    """A text cell as a spreadsheet must not misread it: one that would start a formula
    gets a leading apostrophe (shown as text, the OWASP advice), and one over CSV_FIELD_MAX
    characters is cut with a note. Numbers pass as they are."""
    if not isinstance(value, str):
        return value
    if len(value) > CSV_FIELD_MAX:
        value = value[: CSV_FIELD_MAX - len(CSV_CUT_NOTE)] + CSV_CUT_NOTE
    return "'" + value if value.startswith(FORMULA_START) else value


def _record(row: sqlite3.Row) -> FeedbackRecord:
    data = dict(row)
    data["citations"] = json.loads(data["citations"])
    data["refused"] = bool(data["refused"])
    return FeedbackRecord(**data)
