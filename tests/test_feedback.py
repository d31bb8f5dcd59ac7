"""The feedback store: durable rows, updates, exports, many writers at once."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.ui.feedback import COLUMNS, FeedbackRecord, FeedbackStore


def _record(n: int = 0, rating: str = "up") -> FeedbackRecord:
    return FeedbackRecord(
        question=f"问题{n}",
        answer=f"回答{n} [1]",
        backend="extractive",
        rating=rating,
        citations=[{"n": 1, "doc_id": "a.txt", "title": "政府工作報告", "date": "2021-11-03"}],
        session="s1",
        turn=n,
    )


def test_add_get_update(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    rid = store.add(_record())
    got = store.get(rid)
    assert (
        got.question == "问题0"
        and got.rating == "up"
        and got.citations[0]["title"] == "政府工作報告"
    )
    assert got.created_at and got.created_at == got.updated_at
    store.update(rid, rating="down", comment="引用不对")
    got = store.get(rid)
    assert (got.rating, got.comment) == ("down", "引用不对")
    with pytest.raises(KeyError):
        store.update(rid + 100, comment="x")
    with pytest.raises(ValueError):
        store.update(rid, rating="meh")


def test_wal_mode_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    FeedbackStore(path).add(_record())
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r.question for r in FeedbackStore(path).all()] == ["问题0"]


def test_exports(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    store.add(_record(0))
    store.add(_record(1, rating="down"))
    out = io.StringIO()
    assert store.export_jsonl(out) == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[0]["citations"][0]["doc_id"] == "a.txt" and rows[0]["created_at"]
    out = io.StringIO()
    assert store.export_csv(out) == 2
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert list(table[0]) == COLUMNS
    assert json.loads(table[1]["citations"])[0]["title"] == "政府工作報告"


def test_many_threads_write_at_once(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    errors: list[Exception] = []

    def write(n: int) -> None:
        try:
            rid = store.add(_record(n))
            store.update(rid, comment=f"意见{n}")
        except Exception as err:  # collected, asserted below
            errors.append(err)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    records = store.all()
    assert len(records) == 20 and {r.comment for r in records} == {f"意见{n}" for n in range(20)}
