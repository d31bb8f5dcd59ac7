"""Malformed .pdf, .docx and .html files, generated (seeded) for the ingest fuzz test: each a
valid file of its kind broken in one way that real files break (cut short, a damaged
compressed stream, malformed XML, an unsupported encryption, cycles, deep nesting, wrong
encodings, another format under the name)."""

from __future__ import annotations

import io
import random
import re
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

TEXT = "罗湖区2023年地区生产总值增长6.5%，城市更新项目推进顺利。"


# ------------------------------------------------------------------------------ pdf


def pdf_bytes(
    content: bytes = b"BT /F1 12 Tf 72 720 Td (Luohu district GDP grew 6.5 percent) Tj ET",
    compress: bool = True,
    extra_trailer: bytes = b"",
    catalog: bytes = b"<< /Type /Catalog /Pages 2 0 R >>",
    pages: bytes = b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
) -> bytes:
    """A one-page PDF with its text in a (Flate-compressed) content stream, and a correct
    cross-reference table."""
    stream = zlib.compress(content) if compress else content
    filt = b" /Filter /FlateDecode" if compress else b""
    objects = [
        catalog,
        pages,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length "
        + str(len(stream)).encode()
        + filt
        + b" >>\nstream\n"
        + stream
        + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.7\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R ".encode()
        + extra_trailer
        + f">>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def _flip(data: bytes, rng: random.Random, share: float, start: int = 0) -> bytes:
    out = bytearray(data)
    for _ in range(max(1, int((len(out) - start) * share))):
        out[rng.randrange(start, len(out))] = rng.randrange(256)
    return bytes(out)


def _damaged_stream(rng: random.Random) -> bytes:
    data = pdf_bytes()
    at = data.index(b"stream\n") + len(b"stream\n")
    out = bytearray(data)
    for i in range(at + 2, at + 12):
        out[i] ^= 0xFF
    return bytes(out)


def _deep_array(depth: int) -> bytes:
    return pdf_bytes(
        catalog=b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>"
    )


PDF_CASES: dict[str, Callable[[random.Random], bytes]] = {
    "cut-half": lambda r: pdf_bytes()[: len(pdf_bytes()) // 2],
    "cut-before-xref": lambda r: pdf_bytes()[: pdf_bytes().index(b"xref")],
    "header-only": lambda r: b"%PDF-1.7\n",
    "damaged-flate-stream": _damaged_stream,
    "byte-flips": lambda r: _flip(pdf_bytes(), r, 0.02, start=9),
    "wrong-xref-offsets": lambda r: re.sub(rb"\d{10} 00000 n", b"0000099999 00000 n", pdf_bytes()),
    "unsupported-encryption": lambda r: pdf_bytes(
        extra_trailer=b"/Encrypt << /Filter /Standard /V 9 /R 11 /O (x) /U (y) /P -4 >> "
        b"/ID [<00> <00>] "
    ),
    "unknown-security-handler": lambda r: pdf_bytes(
        extra_trailer=b"/Encrypt << /Filter /Adobe.PubSec /V 4 >> /ID [<00> <00>] "
    ),
    "page-tree-cycle": lambda r: pdf_bytes(pages=b"<< /Type /Pages /Kids [2 0 R] /Count 1 >>"),
    "deep-nesting": lambda r: _deep_array(5000),
    "huge-length": lambda r: pdf_bytes().replace(b"/Length ", b"/Length 99999999", 1),
    "no-root": lambda r: pdf_bytes().replace(b"/Root 1 0 R", b""),
    "html-named-pdf": lambda r: f"<html><body>{TEXT}</body></html>".encode(),
    "garbage-appended": lambda r: pdf_bytes() + bytes(r.randrange(256) for _ in range(4000)),
    "bad-filter": lambda r: pdf_bytes().replace(b"/FlateDecode", b"/JBIG2Decode"),
    "negative-count": lambda r: pdf_bytes(pages=b"<< /Type /Pages /Kids [3 0 R] /Count -5 >>"),
}


# ----------------------------------------------------------------------------- docx


def docx_bytes() -> bytes:
    from docx import Document

    doc = Document()
    for _ in range(3):
        doc.add_paragraph(TEXT)
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def _rezip(data: bytes, change: Callable[[str, bytes], bytes | None]) -> bytes:
    """The docx with each part passed through `change` (None drops the part)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            new = change(info.filename, src.read(info.filename))
            if new is not None:
                out.writestr(info.filename, new)
    return buf.getvalue()


def _part(name: str, new: Callable[[bytes], bytes | None]) -> Callable[[random.Random], bytes]:
    return lambda r: _rezip(docx_bytes(), lambda n, b: new(b) if n == name else b)


DOCUMENT = "word/document.xml"
_NESTED = (
    b'<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/'
    b'wordprocessingml/2006/main"><w:body>'
    + b"<w:p>" * 3000
    + b"</w:p>" * 3000
    + b"</w:body></w:document>"
)
_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">'.encode() for i in range(8)
    )
    + b']><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
    b"<w:body><w:p><w:r><w:t>&i;</w:t></w:r></w:p></w:body></w:document>"
)


def _crc_damage(r: random.Random) -> bytes:
    data = bytearray(docx_bytes())
    at = data.index(DOCUMENT.encode()) + len(DOCUMENT) + 10
    for i in range(at, at + 16):
        data[i] ^= 0x5A
    return bytes(data)


def _empty_zip(r: random.Random) -> bytes:
    buf = io.BytesIO()
    zipfile.ZipFile(buf, "w").close()
    return buf.getvalue()


DOCX_CASES: dict[str, Callable[[random.Random], bytes]] = {
    "cut-half": lambda r: docx_bytes()[: len(docx_bytes()) // 2],
    "cut-central-directory": lambda r: docx_bytes()[:-30],
    "malformed-document-xml": _part(DOCUMENT, lambda b: b.replace(b"</w:body>", b"</w:bod")),
    "missing-document-xml": _part(DOCUMENT, lambda b: None),
    "malformed-content-types": _part("[Content_Types].xml", lambda b: b[: len(b) // 2]),
    "missing-content-types": _part("[Content_Types].xml", lambda b: None),
    "malformed-relationships": _part("_rels/.rels", lambda b: b"<Relationships><oops"),
    "relationship-outside": _part(
        "_rels/.rels", lambda b: b.replace(b'Target="word/document.xml"', b'Target="../../x.xml"')
    ),
    "damaged-deflate": _crc_damage,
    "byte-flips": lambda r: _flip(docx_bytes(), r, 0.01),
    "empty-zip": _empty_zip,
    "deep-nesting": _part(DOCUMENT, lambda b: _NESTED),
    "entity-expansion": _part(DOCUMENT, lambda b: _LAUGHS),
    "document-xml-utf16-declared-utf8": _part(
        DOCUMENT, lambda b: b.decode("utf-8").encode("utf-16-le")
    ),
    "not-a-zip": lambda r: b"PK\x03\x04" + bytes(r.randrange(256) for _ in range(3000)),
    "text-named-docx": lambda r: TEXT.encode("utf-8"),
}


# ----------------------------------------------------------------------------- html


def html_bytes(body: str = TEXT, charset: str = "utf-8") -> bytes:
    return (
        f'<!DOCTYPE html><html><head><meta charset="{charset}"><title>罗湖</title></head>'
        f"<body><p>{body}</p></body></html>"
    ).encode()


HTML_CASES: dict[str, Callable[[random.Random], bytes]] = {
    "cut-mid-tag": lambda r: html_bytes()[: html_bytes().index(b"<p>") + 2],
    "nul-bytes": lambda r: html_bytes().replace(b"<p>", b"<p>\x00\x00"),
    "deep-nesting": lambda r: html_bytes("<div>" * 20000 + TEXT + "</div>" * 20000),
    "invalid-utf8": lambda r: html_bytes() + bytes([0xC3, 0x28, 0xA0, 0xA1, 0xFF]) * 50,
    "declared-gbk-is-utf8": lambda r: html_bytes(charset="gbk"),
    "only-script": lambda r: b"<html><script>var a = 1;</script><style>p{}</style></html>",
    "huge-attribute": lambda r: html_bytes(f'<span title="{"x" * 500_000}">{TEXT}</span>'),
    "unclosed-comment": lambda r: html_bytes().replace(b"<p>", b"<!-- <p>"),
    "utf16-without-bom": lambda r: html_bytes().decode("utf-8").encode("utf-16-le"),
    "random-bytes": lambda r: bytes(r.randrange(256) for _ in range(5000)),
    "broken-entities": lambda r: html_bytes("&#99999999999;&#xD800;&amp" + TEXT),
    "cdata-and-doctype-junk": lambda r: b"<!DOCTYPE [[[<![CDATA[" + html_bytes(),
}


def write_malformed(folder: Path, seed: int = 0) -> list[Path]:
    """Every case as a file in `folder`; returns their paths."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for suffix, cases in ((".pdf", PDF_CASES), (".docx", DOCX_CASES), (".html", HTML_CASES)):
        for name, make in cases.items():
            path = folder / f"fuzz-{name}{suffix}"
            path.write_bytes(make(rng))
            paths.append(path)
    return paths
