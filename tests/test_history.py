"""The conversation history store: per user, searchable in either script, lasting."""

from __future__ import annotations

from pathlib import Path

from assistant.ui.history import HistoryStore
from assistant.ui.session import UITurn, turn_data, turn_from, turn_words


def test_conversations_are_each_users_own(tmp_path: Path) -> None:
    store = HistoryStore(tmp_path / "h.sqlite3")
    mine = store.create(
        "browser:a", "2019年罗湖完成固定资产投资多少亿元？", {"backend": "extractive"}
    )
    theirs = store.create("browser:b", "别人的问题")
    assert [c.id for c in store.list("browser:a")] == [mine.id]
    assert store.get("browser:b", mine.id) is None  # another user cannot open it...
    assert not store.rename("browser:b", mine.id, "改掉")  # ... rename it ...
    assert not store.delete("browser:b", mine.id)  # ... delete it ...
    assert not store.save_turn("browser:b", mine.id, 0, {"question": "x"}, "x")  # ... or add to it
    assert store.turns("browser:b", mine.id) == []
    assert store.get("browser:a", mine.id).settings == {"backend": "extractive"}
    assert store.delete("browser:b", theirs.id)


def test_turns_search_rename_delete_and_a_new_process(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = HistoryStore(path)
    first = store.create("u", "地區生產總值是多少")
    second = store.create("u", "另一个对话")
    turn = UITurn("羅湖地區生產總值是多少？", backend="extractive", draft="增至2375.3億元[1]")
    assert store.save_turn("u", first.id, 0, turn_data(turn), turn_words(turn))
    assert store.save_turn("u", first.id, 1, {"question": "第二问"}, "第二问")
    # Regenerating turn 1 replaces it (and nothing after it survives).
    assert store.save_turn("u", first.id, 1, {"question": "第二问（重答）"}, "第二问")
    assert [t["question"] for t in store.turns("u", first.id)] == [turn.question, "第二问（重答）"]
    assert store.list("u")[0].id == first.id  # the last changed first

    # Search finds either script, in titles and in what was said.
    assert [c.id for c in store.list("u", "地区生产总值")] == [first.id]
    assert [c.id for c in store.list("u", "2375.3亿元")] == [first.id]
    assert [c.id for c in store.list("u", "另一个")] == [second.id]
    assert store.list("u", "没有这个词") == []

    assert store.rename("u", second.id, "  新的   名字 ")
    reopened = HistoryStore(path)  # another process (a restarted server) reads the same
    assert reopened.get("u", second.id).title == "新的 名字"
    restored = turn_from(reopened.turns("u", first.id)[0])
    assert restored.question == turn.question and restored.draft == turn.draft
    assert restored.stopped  # a turn the server never finished reads as stopped
    assert reopened.delete("u", first.id)
    assert reopened.turns("u", first.id) == [] and [c.id for c in reopened.list("u")] == [second.id]
