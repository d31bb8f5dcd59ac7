"""What a generator reads: long report sentences cut to the clauses the question is about."""

from __future__ import annotations

from assistant.answer.prompts import elide_lists, focus
from assistant.answer.question import read_question
from assistant.textnorm import char_bigrams as _bigrams


def asks_count_only(question: str) -> bool:
    return read_question(question).asks_count_only


def test_a_long_sentence_is_cut_to_the_clauses_near_the_question() -> None:
    sentence = (
        "金融业增加值达到936.9亿元,总资产超4万亿元,持牌金融机构突破85家,居全市第二,"
        "黄金金融业发展获市专项政策支持,引领数字人民币研发应用取得新突破。"
    )
    cut = focus(sentence, _bigrams("持牌金融机构突破了多少家?"), limit=40)
    assert "持牌金融机构突破85家" in cut and "居全市第二" in cut and len(cut) <= 42
    assert cut.startswith("…") and cut.endswith("…")
    assert focus("短句不变。", _bigrams("问题"), limit=40) == "短句不变。"


ACTIONS = (
    "建设现代服务业集聚示范区方面,罗湖将聚焦“金融服务固本强基行动、信息和科技服务扩容聚链行动、"
    "物流外贸服务拓展升级行动、旅游服务示范领跑行动、健康服务创优争先行动”7大行动,"
    "现代服务业增加值突破2500亿元。"
)


def test_a_count_question_reads_the_count_not_the_list_that_hides_it() -> None:
    question = "建设现代服务业集聚示范区方面,罗湖将聚焦多少大行动?"
    assert asks_count_only(question)
    cut = focus(elide_lists(ACTIONS), _bigrams(question), limit=60)
    assert "7大行动" in cut and "“…”" in cut
    # Without the list elided the count does not fit: this is what the model used to read.
    assert "7大行动" not in focus(ACTIONS, _bigrams(question), limit=60)


def test_a_question_about_the_items_keeps_them() -> None:
    for question in ("罗湖将聚焦的行动包括哪些?", "罗湖在几个方面发力?分别是什么?"):
        assert not asks_count_only(question), question
    assert elide_lists("聚焦“产业发展”。") == "聚焦“产业发展”。"  # a name, not a list
