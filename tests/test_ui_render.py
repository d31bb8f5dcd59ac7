"""The UI's HTML: links for [n], escaping, highlights, the document view, date filters."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.answer.filters import date_problem, make_filters, parse_date
from assistant.corpus.ingest import IngestSummary
from assistant.corpus.library import FileOutcome
from assistant.corpus.load import LoadError, load_file
from assistant.models import Citation, Document, DocumentMeta, Response
from assistant.ui import render as R
from assistant.ui.wording import backend_reason, file_reason


def _citation(n: int = 1, **kw: object) -> Citation:
    data: dict[str, object] = {
        "n": n,
        "doc_id": "d.txt",
        "title": "政府工作報告",
        "date": "2021-11-03",
        "section": "一、回顧",
        "text": "經濟穩中有進。地區生產總值增至2375.3億元。其他內容。",
        "score": 1.0,
        "start": 10,
        "end": 38,
        "highlight": ["地區生產總值增至2375.3億元。"],
    }
    data.update(kw)
    return Citation(**data)  # type: ignore[arg-type]


def _response(**kw: object) -> Response:
    data: dict[str, object] = {
        "answer": "地區生產總值增至2375.3億元。[1]",
        "refused": False,
        "citations": [_citation()],
        "latency_ms": 1.0,
        "backend": "extractive",
    }
    data.update(kw)
    return Response(**data)  # type: ignore[arg-type]


def test_citations_become_turn_qualified_links() -> None:
    html = R.linked_answer("增至2375.3億元。[1][2]", 3, "原文")
    assert '<a class="cite" href="#cite-3-1">[1]</a>' in html
    assert '<a class="cite" href="#cite-3-2">[2]</a>' in html
    assert "2375.3億元" in html


def test_answer_text_cannot_inject_html_or_markdown() -> None:
    html = R.linked_answer("<script>x</script> *粗* [1]", 0, "原文")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert r"\*粗\*" in html
    assert "&#123;" in R.esc("{{x}}") and "${" not in R.esc("${value}")


def test_script_toggle_converts_answer_and_passages() -> None:
    assert "经济" in R.highlighted("經濟", [], "简体")
    assert "經濟" in R.linked_answer("经济[1]", 0, "繁體")
    assert "經濟" in R.linked_answer("經濟[1]", 0, "原文")


def test_supporting_sentence_is_marked() -> None:
    html = R.passage_card(_citation(), 0, "原文")
    assert 'id="cite-0-1"' in html
    assert "<mark>地區生產總值增至2375.3億元。</mark>" in html
    assert "政府工作報告" in html and "2021-11-03" in html and "一、回顧" in html
    assert 'class="open-doc"' in html


def test_refusal_looks_like_one_and_offers_closest_passages() -> None:
    response = _response(
        answer="资料中未找到与该问题直接相关的内容。",
        refused=True,
        citations=[],
        retrieved=[_citation(1), _citation(2), _citation(3), _citation(4)],
    )
    html = R.answer_message(response, 2, "原文")
    assert 'class="refusal"' in html and "资料中未找到" in html
    assert "最接近的段落" in html and "#cite-2-3" in html and "#cite-2-4" not in html
    panel = R.response_panel(response, 2, "原文")
    assert "最接近的段落" in panel and panel.count('class="passage"') == R.CLOSEST_SHOWN


def test_notice_is_shown_above_the_answer_in_chinese() -> None:
    notice = "cannot reach the LLM server at http://127.0.0.1:8001/v1; is it running? "
    notice += "(llm.openai.base_url); 以下为原文摘录。"
    html = R.answer_message(_response(notice=notice), 0, "简体")
    assert html.index('class="notice"') < html.index("2375.3")
    assert "连接不上模型服务器（http://127.0.0.1:8001/v1）" in html and "以下为原文摘录" in html
    assert "cannot reach" not in html


def test_document_view_wraps_the_cited_span() -> None:
    text = "標題\n前言。經濟穩中有進。地區生產總值增至2375.3億元。其他內容。結尾。"
    doc = Document(
        doc_id="d.txt",
        path="d.txt",
        content_hash="x",
        text=text,
        meta=DocumentMeta("政府工作報告", "2021-11-03", "罗湖区人民政府", "work_report"),
        script="hant",
    )
    c = _citation(start=text.index("經濟"), end=text.index("結尾"))
    html = R.document_view(doc, c, "原文")
    focus = html[html.index('id="doc-focus"') :]
    assert focus.index("<mark>地區生產總值") < focus.index("</span>")
    assert "前言" in html and "結尾" in html  # the whole document
    # Offsets that do not fit: the passage is found by its text.
    html = R.document_view(doc, c.model_copy(update={"start": 999, "end": 1200}), "原文")
    assert 'id="doc-focus">經濟' in html


def test_question_shows_its_rewrite() -> None:
    html = R.question_message("那2015年呢?", "2015年罗湖地区生产总值是多少?", "原文")
    assert "理解为：2015年罗湖地区生产总值是多少?" in html
    assert "理解为" not in R.question_message("问题", "", "原文")


@pytest.mark.parametrize(
    ("value", "end", "iso"),
    [
        ("2019", False, "2019-01-01"),
        ("2019", True, "2019-12-31"),
        ("2020-02", True, "2020-02-29"),
        ("2021-11-03", False, "2021-11-03"),
        ("2021/1/3", False, "2021-01-03"),
        ("", False, None),
        (None, True, None),
    ],
)
def test_parse_date(value: str | None, end: bool, iso: str | None) -> None:
    assert parse_date(value, end) == iso


def test_bad_dates_are_refused() -> None:
    with pytest.raises(ValueError, match="月份应在 1 到 12 之间"):
        parse_date("2019/13/01", False)  # refused, not read as something else
    with pytest.raises(ValueError, match="2019年2月只有 28 天"):
        parse_date("2019-02-30", False)
    with pytest.raises(ValueError, match="不是日期"):
        parse_date("昨天", False)
    assert date_problem("2019/13/01", "").startswith("起始日期“2019/13/01”无效")
    assert date_problem("2019", "2020-06") == ""
    with pytest.raises(ValueError):
        make_filters(None, "2022-01-01", "2021-01-01")
    f = make_filters(["a.txt"], "2020", "2021")
    assert (f.doc_ids, f.date_from, f.date_to) == (["a.txt"], "2020-01-01", "2021-12-31")


def test_one_script_per_answer() -> None:
    """Text, labels, titles, cards and passages all in the script of the answer."""
    traditional = R.answer_message(_response(answer="地区生产总值增至2375.3亿元。[1]"), 0, "繁體")
    assert "地區生產總值" in traditional and "依據：" in traditional and "依据" not in traditional
    simplified = R.answer_message(_response(), 0, "简体")
    assert "地区生产总值" in simplified and "依据：" in simplified
    assert "政府工作报告（2021年）" in simplified and "報告" not in simplified
    panel = R.response_panel(_response(), 0, "简体")
    assert "经济稳中有进" in panel and "黄色" in panel
    assert '<details class="original">' in panel and "經濟穩中有進" in panel  # one click away
    assert R.turn_script("羅湖持牌金融機構突破了多少家？", R.AUTO) == "繁體"
    assert R.turn_script("罗湖持牌金融机构突破了多少家？", R.AUTO) == "简体"
    assert R.turn_script("羅湖持牌金融機構", "简体") == "简体"


def test_every_citation_has_its_card() -> None:
    html = R.answer_message(_response(), 4, "简体")
    card = html[html.index('class="cite-card n1"') :]
    assert card.index("hidden") < card.index("</span>")  # shown by static/page.js, not inline
    for part in (
        "政府工作报告（2021年）",
        "2021-11-03",
        "一、回顾",
        "<q>地区生产总值增至2375.3亿元。</q>",
    ):
        assert part in card
    assert 'href="#cite-4-1"' in card  # the card's own link to the passage


def test_a_stopped_draft_keeps_working_links() -> None:
    passages = [_citation(1), _citation(2, text="无关的段落。")]
    html = R.draft_message(
        "增至2375.3亿元[1]，另见[3]", "简体", cursor=False, turn=2, passages=passages
    )
    assert '<a class="cite" href="#cite-2-1">[1]</a>' in html  # a passage it was given
    assert "#cite-2-3" not in html and r"\[3\]" in html  # one it was not: plain text
    assert 'class="cite-card n1"' in html and "cite-card n2" not in html


def test_titles_show_their_year_and_times_are_local() -> None:
    assert R.titled("政府工作報告", "2021-11-03") == "政府工作報告（2021年）"
    assert R.titled("请回答2019!罗湖交出答卷", "2020-01-03") == "请回答2019!罗湖交出答卷（2020年）"
    assert R.titled("2023年经济运行情况", "2023-07-28") == "2023年经济运行情况"
    html = R.local_time("2026-11-22T09:35:55+00:00")
    assert 'datetime="2026-11-22T09:35:55+00:00"' in html and "UTC" not in html


def test_cleaning_is_said_in_words_without_garbled_text() -> None:
    doc = Document(
        doc_id="d.txt",
        path="d.txt",
        content_hash="x",
        text="正文",
        meta=DocumentMeta("政府工作報告", "2021-11-03", "罗湖区人民政府", "work_report"),
        script="hant",
        clean_summary={"pinyin_removed": 3, "mojibake_repaired": 1, "mojibake_unrecoverable": 1},
        clean_details={
            "mojibake_repaired": ["??偛科髽I -> 總部企業 [lost 1]"],
            "mojibake_unrecoverable": ["?zhí)? ->  [lost 1]"],
        },
    )
    html = R.cleaning_summary(doc)
    assert "删去 3 处拼音注音" in html and "修复 1 处乱码" in html and "1 处乱码无法还原" in html
    assert "“總部企業”（缺 1 字）" in html
    assert "偛" not in html and "->" not in html and "zhí" not in html


def _loader_reasons(tmp: Path) -> list[str]:
    files = {
        "empty.txt": b"",
        "image.txt": bytes(range(256)) * 4,
        "huge.txt": "字".encode() * 400_000,
        "latin.txt": bytes(range(128, 256)) * 40,
        "blank.html": b"<html><script>x</script></html>",
        "bad.pdf": b"%PDF-1.4 not really",
        "bad.docx": b"PK not a zip",
        "bom.txt": b"\xff\xfe\x00\xd8",
    }
    reasons = []
    for name, data in files.items():
        (tmp / name).write_bytes(data)
        with pytest.raises(LoadError) as err:
            load_file(tmp / name, 1_000_000)
        reasons.append(str(err.value))
    return reasons


def test_every_loader_reason_is_said_in_chinese(tmp_path: Path) -> None:
    reasons = _loader_reasons(tmp_path)
    reasons += ["unsupported file type: .exe (.txt .md)", "unusable file name"]
    reasons += ["another file added is also named a.txt", "no such file or folder"]
    for reason in reasons:
        said = file_reason(reason)
        assert not said.startswith("无法入库"), (reason, said)  # a known message, worded
        words = re.sub(r"UTF-8|Word|docx|html|Big5", "", said)  # names staff know
        assert not re.search(r"[A-Za-z]{4,}", words), (reason, said)


def test_backend_faults_are_said_in_chinese() -> None:
    for detail, expected in [
        ("cannot reach the LLM server at http://h:1/v1; is it running? (x)", "连接不上模型服务器"),
        ("the LLM server at http://h:1/v1 did not answer within 30 s (x)", "30 秒内没有响应"),
        ("the LLM server at http://h:1/v1 failed (HTTP 500)", "HTTP 500"),
        ("llm.local.model_file not found: /m/x.gguf", "/m/x.gguf"),
        ("local model part 3 of 22 is not installed; run: make install", "本机模型没有安装"),
    ]:
        assert expected in backend_reason(detail)


def test_an_upload_is_reported_file_by_file() -> None:
    doc = Document(
        doc_id="new.txt",
        path="new.txt",
        content_hash="x",
        text="正文",
        meta=DocumentMeta("罗湖区八届人大四次会议胜利闭幕", "2024-01-12", "罗湖区人民政府", "news"),
        script="hans",
    )
    files = [
        FileOutcome("new.txt", "new.txt", "added"),
        FileOutcome("tool.exe", "", "refused", "unsupported file type: .exe (.txt .md)"),
        FileOutcome("e.txt", "", "refused", "empty file"),
    ]
    html = R.ingest_report(files, IngestSummary(seconds=3.2), {"new.txt": doc}, {"new.txt": 6})
    assert "新增 1 份" in html and "未入库 2 份" in html and "其他报告保持不变" in html
    assert "已入库，《罗湖区八届人大四次会议胜利闭幕（2024年）》2024-01-12，6 个段落" in html
    assert "不支持这种文件（.exe）" in html and "文件是空的" in html
