"""The grounding guard on planted answers: invented figures, citations out of range,
refusals, and the normalizations that must not raise false alarms."""

from __future__ import annotations

import pytest

from assistant.answer.citations import renumber, verify_citations
from assistant.answer.guard import GuardReport
from assistant.answer.guard import check as check_question
from assistant.answer.question import read_question
from assistant.answer.refusal import is_refusal
from assistant.figures import cn_to_int, figures

LABEL = "政府工作报告（2021-11-03） › 过去五年工作回顾"
PASSAGES = {
    1: f"{LABEL}\n地區生產總值從2015年的1703.4億元增加到2020年的2375.3億元,年均增長6.2%,"
    "位列全國經濟百強區第15位。",
    2: "请回答2019!罗湖交出全面振兴答卷（2020-01-03）\n新增中小学学位6,589个,"
    "普惠性幼儿园在园儿童比例提升到81%。完成三轮政治巡察。",
    3: "今后五年（2021-11-03）\n到2025年,地区生产总值突破3300亿元;社会消费品零售总额达到1600亿元。",
}
PASSAGES_WITH_INCOME = {**PASSAGES, 4: "城镇居民人均可支配收入由4.7万元提高至6.8万元。"}
GDP_Q = "2021年政府工作报告中,罗湖区2020年地区生产总值是多少?"


def check(text: str, passages: dict[int, str], question: str) -> GuardReport:
    """The guard on a question as asked."""
    return check_question(text, passages, read_question(question))


def test_a_grounded_answer_passes() -> None:
    report = check("罗湖区2020年地区生产总值为2375.3亿元,年均增长6.2%[1]。", PASSAGES, GDP_Q)
    assert report.ok and not report.refused and report.cited == [1]
    assert report.ungrounded_numbers == [] and report.missing_question_numbers == []


def test_an_invented_number_is_caught() -> None:
    report = check("罗湖区2020年地区生产总值为2400亿元[1]。", PASSAGES, GDP_Q)
    assert not report.ok and report.ungrounded_numbers == ["2400亿元"]
    assert "2400亿元" in report.problems()


def test_a_right_number_with_the_wrong_unit_is_caught() -> None:
    for wrong in ("2375.3万元", "6.2个百分点", "2375.3%"):
        report = check(f"地区生产总值为{wrong}[1]。", PASSAGES, GDP_Q)
        assert report.ungrounded_numbers == [wrong], wrong


def test_a_figure_cited_to_the_wrong_passage_gets_the_right_citation() -> None:
    report = check("地区生产总值为2375.3亿元[1]。新增学位6589个[1]。", PASSAGES, GDP_Q)
    assert report.ok and report.ungrounded_numbers == []
    assert report.text == "地区生产总值为2375.3亿元[1]。新增学位6589个[2]。"
    assert report.moved_citations == ["6589个: [1]→[2]"] and report.cited == [1, 2]


def test_a_citation_after_the_full_stop_is_moved_too() -> None:
    question = "城镇居民人均可支配收入提高到了多少?"
    report = check("人均可支配收入为6.8万元。[3] ", PASSAGES_WITH_INCOME, question)
    assert report.ok and report.text == "人均可支配收入为6.8万元。[4]"


def test_figures_from_two_passages_are_cited_to_both() -> None:
    report = check("学位6589个,GDP 2375.3亿元[3]。", PASSAGES, GDP_Q)
    assert report.ok and report.text == "学位6589个,GDP 2375.3亿元[1][2]。"


def test_a_moved_citation_must_also_name_the_year_asked() -> None:
    # The figure is found in [3], but [3] is about 2025 and the question about 2030.
    report = check("目标是3300亿元[1]。", PASSAGES, "到2030年罗湖地区生产总值目标是多少?")
    assert report.moved_citations == ["3300亿元: [1]→[3]"]
    assert not report.ok and report.missing_question_numbers == ["2030"]


def test_a_name_cited_to_the_wrong_passage_gets_the_right_citation() -> None:
    passages = {
        1: "黄金珠宝产业势头良好,建成深圳珠宝博物馆,成为国内首家珠宝专题公共博物馆。",
        2: "推动深港澳三地博物馆、美术馆等专业文化机构共同举办文化交流活动。",
    }
    question = "罗湖建成的国内首家珠宝专题公共博物馆叫什么?"
    report = check("国内首家珠宝专题公共博物馆叫深圳珠宝博物馆。[2]", passages, question)
    assert report.text == "国内首家珠宝专题公共博物馆叫深圳珠宝博物馆。[1]"
    assert report.moved_citations == ["国内首家珠宝专题公共博物…: [2]→[1]"]
    # Cited right, or saying nothing the question did not: left alone.
    for text in ("叫深圳珠宝博物馆[1]。", "国内首家珠宝专题公共博物馆[2]。"):
        assert check(text, passages, question).moved_citations == [], text


def test_a_count_in_words_is_checked_like_digits() -> None:
    passages = {
        1: "罗湖将聚焦实施“产业发展能级跃升行动、重点区域先行开放行动”5大行动。完成三轮政治巡察。"
    }
    assert not check("罗湖将实施八大行动[1]。", passages, "罗湖将实施几大行动?").ok
    for right in ("罗湖将实施五大行动[1]。", "完成了三轮政治巡察[1]。"):
        report = check(right, passages, "罗湖将实施几大行动?")
        assert report.ok and not report.ungrounded_numbers, right
    # "一个" is an article, not a count: nothing ungrounded (and no count given).
    report = check("这是一个重点[1]。", passages, "罗湖将实施几大行动?")
    assert not report.ungrounded_numbers and report.unanswered == ["count"]


def test_an_answer_must_give_what_the_question_asks_for() -> None:
    passages = {1: "2019年新增中小学学位6589个。——2021年11月3日在区第八届人民代表大会第一次会议上"}
    cases = {
        # restated, not answered
        ("新增中小学学位多少个?[1]", "2019年新增中小学学位多少个?"): ["echo"],
        ("罗湖要形成几个超千亿支柱产业[1]。", "罗湖要形成几个超千亿支柱产业?"): ["echo"],
        # the question's own year is not the figure asked for
        ("2019年新增了中小学学位[1]。", "2019年新增中小学学位多少个?"): ["count"],
        ("新增学位6589个[1]。", "2019年新增学位多少个?新建学校多少所?"): ["count"],
        ("争当四个先锋,树立首位意识[1]。", "争当“四个先锋”,要树立几个意识?"): ["count"],
        # "一百年" is a span, not the year asked for
        ("在新中国成立一百年时[1]。", "报告是哪一年作的?"): ["date"],
        ("报告在区人大会议上作[1]。", "政府工作报告是第几次会议上作的?"): ["ordinal"],
        ("It was delivered at the congress [1].", "On what date was the report delivered?"): [
            "date"
        ],
    }
    for (answer, question), kinds in cases.items():
        assert check(answer, passages, question).unanswered == kinds, answer
    answered = {
        ("新增学位6589个[1]。", "2019年新增学位多少个?"),
        ("报告于2021年11月3日作[1]。", "政府工作报告是哪天作的?"),
        ("在第一次会议上作[1]。", "政府工作报告是第几次会议上作的?"),
        ("It was delivered on November 3, 2021 [1].", "On what date was the report delivered?"),
        ("Luohu added 6589 places [1].", "How many school places did Luohu add in 2019?"),
        ("要形成2个超千亿支柱产业[1]。", "要形成几个超千亿支柱产业?"),
    }
    for answer, question in answered:
        report = check(answer, passages, question)
        assert report.unanswered == [], answer
    problems = check("2019年新增了中小学学位[1]。", passages, "2019年新增学位多少个?").problems()
    assert "数量" in problems


def test_a_figure_in_no_passage_is_not_moved() -> None:
    report = check("新增学位6589个,投资1428亿元[1]。", PASSAGES, GDP_Q)
    assert report.ungrounded_numbers == ["6589个", "1428亿元"] and report.moved_citations == []
    assert report.text == "新增学位6589个,投资1428亿元[1]。"


def test_a_citation_out_of_range_is_dropped() -> None:
    report = check("地区生产总值为2375.3亿元[1][7]。", PASSAGES, GDP_Q)
    assert report.dropped_citations == [7] and "[7]" not in report.text
    assert report.ok and report.cited == [1]


def test_an_answer_citing_nothing_is_not_grounded() -> None:
    report = check("地区生产总值为2375.3亿元。", PASSAGES, GDP_Q)
    assert report.uncited and not report.ok
    only_bad = check("地区生产总值为2375.3亿元[9]。", PASSAGES, GDP_Q)
    assert only_bad.uncited and only_bad.dropped_citations == [9]


def test_a_refusal_is_recognized() -> None:
    refusals = (
        "资料中未找到相关内容。",
        "資料中沒有提到2030年的目標。",
        "The passages do not contain it.",
    )
    for text in refusals:
        report = check(text, PASSAGES, "到2030年罗湖地区生产总值目标是多少?")
        assert report.refused and report.ok, text


def test_a_partial_answer_is_not_a_refusal() -> None:
    text = "到2025年地区生产总值突破3300亿元[3]。资料中未提及2030年的目标。"
    report = check(text, PASSAGES, "到2025年和2030年罗湖地区生产总值目标分别是多少?")
    assert not report.refused
    assert report.missing_question_numbers == ["2030"]


def test_an_answer_about_another_year_is_caught() -> None:
    # The figure is real, but for 2025: the question asked about 2030.
    question = "到2030年罗湖地区生产总值目标是多少?"
    report = check("地区生产总值目标是突破3300亿元[3]。", PASSAGES, question)
    assert not report.ok and report.missing_question_numbers == ["2030"]


@pytest.mark.parametrize(
    "answer",
    [
        "新增中小学学位6589个[2]。",  # digit-group comma in the source
        "新增中小学学位6,589个[2]。",
        "完成3轮政治巡察[2]。",  # Chinese numeral in the source
        "位列全国经济百强区第十五位[1]。",  # Chinese numeral in the answer, digits in the source
        "位列第15位[1]，比例提升到81%[2]。",
        "地區生產總值為2375.3億元[1]。",  # Traditional answer
        "1. 新增学位6589个[2]\n2. 比例81%[2]",  # list numbering is not a figure
        "2020年地区生产总值2375.3亿元。[1]",  # the marker after the full stop
        "Luohu added 6,589 primary and secondary school places [2].",
    ],
)
def test_normalization_raises_no_false_alarm(answer: str) -> None:
    report = check(answer, PASSAGES, "罗湖的情况如何?")
    assert report.ok and not report.ungrounded_numbers, report


def test_numbers_named_in_the_question_are_not_invented() -> None:
    report = check("2019年新增学位6589个[2]。", PASSAGES, "2019年罗湖新增多少学位?")
    assert report.ok


def test_figures_keep_magnitude_and_unit() -> None:
    found = [(f.number, f.scale, f.unit) for f in figures("增长6.2%，新增55万平方米、1.5万人[1]")]
    assert found == [("6.2", "", "%"), ("55", "万", "平方米"), ("1.5", "万", "人")]


def test_verify_and_renumber_citations() -> None:
    text, order, dropped = verify_citations("甲[3]乙[1][9]丙[3]", 3)
    assert (order, dropped) == ([3, 1], [9])
    assert renumber(text, order) == "甲[1]乙[2]丙[1]"


def test_small_helpers() -> None:
    assert [cn_to_int(t) for t in ("三", "十五", "二十三", "一百零五")] == [3, 15, 23, 105]
    assert is_refusal("资料中未找到相关内容") and not is_refusal("地区生产总值为2375.3亿元")


def test_a_phrase_the_question_quotes_must_be_in_a_cited_passage() -> None:
    passages = {
        1: "2024年2月19日 范德繁强调,要紧盯目标干,围绕目标明定位。",
        2: "2024年2月18日,省委、省政府召开全省高质量发展大会。",
    }
    question = "2024年全区高质量发展大会上,强调“要紧盯目标干”的是谁?"
    wrong = check("强调“要紧盯目标干”的是省委、省政府[2]。", passages, question)
    assert wrong.missing_quoted == ["要紧盯目标干"] and not wrong.ok
    assert "“要紧盯目标干”" in wrong.problems()
    assert check("是范德繁[1]。", passages, question).ok
    # A quoted question is not a phrase to look for; Traditional quotes are read too.
    assert check("是范德繁[1]。", passages, "“谁强调什么”?").missing_quoted == []
    assert check("省委[2]。", passages, "強調「要緊盯目標幹」的是誰?").missing_quoted == [
        "要紧盯目标干"
    ]
