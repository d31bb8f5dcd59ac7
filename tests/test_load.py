"""Loading: encodings are detected, formats extracted, bad files refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.corpus.load import LoadError, decode_text, load_file

TEXT = "羅湖區社會消費品零售總額達到1600億元,同比增長5.2%。" * 4
SIMPLE = "罗湖区社会消费品零售总额达到1600亿元,同比增长5.2%。" * 4
MB = 1_000_000


@pytest.mark.parametrize(
    ("data", "expected", "codec"),
    [
        (SIMPLE.encode("utf-8"), SIMPLE, "utf_8"),
        (b"\xef\xbb\xbf" + SIMPLE.encode("utf-8"), SIMPLE, "utf_8_sig"),
        (SIMPLE.encode("utf-16"), SIMPLE, "utf_16"),
        (SIMPLE.encode("gb18030"), SIMPLE, "gb18030"),
        (TEXT.encode("big5"), TEXT, "big5"),
    ],
)
def test_encodings_are_detected(data: bytes, expected: str, codec: str) -> None:
    text, found = decode_text(data)
    assert text == expected
    assert found.replace("-", "_").lower() == codec


def test_traditional_text_in_gbk_is_not_read_as_big5() -> None:
    text, codec = decode_text(TEXT.encode("gb18030"))
    assert text == TEXT, codec


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.txt", b"  \n", "empty"),
        ("blob.txt", bytes(range(256)) * 8, "binary"),
        ("noise.txt", bytes([0x81, 0x30, 0xFF, 0xFE, 0x80]) * 200, "undecodable"),
        ("big.txt", ("字" * MB).encode("utf-8"), "too large"),
        ("broken.pdf", b"%PDF-1.4 not really", "PDF"),
        ("broken.docx", b"PK\x03\x04 not a zip", "DOCX"),
    ],
)
def test_bad_files_raise_a_one_line_reason(
    tmp_path: Path, name: str, data: bytes, reason: str
) -> None:
    path = tmp_path / name
    path.write_bytes(data)
    with pytest.raises(LoadError, match=reason) as err:
        load_file(path, max_bytes=2 * MB)
    assert "\n" not in str(err.value)


def test_html_furniture_tags_dropped(tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    path.write_text(
        "<html><head><style>p{}</style><script>var x=1</script></head>"
        "<body><nav>首页</nav><p>罗湖区召开全会。</p></body></html>",
        encoding="gb18030",
    )
    loaded = load_file(path, max_bytes=MB)
    assert "罗湖区召开全会" in loaded.text
    assert "var x" not in loaded.text and "首页" not in loaded.text


def test_docx_paragraphs(tmp_path: Path) -> None:
    from docx import Document

    doc = Document()
    doc.add_paragraph("一、过去五年工作回顾")
    doc.add_paragraph("地区生产总值突破2500亿元。")
    path = tmp_path / "report.docx"
    doc.save(str(path))
    assert load_file(path, max_bytes=MB).text.splitlines() == [
        "一、过去五年工作回顾",
        "地区生产总值突破2500亿元。",
    ]


def test_pdf_text(tmp_path: Path) -> None:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=200, height=200)
    path = tmp_path / "blank.pdf"
    with path.open("wb") as fh:
        writer.write(fh)
    with pytest.raises(LoadError, match="no text"):
        load_file(path, max_bytes=MB)
