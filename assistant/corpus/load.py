"""Loading: bytes on disk to plain text, with the encoding detected rather than assumed."""

from __future__ import annotations

import codecs
import hashlib
import io
import logging
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from charset_normalizer import from_bytes

# Candidates for Chinese text without a BOM, most to least common in this corpus' world.
_CJK_ENCODINGS = ("utf_8", "gb18030", "big5")
T = TypeVar("T")
# UTF-16 without a BOM: the NUL bytes of ASCII characters (digits, newlines, which every
# report has) sit at one parity, and the decoded text is nearly all printable.
_UTF16_PARITY = 0.95
_UTF16_PRINTABLE = 0.97
_SAMPLE_CHARS = 200_000

# pypdf logs every repair it makes of a damaged file ("EOF marker not found") as a warning;
# the ingest reports a file once, with its reason, instead.
logging.getLogger("pypdf").setLevel(logging.ERROR)


class LoadError(Exception):
    """A file that cannot be ingested; the message is the one-line reason."""


@dataclass
class LoadedFile:
    path: Path
    text: str
    encoding: str
    content_hash: str


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_file(path: Path, max_bytes: int) -> LoadedFile:
    """Read one file into text; raise LoadError with a short reason when it cannot be used."""
    try:
        data = path.read_bytes()
    except OSError as err:
        raise LoadError(f"unreadable: {err.strerror}") from err
    if not data.strip():
        raise LoadError("empty file")
    if len(data) > max_bytes:
        raise LoadError(f"too large: {len(data) / 1e6:.1f} MB > {max_bytes / 1e6:.1f} MB")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        text, encoding = _extracted("PDF", _pdf_text, data), "pdf"
    elif suffix == ".docx":
        text, encoding = _extracted("DOCX", _docx_text, data), "docx"
    else:
        text, encoding = decode_text(data)
        if suffix in (".html", ".htm"):
            text = _extracted("HTML", html_text, text)
    if not text.strip():
        raise LoadError("no text after extraction")
    return LoadedFile(path=path, text=text, encoding=encoding, content_hash=content_hash(data))


def decode_text(data: bytes) -> tuple[str, str]:
    """Decode bytes of a text file: BOM first, then strict UTF-8, then the likeliest CJK codec."""
    for bom, codec in (
        (codecs.BOM_UTF8, "utf_8_sig"),
        (codecs.BOM_UTF16_LE, "utf_16"),
        (codecs.BOM_UTF16_BE, "utf_16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec), codec
            except UnicodeDecodeError as err:
                raise LoadError(f"undecodable: broken {codec} after its BOM") from err
    if b"\x00" in data:
        found = _utf16_without_bom(data)
        if found is None:
            raise LoadError("binary file (NUL bytes, not UTF-16 text)")
        return found
    try:
        return data.decode("utf_8"), "utf_8"
    except UnicodeDecodeError:
        pass
    best = from_bytes(data, cp_isolation=list(_CJK_ENCODINGS[1:])).best()
    if best is None or best.chaos > 0.3:
        raise LoadError("undecodable: not UTF-8, UTF-16, GB18030 or Big5 text")
    return str(best), best.encoding


def _utf16_without_bom(data: bytes) -> tuple[str, str] | None:
    """UTF-16 text saved without its BOM (some Windows tools do), or None: the NULs of its
    ASCII characters all at odd offsets (little-endian) or all at even ones (big-endian)."""
    if len(data) % 2:
        return None
    odd, even = data[1::2].count(0), data[0::2].count(0)
    if max(odd, even) < _UTF16_PARITY * (odd + even):
        return None
    codec = "utf_16_le" if odd > even else "utf_16_be"
    try:
        text = data.decode(codec)
    except UnicodeDecodeError:
        return None
    sample = text[:_SAMPLE_CHARS]
    printable = sum(1 for c in sample if c in "\n\r\t" or unicodedata.category(c)[0] != "C")
    if printable < _UTF16_PRINTABLE * len(sample):
        return None
    return text, f"{codec} (no BOM)"


def _extracted(kind: str, extract: Callable[[T], str], data: T) -> str:
    """Run a format's extractor; whatever it raises (a damaged zip or zlib stream, malformed
    XML, an encryption pypdf does not implement, a recursion) is a LoadError naming the
    format, so one bad file is a skip with a reason and the rest of the ingest goes on."""
    try:
        return extract(data)
    except LoadError:
        raise
    except Exception as err:  # any fault of a third-party parser on a damaged file
        raise LoadError(f"unreadable {kind}: {describe_error(err)}") from err


def describe_error(err: BaseException) -> str:
    """An exception as one short line: its type and the first line of its message."""
    name = type(err).__name__
    if name.islower():  # zlib.error, binascii.error: the bare name says nothing
        name = f"{type(err).__module__}.{name}"
    first = (str(err).strip().splitlines() or [""])[0][:160]
    return f"{name}: {first}" if first else name


def html_text(html: str) -> str:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    for tag in soup(["script", "style", "nav", "footer", "header", "noscript"]):
        tag.decompose()
    return soup.get_text("\n")


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted and not reader.decrypt(""):
        raise LoadError("encrypted PDF (a password is needed)")
    return "\n".join(page.extract_text() or "" for page in reader.pages)


def _docx_text(data: bytes) -> str:
    from docx import Document

    doc = Document(io.BytesIO(data))
    return "\n".join(p.text for p in doc.paragraphs)
