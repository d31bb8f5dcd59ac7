"""What a generator reads: long report sentences cut to the clauses the question is about."""

from __future__ import annotations

from assistant.prompts import _bigrams, focus


def test_a_long_sentence_is_cut_to_the_clauses_near_the_question() -> None:
    sentence = (
        "金融业增加值达到936.9亿元,总资产超4万亿元,持牌金融机构突破85家,居全市第二,"
        "黄金金融业发展获市专项政策支持,引领数字人民币研发应用取得新突破。"
    )
    cut = focus(sentence, _bigrams("持牌金融机构突破了多少家?"), limit=40)
    assert "持牌金融机构突破85家" in cut and "居全市第二" in cut and len(cut) <= 42
    assert cut.startswith("…") and cut.endswith("…")
    assert focus("短句不变。", _bigrams("问题"), limit=40) == "短句不变。"
