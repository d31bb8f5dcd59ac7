"""Facts: each figure of a report read as what it measures, for whom, when, and whether it
is done or planned; questions read the same way; support as a match of facts."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from assistant.answer.facts import metric_series, retrieval_hints
from assistant.answer.guard import check as check_question
from assistant.answer.pipeline import Pipeline, ask
from assistant.answer.question import read_question
from assistant.cli import cli
from assistant.config import Config
from assistant.evaluation.facts import ingested_documents, load_annotations, score_facts
from assistant.facts.match import failed_slot, failed_slots
from assistant.facts.model import Fact, Period, parse_period
from assistant.facts.reader import doc_context, read_sentence, section_context
from assistant.textnorm import for_match, for_search
from assistant.ui import render as R
from tests.conftest import ROOT

WORK_REPORT = doc_context("wr", "政府工作报告", "2021-01-15", "work_report")
HALF_YEAR = doc_context("hy", "2022年上半年光明区经济运行情况", "2022-07-29", "news")


def read(sentence: str, doc=WORK_REPORT, section: str = "") -> list[Fact]:  # type: ignore[no-untyped-def]
    return read_sentence(for_search(sentence), doc, section_context(doc, section))


def slots(fact: Fact) -> tuple[str, str, str, str, str]:
    period = fact.period.label if fact.period else ""
    return (fact.mention, fact.subject, period, fact.status, fact.kind)


# ------------------------------------------------------------------------- reading reports


def test_a_level_and_its_change() -> None:
    level, change = read("2020年罗湖区社会消费品零售总额1216.5亿元，增长7.3%。")
    assert slots(level) == ("1216.5亿元", "罗湖区", "2020", "actual", "level")
    assert level.metric == "社会消费品零售总额" and level.base == (1216.5e8, "元")
    assert slots(change) == ("7.3%", "罗湖区", "2020", "actual", "change")
    assert change.metric == "社会消费品零售总额"  # the change of the level before it


def test_a_target_year_and_relative_years() -> None:
    (target,) = read("到2025年，地区生产总值突破3300亿元。")
    assert slots(target)[2:4] == ("2025", "target")
    (last_year,) = read("去年完成固定资产投资332亿元。")
    assert slots(last_year)[2:4] == ("2020", "actual")  # a report of January 2021
    (plan,) = read("力争今年社会消费品零售总额增长8%。")
    assert slots(plan)[2:] == ("2021", "target", "change")


def test_a_review_of_five_years_and_its_levels() -> None:
    section = "一、过去五年工作回顾"
    old, new = read("一般公共预算收入由85亿元增至137亿元。", section=section)
    assert (slots(old)[2], slots(new)[2]) == ("2015", "2020")
    (total,) = read("固定资产投资累计完成1428亿元。", section=section)
    assert slots(total)[2] == "2016-2020"


def test_the_documents_subject_and_half_year() -> None:
    level, _ = read("上半年全区社会消费品零售总额126.4亿元，同比增长0.8%。", doc=HALF_YEAR)
    assert slots(level) == ("126.4亿元", "光明区", "2022H1", "actual", "level")
    figures = read("全区固定资产投资同比增长21.3%，高于全市11.9个百分点。", doc=HALF_YEAR)
    # 全市 after 高于 is what it is compared with, not whom the figure is about
    assert [f.subject for f in figures] == ["光明区", "光明区"]


def test_counts_in_words_ranks_and_ranges() -> None:
    (count,) = read("罗湖将聚焦八大措施主动谋划。")
    assert (count.value, count.unit) == (8, "大") and count.metric.startswith("措施")
    _, rank = read("持牌金融机构突破85家，居全市第二。")
    assert (rank.value, rank.kind, rank.subject) == (2, "rank", "罗湖区")
    (spread,) = read("培育3—5个百亿级新兴服务产业集群。")
    assert (spread.value, spread.value_hi) == (3, 5)


def test_respectively_pairs_times_with_figures() -> None:
    figures = read(
        "全区地区生产总值一季度、上半年、前三季度和全年分别增长4.1%、5.2%、5.4%、5.6%。",
        doc=doc_context("s", "2023年罗湖区经济运行情况", "2024-01-26", "news"),
    )
    assert [f.period.label for f in figures if f.period] == [
        "2023Q1",
        "2023H1",
        "2023-01~2023-09",
        "2023",
    ]
    assert {f.kind for f in figures} == {"change"}


REVIEW = "一、过去五年工作回顾"
PLAN = "三、今后五年的主要工作"


def periods(sentence: str, section: str = "", doc=WORK_REPORT) -> list[str]:  # type: ignore[no-untyped-def]
    return [slots(f)[2] for f in read(sentence, doc=doc, section=section)]


def test_a_heading_without_a_time_keeps_the_time_of_the_heading_above() -> None:
    # "(五)…取得新进展" says review, "过去五年" above it says which years
    inner = f"{REVIEW} › (五)真抓实干担使命,平安建设取得新进展"
    assert periods("深入推进扫黑除恶专项斗争,破获涉黑恶案件447宗。", inner) == ["2016-2020"]
    assert periods("新改扩建公办义务教育学校34所。", f"{PLAN} › (八)突出解民忧暖民心") == [
        "2021-2025"
    ]


def test_a_glossary_is_neither_review_nor_plan() -> None:
    glossary = f"{PLAN} › 有关名词解释"
    figures = read("应急指挥体系:1个区级指挥中心+10个街道分中心。", section=glossary)
    assert [slots(f)[2:4] for f in figures] == [("2021", "actual")] * 2


def test_running_years_end_at_the_year_reported_on() -> None:
    years, rank = read("改革创新绩效考核连续四年全市第一。", section=REVIEW)
    assert slots(years)[0] == "四年" and years.value == 4  # the count is a figure too
    assert (slots(years)[2], slots(rank)[2], rank.kind) == ("2017-2020", "2017-2020", "rank")
    news = doc_context("n", "请回答2019!罗湖交出全面振兴答卷", "2020-01-03", "news")
    assert periods("罗湖政府在线连续四年获评第一名。", doc=news) == ["2016-2019"] * 2


def test_since_a_day_and_a_count_of_listed_names() -> None:
    half = doc_context("h", "罗湖区2023年上半年经济运行情况", "2023-07-28", "news")
    sentence = "2月6日深港全面恢复通关以来,罗湖、文锦渡、莲塘三个口岸出入境旅客累计2867万人次。"
    # the ports are counted as the report finds them; the travellers since 6 February
    assert periods(sentence, doc=half) == ["2023H1", "2023-02~2023-06"]
    plan = "下半年,全区将继续聚焦消费、深港、现代服务业三大关键因素。"
    assert periods(plan, doc=half) == ["2023H2"]


def test_a_year_recovered_to_is_a_base_not_a_target() -> None:
    stats = doc_context("s", "2023年罗湖区经济运行情况", "2024-01-26", "news")
    _, share = read("出入境旅客合计6812万人次,恢复至2019年同期的71.3%。", doc=stats)
    assert slots(share)[2:4] == ("2023", "actual")


def test_nouns_of_set_phrases_announce_no_target() -> None:
    assert read("全面落实党的建设总要求,增强“四个意识”。", section=REVIEW)[0].status == "actual"
    news = doc_context("n", "请回答2019!罗湖交出全面振兴答卷", "2020-01-03", "news")
    figures = read("罗湖区坚持目标导向,确定7大领域、506个课题开展调研。", doc=news)
    assert [f.status for f in figures] == ["actual", "actual"]
    assert read("主要预期目标是:地区生产总值增长6%。")[0].status == "target"
    call = doc_context("c", "罗湖区委八届六次全会召开", "2024-09-27", "plenary_communique")
    assert [f.status for f in read("争当“四个先锋”、树立“七个意识”", doc=call)] == ["target"] * 2


def test_a_span_of_years_gives_states_its_last_year_and_sums_the_span() -> None:
    assert periods("PM2.5年均浓度降至18.2微克/立方米。", REVIEW) == ["2020"]  # an average
    assert periods("每万人全科医生数5.4名。", REVIEW) == ["2020"]  # per head: a state
    assert periods("获评中国公平教育百佳县市第七名。", REVIEW) == ["2016-2020"]  # an award
    assert periods("举办招聘会300场,引进人才1045名。", REVIEW) == ["2016-2020"] * 2
    assert periods("救助困难群众超16万人次,营收超1300亿元。", REVIEW) == ["2016-2020", "2020"]
    # a bound held every year; the verb of a list reaches each item by the last year
    assert periods("确保城镇登记失业率控制在3.5%以内。", PLAN) == ["2021-2025"]
    assert periods("实现150项“秒批”、380项“无感申办”。", PLAN) == ["2025", "2025"]


def subjects(sentence: str, doc=WORK_REPORT) -> list[str]:  # type: ignore[no-untyped-def]
    return [f.subject for f in read(sentence, doc=doc)]


def test_places_areas_and_named_projects_own_their_figures() -> None:
    # a place or a port right before a figure owns it; not a verb before 街道
    assert subjects("帮扶汕尾陆丰市26个贫困村脱贫1.5万人。") == ["陆丰市", "陆丰市"]
    assert subjects("推动莲塘口岸24小时通关。") == ["莲塘口岸"]
    assert subjects("区妇保院挂牌市三级医院。") == ["罗湖区"]  # a grade, not a city
    assert subjects("高于全市2.8个百分点。") == ["罗湖区"]  # 全市 after 高于 is the base
    assert subjects("地铁实现街道全覆盖,线网密度跃居全市第二。") == ["罗湖区"]
    # an area that opens the sentence is what it tells of
    assert subjects("笋岗-清水河片区创新土地整备方式,新增产业空间42万平方米。") == [
        "笋岗-清水河片区"
    ]
    assert subjects("开工建设湖贝统筹片区一期等8个项目。") == ["罗湖区"]
    # what was founded has the anniversary
    assert subjects("2019年是新中国成立70周年,是罗湖建区40周年。") == ["全国", "罗湖区"]
    # projects voted on, and a quoted service with its run of awards
    votes = read(
        "其中“新增中小学学位”项目以168票位列得票第一,“老旧小区加装电梯”和“社康中心扩容提质”"
        "分列第二、第三位。"
    )
    assert [f.subject for f in votes] == ["新增中小学学位"] * 2 + [
        "老旧小区加装电梯",
        "社康中心扩容提质",
    ]
    assert set(subjects("“罗湖政府在线”连续四年获评绩效评估第一名。")) == {"罗湖政府在线"}


def test_the_city_over_the_same_period_is_the_city() -> None:
    figures = read("全区规模以上工业增加值同比增长7.9%,全市同期增长4.4%。", doc=HALF_YEAR)
    assert [f.subject for f in figures] == ["光明区", "深圳市"]


def test_a_count_grown_by_against_a_base_is_a_change() -> None:
    level, change = read("代表们提出建议214件,比上次会议增加23件。")
    assert (level.kind, change.kind) == ("level", "change")
    assert read("新建19处立体停车设施,增加泊位3000个。")[1].kind == "level"


def test_will_at_a_time_is_a_plan() -> None:
    closing = doc_context("c", "罗湖区七届人大六次会议胜利闭幕", "2020-01-10", "news")
    (months,) = read("建议已交由区政府研究办理,并将在大会闭幕之日起三个月内办结答复。", doc=closing)
    assert months.status == "target"


def test_years_dates_and_names_are_not_figures() -> None:
    assert read("2021年11月3日，“十四五”规划和5G网络建设全面启动。") == []
    assert read("地铁14号线开通，1+6+N政策体系出台。") == []


def test_periods_read_back() -> None:
    for label in ("2023", "2016-2020", "2023H1", "2024Q1", "2023-05", "2023-01~2023-05"):
        period = parse_period(label)
        assert period is not None and period.label == label
    assert Period.months(2023, 1, 6).zh() == "2023年上半年"


def test_extraction_against_the_hand_annotated_mentions(corpus_config: Config) -> None:
    """The numbers the closing note reports come from `assistant eval-facts`; this holds
    the extractor to them (a change that loses ground fails here)."""
    # the targets: value+unit >= 0.98, period, status and subject >= 0.95
    floors = {"value+unit": 0.98, "metric": 0.85, "subject": 0.95, "period": 0.95, "status": 0.95}
    sets = {
        "sources": (sorted((ROOT / "eval" / "facts").glob("mentions*.jsonl")), ROOT / "sources"),
        "held-out": (
            [ROOT / "eval" / "heldout" / "mentions.jsonl"],
            ROOT / "eval" / "heldout" / "sources",
        ),
    }
    for name, (files, sources) in sets.items():
        score = score_facts(load_annotations(files), ingested_documents(corpus_config, sources))
        assert score.annotations >= 150 and score.unlocated <= 10, name
        assert score.precision >= 0.95 and score.recall >= 0.95, name  # type: ignore[operator]
        for slot, floor in floors.items():
            precision = score.slots[slot].precision
            assert precision is not None and precision >= floor, (name, slot, precision)


# ----------------------------------------------------------------------- reading questions


def asked(question: str) -> list[tuple[str, str | None, str | None, str | None]]:
    return [
        (a.metric, a.period.label if a.period else None, a.subject, a.status)
        for a in read_question(question).asks
    ]


def test_a_question_reads_what_it_fixes() -> None:
    assert asked("2021年政府工作报告中,罗湖区2020年地区生产总值是多少?") == [
        ("地区生产总值", "2020", "罗湖区", None)
    ]
    assert asked("光明区2022年上半年社会消费品零售总额是多少?") == [
        ("社会消费品零售总额", "2022H1", "光明区", None)
    ]
    assert asked("2021年政府工作报告提出,到2025年罗湖金融业增加值目标是多少?")[0][1:] == (
        "2025",
        "罗湖区",
        "target",
    )
    # 过去五年 is read against the report it names: 2016-2020 for the 2021 report
    assert asked("2021年政府工作报告中,过去五年罗湖新增学位多少个?")[0][1] == "2016-2020"
    # abbreviations are written out; each 多少 is its own ask
    assert asked("社零目标是多少?")[0][0] == "社会消费品零售总额"
    assert [a[0] for a in asked("罗湖应到代表多少名、实到多少名?")] == ["应到代表", "实到代表"]


def test_a_question_reads_no_period_from_a_run_of_years_or_an_open_since() -> None:
    # the facts hold the span (2019-2020); the question's 连续两年 only describes the rank
    assert asked("2021年政府工作报告称罗湖连续两年在营商环境百佳示范县市中排第几名?")[0][1] is None
    assert asked("2月6日恢复通关以来,口岸出入境旅客累计多少人次?")[0][1] is None


def test_a_part_of_the_district_fits_a_question_about_the_district() -> None:
    (fact,) = read("“罗湖政府在线”连续四年获评绩效评估第一名。")[1:]
    (ask_home,) = read_question("罗湖政府在线连续几年获评绩效评估第一名?").asks
    assert fact.subject == "罗湖政府在线" and ask_home.subject == "罗湖区"
    assert failed_slot(ask_home, fact, "罗湖区") is None
    (ask_other,) = read_question("福田区连续几年获评绩效评估第一名?").asks
    assert failed_slot(ask_other, fact, "罗湖区") == "subject"
    street = read("东门街道新增学位200个。")[0]
    assert "subject" in failed_slots(ask_home, street, "罗湖区")  # a street is not the district


def test_a_question_that_asks_no_figure_asks_nothing() -> None:
    assert read_question("罗湖八大措施中的第一项是什么?").asks == ()


# ------------------------------------------------------------- answering with facts


def test_a_figure_question_gets_the_facts_clause(pipeline: Pipeline) -> None:
    response = ask(pipeline, "2021年政府工作报告中,罗湖区2020年地区生产总值是多少?")
    assert not response.refused and "2375.3" in response.answer
    assert len(re.sub(r"\[\d+\]", "", response.answer)) <= 80  # a clause, not three sentences
    assert "2375.3" in for_match(response.citations[0].text)


@pytest.mark.parametrize(
    ("question", "missing"),
    [
        ("2019年罗湖区地区生产总值是多少?", "2019年"),  # the year is not given
        ("2022年上半年光明区地区生产总值是多少?", "光明区"),  # no such district's figures
        ("2021年政府工作报告提出,到2025年罗湖金融业增加值目标是多少?", "2025年"),  # actuals
        ("2021年政府工作报告中,过去五年罗湖办理人大代表议案多少件?", "议案"),  # 建议 only
    ],
)
def test_a_near_miss_is_refused_saying_what_the_sources_hold(
    pipeline: Pipeline, question: str, missing: str
) -> None:
    response = ask(pipeline, question)
    assert response.refused, response.answer
    if response.answer.startswith("资料中没有"):  # a refusal that says what is missing
        assert missing in response.answer.split("；")[0], response.answer
    for c in response.citations:  # what it does quote is in the passage it cites
        assert c.n == 1 and "[1]" in response.answer


def test_a_figure_question_names_the_report_and_retrieval_lifts_it(pipeline: Pipeline) -> None:
    q = read_question("2021年政府工作报告中,罗湖金融业增加值达到多少?")
    hints = retrieval_hints(q, pipeline.index)
    assert hints is not None and hints.doc_ids == frozenset({"002_833012a21d5118d3.txt"})
    hits = pipeline.retriever.retrieve(q.norm, hints=hints)
    assert hits[0].chunk.doc_id == "002_833012a21d5118d3.txt"


def test_a_metric_over_periods(pipeline: Pipeline) -> None:
    series = metric_series(pipeline.index, "地区生产总值", "罗湖区")
    labels = [f.period.label for f in series if f.period]
    assert "2015" in labels and "2020" in labels and labels == sorted(labels)


def test_the_facts_command(corpus_config: Config) -> None:
    env = {f"ASSISTANT_PATHS__{k.upper()}": str(v) for k, v in corpus_config.paths}
    args = ["--config", str(ROOT / "assistant.toml"), "facts", "地区生产总值", "--json"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {"2375.3亿元", "3300亿元"} <= {f["mention"] for f in data["facts"]}
    target = next(f for f in data["facts"] if f["mention"] == "3300亿元")
    assert target["status"] == "target" and target["period"] == "2025" and target["title"]


def test_the_eval_facts_command(corpus_config: Config) -> None:
    env = {f"ASSISTANT_PATHS__{k.upper()}": str(v) for k, v in corpus_config.paths}
    result = CliRunner().invoke(cli, ["eval-facts", "--json"], env=env)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["annotations"] >= 200 and set(data["slots"]) >= {"period", "status", "subject"}


# --------------------------------------------------------------------------- the guard


PASSAGES = {
    1: "政府工作报告（2021-11-03） › 过去五年工作回顾\n每万人发明专利拥有量提高至21.4件。",
    2: "政府工作报告（2021-11-03） › 今后五年的主要工作\n到2025年,每万人发明专利拥有量达到40件。",
}


def passage_facts() -> dict[int, list[Fact]]:
    review = section_context(WORK_REPORT, "过去五年工作回顾")
    plan = section_context(WORK_REPORT, "今后五年的主要工作")
    return {
        1: read_sentence(for_search(PASSAGES[1].split("\n")[1]), WORK_REPORT, review),
        2: read_sentence(for_search(PASSAGES[2].split("\n")[1]), WORK_REPORT, plan),
    }


def test_the_guard_rejects_a_target_given_for_a_result() -> None:
    question = read_question("罗湖每万人发明专利拥有量实际提高到多少件?")
    wrong = check_question("每万人发明专利拥有量达到40件[2]。", PASSAGES, question, passage_facts())
    assert not wrong.ok and wrong.wrong_facts == ["40件"]
    assert "目标或实际完成不符" in wrong.problems()
    right = check_question(
        "每万人发明专利拥有量提高至21.4件[1]。", PASSAGES, question, passage_facts()
    )
    assert right.ok, right.problems()


def test_the_guard_checks_an_english_amount_by_its_value() -> None:
    passages = {1: "政府工作报告\n2020年地区生产总值2375.3亿元。"}
    question = read_question("What was Luohu's GDP in 2020?")
    assert check_question("It was 237.53 billion yuan in 2020 [1].", passages, question).ok
    wrong = check_question("It was 2375.3 billion yuan in 2020 [1].", passages, question)
    assert wrong.ungrounded_numbers == ["2375.3 billion yuan"]


# --------------------------------------------------------------------------- the chart


def test_an_answer_with_three_periods_gets_a_chart(pipeline: Pipeline) -> None:
    response = ask(pipeline, "2021年政府工作报告中,罗湖区2020年地区生产总值是多少?")
    assert len({p.period for p in response.series}) >= 3
    chart = R.series_chart(response.series, 0, "原文")
    assert chart.count("<circle") == len(response.series) and "地区生产总值" in chart
    assert '<a class="cite" href="#cite-0-1">' in chart  # the cited figure links to its passage


def test_facts_are_stored_with_the_generation(pipeline: Pipeline) -> None:
    folder = (
        Path(pipeline.config.paths.index_dir) / "generations" / pipeline.index.manifest.generation
    )
    assert (folder / "facts.jsonl").exists() and len(pipeline.index.facts) > 300
