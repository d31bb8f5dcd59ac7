"""The feedback store: durable rows, updates, exports, many writers at once."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.config import Config
from assistant.ui.feedback import (
    COLUMNS,
    CSV_FIELD_MAX,
    FeedbackError,
    FeedbackRecord,
    FeedbackStore,
)
from assistant.ui.service import Service
from assistant.ui.session import ChatState, UITurn, answer_turn, record_feedback


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


def test_one_row_per_answer_updated_in_place(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3")
    first = store.rate(_keyed(0), rating="up")
    assert store.rate(_keyed(0), comment="数字对") == first  # same answer, same row
    store.rate(_keyed(1), comment="引用不对")
    store.rate(_keyed(2), rating="down", comment="没回答问题")
    store.rate(_keyed(0), rating="down")  # a changed mind
    rows = {r.answer_id: r for r in store.all()}
    assert len(rows) == 3
    assert (rows["s1-0"].rating, rows["s1-0"].comment) == ("down", "数字对")
    assert (rows["s1-1"].rating, rows["s1-1"].comment) == ("", "引用不对")
    assert rows["s1-2"].question == "问题2"


def _keyed(n: int) -> FeedbackRecord:
    record = _record(n, rating="")
    record.answer_id = f"{record.session}-{n}"
    return record


def test_a_store_from_before_answer_keys_is_migrated(tmp_path: Path) -> None:
    path = tmp_path / "fb.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE feedback (id INTEGER PRIMARY KEY AUTOINCREMENT, created_at TEXT NOT "
            "NULL, updated_at TEXT NOT NULL, rating TEXT NOT NULL, comment TEXT NOT NULL "
            "DEFAULT '', question TEXT NOT NULL, standalone_question TEXT NOT NULL DEFAULT '', "
            "answer TEXT NOT NULL, refused INTEGER NOT NULL DEFAULT 0, citations TEXT NOT NULL "
            "DEFAULT '[]', backend TEXT NOT NULL, session TEXT NOT NULL DEFAULT '', turn "
            "INTEGER NOT NULL DEFAULT 0)"
        )
        db.execute(
            "INSERT INTO feedback (created_at, updated_at, rating, question, answer, backend) "
            "VALUES ('t', 't', 'up', '旧问题', '旧回答', 'extractive')"
        )
    store = FeedbackStore(path)
    store.rate(_keyed(0), comment="新")
    assert [(r.question, r.answer_id) for r in store.all()] == [
        ("旧问题", "legacy-1"),
        ("问题0", "s1-0"),
    ]


def test_a_comment_past_the_limit_is_refused(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3", max_comment_chars=100)
    with pytest.raises(FeedbackError, match=r"意见太长.*ui\.max_comment_chars"):
        store.rate(_keyed(0), comment="很长" * 10_000_000)  # 20 million characters
    assert store.all() == []


def test_csv_export_defuses_formulas_and_caps_fields(tmp_path: Path) -> None:
    store = FeedbackStore(tmp_path / "fb.sqlite3", max_comment_chars=200_000)
    attacks = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
    for n, text in enumerate(attacks):
        record = _keyed(n)
        record.question = text
        store.rate(record, comment=text)
    long = _keyed(99)
    long.answer = "长" * 140_000
    store.rate(long, comment="x")
    out = io.StringIO()
    store.export_csv(out)
    table = list(csv.DictReader(io.StringIO(out.getvalue())))
    for row, text in zip(table, attacks, strict=False):
        assert row["question"] == "'" + text and row["comment"] == "'" + text
    assert all(len(v) <= CSV_FIELD_MAX for row in table for v in row.values())
    assert table[-1]["answer"].endswith("已截断，全文见 JSONL 导出]")
    jsonl = io.StringIO()
    store.export_jsonl(jsonl)  # the JSONL export keeps the text as it was given
    assert json.loads(jsonl.getvalue().splitlines()[0])["question"] == attacks[0]


def test_three_answers_rated_in_one_session_are_three_rows(
    corpus_config: Config, tmp_path: Path
) -> None:
    cfg = corpus_config.model_copy(
        update={"paths": corpus_config.paths.model_copy(update={"data_dir": tmp_path})}
    )
    service = Service(cfg)
    st = ChatState()
    questions = [
        "2019年罗湖完成固定资产投资多少亿元?",
        "罗湖区2019年投入产业转型升级扶持资金多少?",
        "罗湖八大措施中规划引领要高质量编制什么规划?",
    ]
    for i, question in enumerate(questions):
        turn = UITurn(question, backend="extractive")
        st.turns.append(turn)
        for _ in answer_turn(service, st, turn, None, None, None):
            pass
        assert turn.response is not None
        said = record_feedback(service, st, i, "up" if i != 1 else "down", f"意见{i}")
        assert f"第 {i + 1} 个回答" in said
    said = record_feedback(service, st, 0, "down", None)  # re-rated: the same row
    assert "第 1 个回答" in said
    rows = sorted(service.feedback.all(), key=lambda r: r.turn)
    assert [(r.question, r.rating, r.comment) for r in rows] == [
        (questions[0], "down", "意见0"),
        (questions[1], "down", "意见1"),
        (questions[2], "up", "意见2"),
    ]
    assert len({r.answer_id for r in rows}) == 3 and "332亿元" in rows[0].answer
    too_long = record_feedback(service, st, 2, None, "长" * (cfg.ui.max_comment_chars + 1))
    assert "意见太长" in too_long and service.feedback.all()[2].comment == "意见2"
