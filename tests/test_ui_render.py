"""The UI's HTML: links for [n], escaping, highlights, the document view, date filters."""

from __future__ import annotations

import pytest

from assistant.models import Citation, Document, DocumentMeta, Response
from assistant.ui import render as R
from assistant.ui.filters import make_filters, parse_date


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
    panel = R.passages_panel(response, 2, "原文")
    assert "最接近的段落" in panel and panel.count('class="passage"') == R.CLOSEST_SHOWN


def test_notice_is_shown_above_the_answer() -> None:
    html = R.answer_message(_response(notice="local model failed; 以下为原文摘录。"), 0, "原文")
    assert html.index('class="notice"') < html.index("2375.3")


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
    with pytest.raises(ValueError):
        parse_date("昨天", False)
    with pytest.raises(ValueError):
        make_filters(None, "2022-01-01", "2021-01-01")
    f = make_filters(["a.txt"], "2020", "2021")
    assert (f.doc_ids, f.date_from, f.date_to) == (["a.txt"], "2020-01-01", "2021-12-31")
