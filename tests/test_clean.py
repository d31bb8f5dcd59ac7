"""Cleaning, step by step, on the real reports in sources/ (byte copies of the corpus)."""

from __future__ import annotations

import re
import time

import pytest

from assistant.corpus.clean import (
    CleanResult,
    clean_text,
    join_spaced_names,
    normalize_chars,
    remove_furniture,
    repair_mojibake,
    strip_pinyin,
    tidy_lines,
)
from assistant.corpus.mojibake import MojibakeRun, char_logp, find_mojibake, pinyin_readings
from assistant.textnorm import is_traditional, to_traditional
from tests.conftest import SOURCES

DOC = {
    "000": "000_4f2a037b8341d7e8.txt",
    "001": "001_bfd75f84de2c2b1c.txt",
    "002": "002_833012a21d5118d3.txt",
    "003": "003_6c292aaa073e0d9c.txt",
    "004": "004_322b88558eed9829.txt",
}
# Any tone-marked syllable in brackets, counted independently of strip_pinyin's own rule.
ANNOTATION = re.compile(r"\([a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*\)")

# Every garbled run in the corpus, checked by eye against what the sentence must say.
# (document, garbled as found after pinyin stripping, repair, characters lost)
# Known shortfalls, all from bytes that are gone: 000 loses 擔當 before 、干出 and turns the
# middle of 為全國…改革開 into 嚒刃 (debris was dropped inside the run); 000 loses 填 of
# 填埋場 (its reading zhí is not annotated in 000); 002 loses 全力 of 全力以赴, 校 of 學校,
# 堂 of 飯堂, 庫 of 專家庫, 專 of 專科, 擔當 before 成就; elsewhere only a 。 or an indent.
# lost_chars counts what the byte arithmetic proves, so it is a lower bound.
EXPECTED_RUNS = [
    (
        "000",
        "?lián)敗⒏沙鲂伦鳛椤⒄故拘職庀螅瑸槿珖∪懈母镩_",
        "、干出新作為、展示新氣象，為全嚒刃改革開",
        1,
    ),
    ("000", "?zhí)盥駡霏h", "埋場環", 1),
    ("002", "??偛科髽I", "總部企業", 1),
    ("002", "?!岸Y", "“禮", 1),
    ("002", "?;I", "籌", 1),
    ("002", "?nèi)σ愿巴七M", "以赴推進", 1),
    ("002", "?!敖Y", "“結", 1),
    ("002", "?zhí)?", "", 1),
    ("002", "?。ㄎ澹┩怀鰞?yōu)", "（五）突出優", 1),
    ("002", "?guī)?", "", 1),
    ("002", "??漆t", "科醫", 1),
    ("002", "?。ň牛┩怀鰪娖脚_", "（九）突出強平臺", 1),
    ("002", "?lián)敵删托聵I", "成就新業", 1),
    ("003", "?!狈兜路睆娬{", "”范德繁強調", 1),
]


def raw(key: str) -> str:
    return (SOURCES / DOC[key]).read_text(encoding="utf-8")


def raw_line(key: str, needle: str) -> str:
    return next(line for line in raw(key).split("\n") if needle in line)


@pytest.fixture(scope="module")
def cleaned() -> dict[str, CleanResult]:
    return {key: clean_text(raw(key)) for key in DOC}


# --- pinyin ---------------------------------------------------------------------------------


def test_strip_pinyin_on_a_title() -> None:
    line = raw_line("000", "八屆六次全會召開")
    text, n = strip_pinyin(line)
    assert text == "羅湖區委八屆六次全會召開 奮力推動羅湖在推進中國式現代化新征程中勇當先鋒"
    assert n == 2


@pytest.mark.parametrize("key", ["000", "002", "003"])
def test_strip_pinyin_leaves_no_annotation(key: str) -> None:
    before = raw(key)
    text, n = strip_pinyin(before)
    assert ANNOTATION.search(text) is None
    assert n == len(ANNOTATION.findall(before)) > 100


def test_strip_pinyin_keeps_real_parentheses() -> None:
    text, _ = strip_pinyin(raw("002") + raw("000"))
    for kept in (
        "(一)",
        "(GEP)",
        "(試行)",
        "(含公辦園)",
        "(羅湖段)",
        "(簡稱實施方案)",
        "(趙新明 張銘)",
    ):
        assert kept in text
    assert strip_pinyin("(ai)(men)(café)(CBD)") == ("(ai)(men)(café)(CBD)", 0)


def test_strip_pinyin_total_is_about_the_readme_count() -> None:
    total = sum(strip_pinyin(raw(k))[1] for k in ("000", "002", "003"))
    assert 1700 <= total <= 1900  # README: about 1,800


# --- mojibake -------------------------------------------------------------------------------


def _repair(key: str, text: str | None = None) -> tuple[str, list[MojibakeRun]]:
    """Pinyin stripped, then repaired with the readings of the whole document."""
    stripped, _ = strip_pinyin(raw(key) if text is None else text)
    return repair_mojibake(stripped, pinyin_readings(raw(key)))


def test_readme_examples_are_repaired() -> None:
    text, _ = _repair("002", raw_line("002", "加速集聚"))
    assert "部企業加速集聚" in text and "髽" not in text
    assert "總部企業加速集聚" in text  # the `？` before it gave back its lead byte too

    text, _ = _repair("002", raw_line("002", "岸Y"))
    assert "禮享羅湖”全國試點" in text and "岸Y" not in text

    text, runs = _repair("002", raw_line("002", "ㄎ澹"))
    assert text.startswith("（五）突出優布局塑格局")
    assert [r.repaired for r in runs] == ["（五）突出優"]


def test_every_run_in_the_corpus() -> None:
    found = []
    for key in ("000", "001", "002", "003", "004"):
        _, runs = _repair(key)
        found += [(key, r.garbled, r.repaired, r.lost_chars) for r in runs]
    assert found == EXPECTED_RUNS


def test_run_offsets_point_at_the_garbled_text() -> None:
    stripped, _ = strip_pinyin(raw("002"))
    for run in find_mojibake(stripped, pinyin_readings(raw("002"))):
        assert stripped[run.start : run.end] == run.garbled
        assert run.changed and run.gain >= 6


def test_repaired_sentences_read_right(cleaned: dict[str, CleanResult]) -> None:
    text = cleaned["002"].text
    for sentence in (
        "產業升級提速換擋總部企業加速集聚",
        "我們以赴推進城市更新",  # 全力 went into the debris
        "首創深港學“結對子”",
        "綜合性醫院、科醫院、社康中心",
        "新時代踏上新征程,新成就新業績。",
    ):
        assert sentence in text
    assert "玉龍埋場環境修復工程" in cleaned["000"].text
    assert "這就是我們的奮斗目標”范德繁強調" in cleaned["003"].text


@pytest.mark.parametrize("key", ["001", "004"])
def test_no_run_in_clean_documents(key: str) -> None:
    assert find_mojibake(raw(key)) == []
    assert find_mojibake(to_traditional(raw(key))) == []  # same text, other script


@pytest.mark.parametrize("key", ["000", "002", "003"])
def test_no_run_left_after_cleaning(key: str, cleaned: dict[str, CleanResult]) -> None:
    assert find_mojibake(cleaned[key].text) == []


def test_rare_real_characters_are_not_flagged() -> None:
    assert char_logp("鎏") < -5.5 and char_logp("痼") < -6  # rare enough to be looked at
    names = {
        "003": ["賴建華", "黃生文", "范德繁", "夏東"],
        "000": ["筍崗", "范德繁"],
        "002": ["蔡屋圍", "筍崗", "范 德 繁", "啃下", "鍥而不舍", "漁邨", "地表水Ⅳ類"],
        "001": ["张一鎏", "顽瘴痼疾"],
        "004": ["张一鎏", "罗育德", "纾困"],
    }
    for key, needles in names.items():
        stripped, _ = strip_pinyin(raw(key))
        runs = find_mojibake(stripped, pinyin_readings(raw(key)))
        for needle in needles:
            spans = [m.span() for m in re.finditer(re.escape(needle), stripped)]
            assert spans, needle
            for s, e in spans:
                assert not any(r.start < e and s < r.end for r in runs), needle
    assert find_mojibake("区委书记范德繁在笋岗、蔡屋围调研,张一鎏报道") == []


def test_a_reading_restores_a_swallowed_lead_byte() -> None:
    # The annotator read 執 (88 cc) across 龍's trail byte and 填's lead byte; 002 annotates
    # 執 as zhí, 000 (where this run is) happens not to, so its 填 stays lost.
    text, runs = repair_mojibake("玉龍?zhí)盥駡霏h境修復工程", {"zhí": {"執"}})
    assert text == "玉龍填埋場環境修復工程"
    assert runs[0].lost_chars == 0


# --- furniture ------------------------------------------------------------------------------


def test_furniture_of_001() -> None:
    text, removed = remove_furniture(raw("001"))
    assert removed == ["•", "分享到:", "手机扫扫打开当前页面", "相关新闻"]
    assert "来源:罗湖社区家园网" in text
    assert "来源:罗湖社区家园报 记者 张一鎏" in text
    assert "8.基层治理:以基层党建引领基层治理" in text
    assert "分享到" not in text and "扫扫" not in text and "相关新闻" not in text


def test_furniture_of_003_in_traditional() -> None:
    text, removed = remove_furniture(strip_pinyin(raw("003"))[0])
    assert removed[:2] == ["深圳市羅湖區人民政府", "掃一掃在手機上打開當前頁"]
    assert removed[2:] == [
        "知識圖譜",
        "相關信息和服務",
        "當前展示專題專欄信息類別內容 ?返回",
        "點擊標簽名稱查看更多信息",
    ]
    lines = [ln for ln in text.split("\n") if ln.strip()]
    assert lines[0].startswith("“干”字當頭、實干為先!羅湖召開全區高質量發展大會")
    assert lines[-1].strip().startswith("大道至簡、實干為要!")


def test_furniture_of_004() -> None:
    text, removed = remove_furniture(raw("004"))
    assert removed == ["·", "分享到:", "手机看报", "返回奥一网 意见反馈"]
    assert text.lstrip().startswith("请回答2019!罗湖交出全面振兴答卷")
    assert "本版采写:家园报记者 张一鎏" in text
    assert "粤港澳大湾区人才创新园·罗湖人才产业园" in text  # a dot inside a line is text


def test_text_after_a_related_news_header_stays() -> None:
    # A paragraph appended after the links (as an edited source might be) is not a link title.
    added = "罗湖区新增测试段落,共计42个试点项目。"
    text, removed = remove_furniture(raw("001") + "\n" + added + "\n")
    assert "相关新闻" in removed and added in text
    body = "相关新闻\n" + "罗湖区召开全区高质量发展大会,部署今年重点工作。" * 4
    text, removed = remove_furniture(body)
    assert removed == ["相关新闻"] and "部署今年重点工作" in text


# --- characters, names, lines ---------------------------------------------------------------


def test_normalize_chars_on_004_header() -> None:
    line = raw_line("004", "版次")
    text, n = normalize_chars(line)
    assert text == "来源:南方都市报 2020年01月03日 版次:LS04 作者:张一鎏"
    assert n >= 10  # nine non-breaking spaces and the collapsed runs


def test_normalize_chars_keeps_lines_and_folds_widths() -> None:
    text, n = normalize_chars("（五）突出優布局，\n\u3000\u3000第二行：ＡＩ")
    assert text == "(五)突出優布局,\n 第二行:AI"
    assert n == 9


def test_join_spaced_names() -> None:
    text, joined = join_spaced_names(raw("002"))
    assert joined == ["范德繁"]
    assert "\n范德繁\n" in text
    assert join_spaced_names("主动 谋划\n记者 张一鎏") == ("主动 谋划\n记者 张一鎏", [])


def test_tidy_lines() -> None:
    assert tidy_lines("  a \n\n\nb\n  \n") == ("a\nb", 4)


# --- the whole pipeline ---------------------------------------------------------------------


def test_report_counts(cleaned: dict[str, CleanResult]) -> None:
    s = {key: result.report.summary() for key, result in cleaned.items()}
    assert s["002"]["mojibake_repaired"] == 9 and s["002"]["mojibake_unrecoverable"] == 2
    assert s["000"]["mojibake_repaired"] == 2 and s["003"]["mojibake_repaired"] == 1
    assert s["001"]["mojibake_repaired"] == s["004"]["mojibake_repaired"] == 0
    assert s["002"]["names_joined"] == 1
    assert s["001"]["pinyin_removed"] == s["004"]["pinyin_removed"] == 0
    assert sum(x["pinyin_removed"] for x in s.values()) == sum(
        len(ANNOTATION.findall(raw(k))) for k in DOC
    )
    assert [s[k]["furniture_removed"] for k in ("000", "001", "002", "003", "004")] == [
        0, 4, 0, 6, 4,
    ]  # fmt: skip
    assert s["004"]["chars_normalized"] > 0
    details = cleaned["002"].report.details()
    assert "??偛科髽I -> 總部企業 [lost 1]" in details["mojibake_repaired"]
    assert details["names_joined"] == ["范德繁"]


def test_headings_survive_on_their_own_lines(cleaned: dict[str, CleanResult]) -> None:
    lines = {key: result.text.split("\n") for key, result in cleaned.items()}
    assert "一、過去五年工作回顧" in lines["002"]
    for prefix in ("(一)砥礪奮進", "(五)突出優布局塑格局", "(九)突出強平臺提效率"):
        assert any(line.startswith(prefix) for line in lines["002"]), prefix
    assert any(line.startswith("1.规划引领:") for line in lines["001"])
    assert "答卷1" in lines["004"] and "答卷5" in lines["004"]
    assert len(lines["002"]) == len(raw("002").rstrip("\n").split("\n"))  # nothing merged


def test_script_and_shape_are_kept(cleaned: dict[str, CleanResult]) -> None:
    for key, result in cleaned.items():
        text = result.text
        assert is_traditional(text) == (key in {"000", "002", "003"})
        assert "\n\n" not in text and "\xa0" not in text and "  " not in text
        assert not text.startswith(("·", "•", "分享"))


def test_clean_text_is_fast() -> None:
    text = raw("002")
    clean_text(text)  # the dictionary is loaded once per process
    start = time.perf_counter()
    clean_text(text)
    assert time.perf_counter() - start < 1.0
