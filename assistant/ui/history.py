"""Conversations that last: each user's conversations and their turns, kept in SQLite under
`data_dir`, so that they survive a reload of the page and a restart of the server.

A user is an opaque string the page decides (the login name when a login is configured,
otherwise an id kept in the browser); every read and write is scoped by it, so one user
never sees or changes another's conversations. A turn is stored as the page's own JSON of
it (question, answer, passages, rating), with a normalized copy of its words for search
(Simplified, no spaces: "經濟" finds "经济"). One connection per operation, WAL, and a lock,
as the feedback store does, make the store safe to share between the server's threads.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from assistant.config import Config
from assistant.textnorm import for_match

FILE_NAME = "history.sqlite3"
TITLE_CHARS = 40  # a new conversation is titled with its first question, cut here
LISTED = 200  # conversations listed at most (newest first)

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS conversations (
        id TEXT PRIMARY KEY,
        user TEXT NOT NULL,
        title TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        settings TEXT NOT NULL DEFAULT '{}'
    )
    """,
    "CREATE INDEX IF NOT EXISTS conversations_user ON conversations (user, updated_at)",
    """
    CREATE TABLE IF NOT EXISTS turns (
        conversation TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
        idx INTEGER NOT NULL,
        data TEXT NOT NULL,
        search TEXT NOT NULL DEFAULT '',
        created_at TEXT NOT NULL,
        PRIMARY KEY (conversation, idx)
    )
    """,
)


@dataclass
class Conversation:
    id: str
    user: str
    title: str
    created_at: str
    updated_at: str
    settings: dict[str, Any] = field(default_factory=dict)  # backend, filters, script


def history_path(cfg: Config) -> Path:
    return cfg.paths.data_dir / FILE_NAME


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")  # orders two in one second


def title_of(question: str) -> str:
    text = " ".join(question.split())
    return text if len(text) <= TITLE_CHARS else text[: TITLE_CHARS - 1] + "…"


class HistoryStore:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            for statement in _SCHEMA:
                db.execute(statement)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("PRAGMA synchronous=FULL")
            with db:  # one transaction: committed on success, rolled back on error
                yield db
        finally:
            db.close()

    # conversations ------------------------------------------------------------------------

    def create(self, user: str, title: str, settings: dict[str, Any] | None = None) -> Conversation:
        now = _now()
        conv = Conversation(uuid.uuid4().hex, user, title_of(title), now, now, settings or {})
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO conversations VALUES (?, ?, ?, ?, ?, ?)",
                (conv.id, user, conv.title, now, now, json.dumps(conv.settings)),
            )
        return conv

    def get(self, user: str, conv_id: str) -> Conversation | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT * FROM conversations WHERE id = ? AND user = ?", (conv_id, user)
            ).fetchone()
        return _conversation(row) if row else None

    def list(self, user: str, query: str = "") -> list[Conversation]:
        """The user's conversations, last changed first; with `query`, those whose title or
        turns contain it (in either script)."""
        words = for_match(query).lower()
        with self._connect() as db:
            rows = db.execute(
                "SELECT c.*, EXISTS (SELECT 1 FROM turns t WHERE t.conversation = c.id"
                " AND ? != '' AND instr(lower(t.search), ?)) AS found"
                " FROM conversations c WHERE user = ? ORDER BY updated_at DESC, rowid DESC",
                (words, words, user),
            ).fetchall()
        hits = [
            r for r in rows if not words or r["found"] or words in for_match(r["title"]).lower()
        ]
        return [_conversation(r) for r in hits[:LISTED]]

    def rename(self, user: str, conv_id: str, title: str) -> bool:
        title = " ".join(title.split())[:TITLE_CHARS]
        if not title:
            return False
        return self._update(user, conv_id, "title = ?", (title,))

    def save_settings(self, user: str, conv_id: str, settings: dict[str, Any]) -> bool:
        return self._update(user, conv_id, "settings = ?", (json.dumps(settings),), touch=False)

    def delete(self, user: str, conv_id: str) -> bool:
        with self._lock, self._connect() as db:
            cur = db.execute("DELETE FROM conversations WHERE id = ? AND user = ?", (conv_id, user))
        return cur.rowcount == 1

    def _update(
        self, user: str, conv_id: str, sets: str, args: tuple[Any, ...], touch: bool = True
    ) -> bool:
        stamp = ", updated_at = ?" if touch else ""
        values = (*args, _now()) if touch else args
        with self._lock, self._connect() as db:
            cur = db.execute(
                f"UPDATE conversations SET {sets}{stamp} WHERE id = ? AND user = ?",
                (*values, conv_id, user),
            )
        return cur.rowcount == 1

    # turns ------------------------------------------------------------------------------

    def turns(self, user: str, conv_id: str) -> list[dict[str, Any]]:
        """The turns of a conversation of `user`, in order; [] when it is not theirs."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT t.data FROM turns t JOIN conversations c ON c.id = t.conversation"
                " WHERE c.id = ? AND c.user = ? ORDER BY t.idx",
                (conv_id, user),
            ).fetchall()
        return [json.loads(r["data"]) for r in rows]

    def save_turn(
        self, user: str, conv_id: str, idx: int, data: dict[str, Any], words: str
    ) -> bool:
        """Store turn `idx` (replacing it, and dropping any after it: a regenerated answer
        is the last one); False when the conversation is not the user's."""
        now = _now()
        with self._lock, self._connect() as db:
            owned = db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ? AND user = ?",
                (now, conv_id, user),
            ).rowcount
            if not owned:
                return False
            db.execute("DELETE FROM turns WHERE conversation = ? AND idx >= ?", (conv_id, idx))
            db.execute(
                "INSERT INTO turns VALUES (?, ?, ?, ?, ?)",
                (conv_id, idx, json.dumps(data, ensure_ascii=False), for_match(words), now),
            )
        return True


def _conversation(row: sqlite3.Row) -> Conversation:
    data = dict(row)
    data.pop("found", None)
    data["settings"] = json.loads(data["settings"] or "{}")
    return Conversation(**data)
