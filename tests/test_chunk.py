"""Chunking follows the reports' own structure and never cuts a sentence or a number."""

from __future__ import annotations

import re

import pytest

from assistant.config import ChunkConfig
from assistant.corpus.chunk import chunk_document, heading_label, heading_level
from assistant.corpus.clean import clean_text
from assistant.corpus.metadata import read_meta
from assistant.models import SECTION_SEP, Document
from assistant.sentences import sentence_spans
from tests.conftest import SOURCES

CFG = ChunkConfig()


def _doc(name: str) -> Document:
    text = clean_text((SOURCES / name).read_text(encoding="utf-8")).text
    return Document(
        doc_id=name, path=name, content_hash="", text=text, meta=read_meta(text), script=""
    )


@pytest.fixture(scope="module")
def report() -> Document:
    return _doc("002_833012a21d5118d3.txt")


def test_heading_levels() -> None:
    assert heading_level("一、過去五年工作回顧", "區七屆人大一次會議以來……") == 1
    assert heading_level("(八)突出解民憂暖民心,堅定不移做好民生改善。", None) == 2
    assert heading_level("1.规划引领:高质量编制“十四五”规划。", None) == 3
    assert heading_level("答卷3", "民生福祉、环境品质、城区安全实现同步提升") == 1
    assert heading_level("2019年罗湖区扎实开展主题教育。", "x" * 80) is None


def test_heading_label_is_the_first_clause() -> None:
    assert heading_label("1.规划引领:高质量编制“十四五”规划。正文") == "1.规划引领"
    assert heading_label(
        "(八)突出解民憂暖民心,堅定不移做好民生改善,在共享發展成果上取得新突破。"
    ).endswith("…")


def test_sentence_spans_keep_closing_quotes_and_decimals() -> None:
    line = "增长5.2%。他说:“要干!”下一句"
    assert [line[s:e] for s, e in sentence_spans(line)] == ["增长5.2%。", "他说:“要干!”", "下一句"]


def test_chunks_are_spans_of_the_document(report: Document) -> None:
    for chunk in chunk_document(report, CFG):
        assert report.text[chunk.start : chunk.end] == chunk.text


def test_chunks_end_on_sentence_boundaries(report: Document) -> None:
    chunks = chunk_document(report, CFG)
    for chunk in chunks[1:]:  # the first chunk ends with the header lines
        assert re.search(r"[。!?;:”)\w]$", chunk.text), chunk.text[-20:]
        # never inside a number: the next character is not a digit continuing this one
        nxt = report.text[chunk.end : chunk.end + 1]
        assert not (chunk.text[-1].isdigit() and nxt.isdigit())


def test_chunk_sizes_aim_at_the_range(report: Document) -> None:
    sizes = [len(c.text) for c in chunk_document(report, CFG)]
    in_range = [s for s in sizes if CFG.min_chars // 2 <= s <= CFG.max_chars * 1.2]
    assert len(in_range) / len(sizes) > 0.85, sizes
    assert max(sizes) <= 2 * CFG.max_chars


def test_sections_follow_the_report_structure(report: Document) -> None:
    sections = {c.section for c in chunk_document(report, CFG)}
    assert any(s.startswith("三、今后五年的主要工作" + SECTION_SEP + "(八)") for s in sections)
    assert any(s.startswith("一、過去五年工作回顧" + SECTION_SEP + "(一)") for s in sections)


def test_news_answers_become_sections() -> None:
    doc = _doc("004_322b88558eed9829.txt")
    sections = [c.section for c in chunk_document(doc, CFG)]
    assert any(s.startswith("答卷3" + SECTION_SEP) for s in sections)


def test_heading_is_part_of_the_embedded_text(report: Document) -> None:
    chunk = next(c for c in chunk_document(report, CFG) if "(八)" in c.section)
    assert "(八)突出解民忧暖民心" in chunk.search_text  # Simplified, with its heading
    assert "政府工作报告" in chunk.search_text


def test_ids_are_stable_and_unique(report: Document) -> None:
    first = [c.chunk_id for c in chunk_document(report, CFG)]
    again = [c.chunk_id for c in chunk_document(report, CFG)]
    assert first == again
    assert len(set(first)) == len(first)
