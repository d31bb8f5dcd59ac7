"""Which sentences of a cited passage an answer drew on: what the page marks."""

from __future__ import annotations

from assistant.answer.citations import claims, drawn_on

PASSAGE = (
    "2019年,全区固定资产投资保持较快增长,重大项目加快推进。"
    "全年完成固定资产投资332亿元,增长20.1%。\n"
    "社会消费品零售总额达到1200亿元。"
)


def test_claims_are_cut_at_their_markers() -> None:
    assert claims("甲，乙[1][2]。丙[1]。尾") == [("甲，乙", [1, 2]), ("。丙", [1])]


def test_the_sentence_with_the_claims_figure_not_its_neighbour() -> None:
    # Both of the first two sentences speak of 固定资产投资; the answer used the second.
    assert drawn_on("2019年罗湖完成固定资产投资332亿元[1]。", 1, PASSAGE) == [
        "全年完成固定资产投资332亿元,增长20.1%。"
    ]


def test_quoted_sentences_are_all_marked_and_only_for_their_passage() -> None:
    answer = "全年完成固定资产投资332亿元,增长20.1%。社会消费品零售总额达到1200亿元。[1]其他[2]"
    assert drawn_on(answer, 1, PASSAGE) == [
        "全年完成固定资产投资332亿元,增长20.1%。",
        "社会消费品零售总额达到1200亿元。",
    ]
    assert drawn_on(answer, 3, PASSAGE) == []


def test_another_script_and_no_clear_source() -> None:
    traditional = "全年完成固定資產投資332億元,增長20.1%。"
    assert drawn_on("固定资产投资332亿元[1]", 1, traditional) == [traditional]
    # A figure the passage does not hold, or words it does not share: nothing is marked.
    assert drawn_on("固定资产投资400亿元[1]", 1, PASSAGE) == []
    assert drawn_on("文化活动丰富多彩[1]", 1, PASSAGE) == []
