"""The scorer on planted predictions: every metric asserted exactly, overall and by kind.

Each planted case is a way a pipeline can look good while being wrong (or the reverse), so
a scorer bug shows up here rather than as a flattering number.
"""

from __future__ import annotations

import json

import pytest

from assistant.evaluation.gold import GoldError, GoldItem, parse_gold
from assistant.evaluation.score import (
    Latency,
    Metrics,
    Prediction,
    Verdict,
    first_rank,
    percentile,
    score_item,
    summarize,
)

NOT_NUMERAL = "零一二三四五六七八九十百千万两"
EIGHT = f"(?:(?<![\\d.])8(?!\\.?\\d)|(?<![{NOT_NUMERAL}])八(?![{NOT_NUMERAL}]))"
REFUSAL = "资料中未找到与该问题直接相关的内容。"

P_EIGHT = "罗湖紧紧抓住这一重大历史机遇,在八个方面主动谋划,勇做新征程锐意进取的攀登者。"
P_400 = "会议从13个领域、60个方面、提出400多条改革措施。"
P_1400 = "会议提出1400多条改革措施。"
P_GDP = "地区生产总值从2015年的1673.5亿元增加到2020年的2375.3亿元。"
P_OTHER = "罗湖区推进城市更新,建设美丽罗湖。"
P_DATE = "9月26日,中国共产党深圳市罗湖区第八届委员会第六次全体会议召开。"
P_DATE_NEWS = "会议于9月26日召开,审议通过了实施方案。"
P_TRAD = "會議聽取了區委書記范德繁代表區委常委會所作的報告。"
P_COMMA = "全年筹集人才住房10，012套、供应1，357套。"  # full-width digit-group commas
P_RETAIL_A = "社会消费品零售总额增至1216.5亿元。"
P_RETAIL_B = "到2025年,社会消费品零售总额达1600亿元。"


def gold_line(id_: str, kind: str, answers: list[str], evidence: list[str], **extra: object) -> str:
    raw = {
        "id": id_,
        "question": extra.pop("question", f"问题 {id_}?"),
        "answers": answers,
        "evidence": evidence,
        "unanswerable": extra.pop("unanswerable", False),
        "kind": kind,
        **extra,
    }
    return json.dumps(raw, ensure_ascii=False)


GOLD_LINES = [
    gold_line("c1", "count", [EIGHT], ["八个方面主动谋划"]),
    gold_line("f1", "figure", ["(?<![\\d.])400(?!\\.?\\d)"], ["提出400多条改革措施"]),
    gold_line("f2", "figure", ["(?<![\\d.])2375\\.3(?!\\.?\\d)亿"], ["2375\\.3亿元"]),
    gold_line("d1", "date", ["(?<!\\d)9月26日"], ["9月26日,中国共产党深圳市罗湖区"]),
    gold_line("d2", "date", ["(?<!\\d)9月26日"], ["9月26日,中国共产党深圳市罗湖区"]),
    gold_line("n1", "name", ["范德繁"], ["区委书记范德繁"], question="誰代表區委常委會作報告?"),
    gold_line("f3", "figure", ["(?<![\\d.])10012(?!\\.?\\d)套"], ["人才住房10012套"]),
    gold_line(
        "m1",
        "multi",
        ["(?<![\\d.])1216\\.5(?!\\.?\\d)", "(?<![\\d.])1600(?!\\.?\\d)"],
        ["零售总额增至1216\\.5亿元", "零售总额达1600亿元"],
    ),
    gold_line("u1", "unanswerable", [], [], unanswerable=True),
    gold_line("u2", "unanswerable", [], [], unanswerable=True),
    gold_line("e1", "count", [EIGHT], ["八个方面主动谋划"]),
]


def pred(
    answer: str,
    cited: list[str],
    retrieved: list[str],
    latency: float,
    refused: bool = False,
    **timings: float,
) -> Prediction:
    stages = {"normalize": 1.0, **timings, "generate": latency / 2}
    return Prediction(answer, refused, tuple(cited), tuple(retrieved), latency, stages)


# One planted prediction per gold line, in the same order.
PREDICTIONS = [
    # right, cited, found first
    pred("罗湖在八个方面主动谋划[1]", [P_EIGHT], [P_EIGHT, P_OTHER], 10, bm25=2.0),
    # off by a digit: 1400 is not 400; the evidence sits at rank 2, uncited
    pred("会议提出1400多条改革措施[1]", [P_1400], [P_1400, P_400], 20, bm25=4.0),
    # refused although the third passage holds the answer
    pred(REFUSAL, [], [P_OTHER, P_EIGHT, P_GDP], 30, refused=True),
    # right answer, but neither cited nor retrieved passages hold the evidence
    pred("会议于9月26日召开[1]", [P_DATE_NEWS], [P_DATE_NEWS, P_OTHER], 40),
    # right answer, evidence retrieved (rank 2) but not cited
    pred("9月26日召开[1]", [P_DATE_NEWS], [P_DATE_NEWS, P_DATE], 50),
    # Traditional answer and passage, Simplified regexes
    pred("區委書記范德繁代表區委常委會作報告[1]", [P_TRAD], [P_TRAD], 60),
    # digit-group commas and spaces in the answer, full-width commas in the passage
    pred("筹集人才住房 10,012 套[1]", [P_COMMA], [P_OTHER, P_COMMA], 70),
    # two evidence regexes in two passages: jointly matched first at rank 3
    pred(
        "零售总额从1216.5亿元[1]到1600亿元[2]",
        [P_RETAIL_A, P_RETAIL_B],
        [P_RETAIL_A, P_OTHER, P_RETAIL_B],
        80,
    ),
    # answered a question the sources cannot answer
    pred("罗湖区推进城市更新[1]", [P_OTHER], [P_OTHER], 90),
    # refused an unanswerable question: right
    pred(REFUSAL, [], [P_OTHER], 100, refused=True),
    # the pipeline raised
    Prediction.failed("server timed out"),
]

MISCITED = "right answer, but the cited passages lack the evidence"
# id: (correct, supported, retrieval_hit, rank, passed, reason)
EXPECTED = {
    "c1": (True, True, True, 1, True, ""),
    "f1": (False, False, True, 2, False, "wrong answer"),
    "f2": (False, False, True, 3, False, "refused, but the sources hold the answer"),
    "d1": (True, False, False, None, False, MISCITED),
    "d2": (True, False, True, 2, False, MISCITED),
    "n1": (True, True, True, 1, True, ""),
    "f3": (True, True, True, 2, True, ""),
    "m1": (True, True, True, 3, True, ""),
    "u1": (False, False, False, None, False, "answered a question the sources cannot answer"),
    "u2": (False, False, False, None, True, ""),
    "e1": (False, False, False, None, False, "error: server timed out"),
}


@pytest.fixture(scope="module")
def gold() -> list[GoldItem]:
    return parse_gold(GOLD_LINES, "planted.jsonl")


@pytest.fixture(scope="module")
def verdicts(gold: list[GoldItem]) -> list[Verdict]:
    return [score_item(item, p) for item, p in zip(gold, PREDICTIONS, strict=True)]


def test_every_verdict(verdicts: list[Verdict]) -> None:
    got = {
        v.id: (v.correct, v.supported, v.retrieval_hit, v.rank, v.passed, v.reason)
        for v in verdicts
    }
    assert got == EXPECTED


def test_verdicts_name_what_is_missing(verdicts: list[Verdict]) -> None:
    by_id = {v.id: v for v in verdicts}
    assert by_id["f1"].answer_missing == ("(?<![\\d.])400(?!\\.?\\d)",)
    assert by_id["f1"].cited_missing == ("提出400多条改革措施",)
    assert by_id["f1"].retrieved_missing == ()
    assert by_id["d1"].answer_missing == ()
    assert by_id["d1"].retrieved_missing == ("9月26日,中国共产党深圳市罗湖区",)
    assert by_id["m1"].cited_missing == ()


def _rates(m: Metrics) -> tuple[object, ...]:
    return (
        m.items,
        m.answerable,
        m.unanswerable,
        m.errors,
        m.correct,
        m.supported,
        m.refused_unanswerable,
        m.false_refusals,
        m.retrieval_hits,
        m.answer_accuracy,
        m.supported_accuracy,
        m.refusal_recall,
        m.false_refusal_rate,
        m.recall_at_k,
    )


def test_overall_metrics(verdicts: list[Verdict]) -> None:
    m = summarize(verdicts).overall
    assert _rates(m) == (11, 9, 2, 1, 6, 4, 1, 1, 7, 6 / 9, 4 / 9, 1 / 2, 1 / 9, 7 / 9)
    # ranks 1, 2, 3, -, 2, 1, 2, 3, - over nine answerable items
    assert m.mrr == pytest.approx(25 / 54, abs=1e-12)


def test_metrics_by_kind(verdicts: list[Verdict]) -> None:
    by_kind = summarize(verdicts).by_kind
    assert list(by_kind) == ["count", "date", "figure", "multi", "name", "unanswerable"]
    expected = {
        "count": ((2, 2, 0, 1, 1, 1, 0, 0, 1, 1 / 2, 1 / 2, None, 0.0, 1 / 2), 1 / 2),
        "date": ((2, 2, 0, 0, 2, 0, 0, 0, 1, 1.0, 0.0, None, 0.0, 1 / 2), 1 / 4),
        "figure": ((3, 3, 0, 0, 1, 1, 0, 1, 3, 1 / 3, 1 / 3, None, 1 / 3, 1.0), 4 / 9),
        "multi": ((1, 1, 0, 0, 1, 1, 0, 0, 1, 1.0, 1.0, None, 0.0, 1.0), 1 / 3),
        "name": ((1, 1, 0, 0, 1, 1, 0, 0, 1, 1.0, 1.0, None, 0.0, 1.0), 1.0),
        "unanswerable": ((2, 0, 2, 0, 0, 0, 1, 0, 0, None, None, 1 / 2, None, None), None),
    }
    for kind, (rates, mrr) in expected.items():
        assert _rates(by_kind[kind]) == rates, kind
        if mrr is None:
            assert by_kind[kind].mrr is None
        else:
            assert by_kind[kind].mrr == pytest.approx(mrr, abs=1e-12), kind


def test_latency_percentiles(verdicts: list[Verdict]) -> None:
    lat = summarize(verdicts).overall.latency_ms
    assert list(lat) == ["total", "normalize", "bm25", "generate"]  # pipeline order
    assert lat["total"] == Latency(10, 55.0, pytest.approx(95.5))  # the failed item has none
    assert lat["normalize"] == Latency(10, 1.0, 1.0)
    assert lat["bm25"] == Latency(2, 3.0, pytest.approx(3.9))
    assert lat["generate"] == Latency(10, 27.5, pytest.approx(47.75))
    assert summarize(verdicts).by_kind["count"].latency_ms["total"] == Latency(1, 10, 10)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 95) == 7.0
    assert percentile([40.0, 10.0, 30.0, 20.0], 50) == 25.0
    assert percentile([10.0, 20.0], 95) == pytest.approx(19.5)


def test_first_rank_needs_all_patterns_jointly() -> None:
    assert first_rank(["甲", "乙"], ["甲", "丙", "乙"]) == 3
    assert first_rank(["甲", "乙"], ["乙甲"]) == 1
    assert first_rank(["甲", "丁"], ["甲", "乙"]) is None
    assert first_rank(["甲"], []) is None


def test_empty_gold_is_an_error() -> None:
    with pytest.raises(GoldError, match="no gold items"):
        parse_gold(["", "  "], "g.jsonl")


def test_blank_lines_are_skipped_but_counted() -> None:
    lines = [GOLD_LINES[0], "", "{oops"]
    with pytest.raises(GoldError, match=r"^g\.jsonl:3: not valid JSON"):
        parse_gold(lines, "g.jsonl")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"id": "x"', "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        (
            '{"id": "x", "question": "q", "answers": [], "evidence": [], "unanswerable": true}',
            r"missing key\(s\): kind",
        ),
        (gold_line("x", "name", ["("], ["b"]), r"answers\[0\] is not a valid regex"),
        (gold_line("x", "name", ["a"], ["b", "9月 26日"]), r"evidence\[1\] is not in normalized"),
        (gold_line("x", "name", ["羅湖"], ["b"]), "not in normalized form"),
        (gold_line("x", "name", ["10,012"], ["b"]), "not in normalized form"),
        (gold_line("x", "name", ["a，b"], ["b"]), "not in normalized form"),
        (gold_line("x", "name", ["a?"], ["b"]), "matches the empty string"),
        (gold_line("x", "trivia", ["a"], ["b"]), "kind 'trivia' is not one of"),
        (gold_line("x", "name", [1], ["b"]), "answers must be a list of strings"),
        (gold_line("x", "name", ["a"], ["b"], question=" "), "question must be a non-empty"),
        (gold_line("x", "name", ["a"], ["b"], unanswerable="no"), "unanswerable must be true"),
        (gold_line("x", "unanswerable", ["a"], [], unanswerable=True), "must have empty answers"),
        (gold_line("x", "name", ["a"], []), "needs at least one answers and one evidence"),
        (gold_line("x", "unanswerable", ["a"], ["b"]), 'kind "unanswerable" but'),
        (gold_line("c1", "name", ["a"], ["b"]), r"duplicate id 'c1' \(first on line 1\)"),
    ],
)
def test_malformed_gold_names_the_line(line: str, message: str) -> None:
    with pytest.raises(GoldError, match=rf"^gold\.jsonl:2: .*{message}") as err:
        parse_gold([GOLD_LINES[0], line], "gold.jsonl")
    assert "\n" not in str(err.value)


def test_unknown_keys_are_warned_about_and_ignored() -> None:
    lines = [
        gold_line("a1", "name", ["a"], ["b"], doc="000.txt", notes="checked"),
        gold_line("a2", "name", ["a"], ["b"], doc="001.txt", near_mis="period"),
    ]
    warnings: list[str] = []
    items = parse_gold(lines, "gold.jsonl", warnings)
    assert [i.id for i in items] == ["a1", "a2"] and items[0].answers == ("a",)
    assert warnings == [
        "gold.jsonl: key 'doc' is not used by the eval, ignored: line 1, 2",
        "gold.jsonl: key 'notes' is not used by the eval, ignored: line 1",
        "gold.jsonl: key 'near_mis' is not used by the eval, ignored (did you mean "
        "near_miss?): line 2",
    ]
    # A misspelt required key is still an error: without it the item means nothing.
    with pytest.raises(GoldError, match=r"missing key\(s\): evidence"):
        parse_gold([gold_line("x", "name", ["a"], ["b"]).replace('"evidence"', '"evidance"')])
